"""The vendor's own record shapes through srm's one parsing path (``parse.validate``).

Every payload of tests/data/vendor/ (real MediaStore answers, the vendor's SDK mocks, the
webhook docs' examples, the Core 3.1 resources of the OpenAPI file) is parsed and checked for
the values srm derives from it (CONTRACT section 5), then written into a real cache to see
the derived columns follow offers and transactions that arrive later.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator

from srm_tui.domain import account
from srm_tui.storage import queries, records
from srm_tui.storage.cache import Cache, _statements
from srm_tui.storage.schema import MIGRATIONS
from srm_tui.sync import parse

DATA = Path(__file__).parents[1] / "data" / "vendor"
SHARED = Path(__file__).resolve().parents[3] / "shared" / "reference" / "vendor-payloads"
NOW = 1_700_000_000


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def one(entity: str, item: dict[str, Any], customer_id: Any = None):
    good, bad = parse.validate(entity, [item], customer_id=customer_id)
    assert bad == [], bad
    assert len(good) == 1
    return good[0]


def write(cache: Cache, entity: str, items: list[dict[str, Any]], customer_id: Any = None):
    good, bad = parse.validate(entity, items, customer_id=customer_id)
    assert bad == [], bad
    with cache.transaction() as tx:
        records.upsert(tx, entity, good, NOW)
    return good


def row(cache: Cache, sql: str, *args: Any) -> tuple:
    found = cache.conn().execute(sql, args).fetchone()
    return None if found is None else tuple(found)


# -- the shared reference payloads ---------------------------------------------------------


def test_the_shared_payloads_are_kept_here_unchanged():
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} is not on this machine")
    names = sorted(p.name for p in SHARED.glob("*.json"))
    assert len(names) == 7
    for name in names:
        assert (DATA / "ott-web-app" / name).read_bytes() == (SHARED / name).read_bytes(), name


def test_every_data_file_is_exercised_below():
    """A payload added to tests/data/vendor/ without a check here fails this test."""
    files = {str(p.relative_to(DATA)) for p in DATA.rglob("*.json")}
    assert files == set(CHECKED), files ^ set(CHECKED)


# -- MediaStore answers (jwplayer/ott-web-app) --------------------------------------------


def test_mediastore_customer_with_string_id_and_metadata():
    c = one("customers", load("ott-web-app/customer.json"))
    assert c.id == 362344331
    api = c.to_api()
    assert api["id"] == 362344331  # the cache keeps the documented type
    assert api["metadata"]["favorites"][0] == {"mediaid": "2v7rOqOE"}  # unknown key kept
    assert c.registered_at == 1619615006 and c.last_login_at == 1627318478
    assert c.currency is None and c.locale is None


@pytest.mark.parametrize(
    "name", ["ott-web-app/customer_external_data.json", "ott-web-app/customer_numeric_id.json"]
)
def test_mediastore_customer_versions(name):
    c = one("customers", load(name))
    assert c.id == 362344331
    assert c.externalData["history"][0]["mediaid"] == "YzUqQnrx"
    assert c.email == "email@domain.com"


def test_mediastore_subscription_item_takes_the_customer_from_the_url():
    item = load("ott-web-app/subscription_item.json")
    s = one("subscriptions", item, customer_id="362344331")
    assert (s.subscriptionId, s.customerId, s.offerId) == (590680399, 362344331, "S568296139_ZW")
    assert s.status == "active" and s.period == "year"
    assert s.dateTo == 1615897260  # MediaStore's expiresAt
    assert s.started_at is None  # neither createdAt nor dateFrom nor startedAt
    api = s.to_api()
    assert api["offerTitle"] == "Annual subscription (recurring)" and api["totalPrice"] == 20
    assert item.get("customerId") is None  # the payload itself is not changed


def test_a_subscription_without_any_customer_is_still_quarantined():
    good, bad = parse.validate("subscriptions", [load("ott-web-app/subscription_item.json")])
    assert good == []
    [(key, reason, payload)] = bad
    assert key == "590680399" and "customerId" in reason
    assert payload == load("ott-web-app/subscription_item.json")


def test_mediastore_transactions_in_the_legacy_vocabulary():
    items = load("ott-web-app/transactions.json")
    good, bad = parse.validate("transactions", items, customer_id=362344331)
    assert bad == []
    assert [t.transactionId for t in good] == ["T712014024", "T177974068", "T996601696"]
    t = good[0]
    assert (t.customerId, t.amount, t.currency, t.status) == (362344331, 6.99, "EUR", "captured")
    assert t.externalPaymentId == "852620226025074C"
    assert t.transactionDate == 1620226027 and t.offerId == "S916977979_NL"
    api = t.to_api()
    assert api["amount"] == 6.99 and api["transactionPriceInclTax"] == "6.9900"
    assert api["offerPeriod"] == "monthly" and api["publisherId"] == "292636325"


@pytest.mark.parametrize(
    "name", ["ott-web-app/payment_detail.json", "ott-web-app/payment_detail_numeric_id.json"]
)
def test_mediastore_payment_details(name):
    p = one("payment_details", load(name))
    assert (p.id, p.customerId, p.paymentGateway) == (839256565, 362344331, "adyen")
    assert p.paymentMethodSpecificParams["lastCardFourDigits"] == "0002"


@pytest.mark.parametrize(
    "name, short, long_id, kind, period, price",
    [
        (
            "ott-web-app/offer_monthly.json",
            "S916977979",
            "S916977979_NL",
            "subscription",
            "month",
            6.99,
        ),
        (
            "ott-web-app/offer_yearly.json",
            "S345569153",
            "S345569153_NL",
            "subscription",
            "year",
            50,
        ),
        ("ott-web-app/offer_tvod.json", "R892134629", "R892134629_NL", "vod", None, 2.9),
        (
            "mediastore-sdk/offer_legacy_mock.json",
            "S111111111",
            "S111111111_PL",
            "subscription",
            "month",
            100,
        ),
    ],
)
def test_legacy_offers(name, short, long_id, kind, period, price):
    o = one("offers", load(name))
    assert (o.id, o.type, o.billing_period) == (short, kind, period)
    api = o.to_api()
    assert api["longId"] == long_id and api.get("legacyId") == load(name).get("id")
    assert o.price is not None and o.price.amount == price
    assert o.title == load(name)["offerTitle"]
    assert parse.record_key("offers", load(name)) == short  # what a complete listing keys by


def test_json_rpc_offer_shape():
    # cleeng-api.md 4.G: the JSON-RPC offer (per-country id, bare price, "1" for true).
    o = one(
        "offers",
        {
            "id": "S531234647_PL",
            "publisherEmail": "pub@example.com",
            "title": "Quarterly",
            "description": "",
            "url": None,
            "currency": "PLN",
            "country": "PL",
            "period": "3months",
            "active": "1",
            "price": "29.99",
            "createdAt": 1619600070,
            "updatedAt": 1626952636,
            "accessToTags": ["(all)"],
        },
    )
    assert (o.id, o.type, o.active, o.billing_period) == (
        "S531234647",
        "subscription",
        True,
        "3months",
    )
    assert o.price.amount == 29.99 and o.price.currency == "PLN"
    assert o.to_api()["longId"] == "S531234647_PL"


# -- Cleeng/mediastore-sdk -------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "mediastore-sdk/customer_offer_current_plan.json",
        "mediastore-sdk/customer_offer_plan_mock.json",
    ],
)
def test_mediastore_customer_offer_item_is_a_subscription(name):
    s = one("subscriptions", load(name), customer_id=338816933)
    assert (s.subscriptionId, s.customerId, s.period) == (280213389, 338816933, "month")
    assert s.dateFrom == 1675332884 and s.started_at == 1675332884  # startedAt
    assert s.dateTo == 1677752084  # expiresAt
    assert s.nextPaymentPrice == 90 and s.to_api()["offerType"] == "S"


def test_offer_v2_mock_billing_cycle():
    o = one("offers", load("mediastore-sdk/offer_v2_mock.json"))
    assert (o.id, o.type, o.billing_period) == ("S111111111", "subscription", "month")
    assert o.localizations[0].countryCode == "US"
    assert o.to_api()["entitlement"]["expirationPolicy"] == "fixed"


# -- the webhook docs' examples ---------------------------------------------------------------


def test_transaction_created_webhook_into_a_transaction():
    data = load("webhooks/transactionCreated.json")["data"]
    record = parse.transaction_from_webhook(data)
    t = one("transactions", record)
    assert (t.transactionId, t.customerId, t.offerId) == ("T111333222", 332442553, "S123321123_BY")
    assert t.status == "captured" and t.externalPaymentId == "data"
    # The docs' example carries no paid amount, currency or date: unknown, never the offer's
    # list price.
    assert t.amount is None and t.currency is None and t.transactionDate is None
    assert t.to_api()["paymentId"] == 1536331075


def test_transaction_created_webhook_variants():
    data = {
        "transactionId": "T650862998",
        "customerId": "362344331",
        "transactionDate": "2025-05-05T10:48:09+02:00",
        "transactionCurrency": "EUR",
        "transactionPriceInclTax": "6.9900",
        "offerId": "S916977979_NL",
        "paymentGateway": "adyen",
    }
    t = one("transactions", parse.transaction_from_webhook(data))
    assert (t.customerId, t.amount, t.currency, t.transactionDate) == (
        362344331,
        6.99,
        "EUR",
        1746434889,
    )
    unix = one(
        "transactions", parse.transaction_from_webhook({**data, "transactionDate": 1620226027})
    )
    assert unix.transactionDate == 1620226027
    text = one(
        "transactions", parse.transaction_from_webhook({**data, "transactionDate": "1620226027"})
    )
    assert text.transactionDate == 1620226027
    assert parse.transaction_from_webhook({"transactionId": "T650862998", "customerId": 5}) == {
        "transactionId": "T650862998",
        "customerId": 5,
        "status": "captured",
        "_srm": {"statusAssumed": True},
    }  # srm's reading of the topic, marked as such
    with pytest.raises(ValueError, match="customerId"):
        parse.transaction_from_webhook({"transactionId": "T650862998"})
    with pytest.raises(ValueError, match="transactionId"):
        parse.transaction_from_webhook({"customerId": 362344331})


def test_a_malformed_webhook_transaction_is_quarantined_with_its_reason():
    record = parse.transaction_from_webhook(
        {"transactionId": "T650862998", "customerId": 362344331, "transactionDate": "soon"}
    )
    good, bad = parse.validate("transactions", [record])
    assert good == [] and bad[0][0] == "T650862998" and "transactionDate" in bad[0][1]


def test_pass_created_webhook_data():
    p = one("passes", load("webhooks/passCreated.json")["data"])
    assert (p.passId, p.customerId, p.status) == (123456789, 123123123, "active")
    assert p.expiresAt == 1573156541  # 2019-11-07T19:55:41Z
    assert p.createdAt is None


def test_pass_expiration_changed_is_a_notice_not_a_record():
    # It names the pass and its new end but not its status: the webhooks part refreshes the
    # pass through GET /passes; parsed on its own it is refused, saying what is missing.
    good, bad = parse.validate("passes", [load("webhooks/passExpirationChanged.json")["data"]])
    assert good == [] and bad[0][0] == "123456789" and "status" in bad[0][1]


def test_subscription_dunning_webhook_data():
    s = one("subscriptions", load("webhooks/subscriptionReadyForPaymentAuthorisation.json")["data"])
    assert (s.subscriptionId, s.customerId, s.status) == (332332332, 123321123, "active")
    assert s.dateTo == 1573156541 and s.period is None and s.started_at is None


# -- the Core 3.1 resources of the OpenAPI file ---------------------------------------------

SCHEMAS = load("openapi_schemas.json")["schemas"]
# Values for properties whose schema gives no example (patterns and formats the builder
# cannot invent).
KNOWN = {
    "id": 362344331,
    "offerId": "S916977979_NL",
    "longId": "S916977979_NL",
    "email": "jane@example.com",
    "regDate": "2021-04-28 13:03:26",
    "lastLoginDate": "2021-07-26 16:54:38",
    "lastUserIp": "203.0.113.7",
    "ipAddress": "203.0.113.7",
    "pendingSwitchId": "0bdb7589-762c-40bf-b501-a0f02b59d76d",
    "locale": "nl_NL",
    "title": "Monthly",
}
OFFER_KNOWN = {"id": "S916977979", "type": "subscription", "localizations.id": "S916977979_PL"}


def build(schema: dict[str, Any], path: str = "", known: dict[str, Any] | None = None) -> Any:
    """A value for every property of ``schema``: its example, else a known value for its
    path or name, else a value of its type."""
    known = {**KNOWN, **(known or {})}
    name = path.rsplit(".", 1)[-1]
    if schema.get("example") is not None:
        return schema["example"]
    if path in known:
        return known[path]
    if name in known and "." not in path:
        return known[name]
    if name in KNOWN and name != "id":
        return KNOWN[name]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {
            k: build(v, f"{path}.{k}".lstrip("."), known)
            for k, v in (schema.get("properties") or {}).items()
        }
    if kind == "array":
        items = schema.get("items")
        return [build(items, path, known)] if isinstance(items, dict) else []
    if kind == "integer":
        low = schema.get("minimum", 0)
        return low + 123456789 if low >= 100000000 else 1675332884
    if kind == "number":
        return 5.99
    if kind == "boolean":
        return True
    return "text"


@pytest.mark.parametrize(
    "schema_name, entity, known",
    [
        ("CustomerResource", "customers", {}),
        ("SubscriptionResource", "subscriptions", {"id": 223456789}),
        ("PassResource", "passes", {}),
        ("Offer", "offers", OFFER_KNOWN),
    ],
)
def test_every_documented_property_of_a_core_resource_is_accepted(schema_name, entity, known):
    schema = SCHEMAS[schema_name]
    record = build(schema, known=known)
    OAS30Validator(schema).validate(record)  # the record is what the vendor may send
    model = one(entity, record)
    assert model.to_api() == record  # kept whole: nothing dropped or renamed
    if entity == "subscriptions":
        assert model.createdAt is None and model.period is None
        assert model.started_at == record["dateFrom"]
    if entity == "passes":
        assert model.createdAt is None


def test_minimal_core_subscription_and_pass():
    """The schema requires no field at all; srm needs what keys a record (its id and its
    customer, which may come from the URL) and what its lifecycle reads (offer, status)."""
    for name, entity, minimal in (
        (
            "SubscriptionResource",
            "subscriptions",
            {"subscriptionId": 280213389, "offerId": "S131174549_PL", "status": "active"},
        ),
        (
            "PassResource",
            "passes",
            {"passId": 1234567890, "offerId": "P580476507_US", "status": "active"},
        ),
    ):
        assert SCHEMAS[name].get("required") is None
        OAS30Validator(SCHEMAS[name]).validate(minimal)
        model = one(entity, minimal, customer_id=338816933)
        assert model.customerId == 338816933 and model.createdAt is None
        good, bad = parse.validate(
            entity, [{"offerId": "S131174549_PL", "status": "active"}], customer_id=338816933
        )
        assert good == [] and ("subscriptionId" in bad[0][1] or "passId" in bad[0][1])


def test_core_subscription_resource_example_of_the_reference():
    # cleeng-api.md 4.C: the documented SubscriptionResource with its deprecated names.
    item = {
        "subscriptionId": 280213389,
        "customerId": 338816933,
        "publisherId": 558186818,
        "offerId": "S131174549_PL",
        "status": "active",
        "dateFrom": 1675332884,
        "dateTo": 1677752084,
        "inTrial": False,
        "couponCode": None,
        "nextPaymentAction": "capture",
        "nextPaymentActionDate": 1677492884,
        "renewalCycle": {"completed": 3, "unit": "month", "amount": 1},
        "pause": None,
        "id": 280213389,
        "userId": 338816933,
        "paymentGateway": "adyen",
    }
    OAS30Validator(SCHEMAS["SubscriptionResource"]).validate(item)
    s = one("subscriptions", item)
    assert s.started_at == 1675332884 and s.period is None and s.renewalCycle.completed == 3


# -- derived fields in the cache -----------------------------------------------------------

MONTHLY_V2 = {
    "id": "S916977979",
    "type": "subscription",
    "title": "Monthly",
    "active": True,
    "billingCycle": {"periodUnit": "month", "amount": 1},
    "price": {"amount": 6.99, "currency": "EUR", "taxIncluded": True},
}


def test_the_period_follows_the_offer_that_arrives_later(cache):
    core = {
        "subscriptionId": 280213389,
        "customerId": 362344331,
        "offerId": "S916977979_NL",
        "status": "active",
        "dateFrom": 1675332884,
        "dateTo": NOW + 86400,
        "nextPaymentPrice": 22.5,
        "nextPaymentCurrency": "EUR",
    }
    own = {**core, "subscriptionId": 280213390, "period": "week"}
    write(cache, "customers", [load("ott-web-app/customer.json")])
    write(cache, "subscriptions", [core, own])
    sql = "SELECT created_at, period, period_derived FROM subscriptions WHERE id = ?"
    assert row(cache, sql, 280213389) == (1675332884, None, 1)  # started_at = dateFrom
    assert row(cache, sql, 280213390) == (1675332884, "week", 0)
    rec = queries.account_records(cache.conn(), 362344331)
    assert account.build(rec, NOW).mrr == {"EUR": round(22.5 * 52 / 12, 2)}  # unknown adds 0

    write(cache, "offers", [load("ott-web-app/offer_monthly.json")])  # legacy: "month"
    assert row(cache, sql, 280213389)[1:] == ("month", 1)
    assert row(cache, sql, 280213390)[1] == "week"  # its own period is never replaced
    rec = queries.account_records(cache.conn(), 362344331)
    assert account.build(rec, NOW).mrr == {"EUR": round(22.5 + 22.5 * 52 / 12, 2)}
    assert "period" not in records.raw_records(cache.conn(), "subscriptions")[0]

    write(cache, "offers", [{**MONTHLY_V2, "billingCycle": {"periodUnit": "month", "amount": 3}}])
    assert row(cache, sql, 280213389)[1] == "3months"
    write(cache, "offers", [{**MONTHLY_V2, "billingCycle": {"periodUnit": "month", "amount": 12}}])
    assert row(cache, sql, 280213389)[1] == "year"
    write(cache, "offers", [{**MONTHLY_V2, "billingCycle": {"periodUnit": "month", "amount": 5}}])
    assert row(cache, sql, 280213389)[1] is None  # a cycle srm has no word for: unknown
    write(cache, "offers", [MONTHLY_V2])
    assert row(cache, sql, 280213389)[1] == "month"
    with cache.transaction() as tx:
        records.delete(tx, "offers", ["S916977979"])
    assert row(cache, sql, 280213389)[1] is None  # the offer left the catalogue


def test_segment_facts_read_the_derived_values(cache):
    from srm_tui.storage.facts import MICRO, ensure_facts

    write(cache, "customers", [load("ott-web-app/customer.json")])
    write(
        cache,
        "subscriptions",
        [
            {
                "subscriptionId": 280213389,
                "customerId": 362344331,
                "offerId": "S916977979_NL",
                "status": "active",
                "dateFrom": 1675332884,
                "dateTo": NOW + 86400,
                "nextPaymentPrice": 12.0,
                "nextPaymentCurrency": "EUR",
            }
        ],
    )
    facts = "SELECT started_at, period, mrr FROM segment_sub_facts WHERE id = 280213389"
    ensure_facts(cache.conn())
    assert row(cache, facts) == (1675332884, None, None)  # unknown period: no MRR
    assert row(cache, "SELECT mrr_act FROM segment_customer_facts") == (0,)
    write(cache, "offers", [{**MONTHLY_V2, "billingCycle": {"periodUnit": "month", "amount": 3}}])
    ensure_facts(cache.conn())
    assert row(cache, facts) == (1675332884, "3months", 4 * MICRO)
    assert row(cache, "SELECT mrr_act FROM segment_customer_facts") == (4 * MICRO,)


def test_the_period_of_a_mediastore_subscription_from_its_transactions(cache):
    # No offer cached: the offerPeriod of the customer's transactions names it.
    item = {**load("ott-web-app/subscription_item.json"), "offerId": "S916977979_NL"}
    del item["period"]
    write(cache, "subscriptions", [item], customer_id=362344331)
    assert row(cache, "SELECT period FROM subscriptions")[0] is None
    write(cache, "transactions", load("ott-web-app/transactions.json"))
    assert row(cache, "SELECT period, period_derived FROM subscriptions") == ("month", 1)
    assert row(
        cache, "SELECT count(*), round(sum(amount), 2), min(offer_period) FROM transactions"
    ) == (3, 20.97, "month")


def test_a_pass_without_created_at_takes_its_first_transaction_date(cache):
    write(cache, "customers", [load("ott-web-app/customer.json")])
    p = {
        "passId": 1234567890,
        "customerId": 362344331,
        "offerId": "P580476507_NL",
        "status": "active",
        "expiresAt": None,
    }
    write(cache, "passes", [p])
    sql = "SELECT created_at, created_derived FROM passes"
    assert row(cache, sql) == (None, 1)
    assert queries.account_records(cache.conn(), 362344331)["passes"][0]["createdAt"] is None
    account.timeline(queries.account_records(cache.conn(), 362344331), now=NOW)  # no crash
    txn = {
        "transactionId": "T123456789",
        "customerId": 362344331,
        "offerId": "P580476507_NL",
        "transactionDate": 1650000000,
        "amount": 9.99,
        "currency": "EUR",
        "status": "captured",
        "passId": 1234567890,
    }
    write(
        cache,
        "transactions",
        [txn, {**txn, "transactionId": "T123456790", "transactionDate": 1640000000}],
    )
    assert row(cache, sql) == (1640000000, 1)
    rec = queries.account_records(cache.conn(), 362344331)
    assert rec["passes"][0]["createdAt"] == 1640000000  # what the account view reads
    assert "createdAt" not in records.raw_records(cache.conn(), "passes")[0]  # raw as sent
    # A pass that says when it was made keeps it.
    write(cache, "passes", [{**p, "passId": 1234567891, "createdAt": 1600000000}])
    assert row(cache, "SELECT created_at, created_derived FROM passes WHERE id = 1234567891") == (
        1600000000,
        0,
    )


def test_a_webhook_transaction_without_date_or_amount_is_cached_and_shown(cache):
    write(cache, "customers", [{"id": 332442553, "email": "jane@example.com"}])
    write(
        cache,
        "transactions",
        [parse.transaction_from_webhook(load("webhooks/transactionCreated.json")["data"])],
    )
    assert row(
        cache, "SELECT date, amount, currency, status, external_payment_id FROM transactions"
    ) == (None, None, None, "captured", "data")
    rec = queries.account_records(cache.conn(), 332442553)
    a = account.build(rec, NOW)
    assert a.lifetime_revenue == {} and a.lifetime_transactions == 1
    assert account.timeline(rec, now=NOW) == []


def test_a_version_7_cache_keeps_its_records_through_version_8(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for index in range(7):
        for statement in _statements(MIGRATIONS[index]):
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 7")
    conn.execute(
        "INSERT INTO subscriptions (id, customer_id, offer_id, status, created_at, "
        "period, raw, synced_at) VALUES (1, 2, 'S916977979_NL', 'active', 5, 'month',"
        " '{}', 9)"
    )
    conn.execute(
        "INSERT INTO passes (id, customer_id, offer_id, offer_type, status, "
        "created_at, raw, synced_at) VALUES (3, 2, 'P580476507_NL', 'P', 'active', 6,"
        " '{}', 9)"
    )
    conn.execute(
        "INSERT INTO transactions (id, customer_id, date, offer_id, amount, currency,"
        " status, raw, synced_at) VALUES ('T123456789', 2, 7, 'S916977979_NL', 1.5, "
        "'EUR', 'captured', '{}', 9)"
    )
    conn.execute("DELETE FROM segment_facts_dirty")
    conn.commit()
    conn.close()
    c = Cache(path)
    try:
        assert c.schema_version == len(MIGRATIONS)
        assert row(c, "SELECT created_at, period, period_derived FROM subscriptions") == (
            5,
            "month",
            0,
        )
        assert row(c, "SELECT created_at, created_derived FROM passes") == (6, 0)
        assert row(c, "SELECT date, amount, offer_period FROM transactions") == (7, 1.5, None)
        # The segment triggers came back with the rebuilt tables.
        c.conn().execute("UPDATE passes SET status = 'stopped'")
        assert row(c, "SELECT customer_id FROM segment_facts_dirty") == (2,)
    finally:
        c.close()


# Every data file and the tests that check it (test_every_data_file_is_exercised_below).
CHECKED = {
    "ott-web-app/customer.json",
    "ott-web-app/customer_external_data.json",
    "ott-web-app/customer_numeric_id.json",
    "ott-web-app/subscription_item.json",
    "ott-web-app/transactions.json",
    "ott-web-app/payment_detail.json",
    "ott-web-app/payment_detail_numeric_id.json",
    "ott-web-app/offer_monthly.json",
    "ott-web-app/offer_yearly.json",
    "ott-web-app/offer_tvod.json",
    "mediastore-sdk/customer_offer_current_plan.json",
    "mediastore-sdk/customer_offer_plan_mock.json",
    "mediastore-sdk/offer_legacy_mock.json",
    "mediastore-sdk/offer_v2_mock.json",
    "webhooks/transactionCreated.json",
    "webhooks/passCreated.json",
    "webhooks/passExpirationChanged.json",
    "webhooks/subscriptionReadyForPaymentAuthorisation.json",
    "openapi_schemas.json",
}

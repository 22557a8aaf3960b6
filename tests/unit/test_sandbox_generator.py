"""The sandbox's generated data: deterministic, consistent, and covering every case."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from datetime import datetime, timezone

import pytest

from srm_tui.sandbox import generator
from srm_tui.sandbox.customer_ops import subscription_state
from srm_tui.sandbox.locales import COUNTRY_BY_CODE

AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)
NOW = generator.to_unix(AS_OF)
N = 5000
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


@pytest.fixture(scope="module")
def data():
    return generator.generate(1, N, AS_OF)


@pytest.fixture(scope="module")
def subs(data):
    return data["subscriptions"]


def share(count: int, total: int) -> float:
    return count / total if total else 0.0


def is_hostile(text: str | None) -> bool:
    if not text:
        return False
    return (
        "[" in text
        or len(text) > 60
        or any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text)
    )


# -- determinism and ids --------------------------------------------------------------------


def test_same_seed_same_data_and_prefixes_agree(data):
    cat = generator.catalog(1, AS_OF)
    assert cat == generator.catalog(1, AS_OF)
    prefix = list(generator.iter_customers(1, 40, AS_OF, cat))
    assert [b["customer"] for b in prefix] == data["customers"][:40]
    again = list(generator.iter_customers(1, 40, AS_OF, cat))
    assert prefix == again
    other = list(generator.iter_customers(2, 40, AS_OF, generator.catalog(2, AS_OF)))
    assert [b["customer"]["id"] for b in other] != [b["customer"]["id"] for b in prefix]


def test_ids_have_vendor_formats_and_are_unique(data):
    checks = {
        "customers": ("id", lambda v: isinstance(v, int) and 100_000_000 <= v <= 999_999_999),
        "subscriptions": (
            "subscriptionId",
            lambda v: isinstance(v, int) and 100_000_000 <= v <= 999_999_999,
        ),
        "passes": ("passId", lambda v: isinstance(v, int) and 100_000_000 <= v <= 9_999_999_999),
        "transactions": (
            "transactionId",
            lambda v: isinstance(v, str) and re.match(r"^T[1-9]\d{8}$", v),
        ),
        "payment_details": ("id", lambda v: isinstance(v, int)),
        "emails": ("id", lambda v: isinstance(v, int)),
        "notes": ("id", lambda v: isinstance(v, int)),
        "history": ("id", lambda v: isinstance(v, int)),
    }
    for entity, (key, valid) in checks.items():
        ids = [record[key] for record in data[entity]]
        assert ids, entity
        assert len(set(ids)) == len(ids), f"duplicate {entity} ids"
        assert all(valid(v) for v in ids), entity
    emails = [c["email"].lower() for c in data["customers"]]
    assert len(set(emails)) == len(emails)
    refs = [t["externalPaymentId"] for t in data["transactions"]]
    assert len(set(refs)) == len(refs)


def test_catalog_has_every_offer_type_with_localizations(data):
    offers = data["offers"]
    assert 20 <= len(offers) <= 40
    assert {o["id"][0] for o in offers} == set("SPEAR")
    for offer in offers:
        assert re.match(r"^[SPEAR][1-9]\d{8}$", offer["id"])
        assert offer["localizations"]
        assert all(
            loc["id"] == f"{offer['id']}_{loc['countryCode']}" for loc in offer["localizations"]
        )
    assert sum(len(o["localizations"]) >= 3 for o in offers) >= len(offers) * 0.8
    periods = {
        (o["billingCycle"]["periodUnit"], o["billingCycle"]["amount"])
        for o in offers
        if o["id"][0] == "S"
    }
    assert {
        ("week", 1),
        ("month", 1),
        ("month", 3),
        ("month", 6),
        ("year", 1),
        ("season", 1),
    } <= periods
    seasonal = [o for o in offers if o["seasonGroupId"]]
    groups = {g["id"]: g for g in data["season_groups"]}
    assert seasonal and all(o["seasonGroupId"] in groups for o in seasonal)
    assert any(len(g["seasons"]) >= 2 for g in groups.values())
    policies = {
        o["entitlement"]["expirationPolicy"]
        for o in offers
        if o["id"][0] == "P" and o["entitlement"]
    }
    assert policies == {"duration", "fixed-date"}
    assert all(
        o["entitlement"]["duration"]["periodUnit"] == "hour" for o in offers if o["id"][0] == "R"
    )
    assert all(
        {"startsAt", "endsAt", "timezone"} <= set(o["event"]) for o in offers if o["id"][0] == "E"
    )
    assert any(not o["active"] for o in offers)
    assert all(c["couponCodes"] for c in data["campaigns"])


# -- lifecycle coverage ---------------------------------------------------------------------


def test_every_lifecycle_state_is_at_least_3_percent(subs):
    states = Counter(subscription_state(s, NOW) for s in subs)
    for state in ("paused", "churned", "cancelled", "grace", "trial", "active"):
        assert share(states[state], len(subs)) >= 0.03, (state, states)


def test_concurrent_hybrid_and_in_app_shares(data, subs):
    live = Counter(s["customerId"] for s in subs if subscription_state(s, NOW) != "churned")
    subscribers = {s["customerId"] for s in subs}
    assert share(sum(1 for n in live.values() if n >= 2), len(subscribers)) >= 0.10
    pass_holders = {p["customerId"] for p in data["passes"]}
    assert share(len(subscribers & pass_holders), N) >= 0.10
    in_app = sum(s["paymentGateway"] in ("apple", "android", "roku", "amazon") for s in subs)
    assert share(in_app, len(subs)) >= 0.20
    assert {s["paymentGateway"] for s in subs} >= {
        "adyen",
        "paypal",
        "apple",
        "android",
        "roku",
        "amazon",
        "free-offer",
    }
    assert all(
        s["isExternallyManaged"] == (s["paymentGateway"] in ("apple", "android", "roku", "amazon"))
        for s in subs
    )


def test_offer_types_and_prospects(data, subs):
    assert {p["offerId"][0] for p in data["passes"]} == set("PEAR")
    assert {s["offerId"][0] for s in subs} == {"S"}
    active = {r["customerId"] for r in subs + data["passes"] + data["transactions"]}
    prospects = [c for c in data["customers"] if c["id"] not in active]
    assert len(prospects) >= N * 0.02
    assert {s["period"] for s in subs} >= {
        "day",
        "week",
        "month",
        "3months",
        "6months",
        "year",
        "season",
    }


def test_rejections_and_refunds(data):
    txns = data["transactions"]
    rejected = [t for t in txns if t["status"] == "rejected"]
    assert rejected and all(t["rejectedReason"] for t in rejected)
    assert len({t["rejectedReason"] for t in rejected}) >= 5
    refunded = [t for t in txns if t["status"] == "refunded"]
    full = [t for t in refunded if t["refundedAmount"] == t["amount"]]
    partial = [t for t in refunded if 0 < t["refundedAmount"] < t["amount"]]
    assert full and partial and len(full) + len(partial) == len(refunded)
    assert all(t["paymentGateway"] in ("adyen", "paypal") and not t["isGift"] for t in refunded)
    assert all(t["rejectedReason"] is None for t in txns if t["status"] != "rejected")
    assert any(t["isGift"] for t in txns)


def test_emails_notes_and_history(data):
    emails = data["emails"]
    assert {e["type"] for e in emails} == set(generator.EMAIL_TYPES)
    assert {e["status"] for e in emails} == {"sent", "generated"}
    in_app_txns = {
        t["transactionId"]
        for t in data["transactions"]
        if t["paymentGateway"] in ("apple", "android", "roku", "amazon")
    }
    assert all(e["status"] == "generated" for e in emails if e["transactionId"] in in_app_txns)
    notes = data["notes"]
    assert len({n["author"] for n in notes}) >= 3
    assert any(n["revisions"] for n in notes) and any(n["deletedAt"] for n in notes)
    customers = {c["id"]: c for c in data["customers"]}
    assert data["history"]
    latest: dict[tuple, dict] = {}
    for entry in sorted(data["history"], key=lambda h: h["date"]):
        for change in entry["changes"]:
            latest[(entry["customerId"], change["field"])] = change
    for (cid, name), change in latest.items():
        customer = customers[cid]
        current = customer["capture"][name] if name == "companyName" else customer[name]
        assert change["to"] == current, (cid, name)


def test_names_are_plausible_and_some_are_hostile(data):
    customers = data["customers"]
    hostile = [c for c in customers if is_hostile(c["firstName"]) or is_hostile(c["lastName"])]
    assert len(hostile) >= N / 500
    texts = [c["firstName"] + " " + c["lastName"] for c in hostile]
    assert any("[b]" in t for t in texts) and any("[bold red]" in t for t in texts)
    assert any("\x1b[" in t for t in texts)
    assert any(len(c["firstName"]) >= 300 or len(c["lastName"]) >= 300 for c in hostile)
    assert any(any(unicodedata.bidirectional(ch) in ("R", "AL", "RLO") for ch in t) for t in texts)
    plausible = [c for c in customers if c not in hostile]
    assert all(0 < len(c["firstName"]) <= 50 and 0 < len(c["lastName"]) <= 50 for c in plausible)
    names = "".join(c["firstName"] + c["lastName"] for c in plausible)
    for letter in "ŁØüéñ山":
        assert letter in names


def test_customers_are_consistent(data):
    first_activity: dict[int, int] = {}
    for t in data["transactions"]:
        first_activity[t["customerId"]] = min(
            first_activity.get(t["customerId"], NOW), t["transactionDate"]
        )
    with_capture = with_external = with_data = 0
    for c in data["customers"]:
        country = COUNTRY_BY_CODE[c["country"]]
        assert (c["currency"], c["locale"]) == (country.currency, country.locale)
        assert DATE_RE.match(c["regDate"]) and c["regDate"] <= "2026-11-01 00:00:00"
        if c["lastLoginDate"] is not None:
            assert DATE_RE.match(c["lastLoginDate"])
            assert c["regDate"] <= c["lastLoginDate"] <= "2026-11-01 00:00:00"
        if c["id"] in first_activity:
            reg = generator.to_unix(datetime.strptime(c["regDate"], "%Y-%m-%d %H:%M:%S"))
            assert reg <= first_activity[c["id"]]
        assert re.match(r"^[^@\s]+@[^@\s]+\.[a-z]+$", c["email"])
        with_capture += c["capture"]["address"] is not None
        with_external += c["externalId"] is not None
        with_data += c["externalData"] is not None
    assert with_capture > N * 0.7 and with_external > N * 0.3 and with_data > N * 0.1


def test_transactions_follow_their_subscriptions_and_passes(data, subs):
    customers = {c["id"]: c for c in data["customers"]}
    prices = {
        loc["id"]: loc["price"]["amount"] for o in data["offers"] for loc in o["localizations"]
    }
    discounts = {
        code: c["discount"]["value"] for c in data["campaigns"] for code in c["couponCodes"]
    }
    by_sub: dict[int, list] = defaultdict(list)
    passes = {p["passId"]: p for p in data["passes"]}
    for t in data["transactions"]:
        assert t["transactionDate"] <= NOW
        assert t["currency"] == customers[t["customerId"]]["currency"]
        assert (t["subscriptionId"] is None) != (t["passId"] is None)
        if t["subscriptionId"] is not None:
            by_sub[t["subscriptionId"]].append(t)
        else:
            record = passes[t["passId"]]
            assert record["customerId"] == t["customerId"] and record["offerId"] == t["offerId"]
            assert t["amount"] == prices[t["offerId"]]
            assert record["createdAt"] - 3600 <= t["transactionDate"] <= record["createdAt"]
    for s in subs:
        txns = by_sub[s["subscriptionId"]]
        assert txns, s["subscriptionId"]
        price = prices[s["offerId"]]
        if s["couponCode"]:
            price = generator.discounted(
                price, discounts[s["couponCode"]], s["nextPaymentCurrency"] == "JPY"
            )
        assert s["nextPaymentPrice"] == price
        for t in txns:
            assert t["customerId"] == s["customerId"] and t["offerId"] == s["offerId"]
            assert t["paymentGateway"] == s["paymentGateway"]
            # Failed renewals are retried for a few days after dateTo.
            assert s["createdAt"] <= t["transactionDate"] <= s["dateTo"] + 6 * 86_400
            if t["paymentOperation"] == "initial-free-transaction":
                assert t["amount"] == 0
            else:
                assert t["amount"] == s["nextPaymentPrice"]
        paid = [
            t
            for t in txns
            if t["status"] in ("captured", "refunded")
            and t["paymentOperation"] == "recurring-payment"
        ]
        assert len(paid) == s["renewalCycle"]["completed"]
        assert s["createdAt"] <= NOW and s["dateFrom"] == s["createdAt"]


def test_payment_details_match_subscriptions(data, subs):
    details = {d["id"]: d for d in data["payment_details"]}
    for s in subs:
        if s["paymentGateway"] == "free-offer":
            assert s["paymentDetailsId"] is None
            continue
        d = details[s["paymentDetailsId"]]
        assert d["customerId"] == s["customerId"]
        assert (d["paymentGateway"], d["paymentMethod"]) == (
            s["paymentGateway"],
            s["paymentMethod"],
        )
        assert s["subscriptionId"] in d["subscriptionIds"]
        assert d["bound"] == s["isExternallyManaged"]
    cards = [d for d in details.values() if d["paymentMethod"] == "card"]
    assert cards and all(
        re.match(r"^\d{4}$", d["paymentMethodSpecificParams"]["lastCardFourDigits"]) for d in cards
    )
    assert any(not d["active"] for d in cards)

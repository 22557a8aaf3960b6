"""The segment compiler against a plain-Python reading of CONTRACT sections 4 and 5.

Random small caches (customers with subscriptions, passes and transactions, hostile to case
folding, nulls and ties) and random trees (every operator of every type, nesting, relative
dates, every selector): the members SQL finds must be exactly those this evaluator finds.
The evaluator below is written from the contract, not from the engine: it reads the models,
uses srm_tui.domain.lifecycle for the state rules, and compares money in micro-units (the
engine's documented precision).
"""

from __future__ import annotations

import json
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from srm_tui.domain import lifecycle as L
from srm_tui.domain import models as m
from srm_tui.domain import rates
from srm_tui.segments import catalog, engine
from srm_tui.segments.model import All, AnyOf, Condition, Node, Not, Segment
from srm_tui.storage import records
from srm_tui.storage.cache import Cache
from srm_tui.storage.payload import decode_raw

NOW = int(datetime(2026, 11, 1, 12, 30, tzinfo=timezone.utc).timestamp())
DAY = 86400
OFFSETS = (-40 * DAY, -DAY - 1, -DAY, -1, 0, 1, DAY, 40 * DAY)
OFFERS = [
    ("S100000001", "subscription", "Straße Monthly"),
    ("S100000002", "subscription", "ÉTÉ Annual"),
    ("P100000003", "pass", "Day Pass"),
    ("P100000004", "pass", "İstanbul STRASSE"),
    ("E100000005", "live", "Live Event"),
]
MISSING_OFFER = "S100000009"  # named by records but not cached: its title is null
TEXTS = [
    "Straße",
    "STRASSE",
    "strasse",
    "ss",
    "ǅemal",
    "ǆ",
    "Łukasz",
    "łuk",
    "İlker",
    "i̇",
    "anna@example.com",
    "ANNA@Example.COM",
    "@example",
    "crm-1",
    "CRM-1",
    "card",
    "Card",
    "paypal",
    "Gold",
    "gold",
    "Insufficient funds",
    "insufficient",
    "funds",
    "a",
    "",
    "Day Pass",
    "day",
    "pass",
    "monthly",
    "ÉTÉ",
    "été annual",
    "s100000001_pl",
    "S100000001",
    "101",
    "1",
    "0",
    "save10",
    "SAVE10",
    "pl_pl",
    "PL_pl",
]
NUMBERS = [
    0,
    1,
    2,
    3,
    -1,
    0.5,
    9.99,
    10,
    20,
    29.97,
    39.96,
    30.4166,
    120,
    101,
    102,
    205,
    1000003,
    3.33,
    13.32,
]


def iso(ts: int, date_only: bool = False) -> str:
    dt = datetime.fromtimestamp(ts, timezone.utc)
    return dt.strftime("%Y-%m-%d") if date_only else dt.strftime("%Y-%m-%dT%H:%M:%SZ")


DATES = [iso(NOW + o) for o in OFFSETS] + [
    iso(NOW, True),
    iso(NOW - DAY, True),
    "2026-11-01T13:30:00+01:00",
    # relative (CONTRACT section 4): at each now
    "now",
    "today",
    "-1d",
    "+1d",
    "-2w",
    "-1m",
    "+1m",
    "-1y",
]
# Money conditions may name a currency (converted with the shipped rates); XAU has no rate.
TARGETS = [None, None, "EUR", "USD", "PLN", "XAU"]
DAYS = [0, 1, 1.5, 2, 30, 40]


def micros(x: float | None) -> int | None:
    if x is None:
        return None
    r = x * 1_000_000
    return int(r + 0.5) if r >= 0 else -int(-r + 0.5)


# random caches --------------------------------------------------------------------------

opt = st.one_of


@st.composite
def caches(draw) -> dict[str, list[dict[str, Any]]]:
    moment = st.sampled_from([NOW, NOW, NOW + 1] + [NOW + o for o in OFFSETS])
    n = draw(st.integers(0, 14))
    out: dict[str, list[dict[str, Any]]] = {
        "customers": [],
        "subscriptions": [],
        "passes": [],
        "transactions": [],
    }
    sub_id, pass_id, txn = 100, 500, 100000000
    for cid in range(1, n + 1):
        out["customers"].append(
            {
                "id": cid,
                "email": draw(
                    st.sampled_from(
                        [
                            None,
                            "Anna@Example.com",
                            "straße@x.de",
                            f"u{cid}@STRASSE.de",
                            "ǅemal@x.pl",
                        ]
                    )
                ),
                "firstName": draw(st.sampled_from([None, "Łukasz", "ǅemal", "İlker", "Anna", ""])),
                "lastName": draw(st.sampled_from([None, "Straße", "STRASSE", "Gold"])),
                "country": draw(st.sampled_from([None, "PL", "DE", "US"])),
                "currency": draw(st.sampled_from([None, "PLN", "EUR", "USD"])),
                "locale": draw(st.sampled_from([None, "pl_PL", "de_DE"])),
                "regDate": draw(opt(st.none(), moment.map(m.format_customer_date))),
                "lastLoginDate": draw(opt(st.none(), moment.map(m.format_customer_date))),
                "externalId": draw(st.sampled_from([None, "crm-1", "CRM-1", "auth0|x"])),
                "externalData": draw(
                    st.sampled_from(
                        [
                            None,
                            {},
                            {"tier": "Gold"},
                            {"tier": 5},
                            {"tier": None},
                            {"tier": True},
                            {"tier": "gold", "source": "Straße"},
                        ]
                    )
                ),
            }
        )
        subs = []
        for _ in range(draw(st.integers(0, 4))):
            sub_id += 1
            offer = draw(
                st.sampled_from(["S100000001", "S100000001_PL", "S100000002_DE", MISSING_OFFER])
            )
            sub = {
                "subscriptionId": sub_id,
                "customerId": cid,
                "offerId": offer,
                "status": draw(st.sampled_from(L_STATUSES)),
                "dateTo": draw(opt(st.none(), moment)),
                "inTrial": draw(st.booleans()),
                "createdAt": draw(
                    st.sampled_from([NOW - 90 * DAY, NOW - 3 * DAY, NOW - 3 * DAY + 1, NOW + DAY])
                ),
                "period": draw(st.sampled_from(list(L.MRR_FACTOR))),
                "nextPaymentPrice": draw(
                    st.sampled_from([None, 0.0, 9.99, 10.0, 29.97, 120.0, 0.5])
                ),
                "nextPaymentCurrency": draw(st.sampled_from([None, "EUR", "PLN"])),
                "paymentGateway": draw(
                    st.sampled_from([None, "adyen", "apple", "paypal", "roku", "free-offer"])
                ),
                "paymentMethod": draw(st.sampled_from([None, "card", "Card", "paypal"])),
                "couponCode": draw(st.sampled_from([None, "SAVE10", "save10"])),
                "renewalCycle": {"completed": draw(st.integers(0, 3))},
                "externalProperties": draw(st.sampled_from([None, {}, {"plan": "A"}, {"plan": 1}])),
            }
            subs.append(sub)
        out["subscriptions"] += subs
        passes = []
        for _ in range(draw(st.integers(0, 2))):
            pass_id += 1
            passes.append(
                {
                    "passId": pass_id,
                    "customerId": cid,
                    "offerId": draw(
                        st.sampled_from(["P100000003", "P100000004_PL", "E100000005", "P100000008"])
                    ),
                    "status": draw(st.sampled_from(["active", "stopped", "terminated"])),
                    "createdAt": draw(st.sampled_from([NOW - 10 * DAY, NOW - DAY])),
                    "expiresAt": draw(opt(st.none(), moment)),
                }
            )
        out["passes"] += passes
        for _ in range(draw(st.integers(0, 4))):
            txn += 1
            status = draw(st.sampled_from(["captured", "rejected", "refunded"]))
            target = draw(st.sampled_from(["sub", "pass", "none"]))
            sub = draw(st.sampled_from(subs)) if subs and target == "sub" else None
            pas = draw(st.sampled_from(passes)) if passes and target == "pass" else None
            out["transactions"].append(
                {
                    "transactionId": f"T{txn}",
                    "customerId": cid,
                    "transactionDate": draw(st.sampled_from([NOW - 5 * DAY, NOW - DAY, NOW - DAY])),
                    "offerId": sub["offerId"] if sub else "S100000001",
                    "subscriptionId": sub["subscriptionId"] if sub else None,
                    "passId": pas["passId"] if pas else None,
                    "amount": draw(st.sampled_from([0.0, 9.99, 10.0, 29.97, 3.33])),
                    "currency": "EUR",
                    "status": status,
                    "paymentMethod": draw(st.sampled_from([None, "card", "Card", "paypal"])),
                    "rejectedReason": draw(
                        st.sampled_from([None, "Insufficient funds", "INSUFFICIENT FUNDS"])
                    )
                    if status == "rejected"
                    else None,
                    "refundedAmount": draw(st.sampled_from([0.0, 1.5, 9.99]))
                    if status == "refunded"
                    else 0.0,
                }
            )
    return out


L_STATUSES = ["active", "stopped", "terminated", "paused"]


def write_cache(path: Path, data: dict[str, list[dict[str, Any]]]) -> Cache:
    cache = Cache(path)
    with cache.transaction() as tx:
        offers = [
            m.Offer.model_validate({"id": i, "type": t, "title": title}) for i, t, title in OFFERS
        ]
        records.upsert(tx, "offers", offers, NOW)
        for entity in ("customers", "subscriptions", "passes", "transactions"):
            model, _ = m.ENTITIES[entity]
            records.upsert(tx, entity, [model.model_validate(r) for r in data[entity]], NOW)
    return cache


# the evaluator, straight from the contract -------------------------------------------------


class Customer:
    """Every attribute of one customer, computed from its records at `now`."""

    def __init__(self, data: dict[str, list[dict[str, Any]]], c: dict[str, Any], now: int):
        self.c, self.now = c, now
        cid = c["id"]
        self.subs = [s for s in data["subscriptions"] if s["customerId"] == cid]
        self.passes = [p for p in data["passes"] if p["customerId"] == cid]
        self.txns = [t for t in data["transactions"] if t["customerId"] == cid]
        self.titles = {i: title for i, _, title in OFFERS}

    def state(self, s: dict[str, Any]) -> str:
        return L.subscription_state(s["status"], s["inTrial"], s["dateTo"], self.now)

    def title(self, offer_id: str) -> str | None:
        return self.titles.get(offer_id.split("_")[0])

    def sub_revenue(self, s: dict[str, Any]) -> int:
        return sum(
            micros(L.transaction_revenue(t["status"], t["amount"], t["refundedAmount"]))
            for t in self.txns
            if t["subscriptionId"] == s["subscriptionId"]
        )

    def selected(self, selector: str) -> list[dict[str, Any] | None]:
        if not self.subs:
            return [None]
        if selector == "any":
            return list(self.subs)
        if selector == "latest":
            return [max(self.subs, key=lambda s: (s["createdAt"], s["subscriptionId"]))]
        if selector == "longest":

            def length(s):
                end = self.now if s["dateTo"] is None else min(self.now, s["dateTo"])
                return (end - s["createdAt"], -s["subscriptionId"])

            return [max(self.subs, key=length)]
        return [max(self.subs, key=lambda s: (self.sub_revenue(s), s["subscriptionId"]))]

    def value(self, attr: str, s: dict[str, Any] | None) -> Any:
        c, now = self.c, self.now
        if attr.startswith("customer.custom."):
            return custom_text(c.get("externalData"), attr[len("customer.custom.") :])
        if attr.startswith("subscription."):
            if s is None:
                return None
            return self.sub_value(attr[len("subscription.") :], s)
        name = attr[len("customer.") :]
        states = [self.state(x) for x in self.subs]
        simple = {
            "id": "id",
            "email": "email",
            "first_name": "firstName",
            "last_name": "lastName",
            "locale": "locale",
            "external_id": "externalId",
            "country": "country",
            "currency": "currency",
        }
        if name in simple:
            return c.get(simple[name])
        if name == "registered_at":
            return m.parse_customer_date(c.get("regDate"))
        if name == "last_login_at":
            return m.parse_customer_date(c.get("lastLoginDate"))
        if name == "status":
            return L.customer_status(
                states, [(p["status"], p["expiresAt"]) for p in self.passes], now
            )
        if name == "mrr":
            return sum(
                micros(L.subscription_mrr(x["nextPaymentPrice"], x["period"]))
                for x, st_ in zip(self.subs, states)
                if st_ in ("active", "grace")
            )
        if name == "lifetime_revenue":
            return sum(
                micros(L.transaction_revenue(t["status"], t["amount"], t["refundedAmount"]))
                for t in self.txns
            )
        if name == "lifetime_transactions":
            return sum(t["status"] in ("captured", "refunded") for t in self.txns)
        if name == "active_subscriptions":
            return sum(x in ("trial", "active", "grace", "cancelled") for x in states)
        if name == "paid_active_subscriptions":
            return sum(x in ("active", "grace", "cancelled") for x in states)
        if name == "churned_subscriptions":
            return states.count("churned")
        if name == "has_active_pass":
            return any(
                p["offerId"][0] == "P" and L.pass_is_active(p["status"], p["expiresAt"], now)
                for p in self.passes
            )
        if name == "is_hybrid":
            return bool(self.subs) and bool(self.passes)
        p_passes = [p for p in self.passes if p["offerId"][0] == "P"]
        latest_pass = max(p_passes, key=lambda p: (p["createdAt"], p["passId"]), default=None)
        if name == "latest_pass_title":
            return self.title(latest_pass["offerId"]) if latest_pass else None
        if name == "latest_pass_id":
            return str(latest_pass["passId"]) if latest_pass else None
        if name == "latest_pass_end_date":
            return latest_pass["expiresAt"] if latest_pass else None
        order = lambda t: (t["transactionDate"], t["transactionId"])  # noqa: E731
        if name == "latest_payment_rejection_reason":
            rejected = [t for t in self.txns if t["status"] == "rejected"]
            return max(rejected, key=order)["rejectedReason"] if rejected else None
        if name == "last_payment_method":
            # The latest transaction's method; when it names none, the latest one known.
            known = [t for t in self.txns if t.get("paymentMethod")]
            return max(known, key=order)["paymentMethod"] if known else None
        raise AssertionError(attr)

    def sub_value(self, name: str, s: dict[str, Any]) -> Any:
        state = self.state(s)
        if name.startswith("custom."):
            return custom_text(s.get("externalProperties"), name[len("custom.") :])
        return {
            "id": s["subscriptionId"],
            "renewals": s["renewalCycle"]["completed"],
            "offer_id": s["offerId"],
            "offer_title": self.title(s["offerId"]),
            "coupon_code": s["couponCode"],
            "payment_method": s["paymentMethod"],
            "state": state,
            "status": s["status"],
            "period": s["period"],
            "currency": s["nextPaymentCurrency"].upper() if s["nextPaymentCurrency"] else None,
            "channel": L.channel(s["paymentGateway"]),
            "in_trial": s["inTrial"],
            "in_grace": state == "grace",
            "is_paused": state == "paused",
            "will_renew": state in ("trial", "active", "grace"),
            "started_at": s["createdAt"],
            "expires_at": s["dateTo"],
            "next_payment_at": s["dateTo"] if state in ("trial", "active", "grace") else None,
            "price": micros(s["nextPaymentPrice"]),
            "mrr": micros(L.subscription_mrr(s["nextPaymentPrice"], s["period"])),
            "lifetime_revenue": self.sub_revenue(s),
            "duration_days": (self.now - s["createdAt"]) // DAY,
        }[name]


def custom_text(data: dict[str, Any] | None, key: str) -> str | None:
    if not data or key not in data or data[key] is None:
        return None
    v = data[key]
    return v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))


def months_from(now: int, months: int) -> float:
    """Calendar months from now, the day kept or clamped to the month's end."""
    import calendar

    dt = datetime.fromtimestamp(now, timezone.utc)
    index = dt.year * 12 + dt.month - 1 + months
    year, month = index // 12, index % 12 + 1
    return dt.replace(
        year=year, month=month, day=min(dt.day, calendar.monthrange(year, month)[1])
    ).timestamp()


def to_seconds(text: str, now: int = NOW) -> float:
    if text == "now":
        return now
    if text == "today":
        return now // DAY * DAY
    if text[0] in "+-" and text[-1] in "dwmy":
        n = int(text[:-1])
        return {
            "d": lambda: now + n * DAY,
            "w": lambda: now + 7 * n * DAY,
            "m": lambda: months_from(now, n),
            "y": lambda: months_from(now, 12 * n),
        }[text[-1]]()
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def holds(attr: str, op: str, value: Any, x: Any, now: int) -> bool:
    a = catalog.lookup(attr)
    if op == "is_set":
        return x is not None
    if op == "is_not_set":
        return x is None
    if x is None:
        return op in ("ne", "not_in", "not_contains")
    if a.type == "text":
        x = x.casefold()
        if op in ("in", "not_in"):
            found = x in [v.casefold() for v in value]
            return found if op == "in" else not found
        v = value.casefold()
        return {
            "eq": x == v,
            "ne": x != v,
            "contains": v in x,
            "not_contains": v not in x,
            "starts_with": x.startswith(v),
            "ends_with": x.endswith(v),
        }[op]
    if a.type == "bool":
        return bool(x) == value
    if a.type == "date":
        if op == "before":
            return x < to_seconds(value, now)
        if op == "after":
            return x > to_seconds(value, now)
        if op == "between":
            return to_seconds(value[0], now) <= x <= to_seconds(value[1], now)
        if op == "on":
            day = to_seconds(value, now) // DAY * DAY
            return day <= x < day + DAY
        if op == "within_last":
            return now - value * DAY <= x <= now
        if op == "more_than_days_ago":
            return x < now - value * DAY
        return now <= x <= now + value * DAY
    conv = micros if a.money else (lambda v: v)
    if op == "between":
        return conv(value[0]) <= x <= conv(value[1])
    if op in ("in", "not_in"):
        found = x in [conv(v) for v in value]
        return found if op == "in" else not found
    v = conv(value)
    return {"eq": x == v, "ne": x != v, "gt": x > v, "gte": x >= v, "lt": x < v, "lte": x <= v}[op]


def evaluate(node: Node, cust: Customer, s: dict[str, Any] | None) -> bool:
    if isinstance(node, All):
        return all(evaluate(n, cust, s) for n in node.items)
    if isinstance(node, AnyOf):
        return any(evaluate(n, cust, s) for n in node.items)
    if isinstance(node, Not):
        return not evaluate(node.item, cust, s)
    x = cust.value(node.attr, s)
    if node.currency is not None:
        x = converted(node.attr, x, node.currency, cust, s)
    return holds(node.attr, node.op, node.value, x, cust.now)


def converted(
    attr: str, x: int | None, target: str, cust: Customer, s: dict[str, Any] | None
) -> int | None:
    """Micro-units of the amount's own currency (the customer's for customer totals, the
    subscription's for its amounts) in ``target``, with the shipped ECB rates."""
    if x is None:
        return None
    own = (
        cust.c.get("currency")
        if attr.startswith("customer.")
        else (s or {}).get("nextPaymentCurrency")
    )
    per_eur = {"EUR": 1.0, **rates.shipped().per_eur}
    own = own.upper() if own else None
    if own not in per_eur or target not in per_eur:
        return None
    r = x * (per_eur[target] / per_eur[own])
    return int(r + 0.5) if r >= 0 else -int(-r + 0.5)


def expected_members(
    data: dict[str, list[dict[str, Any]]], segment: Segment, now: int
) -> list[int]:
    out = []
    for c in data["customers"]:
        cust = Customer(data, c, now)
        if any(evaluate(segment.where, cust, s) for s in cust.selected(segment.selector)):
            out.append(c["id"])
    return sorted(out)


# random trees -------------------------------------------------------------------------------

ATTRS = [a.name for a in catalog.ATTRIBUTES] + [
    "customer.custom.tier",
    "customer.custom.source",
    "customer.custom.missing",
    "subscription.custom.plan",
]


def values_for(attr: str, op: str) -> st.SearchStrategy:
    a = catalog.lookup(attr)
    if op in catalog.NO_VALUE:
        return st.none()
    if a.type == "date":
        if op in catalog.DAYS_VALUE:
            return st.sampled_from(DAYS)
        one = st.sampled_from(DATES)
        return st.tuples(one, one) if op == "between" else one
    if a.type == "bool":
        return st.booleans()
    if a.type == "enum":
        pool = (
            list(a.values)
            if a.values
            else (["PL", "DE", "US"] if "country" in attr else ["EUR", "PLN", "USD"])
        )
        one = st.sampled_from(pool)
    elif a.type == "text":
        one = st.sampled_from(TEXTS)
    else:
        one = st.sampled_from(NUMBERS + list(range(1, 15)))
    if op in catalog.LIST_VALUE:
        return st.lists(one, max_size=3).map(tuple)
    if op == "between":
        return st.tuples(one, one)
    return one


@st.composite
def conditions_(draw) -> Condition:
    attr = draw(st.sampled_from(ATTRS))
    op = draw(st.sampled_from(catalog.lookup(attr).operators))
    currency = draw(st.sampled_from(TARGETS)) if catalog.lookup(attr).money else None
    return Condition(attr, op, draw(values_for(attr, op)), currency)


trees = st.recursive(
    conditions_(),
    lambda children: st.one_of(
        st.lists(children, max_size=4).map(lambda xs: All(tuple(xs))),
        st.lists(children, max_size=4).map(lambda xs: AnyOf(tuple(xs))),
        children.map(Not),
    ),
    max_leaves=6,
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    data=caches(),
    queries=st.lists(
        st.tuples(
            trees, st.sampled_from(catalog.SELECTORS), st.sampled_from([0, 1, -1, DAY, -DAY])
        ),
        min_size=1,
        max_size=12,
    ),
)
def test_compiled_sql_finds_exactly_the_contract_members(data, queries):
    with tempfile.TemporaryDirectory() as tmp:
        cache = write_cache(Path(tmp) / "c.db", data)
        conn = cache.conn()
        try:
            for where, selector, shift in queries:
                segment = Segment(where=where, selector=selector)
                now = NOW + shift
                expected = expected_members(data, segment, now)
                got = engine.members(conn, segment, now)
                assert got == expected, (where, selector, shift)
                assert engine.count(conn, segment, now) == len(expected)
        finally:
            cache.close()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    data=caches(),
    changed=caches(),
    gone=st.lists(st.integers(1, 600), max_size=8),
    where=st.lists(trees, min_size=1, max_size=5),
)
def test_facts_follow_every_write(data, changed, gone, where):
    """After writes of any kind (upserts that move records between customers, deletes), the
    next query sees the records as the cache now holds them."""
    with tempfile.TemporaryDirectory() as tmp:
        cache = write_cache(Path(tmp) / "c.db", data)
        conn = cache.conn()
        try:
            engine.count(conn, Segment(), NOW)  # the facts are built
            with cache.transaction() as tx:
                for entity in ("customers", "subscriptions", "passes", "transactions"):
                    model, _ = m.ENTITIES[entity]
                    records.upsert(
                        tx, entity, [model.model_validate(r) for r in changed[entity]], NOW
                    )
                for key in gone:
                    tx.execute("DELETE FROM subscriptions WHERE id = ?", (key,))
                    tx.execute("DELETE FROM passes WHERE id = ?", (key,))
                    tx.execute("DELETE FROM customers WHERE id = ?", (key % 20,))
                    tx.execute("DELETE FROM transactions WHERE id = ?", (f"T{100000000 + key}",))
            cached = _as_cached(conn)
            for tree in where:
                for selector in catalog.SELECTORS:
                    segment = Segment(where=tree, selector=selector)
                    assert engine.members(conn, segment, NOW) == expected_members(
                        cached, segment, NOW
                    ), (tree, selector)
        finally:
            cache.close()


def _as_cached(conn) -> dict[str, list[dict[str, Any]]]:
    """The records the cache holds now, in the API's shape."""
    return {
        entity: [decode_raw(r[0]) for r in conn.execute(f"SELECT raw FROM {entity}")]
        for entity in ("customers", "subscriptions", "passes", "transactions")
    }


def _norm(attr: str, value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str) and catalog.lookup(attr).type == "text":
        return value.casefold()
    return value


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=caches(), shift=st.sampled_from([0, 0, 1, -1, DAY]))
def test_every_attribute_has_its_contract_value(data, shift):
    """Each attribute's SQL value, customer by customer and subscription by subscription."""
    from srm_tui.segments.compile import CF, MODES, SF, TF, Compiled, Compiler
    from srm_tui.storage import facts

    now = NOW + shift
    with tempfile.TemporaryDirectory() as tmp:
        cache = write_cache(Path(tmp) / "c.db", data)
        conn = facts.prepare(cache.conn())
        facts.ensure_facts(conn)
        try:
            customers = {c["id"]: Customer(data, c, now) for c in data["customers"]}
            for attr in ATTRS:
                for selector in ("latest", "longest", "highest_revenue"):
                    compiler = Compiler(now, MODES[selector])
                    x = compiler.value_sql(catalog.lookup(attr))
                    compiled = Compiled(x, compiler.params, selector, True)  # its joins
                    got = dict(
                        conn.execute(
                            f"SELECT f.id, {x} FROM {compiled.from_sql}", compiler.params
                        ).fetchall()
                    )
                    for cid, cust in customers.items():
                        (s,) = cust.selected(selector)
                        assert got[cid] == _norm(attr, cust.value(attr, s)), (attr, selector, cid)
                if attr.startswith("subscription."):
                    compiler = Compiler(now, "row")
                    x = compiler.value_sql(catalog.lookup(attr))
                    got = {
                        r[0]: r[1]
                        for r in conn.execute(
                            f"SELECT s.id, {x} FROM {SF} s JOIN {CF} f ON f.id = s.customer_id "
                            f"LEFT JOIN {TF} t ON t.id = f.id",
                            compiler.params,
                        )
                    }
                    for cust in customers.values():
                        for s in cust.subs:
                            assert got[s["subscriptionId"]] == _norm(attr, cust.value(attr, s)), (
                                attr,
                                s,
                            )
        finally:
            cache.close()

"""The indexes schema 9 drops (issue 16, a lean cache) are ones no query of srm uses: the
console's and the CLI's reads (searches of every kind, the list's windows in each sort, an
account, offer holders, segment counts, value suggestions) run against a cache that still
holds those indexes, and EXPLAIN QUERY PLAN of every statement they ran names none of them."""

from __future__ import annotations

import re
import sqlite3

from srm_tui.storage.cache import Cache, _statements
from srm_tui.storage.schema import MIGRATIONS

_INDEX = re.compile(r"USING (?:COVERING )?INDEX (\w+)")
NOW = 1_790_000_000


def _dropped() -> dict[str, str]:
    """Index name -> its last CREATE INDEX before schema 9, for each index V9 drops."""
    names = re.findall(r"DROP INDEX IF EXISTS (\w+)", MIGRATIONS[8])
    made: dict[str, str] = {}
    for script in MIGRATIONS[:8]:
        for statement in _statements(script):
            m = re.match(r"CREATE INDEX (\w+)", statement)
            if m:
                made[m.group(1)] = statement
    return {name: made[name] for name in names}


def _reads(conn: sqlite3.Connection) -> list:
    from srm_tui.segments import All, AnyOf, Condition, Not, Segment, count, lookup
    from srm_tui.segments.values import custom_keys, suggestions
    from srm_tui.storage import queries, search

    one = conn.execute(
        "SELECT id, email, external_id, country, currency, city, state, post_code, birth_date "
        "FROM customers WHERE external_id IS NOT NULL AND post_code IS NOT NULL "
        "AND birth_date IS NOT NULL LIMIT 1 OFFSET 3"
    ).fetchone()
    txn = conn.execute(
        "SELECT id, external_payment_id FROM transactions "
        "WHERE external_payment_id IS NOT NULL LIMIT 1"
    ).fetchone()
    card = conn.execute("SELECT last4 FROM payment_details WHERE last4 IS NOT NULL").fetchone()
    texts = [
        "son",
        "ma",
        "an",
        "a e",
        one["email"],
        str(one["id"]),
        f"id:{one['id']}",
        one["external_id"],
        f"ext:{one['external_id']}",
        f"ext:{one['external_id'].upper()}",
        txn["id"],
        f"txn:{txn['id']}",
        txn["external_payment_id"],
        f"order:{txn['external_payment_id'].lower()}",
        f"country:{one['country']}",
        f"currency:{one['currency']}",
        f"card:{card[0]}",
        f"zip:{one['post_code']}",
        f"city:{one['city']}",
        f"state:{one['state']}",
        f"birthdate:{one['birth_date']}",
    ]
    calls = [lambda q=q: search.search(conn, q) for q in texts]
    calls += [
        lambda: queries.account_records(conn, one["id"]),
        lambda: queries.customer_record(conn, one["id"]),
        lambda: queries.offer_holders(conn, NOW),
        lambda: queries.offers(conn),
        lambda: queries.customer_count(conn),
    ]
    for sort in queries.SORT_COLUMNS:
        for descending in (False, True):
            calls.append(
                lambda s=sort, d=descending: queries.customer_window(
                    conn, sort=s, descending=d, offset=10, limit=20
                )
            )
    trees = [
        All((Condition("customer.country", "in", ("PL", "DE")),)),
        All((Condition("subscription.state", "in", ("grace", "cancelled")),)),
        AnyOf(
            (
                Condition("customer.mrr", "lt", 20),
                Not(Condition("customer.currency", "eq", "EUR")),
            )
        ),
        All(
            (
                Condition("customer.external_id", "is_set", None),
                Condition("customer.lifetime_transactions", "gt", 2),
            )
        ),
    ]
    calls += [lambda t=t: count(conn, Segment(where=t), NOW) for t in trees]
    for name in ("customer.country", "customer.currency", "subscription.state"):
        calls.append(lambda n=name: suggestions(conn, lookup(n)))
    calls.append(lambda: custom_keys(conn))
    return calls


def test_no_query_plan_names_an_index_schema9_drops(seeded_cache):
    dropped = _dropped()
    assert set(dropped) >= {"transactions_external", "customers_external_id"}
    cache = Cache(seeded_cache(60, 1))
    conn = cache.conn()
    with cache.transaction() as tx:  # as a schema-8 cache had them
        for sql in dropped.values():
            tx.execute(sql)
    calls = _reads(conn)  # its own look-ups of sample values are not traced
    seen: list[str] = []
    conn.set_trace_callback(seen.append)
    for call in calls:
        call()
    conn.set_trace_callback(None)
    used: dict[str, int] = {}
    explained = 0
    for sql in seen:
        if not re.match(r"\s*(WITH|SELECT|UPDATE|DELETE|INSERT)\b", sql, re.I):
            continue
        try:
            plan = conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
        except sqlite3.Error:
            continue  # a statement on a temporary table dropped since
        explained += 1
        for row in plan:
            for name in _INDEX.findall(row[3]):
                used[name] = used.get(name, 0) + 1
    assert explained > 50
    # The plans do name indexes (the check can see one in use) ...
    assert {"transactions_external_nocase", "customers_external_id_nocase"} <= set(used)
    assert "customers_email" in used and "customers_registered" in used
    # ... and none of those schema 9 drops.
    assert sorted(set(used) & set(dropped)) == []
    cache.close()

"""The segment facts on the team's PostgreSQL store: the same rows as storage.facts makes in
a SQLite cache (ISSUE15 1(c)).

The SQL is facts.py's own, spoken in PostgreSQL's terms: temporary tables live in ``pg_temp``
inside the caller's transaction (a pooled connection is only this thread's while it is
pinned, so they are dropped at commit), amounts are rounded half away from zero as SQLite
does, booleans are counted as 0/1 and NULLs sort as SQLite sorts them. PostgreSQL folds no
Unicode case as Python does, so the casefolded columns are written as they are and then folded
here, in Python, with ``str.casefold`` (exactly what SQLite's ``casefold`` function does); the
custom attributes' JSON is kept flattened to ``{key: casefolded value}`` so a condition reads
``->>`` and compares (segments.compile, ``custom_raw``).

Only a login that may write the facts (srm_sync, the store's owner) settles them; anyone else
meets ``FactsNotReady`` while they are not built or not up to date, never a stale count.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
from collections.abc import Callable, Iterable
from typing import Any

from srm_tui.storage import facts as F

_IN_REFRESH = "IN (SELECT customer_id FROM pg_temp.segment_refresh)"
FOLD_BATCH = 5000  # rows read and written back per step of the Python fold

_MRR_FACTOR_PG = re.sub(r"(\d+\.\d+)", r"CAST(\1 AS double precision)", F._MRR_FACTOR_SQL)
_ORDERED = (  # SQLite puts NULLs last when descending; PostgreSQL first unless told
    ("x.started_at DESC,", "x.started_at DESC NULLS LAST,"),
    ("x.created_at DESC,", "x.created_at DESC NULLS LAST,"),
    ("r.date DESC,", "r.date DESC NULLS LAST,"),
)
_FLAGS = (  # predicates summed as integers
    ("sum(status = 'active' AND in_trial)", "sum((status = 'active' AND in_trial <> 0)::int)"),
    ("status = 'active' AND in_trial THEN", "status = 'active' AND in_trial <> 0 THEN"),
    ("sum(status IN ('captured', 'refunded'))", "sum((status IN ('captured', 'refunded'))::int)"),
    *(
        (f"sum(status = '{s}')", f"sum((status = '{s}')::int)")
        for s in ("active", "paused", "terminated", "stopped")
    ),
)


def _pg(sql: str) -> str:
    sql = re.sub(
        r"CREATE INDEX IF NOT EXISTS temp\.(\w+) ON (\w+)",
        r"CREATE INDEX IF NOT EXISTS \1 ON pg_temp.\2",
        sql,
    )
    sql = re.sub(r"\btemp\.", "pg_temp.", sql)
    sql = sql.replace("casefold(", "(")  # folded afterwards, in Python
    sql = sql.replace("instr(", "strpos(")
    sql = sql.replace(F._MRR_FACTOR_SQL, _MRR_FACTOR_PG)
    for old, new in (*_ORDERED, *_FLAGS):
        sql = sql.replace(old, new)
    return sql


def _statements(chunk: bool) -> list[str]:
    return [_pg(sql) for sql in F._statements(chunk, m=F._pg_m)]


PG_SQL = {True: _statements(True), False: _statements(False)}
_SUB_INSERT = f"INSERT INTO {F.SUBSCRIPTION_TABLE} "

_TEMP_TABLES = (
    "CREATE TEMP TABLE IF NOT EXISTS segment_refresh (customer_id bigint PRIMARY KEY) "
    "ON COMMIT DROP",
    "CREATE TEMP TABLE IF NOT EXISTS segment_tx (customer_id bigint, subscription_id bigint, "
    'date bigint, id text COLLATE "C", status text COLLATE "C", revenue bigint, '
    'payment_method text COLLATE "C", rejected_reason text COLLATE "C") ON COMMIT DROP',
    "CREATE TEMP TABLE IF NOT EXISTS segment_pass (customer_id bigint, id bigint, "
    'offer_type text COLLATE "C", status text COLLATE "C", created_at bigint, '
    'expires_at bigint, offer_id text COLLATE "C") ON COMMIT DROP',
)


# folding in Python ------------------------------------------------------------------------

_json = threading.local()


def _json_conn() -> sqlite3.Connection:
    conn = getattr(_json, "conn", None)
    if conn is None:
        conn = sqlite3.connect(":memory:", check_same_thread=True)
        _json.conn = conn
    return conn


# SQLite's reading of one key, as segments.compile's custom_raw reads it on a SQLite cache.
_KEYS_SQL = (
    "SELECT j.key, CASE json_type(:d, '$.\"' || j.key || '\"') "
    "WHEN 'text' THEN :d ->> ('$.\"' || j.key || '\"') WHEN 'null' THEN NULL "
    "ELSE :d -> ('$.\"' || j.key || '\"') END "
    "FROM json_each(:d) j WHERE json_type(:d) = 'object'"
)


def custom_values(document: str | None) -> str | None:
    """A JSON object's top-level values as a flat ``{key: casefolded text}`` object (text as
    it is, any other value as its JSON text, null as null), read by SQLite itself so the text
    of a number or a nested object is the one a SQLite cache compares. Keys a condition
    cannot name (holding a quote or a backslash) are left out; a document that is no JSON
    object holds no custom values."""
    if document is None:
        return None
    out: dict[str, str | None] = {}
    try:
        rows = _json_conn().execute(_KEYS_SQL, {"d": document}).fetchall()
    except sqlite3.Error:  # not JSON: no condition can read a value from it
        return None
    for key, value in rows:
        key = str(key)
        if '"' in key or "\\" in key or key in out:
            continue
        out[key] = None if value is None else str(value).casefold()
    return json.dumps(out, ensure_ascii=False, separators=(",", ":"))


def _cf(value: Any) -> Any:
    return None if value is None else str(value).casefold()


def _fold(
    conn: Any,
    table: str,
    keys: tuple[str, ...],
    folded: tuple[str, ...],
    flattened: tuple[str, ...],
    chunk: bool,
    key_column: str,
) -> None:
    """Fold ``folded`` columns and flatten ``flattened`` JSON of ``table``'s rows (those of
    the customers being refreshed, or all), in key order, a batch at a time."""
    columns = keys + folded + flattened
    where = f"{key_column} {_IN_REFRESH}" if chunk else "TRUE"
    order = ", ".join(keys)
    after = " AND (" + ", ".join(keys) + ") > (" + ", ".join("?" for _ in keys) + ")"
    update = (
        f"UPDATE {table} SET "
        + ", ".join(f"{c} = ?" for c in folded + flattened)
        + " WHERE "
        + " AND ".join(f"{k} = ?" for k in keys)
    )
    last: tuple | None = None
    while True:
        sql = f"SELECT {', '.join(columns)} FROM {table} WHERE {where}"
        params: tuple = ()
        if last is not None:
            sql += after
            params = last
        rows = conn.execute(f"{sql} ORDER BY {order} LIMIT {FOLD_BATCH}", params).fetchall()
        if not rows:
            return
        changes = []
        n = len(keys)
        for row in rows:
            old = tuple(row[n:])
            new = tuple(_cf(v) for v in row[n : n + len(folded)]) + tuple(
                custom_values(v) for v in row[n + len(folded) :]
            )
            if new != old:
                changes.append((*new, *row[:n]))
        if changes:
            conn.executemany(update, changes)
        last = tuple(rows[-1][:n])
        if len(rows) < FOLD_BATCH:
            return


def _fold_subs(conn: Any, chunk: bool) -> None:
    _fold(
        conn,
        F.SUBSCRIPTION_TABLE,
        ("customer_id", "id"),
        ("offer_cf", "coupon_cf", "pm_cf"),
        ("props",),
        chunk,
        "customer_id",
    )


def _fold_text(conn: Any, chunk: bool) -> None:
    # s_offer_cf, s_coupon_cf, s_pm_cf and s_props are copies of the (folded) subscription row
    _fold(
        conn,
        F.TEXT_TABLE,
        ("id",),
        ("email_cf", "first_cf", "last_cf", "locale_cf", "ext_id_cf", "reject_cf", "lpm_cf"),
        ("external_data",),
        chunk,
        "id",
    )


# building ---------------------------------------------------------------------------------


def _temp_tables(conn: Any) -> None:
    for sql in _TEMP_TABLES:
        conn.execute(sql)


def _run(conn: Any, chunk: bool) -> None:
    conn.execute("DELETE FROM pg_temp.segment_tx")
    conn.execute("DELETE FROM pg_temp.segment_pass")
    for sql in PG_SQL[chunk]:
        if sql.lstrip().startswith("CREATE INDEX"):
            # the planner needs the temporary tables' sizes before it joins them
            conn.execute("ANALYZE pg_temp.segment_tx")
            conn.execute("ANALYZE pg_temp.segment_pass")
        conn.execute(sql)
        if sql.lstrip().startswith(_SUB_INSERT):
            _fold_subs(conn, chunk)
    _fold_text(conn, chunk)
    conn.execute("DELETE FROM pg_temp.segment_tx")
    conn.execute("DELETE FROM pg_temp.segment_pass")


class _Transaction:
    """The caller's transaction, or one of our own (temporary tables need one)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.own = not conn.in_transaction

    def __enter__(self) -> Any:
        if self.own:
            self.conn.execute("BEGIN")
        return self.conn

    def __exit__(self, kind: Any, *rest: Any) -> None:
        if self.own:
            self.conn.execute("COMMIT" if kind is None else "ROLLBACK")


def refresh_facts(conn: Any, customer_ids: Iterable[int]) -> int:
    """facts.refresh_facts on PostgreSQL (in the caller's transaction, or its own)."""
    ids = sorted({int(i) for i in customer_ids if i is not None})
    if not ids:
        return 0
    with _Transaction(conn):
        _temp_tables(conn)
        for start in range(0, len(ids), F.CHUNK):
            chunk = ids[start : start + F.CHUNK]
            conn.execute("DELETE FROM pg_temp.segment_refresh")
            conn.executemany(
                "INSERT INTO pg_temp.segment_refresh VALUES (?)", [(i,) for i in chunk]
            )
            conn.execute(f"DELETE FROM {F.SUBSCRIPTION_TABLE} WHERE customer_id {_IN_REFRESH}")
            conn.execute(
                f"DELETE FROM {F.SUBSCRIPTION_TABLE} WHERE id IN (SELECT id FROM "
                f"subscriptions WHERE customer_id {_IN_REFRESH})"
            )
            conn.execute(f"DELETE FROM {F.CUSTOMER_TABLE} WHERE id {_IN_REFRESH}")
            conn.execute(f"DELETE FROM {F.TEXT_TABLE} WHERE id {_IN_REFRESH}")
            conn.execute("ANALYZE pg_temp.segment_refresh")
            _run(conn, chunk=True)
            conn.execute(f"DELETE FROM {F.DIRTY_TABLE} WHERE customer_id {_IN_REFRESH}")
        conn.execute("DELETE FROM pg_temp.segment_refresh")
    return len(ids)


def rebuild_facts(conn: Any, progress: Callable[[int, int], None] | None = None) -> int:
    """facts.rebuild_facts on PostgreSQL: every customer's facts, in one transaction (readers
    keep seeing the previous facts until it commits)."""
    with _Transaction(conn):
        total = conn.execute("SELECT count(*) FROM customers").fetchone()[0]
        if progress:
            progress(0, total)
        for table in (F.SUBSCRIPTION_TABLE, F.CUSTOMER_TABLE, F.TEXT_TABLE):
            conn.execute(f"DELETE FROM {table}")
        _temp_tables(conn)
        _run(conn, chunk=False)
        conn.execute(f"DELETE FROM {F.DIRTY_TABLE}")
        conn.execute(
            "INSERT INTO meta (key, value) VALUES (?, '1') "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (F.BUILT_KEY,),
        )
        for table in (F.SUBSCRIPTION_TABLE, F.CUSTOMER_TABLE, F.TEXT_TABLE):
            conn.execute(f"ANALYZE {table}")
    if progress:
        progress(total, total)
    return total


def may_write_facts(conn: Any) -> bool:
    """Whether this login may settle the facts (srm_sync or the owner; not an agent or a
    viewer)."""
    store = getattr(conn, "_store", None)
    if getattr(store, "read_only", False):
        return False
    checks = [
        *(
            f"has_table_privilege('{t}', '{p}')"
            for t in (F.SUBSCRIPTION_TABLE, F.CUSTOMER_TABLE, F.TEXT_TABLE)
            for p in ("INSERT", "UPDATE", "DELETE")
        ),
        f"has_table_privilege('{F.DIRTY_TABLE}', 'DELETE')",
        "has_table_privilege('meta', 'INSERT')",
        "has_table_privilege('meta', 'UPDATE')",
    ]
    return bool(conn.execute("SELECT " + " AND ".join(checks)).fetchone()[0])


def ensure_facts(conn: Any, progress: Callable[[int, int], None] | None = None) -> int:
    """facts.ensure_facts on PostgreSQL: settle what is dirty (or rebuild) under the store's
    own lock, when this login may; else ``FactsNotReady`` until the team's sync has."""
    built, dirty = F.facts_state(conn)
    if built and not dirty:
        return 0
    if not may_write_facts(conn):
        raise F.FactsNotReady(
            "the team's segment facts are being built by srm sync"
            if not built
            else "the team's segment facts are being brought up to date by srm sync"
        )
    with _Transaction(conn):
        built, dirty = F.facts_state(conn)  # another writer may have settled them meanwhile
        if not built or dirty > max(F.CHUNK, F.FULL_REBUILD_SHARE * F._customers(conn)):
            return rebuild_facts(conn, progress)
        if not dirty:
            return 0
        ids = [r[0] for r in conn.execute(f"SELECT customer_id FROM {F.DIRTY_TABLE}")]
        return refresh_facts(conn, ids)

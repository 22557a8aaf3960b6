"""Per-customer and per-subscription facts, precomputed so a segment is one narrow scan.

(Over 400 lines: one projection whose SQL, upkeep and rebuild lease share private helpers.)

Nothing here depends on "now". Lifecycle states move with the clock, so instead of freezing
them the facts keep the dates that decide them (the earliest and latest end of the
customer's stopped and in-trial subscriptions, the latest end of its active passes) and the
compiler turns those into states at query time; the rare customer whose dates straddle "now"
is counted from its subscription rows.

Layout, chosen by measurement on a million customers (bench/bench_segments.py):

- ``segment_customer_facts``: one row per customer, columns most conditions read first; it
  also carries a copy of the customer's latest subscription (``s_*``), so the default
  selector needs no join; ``segment_customer_text`` holds the casefolded text beside it;
- ``segment_sub_facts``: one row per subscription, clustered by (customer_id, id), so the
  ``any`` selector and the other selectors read a customer's subscriptions from one page.

Keeping the facts in step with the cache:

- ``refresh_facts(conn, customer_ids)`` recomputes some customers inside the caller's
  transaction (the sync engine calls it with the customers a page touched);
- triggers on customers, subscriptions, passes and transactions note every other write
  (actions, anonymization, pruning) in ``segment_facts_dirty``, and ``ensure_facts`` settles
  those before a segment runs, rebuilding everything (in sequential passes over each table)
  when the facts were never built or most customers changed.

Money is held as integer micro-units (1e-6 of the major unit, half away from zero), so sums
are exact and ``customer.mrr eq 9.99`` means what it says.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable

from srm_tui.storage.cache import CacheError

BIG = 1 << 62  # "no end": later than any now
MICRO = 1_000_000
FULL_REBUILD_SHARE = 0.25  # more dirty customers than this share: rebuild all
CHUNK = 2000

CUSTOMER_TABLE = "segment_customer_facts"
TEXT_TABLE = "segment_customer_text"
SUBSCRIPTION_TABLE = "segment_sub_facts"
DIRTY_TABLE = "segment_facts_dirty"
BUILT_KEY = "segment_facts_built"

# The tables and triggers are created by storage.schema (migration V3). These are the
# subscription columns, in the order of segment_sub_facts after (customer_id, id); the
# customer facts carry the same ones for the latest subscription as s_<name>.
SUB_COLUMNS = (
    "status",
    "in_trial",
    "started_at",
    "expires_at",
    "period",
    "price",
    "currency",
    "channel",
    "renewals",
    "mrr",
    "revenue",
    "offer_key",
    "offer_cf",
    "coupon_cf",
    "pm_cf",
    "props",
)
# Column order matters: SQLite decodes a row's header up to the last column a query reads,
# so what conditions read most comes first, and text (long, read less) lives in its own
# table, joined only when a condition needs it.
CUSTOMER_COLUMNS = (
    "id",
    "country",
    "n_act",
    "stop_to_max",
    "apass_exp_max",
    "n_paused",
    "n_subs",
    "n_passes",
    "s_status",
    "s_expires_at",
    "s_in_trial",
    "last_login_at",
    "registered_at",
    "currency",
    "mrr_act",
    "trial_n",
    "trial_to_min",
    "trial_to_max",
    "mrr_trial",
    "s_channel",
    "s_period",
    "s_price",
    "s_mrr",
    "s_currency",
    "s_started_at",
    "s_renewals",
    "s_revenue",
    "s_offer_key",
    "n_term",
    "n_stopped",
    "stop_to_min",
    "ppass_exp_max",
    "revenue",
    "n_txn",
    "latest_sub",
    "top_rev_sub",
    "lp_id",
    "lp_offer",
    "lp_end",
)
TEXT_COLUMNS = (
    "id",
    "email_cf",
    "first_cf",
    "last_cf",
    "locale_cf",
    "ext_id_cf",
    "reject_cf",
    "lpm_cf",
    "s_offer_cf",
    "s_coupon_cf",
    "s_pm_cf",
    "external_data",
    "s_props",
)


class FactsNotReady(CacheError):
    """The team store's facts are not built (or not up to date) and this login may not
    settle them: the team's srm sync does (exit 1, one line; never a stale count)."""


def _on_postgres(conn: object) -> bool:
    return getattr(getattr(conn, "dialect", None), "name", "") == "postgres"


def casefold(value: object) -> str | None:
    """Unicode casefold for SQL (SQLite's lower() folds ASCII only)."""
    if value is None:
        return None
    return str(value).casefold()


def prepare(conn: sqlite3.Connection) -> sqlite3.Connection:
    """Register the functions segment SQL uses on a connection (idempotent, cheap). A
    PostgreSQL store's connection needs none (its facts are folded in Python)."""
    if _on_postgres(conn):
        return conn
    conn.create_function("casefold", 1, casefold, deterministic=True)
    return conn


def micros(amount: float | None) -> int | None:
    """Major units -> integer micro-units, rounding half away from zero (as SQLite's round)."""
    if amount is None:
        return None
    r = amount * MICRO
    return int(r + 0.5) if r >= 0 else -int(-r + 0.5)


def _m(expr: str) -> str:
    return f"CAST(round(({expr}) * {MICRO}) AS INTEGER)"


def _pg_m(expr: str) -> str:
    # PostgreSQL rounds a double half to even: half away from zero as SQLite and micros() do
    # (storage.db's round_int hook; the expression holds no parameter).
    x = f"(({expr}) * {MICRO})"
    return f"(trunc({x} + 0.5 * sign({x}))::bigint)"


_MRR_FACTOR_SQL = (
    "CASE s.period WHEN 'day' THEN 365.0 / 12 WHEN 'week' THEN 52.0 / 12 "
    "WHEN 'month' THEN 1.0 WHEN '3months' THEN 1.0 / 3 WHEN '6months' THEN 1.0 / 6 "
    "WHEN 'year' THEN 1.0 / 12 WHEN 'season' THEN 1.0 / 12 ELSE 0.0 END"
)


def _txn_revenue(m: Callable[[str], str]) -> str:
    return (
        f"CASE t.status WHEN 'captured' THEN {m('t.amount')} "
        f"WHEN 'refunded' THEN {m('t.amount - coalesce(t.refunded_amount, 0)')} "
        "ELSE 0 END"
    )


_TXN_REVENUE = _txn_revenue(_m)
MAIN_OFFER = "CASE WHEN instr({0}, '_') > 0 THEN substr({0}, 1, instr({0}, '_') - 1) ELSE {0} END"
_EMPTY_JSON = "CASE WHEN {0} IS NULL OR {0} IN ('{{}}', 'null') THEN NULL ELSE {0} END"
_IN_REFRESH = "IN (SELECT customer_id FROM temp.segment_refresh)"


def _where(column: str, chunk: bool, *more: str) -> str:
    terms = ([f"{column} {_IN_REFRESH}"] if chunk else []) + list(more)
    return ("WHERE " + " AND ".join(terms)) if terms else ""


def _statements(
    chunk: bool,
    sub: str = SUBSCRIPTION_TABLE,
    cust: str = CUSTOMER_TABLE,
    text: str = TEXT_TABLE,
    m: Callable[[str], str] = _m,
) -> list[str]:
    """The SQL that fills the facts, for the customers in temp.segment_refresh (``chunk``)
    or for everyone (each big table then read once, front to back), into the given tables
    (the cache's own, or the staging copies of a rebuild). ``m`` writes an amount in
    micro-units (storage.facts_pg passes PostgreSQL's)."""
    sub_cols = ", ".join(SUB_COLUMNS)
    staged = sub != SUBSCRIPTION_TABLE
    _m = m  # noqa: N806 - the SQL below reads as the module's own helper
    _TXN_REVENUE = _txn_revenue(m)  # noqa: N806
    return [
        # The transactions and passes (wide rows, the costly reads) once, into narrow
        # temporary tables that every fact below reads.
        f"""INSERT INTO temp.segment_tx (customer_id, subscription_id, date, id, status,
            revenue, payment_method, rejected_reason)
        SELECT t.customer_id, t.subscription_id, t.date, t.id, t.status, {_TXN_REVENUE},
            t.payment_method, t.rejected_reason
        FROM transactions t {_where("t.customer_id", chunk)}""",
        f"""INSERT INTO temp.segment_pass (customer_id, id, offer_type, status, created_at,
            expires_at, offer_id)
        SELECT customer_id, id, offer_type, status, created_at, expires_at, offer_id
        FROM passes {_where("customer_id", chunk)}""",
        "CREATE INDEX IF NOT EXISTS temp.segment_tx_customer ON segment_tx (customer_id, date, id)",
        "CREATE INDEX IF NOT EXISTS temp.segment_tx_subscription ON segment_tx (subscription_id)",
        "CREATE INDEX IF NOT EXISTS temp.segment_pass_customer ON segment_pass "
        "(customer_id, offer_type, created_at, id)",
        f"""INSERT INTO {sub} (customer_id, id, {sub_cols})
        SELECT s.customer_id, s.id, s.status, s.in_trial, s.created_at, s.date_to,
            s.period, {_m("s.price")}, upper(s.currency),
            CASE WHEN s.gateway IN ('apple', 'android', 'roku', 'amazon') THEN s.gateway
                 ELSE 'web' END,
            s.renewals,
            -- CONTRACT section 5: no period (neither the record's nor its offer's), no MRR.
            CASE WHEN s.period IS NULL THEN NULL
                 ELSE coalesce({_m(f"s.price * ({_MRR_FACTOR_SQL})")}, 0) END,
            coalesce((SELECT sum(r.revenue) FROM temp.segment_tx r
                      WHERE r.subscription_id = s.id AND r.customer_id = s.customer_id), 0),
            {MAIN_OFFER.format("s.offer_id")}, casefold(s.offer_id), casefold(s.coupon_code),
            casefold(s.payment_method), {_EMPTY_JSON.format("s.external_properties")}
        FROM subscriptions s {_where("s.customer_id", chunk)}
        ORDER BY s.customer_id, s.id""",
        *(
            [f"CREATE INDEX {sub}_customer ON {sub.split('.')[-1]} (customer_id, id)"]
            if staged
            else []
        ),
        _customer_sql(chunk, sub, cust),
        *([f"CREATE INDEX {cust}_id ON {cust.split('.')[-1]} (id)"] if staged else []),
        _text_sql(chunk, sub, cust, text),
    ]


def _insert(table: str, columns: tuple[str, ...], exprs: dict[str, str], rest: str) -> str:
    return (
        f"INSERT INTO {table} ({', '.join(columns)})\nSELECT "
        + ",\n    ".join(exprs[c] for c in columns)
        + "\n"
        + rest
    )


def _customer_sql(chunk: bool, sub: str = SUBSCRIPTION_TABLE, cust: str = CUSTOMER_TABLE) -> str:
    big = BIG
    exprs = {
        "id": "c.id",
        "country": "c.country",
        "currency": "c.currency",
        "registered_at": "c.registered_at",
        "last_login_at": "c.last_login_at",
        **{
            k: f"coalesce(a.{k}, 0)"
            for k in (
                "n_subs",
                "n_act",
                "n_paused",
                "n_term",
                "n_stopped",
                "trial_n",
                "mrr_act",
                "mrr_trial",
            )
        },
        **{k: f"a.{k}" for k in ("stop_to_min", "stop_to_max", "trial_to_min", "trial_to_max")},
        "n_passes": "coalesce(p.n_passes, 0)",
        "apass_exp_max": "p.apass",
        "ppass_exp_max": "p.ppass",
        "revenue": "coalesce(t.revenue, 0)",
        "n_txn": "coalesce(t.n_txn, 0)",
        "latest_sub": "ls.id",
        "top_rev_sub": (
            f"(SELECT x.id FROM {sub} x WHERE x.customer_id = c.id "
            "ORDER BY x.revenue DESC, x.id DESC LIMIT 1)"
        ),
        **{f"s_{col}": f"ls.{col}" for col in SUB_COLUMNS},
        "lp_id": "lp.id",
        "lp_offer": MAIN_OFFER.format("lp.offer_id"),
        "lp_end": "lp.expires_at",
    }
    return _insert(
        cust,
        CUSTOMER_COLUMNS,
        exprs,
        f"""FROM customers c
LEFT JOIN (
    SELECT customer_id, count(*) AS n_subs, sum(status = 'active') AS n_act,
        sum(status = 'paused') AS n_paused, sum(status = 'terminated') AS n_term,
        sum(status = 'stopped') AS n_stopped,
        min(CASE WHEN status = 'stopped' THEN coalesce(expires_at, {big}) END) AS stop_to_min,
        max(CASE WHEN status = 'stopped' THEN coalesce(expires_at, {big}) END) AS stop_to_max,
        sum(status = 'active' AND in_trial) AS trial_n,
        min(CASE WHEN status = 'active' AND in_trial THEN coalesce(expires_at, {big}) END)
            AS trial_to_min,
        max(CASE WHEN status = 'active' AND in_trial THEN coalesce(expires_at, {big}) END)
            AS trial_to_max,
        sum(CASE WHEN status = 'active' THEN mrr ELSE 0 END) AS mrr_act,
        sum(CASE WHEN status = 'active' AND in_trial THEN mrr ELSE 0 END) AS mrr_trial
    FROM {sub} {_where("customer_id", chunk)} GROUP BY customer_id
) a ON a.customer_id = c.id
LEFT JOIN (
    SELECT customer_id, count(*) AS n_passes,
        max(CASE WHEN status = 'active' THEN coalesce(expires_at, {big}) END) AS apass,
        max(CASE WHEN status = 'active' AND offer_type = 'P'
            THEN coalesce(expires_at, {big}) END) AS ppass
    FROM temp.segment_pass GROUP BY customer_id
) p ON p.customer_id = c.id
LEFT JOIN (
    SELECT customer_id, sum(revenue) AS revenue,
        sum(status IN ('captured', 'refunded')) AS n_txn
    FROM temp.segment_tx GROUP BY customer_id
) t ON t.customer_id = c.id
LEFT JOIN {sub} ls ON ls.customer_id = c.id AND ls.id = (
    SELECT x.id FROM {sub} x WHERE x.customer_id = c.id
    ORDER BY x.started_at DESC, x.id DESC LIMIT 1)
LEFT JOIN temp.segment_pass lp ON lp.customer_id = c.id AND lp.id = (
    SELECT x.id FROM temp.segment_pass x WHERE x.customer_id = c.id
    AND x.offer_type = 'P' ORDER BY x.created_at DESC, x.id DESC LIMIT 1)
{_where("c.id", chunk)}
ORDER BY c.id""",
    )


def _text_sql(
    chunk: bool, sub: str = SUBSCRIPTION_TABLE, cust: str = CUSTOMER_TABLE, text: str = TEXT_TABLE
) -> str:
    exprs = {
        "id": "c.id",
        "email_cf": "casefold(c.email)",
        "first_cf": "casefold(c.first_name)",
        "last_cf": "casefold(c.last_name)",
        "locale_cf": "casefold(c.locale)",
        "ext_id_cf": "casefold(c.external_id)",
        "reject_cf": (
            "casefold((SELECT r.rejected_reason FROM temp.segment_tx r "
            "WHERE r.customer_id = c.id AND r.status = 'rejected' "
            "ORDER BY r.date DESC, r.id DESC LIMIT 1))"
        ),
        "lpm_cf": (
            "casefold((SELECT r.payment_method FROM temp.segment_tx r "
            "WHERE r.customer_id = c.id AND r.payment_method IS NOT NULL "
            "AND r.payment_method != '' ORDER BY r.date DESC, r.id DESC LIMIT 1))"
        ),
        "s_offer_cf": "ls.offer_cf",
        "s_coupon_cf": "ls.coupon_cf",
        "s_pm_cf": "ls.pm_cf",
        "external_data": _EMPTY_JSON.format("c.external_data"),
        "s_props": "ls.props",
    }
    return _insert(
        text,
        TEXT_COLUMNS,
        exprs,
        f"""FROM customers c
JOIN {cust} h ON h.id = c.id
LEFT JOIN {sub} ls ON ls.customer_id = c.id AND ls.id = h.latest_sub
{_where("c.id", chunk)}
ORDER BY c.id""",
    )


STAGE = {
    SUBSCRIPTION_TABLE: "temp.segment_stage_sub",
    CUSTOMER_TABLE: "temp.segment_stage_customer",
    TEXT_TABLE: "temp.segment_stage_text",
}
_SQL = {True: _statements(True), False: _statements(False)}
_STAGED_SQL = _statements(
    False, STAGE[SUBSCRIPTION_TABLE], STAGE[CUSTOMER_TABLE], STAGE[TEXT_TABLE]
)


def _temp_tables(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS segment_refresh (customer_id INTEGER PRIMARY KEY)"
    )
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS segment_tx (customer_id INTEGER, "
        "subscription_id INTEGER, date INTEGER, id TEXT, status TEXT, "
        "revenue INTEGER, payment_method TEXT, rejected_reason TEXT)"
    )
    conn.execute(
        "CREATE TEMP TABLE IF NOT EXISTS segment_pass (customer_id INTEGER, "
        "id INTEGER, offer_type TEXT, status TEXT, created_at INTEGER, "
        "expires_at INTEGER, offer_id TEXT)"
    )


def _clear_temp(conn: sqlite3.Connection, drop_indexes: bool = False) -> None:
    conn.execute("DELETE FROM temp.segment_tx")
    conn.execute("DELETE FROM temp.segment_pass")
    if drop_indexes:  # a bulk load indexes once at the end, faster than row by row
        for name in ("segment_tx_customer", "segment_tx_subscription", "segment_pass_customer"):
            conn.execute(f"DROP INDEX IF EXISTS temp.{name}")


def _run(conn: sqlite3.Connection, chunk: bool) -> None:
    _clear_temp(conn, drop_indexes=not chunk)
    for sql in _SQL[chunk]:
        conn.execute(sql)
    _clear_temp(conn)


def refresh_facts(conn: sqlite3.Connection, customer_ids: Iterable[int]) -> int:
    """Recompute the facts of these customers, in the caller's transaction.

    Call it after writing a page of customers, subscriptions, passes or transactions, with
    the customer ids the page touched. A customer no longer in the cache loses its facts.
    Returns how many ids were refreshed.
    """
    if _on_postgres(conn):
        from srm_tui.storage import facts_pg

        return facts_pg.refresh_facts(conn, customer_ids)
    prepare(conn)
    ids = sorted({int(i) for i in customer_ids if i is not None})
    if not ids:
        return 0
    # A rebuild elsewhere will land its older snapshot of these customers over this
    # refresh: keep them marked, so they are settled again after it.
    keep_dirty = _lease(conn) is not None
    _temp_tables(conn)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        conn.execute("DELETE FROM temp.segment_refresh")
        conn.executemany("INSERT INTO temp.segment_refresh VALUES (?)", [(i,) for i in chunk])
        conn.execute(f"DELETE FROM {SUBSCRIPTION_TABLE} WHERE customer_id {_IN_REFRESH}")
        # A subscription that moved here from another customer (whose own refresh the
        # triggers have queued) leaves its old row.
        conn.execute(
            f"DELETE FROM {SUBSCRIPTION_TABLE} WHERE id IN (SELECT id FROM "
            f"subscriptions WHERE customer_id {_IN_REFRESH})"
        )
        conn.execute(f"DELETE FROM {CUSTOMER_TABLE} WHERE id {_IN_REFRESH}")
        conn.execute(f"DELETE FROM {TEXT_TABLE} WHERE id {_IN_REFRESH}")
        _run(conn, chunk=True)
        if keep_dirty:
            conn.execute(
                f"INSERT OR IGNORE INTO {DIRTY_TABLE} (customer_id) "
                "SELECT customer_id FROM temp.segment_refresh"
            )
        else:
            conn.execute(f"DELETE FROM {DIRTY_TABLE} WHERE customer_id {_IN_REFRESH}")
    conn.execute("DELETE FROM temp.segment_refresh")
    return len(ids)


def forget_customers(conn: sqlite3.Connection, customer_ids: Iterable[int]) -> None:
    """Drop every fact derived from these customers now, in the caller's transaction (the
    anonymization calls this: the facts hold casefolded names and emails); they are
    computed again from the rows as they are before the next segment runs."""
    for cid in {int(i) for i in customer_ids}:
        for table, key in (
            (CUSTOMER_TABLE, "id"),
            (TEXT_TABLE, "id"),
            (SUBSCRIPTION_TABLE, "customer_id"),
        ):
            conn.execute(f"DELETE FROM {table} WHERE {key} = ?", (cid,))
        conn.execute(
            f"INSERT INTO {DIRTY_TABLE} (customer_id) SELECT ? WHERE NOT EXISTS "
            f"(SELECT 1 FROM {DIRTY_TABLE} WHERE customer_id = ?)",
            (cid, cid),
        )


def rebuild_facts(
    conn: sqlite3.Connection, progress: Callable[[int, int], None] | None = None
) -> int:
    """Recompute every customer's facts (in the caller's transaction).

    Each source table is read once from front to back, which on a cold million-customer
    cache is many times faster than looking customers up one range at a time.
    """
    if _on_postgres(conn):
        from srm_tui.storage import facts_pg

        return facts_pg.rebuild_facts(conn, progress)
    prepare(conn)
    total = conn.execute("SELECT count(*) FROM customers").fetchone()[0]
    if progress:
        progress(0, total)
    for table in (SUBSCRIPTION_TABLE, CUSTOMER_TABLE, TEXT_TABLE):
        conn.execute(f"DELETE FROM {table}")
    _temp_tables(conn)
    _run(conn, chunk=False)
    conn.execute(f"DELETE FROM {DIRTY_TABLE}")
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, '1') "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (BUILT_KEY,),
    )
    if progress:
        progress(total, total)
    return total


def facts_state(conn: sqlite3.Connection) -> tuple[bool, int]:
    """(built at least once, customers waiting for a refresh)."""
    built = conn.execute("SELECT value FROM meta WHERE key = ?", (BUILT_KEY,)).fetchone()
    dirty = conn.execute(f"SELECT count(*) FROM {DIRTY_TABLE}").fetchone()[0]
    return built is not None, dirty


REBUILD_LEASE = "segment_facts_rebuild"  # meta key: "pid host started" while one runs
COPY_BATCH = 20_000  # customers per write transaction when a rebuild lands
LEASE_STALE_SECONDS = 3600


def ensure_facts(
    conn: sqlite3.Connection, progress: Callable[[int, int], None] | None = None
) -> int:
    """Bring the facts up to date before a segment runs; returns customers recomputed.

    Cheap when nothing changed (two indexed reads). Inside the caller's transaction it does
    the work there; on its own it never holds the write lock for long, so a console, a sync
    and a scheduled export can share the cache (issue 7): dirty customers are settled
    ``CHUNK`` at a time, each chunk in its own short transaction, and a full rebuild reads a
    snapshot into staging tables without any lock, then lands them ``COPY_BATCH`` customers
    per transaction.
    """
    if _on_postgres(conn):
        from srm_tui.storage import facts_pg

        return facts_pg.ensure_facts(conn, progress)
    built, dirty = facts_state(conn)
    if built and not dirty:
        return 0
    if conn.in_transaction:
        return _settle_in_transaction(conn, progress)
    done = 0
    budget: int | None = None  # dirty customers to settle: those there when settling began
    while True:
        _wait_for_other_rebuild(conn)
        conn.execute("BEGIN IMMEDIATE")
        try:
            built, dirty = facts_state(conn)  # another connection may have settled them
            if _lease(conn) is not None:  # someone took the lease meanwhile: wait for it
                conn.execute("COMMIT")
                continue
            if not built or dirty > max(CHUNK, FULL_REBUILD_SHARE * _customers(conn)):
                _take_lease(conn)
                conn.execute("COMMIT")
                done += _rebuild_without_blocking(conn, progress)
                continue  # writes made during the rebuild are dirty again: settle them
            if budget is None:
                budget = dirty
            if not dirty or budget <= 0:
                # Writes that landed while we settled are for the next run: chasing them
                # could go on as long as another process keeps writing.
                conn.execute("COMMIT")
                return done
            ids = [
                r[0]
                for r in conn.execute(
                    f"SELECT customer_id FROM {DIRTY_TABLE} LIMIT ?", (min(CHUNK, budget),)
                )
            ]
            budget -= len(ids)
            done += refresh_facts(conn, ids)
            conn.execute("COMMIT")
            if progress:
                progress(done, done + max(dirty - len(ids), 0))
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


def _settle_in_transaction(
    conn: sqlite3.Connection, progress: Callable[[int, int], None] | None
) -> int:
    built, dirty = facts_state(conn)
    if not built or dirty > max(CHUNK, FULL_REBUILD_SHARE * _customers(conn)):
        return rebuild_facts(conn, progress)
    if dirty:
        return refresh_facts(
            conn, [r[0] for r in conn.execute(f"SELECT customer_id FROM {DIRTY_TABLE}")]
        )
    return 0


def _lease(conn: sqlite3.Connection) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (REBUILD_LEASE,)).fetchone()
    return row[0] if row else None


def _take_lease(conn: sqlite3.Connection) -> None:
    """In the caller's write transaction: the facts are no longer trusted (built is unset),
    the dirty list is emptied (the rebuild's snapshot covers it), and this process holds the
    lease. A crash anywhere after this leaves "not built": the next run rebuilds again."""
    import os
    import socket
    import threading
    import time

    conn.execute("DELETE FROM meta WHERE key = ?", (BUILT_KEY,))
    conn.execute(f"DELETE FROM {DIRTY_TABLE}")
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE "
        "SET value = excluded.value",
        (
            REBUILD_LEASE,
            f"{os.getpid()} {threading.get_ident()} {socket.gethostname()} {int(time.time())}",
        ),
    )


def _lease_alive(value: str) -> bool:
    import os
    import socket
    import threading
    import time

    try:
        pid, tid, host, started = value.split(" ")
        pid_n, tid_n, started_n = int(pid), int(tid), int(started)
    except ValueError:
        return False
    if time.time() - started_n > LEASE_STALE_SECONDS:
        return False
    if host != socket.gethostname():
        return True  # cannot tell; trust it until it goes stale
    if pid_n == os.getpid():  # another thread of ours rebuilds, or this one was interrupted
        return tid_n != threading.get_ident() and any(
            t.ident == tid_n for t in threading.enumerate()
        )
    try:
        os.kill(pid_n, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wait_for_other_rebuild(conn: sqlite3.Connection) -> None:
    """Another process is rebuilding: wait for it (reads, no lock), or clear a dead lease."""
    import time

    while (value := _lease(conn)) is not None:
        if not _lease_alive(value):
            conn.execute("BEGIN IMMEDIATE")
            if _lease(conn) == value:
                conn.execute("DELETE FROM meta WHERE key = ?", (REBUILD_LEASE,))
            conn.execute("COMMIT")
            return
        time.sleep(0.2)


def _rebuild_without_blocking(
    conn: sqlite3.Connection, progress: Callable[[int, int], None] | None
) -> int:
    """Recompute every customer's facts from one snapshot, holding the write lock only for
    short batches. The caller holds the lease (and the facts read as "not built")."""
    prepare(conn)
    total = conn.execute("SELECT count(*) FROM customers").fetchone()[0]
    if progress:
        progress(0, total)
    _temp_tables(conn)
    try:
        for main, staged in STAGE.items():
            name = staged.split(".")[-1]
            conn.execute(f"DROP TABLE IF EXISTS {staged}")
            conn.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM main.{main} WHERE 0")
        conn.execute("BEGIN")  # one read snapshot for every statement; no write lock
        try:
            _clear_temp(conn, drop_indexes=True)
            for sql in _STAGED_SQL:
                conn.execute(sql)
            _clear_temp(conn)
        finally:
            conn.execute("COMMIT")  # temp tables only: the cache itself was only read
        ids = [r[0] for r in conn.execute(f"SELECT id FROM {STAGE[CUSTOMER_TABLE]} ORDER BY id")]
        bounds = [-(1 << 63)] + ids[COPY_BATCH::COPY_BATCH] + [(1 << 63) - 1]
        landed = 0
        for lo, hi in zip(bounds, bounds[1:]):
            last = hi == bounds[-1]
            cmp = "<=" if last else "<"
            conn.execute("BEGIN IMMEDIATE")
            try:
                sub, cust, text = (
                    STAGE[SUBSCRIPTION_TABLE],
                    STAGE[CUSTOMER_TABLE],
                    STAGE[TEXT_TABLE],
                )
                rng = f">= ? AND {{0}} {cmp} ?"
                conn.execute(
                    f"DELETE FROM {SUBSCRIPTION_TABLE} WHERE customer_id "
                    + rng.format("customer_id"),
                    (lo, hi),
                )
                # a subscription that moved to a customer in this batch from one in a later one
                conn.execute(
                    f"DELETE FROM {SUBSCRIPTION_TABLE} WHERE id IN (SELECT id FROM "
                    f"{sub} WHERE customer_id " + rng.format("customer_id") + ")",
                    (lo, hi),
                )
                conn.execute(f"DELETE FROM {CUSTOMER_TABLE} WHERE id " + rng.format("id"), (lo, hi))
                conn.execute(f"DELETE FROM {TEXT_TABLE} WHERE id " + rng.format("id"), (lo, hi))
                conn.execute(
                    f"INSERT INTO {SUBSCRIPTION_TABLE} SELECT * FROM {sub} "
                    f"WHERE customer_id " + rng.format("customer_id") + " ORDER BY customer_id, id",
                    (lo, hi),
                )
                cur = conn.execute(
                    f"INSERT INTO {CUSTOMER_TABLE} SELECT * FROM {cust} "
                    f"WHERE id " + rng.format("id") + " ORDER BY id",
                    (lo, hi),
                )
                landed += max(cur.rowcount, 0)
                conn.execute(
                    f"INSERT INTO {TEXT_TABLE} SELECT * FROM {text} "
                    f"WHERE id " + rng.format("id") + " ORDER BY id",
                    (lo, hi),
                )
                if last:
                    conn.execute(
                        "INSERT INTO meta (key, value) VALUES (?, '1') ON CONFLICT(key) "
                        "DO UPDATE SET value = excluded.value",
                        (BUILT_KEY,),
                    )
                    conn.execute("DELETE FROM meta WHERE key = ?", (REBUILD_LEASE,))
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            if progress:
                progress(landed, total)
        return landed
    finally:
        for staged in STAGE.values():
            conn.execute(f"DROP TABLE IF EXISTS {staged}")


def _customers(conn: sqlite3.Connection) -> int:
    return conn.execute(f"SELECT count(*) FROM {CUSTOMER_TABLE}").fetchone()[0]

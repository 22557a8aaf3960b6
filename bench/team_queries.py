"""The queries of the team-store benchmark: srm search terms drawn from random customers (the
query classes of bench_search.py), the raw SQL answering each on PostgreSQL and on SQLite, and
the 5-condition segment trees of bench_segments.py with their hand-written SQL."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.bench_segments import CUSTOMER_FIVE, FIVE, RAW
from srm_tui.storage.pg.search import phrase_query, tokens

CLASSES = (
    "prefix",
    "multi-term",
    "customer id",
    "email",
    "transaction id",
    "country code",
    "state",
)


def _sample(conn: Any, n: int, pg: bool) -> list[Any]:
    total = conn.execute("SELECT count(*) FROM customers").fetchone()[0]
    cols = "id, email, last_name, country, state"
    where = "email IS NOT NULL AND last_name IS NOT NULL AND length(last_name) >= 3"
    if pg:
        # a share of the table's pages, then a random pick among their rows (no full sort)
        share = min(100.0, 100.0 * n * 40 / max(total, 1))
        sql = (
            f"SELECT {cols} FROM customers TABLESAMPLE SYSTEM ({share}) REPEATABLE (1) "
            f"WHERE {where} ORDER BY md5(id::text) LIMIT {n}"
        )
    else:
        sql = f"SELECT {cols} FROM customers WHERE {where} ORDER BY (id * 7919) % 1000003 LIMIT {n}"
    return conn.execute(sql).fetchall()


def queries_for(conn: Any, n: int, pg: bool) -> dict[str, list[str]]:
    """Up to ``n`` distinct srm queries per class, from random customers of the store."""
    rng = random.Random(1)
    rows = _sample(conn, n, pg)
    rng.shuffle(rows)
    cases: dict[str, list[str]] = {c: [] for c in CLASSES}
    for r in rows:
        cid, email, last, country, state = r[0], r[1], r[2], r[3], r[4]
        prefix = last[:3].lower()
        cases["prefix"].append(prefix)
        cases["multi-term"].append(f"{prefix} {email[:2].lower()}")
        cases["customer id"].append(str(cid))
        cases["email"].append(email)
        if country:
            cases["country code"].append(country)
        if state and state.isascii() and state.isalpha():
            cases["state"].append(f"state:{state}")
    # Drawn from the transactions themselves: where the disk allowed them for a share of the
    # clones only (team_build.HEAVY), a random customer often has none. Only ids of the
    # vendor's shape (T and 9 digits, CONTRACT section 3): a clone's moved id has more
    # digits, which srm rightly does not take for a transaction id (it found nothing).
    cases["transaction id"] = [r[0] for r in _sample_transactions(conn, n, pg)]
    return {k: v for k, v in cases.items() if v}


def _sample_transactions(conn: Any, n: int, pg: bool) -> list[Any]:
    if pg:
        total = conn.execute("SELECT count(*) FROM transactions").fetchone()[0]
        vendor = conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM transactions TABLESAMPLE SYSTEM (1) "
            "REPEATABLE (1) WHERE id ~ '^T[0-9]{9}$') x"
        ).fetchone()[0]
        sampled = conn.execute(
            "SELECT count(*) FROM transactions TABLESAMPLE SYSTEM (1) REPEATABLE (1)"
        ).fetchone()[0]
        rate = max(vendor, 1) / max(sampled, 1)  # the share of vendor-shaped ids
        share = min(100.0, 100.0 * n * 40 / max(total * rate, 1))
        sql = (
            f"SELECT id FROM transactions TABLESAMPLE SYSTEM ({share}) REPEATABLE (1) "
            f"WHERE id ~ '^T[0-9]{{9}}$' ORDER BY md5(id) LIMIT {n}"
        )
    else:
        sql = (
            "SELECT id FROM transactions WHERE length(id) = 10 "
            f"ORDER BY (customer_id * 7919) % 1000003, id LIMIT {n}"
        )
    return conn.execute(sql).fetchall()


def _words(q: str) -> list[list[str]]:
    return [tokens(part) for part in q.split()]


def pg_raw_cases(raw: Any, cases: dict[str, list[str]]) -> dict[str, tuple[Callable, list]]:
    """Per class: (function of one argument, its arguments) running the one raw statement
    the server needs for each query (psycopg, no srm in between)."""
    doc = (
        "SELECT c.id FROM customers c WHERE c.id IN (SELECT id FROM customer_search "
        "WHERE doc @@ %s::tsquery) ORDER BY c.id LIMIT 50"
    )

    def run(sql: str) -> Callable:
        return lambda a: raw.execute(sql, a).fetchall()

    def tsq(q: str) -> tuple:
        return (" & ".join(f"({phrase_query(w)})" for w in _words(q) if w),)

    out: dict[str, tuple[Callable, list]] = {}
    for name, qs in cases.items():
        if name in ("prefix", "multi-term"):
            out[name] = (run(doc), [tsq(q) for q in qs])
        elif name == "customer id":
            out[name] = (run("SELECT id FROM customers WHERE id = %s"), [(int(q),) for q in qs])
        elif name == "email":
            sql = "SELECT id FROM customers WHERE email_lc = %s"
            out[name] = (run(sql), [(q.casefold(),) for q in qs])
        elif name == "transaction id":
            out[name] = (
                run("SELECT customer_id FROM transactions WHERE id = %s"),
                [(q,) for q in qs],
            )
        elif name == "country code":
            sql = "SELECT id FROM customers WHERE country = %s ORDER BY id LIMIT 50"
            out[name] = (run(sql), [(q,) for q in qs])
        elif name == "state":
            sql = (
                "SELECT c.id FROM customers c WHERE c.id IN (SELECT id FROM customer_search "
                "WHERE state_words = %s) ORDER BY c.id LIMIT 50"
            )
            out[name] = (run(sql), [(q.split(":", 1)[1].lower(),) for q in qs])
    return out


def sqlite_raw_cases(raw: Any, cases: dict[str, list[str]]) -> dict[str, tuple[Callable, list]]:
    """The same on SQLite: the FTS5 MATCH or the indexed lookup bench_search.py times."""
    fts = (
        "SELECT c.id FROM customers c WHERE c.id IN (SELECT rowid FROM customers_fts "
        "WHERE customers_fts MATCH ?) ORDER BY c.id LIMIT 50"
    )

    def run(sql: str) -> Callable:
        return lambda a: raw.execute(sql, a).fetchall()

    def match(q: str) -> tuple:
        return (" AND ".join(f'"{" ".join(w)}"*' for w in _words(q) if w),)

    out: dict[str, tuple[Callable, list]] = {}
    for name, qs in cases.items():
        if name in ("prefix", "multi-term"):
            out[name] = (run(fts), [match(q) for q in qs])
        elif name == "customer id":
            out[name] = (run("SELECT id FROM customers WHERE id = ?"), [(int(q),) for q in qs])
        elif name == "email":
            sql = "SELECT id FROM customers WHERE email_lc = ?"
            out[name] = (run(sql), [(q.casefold(),) for q in qs])
        elif name == "transaction id":
            out[name] = (
                run("SELECT customer_id FROM transactions WHERE id = ?"),
                [(q,) for q in qs],
            )
        elif name == "country code":
            sql = "SELECT id FROM customers WHERE country = ? ORDER BY id LIMIT 50"
            out[name] = (run(sql), [(q,) for q in qs])
        elif name == "state":
            sql = "SELECT id FROM customers WHERE state = ? ORDER BY id LIMIT 50"
            out[name] = (run(sql), [(q.split(":", 1)[1],) for q in qs])
    return out


@dataclass(frozen=True)
class HandSql:
    """One hand-written count in both dialects (named parameters now, login, reg)."""

    sqlite: str
    pg: str


def _to_pg(sql: str) -> str:
    # bench_segments' SQL is SQLite's: PostgreSQL wants its parameters as %(name)s, integer
    # flags compared, round() of numeric, and right() for a suffix.
    for name in ("now", "login", "reg"):
        sql = sql.replace(f":{name}", f"%({name})s")
    return (
        sql.replace("WHEN s.in_trial THEN", "WHEN s.in_trial <> 0 THEN")
        .replace("NOT (x.in_trial AND", "NOT (x.in_trial <> 0 AND")
        .replace(", 0), 6)", ", 0)::numeric, 6)")
        .replace("substr(c.email_lc, -4)", "right(c.email_lc, 4)")
    )


def segment_cases() -> list[tuple[str, dict, HandSql]]:
    """(label, tree, hand SQL) of the two 5-condition segments."""
    return [
        (
            "5 customer conditions",
            {"all": CUSTOMER_FIVE},
            HandSql(RAW[("5c", "latest")], _to_pg(RAW[("5c", "latest")])),
        ),
        (
            "5 conditions (subscription + customer), latest",
            {"all": FIVE},
            HandSql(RAW[(5, "latest")], _to_pg(RAW[(5, "latest")])),
        ),
    ]


def plans(raw: Any, cases: dict[str, list[str]], params: dict[str, int]) -> dict[str, str]:
    """EXPLAIN ANALYZE of the raw prefix search and the 5-condition hand SQL on the server
    (where the time goes, for the closing note)."""
    out = {}
    pg = pg_raw_cases(raw, {"prefix": cases["prefix"][:1]})
    sql = (
        "SELECT c.id FROM customers c WHERE c.id IN (SELECT id FROM customer_search "
        "WHERE doc @@ %s::tsquery) ORDER BY c.id LIMIT 50"
    )
    for name, (query, args) in {
        "prefix": (sql, pg["prefix"][1][0]),
        "5 conditions, latest": (segment_cases()[1][2].pg, params),
    }.items():
        rows = raw.execute(f"EXPLAIN (ANALYZE, BUFFERS) {query}", args).fetchall()
        out[name] = "\n".join(r[0] for r in rows)
    return out

"""Building the team-store benchmark's data (over 400 lines: the PostgreSQL and the SQLite
builds share the cloning SQL, so they stay together): a throwaway PostgreSQL cluster, the base set seeded
once into SQLite, `srm team migrate`d into the store, then grown by cloning in SQL.

A clone ``k`` of the base set is every base customer with its id moved by ``k`` times the id
span (the next power of ten above the largest id, per table), its email's local part given a
``.c<k>`` suffix (so emails stay unique), its last name a syllable in front (so a surname's
prefix matches a share of the clones, not all of them), its external id and order ids a
``-c<k>`` suffix; children (subscriptions, passes, transactions, payment details, emails,
history) are cloned with the same offsets. Stored payloads (``raw``) are copied as they are:
their bytes are real, but inside they still name the base customer (the console's account
view of a clone shows the base customer's record). Vendor notes, srm's own tables and the
catalogue are not cloned. Search documents of the clones are made by srm's own builder
(storage.pg.search.search_rows on PostgreSQL, records.index_customers on SQLite). Segment facts:
on SQLite by srm's own code; on PostgreSQL the base set's by srm's rebuild, and each clone's are
the base's facts moved by the same offsets (``clone_facts_sql``: the folded email, last name and
external id get the clone's changes), which is what srm computes for a full clone; a check
(``check_cloned_facts``) has srm's refresh recompute a sample of a full clone and compares
column by column. On PostgreSQL the clones are written with the store's triggers off
(session_replication_role) and without the secondary indexes, which are built once at the end
(``drop_indexes`` / ``build_indexes``): the bench measures the store, not how it was filled.
Every step commits as it goes and a second run with the same work directory skips what the
first committed (bench_team.py's --workdir), so a build of hours survives being killed.
"""

from __future__ import annotations

import atexit
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from pgcluster import PgCluster  # noqa: E402

# Called with the seconds of each committed part of a long step (a resumable run adds them).
Tick = Callable[[float], None] | None

CHILDREN = ("subscriptions", "passes", "transactions", "payment_details", "emails", "history")
# More than half of a customer's bytes, and read by neither the search classes' text nor the
# 5-condition segments: at a size the disk cannot hold they are cloned for the first clones only.
HEAVY = ("transactions", "emails", "history")
# Segment facts per customer on PostgreSQL (measured: the three facts tables at 20,000).
FACTS_BYTES = 1200
SLACK = 1.3  # WAL, index growth during the inserts, VACUUM's work
SYLLABLES = (
    "Ka Lo Mi Ne Ru Sa Te Vo Za Bi Da Fe Gu Ho Ji Ku La Mo Na Po Ri Si Tu Va Xe Yo Ze"
).split()


def say(line: str) -> None:
    """A progress line, with the wall clock (the build runs for long)."""
    print(f"[{time.strftime('%H:%M:%S')}] {line}", flush=True)


# -- the cluster -------------------------------------------------------------------------------


def start_cluster(workdir: Path, keep: bool, root: Path | None = None) -> PgCluster:
    """A throwaway cluster as the tests start one (socket only, durability off); with ``keep``
    it outlives this process (its directory and the command to stop it are printed); with
    ``root`` it lives there and survives a killed run (started again on the next one)."""
    cluster = PgCluster.start(workdir, root=root)
    if root is not None:
        stop = " ".join(cluster._command("pg_ctl", "-D", str(cluster.data), "stop"))
        say(f"the cluster lives in {cluster.root}; stop it with: {stop}")
    elif keep:
        atexit.unregister(cluster.stop)
        if cluster._watchdog is not None:  # it would stop the server once we are gone
            cluster._watchdog.kill()
            cluster._watchdog.wait()
            cluster._watchdog = None
        stop = " ".join(cluster._command("pg_ctl", "-D", str(cluster.data), "stop"))
        say(f"--keep: the cluster stays in {cluster.root}; stop it with: {stop}")
    return cluster


# -- cloning SQL, one dialect or the other -----------------------------------------------------


def _span(value: int) -> int:
    return 10 ** len(str(max(int(value or 0), 1)))


def spans(execute: Any) -> dict[str, int]:
    """Id offsets per table (a power of ten above the largest base id), read once before any
    clone exists."""
    out = {"customers": _span(execute("SELECT max(id) FROM customers"))}
    for table in CHILDREN:
        if table == "transactions":
            # ids are "T" and digits: the digits are offset
            length = execute("SELECT max(length(id)) FROM transactions") or 2
            out[table] = 10 ** (int(length) - 1)
        else:
            out[table] = _span(execute(f"SELECT max(id) FROM {table}"))
    return out


def _email(col: str, k: int, pg: bool) -> str:
    at = f"strpos({col}, '@')" if pg else f"instr({col}, '@')"
    return (
        f"CASE WHEN {at} > 0 THEN substr({col}, 1, {at} - 1) || '.c{k}' || substr({col}, {at}) "
        f"ELSE {col} END"
    )


def _txn_id(k: int, span: int, pg: bool) -> str:
    off = k * span
    if pg:
        return (
            f"CASE WHEN id ~ '^T[0-9]+$' THEN 'T' || (substr(id, 2)::bigint + {off})::text "
            f"ELSE id || '-c{k}' END"
        )
    return (
        f"CASE WHEN id GLOB 'T[0-9]*' AND NOT substr(id, 2) GLOB '*[^0-9]*' "
        f"THEN 'T' || (CAST(substr(id, 2) AS INTEGER) + {off}) ELSE id || '-c{k}' END"
    )


def clone_sql(
    table: str, columns: list[str], k: int, sp: dict[str, int], cutoff: int, pg: bool
) -> str:
    """INSERT … SELECT of clone ``k`` of the base rows of ``table`` whose customer id is at most
    ``cutoff`` (the base set lies below the customers' span)."""
    oc = k * sp["customers"]
    expr = {c: c for c in columns}
    if table == "customers":
        expr.update(
            id=f"id + {oc}",
            email=_email("email", k, pg),
            email_lc=_email("email_lc", k, pg),
            last_name=f"'{SYLLABLES[(k - 1) % len(SYLLABLES)]}' || last_name",
            external_id=f"external_id || '-c{k}'",
        )
        where = f"id <= {cutoff}"
    else:
        expr["customer_id"] = f"customer_id + {oc}"
        expr["id"] = (
            _txn_id(k, sp[table], pg) if table == "transactions" else f"id + {k * sp[table]}"
        )
        if table == "transactions":
            expr.update(
                subscription_id=f"subscription_id + {k * sp['subscriptions']}",
                pass_id=f"pass_id + {k * sp['passes']}",
                external_payment_id=f"external_payment_id || '-c{k}'",
            )
        where = f"customer_id <= {cutoff}"
    cols = ", ".join(columns)
    select = ", ".join(expr[c] for c in columns)
    return f"INSERT INTO {table} ({cols}) SELECT {select} FROM {table} WHERE {where}"


# The segment facts tables (storage/facts.py's CUSTOMER_TABLE, TEXT_TABLE, SUBSCRIPTION_TABLE).
FACTS_TABLES = ("segment_customer_facts", "segment_customer_text", "segment_sub_facts")


def clone_facts_sql(table: str, columns: list[str], k: int, sp: dict[str, int], cutoff: int) -> str:
    """INSERT … SELECT of clone ``k``'s segment facts from the base customers' (PostgreSQL):
    the ids moved as clone_sql moves them, and the folded text changed as clone_sql changes
    the customer (casefold of the clone's value is the base's folded value changed the same
    way: the suffixes and the syllable are ASCII lower case once folded)."""
    oc = k * sp["customers"]
    subs, passes = k * sp["subscriptions"], k * sp["passes"]
    expr = {c: c for c in columns}
    if table == "segment_customer_facts":
        expr.update(
            id=f"id + {oc}",
            latest_sub=f"latest_sub + {subs}",
            top_rev_sub=f"top_rev_sub + {subs}",
            lp_id=f"lp_id + {passes}",
        )
        where = f"id <= {cutoff}"
    elif table == "segment_customer_text":
        expr.update(
            id=f"id + {oc}",
            email_cf=_email("email_cf", k, pg=True),
            last_cf=f"'{SYLLABLES[(k - 1) % len(SYLLABLES)].lower()}' || last_cf",
            ext_id_cf=f"ext_id_cf || '-c{k}'",
        )
        where = f"id <= {cutoff}"
    else:
        expr.update(customer_id=f"customer_id + {oc}", id=f"id + {subs}")
        where = f"customer_id <= {cutoff}"
    cols = ", ".join(columns)
    select = ", ".join(expr[c] for c in columns)
    return f"INSERT INTO {table} ({cols}) SELECT {select} FROM {table} WHERE {where}"


def plan(base_ids: list[int], target: int) -> list[tuple[int, int]]:
    """(clone number, last base id it copies) for the clones that bring ``len(base_ids)``
    customers to ``target``; the last clone may copy only the first ones."""
    n = len(base_ids)
    out, have, k = [], n, 1
    while have < target:
        take = min(n, target - have)
        out.append((k, base_ids[take - 1]))
        have += take
        k += 1
    return out


# -- PostgreSQL --------------------------------------------------------------------------------


def heavy_clones(
    base: dict[str, Any], target: int, free_bytes: int, other_bytes: int
) -> tuple[int, dict[str, Any]]:
    """How many clones get the HEAVY children, so that the store at ``target`` customers fits
    in ``free_bytes`` (less ``other_bytes`` for the rest of the run and a 10 % reserve), from
    the migrated base set's sizes (``pg_sizes``); and the estimate it used."""
    n = max(base["customers"], 1)
    heavy = sum(base["largest_tables_bytes"].get(t, 0) for t in HEAVY) / n
    light = base["bytes_per_customer"] - heavy + FACTS_BYTES
    budget = free_bytes * 0.9 - other_bytes
    full = (light + heavy) * target * SLACK
    clones = max(0, -(-target // n) - 1)
    if full <= budget:
        allowed = clones
    else:
        allowed = max(0, int((budget - light * target * SLACK) // (heavy * n * SLACK)))
    estimate = {
        "light_bytes_per_customer": round(light),
        "heavy_bytes_per_customer": round(heavy),
        "full_store_estimate_bytes": round(full),
        "disk_free_bytes": free_bytes,
        "heavy_clones": min(allowed, clones),
        "clones": clones,
    }
    return min(allowed, clones), estimate


def spans_pg(url: str) -> dict[str, int]:
    """The id spans of the migrated base set, read once before any clone exists (a resumed
    run takes them from its state: read again they would cover the clones)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return spans(lambda sql: conn.execute(sql).fetchone()[0])


def _clone_layout(conn: Any, sp: dict[str, int]) -> tuple[list[int], dict[str, list[str]]]:
    """The base set's ids (those below the customers' span) and each cloned table's columns."""
    base_ids = [
        r[0]
        for r in conn.execute(
            "SELECT id FROM customers WHERE id < %s ORDER BY id", (sp["customers"],)
        )
    ]
    cols = {
        t: [
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                "AND table_schema = current_schema() ORDER BY ordinal_position",
                (t,),
            )
        ]
        for t in ("customers", *CHILDREN, *FACTS_TABLES)
    }
    return base_ids, cols


def clone_pg(
    url: str, target: int, heavy: int, sp: dict[str, int], tick: Tick = None
) -> dict[str, Any]:
    """Clone the migrated base set in the store at ``url`` up to ``target`` customers (the
    HEAVY children for the first ``heavy`` clones only), one transaction per clone. A clone
    already in the store (a killed run's) is skipped, so a second call continues the first.
    ``sp``: the base set's spans (``spans_pg``). Seconds spent on the clones this call wrote."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        # The store's statement triggers stay off for these writes: they would mark every
        # clone for a facts refresh (its facts are cloned with it) and count it; the count is
        # set once below.
        conn.execute("SET session_replication_role = replica")
        base_ids, cols = _clone_layout(conn, sp)
        clones = plan(base_ids, target)
        t0 = time.monotonic()
        written = 0
        for k, cutoff in clones:
            first = k * sp["customers"] + base_ids[0]
            if conn.execute("SELECT 1 FROM customers WHERE id = %s", (first,)).fetchone():
                continue  # committed by an earlier run
            t = time.monotonic()
            with conn.transaction():
                for table in ("customers", *CHILDREN):
                    if k > heavy and table in HEAVY:
                        continue
                    conn.execute(clone_sql(table, cols[table], k, sp, cutoff, pg=True))
                for table in FACTS_TABLES:
                    conn.execute(clone_facts_sql(table, cols[table], k, sp, cutoff))
            if tick:
                tick(time.monotonic() - t)
            written += 1
            say(f"postgres: clone {k}/{len(clones)} written ({time.monotonic() - t0:.0f} s)")
        conn.execute(
            "UPDATE row_counts SET n = (SELECT count(*) FROM customers) WHERE name = 'customers'"
        )
    return {
        "clones": len(clones),
        "clones_written": written,
        "clone_s": round(time.monotonic() - t0, 1),
        "base_max_id": base_ids[-1],
    }


def drop_indexes(url: str) -> list[list[str]]:
    """Drop the secondary indexes (those behind no constraint) of the tables the clones fill;
    [name, definition] of each, for ``build_indexes``."""
    import psycopg

    tables = ["customers", *CHILDREN, "customer_search", *FACTS_TABLES]
    with psycopg.connect(url, autocommit=True) as conn:
        found = conn.execute(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
            "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
            "WHERE t.relname = ANY(%s) AND t.relnamespace = current_schema()::regnamespace "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid) "
            "ORDER BY t.relname, i.relname",
            (tables,),
        ).fetchall()
        for name, _ in found:
            conn.execute(f'DROP INDEX IF EXISTS "{name}"')
    return [[name, sql] for name, sql in found]


def build_indexes(url: str, indexes: list[list[str]], tick: Tick = None) -> dict[str, float]:
    """Build the indexes ``drop_indexes`` dropped (one at a time, each committed; those a
    killed run built are skipped); seconds per index."""
    import psycopg

    out = {}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '2GB'")
        conn.execute("SET max_parallel_maintenance_workers = 1")
        for name, sql in indexes:
            if conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()[0] is not None:
                continue
            t = time.monotonic()
            conn.execute(sql)
            out[name] = round(time.monotonic() - t, 1)
            if tick:
                tick(out[name])
            say(f"postgres: index {name} built ({out[name]:.0f} s)")
    return out


def check_cloned_facts(url: str, first_ids: list[int], sample: int = 500) -> dict[str, Any]:
    """srm's own refresh (facts_pg.refresh_facts, the sync's) recomputes the facts of
    ``sample`` customers of a full clone (``first_ids``: its customers); the cloned rows are
    compared with what it wrote, table by table and column by column."""
    from srm_tui.storage.facts_pg import refresh_facts
    from srm_tui.storage.pg.connection import PgStore

    ids = first_ids[:: max(1, len(first_ids) // sample)][:sample]
    store = PgStore(url)
    try:
        conn = store.conn()
        keys = {"segment_sub_facts": "customer_id"}

        def read() -> dict[str, dict[Any, dict[str, Any]]]:
            out: dict[str, dict[Any, dict[str, Any]]] = {}
            for table in FACTS_TABLES:
                key = keys.get(table, "id")
                marks = ", ".join("?" for _ in ids)
                cur = conn.execute(f"SELECT * FROM {table} WHERE {key} IN ({marks})", ids)
                names = [getattr(d, "name", None) or d[0] for d in cur.description]
                rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
                out[table] = {(r[key], r.get("id")): r for r in rows}
            return out

        before = read()
        refresh_facts(conn, ids)
        after = read()
    finally:
        store.close()
    report: dict[str, Any] = {"customers": len(ids), "tables": {}}
    for table in FACTS_TABLES:
        b, a = before[table], after[table]
        differing: dict[str, int] = {}
        for key in set(b) | set(a):
            rb, ra = b.get(key), a.get(key)
            if rb is None or ra is None:
                differing["(row missing on one side)"] = (
                    differing.get("(row missing on one side)", 0) + 1
                )
                continue
            for col in ra:
                if rb.get(col) != ra[col]:
                    differing[col] = differing.get(col, 0) + 1
        report["tables"][table] = {"rows": len(a), "differing": differing}
    report["equal"] = all(not t["differing"] for t in report["tables"].values())
    return report


def search_documents_pg(url: str, base_max: int, tick: Tick = None) -> float:
    """The clones' search documents, by srm's builder, 20,000 customers per transaction, from
    the last one written (a killed run's are kept); seconds."""
    import psycopg

    from srm_tui.storage.pg.search import search_rows

    with psycopg.connect(url, autocommit=True) as conn:
        t0 = time.monotonic()
        done = 0
        last = max(base_max, conn.execute("SELECT max(id) FROM customer_search").fetchone()[0])
        source = (
            "SELECT id, email, first_name, last_name, company, address, city, state, "
            "post_code FROM customers WHERE id > %s ORDER BY id LIMIT 20000"
        )
        while True:
            rows = conn.execute(source, (last,)).fetchall()
            if not rows:
                break
            t = time.monotonic()
            docs = search_rows(rows)
            with conn.transaction():
                with conn.cursor().copy(
                    "COPY customer_search (id, doc, zip_words, state_words) FROM STDIN"
                ) as copy:
                    for row in docs:
                        copy.write_row(row)
            if tick:
                tick(time.monotonic() - t)
            done += len(rows)
            last = rows[-1][0]
            if done % 200_000 < 20_000:
                say(f"postgres: {done:,} search documents ({time.monotonic() - t0:.0f} s)")
    return round(time.monotonic() - t0, 1)


def facts_pg(url: str, tick: Tick = None, per_transaction: int = 50_000) -> float:
    """Segment facts of every customer waiting for them, by srm's own code as the store's
    owner: the base set by ``ensure_facts`` (the rebuild a new store gets), the clones (the
    triggers marked them dirty) by ``refresh_facts``, the sync's settling, ``per_transaction``
    customers per transaction, so a killed run keeps what it settled. Seconds."""
    from srm_tui.storage import facts, facts_pg
    from srm_tui.storage.pg.connection import PgStore

    t0 = time.monotonic()
    store = PgStore(url)
    try:
        conn = store.conn()
        built, _ = facts.facts_state(conn)
        if not built:
            # The base set alone (the clones come after): the rebuild marks the facts built.
            t = time.monotonic()
            facts.ensure_facts(conn)
            if tick:
                tick(time.monotonic() - t)
        done = 0
        while True:
            ids = [
                r[0]
                for r in conn.execute(
                    f"SELECT customer_id FROM {facts.DIRTY_TABLE} ORDER BY customer_id LIMIT ?",
                    (per_transaction,),
                )
            ]
            if not ids:
                break
            t = time.monotonic()
            facts_pg.refresh_facts(conn, ids)
            if tick:
                tick(time.monotonic() - t)
            done += len(ids)
            if done % 500_000 < per_transaction:
                say(f"postgres: facts of {done:,} customers ({time.monotonic() - t0:.0f} s)")
    finally:
        store.close()
    return round(time.monotonic() - t0, 1)


def vacuum_analyze_pg(url: str) -> float:
    """VACUUM ANALYZE of the whole store; seconds."""
    import psycopg

    t0 = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return round(time.monotonic() - t0, 1)


def pg_sizes(url: str) -> dict[str, Any]:
    """Bytes on the server: the database and its largest tables with their indexes."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        total = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        n = conn.execute("SELECT count(*) FROM customers").fetchone()[0]
        tables = {
            r[0]: r[1]
            for r in conn.execute(
                "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
                "JOIN pg_namespace s ON s.oid = c.relnamespace WHERE c.relkind = 'r' "
                "AND s.nspname = current_schema() ORDER BY 2 DESC LIMIT 12"
            )
        }
    return {
        "customers": n,
        "database_bytes": total,
        "bytes_per_customer": round(total / max(n, 1)),
        "largest_tables_bytes": tables,
    }


# -- SQLite ------------------------------------------------------------------------------------


def build_sqlite(base_db: Path, target: Path, customers: int) -> dict[str, Any]:
    """A copy of the base cache grown to ``customers`` the same way, its clones indexed for
    search by srm's own code; timings in seconds."""
    from srm_tui.storage import records
    from srm_tui.storage.cache import Cache

    t0 = time.monotonic()
    if target.exists():
        target.unlink()
    src = sqlite3.connect(base_db)
    dst = sqlite3.connect(target)
    src.backup(dst)  # a consistent copy whatever the base's WAL holds
    src.close()
    dst.close()
    cache = Cache(target)  # migrations, pragmas, as srm opens it
    conn = cache.conn()

    def one(sql: str) -> Any:
        return conn.execute(sql).fetchone()[0]

    sp = spans(one)
    base_ids = [r[0] for r in conn.execute("SELECT id FROM customers ORDER BY id")]
    cols = {
        t: [r[1] for r in conn.execute(f"PRAGMA table_info({t})")] for t in ("customers", *CHILDREN)
    }
    clones = plan(base_ids, customers)
    for k, cutoff in clones:
        with cache.transaction() as tx:
            for table in ("customers", *CHILDREN):
                tx.execute(clone_sql(table, cols[table], k, sp, cutoff, pg=False))
            ids = [
                r[0]
                for r in tx.execute(
                    "SELECT id FROM customers WHERE id > ? AND id <= ?",
                    (k * sp["customers"], k * sp["customers"] + cutoff),
                )
            ]
            records.index_customers(tx, ids)
        say(f"sqlite: clone {k}/{len(clones)} written")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("ANALYZE")
    n = one("SELECT count(*) FROM customers")
    cache.close()
    size = target.stat().st_size
    return {
        "customers": n,
        "build_s": round(time.monotonic() - t0, 1),
        "file_bytes": size,
        "bytes_per_customer": round(size / max(n, 1)),
    }


def migrate_base(base_db: Path, url: str) -> float:
    """`srm team migrate` of the base cache into the empty store; seconds."""
    from srm_tui.team.migrate import migrate

    t0 = time.monotonic()
    migrate(base_db, url, say=lambda line: None)
    return round(time.monotonic() - t0, 1)

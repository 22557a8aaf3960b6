"""The team store at scale: search and a segment count on PostgreSQL next to raw SQL on the same
server and next to SQLite, and search under 20 concurrent readers while the sync writes.

    python -m bench.bench_team --customers 10000000 [--base 100000] [--sqlite 1000000]
        [--out bench/results/team.json] [--keep] [--workdir DIR]

It starts its own throwaway PostgreSQL cluster (tests/pgcluster.py: socket only, durability
off, removed at the end unless --keep; with --workdir it lives in DIR and the run is resumable:
DIR/state.json says what is done, bench/team_state.py how), seeds --base customers once into SQLite (`srm sandbox
seed-db`, kept in bench/.data/), `srm team migrate`s them into the store and grows it to
--customers by cloning in SQL (bench/team_build.py says how), builds the segment facts with
srm's rebuild, and a SQLite cache of --sqlite customers the same way. Then:

- search: per query class, p50/p95 over distinct queries from random customers of srm's own
  search (storage.search.search on the store's connection), the raw SQL that answers the same
  on the server (tsquery / index), srm on SQLite and the raw FTS5 / index query there;
- segments: two 5-condition trees (bench_segments' FIVE and CUSTOMER_FIVE) counted by srm's
  SegmentRunner and by hand-written SQL over the base tables, on both stores;
- concurrency: 20 reader processes (one per console: threads would measure the GIL) run srm's
  search, first alone, then while a writer upserts 1,000-customer pages through the sync's
  page write (records.upsert, stats, facts, change log, in one vendor transaction): p50/p95;
- bytes per customer on both, load average at start and end, the machine.

A bench, not a test: nothing here asserts a duration.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench import team_build as build  # noqa: E402
from bench.team_concurrency import READERS, concurrency, writer_alone  # noqa: E402
from bench.team_queries import (  # noqa: E402
    pg_raw_cases,
    plans,
    queries_for,
    segment_cases,
    sqlite_raw_cases,
)
from bench.team_report import machine, markdown, server_version, summary  # noqa: E402
from bench.team_state import RunState  # noqa: E402

say = build.say


def timed_all(fn: Any, args_list: list[Any]) -> list[float]:
    """ms of ``fn(a)`` for each ``a``, after one untimed pass over them all (warm)."""
    for a in args_list:
        fn(a)
    out = []
    for a in args_list:
        t = time.perf_counter()
        fn(a)
        out.append((time.perf_counter() - t) * 1000)
    return out


# -- search ------------------------------------------------------------------------------------


def search_side(conn: Any, raw: dict[str, Any], cases: dict[str, list[str]]) -> dict[str, Any]:
    """srm's search and the raw query per class on one store."""
    from srm_tui.storage.search import search

    out = {}
    for name, qs in cases.items():
        srm_ms = timed_all(lambda q: search(conn, q, limit=50), qs)
        raw_fn, raw_args = raw[name]
        raw_ms = timed_all(raw_fn, raw_args)
        rows = statistics.median(len(search(conn, q, limit=50).rows) for q in qs[:5])
        out[name] = {
            "example": qs[0],
            "queries": len(qs),
            "median_rows": rows,
            "srm": summary(srm_ms),
            "raw": summary(raw_ms),
        }
    return out


# -- segments ----------------------------------------------------------------------------------


def segments_side(store_or_path: Any, raw_fn: Any, now: int) -> dict[str, Any]:
    """srm's count and the hand SQL for each 5-condition tree."""
    from srm_tui.segments import SegmentRunner, from_dict

    out = {}
    with SegmentRunner(store_or_path, memo=0) as runner:
        for label, tree, sql in segment_cases():
            segment = from_dict({"version": 1, "where": tree})
            srm_ms, raw_ms, res, n = [], [], None, None
            for _ in range(3):
                t = time.perf_counter()
                res = runner.count(segment, now)
                srm_ms.append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                n = raw_fn(sql)
                raw_ms.append((time.perf_counter() - t) * 1000)
            out[label] = {
                "customers": res.customers,
                "srm_ms": round(statistics.median(srm_ms), 1),
                "raw_sql_ms": round(statistics.median(raw_ms), 1),
                "raw_customers": n,
                "agree": n == res.customers,
            }
    return out


# -- the run -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000_000)
    parser.add_argument("--base", type=int, default=100_000)
    parser.add_argument("--sqlite", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=40, help="distinct queries per class")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "team.json"))
    parser.add_argument("--keep", action="store_true", help="leave the cluster running")
    parser.add_argument(
        "--workdir",
        help="the run's own directory (cluster, SQLite copy, state.json): kept, and the same "
        "command again continues a run that was killed",
    )
    parser.add_argument(
        "--disk-free", type=float, help="GB to plan the clones for (default: what is free)"
    )
    args = parser.parse_args()
    params = {k: getattr(args, k) for k in ("customers", "base", "sqlite", "queries")}
    work = Path(args.workdir).resolve() if args.workdir else None
    if work is not None:
        work.mkdir(parents=True, exist_ok=True)
        os.environ["TMPDIR"] = str(work)
        tempfile.tempdir = str(work)
    state = RunState(
        work / "state.json" if work else None,
        params,
        {
            "customers": args.customers,
            "base": args.base,
            "sqlite_customers": args.sqlite,
            "machine": machine(),
            "load_start": [round(x, 2) for x in os.getloadavg()],
            "build": {},
        },
    )
    if state.phases:
        say(f"continuing the run in {work}: done so far: {', '.join(state.phases)}")
    report = state.report
    from seeded import AS_OF, ensure_db

    from srm_tui.config import parse_instant

    now = int(parse_instant(AS_OF).timestamp())
    t0 = time.monotonic()
    base_db = ensure_db(args.base)
    report["build"].setdefault("seed_s", round(time.monotonic() - t0, 1))
    if work is None:
        work = Path(tempfile.mkdtemp(prefix="srm-bench-team-"))
        cluster = build.start_cluster(work, args.keep)
    else:
        cluster = build.start_cluster(work, True, root=work / "pg")
    try:
        url = build_store(state, cluster, base_db, args, work)
        sqlite_db = work / f"sqlite-{args.sqlite}.db"
        if not state.done("sqlite"):
            say(f"sqlite: building {args.sqlite:,} customers")
            report["sqlite_sizes"] = build.build_sqlite(base_db, sqlite_db, args.sqlite)
            state.finish("sqlite")
        run_measures(state, url, sqlite_db, args.queries, now)
    finally:
        if not args.keep:
            cluster.stop()
            if not args.workdir:
                shutil.rmtree(work, ignore_errors=True)  # the SQLite copy and the server's log
    report["load_end"] = [round(x, 2) for x in os.getloadavg()]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    print(markdown(report))
    say(f"wrote {out}")


def build_store(state: RunState, cluster: Any, base_db: Path, args: Any, work: Path) -> str:
    """The store of ``args.customers`` on ``cluster``, each phase skipped when ``state`` has
    it done; its URL."""
    report = state.report
    url = cluster.url("srm_bench")
    if not state.done("migrate"):
        cluster.drop_database("srm_bench")  # a migrate cut short: start it again
        url = cluster.create_database("srm_bench")
        report["machine"]["postgres"] = server_version(url)
        say(f"postgres: migrating the {args.base:,} base customers (srm team migrate)")
        report["build"]["migrate_s"] = build.migrate_base(base_db, url)
        report["base_sizes"] = build.pg_sizes(url)
        say(
            f"postgres: {report['base_sizes']['bytes_per_customer']:,} bytes per customer at "
            f"{args.base:,}"
        )
        sqlite_estimate = report["base_sizes"]["bytes_per_customer"] * args.sqlite
        report["heavy_clones"], report["disk_plan"] = build.heavy_clones(
            report["base_sizes"],
            args.customers,
            int(args.disk_free * 1e9) if args.disk_free else shutil.disk_usage(work).free,
            sqlite_estimate,
        )
        report["spans"] = build.spans_pg(url)
        state.finish("migrate")
    heavy, plan = report["heavy_clones"], report["disk_plan"]
    if heavy < plan["clones"]:
        say(
            f"disk: the full store would take ~{plan['full_store_estimate_bytes'] / 1e9:.1f} GB; "
            f"transactions, emails and history are cloned for the first {heavy} of "
            f"{plan['clones']} clones only"
        )
    pg = report["build"].setdefault("postgres", {})
    if not state.done("base_facts"):
        say("postgres: the base set's segment facts (srm's rebuild)")
        build.facts_pg(url, lambda s: state.add_seconds("facts_s", s))
        state.finish("base_facts")
    if not state.done("drop_indexes"):
        report["dropped_indexes"] = build.drop_indexes(url)
        say(f"postgres: {len(report['dropped_indexes'])} secondary indexes dropped until the end")
        state.finish("drop_indexes")
    if not state.done("clones"):
        done = build.clone_pg(
            url, args.customers, heavy, report["spans"], lambda s: state.add_seconds("clone_s", s)
        )
        pg.update(clones=done["clones"], base_max_id=done["base_max_id"], spans=report["spans"])
        state.finish("clones")
    if not state.done("search_documents"):
        build.search_documents_pg(
            url, pg["base_max_id"], lambda s: state.add_seconds("search_documents_s", s)
        )
        state.finish("search_documents")
    if not state.done("indexes"):
        pg["index_each_s"] = build.build_indexes(
            url, report["dropped_indexes"], lambda s: state.add_seconds("index_s", s)
        )
        state.finish("indexes")
    if not state.done("facts_check"):
        import psycopg

        first = report["spans"]["customers"]
        with psycopg.connect(url, autocommit=True) as conn:
            ids = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM customers WHERE id > %s AND id < %s ORDER BY id",
                    (first, 2 * first),
                )
            ]
        report["facts_check"] = build.check_cloned_facts(url, ids)
        say(f"postgres: cloned facts checked against srm's refresh: {report['facts_check']}")
        state.finish("facts_check")
    if not state.done("vacuum"):
        state.add_seconds("vacuum_analyze_s", build.vacuum_analyze_pg(url))
        report["sizes"] = build.pg_sizes(url)
        state.finish("vacuum")
    return url


def run_measures(state: RunState, url: str, sqlite_db: Path, n: int, now: int) -> None:
    """Search, segments and concurrency on both stores, into the report; each measure saved
    as it is made (a resumed run makes only those it has not)."""
    import psycopg

    from srm_tui.config import parse_instant
    from srm_tui.storage.cache import Cache
    from srm_tui.storage.pg.connection import PgStore

    report = state.report
    store = PgStore(url)
    raw_pg = psycopg.connect(url, autocommit=True)
    cache = Cache(sqlite_db)
    raw_lite = sqlite3.connect(sqlite_db)

    def measure(key: str, line: str, fn: Any) -> None:
        if not state.done(key):
            say(line)
            report[key] = fn()
            state.finish(key)

    try:
        pg_cases = queries_for(store.conn(), n, pg=True)
        base_max = report["build"]["postgres"]["base_max_id"]
        base_ids = [
            r[0]
            for r in store.conn().execute(
                "SELECT id FROM customers WHERE id <= ? ORDER BY id", (base_max,)
            )
        ]
        measure(
            "search_pg",
            "measuring search on postgres",
            lambda: search_side(store.conn(), pg_raw_cases(raw_pg, pg_cases), pg_cases),
        )
        lite_cases = queries_for(cache.conn(), n, pg=False)
        measure(
            "search_sqlite",
            "measuring search on sqlite",
            lambda: search_side(cache.conn(), sqlite_raw_cases(raw_lite, lite_cases), lite_cases),
        )
        reg = int(parse_instant("2026-06-01").timestamp())
        params = {"now": now, "login": now - 90 * 86400, "reg": reg}
        measure(
            "segments_pg",
            "measuring segment counts on postgres",
            lambda: segments_side(
                store, lambda sql: raw_pg.execute(sql.pg, params).fetchone()[0], now
            ),
        )
        measure(
            "segments_sqlite",
            "measuring segment counts on sqlite",
            lambda: segments_side(
                sqlite_db, lambda sql: raw_lite.execute(sql.sqlite, params).fetchone()[0], now
            ),
        )
        measure("plans_pg", "query plans", lambda: plans(raw_pg, pg_cases, params))
        measure("writer_alone", "the writer's pages alone", lambda: writer_alone(url, base_ids))
        mixed = [
            q for name in ("prefix", "multi-term", "email", "customer id") for q in pg_cases[name]
        ]
        measure(
            "readers_alone",
            f"{READERS} readers, no writer",
            lambda: concurrency(url, mixed, base_ids, writer=False),
        )
        measure(
            "readers_with_writer",
            f"{READERS} readers while the writer upserts 1,000-customer pages",
            lambda: concurrency(url, mixed, base_ids, writer=True),
        )
    finally:
        raw_pg.close()
        raw_lite.close()
        store.close()
        cache.close()


if __name__ == "__main__":
    main()

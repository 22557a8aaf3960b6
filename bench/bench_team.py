"""The team store at scale: search and a segment count on PostgreSQL next to raw SQL on the same
server and next to SQLite, and search under 20 concurrent readers while the sync writes.

    python -m bench.bench_team --customers 10000000 [--base 100000] [--sqlite 1000000]
        [--out bench/results/team.json] [--keep] [--workdir DIR]

It starts its own throwaway PostgreSQL cluster (tests/pgcluster.py: socket only, durability
off, removed at the end unless --keep), seeds --base customers once into SQLite (`srm sandbox
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
import multiprocessing as mp
import os
import random
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
from bench.team_queries import (  # noqa: E402
    pg_raw_cases,
    plans,
    queries_for,
    segment_cases,
    sqlite_raw_cases,
)
from bench.team_report import machine, markdown, server_version  # noqa: E402

READERS = 20
say = build.say


def pct(samples: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of ``samples``, in ms rounded."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 2)


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


def summary(samples: list[float]) -> dict[str, float]:
    return {"p50_ms": pct(samples, 50), "p95_ms": pct(samples, 95), "n": len(samples)}


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


# -- concurrency -------------------------------------------------------------------------------


def _reader(url: str, queries: list[str], ready: Any, go: Any, out: Any) -> None:
    from srm_tui.storage.pg.connection import PgStore
    from srm_tui.storage.search import search

    store = PgStore(url)
    conn = store.conn()
    search(conn, queries[0], limit=50)  # connect and import before the start
    ready.release()
    go.wait()
    samples = []
    for q in queries:
        t = time.perf_counter()
        search(conn, q, limit=50)
        samples.append((time.perf_counter() - t) * 1000)
    store.close()
    out.put(samples)


def _writer(
    url: str, base_ids: list[int], started: Any, stop: Any, out: Any, most: int = 0
) -> None:
    from srm_tui.storage import changes, records
    from srm_tui.storage.payload import decode_raw
    from srm_tui.storage.pg.connection import PgStore
    from srm_tui.sync.engine import settle_dirty_facts
    from srm_tui.sync.parse import validate

    store = PgStore(url)
    conn = store.conn()
    pages, at = [], 0
    while not stop.is_set() and not (most and len(pages) >= most):
        ids = base_ids[at : at + 1000] or base_ids[:1000]
        at = at + 1000 if at + 1000 < len(base_ids) else 0
        marks = ",".join("?" * len(ids))
        items = []
        for (raw,) in conn.execute(f"SELECT raw FROM customers WHERE id IN ({marks})", ids):
            item = decode_raw(raw)
            item["lastLoginDate"] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
            items.append(item)
        t = time.perf_counter()
        good, _ = validate("customers", items)
        now = int(time.time())
        with store.transaction(vendor=True) as tx:  # as SyncEngine._write_page writes a page
            touched = records.upsert(tx, "customers", good, now)
            records.refresh_customer_stats(tx, touched)
            settle_dirty_facts(tx)
            changes.page_written(tx, "customers", touched)
        pages.append((time.perf_counter() - t) * 1000)
        started.set()
    store.close()
    out.put(pages)


def concurrency(url: str, queries: list[str], base_ids: list[int], writer: bool) -> dict:
    """20 reader processes run ``queries`` (each its own shuffle) at once, with or without
    the writer; their latencies, and the writer's page times."""
    ctx = mp.get_context("spawn")  # no inherited connections or threads
    ready, go, out = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
    readers = []
    for n in range(READERS):
        mine = queries[:]
        random.Random(n).shuffle(mine)
        p = ctx.Process(target=_reader, args=(url, mine, ready, go, out))
        p.start()
        readers.append(p)
    for _ in readers:
        ready.acquire()
    w = None
    if writer:
        started, stop, wout = ctx.Event(), ctx.Event(), ctx.Queue()
        w = ctx.Process(target=_writer, args=(url, base_ids, started, stop, wout))
        w.start()
        started.wait()  # its first page is committed: the readers start while it writes
    go.set()
    began = time.monotonic()
    samples: list[float] = []
    for _ in readers:
        samples += out.get()
    wall = time.monotonic() - began
    for p in readers:
        p.join()
    result: dict[str, Any] = {
        "readers": READERS,
        "search": summary(samples),
        "searches_per_s": round(len(samples) / wall, 1),
    }
    if w is not None:
        stop.set()
        pages = wout.get()
        w.join()
        result["writer_pages"] = len(pages)
        result["writer_page"] = summary(pages)
    return result


def writer_alone(url: str, base_ids: list[int], pages: int = 3) -> dict[str, Any]:
    """The writer's page times with no reader running."""
    ctx = mp.get_context("spawn")
    started, stop, out = ctx.Event(), ctx.Event(), ctx.Queue()
    w = ctx.Process(target=_writer, args=(url, base_ids, started, stop, out, pages))
    w.start()
    times = out.get()
    w.join()
    return {"writer_pages": len(times), "writer_page": summary(times)}


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
    parser.add_argument("--workdir", help="where the cluster and the SQLite copy go")
    parser.add_argument(
        "--disk-free", type=float, help="GB to plan the clones for (default: what is free)"
    )
    args = parser.parse_args()
    if args.workdir:
        os.environ["TMPDIR"] = args.workdir
        tempfile.tempdir = args.workdir
    report: dict[str, Any] = {
        "customers": args.customers,
        "base": args.base,
        "sqlite_customers": args.sqlite,
        "machine": machine(),
        "load_start": [round(x, 2) for x in os.getloadavg()],
        "build": {},
    }
    from seeded import AS_OF, ensure_db

    from srm_tui.config import parse_instant

    now = int(parse_instant(AS_OF).timestamp())
    t0 = time.monotonic()
    base_db = ensure_db(args.base)
    report["build"]["seed_s"] = round(time.monotonic() - t0, 1)
    work = Path(tempfile.mkdtemp(prefix="srm-bench-team-"))
    cluster = build.start_cluster(work, args.keep)
    try:
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
        heavy, report["disk_plan"] = build.heavy_clones(
            report["base_sizes"],
            args.customers,
            int(args.disk_free * 1e9) if args.disk_free else shutil.disk_usage(work).free,
            sqlite_estimate,
        )
        if heavy < report["disk_plan"]["clones"]:
            say(
                f"disk: the full store would take ~{report['disk_plan']['full_store_estimate_bytes'] / 1e9:.1f} GB; "
                f"transactions, emails and history are cloned for the first {heavy} of "
                f"{report['disk_plan']['clones']} clones only"
            )
        report["build"]["postgres"] = build.grow_pg(url, args.customers, heavy)
        report["build"]["facts_s"] = _pg_facts(url)
        report["sizes"] = build.pg_sizes(url)
        sqlite_db = work / f"sqlite-{args.sqlite}.db"
        say(f"sqlite: building {args.sqlite:,} customers")
        report["sqlite_sizes"] = build.build_sqlite(base_db, sqlite_db, args.sqlite)
        run_measures(report, url, sqlite_db, args.queries, now)
    finally:
        if not args.keep:
            cluster.stop()
            shutil.rmtree(work, ignore_errors=True)  # the SQLite copy and the server's log
    report["load_end"] = [round(x, 2) for x in os.getloadavg()]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    print(markdown(report))
    say(f"wrote {out}")


def _pg_facts(url: str) -> float:
    """Segment facts of every customer, by srm's rebuild as the store's owner (the writer's
    work on a real store)."""
    from srm_tui.storage import facts
    from srm_tui.storage.pg.connection import PgStore

    say("postgres: building the segment facts (srm's rebuild)")
    t0 = time.monotonic()
    store = PgStore(url)
    try:
        facts.ensure_facts(store.conn())
    finally:
        store.close()
    return round(time.monotonic() - t0, 1)


def run_measures(report: dict, url: str, sqlite_db: Path, n: int, now: int) -> None:
    """Search, segments and concurrency on both stores, into ``report``."""
    import psycopg

    from srm_tui.config import parse_instant
    from srm_tui.storage.cache import Cache
    from srm_tui.storage.pg.connection import PgStore

    store = PgStore(url)
    raw_pg = psycopg.connect(url, autocommit=True)
    cache = Cache(sqlite_db)
    raw_lite = sqlite3.connect(sqlite_db)
    try:
        pg_cases = queries_for(store.conn(), n, pg=True)
        base_max = report["build"]["postgres"]["base_max_id"]
        base_ids = [
            r[0]
            for r in store.conn().execute(
                "SELECT id FROM customers WHERE id <= ? ORDER BY id", (base_max,)
            )
        ]
        say("measuring search on postgres")
        report["search_pg"] = search_side(store.conn(), pg_raw_cases(raw_pg, pg_cases), pg_cases)
        lite_cases = queries_for(cache.conn(), n, pg=False)
        say("measuring search on sqlite")
        report["search_sqlite"] = search_side(
            cache.conn(), sqlite_raw_cases(raw_lite, lite_cases), lite_cases
        )
        say("measuring segment counts")
        reg = int(parse_instant("2026-06-01").timestamp())
        params = {"now": now, "login": now - 90 * 86400, "reg": reg}
        report["segments_pg"] = segments_side(
            store, lambda sql: raw_pg.execute(sql.pg, params).fetchone()[0], now
        )
        report["segments_sqlite"] = segments_side(
            sqlite_db, lambda sql: raw_lite.execute(sql.sqlite, params).fetchone()[0], now
        )
        report["plans_pg"] = plans(raw_pg, pg_cases, params)
        say("the writer's pages alone")
        report["writer_alone"] = writer_alone(url, base_ids)
        mixed = [
            q for name in ("prefix", "multi-term", "email", "customer id") for q in pg_cases[name]
        ]
        say(f"{READERS} readers, no writer")
        report["readers_alone"] = concurrency(url, mixed, base_ids, writer=False)
        say(f"{READERS} readers while the writer upserts 1,000-customer pages")
        report["readers_with_writer"] = concurrency(url, mixed, base_ids, writer=True)
    finally:
        raw_pg.close()
        raw_lite.close()
        store.close()
        cache.close()


if __name__ == "__main__":
    main()

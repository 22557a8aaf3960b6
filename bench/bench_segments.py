"""Segment counts on a large cache, next to a hand-written SQL query for the same tree.

    python bench/bench_segments.py --customers 1000000   # seeds bench/.data/N.db once
    python bench/bench_segments.py --process SMALL.db LARGE.db [--rounds 5]

``--process`` times whole `srm segment count` processes on a small and a large cache (issue
16 item 4's measure), next to the hand SQL on each file in the same run.

For trees of 1, 5 and 12 conditions, each with the default selector (latest) and with
``any``, it times srm's count (SegmentRunner: facts settled, one query split over the worker
processes, no remembered results) and the plain SQL an engineer would write against the
cache's own tables for the same question, on the same file in the same run, checks the two
agree, and reports medians and their ratio. It also times a first page of members, an
explanation, refreshing the facts of 1,000 customers (what the sync hook costs per page)
and, when the facts had to be built, the build.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seeded import AS_OF, ensure_db  # noqa: E402

from srm_tui.config import parse_instant  # noqa: E402
from srm_tui.segments import (  # noqa: E402
    SegmentRunner,
    explain,
    format_tree,
    from_dict,
)
from srm_tui.segments.model import conditions  # noqa: E402
from srm_tui.storage import facts  # noqa: E402
from srm_tui.storage.cache import Cache  # noqa: E402

RESULTS = Path(__file__).parent / "results" / "segments.json"


def c(attr, op, value=None):
    return {"attr": attr, "op": op, **({} if value is None else {"value": value})}


FIVE = [
    c("subscription.state", "in", ["grace", "cancelled"]),
    c("customer.country", "in", ["PL", "DE", "FR"]),
    c("customer.last_login_at", "within_last", 90),
    {"not": c("customer.mrr", "lt", 5)},
    c("subscription.channel", "eq", "web"),
]
TWELVE = FIVE + [
    c("customer.email", "ends_with", ".com"),
    c("customer.registered_at", "before", "2026-06-01"),
    c("subscription.period", "in", ["month", "year"]),
    c("subscription.price", "gte", 5),
    {"any": [c("customer.status", "eq", "active"), c("customer.lifetime_revenue", "gt", 20)]},
    {"not": c("customer.has_active_pass", "eq", True)},
]
# Five conditions on the customer alone: STYLE's "plain SQL query with five conditions".
CUSTOMER_FIVE = [
    c("customer.country", "in", ["PL", "DE", "FR"]),
    c("customer.last_login_at", "within_last", 90),
    c("customer.registered_at", "before", "2026-06-01"),
    c("customer.email", "ends_with", ".com"),
    c("customer.currency", "ne", "USD"),
]
TREES = {1: {"all": [FIVE[0]]}, 5: {"all": FIVE}, 12: {"all": TWELVE}}
CASES = [(n, selector) for n in TREES for selector in ("latest", "any")] + [("5c", "latest")]

# The same questions in plain SQL over customers / subscriptions / passes / transactions.
STATE = (
    "CASE WHEN s.status = 'paused' THEN 'paused' WHEN s.status = 'terminated' OR "
    "(s.status = 'stopped' AND s.date_to < :now) THEN 'churned' WHEN s.status = 'stopped' "
    "THEN 'cancelled' WHEN s.date_to < :now THEN 'grace' WHEN s.in_trial THEN 'trial' "
    "ELSE 'active' END"
)
MRR = (
    "(SELECT round(coalesce(sum(x.price * CASE x.period WHEN 'day' THEN 365.0 / 12 "
    "WHEN 'week' THEN 52.0 / 12 WHEN 'month' THEN 1.0 WHEN '3months' THEN 1.0 / 3 "
    "WHEN '6months' THEN 1.0 / 6 ELSE 1.0 / 12 END), 0), 6) FROM subscriptions x "
    "WHERE x.customer_id = c.id AND x.status = 'active' "
    "AND NOT (x.in_trial AND (x.date_to IS NULL OR x.date_to >= :now)))"
)
ACTIVE = (
    "(EXISTS (SELECT 1 FROM subscriptions x WHERE x.customer_id = c.id AND "
    "(x.status = 'active' OR (x.status = 'stopped' AND (x.date_to IS NULL OR "
    "x.date_to >= :now)))) OR EXISTS (SELECT 1 FROM passes p WHERE p.customer_id = c.id "
    "AND p.status = 'active' AND (p.expires_at IS NULL OR p.expires_at >= :now)))"
)
REVENUE = (
    "(SELECT round(coalesce(sum(CASE t.status WHEN 'captured' THEN t.amount "
    "WHEN 'refunded' THEN t.amount - t.refunded_amount ELSE 0 END), 0), 6) "
    "FROM transactions t WHERE t.customer_id = c.id)"
)
P_PASS = (
    "EXISTS (SELECT 1 FROM passes p WHERE p.customer_id = c.id AND p.offer_type = 'P' "
    "AND p.status = 'active' AND (p.expires_at IS NULL OR p.expires_at >= :now))"
)
SUB_FIVE = (
    f"({STATE}) IN ('grace', 'cancelled') AND s.gateway NOT IN "
    "('apple', 'android', 'roku', 'amazon')"
)
CUST_FIVE = (
    f"c.country IN ('PL', 'DE', 'FR') AND c.last_login_at BETWEEN :login AND :now AND {MRR} >= 5"
)
SUB_TWELVE = f"{SUB_FIVE} AND s.period IN ('month', 'year') AND s.price >= 5"
CUST_TWELVE = (
    f"{CUST_FIVE} AND substr(c.email_lc, -4) = '.com' AND c.registered_at < :reg "
    f"AND ({ACTIVE} OR {REVENUE} > 20) AND NOT {P_PASS}"
)
LATEST = (
    "JOIN subscriptions s ON s.id = (SELECT x.id FROM subscriptions x WHERE "
    "x.customer_id = c.id ORDER BY x.created_at DESC, x.id DESC LIMIT 1)"
)
RAW = {
    ("5c", "latest"): (
        "SELECT count(*) FROM customers c WHERE c.country IN ('PL', 'DE', 'FR') "
        "AND c.last_login_at BETWEEN :login AND :now AND c.registered_at < :reg "
        "AND substr(c.email_lc, -4) = '.com' "
        "AND (c.currency IS NULL OR c.currency <> 'USD')"
    ),
    (1, "latest"): (
        f"SELECT count(*) FROM customers c {LATEST} WHERE ({STATE}) IN ('grace', 'cancelled')"
    ),
    (1, "any"): (
        f"SELECT count(*) FROM customers c WHERE EXISTS (SELECT 1 FROM subscriptions s "
        f"WHERE s.customer_id = c.id AND ({STATE}) IN ('grace', 'cancelled'))"
    ),
    (5, "latest"): f"SELECT count(*) FROM customers c {LATEST} WHERE {SUB_FIVE} AND {CUST_FIVE}",
    (5, "any"): (
        f"SELECT count(*) FROM customers c WHERE {CUST_FIVE} AND EXISTS (SELECT 1 "
        f"FROM subscriptions s WHERE s.customer_id = c.id AND {SUB_FIVE})"
    ),
    (12, "latest"): (
        f"SELECT count(*) FROM customers c {LATEST} WHERE {SUB_TWELVE} AND {CUST_TWELVE}"
    ),
    (12, "any"): (
        f"SELECT count(*) FROM customers c WHERE {CUST_TWELVE} AND EXISTS (SELECT 1 "
        f"FROM subscriptions s WHERE s.customer_id = c.id AND {SUB_TWELVE})"
    ),
}


def timed(fn, repeat: int) -> tuple[float, object]:
    samples, result = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples), result


PROCESS_CASES = [(1, "latest"), (5, "latest"), (5, "any"), ("5c", "latest")]


def _segment_file(folder: Path, case: tuple) -> Path:
    n, selector = case
    tree = {"all": CUSTOMER_FIVE} if n == "5c" else TREES[n]
    body = {"version": 1, "selector": selector, "where": tree}
    path = folder / f"segment-{n}-{selector}.json"
    path.write_text(json.dumps(body))
    return path


def _count_process(db: Path, segment: Path, now: str) -> tuple[float, float, int]:
    """(wall ms, CPU ms with its worker processes, members) of one `srm segment count`."""
    import resource
    import subprocess

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "srm_tui", "segment", "count", str(segment), "--json"],
        capture_output=True,
        text=True,
        env={**os.environ, "SRM_DB": str(db), "SRM_NOW": now},
        check=True,
        timeout=1800,
        cwd=Path(__file__).resolve().parents[1],
    )
    wall = (time.perf_counter() - t) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return wall, cpu, int(json.loads(out.stdout)["customers"])


def process_bench(small: Path, large: Path, rounds: int, now: str) -> dict:
    """Whole `srm segment count` processes on a small and a large cache, alternating (what
    issue 16 item 4 asks to scale: within 1.6x), next to the hand SQL on each, in one run.
    Each cache's facts are settled by one untimed count first."""
    import tempfile

    stamp = int(parse_instant(now).timestamp())
    params = {"now": stamp, "login": stamp - 90 * 86400, "reg": parse_instant("2026-06-01")}
    params["reg"] = int(params["reg"].timestamp())
    report: dict = {"load": os.getloadavg(), "rounds": rounds, "cases": {}}
    with tempfile.TemporaryDirectory() as tmp:
        files = {case: _segment_file(Path(tmp), case) for case in PROCESS_CASES}
        for db in (small, large):  # facts settled, as a console's first count would
            _count_process(db, files[PROCESS_CASES[0]], now)
        samples: dict = {}
        for _ in range(rounds):
            for case, path in files.items():
                for label, db in (("small", small), ("large", large)):
                    samples.setdefault(case, {}).setdefault(label, []).append(
                        _count_process(db, path, now)
                    )
        for case in PROCESS_CASES:
            row: dict = {}
            for label, db in (("small", small), ("large", large)):
                runs = samples[case][label]
                raw = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
                raw_ms, raw_n = timed(lambda: raw.execute(RAW[case], params).fetchone()[0], 3)
                raw.close()
                row[label] = {
                    "wall_ms": round(statistics.median(r[0] for r in runs), 1),
                    "cpu_ms": round(statistics.median(r[1] for r in runs), 1),
                    "members": runs[0][2],
                    "hand_sql_ms": round(raw_ms, 1),
                    "hand_sql_members": raw_n,
                }
            row["large/small"] = {
                "wall": round(row["large"]["wall_ms"] / row["small"]["wall_ms"], 2),
                "cpu": round(row["large"]["cpu_ms"] / row["small"]["cpu_ms"], 2),
            }
            report["cases"][f"{case[0]} {case[1]}"] = row
    report["load after"] = os.getloadavg()
    return report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--raw-repeat", type=int, default=3)
    parser.add_argument("--now", default=AS_OF)
    parser.add_argument("--process", nargs=2, type=Path, metavar=("SMALL", "LARGE"))
    parser.add_argument("--rounds", type=int, default=5, help="with --process")
    args = parser.parse_args()
    if args.process:
        report = process_bench(*args.process, args.rounds, args.now)
        print(json.dumps(report, indent=1))
        return
    db = ensure_db(args.customers)
    now = int(parse_instant(args.now).timestamp())
    cache = Cache(db)  # applies migrations
    conn = facts.prepare(cache.conn())

    built = facts.facts_state(conn)
    t = time.perf_counter()
    settled = facts.ensure_facts(conn)
    build_s = round(time.perf_counter() - t, 1)
    print(
        f"facts: {settled:,} customers settled in {build_s} s (state before: {built})", flush=True
    )

    raw = sqlite3.connect(db)
    raw.execute("PRAGMA cache_size=-65536")
    raw_params = {
        "now": now,
        "login": now - 90 * 86400,
        "reg": int(parse_instant("2026-06-01").timestamp()),
    }
    results: dict[str, object] = {
        "customers": conn.execute("SELECT count(*) FROM customers").fetchone()[0],
        "now": args.now,
        "cpus": os.cpu_count(),
        "sqlite": sqlite3.sqlite_version,
        "facts_settled_customers": settled,
        "facts_settle_seconds": build_s,
        "counts": {},
    }
    with SegmentRunner(db, memo=0) as parallel, SegmentRunner(db, memo=0, processes=1) as single:
        parallel.warm()
        for n, selector in CASES:
            tree = {"all": CUSTOMER_FIVE} if n == "5c" else TREES[n]
            segment = from_dict({"version": 1, "selector": selector, "where": tree})
            assert len(conditions(segment.where)) == int(str(n).rstrip("c"))
            label = "5 customer conditions" if n == "5c" else f"{n} conditions, {selector}"
            srm_ms, res = timed(lambda: parallel.count(segment, now), args.repeat)
            one_ms, one = timed(lambda: single.count(segment, now), args.repeat)
            sql = RAW[(n, selector)]
            raw_ms, raw_n = timed(
                lambda: raw.execute(sql, raw_params).fetchone()[0], args.raw_repeat
            )
            row = {
                "tree": format_tree(segment.where),
                "customers": res.customers,
                "srm_ms": round(srm_ms, 1),
                "processes": res.parts,
                "srm_one_process_ms": round(one_ms, 1),
                "raw_sql_ms": round(raw_ms, 1),
                "raw_customers": raw_n,
                "agree": raw_n == res.customers == one.customers,
                "ratio_srm_to_raw": round(srm_ms / raw_ms, 3),
            }
            results["counts"][label] = row  # type: ignore[index]
            print(
                f"{label:24}: srm {srm_ms:7.1f} ms "
                f"({res.parts} proc; {one_ms:.1f} ms in one)  raw SQL {raw_ms:8.1f} ms  "
                f"ratio {srm_ms / raw_ms:.3f}  customers {res.customers:,}"
                f"{'' if row['agree'] else f' != raw {raw_n:,}'}",
                flush=True,
            )
        segment = from_dict({"version": 1, "where": {"all": FIVE}})
        page_ms, page = timed(lambda: parallel.members(segment, now, limit=200), args.repeat)
        first = page[0] if page else conn.execute("SELECT id FROM customers LIMIT 1").fetchone()[0]
        explain_ms, _ = timed(lambda: explain(conn, segment, first, now), args.repeat)
        results["members_first_page_ms"] = round(page_ms, 1)
        results["explain_ms"] = round(explain_ms, 1)
        print(
            f"members, first page of 200: {page_ms:.1f} ms; explain one customer: "
            f"{explain_ms:.1f} ms",
            flush=True,
        )

    ids = [r[0] for r in conn.execute("SELECT id FROM customers")]
    sample = random.Random(1).sample(ids, min(1000, len(ids)))
    conn.execute("BEGIN IMMEDIATE")
    t = time.perf_counter()
    facts.refresh_facts(conn, sample)
    cold_ms = (time.perf_counter() - t) * 1000
    t = time.perf_counter()  # again, their records now in memory as after a sync page
    facts.refresh_facts(conn, sample)
    hot_ms = (time.perf_counter() - t) * 1000
    conn.execute("ROLLBACK")
    results["refresh_1000_customers_ms"] = {"cold": round(cold_ms, 1), "hot": round(hot_ms, 1)}
    print(
        f"refresh_facts for 1,000 random customers: {cold_ms:.0f} ms cold, {hot_ms:.0f} ms "
        "with their records in memory",
        flush=True,
    )

    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()

"""What the segment screens wait for, on a large cache: the overview (cache and segment), a
live count, a page of members (first and last), an explanation, the values offered for an
enum, the member set a save compares, and streaming an export with extra columns.

    python bench/bench_segment_console.py bench/.data/1000000.db [--out bench/results/…]

Read-only: the cache's facts must be settled already (the script refuses otherwise) and
nothing is written to it; nothing is copied. Each step runs twice where a second run says
something (the runner remembers counts; the page cache warms), and the times are reported
as measured, with the machine's load beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import time
from pathlib import Path

from srm_tui.segments import schedules as S
from srm_tui.segments import store
from srm_tui.segments.catalog import lookup
from srm_tui.segments.compile import compile_segment
from srm_tui.segments.engine import SegmentRunner
from srm_tui.segments.model import All, AnyOf, Condition, Not, Segment
from srm_tui.segments.values import suggestions
from srm_tui.storage import facts as F

NOW = 1793491200  # 2026-11-01T00:00:00Z, the seeded caches' "as of"
FIVE = Segment(
    where=All(
        (
            Condition("subscription.state", "in", ("grace", "cancelled")),
            AnyOf(
                (
                    Condition("customer.country", "in", ("PL", "DE", "FR")),
                    Not(Condition("customer.mrr", "lt", 5)),
                )
            ),
            Condition("customer.last_login_at", "within_last", 90),
            Condition("subscription.channel", "eq", "web"),
        )
    ),
    name="bench five",
)


def timed(fn):
    started = time.perf_counter()
    value = fn()
    return value, round((time.perf_counter() - started) * 1000, 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("db")
    parser.add_argument("--out", default="bench/results/segment_console.json")
    args = parser.parse_args()
    path = str(Path(args.db).resolve())
    ro = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    built, dirty = F.facts_state(ro)
    if not built or dirty:
        sys.exit("the cache's segment facts are not settled: run a segment count on it first")
    customers = ro.execute(f"SELECT count(*) FROM {F.CUSTOMER_TABLE}").fetchone()[0]
    report: dict = {
        "customers": customers,
        "cpus": os.cpu_count(),
        "load_before": os.getloadavg(),
        "ms": {},
    }
    ms = report["ms"]
    with SegmentRunner(path) as runner:
        _, ms["warm (facts check, start 2 worker processes)"] = timed(runner.warm)
        everyone = compile_segment(Segment(), NOW)
        five = compile_segment(FIVE, NOW)
        for i in (1, 2):
            result, ms[f"overview, whole cache, run {i}"] = timed(
                lambda: runner.overview(everyone, NOW)
            )
        report["overview_cache"] = {
            "customers": result.customers,
            "parts": result.parts,
            "churn_rate": round(result.churn_rate or 0, 4),
        }
        for i in (1, 2):
            seg, ms[f"overview, 5-condition segment, run {i}"] = timed(
                lambda: runner.overview(five, NOW)
            )
        report["overview_segment_customers"] = seg.customers
        counted, ms["count, 5 conditions (nested any, not)"] = timed(
            lambda: runner.count(FIVE, NOW)
        )
        report["count_5"] = counted.customers
        edited = FIVE.replace(
            where=All(
                FIVE.where.items[:-1] + (Condition("subscription.channel", "in", ("web", "apple")),)
            )
        )
        again, ms["count after editing one value"] = timed(lambda: runner.count(edited, NOW))
        _, ms["count of an earlier tree (remembered)"] = timed(lambda: runner.count(FIVE, NOW))
        _, ms["member page 1 (100 rows)"] = timed(lambda: runner.rows(five, offset=0, limit=100))
        last = max(counted.customers - 100, 0)
        _, ms["member page at the end (offset)"] = timed(
            lambda: runner.rows(five, offset=last, limit=100)
        )
        first = runner.rows(five, offset=0, limit=1)[0]["id"]
        _, ms["explain one member"] = timed(lambda: runner.explain(FIVE, first, NOW))
        _, ms["values offered for customer.country"] = timed(
            lambda: runner.call(lambda conn: suggestions(conn, lookup("customer.country")))
        )
        change, ms["member set a save compares (preview, new segment)"] = timed(
            lambda: runner.call(lambda conn: store.preview_save(conn, FIVE, NOW))
        )
        report["preview_members"] = change.members

        def stream() -> int:
            columns = ["id", "email", "customer.status", "customer.mrr", "subscription.state"]
            return sum(1 for _ in S.rows(ro, five, NOW, columns))

        F.prepare(ro)
        n, ms["stream the export rows, 5 columns"] = timed(stream)
        report["export_rows"] = n
    report["load_after"] = os.getloadavg()
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

"""Sync throughput over loopback HTTP vs a raw executemany of the same rows.

python bench/bench_sync.py --customers 100000

The floor: the rows the sync writes (validated and mapped as it does, the payload
compressed, the search index's rows), built untimed from the sandbox's export, then inserted
into a fresh cache of the same schema (indexes and triggers in place) with plain executemany
in one transaction; only the executemany calls and the commit are timed. The sync's CPU time
is its process's (the sandbox serving it is not counted).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from srm_tui.storage import records  # noqa: E402
from srm_tui.storage.cache import Cache  # noqa: E402
from srm_tui.sync.parse import validate  # noqa: E402
from tests.helpers import SandboxProcess, run_srm  # noqa: E402

ORDER = (
    "customers",
    "offers",
    "season_groups",
    "campaigns",
    "subscriptions",
    "passes",
    "transactions",
    "payment_details",
    "emails",
    "notes",
    "history",
)


def raw_insert(export: dict, path: Path) -> float:
    """The floor: the same rows, already parsed and mapped, inserted with plain executemany."""
    cache = Cache(path)
    prepared = {}
    for entity in ORDER:
        _, cols, _ = records._COLUMNS[entity]
        good, _ = validate(entity, export[entity])  # building rows is not timed: inserting is
        prepared[entity] = (cols, records.row_values(entity, good, 0))
    fts = ["rowid", "email", "name", "company", "address", "city", "state", "post_code"]
    prepared["customers_fts"] = (
        fts,
        [records.search_values(row) for row in prepared["customers"][1]],
    )
    cache.close()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    started = time.perf_counter()
    conn.execute("BEGIN")
    for entity, (cols, rows) in prepared.items():
        conn.executemany(
            f"INSERT INTO {entity} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", rows
        )
    conn.execute("COMMIT")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    args = parser.parse_args()
    t0 = time.perf_counter()
    sandbox = SandboxProcess(
        "--customers", str(args.customers), "--seed", "1", "--as-of", "2026-11-01T00:00:00Z"
    )
    print(f"sandbox up with {args.customers:,} customers in {time.perf_counter() - t0:.1f} s")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "sync.db"
            env = {"SRM_DB": str(db), "SRM_API_URL": sandbox.url, "SRM_API_KEY": "sandbox-key"}
            started, cpu = time.perf_counter(), os.times()
            result = run_srm("sync", "--json", env=env, timeout=3600)
            wall = time.perf_counter() - started
            after = os.times()
            sync_cpu = (after.children_user + after.children_system) - (
                cpu.children_user + cpu.children_system
            )
            if result.returncode:
                raise SystemExit(result.stderr)
            summary = json.loads(result.stdout)
            print(
                f"srm sync: {wall:.1f} s wall, {sync_cpu:.1f} s CPU, summary "
                f"{result.stdout.strip()}",
                flush=True,
            )
            # The whole data set in one answer: on a busy machine it takes longer than the
            # tests' helper waits.
            export = httpx.get(f"{sandbox.root}/sandbox/export", timeout=1800).json()
            raw = raw_insert(export, Path(tmp) / "raw.db")
    finally:
        sandbox.stop()
    total = sum(summary[e] for e in ORDER)
    out = {
        "customers": summary["customers"],
        "records": total,
        "sync_seconds": round(wall, 2),
        "sync_cpu_seconds": round(sync_cpu, 2),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "sync_customers_per_s": round(summary["customers"] / wall),
        "sync_records_per_s": round(total / wall),
        "raw_executemany_seconds": round(raw, 2),
        "ratio_sync_to_raw": round(wall / raw, 2),
    }
    print(json.dumps(out, indent=2))
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    (results / f"sync-{args.customers}.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()

"""`srm sandbox seed-db` next to a raw executemany of the same rows into the same schema.

    python bench/bench_seed.py --customers 50000 [--keep bench/.data/50000.db]

The seed runs as a subprocess (wall time, and CPU time of it and its worker processes). The
floor then copies the rows the seed wrote, table by table, into a fresh cache of the same
schema (its indexes and triggers in place) with plain `executemany` in one transaction; only
the executemany calls are timed (reading the rows back is not). Search-index rows count too.
Results: bench/results/seed-N.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from srm_tui.storage.cache import Cache  # noqa: E402

AS_OF = "2026-11-01T00:00:00Z"
TABLES = (
    "offers",
    "localizations",
    "season_groups",
    "campaigns",
    "campaign_codes",
    "customers",
    "subscriptions",
    "passes",
    "transactions",
    "payment_details",
    "emails",
    "notes",
    "history",
)
CHUNK = 50_000


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def seed(customers: int, db: Path) -> dict:
    """Run the seed command; wall and CPU seconds."""
    cpu = _children_cpu()
    began = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "srm_tui", "sandbox", "seed-db", "--customers", str(customers)]
        + ["--as-of", AS_OF, "--db", str(db), "--json"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return {
        "wall_s": round(time.perf_counter() - began, 2),
        "cpu_s": round(_children_cpu() - cpu, 2),
    }


def floor(source: Path, target: Path) -> dict:
    """executemany of every row of `source` into a fresh cache at `target`; seconds."""
    cache = Cache(target)
    conn = cache.conn()
    src = sqlite3.connect(source)
    rows_written = 0
    timed = 0.0
    cpu = 0.0
    conn.execute("BEGIN IMMEDIATE")
    for table in (*TABLES, "customers_fts"):
        if table == "customers_fts":
            cols = ["rowid", "email", "name", "company", "address", "city", "state", "post_code"]
        else:
            cols = [r[1] for r in src.execute(f"PRAGMA table_info({table})")]
        sql = f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        cur = src.execute(f"SELECT {', '.join(cols)} FROM {table}")
        while batch := cur.fetchmany(CHUNK):
            began, began_cpu = time.perf_counter(), time.process_time()
            conn.executemany(sql, batch)
            timed += time.perf_counter() - began
            cpu += time.process_time() - began_cpu
            rows_written += len(batch)
    began, began_cpu = time.perf_counter(), time.process_time()
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    timed += time.perf_counter() - began
    cpu += time.process_time() - began_cpu
    cache.close()
    src.close()
    return {"wall_s": round(timed, 2), "cpu_s": round(cpu, 2), "rows": rows_written}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--keep", help="write the seeded cache here (must not exist)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="srm-seed-") as tmp:
        db = Path(args.keep) if args.keep else Path(tmp) / "seeded.db"
        load = os.getloadavg()
        seeded = seed(args.customers, db)
        raw = floor(db, Path(tmp) / "floor.db")
        out = {
            "customers": args.customers,
            "cpus": os.cpu_count(),
            "load_before": [round(x, 2) for x in load],
            "load_after": [round(x, 2) for x in os.getloadavg()],
            "seed": seeded,
            "floor_executemany": raw,
            "ratio_wall": round(seeded["wall_s"] / raw["wall_s"], 2),
            "ratio_cpu": round(seeded["cpu_s"] / raw["cpu_s"], 2),
            "seed_customers_per_s": round(args.customers / seeded["wall_s"]),
            "file_bytes": db.stat().st_size,
        }
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    (results / f"seed-{args.customers}.json").write_text(json.dumps(out, indent=1))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

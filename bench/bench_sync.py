"""Sync throughput over loopback HTTP vs a raw executemany of the same rows.

python bench/bench_sync.py --customers 100000
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from srm_tui.domain import models as m  # noqa: E402
from srm_tui.storage import records  # noqa: E402
from srm_tui.storage.cache import Cache  # noqa: E402
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
    """The floor: the same rows, already parsed, inserted with plain executemany."""
    cache = Cache(path)
    prepared = {}
    for entity in ORDER:
        model, _ = m.ENTITIES[entity]
        _, cols, mapper = records._COLUMNS[entity]
        rows = []
        for item in export[entity]:
            rec = model.model_validate(item)  # parsing is not timed: only the insert is
            rows.append(mapper(rec, json.dumps(item), 0))
        prepared[entity] = (cols, rows)
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
            started = time.perf_counter()
            result = run_srm("sync", "--json", env=env, timeout=3600)
            wall = time.perf_counter() - started
            if result.returncode:
                raise SystemExit(result.stderr)
            summary = json.loads(result.stdout)
            print(f"srm sync: {wall:.1f} s wall, summary {result.stdout.strip()}", flush=True)
            export = sandbox.export()
            raw = raw_insert(export, Path(tmp) / "raw.db")
    finally:
        sandbox.stop()
    total = sum(summary[e] for e in ORDER)
    out = {
        "customers": summary["customers"],
        "records": total,
        "sync_seconds": round(wall, 2),
        "sync_customers_per_s": round(summary["customers"] / wall),
        "sync_records_per_s": round(total / wall),
        "raw_executemany_seconds": round(raw, 2),
        "ratio_sync_to_raw": round(wall / raw, 2),
    }
    print(json.dumps(out, indent=2))
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    (results / "sync.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()

"""The large caches the benchmarks share: seeded once into bench/.data/ and reused."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).parent / ".data"
AS_OF = "2026-11-01T00:00:00Z"


def ensure_db(customers: int) -> Path:
    """bench/.data/N.db, written by `srm sandbox seed-db` the first time it is asked for."""
    DATA.mkdir(exist_ok=True)
    db = DATA / f"{customers}.db"
    if not db.exists():
        print(f"seeding {customers:,} customers into {db} (once) …", flush=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "srm_tui",
                "sandbox",
                "seed-db",
                "--customers",
                str(customers),
                "--as-of",
                AS_OF,
                "--db",
                str(db),
            ],
            check=True,
        )
    return db

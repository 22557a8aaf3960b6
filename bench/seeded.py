"""The large caches the benchmarks share: seeded once into bench/.data/ and reused."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

DATA = Path(__file__).parent / ".data"
AS_OF = "2026-11-01T00:00:00Z"


def ensure_db(customers: int) -> Path:
    """bench/.data/N.db, written by `srm sandbox seed-db` the first time it is asked for.

    Seeded under a ``.part`` name and renamed when complete, so a run killed while seeding
    leaves no half-seeded cache that the next run would take for a whole one."""
    DATA.mkdir(exist_ok=True)
    db = DATA / f"{customers}.db"
    if not db.exists():
        part = DATA / f"{customers}.db.part"
        for leftover in (part, *(part.with_name(part.name + s) for s in ("-wal", "-shm"))):
            leftover.unlink(missing_ok=True)  # a killed seeding's: ours, and incomplete
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
                str(part),
            ],
            check=True,
        )
        conn = sqlite3.connect(part)  # its WAL folded in, so the rename moves all of it
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        part.rename(db)
    return db

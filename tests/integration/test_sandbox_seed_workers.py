"""Seeding with worker processes gives the cache that seeding in one process gives."""

from __future__ import annotations

import multiprocessing
import sqlite3
from datetime import datetime, timezone

import pytest

from srm_tui.sandbox import seed
from srm_tui.storage.cache import Cache

AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)

pytestmark = pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs fork"
)


def dump(path, customers: int, workers: int) -> list[str]:
    cache = Cache(path)
    seed.seed_cache(cache, customers, 3, AS_OF, workers=workers)
    cache.close()
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def test_worker_processes_write_the_same_cache_in_order(tmp_path, monkeypatch):
    monkeypatch.setattr(seed, "SLICE", 7)  # several slices per worker, finishing out of order
    in_workers = dump(tmp_path / "workers.db", 40, workers=2)
    here = dump(tmp_path / "here.db", 40, workers=0)
    assert any(line.startswith('INSERT INTO "transactions"') for line in here)
    assert in_workers == here

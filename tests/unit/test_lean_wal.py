"""The WAL stays bounded (issue 16, a lean cache): once a checkpoint has copied it into the
cache, the next write shrinks the WAL file back to the cache's journal size limit, even while
another connection (the console beside a sync) keeps the cache open."""

from __future__ import annotations

import os

from srm_tui.storage import cache as cache_module
from srm_tui.storage.cache import Cache

LIMIT = 64 * 1024


def _wal(path) -> int:
    wal = path.with_name(path.name + "-wal")
    return wal.stat().st_size if wal.exists() else 0


def test_the_wal_shrinks_to_the_limit_after_a_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_module, "WAL_SIZE_LIMIT", LIMIT)
    path = tmp_path / "c.db"
    cache = Cache(path)
    reader = Cache(path)  # another process's connection: the WAL is not removed on close
    reader.conn().execute("SELECT count(*) FROM customers").fetchone()
    conn = cache.conn()
    conn.execute("PRAGMA wal_autocheckpoint=0")  # as a sync does: the WAL grows meanwhile
    with cache.transaction() as tx:
        tx.execute("CREATE TABLE filler (x BLOB)")
        tx.executemany("INSERT INTO filler VALUES (?)", [(os.urandom(4000),) for _ in range(200)])
    grown = _wal(path)
    assert grown > 10 * LIMIT
    busy, _, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert busy == 0
    with cache.transaction() as tx:  # the next write starts the WAL over and trims the file
        tx.execute("INSERT INTO filler VALUES (x'00')")
    assert _wal(path) <= LIMIT
    reader.close()
    cache.close()

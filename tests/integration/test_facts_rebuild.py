"""A full rebuild of the segment facts never holds the cache's write lock for long.

The first segment run after a big sync recomputes every customer's facts; on a million
customers that is about a minute. It reads one snapshot into staging tables without a lock
and lands them in short batches, so a sync or an action in another process keeps writing
(issue 7: two processes never block each other for more than a second).
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
import time

from srm_tui.sandbox.seed import seed_cache
from srm_tui.storage import facts
from srm_tui.storage.cache import Cache
from tests.conftest import AS_OF


def _facts(conn):
    return [
        conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
        for t in (facts.CUSTOMER_TABLE, facts.SUBSCRIPTION_TABLE, facts.TEXT_TABLE)
    ]


def _reference(tmp_path, db):
    """The facts a rebuild in one transaction gives for the cache as it is now."""
    copy = tmp_path / "reference.db"
    src = sqlite3.connect(db)
    dst = sqlite3.connect(copy)
    src.backup(dst)
    src.close()
    dst.close()
    cache = Cache(copy)
    with cache.transaction() as tx:
        facts.rebuild_facts(tx)
    expected = _facts(cache.conn())
    cache.close()
    return expected


def test_rebuild_lands_in_short_batches_while_another_process_writes(tmp_path, monkeypatch):
    db = tmp_path / "c.db"
    cache = Cache(db)
    seed_cache(cache, 1500, 5, AS_OF)
    conn = cache.conn()
    conn.execute("DELETE FROM meta WHERE key = ?", (facts.BUILT_KEY,))
    monkeypatch.setattr(facts, "COPY_BATCH", 100)
    ids = [r[0] for r in conn.execute("SELECT id FROM customers ORDER BY id")]

    waits: list[float] = []
    stop = threading.Event()
    written: list[int] = []

    def writer() -> None:  # another srm process: its own connection, short transactions
        other = sqlite3.connect(db, timeout=10, isolation_level=None)
        i = 0
        while not stop.is_set():
            started = time.perf_counter()
            other.execute("BEGIN IMMEDIATE")
            waits.append(time.perf_counter() - started)
            cid = ids[(i * 37) % len(ids)]
            other.execute("UPDATE customers SET first_name = ? WHERE id = ?", (f"W{i}", cid))
            other.execute("COMMIT")
            written.append(cid)
            i += 1
            time.sleep(0.005)
        other.close()

    batches = []

    def progress(done: int, total: int) -> None:
        batches.append(done)
        time.sleep(0.02)  # a slower machine: the writer gets in between batches

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        facts.ensure_facts(conn, progress=progress)
    finally:
        stop.set()
        thread.join()
    assert len(batches) >= 10  # landed in many transactions, not one
    assert written and max(waits) < 1.0, max(waits)
    # Writes made during the rebuild stay marked (the run settles what was there when it
    # began, not a stream it could chase forever); the next run settles them, and then
    # every write is in the facts: nothing was lost to the snapshot.
    facts.ensure_facts(conn)
    assert facts.facts_state(conn) == (True, 0)
    assert _facts(conn) == _reference(tmp_path, db)
    cache.close()


def test_a_dead_rebuild_is_taken_over_and_a_live_one_waited_for(tmp_path):
    db = tmp_path / "c.db"
    cache = Cache(db)
    seed_cache(cache, 200, 6, AS_OF)
    conn = cache.conn()
    import socket

    # A rebuild killed mid-way: its lease names a process that no longer exists, the facts
    # read as not built.
    conn.execute("DELETE FROM meta WHERE key = ?", (facts.BUILT_KEY,))
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?)",
        (facts.REBUILD_LEASE, f"999999999 1 {socket.gethostname()} {int(time.time())}"),
    )
    conn.execute(f"DELETE FROM {facts.CUSTOMER_TABLE} WHERE id % 2 = 0")  # half landed
    facts.ensure_facts(conn)
    assert facts.facts_state(conn) == (True, 0)
    assert facts._lease(conn) is None
    assert _facts(conn) == _reference(tmp_path, db)

    # A live rebuild in another thread: a second caller waits for it, then finds it done.
    other = Cache(db)
    other_conn = other.conn()
    conn.execute("DELETE FROM meta WHERE key = ?", (facts.BUILT_KEY,))
    entered = threading.Event()

    def slow(done: int, total: int) -> None:
        entered.set()
        time.sleep(0.05)

    worker = threading.Thread(target=lambda: facts.ensure_facts(Cache(db).conn(), progress=slow))
    worker.start()
    entered.wait(10)
    assert facts.ensure_facts(other_conn) == 0  # waited; the other thread did the work
    worker.join()
    assert facts.facts_state(other_conn) == (True, 0)
    cache.close()
    other.close()
    shutil.rmtree(tmp_path / "unused", ignore_errors=True)

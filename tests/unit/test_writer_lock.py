"""The writer lock on a SQLite cache (storage/writer.py): its row names the holder, a second
acquire is refused with that name, and a row whose process is gone (or whose pid now belongs to
a later process) is taken over. The PostgreSQL lock and the CLI's refusal are in
tests/integration/test_sync_team_store.py."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

from srm_tui.storage.cache import Cache
from srm_tui.storage.writer import Holder, WriterBusy, WriterLock, me, process_alive


@pytest.fixture
def cache(tmp_path):
    c = Cache(tmp_path / "c.db")
    yield c
    c.close()


def _rows(cache):
    return [
        tuple(r)
        for r in cache.conn().execute(
            "SELECT what, pid, host, db_user FROM store_writers ORDER BY what"
        )
    ]


def _put(cache, pid, host, started_at):
    with cache.transaction() as tx:
        tx.execute(
            "INSERT INTO store_writers (what, pid, host, db_user, started_at) "
            "VALUES ('sync', ?, ?, 'someone', ?)",
            (pid, host, started_at),
        )


def _gone_pid() -> int:
    # Above the kernel's largest pid: no process can have it.
    return int(Path("/proc/sys/kernel/pid_max").read_text()) + 1


def test_the_lock_names_its_holder_and_goes_with_release(cache):
    pid, host, user = me()
    with WriterLock.acquire(cache, "sync"):
        assert _rows(cache) == [("sync", pid, host, user)]
        with pytest.raises(WriterBusy) as busy:
            WriterLock.acquire(cache, "sync")
        assert f"srm sync (pid {pid} on {host} as {user} since " in str(busy.value)
        assert str(busy.value).endswith("; only one sync writes at a time")
        # Another kind of writer has its own lock.
        with WriterLock.acquire(cache, "webhooks"):
            assert [r[0] for r in _rows(cache)] == ["sync", "webhooks"]
    assert _rows(cache) == []
    WriterLock.acquire(cache, "sync").release()  # free again


def test_a_live_holder_of_another_process_is_refused_by_name(cache):
    parent = os.getppid()  # alive, and started before the row says it took the lock
    _put(cache, parent, socket.gethostname(), int(time.time()))
    with pytest.raises(WriterBusy) as busy:
        WriterLock.acquire(cache, "sync")
    assert busy.value.holder.pid == parent and busy.value.holder.user == "someone"
    assert _rows(cache)[0][1] == parent  # the holder's row is left as it was


def test_a_dead_holders_row_is_taken_over(cache):
    _put(cache, _gone_pid(), socket.gethostname(), int(time.time()))
    with WriterLock.acquire(cache, "sync"):
        assert _rows(cache)[0][1] == os.getpid()


def test_a_pid_now_used_by_a_later_process_is_not_the_holder(cache):
    # The row is from 1970: the process that has this pid now started long after it.
    _put(cache, os.getppid(), socket.gethostname(), 1)
    with WriterLock.acquire(cache, "sync"):
        assert _rows(cache)[0][1] == os.getpid()


def test_another_hosts_holder_cannot_be_checked_so_it_counts_as_alive():
    assert process_alive(_gone_pid(), "some-other-host.example", None)
    assert not process_alive(_gone_pid(), socket.gethostname(), None)


def test_the_holder_is_described_with_what_is_known():
    at = 7 * 3600 + 58 * 60  # 07:58 UTC on the first day
    full = Holder("sync", 4242, "jump-1", "srm_sync", at)
    assert full.describe() == "srm sync (pid 4242 on jump-1 as srm_sync since 07:58 UTC)"
    assert Holder("webhooks", None, None, None, None).describe() == "another srm webhooks serve"
    busy = WriterBusy("webhooks", full)
    assert str(busy).endswith("only one webhook receiver writes at a time")

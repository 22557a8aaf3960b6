"""One writer of the vendor's data at a time (CONTRACT section 9): ``srm sync`` and
``srm webhooks serve`` each hold the store's writer lock for their kind while they run, so a
second one exits at once naming the process that holds it, instead of two syncs pulling the
same pages into one store.

PostgreSQL: a session advisory lock (``pg_try_advisory_lock``) on a connection of its own,
kept for the life of the process (storage/pg/writer.py); the server drops it when that
process dies, however it dies. The ``store_writers`` row names the holder for the second
writer's message. SQLite: the ``store_writers`` row is the lock itself, taken inside
``BEGIN IMMEDIATE``; a row whose process is gone (killed) is taken over.

Tests hold a writer at a known point with ``SRM_WRITER_HOLD_FILE``: once the lock is taken,
the holder waits while that file exists (never a timed wait in a test).
"""

from __future__ import annotations

import getpass
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from srm_tui.storage.cache import CacheError

# The writers a store knows, by the name their row and lock carry.
LABELS: dict[str, str] = {"sync": "srm sync", "webhooks": "srm webhooks serve"}
HOLD_ENV = "SRM_WRITER_HOLD_FILE"
_HOLD_POLL_S = 0.05


@dataclass(frozen=True)
class Holder:
    """Who holds a store's writer lock, as far as the store says."""

    what: str
    pid: int | None
    host: str | None
    user: str | None
    started_at: int | None

    def describe(self) -> str:
        """``srm sync (pid 4242 on jump-1 as srm_sync since 07:58 UTC)``."""
        parts = []
        if self.pid is not None:
            parts.append(f"pid {self.pid}")
        if self.host:
            parts.append(f"on {self.host}")
        if self.user:
            parts.append(f"as {self.user}")
        if self.started_at is not None:
            parts.append("since " + time.strftime("%H:%M UTC", time.gmtime(self.started_at)))
        label = LABELS.get(self.what, self.what)
        return f"{label} ({' '.join(parts)})" if parts else f"another {label}"


class WriterBusy(CacheError):
    """Another process holds the store's writer lock for this kind of writer."""

    def __init__(self, what: str, holder: Holder):
        self.what = what
        self.holder = holder
        super().__init__(
            f"the store is being written by {holder.describe()}; "
            f"only one {_one(what)} writes at a time"
        )


def _one(what: str) -> str:
    return {"sync": "sync", "webhooks": "webhook receiver"}.get(what, what)


def me() -> tuple[int, str, str]:
    """This process: (pid, host, OS user)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        user = str(os.getuid())
    return os.getpid(), socket.gethostname(), user


def process_alive(pid: int, host: str, since: int | None) -> bool:
    """Whether the process that wrote a writer row still runs. Another host's cannot be
    checked from here: it counts as alive. On this host a pid reused by a process started
    after the row was written does not count."""
    if host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # someone else's process: it exists
    started = _process_started(pid)
    return not (started is not None and since is not None and started > since + 1)


def _process_started(pid: int) -> float | None:
    """When process ``pid`` started (Unix time), from /proc; None where there is none."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(
            int(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
        ticks = int(stat.rsplit(")", 1)[1].split()[19])  # field 22: starttime
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


# The locks this process holds, by (store location, what): ``held`` lets a sync engine run
# inside a command that already holds the lock (the CLI) without taking it twice.
_held: set[tuple[str, str]] = set()


def held(store: Any, what: str) -> bool:
    """Whether this process holds ``what``'s writer lock on ``store``."""
    return (store.location, what) in _held


class WriterLock:
    """The store's writer lock for one kind of writer (``sync``, ``webhooks``), held from
    ``acquire`` until ``release`` (or the end of a ``with`` block, or the process)."""

    def __init__(self, store: Any, what: str, handle: Any = None):
        self.store = store
        self.what = what
        self._handle = handle  # PostgreSQL: the lock's own connection
        self._released = False
        _held.add((store.location, what))

    @classmethod
    def acquire(cls, store: Any, what: str) -> WriterLock:
        """Take the lock or raise ``WriterBusy`` naming its holder. Then, for tests, wait
        while the file named by SRM_WRITER_HOLD_FILE exists."""
        if what not in LABELS:
            raise ValueError(f"unknown writer {what!r}")
        if store.dialect.name == "postgres":
            from srm_tui.storage.pg.writer import acquire as pg_acquire

            lock = cls(store, what, pg_acquire(store, what, LABELS[what]))
        else:
            _acquire_sqlite(store, what)
            lock = cls(store, what)
        _hold()
        return lock

    def alive(self) -> bool:
        """Whether this process still holds the lock. On PostgreSQL the lock lives as long as
        its connection: a restarted server or a terminated backend has dropped it (another
        writer may hold it now). A SQLite cache's row stays until released."""
        if self._released:
            return False
        return self._handle.alive() if self._handle is not None else True

    def release(self) -> None:
        """Give the lock back (idempotent); the row naming this process goes."""
        if self._released:
            return
        self._released = True
        _held.discard((self.store.location, self.what))
        if self._handle is not None:
            self._handle.release()
        else:
            _release_sqlite(self.store, self.what)

    def __enter__(self) -> WriterLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _hold() -> None:
    path = os.environ.get(HOLD_ENV)
    if not path:
        return
    while Path(path).exists():
        time.sleep(_HOLD_POLL_S)


def _acquire_sqlite(cache: Any, what: str) -> None:
    pid, host, user = me()
    now = int(time.time())
    with cache.transaction() as tx:  # BEGIN IMMEDIATE: one acquirer at a time
        row = tx.execute(
            "SELECT pid, host, db_user, started_at FROM store_writers WHERE what = ?", (what,)
        ).fetchone()
        if row is not None and process_alive(row[0], row[1], row[3]):
            raise WriterBusy(what, Holder(what, row[0], row[1], row[2], row[3]))
        tx.execute(
            "INSERT INTO store_writers (what, pid, host, db_user, started_at) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(what) DO UPDATE SET pid = excluded.pid, "
            "host = excluded.host, db_user = excluded.db_user, "
            "started_at = excluded.started_at, backend_pid = NULL",
            (what, pid, host, user, now),
        )


def _release_sqlite(cache: Any, what: str) -> None:
    pid, host, _ = me()
    with cache.transaction() as tx:
        tx.execute(
            "DELETE FROM store_writers WHERE what = ? AND pid = ? AND host = ?", (what, pid, host)
        )

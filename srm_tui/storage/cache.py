"""The SQLite cache: opening, migrating, one connection per thread, explicit transactions."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from srm_tui.storage.schema import MIGRATIONS, SCHEMA_VERSION


class CacheError(Exception):
    """The cache file cannot be used (newer schema, not a database, no permission)."""


def _create_private(path: Path) -> None:
    """Create the file with mode 0600 before SQLite opens it (its -wal/-shm copy the mode)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


class Cache:
    """The local cache. Safe to share between threads: each gets its own connection."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        # The longest this process waited for another writer (seconds): another srm on the
        # same file (a sync, a scheduled export) must never hold the console up for long.
        self.max_lock_wait = 0.0
        self.max_lock_held = 0.0  # and the longest it held the write lock itself
        if str(self.path) != ":memory:" and not self.path.exists():
            _create_private(self.path)
        self._migrate()

    # connections -----------------------------------------------------------------------

    def conn(self) -> sqlite3.Connection:
        """This thread's connection (created on first use)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None,
                                   check_same_thread=True)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            # Deleted personal data is overwritten, not left in free pages.
            conn.execute("PRAGMA secure_delete=ON")
            conn.execute("PRAGMA busy_timeout=10000")
            conn.execute("PRAGMA cache_size=-65536")
            conn.execute("PRAGMA temp_store=MEMORY")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def db(self):
        """A sqlite-utils view of this thread's connection (imported on first use)."""
        import sqlite_utils

        return sqlite_utils.Database(self.conn())

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An explicit write transaction: all of it commits, or none of it."""
        conn = self.conn()
        if conn.in_transaction:
            # Nested use joins the outer transaction through a savepoint.
            conn.execute("SAVEPOINT nested")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK TO nested")
                conn.execute("RELEASE nested")
                raise
            conn.execute("RELEASE nested")
            return
        started = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        waited = time.perf_counter() - started
        if waited > self.max_lock_wait:
            self.max_lock_wait = waited
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        held = time.perf_counter() - started - waited
        if held > self.max_lock_held:
            self.max_lock_held = held

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                try:
                    conn.close()
                except sqlite3.ProgrammingError:
                    pass  # closed from another thread's side already
            self._connections.clear()
        self._local = threading.local()

    # schema ----------------------------------------------------------------------------

    def _migrate(self) -> None:
        try:
            conn = self.conn()
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise CacheError(f"{self.path} is not an srm cache: {exc}") from exc
        if version > SCHEMA_VERSION:
            raise CacheError(
                f"{self.path} was written by a newer srm (schema {version}, this srm knows "
                f"{SCHEMA_VERSION}); upgrade srm"
            )
        for index in range(version, SCHEMA_VERSION):
            with self.transaction() as tx:
                for statement in _statements(MIGRATIONS[index]):
                    tx.execute(statement)
                tx.execute(f"PRAGMA user_version={index + 1}")

    @property
    def schema_version(self) -> int:
        return self.conn().execute("PRAGMA user_version").fetchone()[0]

    # meta ------------------------------------------------------------------------------

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str | None) -> None:
        with self.transaction() as tx:
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )


def _statements(script: str) -> Iterator[str]:
    """Split a migration script into statements (triggers hold ';' inside BEGIN…END)."""
    buffer = ""
    for line in script.splitlines(keepends=True):
        if line.strip().startswith("--"):
            continue
        buffer += line
        if sqlite3.complete_statement(buffer):
            statement = buffer.strip()
            if statement:
                yield statement
            buffer = ""
    if buffer.strip():
        yield buffer.strip()

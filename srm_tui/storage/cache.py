"""The SQLite cache: opening, migrating, one connection per thread, explicit transactions.

A cache that cannot be written (a read-only medium, no write permission) opens read only:
SQLite's ``mode=ro``, or ``immutable=1`` where even that needs a file it cannot create (the
WAL's shared-memory file on a read-only folder). Everything reads as usual; every write
transaction is refused with ``CacheReadOnly``, which says why in one line.

A cache path that does not exist is ``CacheMissing`` (exit 2) unless the caller creates
caches (sync, import, sandbox seed-db, the console that syncs); a folder is created only
when it is srm's own data folder, never one the user named.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from srm_tui.storage import payload
from srm_tui.storage.db import SQLITE
from srm_tui.storage.schema import MIGRATIONS, SCHEMA_VERSION

WAL_SIZE_LIMIT = 32 * 1024 * 1024


class CacheError(Exception):
    """The cache file cannot be used (newer schema, not a database, no permission)."""


class CacheMissing(CacheError):
    """The cache path does not exist (or its folder does not): bad input, exit 2."""


class CacheReadOnly(CacheError):
    """A write asked of a cache opened read only."""


def _create_private(path: Path, make_folder: bool) -> None:
    """Create the file with mode 0600 before SQLite opens it (its -wal/-shm copy the mode);
    never through a link, never over a file, and the folder only when it is srm's own."""
    from srm_tui.storage.files import create_private

    if not path.parent.is_dir():
        if not make_folder:
            raise CacheMissing(
                f"{path}: the folder {path.parent} does not exist (srm creates "
                "no folder you did not ask for)"
            )
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        create_private(path)
    except FileExistsError:
        pass  # created meanwhile by another srm, or a link: SQLite's open decides
    except OSError as exc:
        raise CacheError(f"{path}: cannot create the cache: {exc.strerror or exc}") from exc


def writable(path: Path) -> bool:
    """Whether SQLite can write the cache: the file and its folder (the WAL's files live
    there) writable by this process, on a filesystem not mounted read only."""
    try:
        if os.statvfs(path).f_flag & os.ST_RDONLY:
            return False
    except OSError:
        pass
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


class Cache:
    """The local cache. Safe to share between threads: each gets its own connection.

    ``create`` makes a missing cache file (``make_folder`` also its folder: srm's own data
    folder only); without it a missing path is ``CacheMissing``."""

    dialect = SQLITE  # the SQL fragments this store's statements use (storage.db.Dialect)

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        create: bool = True,
        make_folder: bool = False,
        say: Callable[[str], None] | None = None,
    ):
        self.path = Path(path)
        self._say = say  # hears what a long upgrade of the file is doing
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        # Which thread made each connection, and which are inside a write transaction now:
        # close() never closes a connection another live thread is committing on (CPython's
        # sqlite3 crashes when a connection is closed under a running statement); that
        # thread closes it when its transaction ends.
        self._owners: dict[int, threading.Thread] = {}
        self._busy: set[int] = set()
        self._left: set[int] = set()
        # The longest this process waited for another writer (seconds): another srm on the
        # same file (a sync, a scheduled export) must never hold the console up for long.
        self.max_lock_wait = 0.0
        self.max_lock_held = 0.0  # and the longest it held the write lock itself
        self.read_only = False
        self._uri: str | None = None
        memory = str(self.path) == ":memory:"
        if not memory and not self.path.exists():
            if not create:
                raise CacheMissing(
                    f"{self.path}: no srm cache here (srm sync creates one; check --db / SRM_DB)"
                )
            _create_private(self.path, make_folder)
        if not memory and not writable(self.path):
            self._open_read_only()
        self._migrate()

    def _open_read_only(self) -> None:
        """Pick the read-only way SQLite can open this file: ``mode=ro`` when it can make
        or use the WAL's files, else ``immutable=1`` (nothing else writes a read-only
        medium, so nothing can change under it)."""
        self.read_only = True
        base = f"file:{quote(str(self.path.absolute()))}"
        for query in ("mode=ro", "mode=ro&immutable=1"):
            try:
                conn = sqlite3.connect(f"{base}?{query}", uri=True)
                try:
                    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
                finally:
                    conn.close()
            except sqlite3.DatabaseError:
                continue
            self._uri = f"{base}?{query}"
            return
        self._uri = f"{base}?mode=ro&immutable=1"  # the error, if any, comes from _migrate

    @property
    def location(self) -> str:
        """The cache's path, for messages (a PostgreSQL store gives its redacted URL)."""
        return str(self.path)

    def refuse_writes_reason(self) -> str:
        return (
            f"the cache {self.path} is read only (a read-only medium or no write "
            "permission): everything can be read, but actions, notes, syncs and saves "
            "are refused; copy it somewhere writable to work on it"
        )

    # connections -----------------------------------------------------------------------

    def conn(self) -> sqlite3.Connection:
        """This thread's connection (created on first use)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            # Each thread uses only its own connection; check_same_thread is off so that
            # close() can close every thread's (one left open keeps stale POSIX locks).
            if self._uri:
                conn = sqlite3.connect(
                    self._uri, uri=True, timeout=10, isolation_level=None, check_same_thread=False
                )
            else:
                conn = sqlite3.connect(
                    self.path, timeout=10, isolation_level=None, check_same_thread=False
                )
            conn.row_factory = sqlite3.Row
            if not self.read_only:  # setting the journal mode writes the file
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            # Deleted personal data is overwritten, not left in free pages.
            conn.execute("PRAGMA secure_delete=ON")
            conn.execute("PRAGMA busy_timeout=10000")
            conn.execute("PRAGMA cache_size=-65536")
            conn.execute("PRAGMA temp_store=MEMORY")
            # The WAL file shrinks back to this once a checkpoint has emptied it (a sync lets
            # it grow to SYNC_CHECKPOINT_PAGES between checkpoints).
            conn.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
                self._owners[id(conn)] = threading.current_thread()
        return conn

    @contextmanager
    def transaction(self, vendor: bool = False) -> Iterator[sqlite3.Connection]:
        """An explicit write transaction: all of it commits, or none of it. ``vendor`` marks a
        writer of the vendor's data: the PostgreSQL store takes its vendor lock; SQLite's one
        writer lock covers both."""
        if self.read_only:
            raise CacheReadOnly(self.refuse_writes_reason())
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
        with self._lock:
            self._busy.add(id(conn))
        try:
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
        finally:
            with self._lock:
                self._busy.discard(id(conn))
                left = id(conn) in self._left
                self._left.discard(id(conn))
            if left:  # the cache was closed while this transaction ran: done with it now
                conn.close()

    def close(self) -> None:
        """Close every thread's connection (one left open keeps stale POSIX locks), except
        one another live thread is in a write transaction on: that thread closes it when
        the transaction ends, committed or rolled back as it goes."""
        me = threading.current_thread()
        with self._lock:
            for conn in self._connections:
                owner = self._owners.get(id(conn))
                if id(conn) in self._busy and owner not in (None, me) and owner.is_alive():
                    self._left.add(id(conn))
                    continue
                try:
                    conn.close()
                except sqlite3.ProgrammingError:
                    pass  # closed from another thread's side already
            self._connections.clear()
            self._owners.clear()
        self._local = threading.local()

    # schema ----------------------------------------------------------------------------

    def _migrate(self) -> None:
        try:
            conn = self.conn()
            version = conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise CacheError(f"{self.path} is not an srm cache: {exc}") from exc
        if self.read_only and version < SCHEMA_VERSION:
            raise CacheError(
                f"{self.path} is read only and was written by an older srm "
                f"(schema {version}, this srm needs {SCHEMA_VERSION}); open it "
                "once with write access to upgrade it"
            )
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
        if not self.read_only:
            # Rows a migration left plain JSON are compressed now (resumable, chunked).
            payload.convert_pending(self, self._say)

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

"""The team's PostgreSQL store: a connection pool behind the same surface as the SQLite cache.

Over 400 lines: the pool, the statement runner and the per-thread transaction pins share one
lifecycle (checkout, pin, release, error mapping), read best in one place.

``conn().execute(sql, params)`` runs one statement (SQLite placeholders, translated) in
autocommit on a pooled connection and fetches its rows before the connection goes back, as
SQLite's autocommit does; no connection stays tied to a short-lived worker thread.
``transaction()`` pins one connection to the calling thread: ``BEGIN`` (READ COMMITTED), then
the store's advisory transaction lock, so check-then-write code that relied on SQLite's single
writer (``BEGIN IMMEDIATE``) stays correct: the lock is the first statement, so everything after
it sees the previous holder's commit. A vendor writer (sync, webhooks, imports) takes the
vendor lock, then the own lock (always in that order: no deadlock). While pinned, the thread's
``conn().execute`` runs on the pinned connection; a nested ``transaction()`` is a savepoint.

Rows read as sqlite3.Row does (storage.db.Row); numeric comes back int or float, never Decimal
(``sum(bigint)`` is numeric in PostgreSQL); every Python int is sent as int8, so ``? * 1000000``
cannot overflow a smallint and one plan serves every value.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote

import psycopg
from psycopg.types.numeric import (
    Int8BinaryDumper,
    Int8Dumper,
    NumericBinaryLoader,
    NumericLoader,
)
from psycopg_pool import ConnectionPool, PoolTimeout

from srm_tui.storage.cache import CacheError, CacheMissing, CacheReadOnly
from srm_tui.storage.db import POSTGRES, redact_url, row_class
from srm_tui.storage.pg.translate import to_psycopg

# Advisory lock keys (bigint, one namespace per database): srm's own writes, and the vendor's
# data. "srm" in ASCII (0x73726d) followed by a number, to stay clear of other applications.
OWN_LOCK_KEY = 0x73726D_0001
VENDOR_LOCK_KEY = 0x73726D_0002

# The raw password of a URL's userinfo (up to the last '@' before the path).
_RAW_PASSWORD = re.compile(r"^[a-z][a-z0-9+.-]*://[^:@/?#]*:([^/?#]*)@", re.I)

CONNECT_TIMEOUT_S = 10  # the first connection and the pool's opening
CHECKOUT_TIMEOUT_S = 30  # waiting for a pooled connection when all are busy


class StoreUnreachable(CacheError):
    """The PostgreSQL store cannot be reached (no server, refused login, lost connection)."""


class StoreUrlInvalid(CacheMissing):
    """The store's URL cannot be read (bad input: exit 2, as a missing cache path)."""


class StoreBusy(CacheError):
    """Every pooled connection stayed in use for the whole wait."""


class StoreUsageError(CacheError):
    """A transaction used in a way PostgreSQL cannot honour (a bug in the caller)."""


# Loading and dumping ------------------------------------------------------------------------


def _number(value: Any) -> int | float:
    """A Decimal as SQLite would return it: integral scale → int, else float."""
    if value.is_nan():
        return float("nan")
    if value.as_tuple().exponent >= 0:  # type: ignore[operator]
        return int(value)
    return float(value)


class _NumericLoader(NumericLoader):
    def load(self, data: Any) -> int | float:
        return _number(super().load(data))


class _NumericBinaryLoader(NumericBinaryLoader):
    def load(self, data: Any) -> int | float:
        return _number(super().load(data))


def _configure(conn: psycopg.Connection) -> None:
    adapters = conn.adapters
    adapters.register_loader("numeric", _NumericLoader)
    adapters.register_loader("numeric", _NumericBinaryLoader)
    adapters.register_dumper(int, Int8Dumper)
    adapters.register_dumper(int, Int8BinaryDumper)


def _row_factory(cursor: Any) -> Any:
    description = cursor.description
    if description is None:
        return tuple
    return row_class(tuple(column.name for column in description))


# Results ------------------------------------------------------------------------------------


class Result:
    """A statement's outcome, read after its connection went back to the pool: ``fetchone``,
    ``fetchall``, ``fetchmany``, iteration, ``rowcount``, ``description``."""

    __slots__ = ("_rows", "_next", "rowcount", "description")

    def __init__(self, rows: list[Any], rowcount: int, description: Any) -> None:
        self._rows = rows
        self._next = 0
        self.rowcount = rowcount
        self.description = description

    def fetchone(self) -> Any:
        """The next row, or None."""
        if self._next >= len(self._rows):
            return None
        row = self._rows[self._next]
        self._next += 1
        return row

    def fetchmany(self, size: int = 1) -> list[Any]:
        """Up to ``size`` more rows."""
        rows = self._rows[self._next : self._next + size]
        self._next += len(rows)
        return rows

    def fetchall(self) -> list[Any]:
        """Every row not read yet."""
        rows = self._rows[self._next :]
        self._next = len(self._rows)
        return rows

    def __iter__(self) -> Iterator[Any]:
        while (row := self.fetchone()) is not None:
            yield row


def _run(conn: psycopg.Connection, query: str, params: Any, many: bool) -> Result:
    with conn.cursor() as cur:
        if many:
            cur.executemany(query, params)
        else:
            cur.execute(query, params)
        rows = cur.fetchall() if cur.description is not None else []
        return Result(rows, cur.rowcount, cur.description)


class _Pin:
    __slots__ = ("conn", "vendor", "savepoints")

    def __init__(self, conn: psycopg.Connection, vendor: bool) -> None:
        self.conn = conn
        self.vendor = vendor
        self.savepoints = 0


def _statement_word(sql: str) -> str:
    """The transaction-control word a bare statement is (BEGIN, COMMIT, ROLLBACK), else ''."""
    words = sql.strip().rstrip(";").upper().split()
    if not words:
        return ""
    if words[0] == "BEGIN" and all(
        w in ("IMMEDIATE", "DEFERRED", "EXCLUSIVE", "TRANSACTION") for w in words[1:]
    ):
        return "BEGIN"
    if words[0] in ("COMMIT", "END") and words[1:] in ([], ["TRANSACTION"]):
        return "COMMIT"
    if words[0] == "ROLLBACK" and words[1:] in ([], ["TRANSACTION"]):
        return "ROLLBACK"
    return ""


class Connection:
    """What ``PgStore.conn()`` and ``transaction()`` hand out: the SQLite connection's
    surface over the pool (see the module docstring)."""

    dialect = POSTGRES  # code handed only a connection (search) picks its SQL by this

    def __init__(self, store: PgStore) -> None:
        self._store = store

    @property
    def in_transaction(self) -> bool:
        """Whether this thread holds a transaction open."""
        return self._store._pin() is not None

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Result:
        """Run one statement; a bare BEGIN / COMMIT / ROLLBACK opens or ends this thread's
        transaction as ``transaction()`` does (BEGIN takes the own lock)."""
        word = _statement_word(sql)
        if word == "BEGIN":
            self._store._begin(vendor=False)
            return Result([], -1, None)
        if word and self._store._pin() is not None:
            self._store._end(commit=word == "COMMIT")
            return Result([], -1, None)
        return self._store._execute(sql, params, many=False)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any] | dict[str, Any]]) -> Result:
        """Run one statement once per parameter row (pipelined)."""
        return self._store._execute(sql, rows, many=True)


# The store ----------------------------------------------------------------------------------


class PgStore:
    """The team's store on PostgreSQL (see the module docstring). The pool opens on first use;
    a server that cannot be reached is a ``StoreUnreachable`` saying why in one line."""

    dialect = POSTGRES

    def __init__(
        self,
        url: str,
        *,
        min_size: int = 1,
        max_size: int = 8,
        application_name: str = "srm",
        checkout_timeout: float = CHECKOUT_TIMEOUT_S,
    ) -> None:
        self.url = url
        self._checkout_timeout = checkout_timeout
        self.location = redact_url(url)
        self.read_only = False
        self._min_size = min_size
        self._max_size = max_size
        self._application_name = application_name
        self._pool: ConnectionPool | None = None
        self._pool_lock = threading.Lock()
        self._local = threading.local()
        self._closed = False
        self._connection = Connection(self)
        # Passwords to keep out of every message, however libpq words its error.
        raw = _RAW_PASSWORD.match(url)
        self._secrets = {raw.group(1), unquote(raw.group(1))} - {""} if raw else set()
        try:
            password = psycopg.conninfo.conninfo_to_dict(url).get("password")
        except psycopg.ProgrammingError as error:
            raise StoreUrlInvalid(
                f"{self.location}: not a valid PostgreSQL URL: {self._one_line(error)}"
            ) from None
        if password:
            self._secrets.add(str(password))

    # messages ------------------------------------------------------------------------------

    def _one_line(self, error: BaseException) -> str:
        """The server's or libpq's reason on one line, with no password in it."""
        text = " ".join(str(error).split()) or type(error).__name__
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return redact_url(text)

    def _unreachable(self, error: BaseException) -> StoreUnreachable:
        return StoreUnreachable(
            f"cannot reach the PostgreSQL store {self.location}: {self._one_line(error)}"
        )

    # the pool ------------------------------------------------------------------------------

    def _open(self) -> ConnectionPool:
        pool = self._pool
        if pool is not None:
            return pool
        with self._pool_lock:
            if self._pool is not None:
                return self._pool
            if self._closed:
                raise StoreUsageError(f"the store {self.location} is closed")
            self._probe()  # the pool would only say that it timed out; this says why
            pool = ConnectionPool(
                self.url,
                kwargs=self._kwargs(),
                min_size=self._min_size,
                max_size=self._max_size,
                configure=_configure,
                open=False,
                timeout=self._checkout_timeout,
                name=f"srm {self.location}",
            )
            try:
                pool.open(wait=True, timeout=CONNECT_TIMEOUT_S)
            except PoolTimeout as error:
                pool.close()
                raise self._unreachable(error) from None
            self._pool = pool
            return pool

    def _kwargs(self) -> dict[str, Any]:
        return {
            "autocommit": True,
            "row_factory": _row_factory,
            "application_name": self._application_name,
            "connect_timeout": CONNECT_TIMEOUT_S,
        }

    def _probe(self) -> None:
        """Connect once outside the pool: StoreUnreachable with libpq's reason if that fails
        (the pool itself only says that it timed out)."""
        try:
            probe = psycopg.connect(self.url, **self._kwargs())
        except psycopg.Error as error:
            raise self._unreachable(error) from None
        probe.close()

    def _getconn(self) -> psycopg.Connection:
        pool = self._open()
        try:
            return pool.getconn()
        except PoolTimeout:
            # No connection came: the server may be gone (the pool keeps trying to reconnect)
            # or every connection is in use.
            self._probe()
            raise StoreBusy(
                f"the PostgreSQL store {self.location}: all {self._max_size} connections "
                f"stayed busy for {self._checkout_timeout:g} s"
            ) from None

    @staticmethod
    def _lost(error: BaseException, conn: psycopg.Connection | None) -> bool:
        """Whether ``error`` means the connection is gone (not a statement's own error)."""
        if isinstance(error, psycopg.errors.ConnectionException):
            return True
        if isinstance(error, psycopg.OperationalError) and getattr(error, "sqlstate", None) in (
            None,
            "57P01",  # admin_shutdown
            "57P02",  # crash_shutdown
            "57P03",  # cannot_connect_now
        ):
            return True
        return conn is not None and (conn.closed or conn.broken)

    # Store ---------------------------------------------------------------------------------

    def conn(self) -> Connection:
        """The statement runner (one per store; it follows the calling thread's transaction)."""
        return self._connection

    def _pin(self) -> _Pin | None:
        return getattr(self._local, "pin", None)

    def _execute(self, sql: str, params: Any, many: bool) -> Result:
        query = to_psycopg(sql)
        if params is None:
            params = ()
        pin = self._pin()
        conn: psycopg.Connection | None = None
        try:
            if pin is not None:
                conn = pin.conn
                return _run(conn, query, params, many)
            conn = self._getconn()
            try:
                return _run(conn, query, params, many)
            finally:
                assert self._pool is not None
                self._pool.putconn(conn)
        except psycopg.Error as error:
            if self._lost(error, conn):
                raise self._unreachable(error) from error
            raise

    def _begin(self, vendor: bool) -> None:
        if self.read_only:
            raise CacheReadOnly(f"the PostgreSQL store {self.location} is read only for this login")
        if self._pin() is not None:
            raise StoreUsageError("BEGIN inside a transaction: use transaction() to nest")
        conn = self._getconn()
        try:
            conn.execute("BEGIN ISOLATION LEVEL READ COMMITTED")
            for key in (VENDOR_LOCK_KEY, OWN_LOCK_KEY) if vendor else (OWN_LOCK_KEY,):
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (key,))
        except BaseException as error:
            self._release(conn, rollback=True)
            if isinstance(error, psycopg.Error) and self._lost(error, conn):
                raise self._unreachable(error) from error
            raise
        self._local.pin = _Pin(conn, vendor)

    def _end(self, commit: bool) -> None:
        pin = self._pin()
        if pin is None:
            return
        self._local.pin = None
        if not commit:
            self._release(pin.conn, rollback=True)
            return
        try:
            pin.conn.execute("COMMIT")
        except psycopg.Error as error:
            self._release(pin.conn, rollback=True)
            if self._lost(error, pin.conn):
                raise self._unreachable(error) from error
            raise
        self._release(pin.conn, rollback=False)

    def _release(self, conn: psycopg.Connection, rollback: bool) -> None:
        if rollback and not conn.closed:
            try:
                conn.execute("ROLLBACK")
            except psycopg.Error:
                pass  # a lost connection: the server rolled it back; the pool discards it
        if self._pool is not None:
            self._pool.putconn(conn)

    @contextmanager
    def transaction(self, vendor: bool = False) -> Iterator[Connection]:
        """An explicit write transaction holding the store's lock: all of it commits or none
        of it. Nested in the same thread: a savepoint (a vendor one cannot nest in an own one:
        the vendor lock must come first)."""
        pin = self._pin()
        if pin is not None:
            if vendor and not pin.vendor:
                raise StoreUsageError(
                    "a vendor transaction inside an own one would take the locks out of order"
                )
            pin.savepoints += 1
            name = f"nested_{pin.savepoints}"
            pin.conn.execute(f"SAVEPOINT {name}")
            try:
                yield self._connection
            except BaseException:
                if not pin.conn.closed:
                    pin.conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                    pin.conn.execute(f"RELEASE SAVEPOINT {name}")
                raise
            finally:
                pin.savepoints -= 1
            pin.conn.execute(f"RELEASE SAVEPOINT {name}")
            return
        self._begin(vendor)
        try:
            yield self._connection
        except BaseException:
            self._end(commit=False)
            raise
        self._end(commit=True)

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        """A value of the store's ``meta`` table."""
        row = self.conn().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str | None) -> None:
        """Set a value of the store's ``meta`` table."""
        with self.transaction() as tx:
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def close(self) -> None:
        """Close every pooled connection (a transaction still open is rolled back)."""
        with self._pool_lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def __repr__(self) -> str:
        return f"<PgStore {self.location}>"

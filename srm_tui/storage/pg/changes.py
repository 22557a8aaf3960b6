"""The change feed on PostgreSQL (storage/changes.py says what it is for).

One autocommit connection of its own (not the pool's: it sits in LISTEN for the console's
life), ``LISTEN srm_changes``, then each ``wait`` waits for a notification and reads the log
after what it has seen. The NOTIFY only wakes it: the rows are the truth, so a notification
lost with a dropped connection loses nothing (after a reconnect the read starts where it
stopped).

Sequence numbers are taken when a row is written, not when its transaction commits, so a
row may become visible after a higher one was read. The feed therefore reads from ``floor``
(every row at or below it was seen or will never come) and remembers the rows above it it has
delivered; a hole in the numbers (a transaction still open, or one rolled back) holds the
floor for up to GAP_GRACE_S seconds, after which it is passed.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable

import psycopg

from srm_tui.storage.changes import Change
from srm_tui.storage.db import redact_url

CHANNEL = "srm_changes"
# A hole in the log's numbers older than this is a rolled-back write, not a slow commit.
GAP_GRACE_S = 60.0
# Rows read at most per wait (the rest come with the next one, at once).
BATCH = 5000
CONNECT_TIMEOUT_S = 10


class PgChangeFeed:
    """``ChangeFeed`` over a PostgreSQL store's ``change_log`` (see the module docstring).
    Starts after ``floor`` when given: the last row logged when the console first read the
    store, so what is logged before the feed's own connection is up (a slow start on a busy
    host, a first connection refused) still comes; else after the last row logged when it
    first connects."""

    def __init__(
        self,
        url: str,
        *,
        label: str = "srm console",
        clock: Callable[[], float] = time.monotonic,
        floor: int | None = None,
    ) -> None:
        self._url = url
        self._label = f"{label} pid={os.getpid()} host={socket.gethostname()}"[:63]
        self._clock = clock
        self._conn: psycopg.Connection | None = None
        self._floor = floor  # every row at or below it was delivered or never comes
        self._seen: set[int] = set()  # rows above the floor already delivered
        self._gap_since: float | None = None  # when the hole right above the floor was found
        self._connected = False  # a connection was made once (the next ones are reconnects)
        self.reconnects = 0  # connections made after the first (for tests and the log)
        self.location = redact_url(url)

    # the connection --------------------------------------------------------------------

    def _connect(self) -> psycopg.Connection:
        conn = psycopg.connect(
            self._url,
            autocommit=True,
            application_name=self._label,
            connect_timeout=CONNECT_TIMEOUT_S,
        )
        try:
            conn.execute(f"LISTEN {CHANNEL}")
            if self._floor is None:
                self._floor = conn.execute(
                    "SELECT coalesce(max(seq), 0) FROM change_log"
                ).fetchone()[0]
            if self._connected:
                self.reconnects += 1
        except BaseException:
            conn.close()
            raise
        self._conn, self._connected = conn, True
        return conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except psycopg.Error:
                pass  # already broken: nothing to close

    @property
    def backend_pid(self) -> int | None:
        """The server process of the feed's connection (None while it has none)."""
        conn = self._conn
        return conn.info.backend_pid if conn is not None and not conn.closed else None

    # reading ---------------------------------------------------------------------------

    def wait(self, timeout: float) -> list[Change]:
        """See storage.changes.ChangeFeed.wait. A server out of reach is not an error here:
        the call waits out ``timeout`` and the next one tries again."""
        deadline = time.monotonic() + timeout
        try:
            conn = self._conn or self._connect()
            changes = self._read(conn)  # logged while the feed was away, or not yet read
            if changes:
                return changes
            left = deadline - time.monotonic()
            if left > 0:
                for _ in conn.notifies(timeout=left, stop_after=1):
                    break
            return self._read(conn)
        except psycopg.OperationalError:
            # Terminated, restarted or unreachable: taken up again on the next call, which
            # reads from the floor, so nothing logged meanwhile is missed.
            self._drop()
            left = deadline - time.monotonic()
            if left > 0:
                time.sleep(min(left, 1.0))  # not a busy loop against a server that is down
            return []

    def _read(self, conn: psycopg.Connection) -> list[Change]:
        assert self._floor is not None
        rows = conn.execute(
            "SELECT seq, at, kind, customer_ids, source FROM change_log WHERE seq > %s "
            "ORDER BY seq LIMIT %s",
            (self._floor, BATCH),
        ).fetchall()
        fresh = [r for r in rows if r[0] not in self._seen]
        self._seen.update(r[0] for r in fresh)
        self._advance()
        return [
            Change(
                seq=r[0],
                at=r[1],
                kind=r[2],
                customer_ids=None if r[3] is None else tuple(r[3]),
                source=r[4],
            )
            for r in fresh
        ]

    def _advance(self) -> None:
        """Move the floor over the rows seen in a row; over a hole once it is old enough."""
        assert self._floor is not None
        while self._seen:
            if self._floor + 1 in self._seen:
                self._floor += 1
                self._seen.discard(self._floor)
                self._gap_since = None
                continue
            now = self._clock()
            if self._gap_since is None:
                self._gap_since = now
            if now - self._gap_since < GAP_GRACE_S:
                return
            self._floor = min(self._seen) - 1  # the hole is a rolled-back write: passed
            self._gap_since = None

    def close(self) -> None:
        """End the feed's connection (a later ``wait`` would open a new one)."""
        self._drop()

"""The writer's wake-up on the team store: ``LISTEN srm_requests`` on a connection of its own
(storage/requests.py queues a request and notifies in one transaction, so the notification
arrives once the request is readable). A lost connection is opened again on the next wait;
meanwhile the wait is a plain timed one, and the writer's next pass reads the table anyway,
so a notification missed across a reconnect delays a request, never loses it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import psycopg
from psycopg import sql

from srm_tui.storage.pg.connection import CONNECT_TIMEOUT_S

if TYPE_CHECKING:
    from srm_tui.storage.pg.connection import PgStore


class Listener:
    """``wait(timeout)`` returns True when a notification on ``channel`` arrived within
    ``timeout`` seconds, False when the time ran out."""

    def __init__(self, store: PgStore, channel: str) -> None:
        self._url = store.url
        self._channel = channel
        self._conn: psycopg.Connection | None = None

    def _connect(self) -> psycopg.Connection | None:
        if self._conn is not None and not self._conn.closed:
            return self._conn
        try:
            conn = psycopg.connect(
                self._url,
                autocommit=True,
                application_name="srm sync --watch (listen)",
                connect_timeout=CONNECT_TIMEOUT_S,
            )
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
        except psycopg.Error:
            return None
        self._conn = conn
        return conn

    def start(self) -> bool:
        """Listen from now on (before the first pass reads the table); False when the store
        cannot be reached now (the waits retry)."""
        return self._connect() is not None

    def wait(self, timeout: float) -> bool:
        """Block until a notification or ``timeout`` seconds; True when one arrived."""
        conn = self._connect()
        if conn is None:
            time.sleep(max(0.0, timeout))
            return False
        try:
            # (A notification that arrives later is kept in the connection's backlog and
            # wakes the next wait: one more pass, which finds the work done.)
            return bool(list(conn.notifies(timeout=max(0.0, timeout), stop_after=1)))
        except psycopg.Error:
            self.close()
        return False

    def close(self) -> None:
        """Stop listening."""
        if self._conn is not None:
            try:
                self._conn.close()
            except psycopg.Error:
                pass
            self._conn = None

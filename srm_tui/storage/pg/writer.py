"""The writer lock on the PostgreSQL store (storage/writer.py says what it is for).

A session advisory lock, one key per kind of writer, taken with ``pg_try_advisory_lock`` on a
connection of its own that the process keeps until it ends: the server releases the lock when
that connection goes, so a killed sync never leaves the store locked. The connection's
``application_name`` (``srm sync pid=N host=H``) and the ``store_writers`` row both name the
holder; the row is trusted only while its ``backend_pid`` is the lock's holder (a killed
writer's row stays behind until the next one overwrites it).
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

import psycopg

from srm_tui.storage.cache import CacheError, CacheReadOnly
from srm_tui.storage.pg.connection import CONNECT_TIMEOUT_S, StoreUnreachable

if TYPE_CHECKING:
    from srm_tui.storage.pg.connection import PgStore
    from srm_tui.storage.writer import Holder

# Session advisory lock keys ("srm" then a number; the transaction locks use 1 and 2).
WRITER_KEYS: dict[str, int] = {"sync": 0x73726D_0010, "webhooks": 0x73726D_0011}
_APP_NAME = re.compile(r"\bpid=(\d+) host=(\S*)")
_APP_NAME_MAX = 63  # PostgreSQL cuts application_name at NAMEDATALEN - 1 bytes

# The sessions holding one advisory lock key (a bigint key is split in classid/objid).
_HOLDERS = """
    SELECT l.pid FROM pg_locks l
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND l.classid::bigint = %s AND l.objid::bigint = %s
"""


class PgWriterHandle:
    """The lock's own connection; ``release`` ends it (and with it the lock)."""

    def __init__(self, conn: psycopg.Connection, what: str, key: int):
        self.conn = conn
        self.what = what
        self.key = key

    def alive(self) -> bool:
        """Whether the lock is still held: its connection answers (a server restart or a
        terminated backend has taken the lock with it)."""
        if self.conn.closed:
            return False
        try:
            self.conn.execute("SELECT 1")
        except psycopg.Error:
            return False
        return True

    def release(self) -> None:
        """Remove this process's row, unlock, close the connection (a lost connection has
        released the lock already)."""
        if self.conn.closed:
            return
        try:
            self.conn.execute(
                "DELETE FROM store_writers WHERE what = %s AND backend_pid = pg_backend_pid()",
                (self.what,),
            )
            self.conn.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
        except psycopg.Error:
            pass  # the server or the connection is gone: so is the lock
        finally:
            self.conn.close()


def acquire(store: PgStore, what: str, label: str) -> PgWriterHandle:
    """Take ``what``'s writer lock on ``store`` or raise ``WriterBusy`` naming the holder."""
    from srm_tui.storage.writer import WriterBusy, me

    pid, host, _ = me()
    key = WRITER_KEYS[what]
    name = f"{label} pid={pid} host={host}".encode()[:_APP_NAME_MAX].decode("utf-8", "ignore")
    try:
        conn = psycopg.connect(
            store.url, autocommit=True, application_name=name, connect_timeout=CONNECT_TIMEOUT_S
        )
    except psycopg.Error as error:
        raise StoreUnreachable(
            f"cannot reach the PostgreSQL store {store.location}: {store._one_line(error)}"
        ) from None
    try:
        for _ in range(3):  # a holder may let go between our try and our look
            if conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()[0]:
                break
            holder = _holder(conn, what, key)
            if holder is not None:
                raise WriterBusy(what, holder)
        else:
            from srm_tui.storage.writer import Holder

            raise WriterBusy(what, Holder(what, None, None, None, None))
        conn.execute(
            "INSERT INTO store_writers (what, pid, host, db_user, started_at, backend_pid) "
            "VALUES (%s, %s, %s, current_user, %s, pg_backend_pid()) ON CONFLICT (what) DO "
            "UPDATE SET pid = excluded.pid, host = excluded.host, db_user = excluded.db_user, "
            "started_at = excluded.started_at, backend_pid = excluded.backend_pid",
            (what, pid, host, int(time.time())),
        )
    except psycopg.errors.InsufficientPrivilege:
        conn.close()
        raise CacheReadOnly(
            f"this login may not write the team store {store.location}: {label} needs the "
            "srm_sync role"
        ) from None
    except psycopg.Error as error:
        conn.close()
        raise CacheError(f"the writer lock on {store.location}: {store._one_line(error)}") from None
    except BaseException:
        conn.close()
        raise
    return PgWriterHandle(conn, what, key)


def _holder(conn: psycopg.Connection, what: str, key: int) -> Holder | None:
    """Who holds ``key``: its store_writers row when that row is the holder's, else what
    the holder's session says of itself; None when nobody holds it any more."""
    from srm_tui.storage.writer import Holder

    parts = (key >> 32, key & 0xFFFFFFFF)
    row = conn.execute(
        f"SELECT pid, host, db_user, started_at FROM store_writers WHERE what = %s "
        f"AND backend_pid IN ({_HOLDERS})",
        (what, *parts),
    ).fetchone()
    if row is not None:
        return Holder(what, row[0], row[1], row[2], row[3])
    row = conn.execute(
        "SELECT a.application_name, a.usename, extract(epoch FROM a.backend_start)::bigint "
        f"FROM pg_stat_activity a WHERE a.pid IN ({_HOLDERS})",
        parts,
    ).fetchone()
    if row is None:
        return None
    found = _APP_NAME.search(row[0] or "")
    return Holder(
        what,
        int(found.group(1)) if found else None,
        found.group(2) if found else None,
        row[1],
        row[2],
    )

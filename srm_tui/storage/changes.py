"""What changed in the team store, for the consoles that have it open (issue 15, ISSUE15 1(e)).

On PostgreSQL every change to srm's own tables (notes, the outbox, the audit, saved segments,
the playbook, bulk runs) adds a ``change_log`` row by a statement trigger, and the writer adds
one per page of vendor records it commits (``page_written``: no row triggers on the vendor's
tables); each row is followed by ``NOTIFY srm_changes``. A console's ``ChangeFeed`` LISTENs on
a connection of its own and reads the rows after the last it saw, so a note one agent queues
shows on another's screen within a second, and nothing is lost while its connection is down
(it reads from where it stopped once it is back).

A SQLite cache has no feed (``open_feed`` returns None): it is one agent's file, written by
that console's own sync and push (whose screens reload after them). ``PRAGMA data_version``
would say only that some other connection committed, and the console's own worker threads
are such connections, so it would mostly echo the console's own writes, naming no customer.

This module imports no psycopg: the feed's PostgreSQL side is storage/pg/changes.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

# Kinds whose rows name customers (an empty list: none; None: more than the log names).
CUSTOMER_KINDS: frozenset[str] = frozenset({"notes", "outbox", "audit"})
# The prefix of a page of vendor records the writer committed: "sync:customers", ...
VENDOR_PREFIX = "sync:"
# How long the log keeps a row: a console that was away longer reloads what it shows anyway.
KEEP_S = 24 * 3600


@dataclass(frozen=True)
class Change:
    """One logged change: a statement on srm's tables or a page the writer committed."""

    seq: int
    at: int
    kind: str  # the table ("notes", "outbox", ...) or "sync:<entity>" for a writer's page
    customer_ids: tuple[int, ...] | None  # None: too many to name, any customer may be one
    source: str  # the database login that made it

    @property
    def vendor(self) -> bool:
        """A page of the vendor's records (the team's sync), not srm's own data."""
        return self.kind.startswith(VENDOR_PREFIX)

    @property
    def any_customer(self) -> bool:
        """The change may concern any customer (one of customers' kinds naming none)."""
        return self.customer_ids is None and (self.vendor or self.kind in CUSTOMER_KINDS)


class ChangeFeed(Protocol):
    """The changes others make to a store, as they are committed."""

    def wait(self, timeout: float) -> list[Change]:
        """The changes committed since the last call (in log order), waiting up to
        ``timeout`` seconds for one; [] when none came. A lost connection is taken up again
        here, and what was logged meanwhile comes with the next answer."""
        ...

    def close(self) -> None:
        """End the feed's connection."""
        ...


def _postgres(store_or_conn: Any) -> bool:
    return getattr(getattr(store_or_conn, "dialect", None), "name", "sqlite") == "postgres"


def open_feed(store: Any, *, label: str = "srm console") -> ChangeFeed | None:
    """A feed of ``store``'s changes (its own connection, opened on the first ``wait``), or
    None for a SQLite cache (see the module docstring). It delivers what is logged from now
    on: the log's last row is read here, through the store's own connection, not when the
    feed first connects, which may come seconds later."""
    if not _postgres(store):
        return None
    from srm_tui.storage import db
    from srm_tui.storage.pg.changes import PgChangeFeed

    try:
        floor = store.conn().execute("SELECT coalesce(max(seq), 0) FROM change_log").fetchone()[0]
    except db.DB_ERRORS:  # out of reach now: the feed starts from where the log is when it connects
        floor = None
    return PgChangeFeed(store.url, label=label, floor=floor)


def page_written(tx: Any, entity: str, customer_ids: list[Any]) -> None:
    """Log a page of ``entity`` records the writer is committing in ``tx`` (one row naming
    the customers it touched), and prune rows older than KEEP_S by the server's clock. A
    SQLite cache logs nothing."""
    if not _postgres(tx):
        return
    ids = sorted({int(i) for i in customer_ids if i is not None})
    tx.execute("SELECT srm_log_change(?, CAST(? AS bigint[]))", (VENDOR_PREFIX + entity, ids))
    tx.execute(
        "DELETE FROM change_log WHERE at < CAST(extract(epoch FROM now()) AS bigint) - ?",
        (KEEP_S,),
    )

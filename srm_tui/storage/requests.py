"""Store requests: work an agent's push asks of the team store's one writer (ISSUE15 1(d)).

On the team's PostgreSQL store the vendor's tables are its writer's (`srm sync`): an agent's
console or `srm outbox push` never writes them. After the API took one of its actions, the
push queues a ``refresh`` (bring this customer's records from the API into the store) in the
transaction that marks the entry sent, and after an anonymization a ``forget`` (remove the
customer's personal values from the team's records; the values the push saw before sending
ride along, since a sync may replace the customer's row before the request is served). The
queueing transaction also sends ``NOTIFY srm_requests``, which wakes a running
``srm sync --watch``; without one, the next ``srm sync`` serves them.

Served exactly once: only a holder of the store's sync writer lock serves (one process at a
time), each customer's requests are marked done together once their effect is stored, and a
row stays waiting until then, so a writer killed mid-way serves it again after its restart. A
refresh or forget stored twice leaves the same store (both are idempotent), so a kill between
the effect and the done mark costs a second fetch, never a wrong record. A SQLite cache
refreshes inline (its one user is its writer); its table stays empty.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from srm_tui.storage import db

KINDS = ("refresh", "forget")
CHANNEL = "srm_requests"
# Customers served per pass (a pass is one batch of reads; the rest wait for the next).
BATCH = 200


@dataclass(frozen=True)
class StoreRequest:
    """One waiting request, as stored."""

    id: int
    kind: str
    customer_id: int
    outbox_id: int | None
    requested_at: int
    personal: tuple[str, ...] = ()


@dataclass
class Served:
    """What one pass over the waiting requests did."""

    refreshed: int = 0  # customers brought from the API
    forgotten: int = 0  # customers whose values were removed
    gone: int = 0  # customers the API no longer has (their requests are done)
    done: int = 0  # requests marked done
    waiting: int = 0  # requests still waiting after the pass
    errors: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The pass as JSON (one object of a watch cycle's line)."""
        return {
            "refreshed": self.refreshed,
            "forgotten": self.forgotten,
            "gone": self.gone,
            "done": self.done,
            "waiting": self.waiting,
            "errors": self.errors,
        }


def is_team_store(store: Any) -> bool:
    """Whether ``store`` is the team's PostgreSQL store (the only one that queues requests)."""
    return getattr(getattr(store, "dialect", None), "name", "sqlite") == "postgres"


def queue(
    store: Any,
    kind: str,
    customer_id: int,
    *,
    now: int,
    outbox_id: int | None = None,
    personal: Iterable[str] = (),
) -> bool:
    """Queue a request; inside the caller's open transaction it joins it (a savepoint), and
    the writer is woken when that commits. A refresh already waiting for the customer is
    enough: False, nothing added."""
    if kind not in KINDS:
        raise ValueError(f"unknown store request {kind!r}")
    values = sorted({v for v in personal if v})
    with store.transaction() as tx:
        if (
            kind == "refresh"
            and tx.execute(
                "SELECT 1 FROM store_requests WHERE kind = 'refresh' AND customer_id = ? "
                "AND done_at IS NULL LIMIT 1",
                (customer_id,),
            ).fetchone()
        ):
            return False
        tx.execute(
            "INSERT INTO store_requests (kind, customer_id, outbox_id, requested_at, personal) "
            "VALUES (?, ?, ?, ?, ?)",
            (kind, customer_id, outbox_id, now, json.dumps(values) if values else None),
        )
        if is_team_store(store):
            tx.execute("SELECT pg_notify(?, ?)", (CHANNEL, kind))
    return True


def _mine(store: Any, mine: bool) -> str:
    # The login that asked is the server's own record of it (requested_by's default).
    return " AND requested_by = current_user" if mine and is_team_store(store) else ""


def waiting(store: Any, *, mine: bool = False) -> list[StoreRequest]:
    """The waiting requests, oldest first (``mine``: only this login's, on PostgreSQL)."""
    where = "done_at IS NULL" + _mine(store, mine)
    rows = (
        store.conn()
        .execute(
            "SELECT id, kind, customer_id, outbox_id, requested_at, personal FROM store_requests "
            f"WHERE {where} ORDER BY id LIMIT ?",
            (BATCH * 4,),
        )
        .fetchall()
    )
    return [
        StoreRequest(
            int(r[0]),
            r[1],
            int(r[2]),
            None if r[3] is None else int(r[3]),
            int(r[4]),
            tuple(_values(r[5])),
        )
        for r in rows
    ]


def waiting_count(store: Any, *, mine: bool = False, kind: str | None = None) -> int:
    """How many requests wait (``mine``: this login's, on PostgreSQL; ``kind``: of one kind)."""
    where = "done_at IS NULL" + _mine(store, mine)
    params: tuple[str, ...] = ()
    if kind is not None:
        where, params = where + " AND kind = ?", (kind,)
    sql = f"SELECT count(*) FROM store_requests WHERE {where}"
    return int(store.conn().execute(sql, params).fetchone()[0])


def _values(text: str | None) -> list[str]:
    if not text:
        return []
    try:
        found = json.loads(text)
    except ValueError:
        return []
    return [v for v in found if isinstance(v, str)] if isinstance(found, list) else []


def serve(
    store: Any,
    fetch: Callable[[int], Any],
    *,
    now: Callable[[], float] = time.time,
    stop: Callable[[], bool] = lambda: False,
) -> Served:
    """Serve the waiting requests, customer by customer in the order they were asked.

    ``fetch(customer_id)`` brings a customer from the API into the store (the sync engine's
    ``fetch_customer``): its id, or None when the API has none. An API that cannot be
    reached (or refuses the key) ends the pass there, the rest waiting; one that refuses the
    customer marks its requests done with the reason. The caller holds the store's sync
    writer lock: one server at a time. ``stop`` is asked between customers (a signal ends the
    pass there)."""
    from srm_tui.api import errors as api_errors
    from srm_tui.storage import privacy, writer

    if not writer.held(store, "sync"):
        raise RuntimeError("store requests are served by the holder of the sync writer lock")
    served = Served()
    conn = store.conn()
    pending = waiting(store)
    by_customer: dict[int, list[StoreRequest]] = {}
    for request in pending:
        by_customer.setdefault(request.customer_id, []).append(request)
    for customer_id, asked in list(by_customer.items())[:BATCH]:
        if stop():
            break
        forgets = [r for r in asked if r.kind == "forget"]
        # Before the refresh replaces them: every value the store holds now, and those the
        # push saw before sending.
        values: set[str] = set()
        if forgets:
            values = privacy.personal_values(conn, customer_id)
            for request in forgets:
                values.update(request.personal)
        error = None
        try:
            found = fetch(customer_id)
        except api_errors.ApiError as exc:
            if api_errors.is_transient(exc) or isinstance(exc, api_errors.AuthError):
                served.errors.append(f"customer {customer_id}: {exc.message}; requests kept")
                break
            found, error = None, f"the API refused it: {exc.message}"
        if found is None:
            served.gone += 1
            error = error or "the API has no such customer"
        else:
            served.refreshed += 1
        if forgets:
            # Anonymized at the API: the values leave the store whatever the fetch found.
            privacy.forget_customer(store, customer_id, values)
            served.forgotten += 1
        with store.transaction() as tx:
            tx.executemany(
                "UPDATE store_requests SET done_at = ?, error = ?, personal = NULL "
                "WHERE id = ? AND done_at IS NULL",
                [(int(now()), error, r.id) for r in asked],
            )
        served.done += len(asked)
    served.waiting = waiting_count(store)
    return served


def last_id(store: Any) -> int:
    """The newest request's id (0 for none): what a sync about to start may settle."""
    return int(
        store.conn().execute("SELECT coalesce(max(id), 0) FROM store_requests").fetchone()[0]
    )


def settle_by_sync(store: Any, up_to: int, *, now: int) -> int:
    """After an incremental sync over a changes feed (the sandbox profile) that began once the
    refreshes up to id ``up_to`` were asked: their changes were at the API before the run
    started, so the run brought them, and they are done without a fetch each (a bulk run's
    thousands of refreshes cost one sync). Forgets still wait. The number settled."""
    with store.transaction() as tx:
        return tx.execute(
            "UPDATE store_requests SET done_at = ? WHERE kind = 'refresh' AND done_at IS NULL "
            "AND id <= ?",
            (now, up_to),
        ).rowcount


def prune(store: Any, *, before: int) -> int:
    """Drop requests served before ``before`` (the writer keeps a day of them to show)."""
    with store.transaction() as tx:
        return tx.execute(
            "DELETE FROM store_requests WHERE done_at IS NOT NULL AND done_at < ?", (before,)
        ).rowcount


class _TableWaker:
    """A SQLite cache's wake-up: nothing notifies, so the table is counted every slice."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self._seen = 0

    def _count(self) -> int:
        try:
            return waiting_count(self._store)
        except db.DB_ERRORS:
            return self._seen

    def start(self) -> bool:
        """Count what waits now: a wait wakes when more do."""
        self._seen = self._count()
        return True

    def wait(self, timeout: float) -> bool:
        """Sleep ``timeout`` seconds; True when more requests wait than at ``start``."""
        time.sleep(max(0.0, timeout))
        return self._count() > self._seen

    def close(self) -> None:
        """Nothing to let go."""


def waker(store: Any) -> Any:
    """What the writer waits on between passes (``start()``, ``wait(timeout) -> bool``,
    ``close()``): on the team store a LISTEN on the requests' channel (storage/pg/wake.py),
    on a cache a count of the table."""
    if is_team_store(store):
        from srm_tui.storage.pg.wake import Listener

        return Listener(store, CHANNEL)
    return _TableWaker(store)

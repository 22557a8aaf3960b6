"""The outbox: actions on their way to the API, each under its own idempotency key.

Every action is written here before it is sent, so a crash at any point leaves a row that the
next push sends again under the same key, and the API answers that repeat without applying it
twice. Statuses: ``pending`` (waiting), ``sent``, ``conflict`` (the record changed since the
action was queued, or the API refused it: both versions are kept), ``failed`` (the API could
not read it), ``refused`` (sent at once and refused: the agent saw why), ``discarded``.

Over 400 lines: the queue and its claims belong together. Every claim, lease extension,
release and fenced settle reads and writes the same rows under the same token, and keeping
them in one module is what lets the exactly-once argument be read in one place.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from srm_tui.actions.rules import Change, Preview, Request, Watch, iso
from srm_tui.storage import db

# The outbox's statuses are the write pipeline's (one vocabulary for every kind of write).
from srm_tui.writes.record import (
    CONFLICT,
    DISCARDED,
    FAILED,
    OPEN,
    PENDING,
    REFUSED,
    SENT,
    FieldChange,
    PendingWrite,
)

__all__ = ["CONFLICT", "DISCARDED", "FAILED", "OPEN", "PENDING", "REFUSED", "SENT"]

# A claim's lease (seconds): its pusher extends it every third of that while it sends; a pusher
# that dies holding it gives its rows back when it runs out.
LEASE_S = 60


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


@dataclass
class OutboxItem:
    id: int
    key: str
    action: str
    title: str
    target: str
    customer_id: int | None
    status: str
    agent: str | None
    role: str | None
    created_at: int
    sent_at: int | None
    attempts: int
    last_error: str | None
    request: Request
    changes: list[Change]
    watches: list[Watch]
    args: dict[str, Any] = field(default_factory=dict)
    server: list[dict[str, Any] | None] | None = None  # the API's values, per watch
    # The claim this process holds on the entry (claim()): its settle is fenced by it.
    claim_token: str | None = None
    claimed_by: str | None = None

    def versions(self) -> list[dict[str, Any]]:
        """Field by field: the value the action was based on, its own, and the API's now."""
        out = []
        server = self.server or []
        for i, watch in enumerate(self.watches):
            current = (server[i] if i < len(server) else None) or {}
            for name in watch.before:
                out.append(
                    {
                        "record": f"{watch.entity} {watch.key}",
                        "field": name,
                        "base": watch.before[name],
                        "queued": watch.after.get(name),
                        "server": current.get(name),
                    }
                )
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "action": self.action,
            "title": self.title,
            "target": self.target,
            "customer_id": self.customer_id,
            "status": self.status,
            "agent": self.agent,
            "role": self.role,
            "created_at": iso(self.created_at),
            "sent_at": iso(self.sent_at),
            "attempts": self.attempts,
            "last_error": self.last_error,
            "changes": [c.to_json() for c in self.changes],
            "versions": self.versions() if self.status == CONFLICT else [],
            "request": self.request.to_json(),
        }


def as_write(item: OutboxItem) -> PendingWrite:
    """The entry as a pending write (kind ``action``): outbox entries carry no record version;
    their watches are what they were based on."""
    return PendingWrite(
        kind="action",
        id=item.id,
        action=item.action,
        title=item.title,
        target=item.target,
        base_version=None,
        changes=[FieldChange(c.what, c.before, c.after) for c in item.changes],
        key=item.key,
        status=item.status,
        agent=item.agent,
        created_at=item.created_at,
        last_error=item.last_error,
        versions=item.versions() if item.status == CONFLICT else [],
        source=item,
    )


def enqueue(
    conn: sqlite3.Connection,
    *,
    key: str,
    preview: Preview,
    agent: str,
    role: str,
    now: int,
    claim: Claim | None = None,
) -> int:
    """Queue an action; with ``claim`` the entry is born claimed by it (the run that queued it
    sends it at once, and no pusher takes it meanwhile)."""
    payload = {
        "title": preview.title,
        "args": preview.args,
        "role": role,
        "request": preview.request.to_json(),
        "changes": [c.to_json() for c in preview.changes],
    }
    cur = conn.execute(
        "INSERT INTO outbox (idempotency_key, action, target, customer_id, payload, base, "
        "agent, status, created_at, claim_token, claimed_by, lease_until) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?) RETURNING id",
        (
            key,
            preview.action,
            preview.target,
            preview.customer_id,
            _dumps(payload),
            _dumps([w.to_json() for w in preview.watches]),
            agent,
            now,
            claim.token if claim else None,
            claim.who if claim else None,
            claim.until(now) if claim else None,
        ),
    )
    return int(cur.fetchone()[0])  # RETURNING: PostgreSQL has no lastrowid


def _item(row: sqlite3.Row) -> OutboxItem:
    payload = json.loads(row["payload"])
    response = json.loads(row["response"]) if row["response"] else {}
    return OutboxItem(
        id=row["id"],
        key=row["idempotency_key"],
        action=row["action"],
        title=payload.get("title", row["action"]),
        target=row["target"],
        customer_id=row["customer_id"],
        status=row["status"],
        agent=row["agent"],
        role=payload.get("role"),
        created_at=row["created_at"],
        sent_at=row["sent_at"],
        attempts=row["attempts"],
        last_error=row["last_error"],
        request=Request.from_json(payload["request"]),
        changes=[Change(c["what"], c["before"], c["after"]) for c in payload["changes"]],
        watches=[Watch.from_json(w) for w in json.loads(row["base"] or "[]")],
        args=payload.get("args") or {},
        server=response.get("server"),
        claim_token=row["claim_token"],
        claimed_by=row["claimed_by"],
    )


def get(conn: sqlite3.Connection, item_id: int) -> OutboxItem | None:
    row = conn.execute("SELECT * FROM outbox WHERE id = ?", (item_id,)).fetchone()
    return _item(row) if row else None


def items(
    conn: sqlite3.Connection,
    *,
    customer_id: int | None = None,
    statuses: tuple[str, ...] | None = OPEN,
) -> list[OutboxItem]:
    """Oldest first."""
    where, params = [], []
    if customer_id is not None:
        where.append("customer_id = ?")
        params.append(customer_id)
    if statuses is not None:
        where.append(f"status IN ({','.join('?' * len(statuses))})")
        params += statuses
    sql = "SELECT * FROM outbox" + (f" WHERE {' AND '.join(where)}" if where else "")
    return [_item(r) for r in conn.execute(sql + " ORDER BY id", params)]


def _fence(token: str | None) -> tuple[str, tuple]:
    """The settle's fence: an entry claimed under ``token`` is written only while the claim is
    still this one (None: unfenced, for an entry nobody claims, e.g. a discard)."""
    return ("", ()) if token is None else (" AND claim_token = ?", (token,))


def attempted(
    conn: sqlite3.Connection, item_id: int, error: str | None, *, token: str | None = None
) -> bool:
    """Count a try the API did not answer; False when the claim was lost (nothing written)."""
    fence, extra = _fence(token)
    cur = conn.execute(
        "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?" + fence,
        (error, item_id, *extra),
    )
    return cur.rowcount == 1


def settle(
    conn: sqlite3.Connection,
    item_id: int,
    status: str,
    *,
    now: int,
    error: str | None = None,
    response: dict[str, Any] | None = None,
    token: str | None = None,
) -> bool:
    """Write what became of an entry. Fenced by ``token`` when it was claimed: False when the
    lease ran out and another pusher took the entry (this answer is dropped; the other
    pusher sends it again under the same idempotency key)."""
    fence, extra = _fence(token)
    cur = conn.execute(
        "UPDATE outbox SET status = ?, last_error = ?, response = ?, "
        "sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END WHERE id = ?" + fence,
        (
            status,
            error,
            _dumps(response) if response is not None else None,
            status,
            now,
            item_id,
            *extra,
        ),
    )
    return cur.rowcount == 1


def requeue(conn: sqlite3.Connection, item_id: int, key: str) -> None:
    """Back to pending under a new key, sent as it is: the agent chose it over the API's.
    Unclaimed, so the next pusher takes it at once."""
    conn.execute(
        "UPDATE outbox SET status = 'pending', idempotency_key = ?, base = '[]', "
        "last_error = NULL, response = NULL, claim_token = NULL, claimed_by = NULL, "
        "lease_until = NULL WHERE id = ?",
        (key, item_id),
    )


# -- claims ---------------------------------------------------------------------------------


class LeaseLost(Exception):
    """A claimed entry's settle found the claim gone: its lease ran out and another pusher
    took the entry over. This pusher's answer is dropped; the other sends it again under the
    same idempotency key."""

    def __init__(self, item_id: int) -> None:
        super().__init__(f"outbox #{item_id}: its lease ran out and another pusher took it over")
        self.item_id = item_id


def pusher_name(agent: str | None = None) -> str:
    """Who a claim names: the agent, the host and the process (``anna@jump-1 pid 4242``)."""
    return f"{agent or 'srm'}@{socket.gethostname()} pid {os.getpid()}"


@dataclass(frozen=True)
class Claim:
    """One pusher's claim: its token (fences its settles), its name, its lease's length."""

    token: str
    who: str
    lease_s: int = LEASE_S

    @classmethod
    def new(cls, agent: str | None = None, lease_s: int = LEASE_S) -> Claim:
        return cls(uuid.uuid4().hex, pusher_name(agent), lease_s)

    def until(self, now: int) -> int:
        return now + self.lease_s


# Pending entries this claim may take, oldest first: unclaimed or with a lease run out (or its
# own), and each the earliest pending entry of its customer, so one customer's actions keep
# their order however many pushers run. On PostgreSQL the rows are locked as they are picked
# and rows another claimer is picking are skipped, so two claimers never take one row; SQLite
# runs it inside BEGIN IMMEDIATE (one writer). One statement: one short transaction.
_CLAIM = """
UPDATE outbox SET claim_token = :token, claimed_by = :who, lease_until = :until
FROM (
    SELECT x.id FROM outbox x
    WHERE x.status = 'pending'
      AND (coalesce(x.lease_until, 0) < :now OR x.claim_token = :token)
      AND NOT EXISTS (
          SELECT 1 FROM outbox e
          WHERE e.customer_id = x.customer_id AND e.id < x.id AND e.status = 'pending'
      ){among}
    ORDER BY x.id LIMIT :limit{lock}
) AS c
WHERE outbox.id = c.id
RETURNING outbox.id
"""


def _postgres(store: Any) -> bool:
    return getattr(getattr(store, "dialect", None), "name", "sqlite") == "postgres"


def claim(
    store: Any,
    mine: Claim,
    *,
    now: int,
    limit: int = 100,
    ids: list[int] | None = None,
    run_id: int | None = None,
) -> list[OutboxItem]:
    """Claim up to ``limit`` pending entries for ``mine`` (``ids``: only among these; ``run_id``:
    only a bulk run's queued members), oldest first, each with its claim on it. A row another
    pusher holds under a live lease, or behind its customer's earlier pending entry, is not
    taken; one whose lease ran out is."""
    params: dict[str, Any] = {
        "token": mine.token,
        "who": mine.who,
        "until": mine.until(now),
        "now": now,
        "limit": limit,
    }
    among = ""
    if ids is not None:
        if not ids:
            return []
        names = [f"i{n}" for n in range(len(ids))]
        params.update(zip(names, ids))
        among = f" AND x.id IN ({', '.join(':' + n for n in names)})"
    if run_id is not None:
        params["run"] = run_id
        among += (
            " AND x.id IN (SELECT m.outbox_id FROM bulk_members m "
            "WHERE m.run_id = :run AND m.status = 'queued')"
        )
    sql = _CLAIM.format(
        among=among, lock=" FOR UPDATE OF x SKIP LOCKED" if _postgres(store) else ""
    )
    if _postgres(store):  # one autocommit statement: its own short transaction, no store lock
        taken = [r[0] for r in store.conn().execute(sql, params).fetchall()]
    else:
        with store.transaction() as tx:
            taken = [r[0] for r in tx.execute(sql, params).fetchall()]
    if not taken:
        return []
    return claimed(store.conn(), mine)


# A claim's name (pusher_name): the host is what follows the last "@" (an agent's name may
# hold one), then the pid.
_WHO = re.compile(r"@([^@\s]+) pid (\d+)$")


def reap(store: Any, *, now: int) -> int:
    """Give back, before their lease runs out, the entries held by pushers of this host whose
    process is gone (a killed or crashed push): one agent's cache is not stuck for a lease
    after a crash. Another host's pushers cannot be checked from here: their leases run out.
    How many entries came back."""
    from srm_tui.storage.writer import process_alive

    rows = store.conn().execute(
        "SELECT DISTINCT claim_token, claimed_by FROM outbox "
        "WHERE status = 'pending' AND claim_token IS NOT NULL AND lease_until >= ?",
        (now,),
    )
    here = socket.gethostname()
    freed = 0
    for token, who in [(r[0], r[1]) for r in rows]:
        found = _WHO.search(who or "")
        if found is None or found.group(1) != here:
            continue
        if process_alive(int(found.group(2)), here, None):
            continue
        freed += (
            store.conn()
            .execute(
                "UPDATE outbox SET lease_until = NULL WHERE claim_token = ? AND status = 'pending'",
                (token,),
            )
            .rowcount
        )
    return freed


def holders(conn: sqlite3.Connection, *, now: int) -> list[tuple[str, int]]:
    """The pushers holding pending entries under a live lease, with how many, most first."""
    rows = conn.execute(
        "SELECT claimed_by, count(*) FROM outbox WHERE status = 'pending' "
        "AND claim_token IS NOT NULL AND lease_until >= ? GROUP BY claimed_by "
        "ORDER BY count(*) DESC, claimed_by",
        (now,),
    )
    return [(r[0] or "another srm", int(r[1])) for r in rows]


def claimed(conn: sqlite3.Connection, mine: Claim) -> list[OutboxItem]:
    """The pending entries ``mine`` holds, oldest first."""
    rows = conn.execute(
        "SELECT * FROM outbox WHERE claim_token = ? AND status = 'pending' ORDER BY id",
        (mine.token,),
    )
    return [_item(r) for r in rows]


def extend(store: Any, mine: Claim, *, now: int) -> int:
    """Move the lease of every pending entry ``mine`` holds to ``now`` + its length; how many
    it still holds (an entry whose lease ran out and was taken over is not extended)."""
    cur = store.conn().execute(
        "UPDATE outbox SET lease_until = ? WHERE claim_token = ? AND status = 'pending'",
        (mine.until(now), mine.token),
    )
    return cur.rowcount


def release(store: Any, mine: Claim) -> int:
    """Give back the pending entries ``mine`` holds (a push that stopped): the next pusher
    takes them at once rather than after the lease."""
    cur = store.conn().execute(
        "UPDATE outbox SET claim_token = NULL, claimed_by = NULL, lease_until = NULL "
        "WHERE claim_token = ? AND status = 'pending'",
        (mine.token,),
    )
    return cur.rowcount


@contextmanager
def leased(store: Any, mine: Claim, clock: Callable[[], int]) -> Iterator[Claim]:
    """Hold ``mine`` for the block: first the entries of this host's dead pushers come back
    (``reap``); a thread extends its lease every third of its length (a send slower than the
    lease keeps its rows), and at the end what it still holds pending is released."""
    stop = threading.Event()
    reap(store, now=clock())

    def keep() -> None:
        while not stop.wait(mine.lease_s / 3):
            try:
                extend(store, mine, now=clock())
            except db.DB_ERRORS:  # the store away for now: the fence guards the settles
                continue

    keeper = threading.Thread(target=keep, name="srm-lease", daemon=True)
    keeper.start()
    try:
        yield mine
    finally:
        stop.set()
        keeper.join()
        try:
            release(store, mine)
        except db.DB_ERRORS:  # the store away: the rows come back when the lease runs out
            pass

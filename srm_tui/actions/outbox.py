"""The outbox: actions on their way to the API, each under its own idempotency key.

Every action is written here before it is sent, so a crash at any point leaves a row that the
next push sends again under the same key, and the API answers that repeat without applying it
twice. Statuses: ``pending`` (waiting), ``sent``, ``conflict`` (the record changed since the
action was queued, or the API refused it: both versions are kept), ``failed`` (the API could
not read it), ``refused`` (sent at once and refused: the agent saw why), ``discarded``.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from srm_tui.actions.rules import Change, Preview, Request, Watch, iso

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
    conn: sqlite3.Connection, *, key: str, preview: Preview, agent: str, role: str, now: int
) -> int:
    payload = {
        "title": preview.title,
        "args": preview.args,
        "role": role,
        "request": preview.request.to_json(),
        "changes": [c.to_json() for c in preview.changes],
    }
    cur = conn.execute(
        "INSERT INTO outbox (idempotency_key, action, target, customer_id, payload, base, "
        "agent, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?) RETURNING id",
        (
            key,
            preview.action,
            preview.target,
            preview.customer_id,
            _dumps(payload),
            _dumps([w.to_json() for w in preview.watches]),
            agent,
            now,
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


def attempted(conn: sqlite3.Connection, item_id: int, error: str | None) -> None:
    conn.execute(
        "UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?", (error, item_id)
    )


def settle(
    conn: sqlite3.Connection,
    item_id: int,
    status: str,
    *,
    now: int,
    error: str | None = None,
    response: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        "UPDATE outbox SET status = ?, last_error = ?, response = ?, "
        "sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END WHERE id = ?",
        (status, error, _dumps(response) if response is not None else None, status, now, item_id),
    )


def requeue(conn: sqlite3.Connection, item_id: int, key: str) -> None:
    """Back to pending under a new key, sent as it is: the agent chose it over the API's."""
    conn.execute(
        "UPDATE outbox SET status = 'pending', idempotency_key = ?, base = '[]', "
        "last_error = NULL, response = NULL WHERE id = ?",
        (key, item_id),
    )

"""The audit log: every attempt at an action, who made it, and what it changed.

Rows are written in the caller's transaction. The API key is never among what is written:
only the agent, the role, the action, its target and the before/after of what it touches.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
from dataclasses import dataclass
from typing import Any

from srm_tui.actions.rules import Change, iso

OUTCOMES = (
    "applied",
    "queued",
    "refused",
    "sent",
    "conflict",
    "failed",
    "discarded",
    "offered",  # retention.offered: the playbook's offers were shown (srm_tui.playbook)
)


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str)


def sides(changes: list[Change]) -> tuple[dict[str, Any], dict[str, Any]]:
    return ({c.what: c.before for c in changes}, {c.what: c.after for c in changes})


def record(
    conn: sqlite3.Connection,
    *,
    at: int,
    agent: str | None,
    role: str | None,
    action: str,
    target: str | None,
    customer_id: int | None,
    before: Any,
    after: Any,
    outcome: str,
    detail: str | None = None,
) -> int:
    assert outcome in OUTCOMES, outcome
    values = (
        at,
        agent,
        role,
        action,
        target,
        customer_id,
        _dumps(before),
        _dumps(after),
        outcome,
        detail,
    )
    # From where: the host and the process (both backends); on the team store the server
    # also fills db_user with the login, which an agent cannot write another name into.
    cur = conn.execute(
        "INSERT INTO audit (at, agent, role, action, target, customer_id, before, after, "
        "outcome, detail, host, pid) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (*values, socket.gethostname(), os.getpid()),
    )
    return int(cur.fetchone()[0])  # RETURNING: PostgreSQL has no lastrowid


@dataclass
class AuditEntry:
    id: int
    at: int
    agent: str | None
    role: str | None
    action: str
    target: str | None
    customer_id: int | None
    before: Any
    after: Any
    outcome: str
    detail: str | None
    host: str | None = None  # from where: the host and process that wrote it
    pid: int | None = None
    db_user: str | None = None  # the team store's login (set by the server)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": iso(self.at),
            "agent": self.agent,
            "role": self.role,
            "action": self.action,
            "target": self.target,
            "customer_id": self.customer_id,
            "before": self.before,
            "after": self.after,
            "outcome": self.outcome,
            "detail": self.detail,
            "host": self.host,
            "pid": self.pid,
            "db_user": self.db_user,
        }


def entries(
    conn: sqlite3.Connection, customer_id: int | None = None, limit: int = 1000
) -> list[AuditEntry]:
    """Newest first."""
    sql = "SELECT * FROM audit"
    params: tuple = ()
    if customer_id is not None:
        sql += " WHERE customer_id = ?"
        params = (customer_id,)
    rows = conn.execute(sql + " ORDER BY id DESC LIMIT ?", (*params, limit)).fetchall()
    return [
        AuditEntry(
            r["id"],
            r["at"],
            r["agent"],
            r["role"],
            r["action"],
            r["target"],
            r["customer_id"],
            json.loads(r["before"]) if r["before"] else None,
            json.loads(r["after"]) if r["after"] else None,
            r["outcome"],
            r["detail"],
            r["host"],
            r["pid"],
            r["db_user"] if "db_user" in r.keys() else None,
        )
        for r in rows
    ]

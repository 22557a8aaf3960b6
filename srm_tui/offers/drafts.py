"""Offer drafts in the cache: edits waiting to be pushed, and conflicts waiting for a choice.

A draft is one write of the 3.1 Offer API: a new offer, an update of an offer or of one of its
localizations, a new localization, or an activation. It keeps the version of the offer it was
based on (sent as ``If-Match``) and the values of the fields it changes as they were then.
When a push meets 412, the server's values of those fields are stored beside the draft
(status ``conflict``): nothing is lost until the agent takes mine or theirs per field, or
discards the draft.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from dataclasses import dataclass
from typing import Any

from srm_tui.storage.db import SQLITE
from srm_tui.writes.record import PENDING, FieldChange, PendingWrite

DRAFT, CONFLICT = "draft", "conflict"


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


@dataclass
class Draft:
    id: int
    offer_id: str | None  # None: a new offer, not created yet
    target: str  # "offer" or "localization:CC"
    op: str  # create | update | activate | deactivate
    changes: dict[str, Any]
    base_version: int | None
    base: dict[str, Any]
    status: str
    server: dict[str, Any] | None
    server_version: int | None
    last_error: str | None
    agent: str | None
    created_at: int
    updated_at: int
    key: str = ""  # the Idempotency-Key of its next send: new whenever its content changes

    @property
    def country(self) -> str | None:
        return self.target.split(":", 1)[1] if self.target.startswith("localization:") else None

    @property
    def label(self) -> str:
        what = {
            "create": "new",
            "update": "edit",
            "activate": "activate",
            "deactivate": "deactivate",
        }[self.op]
        if self.offer_id is None:  # an offer not created yet: "new offer", not "new new offer"
            return "new offer" + (f" · {self.country}" if self.country else "")
        where = self.offer_id + (f" · {self.country}" if self.country else "")
        return f"{what} {where}"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "offer_id": self.offer_id,
            "target": self.target,
            "op": self.op,
            "changes": self.changes,
            "base_version": self.base_version,
            "base": self.base,
            "status": self.status,
            "server": self.server,
            "server_version": self.server_version,
            "last_error": self.last_error,
            "agent": self.agent,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


def as_write(d: Draft) -> PendingWrite:
    """The draft as a pending write (kind ``offer``): based on the offer's version; a waiting
    draft is ``pending``, one that met a 412 is in ``conflict`` with the server's values."""
    where = d.offer_id or "new offer"
    if d.country:
        where += f"_{d.country}"
    server = d.server or {}
    return PendingWrite(
        kind="offer",
        id=d.id,
        action=f"{'localization' if d.country else 'offer'}-{d.op}",
        title=d.label,
        target=where,
        base_version=d.base_version,
        changes=[FieldChange(k, d.base.get(k), v) for k, v in d.changes.items()],
        key=d.key,
        status=CONFLICT if d.status == CONFLICT else PENDING,
        agent=d.agent,
        created_at=d.created_at,
        last_error=d.last_error,
        versions=[
            {
                "record": f"offer {where}",
                "field": k,
                "base": d.base.get(k),
                "queued": v,
                "server": server.get(k),
            }
            for k, v in d.changes.items()
        ]
        if d.status == CONFLICT
        else [],
        source=d,
    )


def _draft(row: sqlite3.Row) -> Draft:
    return Draft(
        row["id"],
        row["offer_id"],
        row["target"],
        row["op"],
        json.loads(row["changes"]),
        row["base_version"],
        _loads(row["base"]) or {},
        row["status"],
        _loads(row["server"]),
        row["server_version"],
        row["last_error"],
        row["agent"],
        row["created_at"],
        row["updated_at"],
        row["idempotency_key"],
    )


def save(
    conn: sqlite3.Connection,
    *,
    offer_id: str | None,
    target: str,
    op: str,
    changes: dict[str, Any],
    base_version: int | None,
    base: dict[str, Any],
    agent: str | None,
    now: int,
) -> int:
    """Keep an edit; an update of the same target on the same base joins the waiting draft."""
    if op == "update" and offer_id is not None:
        same_base = getattr(conn, "dialect", SQLITE).is_same("base_version", "?")
        row = conn.execute(
            "SELECT * FROM offer_drafts WHERE offer_id = ? AND target = ? AND op = 'update' "
            f"AND status = ? AND {same_base} ORDER BY id LIMIT 1",
            (offer_id, target, DRAFT, base_version),
        ).fetchone()
        if row is not None:
            old = _draft(row)
            merged_base = {**base, **old.base}  # the values the first edit started from
            merged = {**old.changes, **changes}
            merged = {k: v for k, v in merged.items() if merged_base.get(k, object()) != v}
            if not merged:
                conn.execute("DELETE FROM offer_drafts WHERE id = ?", (old.id,))
                return old.id
            conn.execute(
                "UPDATE offer_drafts SET changes = ?, base = ?, updated_at = ?, "
                "agent = ?, idempotency_key = ? WHERE id = ?",
                (
                    _dumps(merged),
                    _dumps({k: merged_base.get(k) for k in merged}),
                    now,
                    agent,
                    uuid.uuid4().hex,
                    old.id,
                ),
            )
            return old.id
    if op in ("activate", "deactivate") and offer_id is not None:
        # The latest choice wins: activating after deactivating leaves one draft.
        conn.execute(
            "DELETE FROM offer_drafts WHERE offer_id = ? AND target = ? AND op IN "
            "('activate', 'deactivate') AND status = ?",
            (offer_id, target, DRAFT),
        )
    cur = conn.execute(
        "INSERT INTO offer_drafts (offer_id, target, op, changes, base_version, base, status, "
        "agent, idempotency_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "RETURNING id",
        (
            offer_id,
            target,
            op,
            _dumps(changes),
            base_version,
            _dumps(base),
            DRAFT,
            agent,
            uuid.uuid4().hex,
            now,
            now,
        ),
    )
    return int(cur.fetchone()[0])  # RETURNING: PostgreSQL has no lastrowid


def get(conn: sqlite3.Connection, draft_id: int) -> Draft | None:
    row = conn.execute("SELECT * FROM offer_drafts WHERE id = ?", (draft_id,)).fetchone()
    return _draft(row) if row else None


def items(
    conn: sqlite3.Connection,
    offer_id: str | None = None,
    statuses: tuple[str, ...] = (DRAFT, CONFLICT),
) -> list[Draft]:
    marks = ",".join("?" * len(statuses))
    sql = f"SELECT * FROM offer_drafts WHERE status IN ({marks})"
    params: list[Any] = list(statuses)
    if offer_id is not None:
        sql += " AND offer_id = ?"
        params.append(offer_id)
    return [_draft(r) for r in conn.execute(sql + " ORDER BY id", params)]


def by_offer(conn: sqlite3.Connection) -> dict[str, list[str]]:
    """Offer id -> the statuses of its drafts (the catalogue marks them)."""
    out: dict[str, list[str]] = {}
    for row in conn.execute(
        "SELECT offer_id, status FROM offer_drafts WHERE offer_id IS NOT NULL ORDER BY id"
    ):
        out.setdefault(row[0], []).append(row[1])
    return out


def conflict(
    conn: sqlite3.Connection,
    draft_id: int,
    server: dict[str, Any],
    server_version: int | None,
    message: str,
    now: int,
) -> None:
    conn.execute(
        "UPDATE offer_drafts SET status = ?, server = ?, server_version = ?, "
        "last_error = ?, updated_at = ? WHERE id = ?",
        (CONFLICT, _dumps(server), server_version, message, now, draft_id),
    )


def failed(conn: sqlite3.Connection, draft_id: int, message: str, now: int) -> None:
    conn.execute(
        "UPDATE offer_drafts SET last_error = ?, updated_at = ? WHERE id = ?",
        (message, now, draft_id),
    )


def rebase(
    conn: sqlite3.Connection,
    draft_id: int,
    changes: dict[str, Any],
    base: dict[str, Any],
    base_version: int | None,
    now: int,
) -> None:
    """After a merge: the kept fields, now based on the server's version."""
    conn.execute(
        "UPDATE offer_drafts SET status = ?, changes = ?, base = ?, base_version = ?, "
        "server = NULL, server_version = NULL, last_error = NULL, updated_at = ?, "
        "idempotency_key = ? WHERE id = ?",
        (DRAFT, _dumps(changes), _dumps(base), base_version, now, uuid.uuid4().hex, draft_id),
    )


def delete(conn: sqlite3.Connection, draft_id: int) -> None:
    conn.execute("DELETE FROM offer_drafts WHERE id = ?", (draft_id,))


def applied(offer: dict[str, Any], drafts: list[Draft]) -> dict[str, Any]:
    """The offer as its waiting drafts would leave it (what the editor starts from)."""
    out = json.loads(json.dumps(offer))
    for d in drafts:
        if d.op == "update" and d.target == "offer":
            for name, value in d.changes.items():
                out[name] = dict(out.get(name) or {}, **value) if name == "price" else value
        elif d.op in ("activate", "deactivate"):
            active = d.op == "activate"
            if d.target == "offer":
                out["active"] = active
            else:
                for loc in out.get("localizations") or []:
                    if loc.get("countryCode") == d.country:
                        loc["active"] = active
        elif d.op == "update" and d.country:
            for loc in out.get("localizations") or []:
                if loc.get("countryCode") == d.country:
                    for name, value in d.changes.items():
                        loc[name] = dict(loc.get(name) or {}, **value) if name == "price" else value
        elif d.op == "create" and d.country:
            loc = dict(d.changes, id=f"{out['id']}_{d.country}", active=bool(out.get("active")))
            out.setdefault("localizations", []).append(loc)
    return out

"""The retention playbook in the cache: every saved version (``playbook_versions``), and the
retention outcomes the audit trail holds (``audit`` rows whose action is ``retention.*``).

Functions take a connection so a caller can run them inside its own transaction.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

RETENTION_ACTIONS = ("retention.offered", "retention.taken", "retention.declined")


@dataclass(frozen=True)
class StoredVersion:
    version: int
    body: dict[str, Any]
    saved_at: int
    saved_by: str | None


@dataclass(frozen=True)
class RetentionEvent:
    """One retention.* audit row: what happened (``offered``, ``taken``, ``declined``) and
    its details as recorded (rule, version, offers, offer, reason)."""

    id: int
    at: int
    kind: str
    customer_id: int | None
    target: str | None
    detail: dict[str, Any]


def latest_version(conn: sqlite3.Connection) -> int:
    """The newest saved version (0 when none was saved)."""
    row = conn.execute("SELECT max(version) FROM playbook_versions").fetchone()
    return int(row[0] or 0)


def get(conn: sqlite3.Connection, version: int | None = None) -> StoredVersion | None:
    """One saved version (the newest when ``version`` is None), or None."""
    if version is None:
        row = conn.execute(
            "SELECT version, body, saved_at, saved_by FROM playbook_versions "
            "ORDER BY version DESC LIMIT 1"
        ).fetchone()
    else:
        row = conn.execute(
            "SELECT version, body, saved_at, saved_by FROM playbook_versions WHERE version = ?",
            (version,),
        ).fetchone()
    if row is None:
        return None
    return StoredVersion(int(row[0]), json.loads(row[1]), int(row[2]), row[3])


def insert(
    conn: sqlite3.Connection, version: int, body: dict[str, Any], *, now: int, agent: str | None
) -> None:
    """Store a new version (the caller's transaction checked it follows the newest)."""
    conn.execute(
        "INSERT INTO playbook_versions (version, body, saved_at, saved_by) VALUES (?, ?, ?, ?)",
        (version, json.dumps(body, ensure_ascii=False), now, agent),
    )


def versions(conn: sqlite3.Connection) -> list[tuple[int, int, str | None]]:
    """Every saved version, newest first: (version, saved_at, saved_by)."""
    return [
        (int(r[0]), int(r[1]), r[2])
        for r in conn.execute(
            "SELECT version, saved_at, saved_by FROM playbook_versions ORDER BY version DESC"
        )
    ]


def _event(row: sqlite3.Row | tuple) -> RetentionEvent:
    rid, at, action, customer_id, target, after = tuple(row)
    try:
        detail = json.loads(after) if after else {}
    except ValueError:
        detail = {}
    return RetentionEvent(
        int(rid),
        int(at),
        str(action).removeprefix("retention."),
        customer_id,
        target,
        detail if isinstance(detail, dict) else {},
    )


_EVENT_COLUMNS = "id, at, action, customer_id, target, after"


def last_event(conn: sqlite3.Connection, customer_id: int, target: str) -> RetentionEvent | None:
    """The newest retention event of one customer's subscription (``target``), or None."""
    row = conn.execute(
        f"SELECT {_EVENT_COLUMNS} FROM audit WHERE customer_id = ? AND target = ? "
        "AND action IN (?, ?, ?) ORDER BY id DESC LIMIT 1",
        (customer_id, target, *RETENTION_ACTIONS),
    ).fetchone()
    return None if row is None else _event(row)


def events(conn: sqlite3.Connection, since: int | None = None) -> list[RetentionEvent]:
    """Every retention event (from ``since`` on, when given), oldest first."""
    sql = f"SELECT {_EVENT_COLUMNS} FROM audit WHERE action IN (?, ?, ?)"
    params: list[Any] = list(RETENTION_ACTIONS)
    if since is not None:
        sql += " AND at >= ?"
        params.append(int(since))
    return [_event(r) for r in conn.execute(sql + " ORDER BY id", params)]


def subscription_facts(conn: sqlite3.Connection, subscription_id: int) -> dict[str, Any] | None:
    """What the playbook needs of a cached subscription (its columns, never its payload):
    ``customer_id``, ``date_to``, ``offer_id``, ``currency``; None when it is not cached."""
    row = conn.execute(
        "SELECT customer_id, date_to, offer_id, currency FROM subscriptions WHERE id = ?",
        (subscription_id,),
    ).fetchone()
    if row is None:
        return None
    return dict(zip(("customer_id", "date_to", "offer_id", "currency"), tuple(row)))


def offer_localizations(conn: sqlite3.Connection, offer_id: str) -> list[str] | None:
    """The localized ids of a cached offer (``S123456789`` -> ``S123456789_PL``, …), or None
    when the offer is not cached."""
    if conn.execute("SELECT 1 FROM offers WHERE id = ?", (offer_id,)).fetchone() is None:
        return None
    return [r[0] for r in localization_currencies(conn, offer_id)]


def localization_currencies(conn: sqlite3.Connection, offer_id: str) -> list[tuple[str, Any]]:
    """(localized id, price currency) of each localization of a cached offer."""
    return [
        (str(r[0]), r[1])
        for r in conn.execute(
            "SELECT id, currency FROM localizations WHERE offer_id = ? ORDER BY id", (offer_id,)
        )
    ]


def coupon_campaigns(conn: sqlite3.Connection, code: str) -> list[Any]:
    """The cached campaigns holding the coupon code, as stored (empty: none holds it)."""
    from srm_tui.storage.payload import decode_raw

    rows = conn.execute(
        "SELECT c.raw FROM campaign_codes k JOIN campaigns c ON c.id = k.campaign_id "
        "WHERE k.code = ? ORDER BY c.id",
        (code,),
    ).fetchall()
    return [decode_raw(row[0]) for row in rows]

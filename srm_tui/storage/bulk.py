"""Bulk runs in the cache: the frozen run (its definition and members) and each member's state.

A run is written whole in one transaction (``create_run``). A member moves ``waiting`` ->
``queued`` (with the id of its outbox entry, in the transaction that wrote the entry) ->
``done`` / ``failed``; or ``waiting`` -> ``refused`` (a rule, before anything was sent) or
``cancelled`` (the run was cancelled before it was queued). Every function here runs in the
caller's transaction.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

# Run statuses: running (started, or killed while it ran), paused, cancelled, done.
RUNNING, PAUSED, CANCELLED, DONE = "running", "paused", "cancelled", "done"
# Member statuses.
WAITING, QUEUED, SENT_OK, REFUSED, FAILED = "waiting", "queued", "done", "refused", "failed"
MEMBER_STATUSES = (WAITING, QUEUED, SENT_OK, REFUSED, FAILED, CANCELLED)

_RUN_COLUMNS = (
    "id, token, action, params, segment_name, segment_definition, agent, role, status, "
    "control, members, created_at, updated_at, finished_at, note"
)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def create_run(
    tx: sqlite3.Connection,
    *,
    token: str,
    action: str,
    params: dict[str, Any],
    segment_name: str | None,
    definition: dict[str, Any],
    agent: str | None,
    role: str | None,
    members: list[tuple[int, int | None]],
    now: int,
) -> int:
    """Write a run and its members (customer id, subscription id or None); its id."""
    cur = tx.execute(
        "INSERT INTO bulk_runs (token, action, params, segment_name, segment_definition, agent, "
        "role, status, members, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "RETURNING id",
        (
            token,
            action,
            _dumps(params),
            segment_name,
            _dumps(definition),
            agent,
            role,
            RUNNING,
            len(members),
            now,
            now,
        ),
    )
    run_id = int(cur.fetchone()[0])  # RETURNING: PostgreSQL has no lastrowid
    tx.executemany(
        "INSERT INTO bulk_members (run_id, seq, customer_id, subscription_id, status) "
        "VALUES (?, ?, ?, ?, 'waiting')",
        ((run_id, seq, cid, sid) for seq, (cid, sid) in enumerate(members, 1)),
    )
    return run_id


def _run(row: sqlite3.Row | None) -> dict[str, Any] | None:
    if row is None:
        return None
    out = dict(row)
    out["params"] = json.loads(out["params"])
    out["segment_definition"] = json.loads(out["segment_definition"])
    return out


def get_run(conn: sqlite3.Connection, run_id: int) -> dict[str, Any] | None:
    """One run as a dict (params and definition decoded), or None."""
    return _run(
        conn.execute(f"SELECT {_RUN_COLUMNS} FROM bulk_runs WHERE id = ?", (run_id,)).fetchone()
    )


def list_runs(conn: sqlite3.Connection, limit: int = 200) -> list[dict[str, Any]]:
    """The newest runs first."""
    rows = conn.execute(
        f"SELECT {_RUN_COLUMNS} FROM bulk_runs ORDER BY id DESC LIMIT ?", (limit,)
    ).fetchall()
    return [r for r in (_run(row) for row in rows) if r is not None]


def counts(conn: sqlite3.Connection, run_id: int) -> dict[str, int]:
    """Members per status (every status named, zero included)."""
    out = dict.fromkeys(MEMBER_STATUSES, 0)
    for status, n in conn.execute(
        "SELECT status, count(*) FROM bulk_members WHERE run_id = ? GROUP BY status", (run_id,)
    ):
        out[status] = n
    return out


def waiting(conn: sqlite3.Connection, run_id: int, limit: int) -> list[sqlite3.Row]:
    """The next waiting members, in their order."""
    return conn.execute(
        "SELECT seq, customer_id, subscription_id FROM bulk_members "
        "WHERE run_id = ? AND status = 'waiting' ORDER BY seq LIMIT ?",
        (run_id, limit),
    ).fetchall()


def queued(conn: sqlite3.Connection, run_id: int) -> list[sqlite3.Row]:
    """Members queued in the outbox and not settled yet, in their order."""
    return conn.execute(
        "SELECT seq, customer_id, subscription_id, outbox_id FROM bulk_members "
        "WHERE run_id = ? AND status = 'queued' ORDER BY seq",
        (run_id,),
    ).fetchall()


def mark_queued(tx: sqlite3.Connection, run_id: int, seq: int, outbox_id: int) -> None:
    tx.execute(
        "UPDATE bulk_members SET status = 'queued', outbox_id = ? "
        "WHERE run_id = ? AND seq = ? AND status = 'waiting'",
        (outbox_id, run_id, seq),
    )


def settle(
    tx: sqlite3.Connection,
    run_id: int,
    seq: int,
    status: str,
    *,
    now: int,
    rule: str | None = None,
    reason: str | None = None,
) -> None:
    """A member's end: done, refused (with its rule), failed (the API's answer)."""
    tx.execute(
        "UPDATE bulk_members SET status = ?, rule = ?, reason = ?, settled_at = ? "
        "WHERE run_id = ? AND seq = ?",
        (status, rule, reason, now, run_id, seq),
    )


def cancel_waiting(tx: sqlite3.Connection, run_id: int, now: int) -> int:
    """Every member not queued yet ends cancelled; how many."""
    cur = tx.execute(
        "UPDATE bulk_members SET status = 'cancelled', settled_at = ? "
        "WHERE run_id = ? AND status = 'waiting'",
        (now, run_id),
    )
    return cur.rowcount


def set_status(
    tx: sqlite3.Connection,
    run_id: int,
    status: str,
    *,
    now: int,
    note: str | None = None,
    control: str | None = None,
) -> None:
    """A run's status (and why, in ``note``); ``control`` is cleared unless given."""
    finished = now if status in (DONE, CANCELLED) else None
    tx.execute(
        "UPDATE bulk_runs SET status = ?, note = ?, control = ?, updated_at = ?, "
        "finished_at = coalesce(finished_at, ?) WHERE id = ?",
        (status, note, control, now, finished, run_id),
    )


def set_control(tx: sqlite3.Connection, run_id: int, control: str | None, now: int) -> None:
    """What the agent asked of a running run (pause, cancel): read between batches."""
    tx.execute(
        "UPDATE bulk_runs SET control = ?, updated_at = ? WHERE id = ?", (control, now, run_id)
    )


def control(conn: sqlite3.Connection, run_id: int) -> str | None:
    row = conn.execute("SELECT control FROM bulk_runs WHERE id = ?", (run_id,)).fetchone()
    return row[0] if row else None


def members(conn: sqlite3.Connection, run_id: int) -> Iterator[sqlite3.Row]:
    """Every member of a run in its order, with its outcome (for reports)."""
    yield from conn.execute(
        "SELECT seq, customer_id, subscription_id, status, rule, reason, outbox_id, settled_at "
        "FROM bulk_members WHERE run_id = ? ORDER BY seq",
        (run_id,),
    )


def refusals(conn: sqlite3.Connection, run_id: int) -> list[tuple[str, int]]:
    """Refused members per rule, most first."""
    return [
        (r[0], r[1])
        for r in conn.execute(
            "SELECT rule, count(*) FROM bulk_members WHERE run_id = ? AND status = 'refused' "
            "GROUP BY rule ORDER BY count(*) DESC, rule",
            (run_id,),
        )
    ]

"""Notes kept in srm's own store, for an API that publishes no notes (the vendor's).

They live in the cache's ``notes`` table, marked ``local = 1`` and, in the record itself,
``keptIn: "srm"``, so every reader (``srm customer show``, the console, the timeline) shows
them with the API's notes, and the note rules (length, author or owner) hold unchanged.
Each change is written in one transaction with its audit entry; nothing is sent anywhere.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from srm_tui.domain import models as m
from srm_tui.storage import records

KEPT_IN = "srm"
NOTICE = "kept in srm: the vendor publishes no notes API"


def is_local(note: dict[str, Any] | None) -> bool:
    """True for a note srm keeps itself (never sent to the API)."""
    return bool(note) and note.get("keptIn") == KEPT_IN


def _write(conn: sqlite3.Connection, note: dict[str, Any], now: int) -> dict[str, Any]:
    records.upsert(conn, "notes", [m.Note.from_api(note)], now)
    conn.execute("UPDATE notes SET local = 1 WHERE id = ?", (note["id"],))
    return note


def _note(conn: sqlite3.Connection, note_id: int) -> dict[str, Any]:
    row = conn.execute("SELECT raw FROM notes WHERE id = ?", (note_id,)).fetchone()
    if row is None:  # the plan checked it in the same cache; kept as a clear failure
        raise LookupError(f"note {note_id} is not in the cache")
    return records.decode_raw(row[0])


def apply(
    conn: sqlite3.Connection, action: str, args: dict[str, Any], *, agent: str, now: int
) -> dict[str, Any]:
    """Carry out a planned note action in srm's store (inside the caller's transaction)."""
    if action == "note-add":
        next_id = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM notes").fetchone()[0]
        return _write(
            conn,
            {
                "id": next_id,
                "customerId": int(args["customer_id"]),
                "author": agent,
                "text": args["text"],
                "createdAt": now,
                "updatedAt": now,
                "deletedAt": None,
                "deletedBy": None,
                "revisions": [],
                "keptIn": KEPT_IN,
            },
            now,
        )
    note = _note(conn, int(args["note_id"]))
    if action == "note-edit":
        revisions = list(note.get("revisions") or []) + [
            {"text": note["text"], "editedAt": now, "editor": agent}
        ]
        return _write(
            conn,
            dict(note, text=args["text"], updatedAt=now, revisions=revisions, keptIn=KEPT_IN),
            now,
        )
    if action == "note-delete":
        return _write(conn, dict(note, deletedAt=now, deletedBy=agent, keptIn=KEPT_IN), now)
    raise ValueError(f"{action} is not a note action")

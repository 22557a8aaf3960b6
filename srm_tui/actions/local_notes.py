"""Notes kept in srm's own store, for an API that publishes no notes (the vendor's).

They live in the cache's ``notes`` table, marked ``local = 1`` and, in the record itself,
``keptIn: "srm"``, so every reader (``srm customer show``, the console, the timeline) shows
them with the API's notes, and the note rules (length, author or owner) hold unchanged.
Each change is written in one transaction with its audit entry; nothing is sent anywhere.

A new note is an INSERT and a change an UPDATE of a local row, never an upsert: on the team
store an agent may insert notes and update the local ones only (storage/pg/roles.py), and an
upsert would need more; a new note's id is taken under a transaction lock there, so two
agents adding notes at once cannot take the same id (an upsert would have overwritten one
note with the other).
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


# Serializes the choice of a new local note's id on the team store (a transaction lock).
ID_LOCK_KEY = 0x5352_4D4E_4F54_4553  # "SRMNOTES"
# What a change of a local note rewrites (the team store lets an agent update these only).
CHANGED = ("updated_at", "deleted_at", "raw", "synced_at")


def _row(note: dict[str, Any], now: int) -> dict[str, Any]:
    """The notes row of ``note``, as the sync's upsert would write it."""
    names = records.columns("notes")
    return dict(
        zip(names, records.row_values("notes", [m.Note.from_api(note)], now)[0], strict=True)
    )


def _insert(conn: sqlite3.Connection, note: dict[str, Any], now: int) -> dict[str, Any]:
    row = _row(note, now)
    names = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    conn.execute(f"INSERT INTO notes ({names}, local) VALUES ({marks}, 1)", tuple(row.values()))
    return note


def _update(conn: sqlite3.Connection, note: dict[str, Any], now: int) -> dict[str, Any]:
    row = _row(note, now)
    sets = ", ".join(f"{c} = ?" for c in CHANGED)
    cur = conn.execute(
        f"UPDATE notes SET {sets} WHERE id = ? AND local = 1",
        (*(row[c] for c in CHANGED), note["id"]),
    )
    if cur.rowcount != 1:  # the plan read it as srm's own in this transaction
        raise LookupError(f"note {note['id']} is not one srm keeps")
    return note


def _next_id(conn: sqlite3.Connection) -> int:
    if records.is_postgres(conn):
        conn.execute("SELECT pg_advisory_xact_lock(?)", (ID_LOCK_KEY,))
    return conn.execute("SELECT coalesce(max(id), 0) + 1 FROM notes").fetchone()[0]


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
        return _insert(
            conn,
            {
                "id": _next_id(conn),
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
        return _update(
            conn,
            dict(note, text=args["text"], updatedAt=now, revisions=revisions, keptIn=KEPT_IN),
            now,
        )
    if action == "note-delete":
        return _update(conn, dict(note, deletedAt=now, deletedBy=agent, keptIn=KEPT_IN), now)
    raise ValueError(f"{action} is not a note action")

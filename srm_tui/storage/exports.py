"""Files srm wrote that hold customers' personal data, and which of them still hold a value.

Anonymizing a customer cleans the cache file, but an export already written (a segment's
members as CSV or JSON) is the agent's file: srm does not delete or rewrite it. So every
export srm writes is recorded here (its absolute path, what wrote it, when, for which
segment), and after an anonymization the agent is told which recorded files that still
exist contain any of the customer's values, so they can be deleted or re-exported.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from srm_tui.storage.cache import Cache

# Values shorter than this are ignored: "Al" would be found inside every other file.
MIN_VALUE = 3
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ExportRecord:
    path: str
    kind: str
    segment: str | None
    created_at: int


def _conn(cache: Cache | sqlite3.Connection) -> sqlite3.Connection:
    # A store (SQLite Cache, PgStore) hands out its connection; a connection (SQLite's, or a
    # PgStore's) is used as it is.
    return cache.conn() if hasattr(cache, "conn") else cache


def record_export(
    cache: Cache | sqlite3.Connection,
    path: str | os.PathLike[str],
    kind: str,
    *,
    segment: str | None = None,
) -> None:
    """Note that srm wrote personal data to ``path`` (``-``, standard output, is not a file)."""
    if str(path) == "-":
        return
    absolute = str(Path(path).expanduser().resolve())
    conn = _conn(cache)
    # Its own short transaction (or the caller's): the export exists, so its record must too.
    sql = (
        "INSERT INTO exports (path, kind, segment, created_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(path) DO UPDATE SET kind = excluded.kind, "
        "segment = excluded.segment, created_at = excluded.created_at"
    )
    args = (absolute, kind, segment, int(time.time()))
    if conn.in_transaction:
        conn.execute(sql, args)
    else:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(sql, args)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")


def recorded(cache: Cache | sqlite3.Connection) -> list[ExportRecord]:
    """Every recorded export, oldest first (whether or not the file still exists)."""
    rows = _conn(cache).execute(
        "SELECT path, kind, segment, created_at FROM exports ORDER BY created_at, path"
    )
    return [ExportRecord(*row) for row in rows]


def _needles(values: Iterable[str]) -> list[bytes]:
    """How a value looks inside a CSV or JSON file srm wrote: as is, JSON-escaped (with and
    without \\uXXXX), and CSV-quoted (inner quotes doubled)."""
    forms: set[str] = set()
    for value in values:
        if not isinstance(value, str):
            continue
        value = value.strip()
        if len(value) < MIN_VALUE:
            continue
        forms.update(
            {
                value,
                json.dumps(value)[1:-1],
                json.dumps(value, ensure_ascii=False)[1:-1],
                value.replace('"', '""'),
            }
        )
    return sorted({f.encode("utf-8") for f in forms if f}, key=len, reverse=True)


def _holds(path: Path, needles: list[bytes]) -> bool:
    """Whether the file contains any needle; read in chunks, so a big export is no burden."""
    overlap = max(len(n) for n in needles) - 1
    tail = b""
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(_CHUNK)
            if not chunk:
                return False
            window = tail + chunk
            if any(n in window for n in needles):
                return True
            tail = window[-overlap:] if overlap else b""


def files_holding(cache: Cache | sqlite3.Connection, values: Iterable[str]) -> list[str]:
    """The recorded export files that still exist and contain any of ``values``."""
    needles = _needles(values)
    if not needles:
        return []
    found = []
    for record in recorded(cache):
        path = Path(record.path)
        try:
            if path.is_file() and _holds(path, needles):
                found.append(record.path)
        except OSError:
            # Unreadable now (moved permissions, a dead mount): say so rather than stay silent.
            found.append(record.path)
    return found

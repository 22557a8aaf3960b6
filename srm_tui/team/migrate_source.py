"""Reading the cache for `srm team migrate` (team/migrate.py): one snapshot, its tables and
keys, the rows in primary-key order from a last key on, and each value made what the store's
column holds. A ``raw`` still stored as JSON text (older caches) becomes its UTF-8 bytes;
PostgreSQL text cannot hold U+0000, so text columns get U+FFFD in its place (the record's raw,
bytea, keeps it exactly); an integral REAL in an INTEGER column becomes an int; a value no
column of the store can hold stops the copy with its table, key and column named.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from srm_tui.storage.cache import CacheError

CACHE_ID_META = "cache_id"  # the cache's own meta: its random identity
MIGRATED_FROM_META = "migrated_from"  # the store's meta: the cache it was filled from
# Meta rows that are not data: the schema's version (the store has its own), the cache's
# conversion state and identity, the facts' state (rebuilt on the store), a person's list
# columns and the API's signing keys (fetched again), and the store's own claim.
META_NOT_COPIED: tuple[str, ...] = (
    "schema_version",
    "payload_convert",
    CACHE_ID_META,
    MIGRATED_FROM_META,
    "segment_facts_built",
    "segment_facts_rebuild",
    "list_columns",
    "jwks",
)
_NUL = "\x00"
_REPLACEMENT = "\ufffd"


class MigrateError(CacheError):
    """The copy cannot go on (a value the store's column cannot hold, a store whose schema
    lacks a column, another migrate running): one line, exit 1."""


def snapshot(path: Path) -> sqlite3.Connection:
    """A read-only connection to the cache holding one read transaction: every table is read
    as of one moment, whatever writes the cache meanwhile."""
    conn = sqlite3.connect(f"file:{quote(str(path.absolute()))}?mode=ro", uri=True)
    conn.execute("BEGIN")
    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the snapshot starts here
    return conn


def source_tables(src: sqlite3.Connection) -> set[str]:
    """The cache's tables (SQLite's own aside)."""
    return {
        r[0]
        for r in src.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        if not r[0].startswith("sqlite_")
    }


def source_columns(src: sqlite3.Connection, table: str) -> tuple[list[str], list[str]]:
    """(columns in order, primary-key columns in key order)."""
    info = src.execute(f"PRAGMA table_info({q(table)})").fetchall()
    columns = [r[1] for r in info]
    key = [r[1] for r in sorted((r for r in info if r[5]), key=lambda r: r[5])]
    return columns, key


def unknown_tables(present: set[str]) -> list[str]:
    from srm_tui.storage.pg import schema

    fts = set(schema.PG_REPLACED_TABLES)
    return sorted(
        t
        for t in present
        if t not in schema.ALL_TABLES
        and t not in fts
        and not any(t.startswith(f"{name}_") for name in fts)
    )


def q(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def source_rows(
    src: sqlite3.Connection,
    table: str,
    columns: list[str],
    key: list[str],
    last: list[Any] | None,
    limit: int,
) -> list[tuple]:
    """Up to ``limit`` rows of ``table`` after the key ``last`` (None: from the start), in
    key order (meta: its data rows only)."""
    where = []
    params: list[Any] = []
    if table == "meta":
        where.append(f"key NOT IN ({', '.join('?' * len(META_NOT_COPIED))})")
        params += META_NOT_COPIED
    if last is not None:
        where.append(f"({', '.join(map(q, key))}) > ({', '.join('?' * len(key))})")
        params += last
    sql = (
        f"SELECT {', '.join(map(q, columns))} FROM {q(table)}"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + f" ORDER BY {', '.join(map(q, key))} LIMIT ?"
    )
    return src.execute(sql, (*params, limit)).fetchall()


def count_rows(src: sqlite3.Connection, table: str) -> int:
    """The rows of ``table`` the copy takes (meta: its data rows only)."""
    if table == "meta":
        marks = ", ".join("?" * len(META_NOT_COPIED))
        sql = f"SELECT count(*) FROM meta WHERE key NOT IN ({marks})"
        return src.execute(sql, META_NOT_COPIED).fetchone()[0]
    return src.execute(f"SELECT count(*) FROM {q(table)}").fetchone()[0]


# -- values ----------------------------------------------------------------------------------


class _BadValue(ValueError):
    pass


def _text(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace(_NUL, _REPLACEMENT) if _NUL in value else value
    if isinstance(value, (bytes, memoryview)):
        return bytes(value).decode("utf-8", "replace").replace(_NUL, _REPLACEMENT)
    return value


def _bigint(value: Any) -> Any:
    if value is None or type(value) is int:
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        return int(value)
    raise _BadValue("an integer")


def _double(value: Any) -> Any:
    if value is None or isinstance(value, (int, float)):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _BadValue("a number") from None


def _bytea(value: Any) -> Any:
    if isinstance(value, str):  # plain JSON text of an older cache: its UTF-8 bytes
        return value.encode("utf-8")
    if isinstance(value, memoryview):
        return bytes(value)
    if value is None or isinstance(value, bytes):
        return value
    raise _BadValue("bytes")


_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "text": _text,
    "bigint": _bigint,
    "integer": _bigint,
    "double precision": _double,
    "bytea": _bytea,
}


def convert(
    table: str, columns: list[str], key: list[str], kinds: dict[str, str], rows: list[tuple]
) -> Iterator[tuple]:
    """The rows as the store's columns take them (see the module docstring); MigrateError
    naming the table, the row's key and the column of a value no store column can hold."""
    converters = [_CONVERTERS.get(kinds[c], _text) for c in columns]
    at = [columns.index(k) for k in key]
    for row in rows:
        out = []
        for cast, column, value in zip(converters, columns, row, strict=True):
            try:
                out.append(cast(value))
            except _BadValue as bad:
                ident = ", ".join(str(row[i]) for i in at)
                raise MigrateError(
                    f"{table} {ident}: {column} holds {str(value)[:40]!r}, not {bad} as the "
                    f"store's {kinds[column]} column needs; nothing of this batch was written"
                ) from None
        yield tuple(out)

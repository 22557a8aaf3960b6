"""The stored payload of a cached record (its ``raw`` column): JSON, compressed.

A value is either plain JSON (text: every cache before schema 9; or its UTF-8 bytes: a record
too small to gain) or a dictionary id in its first byte followed by
the UTF-8 JSON deflated (zlib, raw deflate: no header or checksum) with that id's preset
dictionary. Each table has its own dictionary: the API's key names and the values records of
that kind share, so a 450-byte transaction keeps about 75 bytes. The dictionaries ship with srm (``srm_tui/data/payload/``, built by
``bench/make_payload_dictionaries.py`` from the sandbox's generated records) and are copied
into the cache's ``raw_dictionaries`` table, so a cache says how to read itself; an id is
never reused, so a better dictionary later takes a new id and old values stay readable.

``encode`` is the one way a record becomes a ``raw`` value and ``decode_raw`` the one way
back. Plain JSON stays readable, so a cache converts its old rows table by table
(``convert_pending``) while everything reads as usual.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import zlib
from functools import cache
from pathlib import Path
from typing import Any

DICTIONARY_FOLDER = Path(__file__).resolve().parents[1] / "data" / "payload"

# Dictionary id -> the table it was made for. Ids are shipped with srm and never change
# meaning; a value's first byte names one of them. Ids stay below 32: no byte a JSON text
# srm writes can start with (_JSON_FIRST), so plain JSON bytes never look like one.
DICTIONARIES: dict[int, str] = {
    1: "customers",
    2: "subscriptions",
    3: "passes",
    4: "transactions",
    5: "payment_details",
    6: "emails",
    7: "notes",
    8: "history",
    9: "offers",
    10: "season_groups",
    11: "campaigns",
}
# The dictionary each table writes with now.
WRITE_WITH: dict[str, int] = {entity: ident for ident, entity in DICTIONARIES.items()}

# The first bytes of JSON text as dumps() writes it (no leading space): an object, an array,
# a string, a number, true, false, null. Records are objects; the rest stays readable too.
_JSON_FIRST = frozenset(b'{["-0123456789tfn')
# zlib's default level and memory: level 9 (or memLevel 9, whose buffers glibc maps and
# unmaps on every copy) saved 2-4 % of the bytes at up to ten times the time a record.
_LEVEL = 6
_MEM_LEVEL = 8
CONVERT_META = "payload_convert"  # meta key: tables still holding plain JSON rows


class PayloadError(ValueError):
    """A stored value srm cannot read (an unknown dictionary id, damaged bytes)."""


def dumps(value: Any) -> str:
    """The JSON text srm stores: compact, non-ASCII kept as it is."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def dictionary_path(ident: int) -> Path:
    return DICTIONARY_FOLDER / f"{ident:02d}-{DICTIONARIES[ident]}.zdict"


@cache
def dictionary(ident: int) -> bytes:
    """The shipped dictionary ``ident`` (PayloadError when this srm has none by that id)."""
    if ident not in DICTIONARIES:
        raise PayloadError(
            f"a cached record is written with dictionary {ident}, which this srm does not "
            "know (written by a newer srm?)"
        )
    return dictionary_path(ident).read_bytes()


@cache
def _packer(ident: int) -> Any:
    # Priming a compressor with 32 KB of dictionary costs more than compressing a record:
    # each record copies a primed one.
    return zlib.compressobj(_LEVEL, zlib.DEFLATED, -15, _MEM_LEVEL, zdict=dictionary(ident))


@cache
def _unpacker(ident: int) -> Any:
    return zlib.decompressobj(-15, zdict=dictionary(ident))


def encode(entity: str, record: Any) -> bytes:
    """A record as the ``raw`` value of a row of ``entity``: compressed with the table's
    dictionary, or its JSON as UTF-8 bytes when that is no longer (a tiny record, a table
    without a dictionary). Always bytes, so the value is a BLOB in SQLite and fits
    PostgreSQL's bytea as it is."""
    return encode_stored(entity, dumps(record))


def decode_raw(value: str | bytes | memoryview | None) -> Any:
    """A stored ``raw`` value as the record it holds (None stays None)."""
    if value is None:
        return None
    if isinstance(value, str):
        return json.loads(value)
    data = bytes(value)
    if not data:
        raise PayloadError("an empty stored record")
    if data[0] in _JSON_FIRST:
        return json.loads(data.decode("utf-8"))
    unpacker = _unpacker(data[0]).copy()
    try:
        plain = unpacker.decompress(data[1:]) + unpacker.flush()
    except zlib.error as exc:
        raise PayloadError(f"a cached record cannot be read: {exc}") from exc
    if not unpacker.eof:
        raise PayloadError("a cached record is cut short")
    return json.loads(plain.decode("utf-8"))


def is_plain(value: Any) -> bool:
    """Whether a stored value is plain JSON (not yet compressed)."""
    if isinstance(value, str):
        return True
    if not isinstance(value, (bytes, memoryview)):
        return False
    first = bytes(value[:1])
    return bool(first) and first[0] in _JSON_FIRST


# -- the cache's copy of the dictionaries, and converting plain rows -------------------------


def install_dictionaries(conn: sqlite3.Connection) -> None:
    """Write the shipped dictionaries this cache does not hold yet into raw_dictionaries."""
    have = {r[0] for r in conn.execute("SELECT id FROM raw_dictionaries")}
    for ident, entity in DICTIONARIES.items():
        if ident in have:
            continue
        data = dictionary(ident)
        conn.execute(
            "INSERT INTO raw_dictionaries (id, entity, data, sha256) VALUES (?, ?, ?, ?)",
            (ident, entity, data, hashlib.sha256(data).hexdigest()),
        )


def encode_stored(entity: str, value: Any) -> bytes:
    """A stored raw value as ``encode`` writes it, always bytes (already compressed: as is).
    Plain JSON is compressed as it is, without a round trip through a dict; kept as its UTF-8
    bytes when compressing would not make it shorter."""
    if not is_plain(value):
        return bytes(value) if isinstance(value, memoryview) else value
    plain = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    ident = WRITE_WITH.get(entity)
    if ident is None:
        return plain
    packer = _packer(ident).copy()
    packed = bytes((ident,)) + packer.compress(plain) + packer.flush()
    return packed if len(packed) < len(plain) else plain


_CREATE = re.compile(r'^\s*CREATE TABLE\s+("?)(\w+)\1', re.IGNORECASE)


def _rebuild(tx: sqlite3.Connection, entity: str) -> int:
    """Copy ``entity`` into a new table with every raw compressed, then put it in the old
    one's place with its indexes and triggers. A copy writes pages as full as a fresh
    cache's (rows compressed in place would leave the old pages as they were, mostly empty),
    and the copy fires no trigger: no segment fact changes. Returns the rows copied."""
    table_sql = tx.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (entity,)
    ).fetchone()
    if table_sql is None:
        return 0
    extras = [
        r[0]
        for r in tx.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger') "
            "AND sql IS NOT NULL ORDER BY type, name",
            (entity,),
        )
    ]
    columns = [r[1] for r in tx.execute(f"PRAGMA table_info({entity})")]
    staging = f"{entity}_lean"
    tx.execute(f"DROP TABLE IF EXISTS {staging}")
    tx.execute(_CREATE.sub(f"CREATE TABLE {staging}", table_sql[0], count=1))
    picks = ", ".join(f"srm_pack('{entity}', raw)" if c == "raw" else c for c in columns)
    cur = tx.execute(f"INSERT INTO {staging} ({', '.join(columns)}) SELECT {picks} FROM {entity}")
    copied = cur.rowcount
    tx.execute(f"DROP TABLE {entity}")
    tx.execute(f"ALTER TABLE {staging} RENAME TO {entity}")
    for sql in extras:
        tx.execute(sql)
    return copied


def convert_pending(cache: Any, say: Any = None) -> int:
    """Compress the plain JSON rows a cache still holds, table by table, as the meta key
    CONVERT_META lists them (a migration sets it). Each table is rebuilt in one transaction
    that also records it done, so a conversion cut short resumes with the next table; until
    its table is done a row reads as the plain JSON it is. ``say(line)``, when given, hears
    each table before it starts (a large cache takes minutes, once). Returns the rows
    rewritten."""
    conn = cache.conn()
    if not conn.execute("SELECT 1 FROM meta WHERE key = ?", (CONVERT_META,)).fetchone():
        return 0
    conn.create_function("srm_pack", 2, encode_stored, deterministic=True)
    done = 0
    while True:
        with cache.transaction() as tx:
            row = tx.execute("SELECT value FROM meta WHERE key = ?", (CONVERT_META,)).fetchone()
            if row is None:  # another process finished it meanwhile
                return done
            state = json.loads(row[0] or "{}")
            install_dictionaries(tx)
            todo = [e for e in WRITE_WITH if state.get(e) != "done"]
            if not todo:
                tx.execute("DELETE FROM meta WHERE key = ?", (CONVERT_META,))
                return done
            if say is not None:
                rows = tx.execute(f"SELECT count(*) FROM {todo[0]}").fetchone()[0]
                say(
                    f"srm: compressing the cache's {rows:,} stored {todo[0]} records, once after "
                    "an upgrade (it resumes if stopped)"
                )
            done += _rebuild(tx, todo[0])
            state[todo[0]] = "done"
            tx.execute("UPDATE meta SET value = ? WHERE key = ?", (dumps(state), CONVERT_META))

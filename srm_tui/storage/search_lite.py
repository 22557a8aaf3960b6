"""The first matches of a search in id order on the SQLite cache, read from each branch's first
ids instead of from every match.

A query is terms ANDed, a term its options ORed (storage.search). The single statement
``... WHERE c.id IN (SELECT rowid FROM customers_fts WHERE customers_fts MATCH ?) ... ORDER BY
c.id LIMIT 50`` makes SQLite build a term's whole match set (a list subquery) and sort it: a
common prefix (``ma``: a third of the customers) costs its match count, linear in the table.
FTS5 itself returns rowids in order and stops early, so here the answer is merged from
streams, each read in id order with a LIMIT:

- the text of every term at once, when every term has a text option: one MATCH of the terms'
  FTS5 expressions ANDed (FTS5 joins them itself, skipping through its doclists); every id it
  gives matches the whole query;
- each other option (an identifier, a country, a currency, a birth date, a state, a card) of
  every term, as its own indexed statement; with more than one term its ids are checked
  against the whole query (the text conditions asked only about those ids). When some term
  has no text option, that term's options are the streams instead (the query's matches are
  among them), each checked the same way.

Each stream gives its first ``k`` ids after the mark. Up to the smallest last id of the
streams that gave ``k`` (the horizon) every stream has given all its ids, so the accepted ids
up to there are exactly the query's; when they are too few the round is repeated from the
horizon with a bigger ``k``, and after ``ROUNDS`` rounds the one statement reads the rest
from there. The ids, their order and so the rows are those of the one statement.

A one-letter prefix has no FTS5 prefix index (``prefix='2 3'``), and FTS5 merges every doclist
starting with that letter before it returns the first rowid. ``a`` is the word ``a`` or any
word starting with ``a`` and one more character, so it is asked as ``"a" OR "aa"* OR "ab"* OR
...`` over the second characters present in the index (found in FTS5's own vocabulary, a few
lookups), each served by the two-letter prefix index and read lazily.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from typing import Any

Condition = tuple[str, list[Any]]

FTS_SUBQUERY = "customers_fts MATCH ?)"  # how every text condition's id set ends (search._FTS)
# Rounds of growing batches before the one statement reads the rest (a stream whose ids
# mostly fail the other terms, e.g. a common country beside a rare name).
ROUNDS = 4
GROWTH = 4
# Ids checked one by one in FTS5 up to this many (each lookup sets the whole MATCH up again:
# ~1.7 ms for an expanded one-letter prefix at 30,000); more are checked by reading the text
# matches within their id range once.
FEW = 4
# A prefix phrase whose words FTS5 cuts exactly where the spaces are (ASCII letters and
# digits): its last word can be expanded by its next character.
_PHRASE = re.compile(r'^(?:(\w+) : )?"((?:[0-9a-z]+ )*)([0-9a-z])"\*$')
_NEXT = re.compile(r"[0-9a-z]")
_VOCAB = "temp.srm_fts_terms"


@dataclass
class _Stream:
    sql: str  # ids in the list's order; ``{bound}`` takes the mark, ``?`` the limit last
    params: list[Any]
    checked: bool  # its ids must be checked against the whole query


def _terms_table(conn: sqlite3.Connection) -> bool:
    """This connection's view of the index's vocabulary (one row per word occurrence, read
    lazily, so the first word from a point costs one lookup)."""
    try:
        conn.execute(
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {_VOCAB} "
            "USING fts5vocab(main, customers_fts, 'instance')"
        )
    except sqlite3.Error:  # a connection that may not create even a temp table
        return False
    return True


def _second_letters(conn: sqlite3.Connection, first: str) -> list[str] | None:
    """Every character that follows ``first`` at the start of an indexed word, or None when
    one is not an ASCII letter or digit (then the prefix is asked as it is)."""
    if not _terms_table(conn):
        return None
    found: list[str] = []
    bound, op = first, ">"
    while True:
        row = conn.execute(
            f"SELECT term FROM {_VOCAB} WHERE term {op} ? LIMIT 1", (bound,)
        ).fetchone()
        if row is None or not row[0].startswith(first):
            return found
        nxt = row[0][len(first)]
        if not _NEXT.fullmatch(nxt):
            return None
        found.append(nxt)
        bound, op = first + chr(ord(nxt) + 1), ">="


def expand(conn: sqlite3.Connection, match: str) -> str:
    """An FTS5 prefix phrase whose last word is one character, asked through the two-letter
    prefix index (the same rowids); any other match as it is."""
    m = _PHRASE.match(match)
    if m is None:
        return match
    column, head, last = m.groups()
    seconds = _second_letters(conn, last)
    if seconds is None:
        return match
    options = [f'"{head}{last}"'] + [f'"{head}{last}{c}"*' for c in seconds]
    inner = " OR ".join(options)
    return f"{column} : ({inner})" if column else f"({inner})"


class _Expanded(dict):
    """Each text option's match as FTS5 is asked it (``expand``), looked up once when first
    needed, for one search."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        super().__init__()
        self.conn = conn

    def __missing__(self, match: str) -> str:
        self[match] = expand(self.conn, match)
        return self[match]


def _streams(terms: list[list[Condition]], fts: str, expanded: dict[str, str]) -> list[_Stream]:
    checked = len(terms) > 1
    texts = [[p[0] for sql, p in options if sql == fts] for options in terms]
    streams: list[_Stream] = []
    if all(len(t) == 1 for t in texts):
        match = " AND ".join(f"({expanded[t[0]]})" for t in texts)
        if len(texts) == 1:
            match = expanded[texts[0][0]]
        streams.append(
            _Stream(
                "SELECT rowid FROM customers_fts WHERE customers_fts MATCH ?{bound} "
                "ORDER BY rowid {direction} LIMIT ?",
                [match],
                False,
            )
        )
        others = [(sql, p) for options in terms for sql, p in options if sql != fts]
    else:  # a term without one text option: the query's matches are among its own
        others = next(options for options, t in zip(terms, texts, strict=True) if len(t) != 1)
    for sql, params in others:
        streams.append(
            _Stream(
                f"SELECT c.id FROM customers c WHERE {sql}{{bound}} "
                "ORDER BY c.id {direction} LIMIT ?",
                list(params),
                checked,
            )
        )
    return streams


def _read(conn: sqlite3.Connection, stream: _Stream, after: int | None, k: int, desc: bool) -> list:
    op = "<" if desc else ">"
    column = "rowid" if stream.sql.startswith("SELECT rowid") else "c.id"
    bound = "" if after is None else f" AND {column} {op} {int(after)}"
    sql = stream.sql
    if after is not None:  # the text conditions inside read only past the mark too
        sql = sql.replace(FTS_SUBQUERY, f"customers_fts MATCH ? AND rowid {op} {int(after)})")
    sql = sql.format(bound=bound, direction="DESC" if desc else "ASC")
    return [r[0] for r in conn.execute(sql, [*stream.params, k])]


def _check(
    conn: sqlite3.Connection,
    terms: list[list[Condition]],
    fts: str,
    expanded: dict[str, str],
    ids: set[int],
) -> set[int]:
    """Those of ``ids`` that match every term. Each text condition is asked only about them
    (few: FTS5 looks each rowid up; many: it reads their id range), with its one-letter
    prefixes expanded, never for its whole match set."""
    listed = ",".join(str(int(i)) for i in sorted(ids))
    if len(ids) <= FEW:
        only = f"rowid IN ({listed})"
    else:
        only = f"rowid >= {min(ids)} AND rowid <= {max(ids)}"
    conds, params = [], []
    for options in terms:
        ors = []
        for sql, ps in options:
            if sql == fts:
                ps = [expanded[ps[0]]]
            ors.append(sql.replace(FTS_SUBQUERY, f"customers_fts MATCH ? AND {only})"))
            params += ps
        conds.append("(" + " OR ".join(ors) + ")")
    rows = conn.execute(
        f"SELECT c.id FROM customers c WHERE c.id IN ({listed}) AND {' AND '.join(conds)}",
        params,
    )
    return {r[0] for r in rows}


def first_ids(
    conn: sqlite3.Connection,
    terms: list[list[Condition]],
    fts: str,
    *,
    exclude: set[int],
    limit: int,
    after: int | None,
    descending: bool,
) -> tuple[list[int], int | None, bool]:
    """The first ``limit`` ids in id order (after ``after``) matching every term (each a list
    of options, ORed; ``fts`` is the SQL of a text option), none of ``exclude``:
    ``(ids, mark, done)``. When not ``done`` the ids are the first ones and the rest lies
    after ``mark``, for the one statement to read."""
    expanded = _Expanded(conn)
    streams = _streams(terms, fts, expanded)
    found: list[int] = []
    k = limit + len(exclude)
    for _ in range(ROUNDS):
        read = [(s, _read(conn, s, after, k, descending)) for s in streams]
        full = [ids[-1] for _, ids in read if len(ids) >= k]
        horizon = (max(full) if descending else min(full)) if full else None

        def inside(i: int, horizon: int | None = horizon) -> bool:
            return horizon is None or (i >= horizon if descending else i <= horizon)

        sure: set[int] = set()
        maybe: set[int] = set()
        for stream, ids in read:
            for i in ids:
                if inside(i) and i not in exclude:
                    (maybe if stream.checked else sure).add(i)
        maybe -= sure
        if maybe:
            sure |= _check(conn, terms, fts, expanded, maybe)
        found += sorted(sure, reverse=descending)[: limit - len(found)]
        if len(found) >= limit or horizon is None:
            return found, None, True
        after, k = horizon, k * GROWTH
    return found, after, False


def checked(
    conn: sqlite3.Connection,
    cond: Condition,
    terms: list[list[Condition]],
    fts: str,
    limit: int,
) -> list[int]:
    """The first ``limit`` ids in id order that match ``cond`` (identifiers: few customers)
    and every term, the terms asked only about the ids ``cond`` gives."""
    sql, params = cond
    expanded = _Expanded(conn)
    found: list[int] = []
    after: int | None = None
    while True:
        bound = "" if after is None else f" AND c.id > {int(after)}"
        ids = [
            r[0]
            for r in conn.execute(
                f"SELECT c.id FROM customers c WHERE {sql}{bound} ORDER BY c.id LIMIT ?",
                [*params, limit],
            )
        ]
        if ids:
            found += sorted(_check(conn, terms, fts, expanded, set(ids)))
        if len(found) >= limit or len(ids) < limit:
            return found[:limit]
        after = ids[-1]

"""SQLite's placeholders in psycopg's style, so one SQL text runs on both databases.

psycopg 3 binds ``%s`` and ``%(name)s`` and reads every other ``%`` as the start of one (the
whole text is scanned, string literals included); SQLite binds ``?`` and ``:name``. The
translation replaces the placeholders outside string literals ('…', E'…', $tag$…$tag$),
quoted identifiers ("…"), comments (-- and nested /* */) and PostgreSQL's ``::`` casts, and
doubles every ``%``. A text is translated once (cached): statements are few and repeat.
This module imports no psycopg.
"""

from __future__ import annotations

from functools import lru_cache

_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$")
_NAME_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_NAME = _NAME_START | frozenset("0123456789")


def _skip_quoted(sql: str, i: int, quote: str, backslash: bool = False) -> int:
    """The index after the literal or identifier opening at ``i`` (a doubled quote is one
    character; with ``backslash`` a backslash escapes the next character). An unterminated
    one runs to the end: the server reports it."""
    n = len(sql)
    j = i + 1
    while j < n:
        c = sql[j]
        if backslash and c == "\\":
            j += 2
            continue
        if c == quote:
            if j + 1 < n and sql[j + 1] == quote:
                j += 2
                continue
            return j + 1
        j += 1
    return n


def _skip_block_comment(sql: str, i: int) -> int:
    """The index after the /* … */ comment opening at ``i`` (PostgreSQL nests them)."""
    n = len(sql)
    depth = 0
    j = i
    while j < n:
        if sql.startswith("/*", j):
            depth += 1
            j += 2
        elif sql.startswith("*/", j):
            depth -= 1
            j += 2
            if depth == 0:
                return j
        else:
            j += 1
    return n


def _dollar_tag(sql: str, i: int) -> str | None:
    """The $tag$ opening a dollar-quoted string at ``i``, or None ($1 is a parameter)."""
    j = i + 1
    n = len(sql)
    if j < n and sql[j] == "$":
        return "$$"
    if j >= n or sql[j] not in _NAME_START:
        return None
    while j < n and sql[j] in _NAME:
        j += 1
    if j < n and sql[j] == "$":
        return sql[i : j + 1]
    return None


def _scan(sql: str) -> tuple[str, int]:
    """The translated text and the number of positional placeholders in it."""
    out: list[str] = []
    positional = 0
    n = len(sql)
    i = 0
    start = 0  # the start of the text not yet copied to out

    def flush(upto: int) -> None:
        out.append(sql[start:upto].replace("%", "%%"))

    while i < n:
        c = sql[i]
        prev = sql[i - 1] if i else ""
        if c == "'":
            backslash = prev in "Ee" and (i < 2 or sql[i - 2] not in _WORD)
            i = _skip_quoted(sql, i, "'", backslash)
        elif c == '"':
            i = _skip_quoted(sql, i, '"')
        elif c == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end
        elif c == "/" and sql.startswith("/*", i):
            i = _skip_block_comment(sql, i)
        elif c == "$" and prev not in _WORD and (tag := _dollar_tag(sql, i)) is not None:
            end = sql.find(tag, i + len(tag))
            i = n if end < 0 else end + len(tag)
        elif c == ":" and sql.startswith("::", i):
            i += 2
            while i < n and sql[i] == ":":
                i += 1
        elif c == ":" and i + 1 < n and sql[i + 1] in _NAME_START and prev not in _WORD:
            j = i + 1
            while j < n and sql[j] in _NAME:
                j += 1
            flush(i)
            out.append(f"%({sql[i + 1 : j]})s")
            i = start = j
        elif c == "?":
            flush(i)
            out.append("%s")
            positional += 1
            i = start = i + 1
        else:
            i += 1
    flush(n)
    return "".join(out), positional


@lru_cache(maxsize=4096)
def to_psycopg(sql: str) -> str:
    """``sql`` with SQLite's ``?`` as ``%s`` and ``:name`` as ``%(name)s``, every ``%`` doubled
    (psycopg's escape), literals, identifiers, comments and ``::`` casts left as they are."""
    return _scan(sql)[0]


@lru_cache(maxsize=4096)
def positional_count(sql: str) -> int:
    """How many positional ``?`` placeholders ``sql`` holds (outside literals and comments)."""
    return _scan(sql)[1]

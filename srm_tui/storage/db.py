"""What every store offers, whichever database holds it: the local SQLite cache (storage/cache.py)
or the team's PostgreSQL store (storage/pg/connection.py).

One SQL text serves both: statements are written for SQLite (``?`` and ``:name`` placeholders)
and the PostgreSQL proxy translates them; where the two dialects really differ (null-safe
equality, string tests, rounding, JSON, case-insensitive equality, NULL order, temp tables) a
statement asks its store's ``dialect`` for the fragment. This module imports no psycopg: a
PostgreSQL store is opened (and psycopg loaded) only when the location is a postgresql:// URL,
so every SQLite command and the console's first frame stay free of it.
"""

from __future__ import annotations

import os
import re
import sqlite3
import sys
from contextlib import AbstractContextManager
from functools import lru_cache
from typing import Any, Protocol, runtime_checkable

_PG_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(text: str) -> bool:
    """Whether ``text`` names a PostgreSQL store (``postgresql://`` or ``postgres://``)."""
    return isinstance(text, str) and text.strip().lower().startswith(_PG_SCHEMES)


# The userinfo of a URL runs to the last '@' before the path, query or fragment; a URL quoted
# inside a message (libpq's errors quote it) ends at a space or a quote.
_URL_USERINFO = re.compile(
    r"(?P<scheme>\b[a-z][a-z0-9+.-]*://)(?P<user>[^:@/?#\s'\"]*):[^/?#\s'\"]*@", re.I
)
_URL_QUERY_PASSWORD = re.compile(r"(?P<key>[?&][a-z_]*password=)[^&#\s'\"]*", re.I)
# A libpq keyword/value string ("host=x password=secret"): quoted or bare value.
# (Not a URL's query parameter: that one ends at '&', handled above.)
_KV_PASSWORD = re.compile(
    r"(?<![?&])\b(?P<key>[a-z_]*password\s*=\s*)(?:'(?:[^'\\]|\\.)*'|\S+)", re.I
)


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``: the one in the userinfo, a
    ``password=`` query parameter, or a libpq ``password=`` keyword. Every message, log and
    JSON that shows a store's URL goes through this; so does a message that may quote one."""
    text = _URL_USERINFO.sub(r"\g<scheme>\g<user>:***@", str(url))
    text = _URL_QUERY_PASSWORD.sub(r"\g<key>***", text)
    return _KV_PASSWORD.sub(r"\g<key>***", text)


def db_errors() -> tuple[type[BaseException], ...]:
    """The exceptions a store's statements raise: sqlite3.Error, and psycopg.Error once
    psycopg is loaded (it is only when a PostgreSQL store was opened)."""
    # Another thread may be importing psycopg now: its module is then in sys.modules before
    # its Error is, and no psycopg error can be raised before that class exists.
    psycopg_error = getattr(sys.modules.get("psycopg"), "Error", None)
    if psycopg_error is None:
        return (sqlite3.Error,)
    return (sqlite3.Error, psycopg_error)


def __getattr__(name: str) -> Any:
    # DB_ERRORS is computed when read, so that it names psycopg.Error once a PostgreSQL store
    # has loaded it. Read it as `db.DB_ERRORS` (or call db_errors()) in the except clause:
    # `from srm_tui.storage.db import DB_ERRORS` would freeze the value at import time.
    if name == "DB_ERRORS":
        return db_errors()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Rows ---------------------------------------------------------------------------------------


class Row(tuple):
    """A result row as sqlite3.Row reads: by index, by column name (case-insensitively, the
    first column of that name), ``keys()``, ``len()``, iteration, ``dict(row)``. Made by
    ``row_class(names)(values)``; one class per column list, cached."""

    __slots__ = ()
    _keys: tuple[str, ...] = ()
    _index: dict[str, int] = {}

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            try:
                return tuple.__getitem__(self, self._index[key])
            except KeyError:
                lowered = key.lower()
                if lowered in self._index:
                    return tuple.__getitem__(self, self._index[lowered])
                raise IndexError(f"No item with that key: {key!r}") from None
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        """The column names, in order."""
        return list(self._keys)

    def __repr__(self) -> str:
        return f"<Row {dict(zip(self._keys, self, strict=False))!r}>"


@lru_cache(maxsize=1024)
def row_class(names: tuple[str, ...]) -> type[Row]:
    """The Row class for a result with these column names."""
    index: dict[str, int] = {}
    for position, name in enumerate(names):
        index.setdefault(name, position)
    for position, name in enumerate(names):
        index.setdefault(name.lower(), position)
    return type("Row", (Row,), {"__slots__": (), "_keys": names, "_index": index})


# Dialects -----------------------------------------------------------------------------------


def _once(argument: str, hook: str) -> str:
    """An argument a hook writes twice must not hold a positional ``?``: it would take two
    values. Named parameters (``:p0``) may repeat."""
    from srm_tui.storage.pg.translate import positional_count

    if positional_count(argument):
        raise ValueError(
            f"Dialect.{hook}: {argument!r} is written twice in the SQL, so its parameters "
            "must be named (:name), not positional (?)"
        )
    return argument


class Dialect:
    """The SQL fragments that differ between SQLite and PostgreSQL. Each hook takes SQL
    expressions (column names, named parameters, sub-expressions) and returns one
    parenthesised expression with the same value on both databases."""

    name = "sqlite"

    def is_same(self, a: str, b: str) -> str:
        """Null-safe equality: true when both are NULL or both are equal."""
        return f"({a} IS {b})"

    def is_distinct(self, a: str, b: str) -> str:
        """Null-safe inequality: the negation of ``is_same``."""
        return f"({a} IS NOT {b})"

    def least(self, a: str, b: str) -> str:
        """The smaller of two values; NULL when either is NULL (SQLite's scalar min())."""
        return f"min({a}, {b})"

    def bool_int(self, pred: str) -> str:
        """A predicate as 1/0 (NULL stays NULL): the flags srm stores and sums are integers."""
        return f"({pred})"

    def round_int(self, expr: str) -> str:
        """``expr`` rounded half away from zero to an integer, as SQLite's round() does with a
        double (add 0.5 to the magnitude, truncate): the same value Python's facts compute."""
        return f"CAST(round({expr}) AS INTEGER)"

    def micros(self, expr: str) -> str:
        """An amount in millionths, as an integer (rounded as ``round_int``)."""
        return self.round_int(f"({expr}) * 1000000")

    def contains(self, hay: str, needle: str) -> str:
        """Whether ``needle`` occurs in ``hay`` (case-sensitive; '' occurs in every string)."""
        return f"(instr({hay}, {needle}) > 0)"

    def starts_with(self, text: str, prefix: str) -> str:
        """Whether ``text`` begins with ``prefix`` (case-sensitive)."""
        _once(prefix, "starts_with")
        return f"(substr({text}, 1, length({prefix})) = {prefix})"

    def ends_with(self, text: str, suffix: str) -> str:
        """Whether ``text`` ends with ``suffix`` (case-sensitive; every string ends with '')."""
        _once(text, "ends_with")
        _once(suffix, "ends_with")
        return f"(substr({text}, length({text}) - length({suffix}) + 1) = {suffix})"

    def json_text(self, src: str, key: str) -> str:
        """The value of top-level ``key`` (an SQL text expression: the key's name) of the JSON
        object ``src``: a string as its text, JSON null or a missing key as NULL, any other
        value as its JSON text."""
        _once(src, "json_text")
        _once(key, "json_text")
        path = f"""('$."' || {key} || '"')"""
        return (
            f"(CASE json_type({src}, {path}) WHEN 'text' THEN {src} ->> {path} "
            f"WHEN 'null' THEN NULL ELSE {src} -> {path} END)"
        )

    def nocase_eq(self, a: str, b: str) -> str:
        """Equality ignoring the case of ASCII letters only (SQLite's NOCASE)."""
        return f"({a} = {b} COLLATE NOCASE)"

    def order(self, expr: str, desc: bool = False) -> str:
        """An ORDER BY term with SQLite's NULL order: NULLs first ascending, last descending
        (keyset paging relies on it)."""
        return f"{expr} DESC" if desc else f"{expr} ASC"

    def temp(self, table: str) -> str:
        """A connection's own temporary table's qualified name."""
        return f"temp.{table}"

    def __repr__(self) -> str:
        return f"<Dialect {self.name}>"


class PostgresDialect(Dialect):
    """PostgreSQL's fragments, each equal in value to SQLite's on the same inputs (text
    columns are COLLATE "C", SQLite's BINARY order)."""

    name = "postgres"

    def is_same(self, a: str, b: str) -> str:
        return f"({a} IS NOT DISTINCT FROM {b})"

    def is_distinct(self, a: str, b: str) -> str:
        return f"({a} IS DISTINCT FROM {b})"

    def least(self, a: str, b: str) -> str:
        # PostgreSQL's least() skips NULLs; SQLite's min(a, b) is NULL when either is.
        _once(a, "least")
        _once(b, "least")
        return f"(CASE WHEN ({a}) IS NULL OR ({b}) IS NULL THEN NULL ELSE least({a}, {b}) END)"

    def bool_int(self, pred: str) -> str:
        return f"(({pred})::int)"

    def round_int(self, expr: str) -> str:
        # PostgreSQL rounds a double half to even and a numeric cast keeps 15 digits only:
        # add ±0.5 in the value's own type and truncate, as SQLite does.
        _once(expr, "round_int")
        return f"(trunc(({expr}) + 0.5 * sign({expr}))::bigint)"

    def contains(self, hay: str, needle: str) -> str:
        return f"(strpos({hay}, {needle}) > 0)"

    def starts_with(self, text: str, prefix: str) -> str:
        return f"starts_with({text}, {prefix})"

    def ends_with(self, text: str, suffix: str) -> str:
        _once(suffix, "ends_with")
        return f"(right({text}, length({suffix})) = {suffix})"

    def json_text(self, src: str, key: str) -> str:
        # json (not jsonb) keeps a number's or an object's own text, as SQLite's -> does.
        return f"(({src})::json ->> ({key}))"

    def nocase_eq(self, a: str, b: str) -> str:
        # lower() under the "C" collation folds ASCII letters only, as NOCASE does.
        return f'(lower(({a}) COLLATE "C") = lower(({b}) COLLATE "C"))'

    def order(self, expr: str, desc: bool = False) -> str:
        return f"{expr} DESC NULLS LAST" if desc else f"{expr} ASC NULLS FIRST"

    def temp(self, table: str) -> str:
        return f"pg_temp.{table}"


SQLITE = Dialect()
POSTGRES = PostgresDialect()


# Stores -------------------------------------------------------------------------------------


@runtime_checkable
class Store(Protocol):
    """A place srm keeps its data: the SQLite cache or the team's PostgreSQL store.

    ``conn()`` runs statements (SQLite placeholders on both); ``transaction()`` is an explicit
    write transaction yielding the same kind of object: all of it commits or none of it, a
    nested one is a savepoint. ``vendor=True`` marks a writer of the vendor's data (sync,
    webhooks, imports): on PostgreSQL it also takes the vendor lock first."""

    dialect: Dialect
    read_only: bool

    @property
    def location(self) -> str:
        """The cache's path or the store's URL without its password, for messages."""
        ...

    def conn(self) -> Any:
        """An object with ``execute(sql, params=())`` and ``executemany(sql, rows)``."""
        ...

    def transaction(self, vendor: bool = False) -> AbstractContextManager[Any]:
        """A write transaction (see the class docstring)."""
        ...

    def close(self) -> None:
        """Release every connection."""
        ...


def open_store(location: str | os.PathLike[str], **cache_kwargs: Any) -> Store:
    """The store at ``location``: a postgresql:// URL opens the team's PostgreSQL store (its
    pool connects on first use), anything else is a SQLite cache path opened with
    ``cache_kwargs`` (create, make_folder, say). The PostgreSQL store is created by
    ``srm team init``, never here, so the cache's keywords do not apply to it."""
    if isinstance(location, str) and is_postgres_url(location):
        from srm_tui.storage.pg.connection import PgStore

        return PgStore(location.strip())
    from srm_tui.storage.cache import Cache

    return Cache(location, **cache_kwargs)


def open_team_store(url: str) -> Store:
    """The team's PostgreSQL store at ``url`` as a command or the console uses it: opened, its
    schema version checked and the login's standing read (``role``; a viewer's store is
    ``read_only``). See storage.pg.login for the refusals."""
    from srm_tui.storage.pg.connection import PgStore
    from srm_tui.storage.pg.login import check_login

    store = PgStore(url.strip())
    try:
        check_login(store)
    except BaseException:
        store.close()
        raise
    return store


# The widest srm role (config.ROLES) a login of each standing in the team store may run as:
# the store's owner is srm's owner, its writer an admin, an agent an agent, a viewer a viewer.
ROLE_CAP = {"owner": "owner", "sync": "admin", "agent": "agent", "viewer": "viewer"}


def role_cap(standing: str) -> str:
    """The widest srm role a login of this standing (storage.pg.login) may run as."""
    return ROLE_CAP.get(standing, "viewer")


# What does not run on the team store yet: the command paths whose code still speaks only
# SQLite. Such a command exits 1 with one line (``pg_not_yet``) before it touches the store,
# never a traceback or a wrong answer. A part that ports a command removes its line here.
PG_NOT_YET: tuple[str, ...] = ()


def pg_not_yet(command_path: str) -> str | None:
    """The one line refusing ``command_path`` (e.g. 'srm segments count') on the team store,
    or None when it runs there. A listed path covers its subcommands."""
    words = command_path.split()
    for listed in PG_NOT_YET:
        head = listed.split()
        if words[: len(head)] == head:
            return (
                f"{command_path} is not available on the team store yet ({listed} runs on a "
                "SQLite cache)"
            )
    return None

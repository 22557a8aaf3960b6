"""Customer search (CONTRACT section 6), compiled to parameterised SQL over the indexes.

Terms are ANDed. A bare term matches a prefix of any indexed word (email, names, company,
address, city, state, post code), folded like the index; it also matches, exactly and
without case, a country code, a currency code, a country's English name and a whole birth
date; and a bare term that is a whole email, a customer id, a transaction id, an external id
or an external order id matches that identifier (without case), those matches first.

Fields narrow a term. ``state:`` is the whole state, code or name ("CO", "Île-de-France"),
without case or accents: not a prefix of its words, so ``state:CO`` is Colorado and never
"Côte d'Azur". ``name:`` ``city:`` ``zip:`` ``email:`` take word prefixes like bare terms.
A fielded value that cannot mean anything (``birthdate:1972``, ``email:-``) is a
``SearchError`` naming the term, never an empty filter and never an SQL error.

Every match is reachable: ``Results`` reads them a window at a time, by keyset, and never
loads the customer table into Python.

One grammar and one condition tree serve both stores; only the SQL of a text term (FTS5 on the
SQLite cache, tsvector documents on PostgreSQL: storage.pg.search) and of a case-free
identifier differ, chosen by the connection's dialect. The answers are the same on both.

Over 400 lines: the term grammar and one SQL builder per kind of term share the folding
and the limits of section 6.
"""

from __future__ import annotations

import re
import shlex
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any

from srm_tui.domain.fold import fold
from srm_tui.domain.ids import TRANSACTION_ID
from srm_tui.domain.time import is_day, parse_day
from srm_tui.storage import search_lite, search_window
from srm_tui.storage.countries import country_code
from srm_tui.storage.db import SQLITE, Dialect
from srm_tui.storage.queries import SORT_COLUMNS, SUMMARY_COLUMNS

FIELDS = (
    "email",
    "name",
    "id",
    "ext",
    "txn",
    "order",
    "country",
    "currency",
    "city",
    "state",
    "zip",
    "birthdate",
    "card",
)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Each term adds a few conditions to one SQL expression; SQLite refuses a tree deeper than
# 1,000. No real query has this many terms.
MAX_TERMS = 40
MAX_QUERY = 1000  # characters; a pasted page of text is not a query (and shlex is slow on it)
MAX_ID = 2**63 - 1  # SQLite's largest integer: a longer id would overflow the binding
MAX_ID_DIGITS = len(str(MAX_ID))
MAX_EXACT = 1000  # exact identifier matches listed first; an identifier is shared by few
LONGEST_COUNTRY = 5  # words in the longest English country name a run of bare terms can form


def _digits(value: str) -> bool:
    """ASCII digits only (``str.isdigit`` also takes "²" and "١٢٣", which ``int`` refuses or
    no id ever holds)."""
    return value.isascii() and value.isdigit()


def _letters(value: str, n: int) -> bool:
    return len(value) == n and value.isascii() and value.isalpha()


def _words(text: str | None) -> str:
    """Folded words joined by one space: how the index sees a value ("Côte d'Azur" ->
    "cote d azur")."""
    return " ".join(re.findall(r"\w+", fold(text)))


class SearchError(ValueError):
    """The query cannot be read; the message names the part at fault."""


@dataclass
class Term:
    field: str | None
    value: str


@dataclass
class SearchResult:
    rows: list[sqlite3.Row]
    exact_ids: set[int] = field(default_factory=set)
    elapsed_ms: float = 0.0


def parse(query: str) -> list[Term]:
    """Split a query into terms; ``field:value`` narrows, quotes keep spaces."""
    if len(query) > MAX_QUERY:
        raise SearchError(f"the query is {len(query):,} characters long; at most {MAX_QUERY:,}")
    try:
        parts = shlex.split(query, posix=True)
    except ValueError:
        parts = query.replace('"', " ").split()
    terms = []
    for part in parts:
        name, sep, value = part.partition(":")
        if sep and name.lower() in FIELDS:
            if not value.strip():
                raise SearchError(f"{name}: needs a value")
            terms.append(Term(name.lower(), value.strip()))
        elif sep and re.fullmatch(r"[A-Za-z]+", name) and not EMAIL.match(part):
            raise SearchError(f"unknown field {name}: (fields: {', '.join(FIELDS)})")
        elif part.strip():
            terms.append(Term(None, part.strip()))
    if len(terms) > MAX_TERMS:
        raise SearchError(f"too many terms ({len(terms)}); at most {MAX_TERMS}")
    return terms


def _birth_date(value: str, name: str) -> str:
    """A whole calendar date, or the term's error."""
    if not is_day(value):
        raise SearchError(f"{name}: a whole date YYYY-MM-DD, not {value!r}")
    try:
        parse_day(value)
    except ValueError:
        raise SearchError(f"{name}: {value} is not a date") from None
    return value


_FTS = "c.id IN (SELECT rowid FROM customers_fts WHERE customers_fts MATCH ?)"
_TXN = "c.id IN (SELECT customer_id FROM transactions WHERE id = ?)"
# COLLATE NOCASE: identifiers match without case, through the NOCASE indexes of schema V8.
_EXT = "c.external_id = ? COLLATE NOCASE"
_ORDER = (
    "c.id IN (SELECT customer_id FROM transactions WHERE external_payment_id = ? COLLATE NOCASE)"
)
_CARD = "c.id IN (SELECT customer_id FROM payment_details WHERE last4 = ?)"
_STATE = f"({_FTS} AND srm_words(c.state) = ?)"

Condition = tuple[str, list[Any]]


class _SqliteText:
    """Text terms and case-free identifiers as SQL on the SQLite cache (FTS5, NOCASE).
    storage.pg.search.PgText is PostgreSQL's; a text term's ``words`` are ``_words`` of it,
    never empty."""

    ext = _EXT
    order = _ORDER

    @staticmethod
    def any(options: list[Condition]) -> Condition:
        """Any of the options (SQLite reads an OR of indexed terms through each index)."""
        return _any(options)

    def words(self, words: str, column: str | None) -> Condition:
        """A prefix of consecutive words (FTS5 ``"w1 w2"*``), anywhere or in ``column``."""
        phrase = '"' + words + '"*'
        return _FTS, [f"{column} : {phrase}" if column else phrase]

    def state(self, words: str) -> Condition:
        """The whole state: its first words are these (FTS5 ``^``) and nothing follows."""
        return _STATE, [f'state : ^ "{words}"', words]


_SQLITE_TEXT = _SqliteText()


def dialect_of(conn: Any) -> Dialect:
    """The SQL dialect of a connection: a store's connection names its own (PostgreSQL's
    proxy does); a sqlite3 connection is SQLite."""
    return getattr(conn, "dialect", SQLITE)


def _text_sql(dialect: Dialect) -> Any:
    if dialect.name == "postgres":
        from srm_tui.storage.pg.search import PG_TEXT

        return PG_TEXT
    return _SQLITE_TEXT


def _identifier_conditions(value: str, text: Any) -> list[Condition]:
    """Exact identifier matches a bare term can stand for."""
    conds: list[Condition] = []
    if EMAIL.match(value):
        conds.append(("c.email_lc = ?", [value.casefold()]))
    if _digits(value) and len(value) <= MAX_ID_DIGITS and int(value) <= MAX_ID:
        conds.append(("c.id = ?", [int(value)]))
    if TRANSACTION_ID.match(value.upper()):
        conds.append((_TXN, [value.upper()]))
    conds.append((text.ext, [value]))
    conds.append((text.order, [value]))
    return conds


def _bare_conditions(value: str, text: Any) -> tuple[list[Condition], list[Condition]]:
    """(every way a bare term matches, the exact-identifier ones among them)."""
    exact = _identifier_conditions(value, text)
    options = list(exact)
    if _letters(value, 2):
        options.append(("c.country = ?", [value.upper()]))
    if _letters(value, 3):
        options.append(("c.currency = ?", [value.upper()]))
    code = country_code(value)
    if code and not _letters(value, 2):
        options.append(("c.country = ?", [code]))
    if is_day(value):
        try:
            options.append(("c.birth_date = ?", [_birth_date(value, "date")]))
        except SearchError:
            pass  # "2024-99-99" is still text to look for
    words = _words(value)
    if words:
        options.append(text.words(words, None))
    return options, exact


def _field_conditions(term: Term, text: Any) -> tuple[list[Condition], list[Condition]]:
    """(the conditions a fielded term stands for, the exact-identifier ones among them)."""
    f, v = term.field, term.value
    if f in ("email", "name", "city", "zip", "state"):
        words = _words(v)
        if not words:
            raise SearchError(f"{f}: nothing to search for in {v!r}")
        if f == "email":
            exact = [("c.email_lc = ?", [v.casefold()])] if EMAIL.match(v) else []
            return [*exact, text.words(words, "email")], exact
        if f == "state":
            return [text.state(words)], []
        return [text.words(words, {"zip": "post_code"}.get(f, f))], []
    if f == "id":
        if not _digits(v):
            raise SearchError(f"id: a customer id is digits, not {v[:40]!r}")
        if len(v) > MAX_ID_DIGITS or int(v) > MAX_ID:
            raise SearchError(f"id: too many digits ({len(v)}) for a customer id")
        exact = [("c.id = ?", [int(v)])]
        return exact, exact
    if f == "ext":
        exact = [(text.ext, [v])]
        return exact, exact
    if f == "txn":
        if not TRANSACTION_ID.match(v.upper()):
            raise SearchError(f"txn: a transaction id is T and 9 digits, not {v[:40]!r}")
        exact = [(_TXN, [v.upper()])]
        return exact, exact
    if f == "order":
        exact = [(text.order, [v])]
        return exact, exact
    if f == "country":
        code = v.upper() if _letters(v, 2) else country_code(v)
        if code is None:
            raise SearchError(
                f"country: a two-letter code (PL) or an English country name "
                f"(Poland), not {v[:40]!r}"
            )
        return [("c.country = ?", [code])], []
    if f == "currency":
        if not _letters(v, 3):
            raise SearchError(f"currency: a three-letter code (EUR), not {v[:40]!r}")
        return [("c.currency = ?", [v.upper()])], []
    if f == "birthdate":
        return [("c.birth_date = ?", [_birth_date(v, "birthdate")])], []
    if f == "card":
        if not re.fullmatch(r"[0-9]{4}", v):
            raise SearchError(f"card: the last four digits, not {v[:40]!r}")
        return [(_CARD, [v])], []
    raise SearchError(f"unknown field {f}:")  # parse() only lets FIELDS through


def _any(options: list[Condition]) -> Condition:
    return ("(" + " OR ".join(c for c, _ in options) + ")", [p for _, ps in options for p in ps])


def _all(conds: list[Condition]) -> Condition:
    return ("(" + " AND ".join(c for c, _ in conds) + ")", [p for _, ps in conds for p in ps])


@dataclass
class Compiled:
    """A query as SQL: ``where`` holds for every match; ``exact`` for the identifier ones."""

    where: Condition
    exact: Condition | None
    # One term: its identifier matches are among its matches, so ``exact`` alone finds them.
    one_term: bool = False
    # Each term's options (``where`` is their OR, ANDed): SQLite reads the first matches from
    # them (storage.search_lite).
    terms: list[list[Condition]] = field(default_factory=list)


def compile_query(query: str, dialect: Dialect = SQLITE) -> Compiled | None:
    """The SQL of a query for a store of ``dialect`` (None for an empty one); a
    ``SearchError`` names a bad term."""
    text = _text_sql(dialect)
    terms = parse(query)
    if not terms:
        return None
    conds: list[Condition] = []
    exact: list[Condition] = []
    options_of: list[list[Condition]] = []
    i = 0
    while i < len(terms):
        term = terms[i]
        if term.field is not None:
            options, ex = _field_conditions(term, text)
            conds.append(text.any(options))
            options_of.append(options)
            exact += ex
            i += 1
            continue
        # A run of bare words may name a country ("united kingdom"): then either every word
        # matches as usual, or the customer is in that country — written as (word1 OR in the
        # country) AND (word2 OR in the country), the same, so each part stays an indexed OR.
        run = 1
        for n in range(min(LONGEST_COUNTRY, len(terms) - i), 1, -1):
            words = terms[i : i + n]
            if all(t.field is None for t in words) and country_code(
                " ".join(t.value for t in words)
            ):
                run = n
                break
        code = country_code(" ".join(t.value for t in terms[i : i + run])) if run > 1 else None
        for t in terms[i : i + run]:
            options, ex = _bare_conditions(t.value, text)
            if code:
                options.append(("c.country = ?", [code]))
            conds.append(text.any(options))
            options_of.append(options)
            exact += ex
        i += run
    return Compiled(
        where=_all(conds),
        exact=text.any(exact) if exact else None,
        one_term=len(conds) == 1,
        terms=options_of,
    )


def _prepare(conn: sqlite3.Connection, compiled: Compiled | None) -> None:
    # srm_words: the state field's whole-value comparison, folded the way the index folds
    # (registered on this thread's connection only when a state term needs it).
    if compiled is not None and "srm_words" in compiled.where[0]:
        conn.create_function("srm_words", 1, _words, deterministic=True)


class Results:
    """Every match of a query, read a window at a time (the console's table pages these).

    Exact identifier matches come first (by id); then the rest in the chosen order, read by
    keyset from marks left by earlier windows (or backwards from the end), so a window deep
    in the list costs about what the first one does. Only the rows asked for are read.
    """

    def __init__(
        self, conn: sqlite3.Connection, query: str, *, sort: str = "id", descending: bool = False
    ):
        if sort not in SORT_COLUMNS:
            raise ValueError(f"cannot sort by {sort!r}")
        started = time.perf_counter()
        self.query = query
        self.sort, self.descending = sort, descending
        self.dialect = dialect_of(conn)
        self.compiled = compile_query(query, self.dialect)
        _prepare(conn, self.compiled)
        self.exact_rows: list[sqlite3.Row] = []
        if self.compiled is not None and self.compiled.exact is not None:
            (ex, ex_ps), (where, ps) = self.compiled.exact, self.compiled.where
            if self.compiled.one_term:  # not the term's text too (an email's words, a code's)
                where, ps = "TRUE", []
            if self.dialect.name == "sqlite" and not self.compiled.one_term:
                # the identifier matches, then the other terms asked about those only
                ids = search_lite.checked(
                    conn, self.compiled.exact, self.compiled.terms, _FTS, MAX_EXACT
                )
                self.exact_rows = self._rows_of(conn, ids, desc=False)
            else:
                self.exact_rows = conn.execute(
                    f"SELECT {self._cols()} FROM customers c WHERE {ex} AND {where} "
                    "ORDER BY c.id LIMIT ?",
                    [*ex_ps, *ps, MAX_EXACT],
                ).fetchall()
        self.exact_ids = {r["id"] for r in self.exact_rows}
        self._total: int | None = None
        self._marks: dict[int, tuple[Any, int]] = {}  # rest offset -> (key, id) of the row before
        self._last: tuple[int, list[sqlite3.Row]] = (0, [])  # the last window read
        self.elapsed_ms = (time.perf_counter() - started) * 1000

    def sorted_by(self, sort: str, descending: bool) -> Results:
        """The same matches in another order (nothing is read until a window is asked for)."""
        if sort not in SORT_COLUMNS:
            raise ValueError(f"cannot sort by {sort!r}")
        other = Results.__new__(Results)
        other.__dict__.update(self.__dict__)
        other.sort, other.descending = sort, descending
        other._marks, other._last = {}, (0, [])
        return other

    def _cols(self) -> str:
        key = SORT_COLUMNS[self.sort]
        return ", ".join(f"c.{c}" for c in SUMMARY_COLUMNS) + f", c.{key} AS sort_key"

    def _rest_where(self) -> Condition:
        assert self.compiled is not None
        where, params = self.compiled.where
        if self.exact_ids:
            marks = ",".join("?" * len(self.exact_ids))
            return f"{where} AND c.id NOT IN ({marks})", [*params, *sorted(self.exact_ids)]
        return where, list(params)

    def count(self, conn: sqlite3.Connection) -> int:
        """How many customers match (counted once, in SQL)."""
        if self._total is None:
            if self.compiled is None:
                self._total = 0
            else:
                _prepare(conn, self.compiled)
                where, params = self._rest_where()
                rest = conn.execute(
                    f"SELECT count(*) FROM customers c WHERE {where}", params
                ).fetchone()[0]
                self._total = len(self.exact_rows) + rest
        return self._total

    def _order(self, descending: bool) -> str:
        # NULL keys first ascending, last descending, on both stores (the dialect's order()).
        order = self.dialect.order
        if self.sort == "id":
            return order("c.id", descending)
        return f"{order(f'c.{SORT_COLUMNS[self.sort]}', descending)}, {order('c.id', descending)}"

    def _after(self, mark: tuple[Any, int]) -> Condition:
        """Rows after ``mark`` in the list's order (NULL keys first ascending)."""
        key, cid = mark
        op = "<" if self.descending else ">"
        if self.sort == "id":
            return f"c.id {op} ?", [cid]
        e = f"c.{SORT_COLUMNS[self.sort]}"
        if key is None:
            if self.descending:
                return f"({e} IS NULL AND c.id < ?)", [cid]
            return f"(({e} IS NULL AND c.id > ?) OR {e} IS NOT NULL)", [cid]
        tail = f" OR {e} IS NULL" if self.descending else ""
        return f"({e} {op} ? OR ({e} = ? AND c.id {op} ?){tail})", [key, key, cid]

    def _rest(self, conn: sqlite3.Connection, offset: int, limit: int) -> list[sqlite3.Row]:
        where, params = self._rest_where()
        rest_total = self.count(conn) - len(self.exact_rows)
        limit = max(0, min(limit, rest_total - offset))
        if limit == 0:
            return []
        start = max((m for m in self._marks if m <= offset), default=0)
        skip = offset - start
        from_end = rest_total - (offset + limit)
        if self.sort == "id" and skip == 0:  # from a mark, or the top: by id windows
            rows = self._by_id(
                conn, limit, after=self._marks[start][1] if start else None, desc=self.descending
            )
        elif from_end < skip:  # nearer the end: read the order backwards
            rows = conn.execute(
                f"SELECT {self._cols()} FROM customers c WHERE {where} "
                f"ORDER BY {self._order(not self.descending)} LIMIT ? OFFSET ?",
                [*params, limit, from_end],
            ).fetchall()[::-1]
        else:
            if start:
                after, after_ps = self._after(self._marks[start])
                where, params = f"{where} AND {after}", [*params, *after_ps]
            rows = conn.execute(
                f"SELECT {self._cols()} FROM customers c WHERE {where} "
                f"ORDER BY {self._order(self.descending)} LIMIT ? OFFSET ?",
                [*params, limit, skip],
            ).fetchall()
        if rows:
            self._marks[offset + len(rows)] = (rows[-1]["sort_key"], rows[-1]["id"])
        return rows

    def _rows_of(self, conn: sqlite3.Connection, ids: list[int], *, desc: bool) -> list[Any]:
        """The rows of these customers, in id order."""
        if not ids:
            return []
        listed = ",".join(str(int(i)) for i in ids)
        return conn.execute(
            f"SELECT {self._cols()} FROM customers c WHERE c.id IN ({listed}) "
            f"ORDER BY c.id {'DESC' if desc else 'ASC'}"
        ).fetchall()

    def _by_id(
        self, conn: sqlite3.Connection, limit: int, *, after: int | None, desc: bool
    ) -> list[sqlite3.Row]:
        """The first ``limit`` of the rest in id order after the id ``after``: on SQLite from
        each branch's first ids (storage.search_lite), on PostgreSQL in id windows."""
        assert self.compiled is not None
        if self.dialect.name != "sqlite" or limit <= 0:
            return search_window.by_id(
                conn, self._cols(), self._rest_where(), limit, after=after, descending=desc
            )
        ids, mark, done = search_lite.first_ids(
            conn,
            self.compiled.terms,
            _FTS,
            exclude=self.exact_ids,
            limit=limit,
            after=after,
            descending=desc,
        )
        rows = self._rows_of(conn, ids, desc=desc)
        if not done:  # the rest from the horizon, by the one statement
            rows += search_window.by_id(
                conn,
                self._cols(),
                self._rest_where(),
                limit - len(rows),
                after=mark,
                descending=desc,
            )
        return rows

    def window(self, conn: sqlite3.Connection, offset: int, limit: int) -> list[sqlite3.Row]:
        """Rows [offset, offset + limit) of the results: exact matches, then the rest."""
        if self.compiled is None or limit <= 0:
            return []
        start, rows = self._last
        end = min(offset + limit, self.count(conn))
        if start <= offset and end <= start + len(rows):  # a repaint of what was just read
            return rows[offset - start : end - start]
        _prepare(conn, self.compiled)
        n_exact = len(self.exact_rows)
        out = list(self.exact_rows[offset : offset + limit])
        if len(out) < limit:
            out += self._rest(conn, max(0, offset - n_exact), limit - len(out))
        self._last = (offset, out)
        return out


def search(conn: sqlite3.Connection, query: str, limit: int = 50) -> SearchResult:
    """The first ``limit`` customers matching every term: exact identifier matches first,
    then by id."""
    started = time.perf_counter()
    results = Results(conn, query)
    if results.compiled is None:
        return SearchResult(rows=[], elapsed_ms=0.0)
    n_exact = len(results.exact_rows)
    rows = results.exact_rows[:limit]
    if len(rows) < limit:
        rows += results._by_id(conn, limit - len(rows), after=None, desc=False)
    return SearchResult(
        rows=rows,
        exact_ids={r["id"] for r in rows[:n_exact]},
        elapsed_ms=(time.perf_counter() - started) * 1000,
    )

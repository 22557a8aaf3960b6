"""Customer search (CONTRACT section 6), compiled to parameterised SQL over the FTS index.

Terms are ANDed. A bare term matches a prefix of any indexed word (email, names, company,
address, city, state, post code), folded like the index; a bare term that is a whole email,
a customer id, a transaction id, an external id or an external order id also matches that
identifier exactly, and exact identifier matches come first.
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
from srm_tui.storage.queries import SUMMARY_COLUMNS

FIELDS = ("email", "name", "id", "ext", "txn", "order", "country", "currency", "city",
          "state", "zip", "birthdate", "card")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
# Each term adds a few conditions to one SQL expression; SQLite refuses a tree deeper than
# 1,000. No real query has this many terms.
MAX_TERMS = 40
MAX_QUERY = 1000  # characters; a pasted page of text is not a query (and shlex is slow on it)
MAX_ID = 2**63 - 1


def _digits(value: str) -> bool:
    """ASCII digits only (``str.isdigit`` also takes "²" and "١٢٣", which ``int`` refuses or
    no id ever holds)."""
    return value.isascii() and value.isdigit()


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


def _fts_phrase(value: str, column: str | None = None) -> str | None:
    """An FTS5 prefix query for a folded term (None when nothing searchable is left)."""
    words = re.findall(r"\w+", fold(value))
    if not words:
        return None
    phrase = '"' + " ".join(words).replace('"', '""') + '"*'
    return f"{column} : {phrase}" if column else phrase


_FTS = "c.id IN (SELECT rowid FROM customers_fts WHERE customers_fts MATCH ?)"
_TXN = "c.id IN (SELECT customer_id FROM transactions WHERE id = ?)"
_ORDER = "c.id IN (SELECT customer_id FROM transactions WHERE external_payment_id = ?)"
_CARD = "c.id IN (SELECT customer_id FROM payment_details WHERE last4 = ?)"


def _identifier_conditions(value: str) -> list[tuple[str, list[Any]]]:
    """Exact identifier matches a bare term can stand for."""
    conds: list[tuple[str, list[Any]]] = []
    if EMAIL.match(value):
        conds.append(("c.email_lc = ?", [value.casefold()]))
    if _digits(value) and len(value) <= 12:
        conds.append(("c.id = ?", [int(value)]))
    if TRANSACTION_ID.match(value.upper()):
        conds.append((_TXN, [value.upper()]))
    conds.append(("c.external_id = ?", [value]))
    conds.append((_ORDER, [value]))
    return conds


def _term_condition(term: Term) -> tuple[str, list[Any], list[tuple[str, list[Any]]]]:
    """(SQL condition, parameters, exact-identifier conditions) for one term."""
    v = term.value
    exact: list[tuple[str, list[Any]]] = []
    if term.field is None:
        exact = _identifier_conditions(v)
        options = list(exact)
        phrase = _fts_phrase(v)
        if phrase:
            options.append((_FTS, [phrase]))
    elif term.field == "email":
        options = []
        if EMAIL.match(v):
            exact = [("c.email_lc = ?", [v.casefold()])]
            options += exact
        phrase = _fts_phrase(v, "email")
        if phrase:
            options.append((_FTS, [phrase]))
    elif term.field in ("name", "city", "state", "zip"):
        column = {"zip": "post_code"}.get(term.field, term.field)
        phrase = _fts_phrase(v, column)
        if phrase is None:
            raise SearchError(f"{term.field}: nothing to search for in {v!r}")
        options = [(_FTS, [phrase])]
    elif term.field == "id":
        if not _digits(v):
            raise SearchError(f"id: a customer id is digits, not {v!r}")
        if int(v) > MAX_ID:
            raise SearchError(f"id: {v[:30]}… is longer than any customer id")
        exact = options = [("c.id = ?", [int(v)])]
    elif term.field == "ext":
        exact = options = [("c.external_id = ?", [v])]
    elif term.field == "txn":
        if not TRANSACTION_ID.match(v.upper()):
            raise SearchError(f"txn: a transaction id is T and 9 digits, not {v!r}")
        exact = options = [(_TXN, [v.upper()])]
    elif term.field == "order":
        exact = options = [(_ORDER, [v])]
    elif term.field in ("country", "currency"):
        options = [(f"c.{term.field} = ?", [v.upper()])]
    elif term.field == "birthdate":
        if not DATE.match(v):
            raise SearchError(f"birthdate: use YYYY-MM-DD, not {v!r}")
        options = [("c.birth_date = ?", [v])]
    elif term.field == "card":
        if not re.fullmatch(r"[0-9]{4}", v):
            raise SearchError(f"card: the last four digits, not {v!r}")
        options = [(_CARD, [v])]
    else:  # pragma: no cover - parse() only lets FIELDS through
        raise SearchError(f"unknown field {term.field}:")
    sql = "(" + " OR ".join(c for c, _ in options) + ")"
    params = [p for _, ps in options for p in ps]
    return sql, params, exact


def search(conn: sqlite3.Connection, query: str, limit: int = 50) -> SearchResult:
    """Customers matching every term: exact identifier matches first, then by id."""
    started = time.perf_counter()
    terms = parse(query)
    if not terms:
        return SearchResult(rows=[], elapsed_ms=0.0)
    where, params, exact_options = [], [], []
    for term in terms:
        sql, ps, exact = _term_condition(term)
        where.append(sql)
        params += ps
        exact_options += exact
    cols = ", ".join(f"c.{c}" for c in SUMMARY_COLUMNS)
    base = " AND ".join(where)
    exact_ids: set[int] = set()
    rows: list[sqlite3.Row] = []
    if exact_options:
        exact_sql = " OR ".join(c for c, _ in exact_options)
        exact_params = [p for _, ps in exact_options for p in ps]
        rows = conn.execute(
            f"SELECT {cols} FROM customers c WHERE ({exact_sql}) AND {base} "
            "ORDER BY c.id LIMIT ?", [*exact_params, *params, limit]).fetchall()
        exact_ids = {r["id"] for r in rows}
    if len(rows) < limit:
        rest = conn.execute(
            f"SELECT {cols} FROM customers c WHERE {base} ORDER BY c.id LIMIT ?",
            [*params, limit + len(rows)]).fetchall()
        rows += [r for r in rest if r["id"] not in exact_ids][: limit - len(rows)]
    return SearchResult(rows=rows, exact_ids=exact_ids,
                        elapsed_ms=(time.perf_counter() - started) * 1000)

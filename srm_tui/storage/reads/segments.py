"""Typed reads the segment screens need beside the segments store: customers named by id or
email, the emails shown next to a version's gained and lost ids, and a population's size.

Every value is a bound parameter; the connection is the calling thread's own
(``Cache.conn()``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from srm_tui.storage.search import SearchError, search

if TYPE_CHECKING:
    import sqlite3

    from srm_tui.storage.cache import Cache


class Population(Protocol):
    """A compiled set of customers (``segments.compile.Compiled``): its count query."""

    params: Any

    def count_sql(self) -> str: ...


@dataclass(frozen=True)
class CustomerLabel:
    """A customer id with its email as cached (None: no email, or not cached)."""

    id: int
    email: str | None


@dataclass(frozen=True)
class Lookup:
    """What an agent's id-or-email names: the customer, or why none (``problem``)."""

    customer_id: int | None
    problem: str | None = None


class SegmentReads:
    """Reads for the segment screens; one per session."""

    def __init__(self, cache: Cache) -> None:
        self._cache = cache

    def _conn(self) -> sqlite3.Connection:
        return self._cache.conn()

    def labels(self, ids: list[int]) -> list[CustomerLabel]:
        """The given customers with their emails, in the order given."""
        if not ids:
            return []
        marks = ", ".join("?" * len(ids))
        emails = dict(
            self._conn()
            .execute(f"SELECT id, email FROM customers WHERE id IN ({marks})", ids)
            .fetchall()
        )
        return [CustomerLabel(i, emails.get(i)) for i in ids]

    def customer_id(self, text: str) -> int | None:
        """The cached customer an id or a whole email (any case) names, or None."""
        if text.isdigit():
            row = self._conn().execute("SELECT id FROM customers WHERE id = ?", (int(text),))
        else:
            same = self._cache.dialect.nocase_eq("email", "?")  # any case, as on SQLite
            row = self._conn().execute(f"SELECT id FROM customers WHERE {same}", (text,))
        found = row.fetchone()
        return int(found[0]) if found else None

    def find_exact(self, text: str) -> Lookup:
        """The customer whose id or whole email is ``text``, found through the search (so
        what the list finds is what can be added); the search's own refusal is the problem."""
        try:
            rows = search(self._conn(), text, limit=2).rows
        except SearchError as exc:
            return Lookup(None, str(exc))
        exact = [
            r
            for r in rows
            if str(r["id"]) == text or (r["email"] or "").casefold() == text.casefold()
        ]
        if not exact:
            return Lookup(None, f"no cached customer has the id or email {text!r}")
        return Lookup(int(exact[0]["id"]))

    def population_size(self, population: Population) -> int:
        """How many customers a compiled population holds now."""
        return int(self._conn().execute(population.count_sql(), population.params).fetchone()[0])

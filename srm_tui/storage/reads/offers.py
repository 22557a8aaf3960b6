"""Typed reads of the offer catalogue for the console: the offers as cached, who holds them
now, and the names of their season groups.

An offer itself stays the vendor's record in its 3.1 shape (a dict): srm accepts every shape
the vendor sends and keeps fields it does not know, and the domain's readers (period, price,
the filter) take that record. What the console adds around it is typed here. Every value is a
bound parameter; the connection is the calling thread's own (``Cache.conn()``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from srm_tui.storage import queries
from srm_tui.storage.payload import decode_raw

if TYPE_CHECKING:
    import sqlite3

    from srm_tui.storage.cache import Cache


class OfferReads:
    """Reads of the cached catalogue; cheap to make, one per session."""

    def __init__(self, cache: Cache) -> None:
        self._cache = cache

    def _conn(self) -> sqlite3.Connection:
        return self._cache.conn()

    def catalogue(self) -> list[dict[str, Any]]:
        """Every cached offer in the API's 3.1 shape, by id."""
        return queries.offers(self._conn())

    def offer(self, offer_id: str) -> dict[str, Any] | None:
        """One cached offer as the API last sent it (None: not cached)."""
        row = self._conn().execute("SELECT raw FROM offers WHERE id = ?", (offer_id,)).fetchone()
        return decode_raw(row[0]) if row else None

    def holder_counts(self, now: int) -> dict[str, int]:
        """Main offer id -> customers with access now (the catalogue's Holders column)."""
        return queries.offer_holders(self._conn(), now)

    def holder_ids(self, offer_id: str, now: int) -> list[int]:
        """The customers with access to one offer now (any country version), by id."""
        return queries.offer_holder_ids(self._conn(), offer_id, now)

    def customer_rows(self, ids: list[int]) -> list[Any]:
        """Customer list rows for the given ids, in that order (the holders list's pages)."""
        return queries.customer_rows(self._conn(), ids)

    def season_group_name(self, group_id: str) -> str | None:
        """A season group's name (None: not cached)."""
        row = (
            self._conn()
            .execute("SELECT name FROM season_groups WHERE id = ?", (group_id,))
            .fetchone()
        )
        return row[0] if row else None

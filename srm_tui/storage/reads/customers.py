"""Typed reads of customers for the console: the list and its search, one account, its
change history and the offers it names. Every value is a bound parameter; the connection is
the calling thread's own (``Cache.conn()``), so a worker thread may read through the same
object as the UI."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from srm_tui.domain import account as acc
from srm_tui.storage import queries
from srm_tui.storage.history import customer_history
from srm_tui.storage.payload import decode_raw
from srm_tui.storage.search import Results, SearchError

if TYPE_CHECKING:
    import sqlite3

    from srm_tui.storage.cache import Cache

# The sortable list columns (each backed by an index), for the screen's sort key.
SORT_COLUMNS: tuple[str, ...] = tuple(queries.SORT_COLUMNS)
COLUMNS_META = "list_columns"  # the list's chosen columns, kept in the cache's meta


@dataclass(frozen=True)
class OpenItem:
    """An outbox entry of one customer not settled yet (pending, conflict or failed)."""

    id: int
    action: str
    target: str
    status: str
    last_error: str | None


@dataclass(frozen=True)
class OfferRef:
    """An offer as a customer's records name it: its title and page URL, if any."""

    id: str
    title: str
    url: str | None


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class ProfileEdit:
    """One edit of a customer's profile as the API's history keeps it."""

    at: int | None
    editor: str | None
    changes: tuple[FieldChange, ...]


@dataclass(frozen=True)
class AccountView:
    """One customer's whole account as the console shows it."""

    account: acc.Account
    synced_at: int | None


@dataclass
class SearchAnswer(Sequence):
    """A search as the list shows it: ``len`` is every match, an index or a slice reads just
    those rows (through the calling thread's connection); ``error`` says why a query cannot
    be read (then there are no rows)."""

    text: str
    _conn: Callable[[], sqlite3.Connection]
    found: Results | None = None
    error: str | None = None
    elapsed_ms: float = 0.0
    sort: str = "id"
    descending: bool = False
    _sorted: dict[tuple[str, bool], Results] = field(default_factory=dict)

    def __len__(self) -> int:
        return 0 if self.found is None else self.found.count(self._conn())

    def window(self, offset: int, limit: int) -> list[Any]:
        """Rows [offset, offset + limit) of the matches, in the answer's order."""
        return [] if self.found is None else self.found.window(self._conn(), offset, limit)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            return self.window(start, stop - start)[::step]
        if index < 0:
            index += len(self)
        rows = self.window(index, 1) if 0 <= index else []
        if not rows:
            raise IndexError(index)
        return rows[0]

    def sorted_by(self, sort: str, descending: bool) -> SearchAnswer:
        """The same matches in another order (nothing is read until a window is asked for)."""
        if self.found is None:
            return self
        return SearchAnswer(
            self.text,
            self._conn,
            self.found.sorted_by(sort, descending),
            None,
            self.elapsed_ms,
            sort,
            descending,
        )


class CustomerReads:
    """What the console reads about customers, over one cache."""

    SORT_COLUMNS = SORT_COLUMNS

    def __init__(self, cache: Cache) -> None:
        self._cache = cache

    def _conn(self) -> sqlite3.Connection:
        return self._cache.conn()

    # the list ----------------------------------------------------------------------------

    def count(self) -> int:
        """How many customers are cached."""
        return queries.customer_count(self._conn())

    def window(
        self, *, sort: str, descending: bool, offset: int, limit: int, total: int | None = None
    ) -> list[Any]:
        """Rows of the whole list in the given order (mappings of the list's columns)."""
        return queries.customer_window(
            self._conn(),
            sort=sort,
            descending=descending,
            offset=offset,
            limit=limit,
            total=total,
        )

    def first_matches(self, text: str, limit: int = 5) -> list[Any]:
        """The first ``limit`` customers a search finds (the palette's hits); none when the
        query cannot be read."""
        from srm_tui.storage.search import search

        try:
            return list(search(self._conn(), text, limit=limit).rows)
        except SearchError:
            return []

    def search(self, text: str, *, sort: str, descending: bool, prefetch: int = 0) -> SearchAnswer:
        """Every match of ``text``; the count and the first ``prefetch`` rows are read now.
        A query that cannot be read answers with its error and no rows."""
        conn = self._conn()
        try:
            found = Results(conn, text, sort=sort, descending=descending)
            found.count(conn)
            if prefetch:
                found.window(conn, 0, prefetch)
        except SearchError as exc:
            return SearchAnswer(text, self._conn, error=str(exc), sort=sort, descending=descending)
        return SearchAnswer(
            text, self._conn, found, None, found.elapsed_ms, found.sort, found.descending
        )

    def _team_columns(self) -> tuple[Path, str] | None:
        """On the team store the list's columns are the agent's own, not the team's: kept in
        the agent's data folder, per store (the URL without its password). None on a cache."""
        if getattr(getattr(self._cache, "dialect", None), "name", "sqlite") != "postgres":
            return None
        from srm_tui.config import data_dir

        return data_dir() / "team-list-columns.json", str(self._cache.location)

    def _saved_columns(self) -> str | None:
        team = self._team_columns()
        if team is None:
            return self._cache.get_meta(COLUMNS_META)
        path, store = team
        try:
            chosen = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        value = chosen.get(store) if isinstance(chosen, dict) else None
        return json.dumps(value) if value is not None else None

    def list_columns(self) -> list[str] | None:
        """The list's columns as the agent last chose them (None: never chosen, or unreadable)."""
        saved = self._saved_columns()
        if not saved:
            return None
        try:
            cols = json.loads(saved)
        except ValueError:
            return None
        return [str(c) for c in cols] if isinstance(cols, list) else None

    def save_list_columns(self, columns: list[str]) -> None:
        """Keep the list's columns for the next start (see ``_team_columns``)."""
        team = self._team_columns()
        if team is None:
            self._cache.set_meta(COLUMNS_META, json.dumps(columns))
            return
        from srm_tui.storage.files import write_text

        path, store = team
        try:
            chosen = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            chosen = {}
        chosen = chosen if isinstance(chosen, dict) else {}
        chosen[store] = list(columns)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)  # srm's own data folder
        write_text(path, json.dumps(chosen), owned=lambda _: True)

    def exists(self, customer_id: int) -> bool:
        return (
            self._conn().execute("SELECT 1 FROM customers WHERE id = ?", (customer_id,)).fetchone()
            is not None
        )

    # one account -------------------------------------------------------------------------

    def account(self, customer_id: int, now: int) -> AccountView | None:
        """The customer's account built from the cache, or None when it is not cached."""
        conn = self._conn()
        record = queries.account_records(conn, customer_id)
        if record is None:
            return None
        synced = conn.execute(
            "SELECT synced_at FROM customers WHERE id = ?", (customer_id,)
        ).fetchone()
        return AccountView(acc.build(record, now), synced["synced_at"] if synced else None)

    def open_items(self, customer_id: int) -> list[OpenItem]:
        """The customer's outbox entries still waiting for the API or for a decision."""
        rows = self._conn().execute(
            "SELECT id, action, target, status, last_error FROM outbox WHERE customer_id = ? "
            "AND status IN ('pending', 'conflict', 'failed') ORDER BY id",
            (customer_id,),
        )
        return [
            OpenItem(r["id"], r["action"], r["target"], r["status"], r["last_error"]) for r in rows
        ]

    def history(
        self, customer_id: int, records: dict[str, Any], now: int, date: Callable[[int], str]
    ) -> list[acc.Event]:
        """The merged history `srm customer show` prints, newest first."""
        return customer_history(self._conn(), customer_id, records, now, date)

    def profile_edits(self, customer_id: int) -> list[ProfileEdit]:
        """The API's history of profile edits, newest first."""
        entries = [
            decode_raw(r[0])
            for r in self._conn().execute(
                "SELECT raw FROM history WHERE customer_id = ?", (customer_id,)
            )
        ]
        entries.sort(key=lambda h: (h.get("date") or 0, h.get("id") or 0), reverse=True)
        return [
            ProfileEdit(
                e.get("date"),
                e.get("editor"),
                tuple(
                    FieldChange(c.get("field") or "?", c.get("from"), c.get("to"))
                    for c in e.get("changes") or []
                ),
            )
            for e in entries
        ]

    # offers a customer's records name ----------------------------------------------------

    def offer_titles(self) -> dict[str, str]:
        """Offer (and localized offer) id -> title."""
        conn = self._conn()
        titles = {r["id"]: r["title"] for r in conn.execute("SELECT id, title FROM offers")}
        for loc in conn.execute("SELECT id, title FROM localizations"):
            titles[loc["id"]] = loc["title"] or titles.get(loc["id"].split("_")[0], "")
        return titles

    def offer(self, offer_id: str) -> OfferRef | None:
        """The cached offer (a localized id names its base offer), or None."""
        base = (offer_id or "").split("_")[0]
        row = self._conn().execute("SELECT title, raw FROM offers WHERE id = ?", (base,)).fetchone()
        if row is None:
            return None
        url = decode_raw(row["raw"]).get("url") if row["raw"] else None
        return OfferRef(base, row["title"] or "", url or None)

    def offer_holders(self, offer_id: str, now: int) -> int:
        """How many customers hold the offer now (counted over the whole cache: slow)."""
        return queries.offer_holders(self._conn(), now).get(offer_id, 0)

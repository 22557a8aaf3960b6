"""Customers › list and search: every cached customer, paged from SQLite, searched as you type."""

from __future__ import annotations

import json
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from srm_tui.widgets.footer import Footer
from srm_tui.bindings import bindings
from srm_tui.storage import queries
from srm_tui.storage.search import SearchError, search
from srm_tui.sync.lookup import classify
from srm_tui.widgets.customer_table import COLUMNS, DEFAULT_COLUMNS, CustomerTable
from srm_tui.widgets.status_line import StatusLine

SEARCH_LIMIT = 500
DEBOUNCE = 0.15
COLUMNS_META = "list_columns"


class CustomersScreen(Screen):
    """Customers › list, or › search "query"."""

    BINDINGS = bindings("customers")
    DEFAULT_CSS = """
    CustomersScreen #crumbs { height: 1; padding: 0 1; background: $panel; }
    CustomersScreen #search { margin: 0 1; height: 1; border: none; padding: 0 1;
                              background: $boost; }
    CustomersScreen #search:focus { background: $accent 30%; }
    CustomersScreen #columns { height: 1; padding: 0 1; text-style: bold; }
    CustomersScreen #hint { height: auto; padding: 0 1; color: $warning; }
    CustomersScreen CustomerTable { padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.sort = "id"
        self.descending = False
        self.query_text = ""
        self.results: list[Any] | None = None  # None: the whole list
        self.search_ms = 0.0
        self._debounce: Timer | None = None
        self.missing: tuple[str, Any] | None = None  # an identifier the cache lacks

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("", id="crumbs", markup=False)
            yield Input(placeholder="/ search: name, email, id, T123456789, card:4242, country:PL …",
                        id="search")
            yield Static("", id="columns", markup=False)
            yield CustomerTable(self._source, self._count(), columns=self._columns(),
                                id="customers")
            yield Static("", id="hint", markup=False)
            yield StatusLine(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self._update_headings()
        self.query_one(CustomerTable).focus()

    # data ------------------------------------------------------------------------------

    def _columns(self) -> tuple[str, ...]:
        saved = self.app.cache.get_meta(COLUMNS_META)
        if saved:
            try:
                cols = tuple(c for c in json.loads(saved) if c in COLUMNS)
                if cols:
                    return cols
            except ValueError:
                pass
        return DEFAULT_COLUMNS

    def _count(self) -> int:
        if self.results is not None:
            return len(self.results)
        return queries.customer_count(self.app.cache.conn())

    def _source(self, offset: int, limit: int) -> list[Any]:
        if self.results is not None:
            return self.results[offset:offset + limit]
        return queries.customer_window(self.app.cache.conn(), sort=self.sort,
                                       descending=self.descending, offset=offset, limit=limit,
                                       total=self.query_one(CustomerTable).count)

    def _update_headings(self) -> None:
        table = self.query_one(CustomerTable)
        if self.results is not None:
            more = f" (first {SEARCH_LIMIT}; refine the query)" if len(self.results) >= SEARCH_LIMIT else ""
            crumbs = (f"Customers › search {self.query_text!r} · {len(self.results):,} found"
                      f"{more} in {self.search_ms:.0f} ms")
        else:
            arrow = "↓" if self.descending else "↑"
            crumbs = (f"Customers › {table.count:,} cached · sorted by "
                      f"{COLUMNS[self.sort].title} {arrow}")
        self.query_one("#crumbs", Static).update(crumbs)
        self.query_one("#columns", Static).update(table.header_text())

    def action_reload(self) -> None:
        if self.query_text:
            self._run_search(self.query_text)
            return
        self.query_one(CustomerTable).reload(self._source, self._count())
        self._update_headings()

    # sorting and columns -----------------------------------------------------------------

    def action_cycle_sort(self) -> None:
        order = [c for c in self.query_one(CustomerTable).column_keys if c in queries.SORT_COLUMNS]
        if self.sort not in order:
            order.insert(0, self.sort)
        self.sort = order[(order.index(self.sort) + 1) % len(order)]
        self._resort()

    def action_reverse_sort(self) -> None:
        self.descending = not self.descending
        self._resort()

    def _resort(self) -> None:
        if self.results is not None:
            key = self.sort
            self.results.sort(key=lambda r: (r[key] is None, r[key] if r[key] is not None else 0,
                                             r["id"]), reverse=self.descending)
        self.query_one(CustomerTable).reload(self._source, self._count())
        self._update_headings()

    def action_manage_columns(self) -> None:
        from srm_tui.screens.columns import ColumnsScreen

        table = self.query_one(CustomerTable)

        def chosen(columns: list[str] | None) -> None:
            if columns:
                self.app.cache.set_meta(COLUMNS_META, json.dumps(columns))
                table.set_columns(columns)
                self._update_headings()

        self.app.push_screen(ColumnsScreen(list(table.column_keys)), chosen)

    # search ------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "focus_search" and self.focused is self.query_one("#search", Input):
            return False  # a "/" typed in the box is text ("2024/01", a URL)
        return True

    def action_focus_search(self) -> None:
        # Focus now, not after the queue drains (Widget.focus defers): a fast "/anna" or a
        # paste arrives in one read, and its letters must land in the box, not on the list.
        self.set_focus(self.query_one("#search", Input))

    def action_clear_search(self) -> None:
        search_box = self.query_one("#search", Input)
        if search_box.value:
            search_box.value = ""
            if self._debounce:
                self._debounce.stop()
            self._run_search("")
        self.query_one(CustomerTable).focus()

    @on(Input.Changed, "#search")
    def _typed(self, event: Input.Changed) -> None:
        if self._debounce:
            self._debounce.stop()
        value = event.value.strip()
        self._debounce = self.set_timer(DEBOUNCE, lambda: self._run_search(value))

    @on(Input.Submitted, "#search")
    def _submitted(self, event: Input.Submitted) -> None:
        if self._debounce:
            self._debounce.stop()
        self._run_search(event.value.strip())
        self.query_one(CustomerTable).focus()

    def _run_search(self, text: str) -> None:
        self.query_text = text
        if not text:
            self.results = None
            self.missing = None
            self.query_one("#hint", Static).update("")
            self.query_one(CustomerTable).reload(self._source, self._count())
            self._update_headings()
            return
        self._search_worker(text)

    @work(thread=True, exclusive=True, group="search")
    def _search_worker(self, text: str) -> None:
        """Search off the UI thread; a newer query cancels this one's result."""
        try:
            result = search(self.app.cache.conn(), text, limit=SEARCH_LIMIT)
            outcome: Any = result
        except SearchError as exc:
            outcome = exc
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_results, text, outcome)

    def _show_results(self, text: str, outcome: Any) -> None:
        if text != self.query_text:
            return
        hint = self.query_one("#hint", Static)
        if isinstance(outcome, SearchError):
            hint.update(f"⚠ {outcome}")
            return
        self.results = [dict(r) for r in outcome.rows]
        self.search_ms = outcome.elapsed_ms
        if self.sort != "id" or self.descending:
            self._resort()
        self.missing = None
        if not self.results:
            kind, value = classify(text)
            if kind in ("email", "customer_id", "transaction_id"):
                self.missing = (kind, value)
                hint.update(f"Not in the cache. Press f to fetch {text} from the API.")
            else:
                hint.update("No customer matches.")
        else:
            hint.update("")
        table = self.query_one(CustomerTable)
        table.reload(self._source, self._count())
        table.cursor = 0
        self._update_headings()

    def action_fetch_missing(self) -> None:
        if self.missing is None:
            self.app.notify("Nothing to fetch: search for a whole email, customer id or "
                            "transaction id first.", severity="warning")
            return
        self.query_one("#hint", Static).update(f"Fetching {self.query_text} from the API…")
        self._fetch_worker(*self.missing)

    @work(thread=True, exclusive=True, group="fetch")
    def _fetch_worker(self, kind: str, value: Any) -> None:
        try:
            found = self.app.fetch_customer(**{kind: value})
            message = None if found else f"The API has no customer for {value}."
        except Exception as exc:  # offline or refused: said on the hint line
            found, message = None, f"Could not fetch: {getattr(exc, 'message', exc)}"
        self.app.call_from_thread(self._fetched, found, message)

    def _fetched(self, found: int | None, message: str | None) -> None:
        self.query_one("#hint", Static).update(message or "")
        if found:
            self._run_search(str(found))
            from srm_tui.screens.customer import CustomerScreen

            self.app.push_screen(CustomerScreen(found))

    # opening -----------------------------------------------------------------------------

    def on_customer_table_opened(self, message: CustomerTable.Opened) -> None:
        from srm_tui.screens.customer import CustomerScreen

        self.app.push_screen(CustomerScreen(message.customer_id))

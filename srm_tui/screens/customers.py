"""Customers › list and search: every cached customer, paged from SQLite, searched as you type.

Search results are paged like the list (every match reachable, a window at a time); a query
that cannot be read shows its error where the results go, and no results."""

from __future__ import annotations

from typing import Any

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, Static
from textual.widgets.input import Selection
from textual.worker import get_current_worker

from srm_tui.bindings import bindings, display_keys
from srm_tui.screens.workers import work
from srm_tui.sync.lookup import classify
from srm_tui.widgets.customer_table import COLUMNS, DEFAULT_COLUMNS, ColumnHeadings, CustomerTable
from srm_tui.widgets.footer import Footer
from srm_tui.widgets.status_line import StatusLine

DEBOUNCE = 0.15
STORE_RELOAD_EVERY = 1.0  # seconds: the list follows the team's sync at most this often
PREFETCH = 120  # rows the search worker reads ahead: the first screen paints without a query
COLUMNS_META = "list_columns"  # kept for the segment builder's list (session.customers reads it)


class CustomersScreen(Screen):
    """Customers › list, or › search "query"."""

    BINDINGS = bindings("customers")

    class SearchAnswered(Message):
        """The search worker's answer to ``text`` (matches, or the query's error)."""

        def __init__(self, text: str, answer: Any) -> None:
            super().__init__()
            self.text = text
            self.answer = answer

    class Fetched(Message):
        """The API's answer to fetching a customer the cache lacked."""

        def __init__(self, found: int | None, message: str | None) -> None:
            super().__init__()
            self.found = found
            self.message = message

    def __init__(self) -> None:
        super().__init__()
        self.sort = "id"
        self.descending = False
        self.query_text = ""
        self.results: Any = None  # the search's matches (a SearchAnswer); None: the whole list
        self.error: str | None = None  # the query could not be read: shown, no results
        self.search_ms = 0.0
        self.searching = False
        self._debounce: Timer | None = None
        self._open_when_shown = False  # Enter came before the results: open the first
        self.missing: tuple[str, Any] | None = None  # an identifier the cache lacks
        self._store_quiet: Timer | None = None  # after a reload for others' changes
        self._store_dirty = False  # others changed the store during that quiet second
        self._keep_cursor = False  # the search now running reads the same query again

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("", id="crumbs", markup=False)
            # Selecting the old query happens in action_focus_search, in step with the keys:
            # Input's own select-on-focus runs when its Focus event is handled, which can come
            # after the first letters typed right after "/" and then swallow them.
            yield Input(placeholder=self._placeholder(), id="search", select_on_focus=False)
            headings = ColumnHeadings(id="columns")
            yield headings
            # Where the results go: a query's error or "no customer matches" shows here.
            yield Static("", id="hint", markup=False, disabled=True)
            yield CustomerTable(
                self._source,
                self._count(),
                columns=self._columns(),
                headings=headings,
                id="customers",
            )
            yield StatusLine(id="status")
        yield Footer()

    def _placeholder(self) -> str:
        """The search hint names the key in force (the user's keymap may move it)."""
        keymap = dict(getattr(self.app, "_keymap", {}) or {})
        keys = keymap.get("customers.search") or next(
            b.key for b in self.BINDINGS if getattr(b, "id", None) == "customers.search"
        )
        key = display_keys(keys.split(",")[0])
        return f"{key} search: name, email, id, T123456789, card:4242, country:PL …"

    def on_mount(self) -> None:
        self._update_headings()
        self.query_one(CustomerTable).focus()

    # data ------------------------------------------------------------------------------

    def _columns(self) -> tuple[str, ...]:
        saved = self.app.session.customers.list_columns() or []
        return tuple(c for c in saved if c in COLUMNS) or DEFAULT_COLUMNS

    def _count(self) -> int:
        if self.error is not None:
            return 0
        if self.results is not None:
            return len(self.results)
        return self.app.session.customers.count()

    def _source(self, offset: int, limit: int) -> list[Any]:
        if self.error is not None:
            return []
        if self.results is not None:
            return self.results.window(offset, limit)
        return self.app.session.customers.window(
            sort=self.sort,
            descending=self.descending,
            offset=offset,
            limit=limit,
            total=self.query_one(CustomerTable).count,
        )

    def _hint(self, text: str) -> None:
        hint = self.query_one("#hint", Static)
        hint.update(text)
        hint.disabled = not text

    def _update_headings(self) -> None:
        table = self.query_one(CustomerTable)
        if self.error is not None:
            crumbs = f"Customers › search {self.query_text!r} · cannot be read"
        elif self.results is not None:
            crumbs = (
                f"Customers › search {self.query_text!r} · {len(self.results):,} found"
                f" in {self.search_ms:.0f} ms"
            )
        else:
            arrow = "↓" if self.descending else "↑"
            crumbs = (
                f"Customers › {table.count:,} cached · sorted by {COLUMNS[self.sort].title} {arrow}"
            )
        self.query_one("#crumbs", Static).update(crumbs)

    def action_reload(self) -> None:
        if self.query_text:
            self._run_search(self.query_text)
            # The same query read again (the store changed): the agent stays on their row.
            self._keep_cursor = True
            return
        self.query_one(CustomerTable).reload(self._source, self._count())
        self._update_headings()

    def store_changed(self, message: Any) -> None:
        """Others changed the team store (widgets.workers.StoreChanged): the team sync's pages
        are read again at most once a second; the cursor stays on its row."""
        if not message.vendor:
            return
        if self._store_quiet is not None:
            self._store_dirty = True  # read once the quiet second is over
            return
        self.action_reload()
        self._store_quiet = self.set_timer(STORE_RELOAD_EVERY, self._store_quiet_over)

    def _store_quiet_over(self) -> None:
        self._store_quiet = None
        if self._store_dirty:
            self._store_dirty = False
            self.action_reload()
            self._store_quiet = self.set_timer(STORE_RELOAD_EVERY, self._store_quiet_over)

    # sorting and columns -----------------------------------------------------------------

    def action_cycle_sort(self) -> None:
        sortable = self.app.session.customers.SORT_COLUMNS
        order = [c for c in self.query_one(CustomerTable).column_keys if c in sortable]
        if self.sort not in order:
            order.insert(0, self.sort)
        self.sort = order[(order.index(self.sort) + 1) % len(order)]
        self._resort()

    def action_reverse_sort(self) -> None:
        self.descending = not self.descending
        self._resort()

    def _resort(self) -> None:
        if self.results is not None:
            # The same matches in the new order, read by the table a window at a time.
            self.results = self.results.sorted_by(self.sort, self.descending)
        self.query_one(CustomerTable).reload(self._source, self._count())
        self._update_headings()

    def action_manage_columns(self) -> None:
        from srm_tui.screens.columns import ColumnsScreen

        table = self.query_one(CustomerTable)

        def chosen(columns: list[str] | None) -> None:
            if columns:
                self.app.session.customers.save_list_columns(columns)
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
        # The last query is selected now too, so what is typed next replaces it.
        search_box = self.query_one("#search", Input)
        self.set_focus(search_box)
        search_box.selection = Selection(0, len(search_box.value))

    def action_clear_search(self) -> None:
        search_box = self.query_one("#search", Input)
        if search_box.value:
            search_box.value = ""
            if self._debounce:
                self._debounce.stop()
            self._run_search("")
        self.query_one(CustomerTable).focus()

    def on_key(self, event: events.Key) -> None:
        # Down from the search box walks into the results without opening one (searching
        # now for what is typed, rather than after the pause).
        search_box = self.query_one("#search", Input)
        if event.key == "down" and self.focused is search_box:
            event.stop()
            text = search_box.value.strip()
            if self._debounce:
                self._debounce.stop()
            if text != self.query_text:
                self._run_search(text)
            self.query_one(CustomerTable).focus()

    @on(Input.Changed, "#search")
    def _typed(self, event: Input.Changed) -> None:
        if self._debounce:
            self._debounce.stop()
        value = event.value.strip()
        self._open_when_shown = False
        self._debounce = self.set_timer(DEBOUNCE, lambda: self._run_search(value))

    @on(Input.Submitted, "#search")
    def _submitted(self, event: Input.Submitted) -> None:
        """Enter opens the highlighted result: at once when the results of this text are
        shown, else as soon as they are (the first one, highlighted)."""
        if self._debounce:
            self._debounce.stop()
        text = event.value.strip()
        if not text:
            self._run_search("")
            self.query_one(CustomerTable).focus()
            return
        if (
            text == self.query_text
            and not self.searching
            and (self.results is not None or self.error is not None)
        ):
            self._open_shown()
            return
        self._open_when_shown = True
        self._run_search(text)

    def _open_shown(self) -> None:
        """Open the highlighted result; with none, say why where the results go."""
        table = self.query_one(CustomerTable)
        if self.error is not None:
            return  # the error stays in view and the query in the box, to be corrected
        if table.count:
            table.focus()  # back from the customer, keys go to the list again ("/" searches)
            table.action_open()
        else:
            table.focus()  # "Not in the cache. Press f…": the key works from the list

    def _run_search(self, text: str) -> None:
        self.query_text = text
        self._keep_cursor = False
        if not text:
            self.results = None
            self.error = None
            self.missing = None
            self.searching = False
            self._open_when_shown = False
            self._hint("")
            self.query_one(CustomerTable).reload(self._source, self._count())
            self._update_headings()
            return
        self.searching = True
        self._search_worker(text, self.sort, self.descending)

    @work(thread=True, exclusive=True, group="search")
    def _search_worker(self, text: str, sort: str, descending: bool) -> None:
        """Search off the UI thread; a newer query cancels this one's result. Only the
        count and the first screen of rows are read; the table reads the rest as it scrolls."""
        answer = self.app.session.customers.search(
            text, sort=sort, descending=descending, prefetch=PREFETCH
        )
        if not get_current_worker().is_cancelled:
            self.post_message(self.SearchAnswered(text, answer))

    @on(SearchAnswered)
    def _show_results(self, message: SearchAnswered) -> None:
        text, answer = message.text, message.answer
        if text != self.query_text:
            return
        self.searching = False
        self.missing = None
        table = self.query_one(CustomerTable)
        if answer.error is not None:
            self._show_error(answer.error)
            return
        self.error = None
        self.results = answer
        self.search_ms = answer.elapsed_ms
        if (self.sort, self.descending) != (answer.sort, answer.descending):
            self.results = answer.sorted_by(self.sort, self.descending)
        if not len(self.results):
            kind, value = classify(text)
            if kind in ("email", "customer_id", "transaction_id"):
                self.missing = (kind, value)
                self._hint(f"Not in the cache. Press f to fetch {text} from the API.")
            else:
                self._hint("No customer matches.")
        else:
            self._hint("")
        table.reload(self._source, self._count())
        table.cursor = table.cursor if self._keep_cursor else 0
        self._keep_cursor = False
        self._update_headings()
        if self._open_when_shown:
            self._open_when_shown = False
            self._open_shown()

    def _show_error(self, message: str) -> None:
        """The error in place of the results, and no results (never the last list)."""
        self.searching = False
        self._open_when_shown = False
        self.results = None
        self.error = message
        self._hint(f"⚠ {message}")
        self.query_one(CustomerTable).reload(self._source, 0)
        self._update_headings()

    def worker_failed(self, group: str, error: BaseException) -> None:
        """A failed search (the app has told it): said where the results go; the list,
        the box and every key keep working."""
        if group == "search":
            self._show_error(f"the search failed: {getattr(error, 'message', None) or error}")
        elif group == "fetch":
            self._hint(f"Could not fetch: {getattr(error, 'message', None) or error}")

    def action_fetch_missing(self) -> None:
        if self.missing is None:
            self.app.notify(
                "Nothing to fetch: search for a whole email, customer id or transaction id first.",
                severity="warning",
            )
            return
        self._hint(f"Fetching {self.query_text} from the API…")
        self._fetch_worker(*self.missing)

    @work(thread=True, exclusive=True, group="fetch")
    def _fetch_worker(self, kind: str, value: Any) -> None:
        try:
            found = self.app.session.fetch_customer(**{kind: value})
            message = None if found else f"The API has no customer for {value}."
        except Exception as exc:  # offline or refused: said on the hint line
            found, message = None, f"Could not fetch: {getattr(exc, 'message', exc)}"
        self.post_message(self.Fetched(found, message))

    @on(Fetched)
    def _fetched(self, message: Fetched) -> None:
        self._hint(message.message or "")
        if message.found:
            self._run_search(str(message.found))
            from srm_tui.screens.customer import open_customer

            open_customer(self.app, message.found)

    # opening -----------------------------------------------------------------------------

    def on_customer_table_opened(self, message: CustomerTable.Opened) -> None:
        from srm_tui.screens.customer import open_customer

        open_customer(self.app, message.customer_id)

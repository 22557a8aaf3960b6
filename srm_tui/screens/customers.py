"""The customer list screen: every cached customer, paged from SQLite."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from srm_tui.storage import queries
from srm_tui.widgets.customer_table import COLUMNS, DEFAULT_COLUMNS, CustomerTable
from srm_tui.widgets.status_line import StatusLine

SORT_ORDER = list(DEFAULT_COLUMNS)


class CustomersScreen(Screen):
    """Customers › list."""

    BINDINGS = [
        Binding("s", "cycle_sort", "Sort", id="customers.sort"),
        Binding("S", "reverse_sort", "Reverse", id="customers.reverse"),
        Binding("r", "reload", "Reload", id="customers.reload"),
    ]
    DEFAULT_CSS = """
    CustomersScreen #crumbs { height: 1; padding: 0 1; background: $panel; }
    CustomersScreen #columns { height: 1; padding: 0 1; text-style: bold; }
    CustomersScreen CustomerTable { padding: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.sort = "id"
        self.descending = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("", id="crumbs", markup=False)
            yield Static("", id="columns", markup=False)
            yield CustomerTable(self._source, self._count(), id="customers")
            yield StatusLine(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self._update_headings()
        self.query_one(CustomerTable).focus()

    def _count(self) -> int:
        return queries.customer_count(self.app.cache.conn())

    def _source(self, offset: int, limit: int):
        return queries.customer_window(self.app.cache.conn(), sort=self.sort,
                                       descending=self.descending, offset=offset, limit=limit,
                                       total=self.query_one(CustomerTable).count)

    def _update_headings(self) -> None:
        table = self.query_one(CustomerTable)
        arrow = "↓" if self.descending else "↑"
        self.query_one("#crumbs", Static).update(
            f"Customers › {table.count:,} cached · sorted by {COLUMNS[self.sort].title} {arrow}")
        self.query_one("#columns", Static).update(table.header_text())

    def action_reload(self) -> None:
        self.query_one(CustomerTable).reload(self._source, self._count())
        self._update_headings()

    def action_cycle_sort(self) -> None:
        self.sort = SORT_ORDER[(SORT_ORDER.index(self.sort) + 1) % len(SORT_ORDER)]
        self.action_reload()

    def action_reverse_sort(self) -> None:
        self.descending = not self.descending
        self.action_reload()

    def on_customer_table_opened(self, message: CustomerTable.Opened) -> None:
        from srm_tui.screens.customer import CustomerScreen

        self.app.push_screen(CustomerScreen(message.customer_id))

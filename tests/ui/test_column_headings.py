"""A customer table writes its own headings (issue 14's leftovers): any screen that composes a
``ColumnHeadings`` line and hands it to its ``CustomerTable`` gets headings that follow the
columns' fit — at mount, after a resize (columns give way) and when a scrollbar comes or goes
— with no handler of its own. The app here is bare on purpose: no srm screen writes them."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Static

from srm_tui.widgets.customer_table import ColumnHeadings, CustomerTable
from tests.ui_keys import until

ROWS = [
    {
        "id": 1000 + i,
        "email": f"customer.number.{i}@example.com",
        "first_name": "Ada",
        "last_name": f"Lovelace{i}",
        "registered_at": 1_700_000_000 + i * 86400,
        "last_login_at": 1_760_000_000,
        "transactions": i % 5,
        "last_payment_method": "card",
    }
    for i in range(200)
]


class TableApp(App[None]):
    """A headings line, a hint between it and the rows (as the customer list has), a table."""

    CSS = "ColumnHeadings { height: 1; padding: 0 1; } CustomerTable { padding: 0 1; }"

    def __init__(self, count: int) -> None:
        super().__init__()
        self.count = count

    def compose(self) -> ComposeResult:
        headings = ColumnHeadings(id="head")
        yield headings
        yield Static("a hint between the headings and the rows", markup=False)
        yield CustomerTable(self.source, self.count, headings=headings)

    def source(self, offset: int, limit: int) -> list[dict]:
        return ROWS[offset : min(offset + limit, self.count)]


def _shown(app: App) -> str:
    return str(app.query_one(ColumnHeadings).render())


def _fitted(app: App) -> bool:
    """The headings line is the one the table's columns are fitted to now."""
    table = app.query_one(CustomerTable)
    shown = _shown(app)
    titles = " ".join(c.title for c in table.shown_columns()).split()
    return bool(shown) and shown == table.header_text() and shown.split() == titles


async def test_headings_follow_a_resize_without_a_screen_handler():
    app = TableApp(3)
    async with app.run_test(size=(140, 20)) as pilot:
        await until(pilot, lambda: "Registered" in _shown(app), "the wide headings")
        assert _fitted(app)
        # Narrower: the columns that may give way do, and their headings go with them.
        await pilot.resize_terminal(70, 20)
        await until(pilot, lambda: "Registered" not in _shown(app), "the narrow headings")
        assert "Email" in _shown(app) and "Customer" in _shown(app)
        assert _fitted(app)


async def test_headings_follow_a_scrollbar_that_comes_with_more_rows():
    app = TableApp(3)
    # 101 columns: the rows have 99 cells, shared evenly by the two flexible columns, so the
    # one cell a scrollbar takes narrows one of them and moves the headings after it.
    async with app.run_test(size=(101, 12)) as pilot:
        await until(pilot, lambda: bool(_shown(app)), "the headings")
        table = app.query_one(CustomerTable)
        before = _shown(app)
        app.count = len(ROWS)
        table.reload(app.source, app.count)  # now a scrollbar takes a cell from the rows
        await until(pilot, lambda: _shown(app) != before, "the headings refitted")
        assert table.show_vertical_scrollbar
        assert _fitted(app)

"""A bare Textual app making the same kinds of moves as srm's console: the floor for bench_keys.

    python bench/bare_console.py

A list screen (a search Input over a 200-row DataTable), Enter pushes a detail screen with six
tabs of tables, `e` opens a dialog of inputs, Esc goes back, F2-F5 switch modes, `?` opens a
help table, ctrl+p is Textual's own command palette. Nothing reads a database: what srm spends
beyond this is srm's own.
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Input, Static, TabbedContent, TabPane

NAMES = ["Zoë Brown", "Noah Williams", "João Santos", "結衣 佐藤", "Léa Girard", "Emily Wilson"]
ROWS = [
    (
        f"{NAMES[i % len(NAMES)].split()[0].lower()}{i}@example.org",
        NAMES[i % len(NAMES)],
        str(100000000 + i * 40891),
        f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}",
        f"2026-{1 + i % 10:02d}-{1 + i % 28:02d}",
        str(i % 17),
        ("card", "paypal", "apple", "android")[i % 4],
    )
    for i in range(200)
]
COLUMNS = ("Email", "Name", "Customer", "Registered", "Last login", "Paid", "Method")
TABS = ("Summary", "Payments", "Transactions", "Emails", "Notes", "History")


def _table(rows: int, offset: int = 0) -> DataTable:
    table = DataTable(cursor_type="row")
    table.add_columns(*COLUMNS)
    table.add_rows(ROWS[offset : offset + rows])
    return table


class Dialog(ModalScreen):
    """Four labelled inputs in a bordered box, as an action dialog."""

    BINDINGS = [Binding("escape", "dismiss", "Cancel")]
    DEFAULT_CSS = "Dialog { align: center middle; } Dialog > Vertical { width: 100; height: auto;"
    DEFAULT_CSS += " border: round $accent; background: $panel; }"

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Edit customer · 100297390")
            for label in ("First name", "Last name", "Email", "Company name"):
                yield Static(label)
                yield Input(placeholder=label.lower())
            yield Static("^s Run  esc Cancel")


class Help(ModalScreen):
    """A table of keys, as the `?` help."""

    BINDINGS = [Binding("escape", "dismiss", "Back")]
    DEFAULT_CSS = "Help { align: center middle; } Help > DataTable { width: 100; height: 30; }"

    def compose(self) -> ComposeResult:
        table = DataTable()
        table.add_columns("Keys", "Does", "Binding id")
        table.add_rows([(f"k{i}", f"action {i}", f"scope.action_{i}") for i in range(80)])
        yield table


class Detail(Screen):
    """Six tabs, each a table: the customer screen's kind of move."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("e", "dialog", "Edit"),
        *[Binding(str(n), f"tab({n})", TABS[n - 1], show=False) for n in range(1, 7)],
    ]

    def compose(self) -> ComposeResult:
        yield Static("Customers › brown.zoe3@example.org · 100297390")
        with TabbedContent():
            for n, title in enumerate(TABS):
                with TabPane(f"{n + 1} {title}", id=f"t{n + 1}"):
                    yield _table(20, n * 20)
        yield Footer()

    def action_tab(self, n: int) -> None:
        self.query_one(TabbedContent).active = f"t{n}"

    def action_dialog(self) -> None:
        self.app.push_screen(Dialog())


class ListScreen(Screen):
    """A search box over a table; typing filters the rows."""

    AUTO_FOCUS = "DataTable"
    BINDINGS = [
        Binding("slash", "search", "Search", priority=True),
        Binding("escape", "clear", "Clear"),
        Binding("j", "move(1)", "Down", show=False),
        Binding("k", "move(-1)", "Up", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield Static("Customers › 200 cached", id="title")
        yield Input(placeholder="/ search: name, email, id")
        yield _table(200)
        yield Footer()

    def action_search(self) -> None:
        self.query_one(Input).focus()

    def action_clear(self) -> None:
        self.query_one(Input).value = ""
        self.query_one(DataTable).focus()

    def action_move(self, step: int) -> None:
        table = self.query_one(DataTable)
        table.move_cursor(row=table.cursor_row + step)

    def on_data_table_row_selected(self) -> None:
        self.app.push_screen(Detail())

    def on_input_changed(self, event: Input.Changed) -> None:
        table = self.query_one(DataTable)
        table.clear()
        text = event.value.casefold()
        found = [r for r in ROWS if text in r[0] or text in r[1].casefold()]
        table.add_rows(found)
        self.query_one("#title", Static).update(
            f"Customers › search {event.value!r} · {len(found)} found"
        )

    def on_input_submitted(self) -> None:
        self.app.push_screen(Detail())


class Other(Screen):
    """Another mode: a title and a table."""

    def __init__(self, title: str):
        super().__init__()
        self.title_text = title

    def compose(self) -> ComposeResult:
        yield Static(self.title_text)
        yield _table(30, 40)
        yield Footer()


class Bare(App):
    """The floor: the same kinds of moves as srm with no data behind them."""

    MODES = {
        "list": ListScreen,
        "segments": lambda: Other("Segments › 0 saved"),
        "offers": lambda: Other("Offers › catalogue"),
        "sync": lambda: Other("Sync › runs"),
    }
    BINDINGS = [
        Binding("f2", "switch_mode('list')", "List", show=False),
        Binding("f3", "switch_mode('segments')", "Segments", show=False),
        Binding("f4", "switch_mode('offers')", "Offers", show=False),
        Binding("f5", "switch_mode('sync')", "Sync", show=False),
        Binding("question_mark", "help", "Help"),
    ]

    def on_mount(self) -> None:
        self.switch_mode("list")

    def action_help(self) -> None:
        self.push_screen(Help())


if __name__ == "__main__":
    Bare().run()

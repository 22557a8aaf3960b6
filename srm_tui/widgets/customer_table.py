"""The customer list: a virtual table that pages rows from SQLite, and its headings.

It never holds more than a window of rows (what the screen shows plus a margin): the
scroll range is the row count, and each repaint reads only the rows it draws. Its headings
are a ``ColumnHeadings`` line the screen places where it likes (a hint may sit between);
the table writes them itself whenever it fits its columns again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

from srm_tui.bindings import bindings
from srm_tui.domain.text import visible
from srm_tui.domain.time import day


@dataclass(frozen=True)
class Column:
    """One list column: ``least`` is what a flexible column needs to be read (an email of
    usual length), ``drop`` > 0 lets it give way on a narrow terminal (highest first) so
    the flexible ones get that much; the customer screen shows every value."""

    key: str
    title: str
    width: int
    render: Callable[[Any], str]
    align: str = "left"
    least: int = 0
    drop: int = 0


COLUMNS = {
    "email": Column("email", "Email", 20, lambda v: visible(v), least=28),
    "name": Column("name", "Name", 10, lambda v: visible(v), least=14),
    "id": Column("id", "Customer", 9, str, "right"),
    "registered_at": Column("registered_at", "Registered", 10, day, drop=1),
    "last_login_at": Column("last_login_at", "Last login", 10, day, drop=2),
    # Paid transactions (captured or refunded): the summary's "Paid transactions".
    "transactions": Column("transactions", "Paid", 4, str, "right"),
    "last_payment_method": Column(
        "last_payment_method", "Method", 10, lambda v: visible(v) or "—", drop=3
    ),
    "first_name": Column("first_name", "First name", 14, lambda v: visible(v)),
    "last_name": Column("last_name", "Last name", 14, lambda v: visible(v)),
    "country": Column("country", "Ctry", 4, lambda v: visible(v), drop=3),
    "currency": Column("currency", "Cur", 3, lambda v: visible(v), drop=3),
}
DEFAULT_COLUMNS = (
    "email",
    "name",
    "id",
    "registered_at",
    "last_login_at",
    "transactions",
    "last_payment_method",
)


def _value(row: Any, key: str) -> Any:
    if key == "name":
        return " ".join(p for p in (row["first_name"], row["last_name"]) if p)
    return row[key]


def _fit(text: str, width: int, align: str = "left") -> str:
    """Text cut or padded to exactly ``width`` terminal cells (wide CJK characters count 2)."""
    if cell_len(text) > width:
        text = set_cell_size(text, max(width - 1, 0)) + "…"
    pad = " " * (width - cell_len(text))
    return pad + text if align == "right" else text + pad


def _cell(column: Column, row: Any, width: int) -> str:
    return _fit(column.render(_value(row, column.key)), width, column.align)


RowSource = Callable[[int, int], list[Any]]  # (offset, limit) -> rows


class ColumnHeadings(Static):
    """A table's column headings on their own line: the screen composes it where it wants
    them and hands it to its ``CustomerTable``, which writes it (plain text, never markup)."""

    def __init__(self, **kw: Any) -> None:
        super().__init__("", markup=False, **kw)


class CustomerTable(ScrollView, can_focus=True):
    """Rows come from ``source(offset, limit)``; ``count`` says how many there are."""

    BINDINGS = bindings("list")
    COMPONENT_CLASSES = {"customer-table--cursor"}
    DEFAULT_CSS = """
    CustomerTable { height: 1fr; scrollbar-size-vertical: 1; overflow-x: hidden; }
    CustomerTable > .customer-table--cursor { background: $accent; color: $text; text-style: bold; }
    """
    MARGIN = 20

    cursor = reactive(0, repaint=False)  # watch_cursor paints what changed

    class Opened(Message):
        def __init__(self, customer_id: int) -> None:
            super().__init__()
            self.customer_id = customer_id

    def __init__(
        self,
        source: RowSource,
        count: int,
        columns=DEFAULT_COLUMNS,
        *,
        headings: ColumnHeadings | None = None,
        **kw: Any,
    ):
        super().__init__(**kw)
        self._source = source
        self._headings = headings
        self._header_width: int | None = None  # the width the headings were written for
        self.columns = [COLUMNS[c] for c in columns]
        self._window: dict[int, Any] = {}
        self._fitted_for: tuple[int, tuple[str, ...]] | None = None
        self._fitted_columns: tuple[list[Column], list[int]] = ([], [])
        self.count = count
        self.virtual_size = Size(self.row_width, count)

    @property
    def column_keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.columns)

    def set_columns(self, keys: list[str] | tuple[str, ...]) -> None:
        self.columns = [COLUMNS[c] for c in keys if c in COLUMNS]
        self.virtual_size = Size(self.row_width, self.count)
        self.write_headings()
        self.refresh()

    FLEX = ("email", "name", "first_name", "last_name")  # these take what width is left over
    MAX_FLEX = 48

    MIN_FLEX = 8

    def _grown(self, columns: list[Column], room: int) -> tuple[list[int], int]:
        """Each column's width when the spare room is shared evenly by the flexible ones,
        and the spare room (negative: short by that much)."""
        widths = [c.width for c in columns]
        spare = room - sum(w + 1 for w in widths) + 1
        flex = [i for i, c in enumerate(columns) if c.key in self.FLEX]
        if spare > 0 and flex:
            share = spare // len(flex)
            for i in flex:
                widths[i] += max(0, min(share, self.MAX_FLEX - widths[i]))
        return widths, spare

    def shown_columns(self) -> list[Column]:
        """The chosen columns that fit: on a narrow terminal the ones that may give way do
        (highest ``drop`` first) until the flexible ones (the email first) can be read."""
        shown = list(self.columns)
        room = self.scrollable_content_region.width
        while True:
            widths, _spare = self._grown(shown, room)
            short = any(w < c.least for c, w in zip(shown, widths) if c.key in self.FLEX)
            droppable = [c for c in shown if c.drop]
            if not short or not droppable:
                return shown
            level = max(c.drop for c in droppable)
            shown = [c for c in shown if c.drop != level]

    def _widths(self) -> list[int]:
        """Column widths for the current size: flexible columns grow, or give way first."""
        columns = self.shown_columns()
        widths = [c.width for c in columns]
        spare = self.scrollable_content_region.width - sum(w + 1 for w in widths) + 1
        flex = [i for i, c in enumerate(columns) if c.key in self.FLEX]
        if not flex:
            return widths
        if spare >= 0:
            for i in flex:
                widths[i] += max(0, min(spare // len(flex), self.MAX_FLEX - widths[i]))
        else:
            while spare < 0:
                shrinkable = [i for i in flex if widths[i] > self.MIN_FLEX]
                if not shrinkable:
                    break
                widest = max(shrinkable, key=lambda i: widths[i])
                widths[widest] -= 1
                spare += 1
        return widths

    def _fitted(self) -> tuple[list[Column], list[int]]:
        """The shown columns and their widths, worked out once per room and choice of
        columns: every line of a paint asks, and the answer only changes with those."""
        key = (self.scrollable_content_region.width, tuple(c.key for c in self.columns))
        if self._fitted_for != key:
            self._fitted_for = key
            self._fitted_columns = (self.shown_columns(), self._widths())
        return self._fitted_columns

    @property
    def row_width(self) -> int:
        return sum(w + 1 for w in self._widths())

    @property
    def held_rows(self) -> int:
        """How many rows the widget holds right now (for tests and the benchmark)."""
        return len(self._window)

    def header_text(self) -> str:
        """The column headings, fitted as the rows are."""
        self._header_width = self.scrollable_content_region.width
        return " ".join(
            _fit(c.title, w, c.align) for c, w in zip(self.shown_columns(), self._widths())
        )

    def write_headings(self) -> None:
        """Write the headings line (if the table has one) for the columns as now fitted."""
        if self._headings is not None:
            self._headings.update(self.header_text())

    def reload(self, source: RowSource, count: int) -> None:
        """Point at a new row source (sort changed, search typed, sync finished)."""
        self._source = source
        self._window.clear()
        self.count = count
        self.virtual_size = Size(self.row_width, count)
        self.cursor = min(self.cursor, max(count - 1, 0))
        self.write_headings()
        self.refresh()

    def _row(self, index: int) -> Any | None:
        if index < 0 or index >= self.count:
            return None
        if index not in self._window:
            height = max(self.size.height, 1)
            start = max(0, index - self.MARGIN)
            rows = self._source(start, height + 2 * self.MARGIN)
            self._window = {start + i: r for i, r in enumerate(rows)}
        return self._window.get(index)

    def selected(self) -> Any | None:
        return self._row(self.cursor) if self.count else None

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        row = self._row(index)
        width = self.scrollable_content_region.width
        if self._header_width is not None and width != self._header_width:
            # The rows' room changed without a resize (a scrollbar came or went as the
            # count changed): the headings were fitted to the old room, so they are written
            # again (after this paint), or every row would sit a column off its heading.
            self._header_width = width
            self.call_after_refresh(self.write_headings)
        # Every segment carries a real Style: NO_COLOR's monochrome filter reads each one.
        base = Style()  # empty, not None: the widget's own background still applies
        if row is None:
            return Strip.blank(width, base)
        columns, widths = self._fitted()
        text = " ".join(_cell(c, row, w) for c, w in zip(columns, widths))
        style = (
            self.get_component_rich_style("customer-table--cursor")
            if index == self.cursor and self.has_focus
            else base + Style(reverse=True)
            if index == self.cursor
            else base
        )
        strip = Strip([Segment(text + " ", style)], cell_len(text) + 1)
        return strip.crop(scroll_x, scroll_x + width).extend_cell_length(width, base)

    def watch_cursor(self, old: int, new: int) -> None:
        top = self.scroll_offset.y
        self.scroll_to_region(Region(0, new, 1, 1), animate=False, immediate=True)
        if self.scroll_offset.y == top:
            # Nothing scrolled: only the line the cursor left and the one it reached change,
            # so only they are painted again (a whole-list paint was ~40 lines per key).
            self.refresh_line(old)
            self.refresh_line(new)
        else:
            self.refresh()

    def on_mount(self) -> None:
        self.write_headings()

    def on_resize(self) -> None:
        self.virtual_size = Size(self.row_width, self.count)
        # After the refresh: the room for the rows is known once the layout has settled.
        self.call_after_refresh(self.write_headings)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def action_cursor(self, delta: int) -> None:
        if self.count:
            self.cursor = max(0, min(self.count - 1, self.cursor + delta))

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(self.size.height - 1, 1))

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        self.cursor = max(self.count - 1, 0)

    def action_open(self) -> None:
        row = self.selected()
        if row is not None:
            self.post_message(self.Opened(int(row["id"])))

    def action_copy(self, field: str) -> None:
        """Copy the highlighted customer's id or email (OSC 52: works over SSH)."""
        row = self.selected()
        if row is None or row[field] in (None, ""):
            self.notify(f"Nothing to copy: no {field}.", severity="warning")
            return
        self.app.copy_to_clipboard(str(row[field]))
        self.notify(f"Copied {field} {visible(row[field], 60)}")

    def on_click(self, event: Any) -> None:
        offset = event.get_content_offset(self)
        if offset is not None:
            self.cursor = max(0, min(self.count - 1, self.scroll_offset.y + offset.y))

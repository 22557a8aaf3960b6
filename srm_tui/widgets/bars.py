"""A bar chart of one composition panel, drawn with block characters, chosen by keys.

Each bar shows its label, a bar of eighth-blocks, the count and the share, so nothing is
told by colour alone (NO_COLOR shows the same). ``j``/``k`` move, ``enter`` posts
``BarChart.Chosen`` with the bar (whose node narrows a segment to it).
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.text import Text
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from srm_tui.bindings import bindings
from srm_tui.segments.overview import Bar, Panel

_EIGHTHS = " ▏▎▍▌▋▊▉"


def bar_cells(share: float, width: int) -> str:
    """A bar ``share`` (0..1) of ``width`` cells long, in eighths of a cell."""
    eighths = round(max(0.0, min(1.0, share)) * width * 8)
    full, part = divmod(eighths, 8)
    text = "█" * full + (_EIGHTHS[part] if part else "")
    if not text and share > 0:
        text = "▏"  # a customer or two still shows
    return text.ljust(width)


def _fit(text: str, width: int) -> str:
    if cell_len(text) > width:
        text = set_cell_size(text, max(width - 1, 0)) + "…"
    return text + " " * (width - cell_len(text))


class BarChart(Widget, can_focus=True):
    """One panel of the overview; ``panel`` None shows it as still being counted."""

    BINDINGS = bindings("bars")
    DEFAULT_CSS = """
    BarChart { height: auto; min-height: 3; padding: 0 1; border: round $panel;
               border-title-color: $text; border-subtitle-color: $text-muted; }
    BarChart:focus { border: round $accent; }
    """

    cursor = reactive(0)

    class Chosen(Message):
        def __init__(self, chart: BarChart, panel: Panel, bar: Bar) -> None:
            super().__init__()
            self.chart = chart
            self.panel = panel
            self.bar = bar

    def __init__(self, key: str, title: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.key = key
        self.panel: Panel | None = None
        self.border_title = title

    @property
    def bars(self) -> list[Bar]:
        """The bars shown: empty ones are left out (there is nothing to choose in them)."""
        if self.panel is None:
            return []
        return [b for b in self.panel.bars if b.count]

    def show(self, panel: Panel | None) -> None:
        self.panel = panel
        if panel is not None:
            self.border_title = panel.title
            self.border_subtitle = f"{panel.total:,}" + (f" · {panel.note}" if panel.note else "")
        self.cursor = min(self.cursor, max(len(self.bars) - 1, 0))
        self.refresh(layout=True)

    def get_content_height(self, container, viewport, width: int) -> int:
        return max(len(self.bars), 1)

    def render(self) -> Text:
        if self.panel is None:
            return Text("counting…", style="italic")
        bars = self.bars
        if not bars:
            return Text("no customers")
        width = self.content_size.width or 40
        label_w = min(max(cell_len(b.label) for b in bars), max(8, width // 3))
        count_w = max(len(f"{b.count:,}") for b in bars)
        bar_w = max(3, width - label_w - count_w - 2 - 8)
        total = self.panel.total or 1
        top = max(b.count for b in bars) or 1
        out = Text(no_wrap=True, overflow="crop")
        for i, b in enumerate(bars):
            here = i == self.cursor and self.has_focus
            style = "reverse" if here else ""
            out.append(("›" if here else " ") + _fit(b.label, label_w), style=style)
            out.append(f" {bar_cells(b.count / top, bar_w)} ")
            out.append(f"{b.count:>{count_w},} {b.count / total:>6.1%}", style=style)
            if i < len(bars) - 1:
                out.append("\n")
        return out

    def watch_cursor(self) -> None:
        self.refresh()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def action_cursor(self, delta: int) -> None:
        if self.bars:
            self.cursor = max(0, min(len(self.bars) - 1, self.cursor + delta))
            self.scroll_visible()

    def action_choose(self) -> None:
        bars = self.bars
        if self.panel is not None and bars:
            self.post_message(self.Chosen(self, self.panel, bars[self.cursor]))

    def selected(self) -> Bar | None:
        bars = self.bars
        return bars[self.cursor] if bars else None

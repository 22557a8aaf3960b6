"""Checkboxes whose state is in the text, not only in a colour: "[x] yes" / "[ ] yes".

Textual's own draw on and off as the same glyph in two colours (unreadable under NO_COLOR)
and, focused at height 1, only their border.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.content import Content
from textual.strip import Strip
from textual.widgets import Checkbox, OptionList, SelectionList
from textual.widgets.option_list import OptionDoesNotExist
from textual.widgets.selection_list import SelectionType


def mark(on: bool) -> str:
    """The state as text."""
    return "[x]" if on else "[ ]"


class StateCheckbox(Checkbox):
    """A checkbox drawn "[x] label" / "[ ] label"; focus shows on the label."""

    DEFAULT_CSS = """
    StateCheckbox, StateCheckbox:focus { border: none; height: 1; padding: 0 1; }
    StateCheckbox > .toggle--button, StateCheckbox.-on > .toggle--button {
        background: transparent; }
    StateCheckbox:focus > .toggle--label { text-style: bold reverse; }
    """

    @property
    def _button(self) -> Content:
        return Content.styled(mark(self.value), self.get_visual_style("toggle--button"))


class StateSelectionList(SelectionList[SelectionType]):
    """A selection list whose every row starts "[x] " or "[ ] "."""

    def render_line(self, y: int) -> Strip:
        line = OptionList.render_line(self, y)
        index = self.scroll_offset[1] + y
        try:
            selection = self.get_option_at_index(index)
        except OptionDoesNotExist:
            return line
        base = next(iter(line)).style or self.rich_style
        style = base + Style(meta={"option": index})
        return Strip([Segment(mark(selection.value in self._selected) + " ", style), *line])

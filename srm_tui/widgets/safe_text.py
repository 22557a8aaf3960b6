"""Input fields that never send a control byte to the terminal.

Textual draws an Input's value and a TextArea's lines as they are: a value holding ESC
(customer data from the API, prefilled into an edit form) would reach the agent's terminal as
an escape sequence. These fields draw each control character as its visible picture
(ESC as ␛, BEL as ␇; C1 controls as �) without changing the value itself, so what the agent
edits and what is sent stay exactly the data.
"""

from __future__ import annotations

import re

from rich.highlighter import Highlighter
from rich.text import Text
from textual.widgets import Input, TextArea

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _picture(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # the Control Pictures block: one cell each
    if code == 0x7F:
        return "\u2421"
    return "\ufffd"


def show_controls(text: str) -> str:
    """The same number of characters, with each control character drawn as a picture."""
    return _CONTROL.sub(_picture, text)


class _ControlPictures(Highlighter):
    def highlight(self, text: Text) -> None:
        if _CONTROL.search(text.plain):
            text.plain = show_controls(text.plain)


class SafeInput(Input):
    """An Input that draws control characters as pictures."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("highlighter", _ControlPictures())
        super().__init__(*args, **kwargs)


class SafeTextArea(TextArea):
    """A TextArea that draws control characters as pictures."""

    def get_line(self, line_index: int) -> Text:
        line = super().get_line(line_index)
        if _CONTROL.search(line.plain):
            line.plain = show_controls(line.plain)
        return line

"""A one-line choice among a few values: left/right (or space) cycles, no dropdown."""

from __future__ import annotations

from typing import Any

from textual.message import Message
from textual.widgets import Static

from srm_tui.bindings import bindings


class ChoiceField(Static, can_focus=True):
    """Shows ``‹ value ›``; posts ``ChoiceField.Changed`` when the value moves."""

    BINDINGS = bindings("segment_selector")
    DEFAULT_CSS = """
    ChoiceField { width: auto; height: 1; padding: 0 1; background: $boost; }
    ChoiceField:focus { background: $accent 30%; }
    """

    class Changed(Message):
        def __init__(self, field: ChoiceField, value: str) -> None:
            super().__init__()
            self.field = field
            self.value = value

        @property
        def control(self) -> ChoiceField:
            return self.field

    def __init__(
        self, values: tuple[str, ...], value: str, *, help: dict[str, str] | None = None, **kw: Any
    ) -> None:
        super().__init__("", markup=False, **kw)
        self.values = values
        self.value = value
        self.help = help or {}

    def on_mount(self) -> None:
        self._show()

    def _show(self) -> None:
        self.update(f"‹ {self.value} ›")
        if self.value in self.help:
            self.tooltip = self.help[self.value]

    def set(self, value: str) -> None:
        self.value = value
        self._show()

    def action_cycle(self, step: int) -> None:
        self.value = self.values[(self.values.index(self.value) + step) % len(self.values)]
        self._show()
        self.post_message(self.Changed(self, self.value))

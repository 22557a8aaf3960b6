"""Textual's Footer, recomposed only when the keys it shows change.

The stock Footer rebuilds every key widget on each bindings update; focus moves and mode
switches fire several such updates in a row, which made the footer the largest single cost
of painting the first screen. This one remembers what it last showed and skips a rebuild
that would draw the same keys.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer as TextualFooter


class Footer(TextualFooter):
    _shown: tuple | None = None

    def _keys(self) -> tuple:
        palette = self.app.COMMAND_PALETTE_BINDING
        return tuple(
            (key, binding.key, binding.action, binding.description, binding.show, enabled,
             tooltip, binding.group)
            for key, (_node, binding, enabled, tooltip) in self.screen.active_bindings.items()
            if binding.show or key == palette
        ) + (self.compact, self.show_command_palette)

    def compose(self) -> ComposeResult:
        if self._bindings_ready:
            self._shown = self._keys()
        yield from super().compose()

    def bindings_changed(self, screen: Screen) -> None:
        if self.is_attached and screen is self.screen and screen.app.app_focus:
            keys = self._keys()
            if self._bindings_ready and keys == self._shown:
                return  # drawn already, or a rebuild for exactly these keys is queued
            self._shown = keys
        super().bindings_changed(screen)

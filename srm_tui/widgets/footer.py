"""Textual's Footer, recomposed only when the keys it shows change.

The stock Footer rebuilds every key widget on each bindings update; focus moves and mode
switches fire several such updates in a row, which made the footer the largest single cost
of painting the first screen. This one remembers what it last showed and skips a rebuild
that would draw the same keys.

It also names the screen's Enter while a table with rows has the focus: a DataTable's own
Enter (select the row, hidden) stands in front of the screen's in the bindings, but what it
does is the screen's (the screen handles the row selected), so the footer shows that.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.screen import Screen
from textual.widgets import Footer as TextualFooter
from textual.widgets._footer import FooterKey

if TYPE_CHECKING:
    from textual.widgets import DataTable


class Footer(TextualFooter):
    _shown: tuple | None = None

    def _active(self) -> dict[str, ActiveBinding]:
        """The screen's active bindings, where a focused table's hidden row selection gives
        way to the screen's binding for the same key (when the screen allows it and no other
        key shows that action already)."""
        screen = self.screen
        active = screen.active_bindings
        table = screen.focused
        # Importing DataTable here would load it before the first frame, whose list is not one:
        # until some screen has imported it, the focused widget cannot be a DataTable.
        # A worker thread may be importing it right now: the module is then in sys.modules
        # without its class yet (seen as "partially initialized module" in a test run), and
        # no DataTable can exist before its class does.
        data_table = getattr(sys.modules.get("textual.widgets._data_table"), "DataTable", None)
        if data_table is None or not isinstance(table, data_table) or not table.row_count:
            return active
        if not table.show_cursor or table.cursor_type == "none":
            return active  # its Enter selects nothing: the key does nothing here
        for key, item in list(active.items()):
            if (
                item.node is not table
                or item.binding.show
                or item.binding.action != "select_cursor"
            ):
                continue
            under = self._under(table, key)
            if under is not None and not any(
                other.binding.show and other.binding.action == under.binding.action
                for other in active.values()
            ):
                active[key] = under
        return active

    def _under(self, table: DataTable, key: str) -> ActiveBinding | None:
        """The first shown binding of ``key`` among the table's ancestors (its screen's)."""
        chain = self.screen._modal_binding_chain
        nodes = [node for node, _bindings in chain]
        for node, bindings in chain[nodes.index(table) + 1 :]:
            for binding in bindings.key_to_bindings.get(key, []):
                if not binding.show:
                    continue
                state = self.app._check_action_state(binding.action, node)
                if state is False:
                    return None  # the screen says Enter does nothing here
                return ActiveBinding(node, binding, bool(state), binding.tooltip)
        return None

    def _keys(self) -> tuple:
        palette = self.app.COMMAND_PALETTE_BINDING
        return tuple(
            (
                key,
                binding.key,
                binding.action,
                binding.description,
                binding.show,
                enabled,
                tooltip,
                binding.group,
            )
            for key, (_node, binding, enabled, tooltip) in self._active().items()
            if binding.show or key == palette
        ) + (self.app.size.width < self.NARROW, self.show_command_palette)

    NARROW = 100  # below this many columns the keys are drawn compact, the palette hint goes

    def _order(self, node: object, binding: Binding) -> int:
        """The screen's own keys first (ctrl+s Save must not fall off an 80-column footer),
        then the focused widget's, then the app's (Quit, Help: one key away in help)."""
        if node is self.app:
            return 3
        if node is self.screen or binding.priority:
            return 0 if binding.priority else 1
        return 2

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        self._shown = self._keys()
        narrow = self.app.size.width < self.NARROW
        self.compact = narrow
        active = self._active()
        seen: dict[str, tuple[object, Binding, bool, str]] = {}
        for node, binding, enabled, tooltip in active.values():
            if binding.show and binding.action not in seen:
                seen[binding.action] = (node, binding, enabled, tooltip)
        ordered = sorted(seen.values(), key=lambda item: self._order(item[0], item[1]))
        ordered = self._fitting(ordered, narrow)
        self.styles.grid_size_columns = len(ordered)
        for _node, binding, enabled, tooltip in ordered:
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                disabled=not enabled,
                tooltip=tooltip,
            ).data_bind(compact=TextualFooter.compact)
        palette = active.get(self.app.COMMAND_PALETTE_BINDING)
        if (
            palette is not None
            and not narrow
            and self.show_command_palette
            and self.app.ENABLE_COMMAND_PALETTE
        ):
            _node, binding, enabled, tooltip = palette
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                classes="-command-palette",
                disabled=not enabled,
                tooltip=binding.tooltip or binding.description,
            )

    def _fitting(self, ordered: list, narrow: bool) -> list:
        """The keys that fit one line, in order; when some do not, the last one shown is
        "? Help", which lists them all (what does not fit is one key away)."""
        width = self.app.size.width - (0 if narrow else 16)  # the palette hint's room

        def cells(binding: Binding) -> int:
            return (
                len(self.app.get_key_display(binding))
                + len(binding.description)
                + (2 if narrow else 3)
            )

        if sum(cells(b) for _n, b, _e, _t in ordered) <= width:
            return ordered
        helper = next((item for item in ordered if item[1].action == "app.help"), None)
        room = width - (cells(helper[1]) if helper else 0)
        out = []
        for item in ordered:
            if item is helper:
                continue
            room -= cells(item[1])
            if room < 0:
                break
            out.append(item)
        return out + ([helper] if helper else [])

    async def on_resize(self) -> None:
        if (self.app.size.width < self.NARROW) != self.compact:
            self._shown = None
            await self.recompose()

    def bindings_changed(self, screen: Screen) -> None:
        if self.is_attached and screen is self.screen and screen.app.app_focus:
            keys = self._keys()
            if self._bindings_ready and keys == self._shown:
                return  # drawn already, or a rebuild for exactly these keys is queued
            self._shown = keys
        super().bindings_changed(screen)

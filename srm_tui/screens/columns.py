"""Manage columns: choose which list columns show, and in what order."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import SelectionList, Static
from textual.widgets.selection_list import Selection

from srm_tui.bindings import bindings
from srm_tui.widgets.check import StateSelectionList
from srm_tui.widgets.customer_table import COLUMNS
from srm_tui.widgets.footer import Footer


class ColumnsScreen(ModalScreen[list[str] | None]):
    """Space toggles a column, shift+up/down (or K/J) moves it, enter keeps, esc cancels."""

    BINDINGS = bindings("columns")

    def __init__(self, shown: list[str]) -> None:
        super().__init__()
        self.order = shown + [k for k in COLUMNS if k not in shown]
        self.shown = set(shown)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                "Manage columns — space: show/hide · shift+↑/↓: move · enter: keep", markup=False
            )
            yield StateSelectionList[str](*self._selections(), id="cols")
        yield Footer()

    def _selections(self) -> list[Selection]:
        return [Selection(COLUMNS[k].title, k, k in self.shown) for k in self.order]

    def action_move(self, delta: int) -> None:
        lst = self.query_one(SelectionList)
        index = lst.highlighted
        if index is None:
            return
        target = index + delta
        if not 0 <= target < len(self.order):
            return
        self.shown = set(lst.selected)
        self.order[index], self.order[target] = self.order[target], self.order[index]
        lst.clear_options()
        lst.add_options(self._selections())
        lst.highlighted = target

    def action_keep(self) -> None:
        selected = set(self.query_one(SelectionList).selected)
        columns = [k for k in self.order if k in selected]
        if not columns:
            self.notify("Keep at least one column.", severity="warning")
            return
        self.dismiss(columns)

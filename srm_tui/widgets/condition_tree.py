"""The builder's condition tree: one row per group and per condition, edited by keys.

The widget shows rows and keeps the cursor; every edit key asks the screen
(``ConditionTree.Edit``), which owns the tree, changes it and calls ``show`` again. Groups read
"ALL of" / "ANY of", negations "NOT": the words carry the meaning, not colours.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.message import Message
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from srm_tui.bindings import bindings
from srm_tui.domain.text import visible
from srm_tui.segments.editing import Path, Row
from srm_tui.segments.textform import format_condition


def row_text(row: Row) -> Text:
    """A row as plain text (customer-typed values stay literal: no markup)."""
    # Guides, not bare spaces: the option list would trim a row's leading blanks.
    text = Text()
    text.append("│ " * row.depth, style="dim")
    if row.negated:
        text.append("NOT ", style="bold")
    if row.condition is not None:
        text.append(visible(format_condition(row.condition), 400))
        return text
    if row.kind == "not":
        text.append("NOT", style="bold")
        return text
    inner = row.node.item if row.negated else row.node  # type: ignore[union-attr]
    text.append("ALL of" if row.kind == "all" else "ANY of", style="bold")
    if not inner.items:  # type: ignore[union-attr]
        text.append(
            "  (empty: " + ("everyone)" if row.kind == "all" else "no one)"), style="italic"
        )
    return text


class ConditionTree(OptionList):
    """Rows of the tree; the cursor is a path into it."""

    BINDINGS = bindings("condition_tree")
    DEFAULT_CSS = """
    ConditionTree { height: 1fr; min-height: 3; border: round $panel; padding: 0 0; }
    ConditionTree:focus { border: round $accent; }
    """

    class Edit(Message):
        """An edit key was pressed on the row at ``path``."""

        def __init__(self, what: str, path: Path) -> None:
            super().__init__()
            self.what = what
            self.path = path

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.rows: list[Row] = []
        self.border_title = "Conditions"

    def show(self, rows: list[Row], cursor: Path | None = None) -> None:
        keep = cursor if cursor is not None else self.path
        self.rows = rows
        self.clear_options()
        self.add_options([Option(row_text(r)) for r in rows])
        paths = [r.path for r in rows]
        if keep in paths:
            self.highlighted = paths.index(keep)
        elif rows:
            self.highlighted = min(self.highlighted or 0, len(rows) - 1)

    @property
    def path(self) -> Path:
        if self.highlighted is None or not self.rows:
            return ()
        return self.rows[min(self.highlighted, len(self.rows) - 1)].path

    @property
    def row(self) -> Row | None:
        if self.highlighted is None or not self.rows:
            return None
        return self.rows[min(self.highlighted, len(self.rows) - 1)]

    def action_edit(self, what: str) -> None:
        self.post_message(self.Edit(what, self.path))

    def action_select(self) -> None:  # enter: edit a condition, add inside a group
        row = self.row
        self.post_message(
            self.Edit("edit" if row is not None and row.condition is not None else "add", self.path)
        )

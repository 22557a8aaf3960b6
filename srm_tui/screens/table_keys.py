"""j k g G for screens whose rows are a plain DataTable, as help promises for every list."""

from __future__ import annotations

from textual.widgets import DataTable

from srm_tui.bindings import bindings

TABLE_BINDINGS = bindings("table")


class TableKeys:
    """Mixin for a Screen: the keys move the focused table (else the screen's first table)."""

    def _keyed_table(self) -> DataTable | None:
        focused = self.focused  # type: ignore[attr-defined]
        if isinstance(focused, DataTable):
            return focused
        tables = list(self.query(DataTable))  # type: ignore[attr-defined]
        return tables[0] if tables else None

    def action_table_cursor(self, step: int) -> None:
        table = self._keyed_table()
        if table is not None and table.row_count:
            table.move_cursor(row=max(0, min(table.cursor_row + step, table.row_count - 1)))

    def action_table_end(self, last: int) -> None:
        table = self._keyed_table()
        if table is not None and table.row_count:
            table.move_cursor(row=table.row_count - 1 if last else 0)

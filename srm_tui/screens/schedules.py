"""Segments › schedules: every scheduled export with its last run, removed by keys (what
`srm schedules list` and `srm schedules remove` do). The files written stay."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Static

from srm_tui.bindings import bindings
from srm_tui.domain.text import count, visible
from srm_tui.domain.time import utc
from srm_tui.screens.table_keys import TABLE_BINDINGS, TableKeys
from srm_tui.segments import schedules as S
from srm_tui.widgets.footer import Footer
from srm_tui.widgets.status_line import StatusLine


class SchedulesScreen(TableKeys, Screen[None]):
    """The schedules table; x removes the highlighted one after a y."""

    BINDINGS = bindings("schedules") + TABLE_BINDINGS

    def compose(self) -> ComposeResult:
        yield Static("", id="crumbs", markup=False)
        yield DataTable(id="schedules", cursor_type="row", zebra_stripes=True)
        yield Static("", id="detail", markup=False)
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns(
            "ID", "Segment", "Format", "When", "Last run", "Rows", "Directory"
        )
        self.action_reload()
        self.query_one(DataTable).focus()

    def action_reload(self) -> None:
        items = self.app.session.segment_store.schedules()
        self.items = {s.id: s for s in items}
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        for s in items:
            last = utc(s.last_run_at, missing="never")
            if s.last_error:
                last += " FAILED"
            table.add_row(
                Text(str(s.id), justify="right"),
                Text(visible(s.segment_name, 30)),
                s.format,
                Text(visible(s.when(), 30)),
                last,
                Text("" if s.last_rows is None else f"{s.last_rows:,}", justify="right"),
                Text(visible(s.directory, 40)),
                key=str(s.id),
            )
        if items:
            table.move_cursor(row=min(cursor, len(items) - 1))
        self.query_one("#crumbs", Static).update(
            f"Segments › schedules · {count(len(items), 'schedule')}"
            + ("" if items else " — add one with t on a segment")
        )
        self._detail()

    def on_data_table_row_highlighted(self) -> None:
        self._detail()

    def _selected(self) -> S.Schedule | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.items.get(int(str(key)))

    def _detail(self) -> None:
        s = self._selected()
        box = self.query_one("#detail", Static)
        if s is None:
            box.update("")
            return
        lines = [
            f"Schedule {s.id}: {visible(s.segment_name, 60)} as {s.format} "
            f"{visible(s.when(), 40)} into {visible(s.directory, 80)}"
        ]
        if s.last_file:
            lines.append(f"Last file: {visible(s.last_file, 100)}")
        if s.last_error:
            lines.append(f"Last run FAILED: {visible(s.last_error, 100)}")
        box.update(Text("\n".join(lines)))

    def action_remove(self) -> None:
        from srm_tui.screens.segment_dialogs import ConfirmScreen

        s = self._selected()
        if s is None:
            return
        if self.app.settings.role == "viewer":
            self.notify(
                "The viewer role is read only: schedules are not removed.", severity="warning"
            )
            return

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            try:
                self.app.session.segment_store.remove_schedule(s.id)
            except LookupError:
                self.notify(f"Schedule {s.id} was already removed.", severity="warning")
            else:
                self.notify(f"Removed schedule {s.id}; the files it wrote stay.")
            self.action_reload()

        self.app.push_screen(
            ConfirmScreen(
                f"Remove schedule {s.id} ({s.segment_name}, {s.format}, {s.when()})? The files it "
                "wrote stay."
            ),
            answered,
        )

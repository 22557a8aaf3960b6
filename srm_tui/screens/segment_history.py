"""Segments › versions: every save of a segment, what each changed in the definition, and
the customers it gained and lost. ``r`` opens a version in the builder (dismisses with it)."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Static

from srm_tui.bindings import bindings
from srm_tui.domain.text import count, visible
from srm_tui.domain.time import utc
from srm_tui.screens.segment_dialogs import diff_text
from srm_tui.segments import store
from srm_tui.segments.model import Segment
from srm_tui.widgets.footer import Footer
from srm_tui.widgets.status_line import StatusLine

SAMPLE = 8


class HistoryScreen(Screen[Segment | None]):
    BINDINGS = bindings("segment_history")

    def __init__(self, segment_id: int) -> None:
        super().__init__()
        self.segment_id = segment_id
        self.versions: list[store.Version] = []
        self.static = False

    def compose(self) -> ComposeResult:
        yield Static("", id="crumbs", markup=False)
        with Vertical():
            yield DataTable(id="versions", cursor_type="row", zebra_stripes=True)
            with VerticalScroll():
                yield Static("", id="detail")
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        segments = self.app.session.segment_store
        saved = segments.get_saved(self.segment_id)
        self.static = saved.static
        self.versions = segments.versions(self.segment_id)
        self.query_one("#crumbs", Static).update(
            Text(
                f"Segments › {visible(saved.name, 60)} › versions · {len(self.versions)} saved"
                + ("" if self.static else " · r opens the highlighted one in the builder")
            )
        )
        table = self.query_one(DataTable)
        table.add_columns("Version", "Saved", "By", "Members", "Gained", "Lost")
        for v in self.versions:
            table.add_row(
                f"v{v.version}",
                utc(v.saved_at),
                Text(visible(v.saved_by or "—")),
                f"{v.members:,}",
                f"+{v.gained:,}",
                f"−{v.lost:,}",
                key=str(v.version),
            )
        table.focus()
        if self.versions:
            self._detail(self.versions[0].version)

    @on(DataTable.RowHighlighted)
    def _moved(self, event: DataTable.RowHighlighted) -> None:
        if event.row_key is not None and event.row_key.value:
            self._detail(int(event.row_key.value))

    def _detail(self, version: int) -> None:
        session = self.app.session
        change = session.segment_store.version_change(self.segment_id, version, sample=SAMPLE)
        out = Text()
        before = f"version {version - 1}" if version > 1 else "nothing (the first save)"
        out.append(f"v{version} against {before}\n", style="bold")
        out.append_text(
            diff_text(change.lines)
            if change.definition_changed
            else Text("(definition unchanged)\n")
        )
        for label, ids, total in (
            ("gained", change.gained_ids, change.gained),
            ("lost", change.lost_ids, change.lost),
        ):
            out.append(f"\n{count(total, 'customer')} {label}", style="bold")
            if ids:
                shown = ", ".join(
                    f"{c.id} {visible(c.email or '(not cached)', 40)}"
                    for c in session.segment_reads.labels(list(ids))
                )
                more = f" … and {total - len(ids):,} more" if total > len(ids) else ""
                out.append(f": {shown}{more}")
            out.append("\n")
        self.query_one("#detail", Static).update(out)

    def action_restore(self) -> None:
        table = self.query_one(DataTable)
        if not self.versions:
            return
        if self.static:
            self.notify(
                "A static segment's versions are its member changes: nothing to open.",
                severity="warning",
            )
            return
        version = self.versions[table.cursor_row]
        if version.segment is None:
            self.notify(f"Cannot open it: {version.problem}", severity="warning")
            return
        self.dismiss(version.segment)

"""Sync & outbox: recent sync runs, what is quarantined and why, what waits for the API."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Static

from srm_tui.actions import outbox as ob
from srm_tui.bindings import bindings
from srm_tui.domain.text import visible
from srm_tui.domain.time import SECOND_FORMAT, utc
from srm_tui.widgets.fit import Col, fill
from srm_tui.widgets.footer import Footer
from srm_tui.widgets.status_line import StatusLine

SHOWN = 100  # rows per table: the newest; the heading gives the full count


class SyncScreen(Screen):
    """Sync › runs, quarantine and outbox."""

    BINDINGS = bindings("sync")

    def compose(self) -> ComposeResult:
        yield Static(
            "Sync › runs · quarantine · outbox (ctrl+r syncs now)", id="crumbs", markup=False
        )
        # The last sync's failure, whole (the status line cuts a long reason short).
        yield Static("", id="sync-failure", markup=False)
        with VerticalScroll():
            yield Static("", id="runs-heading", classes="heading", markup=False)
            yield DataTable(id="runs", cursor_type="row")
            yield Static("", id="quarantine-heading", classes="heading", markup=False)
            yield DataTable(id="quarantine", cursor_type="row")
            yield Static("", id="outbox-heading", classes="heading", markup=False)
            yield DataTable(id="outbox", cursor_type="row")
            yield Static(id="outbox-detail")
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        self.action_reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Enter opens an outbox entry, not a sync run or a quarantined record: on those
        tables the footer does not offer it."""
        if action == "open_entry":
            focused = self.focused
            return not (isinstance(focused, DataTable) and focused.id != "outbox")
        return True

    def on_screen_resume(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        failure = self.query_one("#sync-failure", Static)
        now = self.app.sync_state
        failure.display = now.startswith(("sync failed", "sync:"))
        failure.update(f"Last sync: {now}" if failure.display else "")
        state = self.app.session.cache_state.sync_overview(SHOWN)
        runs = self.query_one("#runs", DataTable)
        width = max(40, self.app.size.width - 4)  # every column fits: none cut mid-value
        rows: list[list] = []
        self.query_one("#runs-heading", Static).update(f"Sync runs ({state.run_count})")
        for run in state.runs:
            rows.append(
                [
                    utc(run.started_at, SECOND_FORMAT),
                    run.mode,
                    "ok" if run.ok else Text(f"failed: {visible(run.message, 60)}"),
                    f"{run.records:,}",
                    str(run.quarantined),
                    str(run.seconds),
                ]
            )
        fill(
            runs,
            [
                Col("Started"),
                Col("Mode"),
                Col("Result", flex=True, least=12),
                Col("Records"),
                Col("Quarantined", drop=1),
                Col("Seconds", drop=2),
            ],
            rows,
            [str(i) for i in range(len(rows))],
            width,
        )
        quarantine = self.query_one("#quarantine", DataTable)
        rows = []
        self.query_one("#quarantine-heading", Static).update(
            f"Quarantined records ({state.open_quarantine} open) — kept with their reason; "
            "each sync reads them again"
        )
        for q in state.quarantine:
            rows.append(
                [
                    utc(q.received_at, SECOND_FORMAT),
                    q.entity,
                    Text(visible(q.record_key)),
                    Text(visible(q.reason)),
                ]
            )
        fill(
            quarantine,
            [
                Col("Received"),
                Col("Entity"),
                Col("Key", cap=20),
                Col("Reason", flex=True, least=16),
            ],
            rows,
            [str(i) for i in range(len(rows))],
            width,
        )
        outbox = self.query_one("#outbox", DataTable)
        cursor = outbox.cursor_row
        rows, keys = [], []
        counts = state.outbox_counts
        decide = counts.get(ob.CONFLICT, 0) + counts.get(ob.FAILED, 0)
        heading = self.query_one("#outbox-heading", Static)
        # Offer edits are writes too (one pipeline): their waiting and conflicting drafts
        # are listed with the actions, and enter opens the offer's merge view.
        drafts = self.app.session.local_writes.writes(kinds=["offer"])
        pending_drafts = sum(1 for d in drafts if d.status == ob.PENDING)
        decide_drafts = len(drafts) - pending_drafts
        # What needs the agent first (conflicts, failures), then what waits, then the rest.
        for draft in sorted(drafts, key=lambda d: (d.status == ob.PENDING, d.created_at)):
            rows.append(
                [
                    utc(draft.created_at, SECOND_FORMAT),
                    draft.action,
                    Text(visible(draft.title)),
                    draft.status,
                    "—",
                    Text(visible(draft.last_error)),
                ]
            )
            keys.append(draft.ref)
        for entry in state.outbox:
            rows.append(
                [
                    utc(entry.created_at, SECOND_FORMAT),
                    entry.action,
                    Text(visible(entry.target)),
                    entry.status,
                    str(entry.attempts),
                    Text(visible(entry.last_error)),
                ]
            )
            keys.append(str(entry.id))
        pending = counts.get(ob.PENDING, 0) + pending_drafts
        decide += decide_drafts
        heading.update(
            f"Outbox ({pending} pending, {decide} need a decision) — actions and offer "
            "edits wait here until the API has them; enter opens one"
        )
        fill(
            outbox,
            [
                Col("Queued"),
                Col("Action"),
                Col("Target", cap=24),
                Col("Status"),
                Col("Attempts", drop=1),
                Col("Last error", flex=True, least=12),
            ],
            rows,
            keys,
            width,
        )
        if 0 < cursor < outbox.row_count:
            outbox.move_cursor(row=cursor, animate=False)
        self._show_entry()
        if decide or pending:
            outbox.focus()
        self.refresh_bindings()  # the footer's Enter follows the rows the outbox now has

    def _keys(self) -> list[str]:
        return [str(key.value or "") for key in self.query_one("#outbox", DataTable).rows]

    def _entry_ids(self) -> list[int]:
        """The support actions' outbox numbers, in the table's order (offer drafts apart)."""
        return [int(key) for key in self._keys() if key.isdigit()]

    def _highlighted_key(self) -> str:
        table = self.query_one("#outbox", DataTable)
        return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value or "")

    def _show_entry(self) -> None:
        """Both versions of the highlighted entry, right under the table."""
        from srm_tui.screens.outbox_item import entry_view

        table = self.query_one("#outbox", DataTable)
        detail = self.query_one("#outbox-detail", Static)
        if not table.row_count:
            detail.update("The outbox is empty.")
            return
        key = self._highlighted_key()
        if not key.isdigit():  # an offer draft: what it changes, and the key that merges it
            write = self.app.session.local_writes.get(key)
            changes = ", ".join(c.what for c in write.changes) or "no field"
            detail.update(
                Text(
                    f"{visible(write.title)} — {write.status}; changes {visible(changes)}. "
                    "Enter opens it to send, merge or discard."
                )
            )
            return
        item = self.app.session.outbox_entry(int(key))
        detail.update(entry_view(item) if item else "")

    @on(DataTable.RowHighlighted, "#outbox")
    def _highlighted(self) -> None:
        self._show_entry()

    @on(DataTable.RowSelected, "#outbox")
    def _selected(self) -> None:
        self.action_open_entry()

    def action_focus_outbox(self) -> None:
        self.query_one("#outbox", DataTable).focus()

    def action_open_entry(self) -> None:
        from srm_tui.screens.outbox_item import OutboxItemScreen

        table = self.query_one("#outbox", DataTable)
        if not table.row_count:
            self.notify("The outbox is empty.")
            return
        key = self._highlighted_key()
        if not key.isdigit():
            self._open_draft(int(key.rpartition(":")[2]))
            return
        ids = self._entry_ids()
        self.app.push_screen(OutboxItemScreen(ids, ids.index(int(key))))

    def _open_draft(self, draft_id: int) -> None:
        """A draft in conflict opens the merge view; a waiting one the offer drafts list."""
        from srm_tui.screens.offer_drafts import DraftsScreen
        from srm_tui.screens.offer_merge import MergeScreen

        write = self.app.session.local_writes.get(f"offer:{draft_id}")
        if write.status == ob.CONFLICT:
            self.app.push_screen(MergeScreen(draft_id))
        else:
            self.app.push_screen(DraftsScreen())

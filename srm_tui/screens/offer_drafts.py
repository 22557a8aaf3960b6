"""Offers › drafts: offer edits kept offline, and conflicts waiting for a merge."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static

from srm_tui.bindings import bindings
from srm_tui.domain.text import visible
from srm_tui.screens.table_keys import TABLE_BINDINGS, TableKeys
from srm_tui.screens.workers import work
from srm_tui.widgets.footer import Footer
from srm_tui.widgets.status_line import StatusLine


class DraftsScreen(TableKeys, Screen[Any]):
    """Every waiting draft: push them, open a conflict's merge view, discard one."""

    BINDINGS = bindings("offer_drafts") + TABLE_BINDINGS

    def compose(self) -> ComposeResult:
        yield Static("Offers › drafts", id="crumbs", markup=False)
        yield DataTable(id="drafts", cursor_type="row", zebra_stripes=True)
        yield Static("", id="verdict", markup=False)
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("#", "State", "What", "Based on", "Changes", "Last error")
        self.action_reload()
        table.focus()

    def on_screen_resume(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        from srm_tui.offers import drafts

        items = drafts.items(self.app.cache.conn())
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        for d in items:
            state = "CONFLICT" if d.status == "conflict" else "waiting"
            table.add_row(
                str(d.id),
                state,
                Text(visible(d.label, 40)),
                f"v{d.base_version}" if d.base_version is not None else "—",
                Text(visible(", ".join(d.changes), 40)),
                Text(visible(d.last_error or "", 50)),
                key=str(d.id),
            )
        if items:
            table.move_cursor(row=min(cursor, len(items) - 1))
        conflicts = sum(1 for d in items if d.status == "conflict")
        self.query_one("#crumbs", Static).update(
            f"Offers › drafts · {len(items)} waiting, {conflicts} in conflict"
        )
        if not items:
            self.query_one("#verdict", Static).update("No drafts: every edit reached the API.")

    def _selected(self) -> int | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return int(key) if key else None

    @on(DataTable.RowSelected)
    def _open(self) -> None:
        from srm_tui.screens.offer_merge import MergeScreen

        draft_id = self._selected()
        if draft_id is not None:
            self.app.push_screen(MergeScreen(draft_id))

    def action_push(self) -> None:
        self.query_one("#verdict", Static).update(Text("Pushing…"))
        self._push()

    class Pushed(Message):
        """The drafts were pushed (``result``: the push's summary, or the error it met)."""

        def __init__(self, result: Any) -> None:
            super().__init__()
            self.result = result

    @work(thread=True, exclusive=True, group="offer-push")
    def _push(self) -> None:
        try:
            if self.app.api_settings() is None:
                raise RuntimeError("no API configured: drafts wait")
            # The offer kind of the session's write engine, through the session's client.
            result: Any = self.app.session.offers.push_all()
        except Exception as exc:  # shown on the screen; the drafts stay
            result = exc
        self.post_message(self.Pushed(result))

    def on_drafts_screen_pushed(self, message: Pushed) -> None:
        result = message.result
        self.action_reload()
        verdict = self.query_one("#verdict", Static)
        if isinstance(result, Exception):
            verdict.update(Text(f"✘ {visible(getattr(result, 'message', result), 200)}"))
            return
        text = (
            f"Sent {len(result.sent)}, conflicts {len(result.conflicts)}, refused "
            f"{len(result.refused)}, waiting {len(result.waiting)}."
        )
        if result.messages:
            text += " " + visible(result.messages[0], 200)
        verdict.update(Text(text))

    def action_discard(self) -> None:
        from srm_tui.screens.offer_dialog import ConfirmDialog

        draft_id = self._selected()
        if draft_id is None:
            return

        def answered(yes: bool | None) -> None:
            if yes:
                result = self.app.session.local_writes.discard(f"offer:{draft_id}")
                self.notify(result.message)
                self.action_reload()

        self.app.push_screen(
            ConfirmDialog(f"Discard draft #{draft_id}? The server's version stays."), answered
        )

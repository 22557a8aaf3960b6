"""Customers › one customer › change history: every edit of the profile, who made it, when,
and what changed from what to what — plus edits still waiting in the outbox."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from srm_tui.bindings import bindings
from srm_tui.domain.text import count, visible
from srm_tui.domain.time import utc
from srm_tui.widgets.status_line import StatusLine


def _value(value: Any) -> Text:
    return Text(visible("—" if value in (None, "") else value, 40))


class ChangeHistoryScreen(Screen):
    """Change history of one customer, newest first."""

    BINDINGS = bindings("change_history")

    def __init__(self, customer_id: int) -> None:
        super().__init__()
        self.customer_id = customer_id

    def compose(self) -> ComposeResult:
        yield Static(f"Customers › {self.customer_id} › change history", id="crumbs", markup=False)
        yield Static("", id="summary", markup=False)
        yield DataTable(id="changes", cursor_type="row", zebra_stripes=True)
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        session = self.app.session
        table = self.query_one(DataTable)
        table.add_columns("Date", "Editor", "Field", "From", "To", "State")
        rows = 0
        waiting = session.local_actions.pending(self.customer_id)
        for item in reversed(waiting):  # not at the API yet: newest first, on top
            if item.action != "edit":
                continue
            for change in item.changes:
                table.add_row(
                    utc(item.created_at),
                    Text(visible(item.agent or "—", 20)),
                    Text(change.what),
                    _value(change.before),
                    _value(change.after),
                    Text(item.status),
                )
                rows += 1
        entries = session.customers.profile_edits(self.customer_id)
        for entry in entries:
            for change in entry.changes:
                table.add_row(
                    utc(entry.at),
                    Text(visible(entry.editor or "system", 20)),
                    Text(visible(change.field, 30)),
                    _value(change.before),
                    _value(change.after),
                    Text("done"),
                )
                rows += 1
        rows += self._audited(table, bool(entries))
        self.query_one("#summary", Static).update(
            f"{count(len(entries), 'edit')}, {count(rows, 'change')} — edits made with e (Edit) on the "
            "summary, by agents and by the system"
            if rows
            else "No edits of this customer's profile yet."
        )
        table.focus()

    def _audited(self, table: DataTable, api_history: bool) -> int:
        """An API that keeps no change history (the vendor's): srm's audit of the edits it
        made stands in for it, newest first. Where the API keeps one, it already has them."""
        service = self.app.session.local_actions
        profile = service.known_profile()
        if api_history or profile is None or not profile.feature("history").local:
            return 0
        rows = 0
        for entry in service.audit_log(self.customer_id):
            if entry.action != "edit" or entry.outcome not in ("applied", "sent"):
                continue
            before, after = entry.before or {}, entry.after or {}
            for what in after:
                table.add_row(
                    utc(entry.at),
                    Text(visible(entry.agent or "—", 20)),
                    Text(visible(what, 30)),
                    _value(before.get(what)),
                    _value(after[what]),
                    Text("done (srm's audit)"),
                )
                rows += 1
        return rows

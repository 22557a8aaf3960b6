"""Offers › drafts › merge: after a 412, the server's version beside the draft, field by field.

Each row shows a field as it was when the draft was made, as the server has it now (theirs)
and as the draft has it (mine). The agent takes mine or theirs per field, then applies (mine
is pushed again, based on the server's version), or discards the draft. Until then both
versions are kept: the draft in the cache, the server's in the offer.

It is the offer panel of the one conflict screen (``WriteScreen``, outbox_item.py): the frame
(discard waits for y, esc takes it back, decisions through the write engine) is shared with
a queued support action's.
"""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import DataTable, Static

from srm_tui.bindings import bindings
from srm_tui.domain.text import count, visible
from srm_tui.screens.outbox_item import WriteScreen
from srm_tui.screens.workers import work
from srm_tui.widgets.fit import Col, fill
from srm_tui.widgets.footer import Footer
from srm_tui.widgets.status_line import StatusLine


def shown(value: Any) -> str:
    """A field's value whole, as plain text: the table's fitting (widgets.fit) cuts it to its
    column, once."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return visible(value)
    return visible(json.dumps(value, ensure_ascii=False))


class MergeScreen(WriteScreen):
    """Merge one conflicting draft."""

    BINDINGS = bindings("offer_merge")

    def __init__(self, draft_id: int) -> None:
        super().__init__()
        self.draft_id = draft_id
        self.rows: list[tuple[str, Any, Any, Any]] = []
        self.choices: dict[str, str] = {}
        self.running = False

    def _service(self, online: bool = False) -> Any:
        """The session's offer service: the one that sends (through the session's client)
        when the merge is applied, else the cache-only one."""
        if online:
            try:
                self.app.api_settings()  # the demo's sandbox starts here; raises out of reach
                return self.app.session.offers
            except Exception:  # out of reach: the merged draft waits
                pass
        return self.app.session.local_offers

    def compose(self) -> ComposeResult:
        yield Static("", id="crumbs", markup=False)
        yield Static("", id="about", markup=False)
        yield DataTable(id="merge", cursor_type="row", zebra_stripes=True)
        yield Static("", id="verdict", markup=False)
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        from srm_tui.offers import drafts

        service = self._service()
        item = drafts.get(self.app.cache.conn(), self.draft_id)
        if item is None:
            self.query_one("#crumbs", Static).update(f"Offers › drafts › #{self.draft_id}")
            self.query_one("#verdict", Static).update("This draft is gone (pushed or discarded).")
            return
        self.item = item
        self.rows = service.merge_rows(self.draft_id) if item.status == "conflict" else []
        self.choices = {name: "mine" for name, *_ in self.rows}
        self.query_one("#crumbs", Static).update(
            f"Offers › drafts › #{item.id} {item.label} · merge"
        )
        self.query_one("#about", Static).update(
            Text(
                f"The offer changed on the server after this draft was made (draft based on "
                f"version {item.base_version}, the server has version {item.server_version}). "
                "Both are kept until you choose: m mine, t theirs per field (M, T: all), "
                "ctrl+s applies, x discards the draft, esc leaves both as they are."
                if item.status == "conflict"
                else f"Draft #{item.id} has no conflict: it waits for push."
            )
        )
        table = self.query_one(DataTable)
        self._fill()
        table.focus()

    COLUMNS = [
        Col("Field", cap=18),
        Col("When drafted", flex=True, least=10, drop=1),
        Col("Server (theirs)", flex=True, least=14),
        Col("Draft (mine)", flex=True, least=12),
        Col("Take"),
    ]

    def on_resize(self) -> None:
        if self.is_mounted:
            self._fill()

    def _fill(self) -> None:
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        rows = []
        for name, base, theirs, mine in self.rows:
            changed = " (changed on server)" if theirs != base else ""
            rows.append(
                [
                    name,
                    Text(shown(base)),
                    Text(shown(theirs) + changed),
                    Text(shown(mine)),
                    f"[{self.choices[name]}]",
                ]
            )
        # Every column, "Draft (mine)" too, within the terminal; long values are cut once, by
        # the fitting, with an ellipsis (the whole value is in the offer's editor).
        fill(table, self.COLUMNS, rows, [r[0] for r in self.rows], max(40, self.app.size.width - 6))
        if self.rows:
            table.move_cursor(row=min(cursor, len(self.rows) - 1))
        mine = sum(1 for c in self.choices.values() if c == "mine")
        self.query_one("#verdict", Static).update(
            Text(
                f"{count(mine, 'field')} from the draft, {len(self.choices) - mine} from the "
                "server."
            )
        )

    def _current(self) -> str | None:
        table = self.query_one(DataTable)
        if not self.rows:
            return None
        return self.rows[table.cursor_row][0]

    def action_take(self, side: str) -> None:
        name = self._current()
        if name is None or self.running:
            return
        self.armed = False
        self.choices[name] = side
        self._fill()

    def action_take_all(self, side: str) -> None:
        if self.running:
            return
        self.armed = False
        self.choices = {name: side for name in self.choices}
        self._fill()

    def action_apply(self) -> None:
        if not self.rows or self.running:
            return
        self.running = True
        self.query_one("#verdict", Static).update(Text("Applying…"))
        self._apply(dict(self.choices))

    class Applied(Message):
        """The merge was sent (``result``: the write's result, or the error it met)."""

        def __init__(self, result: Any) -> None:
            super().__init__()
            self.result = result

    @work(thread=True, exclusive=True, group="offer-merge")
    def _apply(self, choices: dict[str, str]) -> None:
        service = self._service(online=True)
        try:
            result: Any = service.resolve(self.draft_id, choices)
        except Exception as exc:  # shown here; the draft stays
            result = exc
        self.post_message(self.Applied(result))

    def on_merge_screen_applied(self, message: Applied) -> None:
        self._done(message.result)

    # the write-screen frame -----------------------------------------------------------------

    def write_ref(self) -> str | None:
        return f"offer:{self.draft_id}" if hasattr(self, "item") else None

    def can_discard(self) -> bool:
        return hasattr(self, "item") and not self.running

    def discard_question(self) -> str:
        return (
            f"Discard draft #{self.draft_id}? The server's version stays. y: discard, esc: keep it"
        )

    def show_question(self, text: str) -> None:
        self.query_one("#verdict", Static).update(Text(text))

    def kept(self) -> None:
        self._fill()

    def discarded(self, result: Any) -> None:
        self._done(result)

    def _done(self, result: Any) -> None:
        self.running = False
        if isinstance(result, Exception):
            self.query_one("#verdict", Static).update(
                Text(f"✘ {visible(getattr(result, 'message', result), 200)}")
            )
            return
        self.notify(
            visible(result.message, 200),
            severity="warning" if result.status == "conflict" else "information",
            timeout=8,
        )
        if result.status == "conflict":  # the server moved again: merge once more
            self.app.switch_screen(MergeScreen(self.draft_id))
            return
        self.dismiss(result)

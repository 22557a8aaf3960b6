"""Offers › one offer › holders: the customers with access to it now, as a customer list.

The rows page from SQLite like the main list; enter opens a customer. For a subscription
offer, w writes the same set as a segment file (subscription.offer_id + state), so
`srm segment members` and the segment tools work on it.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from srm_tui.bindings import bindings
from srm_tui.domain import offers as od
from srm_tui.domain.text import visible
from srm_tui.screens.table_keys import TABLE_BINDINGS, TableKeys
from srm_tui.screens.workers import work
from srm_tui.widgets.customer_table import DEFAULT_COLUMNS, ColumnHeadings, CustomerTable
from srm_tui.widgets.footer import Footer
from srm_tui.widgets.status_line import StatusLine


class HoldersScreen(TableKeys, Screen[Any]):
    """Who holds one offer now."""

    BINDINGS = bindings("offer_holders") + TABLE_BINDINGS

    def __init__(self, offer: dict[str, Any]) -> None:
        super().__init__()
        self.offer = offer
        self.ids: list[int] = []

    def compose(self) -> ComposeResult:
        yield Static(
            f"Offers › {self.offer['id']} › holders · counting…", id="crumbs", markup=False
        )
        headings = ColumnHeadings(id="columns")
        yield headings
        yield CustomerTable(
            self._source, 0, columns=DEFAULT_COLUMNS, headings=headings, id="holders"
        )
        hint = (
            "w writes a segment file of these customers"
            if self.offer["id"][0] == "S"
            else "pass holders have no per-offer segment attribute: this list is the set"
        )
        yield Static(hint, id="hint", markup=False)
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(CustomerTable).focus()
        self._load()

    def _source(self, offset: int, limit: int) -> list[Any]:
        return self.app.session.offer_reads.customer_rows(self.ids[offset : offset + limit])

    class Counted(Message):
        """The offer's holders were found (customer ids, in order)."""

        def __init__(self, ids: list[int]) -> None:
            super().__init__()
            self.ids = ids

    @work(thread=True, exclusive=True, group="holders")
    def _load(self) -> None:
        now = self.app.settings.now_ts()
        self.post_message(
            self.Counted(self.app.session.offer_reads.holder_ids(self.offer["id"], now))
        )

    def on_holders_screen_counted(self, message: Counted) -> None:
        ids = self.ids = message.ids
        self.query_one(CustomerTable).reload(self._source, len(ids))
        self.query_one("#crumbs", Static).update(
            f"Offers › {self.offer['id']} · {visible(self.offer.get('title'), 40)} › "
            f"holders · {len(ids):,}"
        )

    def on_customer_table_opened(self, message: CustomerTable.Opened) -> None:
        self.app.open_customer(message.customer_id)

    def action_write_segment(self) -> None:
        doc = od.holders_segment(self.offer)
        if doc is None:
            self.notify("Only subscription offers have a holders segment.", severity="warning")
            return
        written = self.app.session.segment_store.write_holders_file(self.offer["id"], doc)
        path = written.path
        if written.problem is not None:
            self.notify(f"Could not write {path}: {written.problem}", severity="error")
            return
        self.app.copy_to_clipboard(str(path))
        self.notify(f"Wrote {path} (path copied): srm segment members {path}", timeout=10)

"""Offers › catalogue: every offer, filtered by type, state, tag and text; enter opens one
(offer_detail.OfferScreen), n creates one, and season groups, coupons and drafts are a key away."""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from srm_tui.bindings import bindings
from srm_tui.domain import offers as od
from srm_tui.domain.offers import FILTER_HELP, matches
from srm_tui.domain.text import count, visible
from srm_tui.screens.offer_detail import OfferScreen
from srm_tui.screens.table_keys import TABLE_BINDINGS, TableKeys
from srm_tui.screens.workers import work
from srm_tui.widgets.fit import Col, clip, layout
from srm_tui.widgets.footer import Footer
from srm_tui.widgets.status_line import StatusLine

__all__ = ["OffersScreen", "OfferScreen", "matches"]


def _state(active: Any, drafts: list[str] | None) -> str:
    """Active state in words, with the offer's drafts (never by colour alone)."""
    text = "active" if active else "inactive"
    if drafts:
        text += " ✎conflict" if "conflict" in drafts else " ✎draft"
    return text


class OffersScreen(TableKeys, Screen):
    """Offers › catalogue."""

    BINDINGS = bindings("offers") + TABLE_BINDINGS

    def __init__(self) -> None:
        super().__init__()
        self.all: list[dict[str, Any]] = []
        self.holders: dict[str, int] = {}
        self.drafts: dict[str, list[str]] = {}
        self._filled: tuple | None = None  # what the table shows: columns and cell texts

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("", id="crumbs", markup=False)
            yield Input(placeholder=f"/ {FILTER_HELP}", id="filter")
            yield DataTable(id="offers", cursor_type="row", zebra_stripes=True)
            yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        self.action_reload()
        self.query_one(DataTable).focus()

    def on_screen_resume(self) -> None:
        self.action_reload()

    class HoldersCounted(Message):
        """The holders of every offer were counted (main offer id -> customers)."""

        def __init__(self, holders: dict[str, int]) -> None:
            super().__init__()
            self.holders = holders

    def action_reload(self) -> None:
        session = self.app.session
        self.all = session.offer_reads.catalogue()
        self.drafts = {}
        for d in session.local_offers.drafts():  # the catalogue marks offers with drafts
            if d.offer_id is not None:
                self.drafts.setdefault(d.offer_id, []).append(d.status)
        self._fill()
        self._count_holders()

    @work(thread=True, exclusive=True, group="holders")
    def _count_holders(self) -> None:
        now = self.app.settings.now_ts()
        self.post_message(self.HoldersCounted(self.app.session.offer_reads.holder_counts(now)))

    def on_offers_screen_holders_counted(self, message: HoldersCounted) -> None:
        self.holders = message.holders
        self._fill()

    COLUMNS = [
        Col("ID"),
        Col("Type", drop=4),
        Col("State", cap=18),
        Col("Title", flex=True, least=14),
        Col("Locs", drop=3),
        Col("Holders", drop=1),
        Col("Price", cap=20),
        Col("Period / duration", cap=20),
        Col("Tags", cap=24, drop=2),
    ]
    RIGHT = {"Locs", "Holders"}

    def on_resize(self) -> None:
        self._fill()

    def _fill(self) -> None:
        query = self.query_one("#filter", Input).value.strip()
        shown = [o for o in self.all if matches(o, query)]
        table = self.query_one(DataTable)
        width = max(40, self.app.size.width - 5)  # margins and the scrollbar
        narrow = width < 100
        rows = []
        for o in shown:
            price = od.price(o.get("price"))
            period = visible(od.period(o))
            if narrow:  # the tax note and an event's zone are in the offer's details (enter)
                price = price.replace(" incl. tax", "")
                period = (
                    period.split(" ", 2)[0] + " " + period.split(" ", 2)[1]
                    if o["id"][0] == "E" and period.count(" ") >= 2
                    else period
                )
            elif o["id"][0] == "E" and cell_len(period) > 20:
                period = period.rsplit(" ", 1)[0]
            rows.append(
                [
                    o["id"],
                    od.kind(o["id"]),
                    _state(o.get("active"), self.drafts.get(o["id"])),
                    visible(o.get("title")),
                    str(len(o.get("localizations") or [])),
                    f"{self.holders[o['id']]:,}"
                    if o["id"] in self.holders
                    else ("0" if self.holders else "…"),
                    price,
                    period,
                    visible(", ".join(o.get("tags") or [])),
                ]
            )
        columns = layout(self.COLUMNS, rows, width)
        cells = [[row[i] if i == 0 else clip(row[i], w) for i, w in columns] for row in rows]
        # A resume, a resize or a recount that changes no cell leaves the table as it is:
        # refilling it would re-measure and repaint every row for the same picture.
        filled = (tuple(columns), tuple(map(tuple, cells)))
        if filled != self._filled:
            self._filled = filled
            self._refill(table, columns, shown, cells)
        waiting = sum(len(v) for v in self.drafts.values())
        self.query_one("#crumbs", Static).update(
            f"Offers › catalogue · {len(shown)} of {len(self.all)}"
            + (f" matching {query!r}" if query else "")
            + (f" · {count(waiting, 'draft')}" if waiting else "")
        )

    def _refill(self, table: DataTable, columns: list, shown: list, cells: list) -> None:
        cursor = table.cursor_row
        table.clear(columns=True)
        for i, w in columns:
            table.add_column(self.COLUMNS[i].label, width=w, key=self.COLUMNS[i].label)
        right = [self.COLUMNS[i].label in self.RIGHT for i, _w in columns]
        plain = [i == 0 for i, _w in columns]
        for o, row in zip(shown, cells):
            # The ID stays a plain string: what the row is keyed and read back by.
            table.add_row(
                *[
                    text if plain[n] else Text(text, justify="right" if right[n] else "left")
                    for n, text in enumerate(row)
                ],
                key=o["id"],
            )
        if shown:
            table.move_cursor(row=min(cursor, len(shown) - 1))

    @on(Input.Changed, "#filter")
    def _filtered(self) -> None:
        self._fill()

    @on(Input.Submitted, "#filter")
    def _submitted(self) -> None:
        self.query_one(DataTable).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "focus_filter" and self.focused is self.query_one("#filter", Input):
            return False  # "/" typed in the box is text
        return True

    def action_focus_filter(self) -> None:
        # At once, not deferred: letters typed right after "/" belong to the box.
        self.set_focus(self.query_one("#filter", Input))

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        self.query_one(DataTable).focus()

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        offer_id = str(event.row_key.value)  # shown with the catalogue's count, then its own
        self.app.push_screen(OfferScreen(offer_id, self.holders.get(offer_id)))

    def action_new_offer(self) -> None:
        from srm_tui.screens.offer_dialog import OfferTypeDialog
        from srm_tui.screens.offer_editor import OfferEditorScreen

        self.app.push_screen(OfferTypeDialog(opens=OfferEditorScreen))

    def action_season_groups(self) -> None:
        from srm_tui.screens.season_groups import SeasonGroupsScreen

        self.app.push_screen(SeasonGroupsScreen())

    def action_coupons(self) -> None:
        from srm_tui.screens.coupon import CouponScreen

        self.app.push_screen(CouponScreen())

    def action_drafts(self) -> None:
        from srm_tui.screens.offer_drafts import DraftsScreen

        self.app.push_screen(DraftsScreen())

"""Offers › catalogue: every offer, filtered by type, state, tag and text; one offer in detail."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from srm_tui.widgets.footer import Footer
from srm_tui.bindings import bindings
from srm_tui.domain import offers as od
from srm_tui.domain.fold import fold
from srm_tui.domain.text import visible
from srm_tui.storage import queries
from srm_tui.widgets.status_line import StatusLine

FILTER_HELP = "filter: text, type:pass, state:inactive, tag:sport"
TYPES = {"subscription": "S", "pass": "P", "event": "E", "live": "E", "one-time": "A",
         "purchase": "A", "vod": "A", "rental": "R"}


def matches(offer: dict[str, Any], query: str) -> bool:
    """Every term must hold: type:, state:, tag: or text in id, title or tags."""
    for term in query.split():
        name, sep, value = term.partition(":")
        value = fold(value)
        if sep and name == "type":
            letter = next((v for k, v in TYPES.items() if k.startswith(value)), None)
            if letter is None or offer["id"][:1] != letter:
                return False
        elif sep and name == "state":
            if value not in ("active", "inactive") or offer.get("active") != (value == "active"):
                return False
        elif sep and name == "tag":
            if not any(fold(t).startswith(value) for t in offer.get("tags") or []):
                return False
        else:
            haystack = fold(" ".join([offer["id"], offer.get("title") or "",
                                      *(offer.get("tags") or [])]))
            if fold(term) not in haystack:
                return False
    return True


class OffersScreen(Screen):
    """Offers › catalogue."""

    BINDINGS = bindings("offers")
    DEFAULT_CSS = """
    OffersScreen #crumbs { height: 1; padding: 0 1; background: $panel; }
    OffersScreen #filter { margin: 0 1; height: 1; border: none; padding: 0 1;
                           background: $boost; }
    OffersScreen DataTable { height: 1fr; margin: 0 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.all: list[dict[str, Any]] = []
        self.holders: dict[str, int] = {}

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

    def action_reload(self) -> None:
        self.all = queries.offers(self.app.cache.conn())
        self._fill()
        self._count_holders()

    @work(thread=True, exclusive=True, group="holders")
    def _count_holders(self) -> None:
        holders = queries.offer_holders(self.app.cache.conn(), self.app.settings.now_ts())
        self.app.call_from_thread(self._holders_counted, holders)

    def _holders_counted(self, holders: dict[str, int]) -> None:
        self.holders = holders
        self._fill()

    def _fill(self) -> None:
        query = self.query_one("#filter", Input).value.strip()
        shown = [o for o in self.all if matches(o, query)]
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear(columns=True)
        table.add_columns("ID", "Type", "Title", "Price", "Period / duration", "State", "Tags",
                          "Locs", "Holders")
        for o in shown:
            table.add_row(
                o["id"], od.kind(o["id"]), Text(visible(o.get("title"), 40)),
                Text(od.price(o.get("price"))), Text(od.period(o)),
                "active" if o.get("active") else "inactive",
                Text(visible(", ".join(o.get("tags") or []), 24)),
                str(len(o.get("localizations") or [])),
                f"{self.holders[o['id']]:,}" if o["id"] in self.holders else
                ("0" if self.holders else "…"),
                key=o["id"])
        if shown:
            table.move_cursor(row=min(cursor, len(shown) - 1))
        self.query_one("#crumbs", Static).update(
            f"Offers › catalogue · {len(shown)} of {len(self.all)}"
            + (f" matching {query!r}" if query else ""))

    @on(Input.Changed, "#filter")
    def _filtered(self) -> None:
        self._fill()

    @on(Input.Submitted, "#filter")
    def _submitted(self) -> None:
        self.query_one(DataTable).focus()

    def action_focus_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        self.query_one(DataTable).focus()

    @on(DataTable.RowSelected)
    def _open(self, event: DataTable.RowSelected) -> None:
        offer = next(o for o in self.all if o["id"] == event.row_key.value)
        self.app.push_screen(OfferScreen(offer, self.holders.get(offer["id"])))


class OfferScreen(Screen):
    """Offers › one offer: its fields, its country versions and who holds it."""

    BINDINGS = bindings("offer")
    DEFAULT_CSS = """
    OfferScreen #crumbs { height: 1; padding: 0 1; background: $panel; }
    OfferScreen VerticalScroll { padding: 0 1; }
    OfferScreen DataTable { height: auto; max-height: 20; }
    """

    def __init__(self, offer: dict[str, Any], holders: int | None) -> None:
        super().__init__()
        self.offer = offer
        self.holders = holders

    def compose(self) -> ComposeResult:
        o = self.offer
        yield Static(f"Offers › {o['id']} · {visible(o.get('title'), 60)}", id="crumbs",
                     markup=False)
        with VerticalScroll():
            yield Static(self._details())
            yield Static(Text("\nLocalizations (country versions)", style="bold"))
            yield DataTable(id="localizations", cursor_type="row", zebra_stripes=True)
        yield StatusLine()
        yield Footer()

    def _details(self) -> Table:
        o = self.offer
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        rows = [
            ("Type", od.kind(o["id"])), ("Title", o.get("title")),
            ("Description", o.get("description")), ("Price", od.price(o.get("price"))),
            ("Period / duration", od.period(o)),
            ("Free trial", _trial(o.get("freeTrial"))),
            ("State", "active" if o.get("active") else "inactive"),
            ("Tags", ", ".join(o.get("tags") or []) or None), ("URL", o.get("url")),
            ("Season group", o.get("seasonGroupId")),
            ("Giftable", "yes" if o.get("giftable") else "no"),
            ("Holders now", f"{self.holders:,}" if self.holders is not None else "…"),
            ("Version", o.get("version")),
        ]
        for label, value in rows:
            grid.add_row(label, Text(visible("—" if value in (None, "") else value)))
        return grid

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Country", "ID", "Title", "Price", "State")
        for loc in self.offer.get("localizations") or []:
            table.add_row(loc.get("countryCode"), loc.get("id") or "",
                          Text(visible(loc.get("title"), 40)), Text(od.price(loc.get("price"))),
                          "active" if loc.get("active") else "inactive")


def _trial(trial: dict[str, Any] | None) -> str | None:
    if not trial:
        return None
    return f"{trial.get('duration')} {trial.get('type')}(s)"

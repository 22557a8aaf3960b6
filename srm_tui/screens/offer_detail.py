"""Offers › one offer: its fields, its country versions in one grid, its drafts, who holds it
(h), and the editor behind e; switching the offer or a country version on and off."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Static

from srm_tui.bindings import bindings
from srm_tui.domain import offers as od
from srm_tui.domain.money import amount_text
from srm_tui.domain.text import count, plural, visible
from srm_tui.domain.time import day
from srm_tui.screens.offer_dialog import offer_service
from srm_tui.screens.table_keys import TABLE_BINDINGS, TableKeys
from srm_tui.screens.workers import ApiReached, work
from srm_tui.widgets.footer import Footer
from srm_tui.widgets.status_line import StatusLine


class OfferScreen(TableKeys, Screen):
    """Offers › one offer: its fields, its country versions in a grid, who holds it."""

    BINDINGS = bindings("offer") + TABLE_BINDINGS

    def __init__(self, offer_id: str, holders: int | None = None) -> None:
        super().__init__()
        self.offer_id = offer_id
        self.holders = holders
        self._counted = False  # self.holders is this screen's own count (not the catalogue's)
        self.offer: dict[str, Any] = {"id": offer_id, "localizations": []}
        self.waiting: list[Any] = []

    def compose(self) -> ComposeResult:
        yield Static("", id="crumbs", markup=False)
        with VerticalScroll():
            yield Static("", id="summary", markup=False)
            yield Static("Localizations (country versions)", id="loc-title", markup=False)
            yield DataTable(id="localizations", cursor_type="row", zebra_stripes=True)
            yield Static("", id="drafts", markup=False)
            yield Static("Offer", id="details-title", markup=False)
            yield Static("", id="details")
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Country", "ID", "Title", "Price", "Currency", "State")
        self.action_reload()
        table.focus()

    def on_screen_resume(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        reads = self.app.session.offer_reads
        offer = reads.offer(self.offer_id)
        if offer is None:
            self.query_one("#crumbs", Static).update(f"Offers › {self.offer_id} (not cached)")
            return
        self.offer = offer
        self.waiting = self.app.session.local_offers.drafts(self.offer_id)
        o = self.offer
        self.query_one("#crumbs", Static).update(
            f"Offers › {o['id']} · {visible(o.get('title'), 60)}"
        )
        self._show_holders()
        self._grid()
        # Counted over the whole cache (seconds on a million customers): in a worker, the
        # count known so far (the catalogue's, or the last one) shown meanwhile.
        self._count_holders(self.app.settings.now_ts())
        lines = []
        for d in self.waiting:
            state = "CONFLICT: open D to merge" if d.status == "conflict" else "waiting for push"
            lines.append(f"✎ draft #{d.id} {d.label} ({', '.join(d.changes)}) — {state}")
        box = self.query_one("#drafts", Static)
        box.update(Text("\n".join(lines)))
        box.display = bool(lines)

    class HoldersCounted(Message):
        def __init__(self, holders: int) -> None:
            super().__init__()
            self.holders = holders

    @work(thread=True, exclusive=True, group="holders")
    def _count_holders(self, now: int) -> None:
        reads = self.app.session.offer_reads
        self.post_message(self.HoldersCounted(len(reads.holder_ids(self.offer_id, now))))

    def on_offer_screen_holders_counted(self, message: HoldersCounted) -> None:
        self.holders = message.holders
        self._counted = True
        self._show_holders()

    def _show_holders(self) -> None:
        """The summary line and the details, with the holders as counted so far."""
        o = self.offer
        holders = "counting holders…" if self.holders is None else count(self.holders, "holder")
        self.query_one("#summary", Static).update(
            Text(
                f"{od.kind(o['id'])} · {od.price(o.get('price'))} · {od.period(o)} · "
                f"{'active' if o.get('active') else 'inactive'} · "
                f"{holders} · version {o.get('version')}"
            )
        )
        self.query_one("#details", Static).update(self._details())

    def _grid(self) -> None:
        table = self.query_one(DataTable)
        cursor = table.cursor_row
        table.clear()
        pending = {d.country for d in self.waiting if d.country}
        locs = self.offer.get("localizations") or []
        for loc in locs:
            price = loc.get("price") or {}
            state = "active" if loc.get("active") else "inactive"
            if loc.get("countryCode") in pending:
                state += " ✎"
            table.add_row(
                loc.get("countryCode"),
                loc.get("id") or "",
                Text(visible(loc.get("title"), 40)),
                Text(
                    amount_text(price.get("amount"), price.get("currency"))
                    if price.get("amount") is not None
                    else "",
                    justify="right",
                ),
                price.get("currency") or "",
                state,
                key=loc.get("countryCode"),
            )
        if locs:
            table.move_cursor(row=min(cursor, len(locs) - 1))
        self.query_one("#loc-title", Static).update(
            f"Localizations (country versions) · {len(locs)}"
        )

    def _details(self) -> Table:
        o = self.offer
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        ent = o.get("entitlement") or {}
        rows = [
            ("Type", od.kind(o["id"])),
            ("Title", o.get("title")),
            ("Description", o.get("description")),
            ("Price", od.price(o.get("price"))),
            ("Time-based prices", _rules((o.get("price") or {}).get("rules"))),
            ("Period / duration", od.period(o)),
            ("Free trial", _trial(o.get("freeTrial"))),
            ("Pause", f"up to {o['pause']['maxBillingCycles']} cycles" if o.get("pause") else None),
            ("State", "active" if o.get("active") else "inactive"),
            ("Tags", ", ".join(o.get("tags") or []) or None),
            ("URL", o.get("url")),
            ("Image", o.get("imageUrl")),
            ("Geo restriction", _geo(o.get("geoRestriction"))),
            ("Season group", self._group_name(o.get("seasonGroupId"))),
            ("App store ids", _pairs(o.get("appStoreProductIds"))),
            ("External properties", _pairs(o.get("externalProperties"))),
            ("Giftable", "yes" if o.get("giftable") else "no"),
            (
                "Holders now",
                f"{self.holders:,} (h lists them)" if self.holders is not None else "counting…",
            ),
            ("Version", o.get("version")),
        ]
        if ent.get("expirationPolicy") == "fixed-date":
            rows.insert(5, ("Entitlement", "fixed end date"))
        for label, value in rows:
            grid.add_row(label, Text(visible("—" if value in (None, "") else value, 100)))
        return grid

    def _group_name(self, group_id: str | None) -> str | None:
        if not group_id:
            return None
        name = self.app.session.offer_reads.season_group_name(group_id)
        return f"{name} ({group_id})" if name is not None else group_id

    def _loc(self) -> dict[str, Any] | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        cc = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return next(
            (x for x in self.offer.get("localizations") or [] if x.get("countryCode") == cc), None
        )

    # keys --------------------------------------------------------------------------------

    def _current(self) -> dict[str, Any]:
        return self.app.session.local_offers.current(self.offer_id)

    def action_edit(self) -> None:
        from srm_tui.offers import forms
        from srm_tui.screens.offer_editor import OfferEditorScreen, open_form

        service = self.app.session.local_offers
        current = service.current(self.offer_id)
        values = forms.offer_values(current, service.groups())
        open_form(self.app, OfferEditorScreen(self.offer_id[0], current, values))

    def action_new_localization(self) -> None:
        from srm_tui.screens.offer_editor import LocalizationEditorScreen, open_form

        open_form(self.app, LocalizationEditorScreen(self._current()))

    @on(DataTable.RowSelected)
    def _edit_localization(self) -> None:
        from srm_tui.screens.offer_editor import LocalizationEditorScreen, open_form

        loc = self._loc()
        if loc is None:
            return
        current = self._current()
        loc = next(
            (
                x
                for x in current.get("localizations") or []
                if x.get("countryCode") == loc.get("countryCode")
            ),
            loc,
        )
        open_form(self.app, LocalizationEditorScreen(current, loc))

    def action_toggle_offer(self) -> None:
        from srm_tui.screens.offer_dialog import ConfirmDialog

        current = self._current()
        if not current.get("active"):
            self._activate(True, None)
            return
        # Switching an offer off touches everyone who holds it: asked first, holders named
        # (as this screen's worker counted them at its open or last reload; counted here only
        # when that count has not come yet).
        holders = self.holders if self._counted else None
        if holders is None:
            now = self.app.settings.now_ts()
            holders = len(self.app.session.offer_reads.holder_ids(self.offer_id, now))

        def answered(yes: bool | None) -> None:
            if yes:
                self._activate(False, None)

        self.app.push_screen(
            ConfirmDialog(
                f"Switch off offer {self.offer_id}? {count(holders, 'customer')} "
                f"{'holds' if holders == 1 else 'hold'} it now; no one can buy it while it is "
                "off."
            ),
            answered,
        )

    def action_toggle_localization(self) -> None:
        loc = self._loc()
        if loc is None:
            return
        current = self._current()
        now = next(
            (
                x
                for x in current.get("localizations") or []
                if x.get("countryCode") == loc.get("countryCode")
            ),
            loc,
        )
        self._activate(not now.get("active"), loc.get("countryCode"))

    class Activated(Message):
        """A switch on or off was sent, kept as a draft, or refused (``result`` an error)."""

        def __init__(self, result: Any) -> None:
            super().__init__()
            self.result = result

    @work(thread=True, exclusive=True, group="offer-activate")
    def _activate(self, active: bool, country: str | None) -> None:
        try:
            result: Any = offer_service(self.app).set_active(self.offer_id, active, country)
        except Exception as exc:  # said on screen; nothing changed
            result = exc
        self.post_message(self.Activated(result))

    def on_offer_screen_activated(self, message: Activated) -> None:
        result = message.result
        if getattr(result, "reached", None) is not None:  # the status line: online or offline
            self.post_message(ApiReached(result.reached))
        if isinstance(result, Exception):
            rule = getattr(result, "rule", None)
            message = getattr(result, "message", None) or str(result)
            self.notify(
                f"✘ {'Refused by rule ' + rule + ': ' if rule else ''}{visible(message, 200)}",
                severity="error",
                timeout=10,
            )
        elif result.status == "conflict":
            from srm_tui.screens.offer_merge import MergeScreen

            self.notify(visible(result.message, 200), severity="warning", timeout=10)
            self.app.push_screen(MergeScreen(result.draft_id))
        else:
            self.notify(
                visible(result.message, 200),
                severity="information" if result.status != "draft" else "warning",
            )
        self.action_reload()

    def action_holders(self) -> None:
        from srm_tui.screens.offer_holders import HoldersScreen

        self.app.push_screen(HoldersScreen(self.offer))

    def action_drafts(self) -> None:
        from srm_tui.screens.offer_drafts import DraftsScreen
        from srm_tui.screens.offer_merge import MergeScreen

        conflict = next((d for d in self.waiting if d.status == "conflict"), None)
        self.app.push_screen(MergeScreen(conflict.id) if conflict else DraftsScreen())


def _trial(trial: dict[str, Any] | None) -> str | None:
    if not trial:
        return None
    return f"{trial.get('duration')} {plural(str(trial.get('type')), trial.get('duration'))}"


def _rules(rules: list[dict[str, Any]] | None) -> str | None:
    if not rules:
        return None
    return "; ".join(
        f"{r['name']}: {day(r['from'])}..{day(r['to'])} = {r['amount']}" for r in rules
    )


def _geo(geo: dict[str, Any] | None) -> str | None:
    return f"{geo['type']}: {', '.join(geo.get('countries') or [])}" if geo else None


def _pairs(mapping: dict[str, Any] | None) -> str | None:
    return "; ".join(f"{k}={v}" for k, v in mapping.items()) if mapping else None

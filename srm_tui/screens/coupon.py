"""Offers › coupons: look up a coupon code's campaign (discount, uses per coupon, status, and
which offer types, offers and tags it is for). Applying one is a customer action (C on a
subscription of the customer's Payments tab)."""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input, Static

from srm_tui.api.errors import ApiError
from srm_tui.bindings import bindings
from srm_tui.domain.campaigns import read_campaign
from srm_tui.domain.text import count, visible
from srm_tui.offers.rules import OfferInvalid
from srm_tui.screens.workers import work
from srm_tui.widgets.footer import Footer
from srm_tui.widgets.status_line import StatusLine


def _any(values: list[Any] | None) -> str:
    return ", ".join(str(v) for v in values) if values else "any"


def campaign_table(campaigns: list[dict[str, Any]]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    for c in map(read_campaign, campaigns):
        rows = [
            ("Campaign", c.name),
            ("Discount", c.discount_text),
            ("Uses per coupon", c.uses_text),
            ("Status", c.status_text),
            ("Offer types", _any(list(c.offer_types))),
            ("Offers", _any(list(c.offers))),
            ("Tags", _any(list(c.tags))),
            ("Payment type", c.payment_type or "any"),
        ]
        if c.codes:
            rows.append(("Codes", ", ".join(c.codes)))
        rows.extend(("⚠", problem) for problem in c.problems)
        for label, value in rows:
            grid.add_row(label, Text(visible(value, 80)))
        grid.add_row("", "")
    return grid


class CouponScreen(Screen[Any]):
    """Type a code, enter: the campaigns the cache knows, and what the API answers."""

    BINDINGS = bindings("coupon")

    class Found(Message):
        """What the cache and the API know of a code (or why the lookup failed)."""

        def __init__(self, code: str, result: Any) -> None:
            super().__init__()
            self.code = code
            self.result = result

    def compose(self) -> ComposeResult:
        yield Static("Offers › coupons", id="crumbs", markup=False)
        yield Input(placeholder="coupon code, then enter (e.g. BLACKFRIDAY20)", id="code")
        with VerticalScroll():
            yield Static("", id="verdict", markup=False)
            yield Static("", id="found")
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#code", Input).focus()

    @on(Input.Submitted, "#code")
    def _lookup(self, event: Input.Submitted) -> None:
        self.query_one("#verdict", Static).update("Looking up…")
        self._worker(event.value.strip())

    @work(thread=True, exclusive=True, group="coupon")
    def _worker(self, code: str) -> None:
        session = self.app.session
        try:
            service = session.offers
        except Exception:  # the demo's API could not start: the cache answers alone
            service = session.local_offers
        try:
            result: Any = service.lookup_coupon(code)
        except (OfferInvalid, ApiError) as exc:  # not a code, or the API's answer: shown
            result = exc
        self.post_message(self.Found(code, result))

    def worker_failed(self, group: str, error: BaseException) -> None:
        """The lookup failed (the app has told it): said where the answer goes."""
        self.query_one("#verdict", Static).update(
            Text(f"✘ {visible(str(getattr(error, 'message', None) or error), 200)}")
        )
        self.query_one("#found", Static).update("")

    def on_coupon_screen_found(self, message: Found) -> None:
        code, result = message.code, message.result
        verdict = self.query_one("#verdict", Static)
        found = self.query_one("#found", Static)
        if isinstance(result, Exception):
            verdict.update(Text(f"✘ {visible(str(result), 200)}"))
            found.update("")
            return
        campaigns = result.cached or result.api or []
        source = "the cache" if result.cached else "the API"
        if not campaigns:
            verdict.update(Text(f"✘ No campaign holds {visible(code, 40)!r}."))
            found.update("")
            return
        line = (
            f"{count(len(campaigns), 'campaign')} {'holds' if len(campaigns) == 1 else 'hold'} "
            f"{visible(code, 40)!r} (from {source})"
        )
        if result.api is not None and result.cached:
            states = ", ".join(read_campaign(c).status_text for c in result.api) or "none"
            line += f"; the API says: {states}"
        elif result.api_error:
            line += f"; the API did not answer: {visible(result.api_error, 80)}"
        verdict.update(Text(line))
        found.update(campaign_table(campaigns))

    def action_back(self) -> None:
        self.dismiss(None)

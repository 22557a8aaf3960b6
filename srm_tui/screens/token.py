"""A customer's JWT from a support ticket: decoded, its signature and expiry checked."""

from __future__ import annotations

import json
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from srm_tui.bindings import bindings
from srm_tui.domain.text import visible
from srm_tui.domain.time import iso
from srm_tui.domain.token import TokenError, TokenInfo, inspect
from srm_tui.screens.workers import work
from srm_tui.widgets.footer import Footer
from srm_tui.widgets.status_line import StatusLine


class TokenScreen(Screen):
    """Token › what a pasted JWT says, and whether to believe it."""

    BINDINGS = bindings("token")

    class Checked(Message):
        """What the token says (TokenInfo) or why it is not one (TokenError), and which key
        set it was checked against."""

        def __init__(self, result: Any, source: str) -> None:
            super().__init__()
            self.result = result
            self.source = source

    def __init__(self, token: str) -> None:
        super().__init__()
        self.token = token.strip()
        self.info: TokenInfo | None = None

    def compose(self) -> ComposeResult:
        yield Static("Token › checking the signature…", id="crumbs", markup=False)
        with VerticalScroll():
            yield Static(id="token-body")
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        self._check()

    @work(thread=True, exclusive=True, group="token")
    def _check(self) -> None:
        key_set, source = self.app.session.token_key_set()
        try:
            result: Any = inspect(self.token, key_set, self.app.settings.now_ts())
        except TokenError as exc:
            result = exc
        self.post_message(self.Checked(result, source))

    def worker_failed(self, group: str, error: BaseException) -> None:
        """The check failed (the app has told it): said in place of the token's claims."""
        self.query_one("#crumbs", Static).update("Token › could not be checked")
        reason = getattr(error, "message", None) or error
        self.query_one("#token-body", Static).update(Text(visible(f"✘ {reason}")))

    def on_token_screen_checked(self, message: Checked) -> None:
        result, source = message.result, message.source
        body = self.query_one("#token-body", Static)
        crumbs = self.query_one("#crumbs", Static)
        if isinstance(result, TokenError):
            crumbs.update("Token › not a JWT")
            body.update(Text(str(result)))
            return
        self.info = result
        verdict = {
            "valid": "✔ signature valid",
            "invalid": "✘ signature INVALID",
            "unknown key": "✘ signed by an unknown key",
        }.get(result.signature, f"? {result.signature}")
        expiry = ("✘ " if result.expired else "✔ ") + result.expiry_text()
        crumbs.update(f"Token › customer {result.customer_id} · {verdict} · {expiry}")
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        grid.add_row(
            "Signature", Text(verdict + (f" ({result.problem})" if result.problem else ""))
        )
        grid.add_row("Key set", Text(source))
        grid.add_row(
            "Expiry", Text(expiry + (f" ({iso(result.expires_at)})" if result.expires_at else ""))
        )
        grid.add_row("Customer", Text(f"{result.customer_id}  (enter opens the account)"))
        for name, value in sorted(result.claims.items()):
            shown = (
                iso(value) if name in ("exp", "iat", "nbf") and isinstance(value, int) else value
            )
            grid.add_row(
                f"claim {name}",
                Text(
                    visible(
                        json.dumps(shown, ensure_ascii=False)
                        if not isinstance(shown, str)
                        else shown
                    )
                ),
            )
        grid.add_row("header", Text(visible(json.dumps(result.header))))
        body.update(grid)

    def action_open_customer(self) -> None:
        if self.info is None or self.info.customer_id is None:
            self.notify("This token names no customer.", severity="warning")
            return
        customer_id = self.info.customer_id
        if self.app.session.customers.exists(customer_id):
            self.app.open_customer(customer_id)
        else:
            self.app.fetch_and_open("customer_id", customer_id)

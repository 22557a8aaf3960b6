"""One customer's account, read from the cache."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from srm_tui.bindings import bindings
from srm_tui.domain.text import visible
from srm_tui.storage import queries
from srm_tui.widgets.status_line import StatusLine


def _when(ts: Any) -> str:
    if ts in (None, ""):
        return "—"
    if isinstance(ts, str):
        return ts
    return datetime.fromtimestamp(int(ts), timezone.utc).strftime("%Y-%m-%d %H:%M")


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    table = Table(title=f"{title} ({len(rows)})", title_justify="left", expand=True,
                  show_edge=False, pad_edge=False)
    for col in columns:
        table.add_column(col, overflow="fold")
    for row in rows:
        table.add_row(*[Text(visible(v, 60)) for v in row])
    return table


class CustomerScreen(Screen):
    """Customers › one customer."""

    BINDINGS = bindings("customer")
    DEFAULT_CSS = """
    CustomerScreen #crumbs { height: 1; padding: 0 1; background: $panel; }
    CustomerScreen VerticalScroll { padding: 0 1; }
    """

    def __init__(self, customer_id: int) -> None:
        super().__init__()
        self.customer_id = customer_id

    def compose(self) -> ComposeResult:
        yield Static("", id="crumbs", markup=False)
        with VerticalScroll():
            yield Static(id="profile")
            yield Static(id="records")
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        record = queries.customer_record(self.app.cache.conn(), self.customer_id)
        if record is None:
            self.query_one("#crumbs", Static).update(
                f"Customers › {self.customer_id} (not in the cache)")
            return
        c = record["customer"]
        name = " ".join(visible(p) for p in (c.get("firstName"), c.get("lastName")) if p)
        self.query_one("#crumbs", Static).update(
            f"Customers › {visible(c.get('email')) or '(anonymized)'} · {c['id']}")
        profile = Table.grid(padding=(0, 2))
        profile.add_column(style="bold")
        profile.add_column()
        capture = c.get("capture") or {}
        for label, value in [
            ("Name", name or "—"), ("Email", c.get("email")), ("Customer ID", c["id"]),
            ("External ID", c.get("externalId")), ("Country", c.get("country")),
            ("Locale", c.get("locale")), ("Currency", c.get("currency")),
            ("Registered", c.get("regDate")), ("Last login", c.get("lastLoginDate")),
            ("Company", capture.get("companyName")), ("City", capture.get("city")),
        ]:
            profile.add_row(label, Text(visible(value if value is not None else "—")))
        self.query_one("#profile", Static).update(profile)
        parts = [
            _table("Subscriptions", ["ID", "Offer", "Status", "Until", "Price", "Gateway"],
                   [[s["subscriptionId"], s["offerId"], s["status"], _when(s.get("dateTo")),
                     f"{s.get('nextPaymentPrice')} {s.get('nextPaymentCurrency') or ''}",
                     s.get("paymentGateway")] for s in record["subscriptions"]]),
            _table("Passes", ["ID", "Offer", "Status", "Expires"],
                   [[p["passId"], p["offerId"], p["status"], _when(p.get("expiresAt"))]
                    for p in record["passes"]]),
            _table("Transactions", ["Date", "ID", "Offer", "Amount", "Status", "Method"],
                   [[_when(t["transactionDate"]), t["transactionId"], t["offerId"],
                     f"{t['amount']} {t['currency']}", t["status"], t.get("paymentMethod")]
                    for t in sorted(record["transactions"],
                                    key=lambda t: t["transactionDate"], reverse=True)]),
            _table("Emails", ["Date", "Type", "Status"],
                   [[_when(e["createdAt"]), e["type"],
                     "Sent" if e["status"] == "sent" else "Generated (Not Sent)"]
                    for e in record["emails"]]),
            _table("Notes", ["Date", "Author", "Text"],
                   [[_when(n["createdAt"]), n["author"], n["text"]]
                    for n in record["notes"] if not n.get("deletedAt")]),
        ]
        from rich.console import Group

        self.query_one("#records", Static).update(Group(*parts))

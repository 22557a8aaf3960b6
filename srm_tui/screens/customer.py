"""Customers › one customer: summary, payments, transactions, emails, notes and history."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from rich.table import Table
from rich.text import Text
from textual import events, on
from textual.actions import parse as parse_action
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Static, TabbedContent, TabPane

from srm_tui.actions import outbox
from srm_tui.actions.local_notes import NOTICE as KEPT_NOTICE
from srm_tui.actions.local_notes import is_local
from srm_tui.actions.service import ActionService
from srm_tui.api.profile import NotOffered
from srm_tui.bindings import bindings
from srm_tui.domain import account as acc
from srm_tui.domain.money import money
from srm_tui.domain.text import visible
from srm_tui.screens.workers import work
from srm_tui.storage import queries
from srm_tui.storage.history import customer_history
from srm_tui.widgets.fit import Col, fill
from srm_tui.widgets.footer import Footer
from srm_tui.widgets.status_line import StatusLine

TABS = ("summary", "payments", "transactions", "emails", "notes", "history")


def when(ts: Any, with_time: bool = True) -> str:
    if ts in (None, ""):
        return "—"
    if isinstance(ts, str):
        return ts
    fmt = "%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d"
    return datetime.fromtimestamp(int(ts), timezone.utc).strftime(fmt)


def plain(value: Any, limit: int | None = 60) -> Text:
    """Customer data as literal text: markup stays text, control bytes show escaped."""
    return Text(visible("—" if value in (None, "") else value, limit))


def _grid(rows: list[tuple[str, Any]]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    for label, value in rows:
        grid.add_row(label, value if isinstance(value, Text) else plain(value, None))
    return grid


class CustomerScreen(Screen):
    """Customers › <email> · <id> — the whole account."""

    BINDINGS = bindings("customer")
    DEFAULT_CSS = """
    CustomerScreen #crumbs { height: 1; padding: 0 1; background: $panel; }
    CustomerScreen TabbedContent { height: 1fr; }
    CustomerScreen TabPane { padding: 0 1; }
    CustomerScreen DataTable { height: 1fr; }
    CustomerScreen .detail { height: auto; max-height: 12; border-top: solid $panel; }
    CustomerScreen .heading { text-style: bold; height: 1; }
    CustomerScreen DataTable.short { height: auto; max-height: 6; }
    CustomerScreen #next-payment { height: auto; margin-bottom: 1; }
    CustomerScreen #pending { height: auto; padding: 0 1; color: $warning; }
    CustomerScreen #pending:disabled { display: none; }
    CustomerScreen #offered { height: auto; padding: 0 1; }
    CustomerScreen #offered:disabled { display: none; }
    CustomerScreen #missing { padding: 1 2; }
    """

    def __init__(self, customer_id: int) -> None:
        super().__init__()
        self.customer_id = customer_id
        self.account: acc.Account | None = None
        self.history_filter: str | None = None
        self.open_items: list[int] = []  # outbox entries of this customer not yet settled
        self.profile = None  # the API's profile as the cache remembers it (what it offers)

    # building ----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static("", id="crumbs", markup=False)
        yield Static("", id="pending", markup=False)
        yield Static("", id="offered", markup=False)  # what this tab's API cannot do, and why
        with TabbedContent(id="tabs"):
            with TabPane("1 Summary", id="summary"):
                yield VerticalScroll(Static(id="summary-body"))
            with TabPane("2 Payments", id="payments"):
                with Vertical():
                    yield Static("Payment details on file", classes="heading", markup=False)
                    yield DataTable(id="pd-table", cursor_type="row", classes="short")
                    yield Static(id="next-payment")
                    yield Static("Subscriptions and passes", classes="heading", markup=False)
                    yield DataTable(id="access-table", cursor_type="row", zebra_stripes=True)
            with TabPane("3 Transactions", id="transactions"):
                with Vertical():
                    yield DataTable(id="transactions-table", cursor_type="row", zebra_stripes=True)
                    yield Static(id="transaction-detail", classes="detail")
            with TabPane("4 Emails", id="emails"):
                with Vertical():
                    yield DataTable(id="emails-table", cursor_type="row", zebra_stripes=True)
                    yield Static(id="email-preview", classes="detail")
            with TabPane("5 Notes", id="notes"):
                with Vertical():
                    yield DataTable(id="notes-table", cursor_type="row", zebra_stripes=True)
                    yield Static(id="note-detail", classes="detail")
            with TabPane("6 History", id="history"):
                with Vertical():
                    yield Static("", id="history-filter", markup=False)
                    yield DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        self.action_reload()

    def on_screen_resume(self) -> None:
        # Back from F5, an outbox entry or a dialog: what was sent meanwhile is shown as sent.
        if self.account is not None:
            self.action_reload()

    def action_reload(self) -> None:
        conn = self.app.cache.conn()
        record = queries.account_records(conn, self.customer_id)
        crumbs = self.query_one("#crumbs", Static)
        if record is None:
            crumbs.update(
                f"Customers › {self.customer_id} — not in the cache (press esc; "
                "search for it to fetch it from the API)"
            )
            return
        self.account = acc.build(record, self.app.settings.now_ts())
        self.profile = ActionService(self.app.cache, self.app.settings).known_profile()
        cursors = {t.id: t.cursor_row for t in self.query(DataTable)}
        c = self.account.customer
        who = visible(c.get("email"), 60) if c.get("email") else "(anonymized)"
        crumbs.update(f"Customers › {who} · {c['id']} · {self.account.status}")
        self._pending()
        self._summary(conn)
        self._payments()
        self._transactions()
        self._emails()
        self._notes()
        self._history(conn)
        self._offered()
        for table in self.query(DataTable):  # the agent stays on the row it was on
            row = cursors.get(table.id, 0)
            if 0 < row < table.row_count:
                table.move_cursor(row=row, animate=False)

    def _pending(self) -> None:
        """Actions of this customer still waiting for the API (or for the agent's decision)."""
        rows = (
            self.app.cache.conn()
            .execute(
                "SELECT id, action, target, status, last_error FROM outbox WHERE customer_id = ? "
                "AND status IN ('pending', 'conflict', 'failed') ORDER BY id",
                (self.customer_id,),
            )
            .fetchall()
        )
        self.open_items = [r["id"] for r in rows]
        banner = self.query_one("#pending", Static)
        banner.disabled = not rows
        # The state in words (never by colour alone); what needs a decision in capitals.
        lines = [
            f"Outbox #{r['id']} "
            f"{r['status'] if r['status'] == 'pending' else r['status'].upper()}: "
            f"{r['action']} {visible(r['target'], 30)}"
            + (f" — {visible(r['last_error'], 80)}" if r["last_error"] else "")
            for r in rows
        ]
        if rows:
            lines.append(
                "p shows both versions and the choices (retry, edit, discard)"
                if any(r["status"] != "pending" for r in rows)
                else "p shows what waits; it is sent when the API answers"
            )
        banner.update("\n".join(lines))
        self.refresh_bindings()

    def _not_offered(self, feature: str) -> NotOffered | None:
        """Why the connected API cannot do ``feature`` (None when it can, or is unknown)."""
        if self.profile is None or self.profile.offers(feature):
            return None
        return NotOffered(self.profile.feature(feature))

    def _offered(self) -> None:
        """Name the actions of the current tab that the API does not offer, with the vendor's
        own way, where the agent looks for them."""
        line = self.query_one("#offered", Static)
        try:
            tab = self.query_one(TabbedContent).active
        except Exception:  # not mounted yet
            tab = "summary"
        service = ActionService(self.app.cache, self.app.settings)
        texts: list[str] = []
        if self.app.settings.role != "viewer":
            for action, tabs in self.ACTION_TABS.items():
                if tab in tabs and action in service.REGISTRY_NAMES:
                    missing = service.availability(action)
                    if missing is not None and str(missing) not in texts:
                        texts.append(str(missing))
        line.disabled = not texts
        line.update("\n".join(f"Unavailable — {t}" for t in texts))

    def _offer_titles(self) -> dict[str, str]:
        rows = self.app.cache.conn().execute("SELECT id, title FROM offers").fetchall()
        titles = {r["id"]: r["title"] for r in rows}
        for loc in self.app.cache.conn().execute("SELECT id, title FROM localizations"):
            titles[loc["id"]] = loc["title"] or titles.get(loc["id"].split("_")[0], "")
        return titles

    def _summary(self, conn) -> None:
        a = self.account
        assert a is not None
        c = a.customer
        capture = c.get("capture") or {}
        synced = conn.execute(
            "SELECT synced_at FROM customers WHERE id = ?", (self.customer_id,)
        ).fetchone()
        custom = c.get("externalData") or {}
        active = "yes" if a.has_active_subscription else "no"
        rows = [
            ("Name", plain(a.name or ("(anonymized)" if a.anonymized else "—"), None)),
            ("Email (login)", c.get("email")),
            ("Customer ID", c["id"]),
            ("External ID", c.get("externalId")),
            ("Status", Text(f"{a.status} · active subscription: {active}")),
            ("Country", c.get("country")),
            ("Language (locale)", c.get("locale")),
            ("Currency", c.get("currency")),
            ("Lifetime revenue", Text(acc.money(a.lifetime_revenue, c.get("currency")))),
            ("MRR", Text(acc.money(a.mrr, c.get("currency")))),
            # One definition with the list's "Paid" column and the segment attribute.
            ("Paid transactions", Text(f"{a.lifetime_transactions} (captured or refunded)")),
            ("Registered", c.get("regDate")),
            ("Last login", c.get("lastLoginDate")),
            ("Company", capture.get("companyName")),
            (
                "Address",
                ", ".join(
                    str(p)
                    for p in (
                        capture.get("address"),
                        capture.get("postCode"),
                        capture.get("city"),
                        capture.get("state"),
                    )
                    if p
                )
                or None,
            ),
            ("Birth date", capture.get("birthDate")),
            ("Custom data", json.dumps(custom, ensure_ascii=False) if custom else None),
            ("Last synced", Text(when(synced["synced_at"]) if synced else "—")),
        ]
        self.query_one("#summary-body", Static).update(_grid(rows))

    def _payments(self) -> None:
        a = self.account
        assert a is not None
        titles = self._offer_titles()
        table = self._table("#pd-table", ("ID", "Gateway", "Method", "Card", "Expires", "Status"))
        for pd in a.records.get("payment_details", []):
            params = pd.get("paymentMethodSpecificParams") or {}
            gateway = pd.get("paymentGateway")
            store = acc.IN_APP.get(gateway)
            card = " ".join(
                p
                for p in (
                    params.get("variant"),
                    f"•••• {params['lastCardFourDigits']}"
                    if params.get("lastCardFourDigits")
                    else None,
                )
                if p
            )
            state = "active" if pd.get("active") else "inactive"
            if store:
                state += f" · managed by {store}"
            table.add_row(
                str(pd["id"]),
                plain(gateway),
                plain(pd.get("paymentMethod")),
                plain(card or "—"),
                plain(params.get("cardExpirationDate")),
                Text(state),
                key=str(pd["id"]),
            )
        nxt = a.next_payment
        self.query_one("#next-payment", Static).update(
            Text.assemble(
                ("Next scheduled payment: ", "bold"),
                f"{when(nxt.date, False)} · {money(nxt.amount, nxt.currency)} · "
                f"{nxt.offer_id} {visible(titles.get(nxt.offer_id, ''), 40)} "
                f"(subscription {nxt.subscription_id})",
            )
            if nxt
            else Text("No scheduled payment.", style="bold")
        )
        access = self._table(
            "#access-table",
            ("ID", "Kind", "Offer", "State", "Until", "Price", "Channel", "Renewals"),
        )
        for s in a.records.get("subscriptions", []):
            state = a.subscription_states[s["subscriptionId"]]
            gateway = s.get("paymentGateway")
            access.add_row(
                str(s["subscriptionId"]),
                "subscription",
                plain(f"{s['offerId']} {titles.get(s['offerId'], '')}", 40),
                Text(state),
                when(s.get("dateTo"), False),
                plain(money(s.get("nextPaymentPrice"), s.get("nextPaymentCurrency"))),
                plain(acc.IN_APP.get(gateway, gateway)),
                str((s.get("renewalCycle") or {}).get("completed", 0)),
                key=f"S{s['subscriptionId']}",
            )
        for p in a.records.get("passes", []):
            access.add_row(
                str(p["passId"]),
                "pass",
                plain(f"{p['offerId']} {titles.get(p['offerId'], '')}", 40),
                Text(p["status"]),
                when(p.get("expiresAt"), False) if p.get("expiresAt") else "no end",
                "",
                "",
                "",
                key=f"P{p['passId']}",
            )

    def _table(self, selector: str, columns: tuple[str, ...]) -> DataTable:
        table = self.query_one(selector, DataTable)
        table.clear(columns=True)
        table.add_columns(*columns)
        return table

    def _transactions(self) -> None:
        a = self.account
        assert a is not None
        table = self.query_one("#transactions-table", DataTable)
        width = max(40, self.app.size.width - 6)  # the pane's padding and the scrollbar
        narrow = width < 100  # the day only; the time is in the details below
        rows, keys = [], []
        # A webhook's transaction may come without date, offer or amount: shown as unknown.
        for t in sorted(
            a.records.get("transactions", []),
            key=lambda t: t.get("transactionDate") or 0,
            reverse=True,
        ):
            date = when(t.get("transactionDate"))
            rows.append(
                [
                    date.split(" ")[0] if narrow else date,
                    t["transactionId"],
                    plain(t.get("offerId")),
                    money(t.get("amount"), t.get("currency")),
                    Text(t["status"]),
                    plain(t.get("paymentMethod")),
                    plain(t.get("externalPaymentId")),
                    money(t["refundedAmount"], t.get("currency"))
                    if t.get("refundedAmount")
                    else "",
                ]
            )
            keys.append(t["transactionId"])
        # Order ID and Refunded stay at 80 columns: Offer and Method (in the details) go first.
        fill(table, self.TRANSACTION_COLUMNS, rows, keys, width)
        self._show_transaction()

    TRANSACTION_COLUMNS = [
        Col("Date"),
        Col("Transaction"),
        Col("Offer", drop=2, cap=18),
        Col("Amount"),
        Col("Status"),
        Col("Method", drop=1, cap=12),
        Col("Order ID", flex=True, least=12),
        Col("Refunded"),
    ]

    def _emails(self) -> None:
        a = self.account
        assert a is not None
        table = self._table("#emails-table", ("Date", "Email", "Status", "To"))
        width = max(16, min(40, self.app.size.width - 68))
        for e in sorted(a.records.get("emails", []), key=lambda e: e["createdAt"], reverse=True):
            status = "Sent" if e["status"] == "sent" else "Generated (Not Sent)"
            table.add_row(
                when(e["createdAt"]),
                acc.EMAIL_TYPES.get(e["type"], e["type"]),
                status,
                plain(e.get("to"), width),
                key=str(e["id"]),
            )
        self._show_email()

    def _notes(self) -> None:
        a = self.account
        assert a is not None
        table = self._table("#notes-table", ("Date", "Author", "Note", "Edited"))
        width = max(20, self.app.size.width - 50)  # the note's column fits the terminal
        for n in sorted(a.records.get("notes", []), key=lambda n: n["createdAt"], reverse=True):
            if n.get("deletedAt"):
                continue
            edited = when(n.get("updatedAt")) if n.get("revisions") else ""
            if is_local(n):  # srm's own note: the API never saw it
                edited = f"{edited} · kept in srm" if edited else "kept in srm"
            table.add_row(
                when(n["createdAt"]),
                plain(n["author"], 20),
                plain(n["text"], width),
                edited,
                key=str(n["id"]),
            )
        # Notes added while the API was out of reach: shown now, marked as waiting.
        for item in reversed(outbox.items(self.app.cache.conn(), customer_id=self.customer_id)):
            if item.action == "note-add":
                table.add_row(
                    when(item.created_at),
                    plain(item.agent, 20),
                    plain(item.args.get("text"), width),
                    Text(f"{item.status} (outbox #{item.id})"),
                    key=f"q{item.id}",
                )
        self._show_note()

    def _history(self, conn) -> None:
        assert self.account is not None
        # The same merged history `srm customer show` prints (storage.history).
        events = customer_history(
            conn,
            self.customer_id,
            self.account.records,
            self.app.settings.now_ts(),
            lambda ts: when(ts, False),
        )
        shown = [e for e in events if self.history_filter in (None, e.kind)]
        kinds = "all" if self.history_filter is None else self.history_filter
        self.query_one("#history-filter", Static).update(
            f"Showing {kinds} ({len(shown)} of {len(events)}) — f cycles: all, "
            + ", ".join(acc.TIMELINE_KINDS)
        )
        table = self._table("#history-table", ("When", "Kind", "What"))
        width = max(30, min(110, self.app.size.width - 40))
        for e in shown:
            table.add_row(when(e.at), e.kind, plain(e.text, width))

    # details -----------------------------------------------------------------------------

    def _selected(self, selector: str) -> str | None:
        table = self.query_one(selector, DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def _find(self, entity: str, key_field: str, key: str | None) -> dict[str, Any] | None:
        if key is None or self.account is None:
            return None
        return next(
            (r for r in self.account.records.get(entity, []) if str(r[key_field]) == key), None
        )

    def _show_transaction(self) -> None:
        t = self._find("transactions", "transactionId", self._selected("#transactions-table"))
        detail = self.query_one("#transaction-detail", Static)
        if t is None:
            detail.update("No transactions.")
            return
        offer = (
            self.app.cache.conn()
            .execute(
                "SELECT title, raw FROM offers WHERE id = ?",
                ((t.get("offerId") or "").split("_")[0],),
            )
            .fetchone()
        )
        url = json.loads(offer["raw"]).get("url") if offer else None
        rows = [
            ("Transaction", t["transactionId"]),
            ("Offer", f"{t.get('offerId') or '—'} {offer['title'] if offer else ''}"),
            ("Offer URL", url or "—  (u copies it when there is one)"),
            ("Amount", f"{money(t.get('amount'), t.get('currency'))} · {t['status']}"),
            ("Order ID", t.get("externalPaymentId") or "—"),
            (
                "Gateway / method",
                f"{t.get('paymentGateway') or '—'} / {t.get('paymentMethod') or '—'}",
            ),
            (
                "Access",
                f"subscription {t['subscriptionId']}"
                if t.get("subscriptionId")
                else f"pass {t['passId']}"
                if t.get("passId")
                else "—",
            ),
        ]
        if t.get("rejectedReason"):
            rows.append(("Rejected because", t["rejectedReason"]))
        if t.get("refundedAmount"):
            rows.append(
                (
                    "Refunded",
                    f"{money(t['refundedAmount'], t.get('currency'))} "
                    f"({t.get('refundedReason') or 'no reason given'})",
                )
            )
        if t.get("isGift"):
            rows.append(("Gift", "yes (not refundable)"))
        detail.update(_grid(rows))

    def _show_email(self) -> None:
        e = self._find("emails", "id", self._selected("#emails-table"))
        preview = self.query_one("#email-preview", Static)
        missing = self._not_offered("emails")
        if e is None and missing is not None:
            preview.update(
                Text(f"Emails: not offered by this API. {missing.feature.vendor_way or ''}".strip())
            )
            return
        if e is None:
            preview.update("No emails.")
            return
        preview.update(
            _grid(
                [
                    ("Subject", e.get("subject")),
                    ("To", e.get("to")),
                    ("Preview", plain(e.get("body"), 600)),
                ]
            )
        )

    def _show_note(self) -> None:
        key = self._selected("#notes-table")
        detail = self.query_one("#note-detail", Static)
        if key and key.startswith("q"):
            detail.update(
                Text(
                    f"Waiting in the outbox (#{key[1:]}): it is added when the API "
                    "answers; p shows it."
                )
            )
            return
        n = self._find("notes", "id", key)
        if n is None:
            detail.update("No notes.")
            return
        rows = [
            ("Author", n["author"]),
            ("Written", Text(when(n["createdAt"]))),
            ("Text", plain(n["text"], None)),
        ]
        if is_local(n):
            rows.append(("Kept", Text(KEPT_NOTICE)))
        revisions = n.get("revisions") or []
        if revisions:
            rows.append(("Earlier versions", Text(f"{len(revisions)}, newest first")))
        for rev in reversed(revisions):
            by = f" — replaced by {visible(rev['editor'], 20)}" if rev.get("editor") else ""
            rows.append(
                (f"  {when(rev['editedAt'])}", Text.assemble(visible(rev["text"]), (by, "italic")))
            )
        detail.update(_grid(rows))

    @on(DataTable.RowHighlighted)
    def _highlighted(self, event: DataTable.RowHighlighted) -> None:
        {
            "transactions-table": self._show_transaction,
            "emails-table": self._show_email,
            "notes-table": self._show_note,
        }.get(event.data_table.id or "", lambda: None)()

    # keys --------------------------------------------------------------------------------

    def action_tab(self, name: str) -> None:
        self.query_one(TabbedContent).active = name
        pane = self.query_one(f"#{name}", TabPane)
        focusable = pane.query("DataTable, VerticalScroll")
        if focusable:
            focusable.first().focus()

    def action_next_tab(self, step: int) -> None:
        current = self.query_one(TabbedContent).active
        index = TABS.index(current) if current in TABS else 0
        self.action_tab(TABS[(index + step) % len(TABS)])

    def action_filter_history(self) -> None:
        kinds = (None, *acc.TIMELINE_KINDS)
        self.history_filter = kinds[(kinds.index(self.history_filter) + 1) % len(kinds)]
        self.action_tab("history")
        self._history(self.app.cache.conn())

    def action_copy_offer_url(self) -> None:
        t = self._find("transactions", "transactionId", self._selected("#transactions-table"))
        if t is None:
            return
        offer = (
            self.app.cache.conn()
            .execute("SELECT raw FROM offers WHERE id = ?", (t["offerId"].split("_")[0],))
            .fetchone()
        )
        url = json.loads(offer["raw"]).get("url") if offer else None
        if not url:
            self.notify("This offer has no URL.", severity="warning")
            return
        self.app.copy_to_clipboard(url)
        self.notify(f"Copied {visible(url, 80)}")

    def action_cursor(self, step: int) -> None:
        table = self.focused
        if isinstance(table, DataTable):
            table.move_cursor(row=max(0, table.cursor_row + step))

    def action_view_offer(self) -> None:
        t = self._find("transactions", "transactionId", self._selected("#transactions-table"))
        if t is None:
            self.notify("Highlight a transaction first.", severity="warning")
            return
        self._open_offer(t["offerId"].split("_")[0])

    @work(thread=True, exclusive=True, group="offer")
    def _open_offer(self, offer_id: str) -> None:
        """Holders are counted over the whole cache: off the UI thread."""
        conn = self.app.cache.conn()
        if conn.execute("SELECT 1 FROM offers WHERE id = ?", (offer_id,)).fetchone() is None:
            self.app.call_from_thread(
                self.notify, f"Offer {offer_id} is not in the cache.", severity="warning"
            )
            return
        holders = queries.offer_holders(conn, self.app.settings.now_ts()).get(offer_id, 0)
        self.app.call_from_thread(self._push_offer, offer_id, holders)

    def _push_offer(self, offer_id: str, holders: int) -> None:
        from srm_tui.screens.offers import OfferScreen

        self.app.push_screen(OfferScreen(offer_id, holders))

    def action_change_history(self) -> None:
        from srm_tui.screens.change_history import ChangeHistoryScreen

        if self.account is not None:
            self.app.push_screen(ChangeHistoryScreen(self.customer_id))

    def action_pending(self) -> None:
        from srm_tui.screens.outbox_item import OutboxItemScreen

        if not self.open_items:
            self.notify("Nothing of this customer waits in the outbox.")
            return

        def back(changed: bool | None) -> None:
            if changed:
                self.action_reload()

        self.app.push_screen(OutboxItemScreen(self.open_items), back)

    # actions -----------------------------------------------------------------------------

    # Which tab each key acts on: the footer shows only what applies where the agent is.
    ACTION_TABS = {
        "edit": ("summary",),
        "anonymize": ("summary",),
        "note-add": ("summary", "notes"),
        "extend": ("payments", "transactions"),
        "cancel": ("payments",),
        "coupon-apply": ("payments",),
        "delete-payment-details": ("payments",),
        "refund": ("transactions",),
        "cancel-transaction": ("transactions",),
        "resend": ("emails",),
        "note-edit": ("notes",),
        "note-delete": ("notes",),
        "pause": ("payments",),
        "resume": ("payments",),
        "activate": ("payments",),
        "terminate": ("payments",),
        "transfer": ("payments",),
        "filter_history": ("history",),
        "copy_offer_url": ("transactions",),
        "view_offer": ("transactions",),
        "change_history": ("summary", "history"),
    }

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The viewer role sees no action at all; others see the current tab's actions."""
        if action == "act" and self.app.settings.role == "viewer":
            return False
        if action == "pending":
            return bool(self.open_items)
        name = parameters[0] if action == "act" and parameters else action
        tabs = self.ACTION_TABS.get(str(name))
        if tabs is None:
            return True
        try:
            return self.query_one(TabbedContent).active in tabs
        except Exception:  # not mounted yet
            return False

    @on(TabbedContent.TabActivated)
    def _tab_changed(self) -> None:
        self.refresh_bindings()
        if self.account is not None:
            self._offered()

    def _row(self, selector: str) -> str | None:
        return self._selected(selector)

    TAB_NAMES = {
        "summary": "Summary (1)",
        "payments": "Payments (2)",
        "transactions": "Transactions (3)",
        "emails": "Emails (4)",
        "notes": "Notes (5)",
        "history": "History (6)",
    }

    def on_key(self, event: events.Key) -> None:
        """An action key pressed on a tab where it does not work says where it does (the
        binding is off on this tab, so without this the key would do nothing)."""
        if self.app.settings.role == "viewer" or self.account is None:
            return
        try:
            tab = self.query_one(TabbedContent).active
        except Exception:  # not mounted yet
            return
        elsewhere: list[tuple[str, tuple[str, ...]]] = []
        for binding in self._bindings.key_to_bindings.get(event.key, []):
            _ns, name, params = parse_action(binding.action)
            name = str(params[0]) if name == "act" and params else name
            tabs = self.ACTION_TABS.get(name)
            if tabs is None or tab in tabs:
                return  # the key works here (or is not a tab's action): the binding runs
            elsewhere.append((binding.description, tabs))
        if elsewhere:
            what, tabs = elsewhere[0]
            where = " or ".join(self.TAB_NAMES[t] for t in tabs)
            self.notify(
                f"{what} works on the {where} tab: go there, highlight the row, then "
                f"press {event.character or event.key}.",
                severity="warning",
            )
            event.stop()

    def _focused_other(self, wanted: str) -> str | None:
        """Which other table of the Payments tab has the focus (the action's row is not
        there), named for the message; None when the focus is on ``wanted`` or no table."""
        names = {"#access-table": "subscriptions and passes", "#pd-table": "payment details"}
        focused = self.focused
        if (
            isinstance(focused, DataTable)
            and f"#{focused.id}" in names
            and f"#{focused.id}" != wanted
        ):
            return names[f"#{focused.id}"]
        return None

    def _target(self, action: str) -> tuple[dict[str, Any], dict[str, Any]] | str:
        """(fixed args, defaults) for an action on the highlighted row, or why not."""
        a = self.account
        if a is None:
            return "This customer is not in the cache."
        c = a.customer
        tab = self.query_one(TabbedContent).active
        if action in ("edit", "anonymize", "note-add"):
            defaults = {}
            if action == "edit":
                defaults = {
                    "first_name": c.get("firstName"),
                    "last_name": c.get("lastName"),
                    "email": c.get("email"),
                    "company": (c.get("capture") or {}).get("companyName"),
                }
            return {"customer_id": self.customer_id}, defaults
        if action in ("refund", "cancel-transaction"):
            key = self._row("#transactions-table") if tab == "transactions" else None
            if key is None:
                return "Highlight a transaction on the Transactions tab (3) first."
            return {"transaction_id": key}, {}
        if action == "extend":
            access_id = None
            if tab == "transactions":
                t = self._find("transactions", "transactionId", self._row("#transactions-table"))
                if t:
                    access_id = t.get("subscriptionId") or t.get("passId")
            elif tab == "payments":
                key = self._row("#access-table")
                access_id = int(key[1:]) if key else None
            if access_id is None:
                return (
                    "Highlight a subscription or pass (Payments, 2) or a transaction "
                    "(Transactions, 3) first."
                )
            current = next(
                (
                    r.get("dateTo") or r.get("expiresAt")
                    for r in a.records["subscriptions"] + a.records["passes"]
                    if access_id in (r.get("subscriptionId"), r.get("passId"))
                ),
                None,
            )
            start = max(current or 0, self.app.settings.now_ts())
            until = datetime.fromtimestamp(start + 30 * 86400, timezone.utc)
            return {"access_id": access_id}, {"until": until.strftime("%Y-%m-%dT%H:%M:%SZ")}
        if tab == "payments" and action in (
            "cancel",
            "coupon-apply",
            "pause",
            "resume",
            "activate",
            "terminate",
            "transfer",
            "delete-payment-details",
            "extend",
        ):
            wanted = "#pd-table" if action == "delete-payment-details" else "#access-table"
            other = self._focused_other(wanted)
            if other is not None:  # act on the row the agent sees highlighted, never another
                kind = "payment details" if wanted == "#pd-table" else "a subscription or pass"
                return (
                    f"{ActionService.spec(action).title} acts on {kind}, but the "
                    f"{other} table has the focus: tab to the "
                    f"{'payment details' if wanted == '#pd-table' else 'subscriptions'} "
                    "table and highlight the row first."
                )
        if action in ("cancel", "coupon-apply", "pause", "resume", "activate"):
            key = self._row("#access-table") if tab == "payments" else None
            if key is None or not key.startswith("S"):
                return "Highlight a subscription on the Payments tab (2) first."
            return {"subscription_id": int(key[1:])}, {"cycles": 1} if action == "pause" else {}
        if action in ("terminate", "transfer"):
            key = self._row("#access-table") if tab == "payments" else None
            if key is None:
                return "Highlight a subscription or pass on the Payments tab (2) first."
            return {"access_id": int(key[1:])}, {
                "type": "userCancel"
            } if action == "terminate" else {}
        if action == "delete-payment-details":
            key = self._row("#pd-table") if tab == "payments" else None
            if key is None:
                return "Highlight payment details on the Payments tab (2) first."
            return {"payment_details_id": int(key)}, {}
        if action == "resend":
            key = self._row("#emails-table") if tab == "emails" else None
            if key is None:
                return "Highlight an email on the Emails tab (4) first."
            return {"email_id": int(key)}, {}
        if action in ("note-edit", "note-delete"):
            key = self._row("#notes-table") if tab == "notes" else None
            if key is None:
                return "Highlight a note on the Notes tab (5) first."
            if key.startswith("q"):
                return (
                    f"This note waits in the outbox (#{key[1:]}): p shows it; it can be "
                    "changed once the API has it."
                )
            defaults = {}
            if action == "note-edit":
                note = self._find("notes", "id", key)
                defaults = {"text": note["text"] if note else ""}
            return {"note_id": int(key)}, defaults
        return f"Unknown action {action}."

    def action_act(self, action: str) -> None:
        from srm_tui.screens.action import ActionScreen

        missing = ActionService(self.app.cache, self.app.settings).availability(action)
        if missing is not None:  # never a form for a call the API does not have
            self.notify(
                str(missing), title="Not offered by this API", severity="warning", timeout=15
            )
            return
        target = self._target(action)
        if isinstance(target, str):
            self.notify(target, severity="warning")
            return
        fixed, defaults = target

        def finished(outcome) -> None:
            if outcome is None:
                return
            severity = "information" if outcome.status == "applied" else "warning"
            # Kept in srm's own store (notes in the vendor profile): nothing was sent, so it
            # says nothing about whether the API answers.
            local = bool(
                outcome.preview
                and outcome.preview.request
                and outcome.preview.request.method == "LOCAL"
            )
            if local:
                pass
            elif outcome.status == "applied":
                self.app.api_answered()
            elif self.app.demo or self.app.settings.api_url:
                self.app.online = False
            self.notify(outcome.message, severity=severity, timeout=8)
            self.action_reload()
            self.app.refresh_status()

        self.app.push_screen(ActionScreen(action, fixed, defaults=defaults), finished)

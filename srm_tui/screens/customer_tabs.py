"""The customer screen's tabs, one function each: they fill the tab's widgets from the
account the screen holds (``screen.view``) and the reads the session offers. The screen
decides when; these decide what is shown. Over 400 lines: six tabs, each a function with its
table's columns and the details under it, read side by side."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich.table import Table
from rich.text import Text
from textual.widgets import DataTable, Static

from srm_tui.actions.local_notes import NOTICE as KEPT_NOTICE
from srm_tui.actions.local_notes import is_local
from srm_tui.domain import account as acc
from srm_tui.domain import lifecycle as lc
from srm_tui.domain.money import money
from srm_tui.domain.text import visible
from srm_tui.domain.time import day, utc
from srm_tui.widgets.fit import Col, fill

if TYPE_CHECKING:
    from srm_tui.screens.customer import CustomerScreen


def plain(value: Any, limit: int | None = 60) -> Text:
    """Customer data as literal text: markup stays text, control bytes show escaped."""
    return Text(visible("—" if value in (None, "") else value, limit))


def grid(rows: list[tuple[str, Any]]) -> Table:
    """Label/value rows, the labels bold; values other than Text are shown as plain text."""
    out = Table.grid(padding=(0, 2))
    out.add_column(style="bold", no_wrap=True)
    out.add_column()
    for label, value in rows:
        out.add_row(label, value if isinstance(value, Text) else plain(value, None))
    return out


# Every table's widths are given (fit.fill), never left to DataTable's own measuring, which
# happens when the table is next idle: on a busy host that came late and the columns stayed as
# narrow as their headings.
PAYMENT_DETAIL_COLUMNS = [
    Col("ID"),
    Col("Gateway", cap=20),
    Col("Method", cap=20),
    Col("Card", cap=24),
    Col("Expires"),
    Col("Status", flex=True, least=8),
]


def summary(screen: CustomerScreen) -> None:
    a = screen.account
    assert a is not None and screen.view is not None
    c = a.customer
    capture = c.get("capture") or {}
    custom = c.get("externalData") or {}
    active = "yes" if a.has_active_subscription else "no"
    address = ", ".join(
        str(p)
        for p in (
            capture.get("address"),
            capture.get("postCode"),
            capture.get("city"),
            capture.get("state"),
        )
        if p
    )
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
        ("Address", address or None),
        ("Birth date", capture.get("birthDate")),
        ("Custom data", json.dumps(custom, ensure_ascii=False) if custom else None),
        ("Last synced", Text(utc(screen.view.synced_at))),
    ]
    screen.query_one("#summary-body", Static).update(grid(rows))


def payments(screen: CustomerScreen) -> None:
    a = screen.account
    assert a is not None
    titles = screen.app.session.customers.offer_titles()
    table = screen.query_one("#pd-table", DataTable)
    on_file = a.records.get("payment_details", [])
    # An API that lists no payment details says so with the vendor's way, as the Emails tab
    # does: an empty table would read as a customer without any.
    missing = screen.not_offered("payment_details")
    screen.query_one("#pd-heading", Static).update(
        "Payment details on file" if missing is None or on_file else "Payment details"
    )
    line = screen.query_one("#pd-missing", Static)
    line.display = missing is not None
    line.update(Text(str(missing)) if missing is not None else "")
    table.display = missing is None or bool(on_file)
    rows: list[list] = []
    for pd in on_file:
        params = pd.get("paymentMethodSpecificParams") or {}
        gateway = pd.get("paymentGateway")
        store = acc.IN_APP.get(gateway)
        four = params.get("lastCardFourDigits")
        card = " ".join(p for p in (params.get("variant"), f"•••• {four}" if four else None) if p)
        state = "active" if pd.get("active") else "inactive"
        if store:
            state += f" · managed by {store}"
        rows.append(
            [
                str(pd["id"]),
                plain(gateway, None),
                plain(pd.get("paymentMethod"), None),
                plain(card or "—", None),
                plain(params.get("cardExpirationDate"), None),
                Text(state),
            ]
        )
    keys = [str(pd["id"]) for pd in on_file]
    fill(table, PAYMENT_DETAIL_COLUMNS, rows, keys, max(40, screen.app.size.width - 6))
    nxt = a.next_payment
    screen.query_one("#next-payment", Static).update(
        Text.assemble(
            ("Next scheduled payment: ", "bold"),
            f"{day(nxt.date)} · {money(nxt.amount, nxt.currency)} · "
            f"{nxt.offer_id} {visible(titles.get(nxt.offer_id, ''), 40)} "
            f"(subscription {nxt.subscription_id})",
        )
        if nxt
        else Text("No scheduled payment.", style="bold")
    )
    # At 80 columns the ID, state and end date stay: Channel and Renewals give way first,
    # then the price; the offer's title is cut (its id leads the cell).
    rows, keys = [], []
    for s in a.records.get("subscriptions", []):
        gateway = s.get("paymentGateway")
        rows.append(
            [
                str(s["subscriptionId"]),
                "subscription",
                plain(f"{s['offerId']} {titles.get(s['offerId'], '')}".strip(), None),
                Text(a.subscription_states[s["subscriptionId"]]),
                day(s.get("dateTo")),
                plain(money(s.get("nextPaymentPrice"), s.get("nextPaymentCurrency"))),
                plain(acc.IN_APP.get(gateway, gateway) or ""),
                str((s.get("renewalCycle") or {}).get("completed", 0)),
            ]
        )
        keys.append(f"S{s['subscriptionId']}")
    now = screen.app.settings.now_ts()
    for p in a.records.get("passes", []):
        rows.append(
            [
                str(p["passId"]),
                "pass",
                plain(f"{p['offerId']} {titles.get(p['offerId'], '')}".strip(), None),
                Text(lc.pass_state(p["status"], p.get("expiresAt"), now)),
                day(p.get("expiresAt")) if p.get("expiresAt") else "no end",
                "",
                "",
                "",
            ]
        )
        keys.append(f"P{p['passId']}")
    table = screen.query_one("#access-table", DataTable)
    fill(table, ACCESS_COLUMNS, rows, keys, max(40, screen.app.size.width - 6))


ACCESS_COLUMNS = [
    Col("ID"),
    Col("Kind", drop=3),
    Col("Offer", flex=True, least=14, cap=40),
    Col("State"),
    Col("Until"),
    Col("Price", drop=2),
    Col("Channel", drop=4),
    Col("Renewals", drop=4),
]

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


def transactions(screen: CustomerScreen) -> None:
    a = screen.account
    assert a is not None
    table = screen.query_one("#transactions-table", DataTable)
    width = max(40, screen.app.size.width - 6)  # the pane's padding and the scrollbar
    narrow = width < 100  # the day only; the time is in the details below
    rows, keys = [], []
    # A webhook's transaction may come without date, offer or amount: shown as unknown.
    for t in sorted(
        a.records.get("transactions", []),
        key=lambda t: t.get("transactionDate") or 0,
        reverse=True,
    ):
        rows.append(
            [
                (day if narrow else utc)(t.get("transactionDate")),
                t["transactionId"],
                plain(t.get("offerId")),
                money(t.get("amount"), t.get("currency")),
                Text(t["status"]),
                plain(t.get("paymentMethod")),
                plain(t.get("externalPaymentId")),
                money(t["refundedAmount"], t.get("currency")) if t.get("refundedAmount") else "",
            ]
        )
        keys.append(t["transactionId"])
    # Order ID and Refunded stay at 80 columns: Offer and Method (in the details) go first.
    fill(table, TRANSACTION_COLUMNS, rows, keys, width)
    show_transaction(screen)


EMAIL_COLUMNS = [
    Col("Date"),
    Col("Email", cap=40),
    Col("Status"),
    Col("To", flex=True, least=16),
]


def emails(screen: CustomerScreen) -> None:
    a = screen.account
    assert a is not None
    table = screen.query_one("#emails-table", DataTable)
    rows: list[list] = []
    keys: list[str] = []
    for e in sorted(a.records.get("emails", []), key=lambda e: e["createdAt"], reverse=True):
        status = "Sent" if e["status"] == "sent" else "Generated (Not Sent)"
        rows.append(
            [
                utc(e["createdAt"]),
                acc.EMAIL_TYPES.get(e["type"], e["type"]),
                status,
                plain(e.get("to"), None),
            ]
        )
        keys.append(str(e["id"]))
    fill(table, EMAIL_COLUMNS, rows, keys, max(40, screen.app.size.width - 6))
    show_email(screen)


NOTE_COLUMNS = [
    Col("Date"),
    Col("Author", cap=20),
    Col("Note", flex=True, least=16),
    Col("Edited", drop=1, cap=32),
]


def notes(screen: CustomerScreen) -> None:
    a = screen.account
    assert a is not None
    table = screen.query_one("#notes-table", DataTable)
    rows: list[list] = []
    keys: list[str] = []
    for n in sorted(a.records.get("notes", []), key=lambda n: n["createdAt"], reverse=True):
        if n.get("deletedAt"):
            continue
        edited = utc(n.get("updatedAt")) if n.get("revisions") else ""
        if is_local(n):  # srm's own note: the API never saw it
            edited = f"{edited} · kept in srm" if edited else "kept in srm"
        rows.append([utc(n["createdAt"]), plain(n["author"], None), plain(n["text"], None), edited])
        keys.append(str(n["id"]))
    # Notes added while the API was out of reach: shown now, marked as waiting.
    for item in reversed(screen.app.session.local_actions.pending(screen.customer_id)):
        if item.action == "note-add":
            rows.append(
                [
                    utc(item.created_at),
                    plain(item.agent, None),
                    plain(item.args.get("text"), None),
                    Text(f"{item.status} (outbox #{item.id})"),
                ]
            )
            keys.append(f"q{item.id}")
    fill(table, NOTE_COLUMNS, rows, keys, max(40, screen.app.size.width - 6))
    show_note(screen)


def history(screen: CustomerScreen) -> None:
    assert screen.account is not None
    # The same merged history `srm customer show` prints (storage.history).
    events = screen.app.session.customers.history(
        screen.customer_id, screen.account.records, screen.app.settings.now_ts(), day
    )
    shown = [e for e in events if screen.history_filter in (None, e.kind)]
    kinds = "all" if screen.history_filter is None else screen.history_filter
    screen.query_one("#history-filter", Static).update(
        f"Showing {kinds} ({len(shown)} of {len(events)}) — f cycles: all, "
        + ", ".join(acc.TIMELINE_KINDS)
    )
    rows = [[utc(e.at), e.kind, plain(e.text, None)] for e in shown]
    fill(
        screen.query_one("#history-table", DataTable),
        HISTORY_COLUMNS,
        rows,
        [str(i) for i in range(len(rows))],
        max(40, screen.app.size.width - 6),
    )


HISTORY_COLUMNS = [Col("When"), Col("Kind"), Col("What", flex=True, least=20)]


# the details under a table -----------------------------------------------------------------


def show_transaction(screen: CustomerScreen) -> None:
    t = screen.find("transactions", "transactionId", screen.selected("#transactions-table"))
    detail = screen.query_one("#transaction-detail", Static)
    missing = screen.not_offered("transactions")
    if t is None and missing is not None:  # none listed because the API lists none
        detail.update(Text(str(missing)))
        return
    if t is None:
        detail.update("No transactions.")
        return
    offer = screen.app.session.customers.offer(t.get("offerId") or "")
    access = (
        f"subscription {t['subscriptionId']}"
        if t.get("subscriptionId")
        else f"pass {t['passId']}"
        if t.get("passId")
        else "—"
    )
    rows = [
        ("Transaction", t["transactionId"]),
        ("Offer", f"{t.get('offerId') or '—'} {offer.title if offer else ''}"),
        ("Offer URL", (offer.url if offer else None) or "—  (u copies it when there is one)"),
        ("Amount", f"{money(t.get('amount'), t.get('currency'))} · {t['status']}"),
        ("Order ID", t.get("externalPaymentId") or "—"),
        ("Gateway / method", f"{t.get('paymentGateway') or '—'} / {t.get('paymentMethod') or '—'}"),
        ("Access", access),
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
    detail.update(grid(rows))


def show_email(screen: CustomerScreen) -> None:
    e = screen.find("emails", "id", screen.selected("#emails-table"))
    preview = screen.query_one("#email-preview", Static)
    missing = screen.not_offered("emails")
    if e is None and missing is not None:
        preview.update(
            Text(f"Emails: not offered by this API. {missing.feature.vendor_way or ''}".strip())
        )
        return
    if e is None:
        preview.update("No emails.")
        return
    preview.update(
        grid(
            [
                ("Subject", e.get("subject")),
                ("To", e.get("to")),
                ("Preview", plain(e.get("body"), 600)),
            ]
        )
    )


def show_note(screen: CustomerScreen) -> None:
    key = screen.selected("#notes-table")
    detail = screen.query_one("#note-detail", Static)
    if key and key.startswith("q"):
        detail.update(
            Text(
                f"Waiting in the outbox (#{key[1:]}): it is added when the API answers; p shows it."
            )
        )
        return
    n = screen.find("notes", "id", key)
    if n is None:
        detail.update("No notes.")
        return
    rows = [
        ("Author", n["author"]),
        ("Written", Text(utc(n["createdAt"]))),
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
            (f"  {utc(rev['editedAt'])}", Text.assemble(visible(rev["text"]), (by, "italic")))
        )
    detail.update(grid(rows))


DETAILS = {
    "transactions-table": show_transaction,
    "emails-table": show_email,
    "notes-table": show_note,
}

"""ChurnIQ-style report exports of the sandbox's state (`GET /sandbox/churniq/{report}.csv`).

The columns, their display and source names and their value formats are srm's shared spec
(the vendor documents only the first columns of each report; see docs/sandbox-api.md): CSV with
a header row, RFC 4180 quoting, UTF-8, `\\n` line ends; times in CET (a fixed UTC+01:00) as
`YYYY-MM-DD HH:MM:SS`, dates `YYYY-MM-DD`; money as plain decimals; empty cell = null.
The unformatted header (`formatted=False`) repeats the vendor's duplicate source names.
Rows are written in chunks from a snapshot of the state, so a large state streams.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone

from .generator import BROADCASTER_ID, PAYMENT_METHOD_BY_ID

CET = timezone(timedelta(hours=1))
CHUNK_ROWS = 500
OFFER_TYPES = {"S": "subscription", "P": "pass", "E": "live", "A": "vod", "R": "rental"}
PERIODS = {
    "day": "daily",
    "week": "weekly",
    "month": "monthly",
    "3months": "3-months",
    "6months": "6-months",
    "year": "annual",
    "season": "seasonal",
}

TRANSACTION_COLUMNS = (
    ("Transaction ID", "transactions.transaction_id"),
    ("Transaction Country", "transactions.transaction_country"),
    ("Date", "transactions.transaction_date"),
    ("Date / Time", "transactions.transaction_date"),
    ("Month", "transactions.transaction_date"),
    ("Week", "transactions.transaction_date"),
    ("Customer ID", "transactions.customer_id"),
    ("Customer email", "customer.email"),
    ("First name", "customer.first_name"),
    ("Last name", "customer.first_name"),  # sic: the vendor's docs give this source name
    ("Customer country", "customer.country"),
    ("Customer IP", "transactions.user_IP"),
    ("Customer currency", "customer.currency"),
    ("Offer ID", "transactions.offer_id"),
    ("Offer title", "offers.offer_title"),
    ("Offer type", "offers.offer_type"),
    ("Subscription ID", "transactions.subscription_id"),
    ("Pass ID", "transactions.pass_id"),
    ("Transaction price", "transactions.transaction_price"),
    ("Transaction currency", "transactions.transaction_currency"),
    ("Transaction status", "transactions.transaction_status"),
    ("Refunded amount", "transactions.refunded_amount"),
    ("Rejected reason", "transactions.rejected_reason"),
    ("Payment gateway", "transactions.payment_gateway"),
    ("Payment method", "transactions.payment_method"),
    ("External payment ID", "transactions.external_payment_id"),
)
SUBSCRIPTION_COLUMNS = (
    ("Subscription ID", "subscriptions.subscription_id"),
    ("Customer ID", "subscriptions.customer_id"),
    ("First name", "customer.first_name"),
    ("Last name", "customer.last_name"),
    ("", "customer.email"),
    ("Country", "customer.country"),
    ("Account activation date", "customer.activation_date"),
    ("Last login date", "customer.last_login_date"),
    ("Offer title", "offers.offer_title"),
    ("Offer ID", "subscriptions.offer_id"),
    ("Offer group ID", "offers.offer_group_id"),
    ("Offer price", "offers.offer_price"),
    ("Offer currency", "offers.offer_currency"),
    ("Offer period", "offers.offer_period"),
    ("Subscription status", "subscriptions.status"),
    ("Start date", "subscriptions.start_date"),
    ("Expiry date", "subscriptions.expiry_date"),
    ("In trial", "subscriptions.in_trial"),
    ("Next payment price", "subscriptions.next_payment_price"),
    ("Next payment currency", "subscriptions.next_payment_currency"),
    ("Payment gateway", "subscriptions.payment_gateway"),
    ("Payment method", "subscriptions.payment_method"),
    ("Coupon code", "subscriptions.coupon_code"),
    ("Completed renewals", "subscriptions.renewals"),
)
PASS_COLUMNS = (
    ("Pass ID", "passes.pass_id"),
    ("Customer ID", "passes.customer_id"),
    ("Publisher ID", "passes.publisher_id"),
    ("First name", "customer.first_name"),
    ("Last name", "customer.last_name"),
    ("", "customer.email"),
    ("Country", "customer.country"),
    ("Account Activation Date Time", "customer.activation_date_time"),
    ("Last Login Date Time", "customer.last_login_date_time"),
    ("Offer Title", "offers.offer_title"),
    ("Offer ID", "passes.offer_id"),
    ("Offer group ID", "offers.offer_group_id"),
    ("Offer price", "offers.offer_price"),
    ("Offer currency", "offers.offer_currency"),
    ("Offer period", "offers.offer_period"),
    ("Pass status", "passes.status"),
    ("Payment method", "passes.payment_method"),
    ("Last Transaction Date Time", "passes.last_transaction_date_time"),
    ("Expiry Date Time", "passes.expires_at"),
)


def cet_datetime(ts: int | None) -> str | None:
    """Unix seconds as `YYYY-MM-DD HH:MM:SS` in CET (UTC+01:00)."""
    if ts is None:
        return None
    d = datetime.fromtimestamp(ts, CET)  # formatted by hand: strftime is slow per row
    return f"{d.year:04d}-{d.month:02d}-{d.day:02d} {d.hour:02d}:{d.minute:02d}:{d.second:02d}"


def _reg_to_ts(value: str | None) -> int | None:
    """The customer's `regDate`/`lastLoginDate` (UTC `YYYY-MM-DD HH:MM:SS`) as unix seconds."""
    if not value:
        return None
    return int(datetime.fromisoformat(value).replace(tzinfo=UTC).timestamp())


def _money(value) -> str | None:
    return None if value is None else f"{value:.2f}"


def _ip_number(ip: str | None) -> str | None:
    """An IPv4 address as the report's decimal number (`3405803783.000000`)."""
    parts = (ip or "").split(".")
    if len(parts) != 4 or not all(p.isdigit() and int(p) < 256 for p in parts):
        return None
    number = 0
    for part in parts:
        number = number * 256 + int(part)
    return f"{number}.000000"


def _yes_no(value: bool) -> str:
    return "Yes" if value else "No"


class _Lookups:
    """Customers and offer localizations by id, read once per report."""

    def __init__(self, state):
        with state.lock:
            self.customers = {c["id"]: c for c in state.all("customers")}
            self.localizations = {
                loc["id"]: (offer, loc)
                for offer in state.all("offers")
                for loc in offer["localizations"]
            }

        self._dates: dict[int, tuple] = {}

    def customer(self, customer_id: int) -> dict:
        return self.customers.get(customer_id) or {}

    def dates(self, customer_id: int) -> tuple:
        """(activation, last login) as CET unix seconds, once per customer."""
        found = self._dates.get(customer_id)
        if found is None:
            c = self.customer(customer_id)
            found = (_reg_to_ts(c.get("regDate")), _reg_to_ts(c.get("lastLoginDate")))
            self._dates[customer_id] = found
        return found

    def offer(self, long_id: str) -> tuple[dict, dict]:
        return self.localizations.get(long_id) or ({}, {})


def _transaction_rows(state, look: _Lookups) -> Iterator[list]:
    with state.lock:
        transactions = state.all("transactions")
    people: dict[int, tuple] = {}  # the customer's cells, worked out once per customer
    for t in transactions:
        cells = people.get(t["customerId"])
        if cells is None:
            c = look.customer(t["customerId"])
            cells = people[t["customerId"]] = (
                c.get("email"),
                c.get("firstName"),
                c.get("lastName"),
                c.get("country"),
                _ip_number(c.get("lastUserIp")),
                c.get("currency"),
            )
        when = cet_datetime(t["transactionDate"])
        month = int(when[5:7])
        week = date(int(when[:4]), month, int(when[8:10])).isocalendar()[1]
        yield [
            t["transactionId"],
            cells[3],
            when[:10],
            when,
            month,
            week,
            t["customerId"],
            *cells,
            t["offerId"],
            t.get("offerTitle"),
            OFFER_TYPES.get(t["offerId"][0]),
            t["subscriptionId"],
            t["passId"],
            _money(t["amount"]),
            t["currency"],
            t["status"],
            _money(t.get("refundedAmount") or 0),
            t.get("rejectedReason"),
            t["paymentGateway"],
            t["paymentMethod"],
            t.get("externalPaymentId"),
        ]


def _offer_cells(look: _Lookups, long_id: str) -> list:
    offer, loc = look.offer(long_id)
    price = loc.get("price") or {}
    return [
        loc.get("title"),
        long_id,
        offer.get("id") or long_id.split("_")[0],
        _money(price.get("amount")),
        price.get("currency"),
    ]


def _subscription_rows(state, look: _Lookups) -> Iterator[list]:
    with state.lock:
        subscriptions = state.all("subscriptions")
    for s in subscriptions:
        c = look.customer(s["customerId"])
        reg, login = look.dates(s["customerId"])
        yield [
            s["subscriptionId"],
            s["customerId"],
            c.get("firstName"),
            c.get("lastName"),
            c.get("email"),
            c.get("country"),
            (cet_datetime(reg) or "")[:10],
            (cet_datetime(login) or "")[:10],
            *_offer_cells(look, s["offerId"]),
            PERIODS.get(s.get("period")),
            s["status"],
            cet_datetime(s["dateFrom"]),
            cet_datetime(s["dateTo"]),
            _yes_no(s["inTrial"]),
            _money(s.get("nextPaymentPrice")),
            s.get("nextPaymentCurrency"),
            s.get("paymentGateway"),
            s.get("paymentMethod"),
            s.get("couponCode"),
            (s.get("renewalCycle") or {}).get("completed", 0),
        ]


def _pass_rows(state, look: _Lookups) -> Iterator[list]:
    with state.lock:
        passes = state.all("passes")
        last_paid: dict[int, int] = {}
        for t in state.all("transactions"):
            if t["passId"] is not None:
                last_paid[t["passId"]] = max(last_paid.get(t["passId"], 0), t["transactionDate"])
    for p in passes:
        c = look.customer(p["customerId"])
        offer, _ = look.offer(p["offerId"])
        cycle = offer.get("billingCycle") or {}
        method = PAYMENT_METHOD_BY_ID.get(p.get("paymentMethodId"))
        yield [
            p["passId"],
            p["customerId"],
            BROADCASTER_ID,
            c.get("firstName"),
            c.get("lastName"),
            c.get("email"),
            c.get("country"),
            *(cet_datetime(ts) for ts in look.dates(p["customerId"])),
            *_offer_cells(look, p["offerId"]),
            PERIODS.get(cycle.get("periodUnit")),
            "active" if p["status"] == "active" else "terminated",
            method[1] if method else None,
            cet_datetime(last_paid.get(p["passId"])),
            cet_datetime(p["expiresAt"]),
        ]


REPORTS: dict[str, tuple[tuple, Callable]] = {
    "transactions": (TRANSACTION_COLUMNS, _transaction_rows),
    "subscriptions": (SUBSCRIPTION_COLUMNS, _subscription_rows),
    "passes": (PASS_COLUMNS, _pass_rows),
}


def iter_report(state, report: str, formatted: bool = True) -> Iterator[bytes]:
    """The report `report` of `state` as UTF-8 CSV chunks (header first)."""
    columns, rows = REPORTS[report]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([display if formatted else source for display, source in columns])
    for count, row in enumerate(rows(state, _Lookups(state)), 1):
        writer.writerow(["" if cell is None else cell for cell in row])
        if count % CHUNK_ROWS == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")

"""ChurnIQ report exports (Transactions, Subscription, Pass): columns found by header.

The vendor documents only the first columns of each report (reference/cleeng-exports.md
§0-3); srm's guesses for the rest are in docs/churniq-format.md. Headers are matched without case
and with whitespace collapsed, in either vocabulary (display names, or the warehouse source
names of an unformatted export); columns srm does not know are kept with the record under
``churniq``, and optional columns may be missing. A row becomes dicts in the API's shape (the
main record and its customer), which the sync's parsing path validates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from srm_tui.domain.ids import EMAIL
from srm_tui.exits import UsageProblem
from srm_tui.imports import values as v

# Where a column's value goes: the main record ("rec"), its customer ("cust"), or only the
# kept ``churniq`` columns (None).
REC, CUST = "rec", "cust"


@dataclass(frozen=True)
class Col:
    """One column srm knows: its display name, source name, and what its value becomes."""

    display: str
    source: str
    target: str | None = None
    field: str | None = None
    kind: str = "text"  # text, int, money, flag, instant, cdate (customer date), period


@dataclass(frozen=True)
class Report:
    """One ChurnIQ report: its columns, the id column that names it, and its entity."""

    fmt: str
    title: str
    entity: str
    key: str  # the API field of the main record's id
    columns: tuple[Col, ...]
    required: tuple[tuple[str, ...], ...]  # each: display names of which one must be there
    # Columns the main record cannot do without; a file lacking one imports customers only.
    needed: tuple[str, ...] = ()
    defaults: dict[str, Any] = field(default_factory=dict)


TRANSACTIONS = Report(
    "churniq-transactions",
    "Transactions Report",
    "transactions",
    "transactionId",
    (
        Col("Transaction ID", "transactions.transaction_id", REC, "transactionId"),
        Col("Transaction Country", "transactions.transaction_country"),
        Col("Date", "transactions.transaction_date", REC, "transactionDate", "instant"),
        Col("Date / Time", "transactions.transaction_date", REC, "transactionDate", "instant"),
        Col("Month", "transactions.transaction_date"),
        Col("Week", "transactions.transaction_date"),
        Col("Customer ID", "transactions.customer_id", REC, "customerId", "int"),
        Col("Customer email", "customer.email", CUST, "email"),
        Col("First name", "customer.first_name", CUST, "firstName"),
        Col("Last name", "customer.first_name", CUST, "lastName"),
        Col("Customer country", "customer.country", CUST, "country"),
        Col("Customer IP", "transactions.user_ip"),
        Col("Customer currency", "customer.currency", CUST, "currency"),
        Col("Offer ID", "transactions.offer_id", REC, "offerId"),
        Col("Offer title", "offers.offer_title"),
        Col("Offer type", "offers.offer_type"),
        Col("Subscription ID", "transactions.subscription_id", REC, "subscriptionId", "int"),
        Col("Pass ID", "transactions.pass_id", REC, "passId", "int"),
        Col("Transaction price", "transactions.transaction_price", REC, "amount", "money"),
        Col("Transaction currency", "transactions.transaction_currency", REC, "currency"),
        Col("Transaction status", "transactions.transaction_status", REC, "status"),
        Col("Refunded amount", "transactions.refunded_amount", REC, "refundedAmount", "money"),
        Col("Rejected reason", "transactions.rejected_reason", REC, "rejectedReason"),
        Col("Payment gateway", "transactions.payment_gateway", REC, "paymentGateway"),
        Col("Payment method", "transactions.payment_method", REC, "paymentMethod"),
        Col("External payment ID", "transactions.external_payment_id", REC, "externalPaymentId"),
    ),
    required=(("Transaction ID",), ("Customer ID",), ("Offer ID",), ("Date / Time", "Date")),
    # The report lists completed transactions: without a status column each is captured.
    defaults={"status": "captured"},
)

SUBSCRIPTIONS = Report(
    "churniq-subscriptions",
    "Subscription Report",
    "subscriptions",
    "subscriptionId",
    (
        Col("Subscription ID", "subscriptions.subscription_id", REC, "subscriptionId", "int"),
        Col("Customer ID", "subscriptions.customer_id", REC, "customerId", "int"),
        Col("First name", "customer.first_name", CUST, "firstName"),
        Col("Last name", "customer.last_name", CUST, "lastName"),
        Col("", "customer.email", CUST, "email"),
        Col("Country", "customer.country", CUST, "country"),
        Col("Account activation date", "customer.activation_date", CUST, "regDate", "cdate"),
        Col("Last login date", "customer.last_login_date", CUST, "lastLoginDate", "cdate"),
        Col("Offer title", "offers.offer_title"),
        Col("Offer ID", "subscriptions.offer_id", REC, "offerId"),
        Col("Offer group ID", "offers.offer_group_id"),
        Col("Offer price", "offers.offer_price"),
        Col("Offer currency", "offers.offer_currency"),
        Col("Offer period", "offers.offer_period", REC, "period", "period"),
        Col("Subscription status", "subscriptions.status", REC, "status"),
        Col("Start date", "subscriptions.start_date", REC, "dateFrom", "instant"),
        Col("Expiry date", "subscriptions.expiry_date", REC, "dateTo", "instant"),
        Col("In trial", "subscriptions.in_trial", REC, "inTrial", "flag"),
        Col(
            "Next payment price",
            "subscriptions.next_payment_price",
            REC,
            "nextPaymentPrice",
            "money",
        ),
        Col(
            "Next payment currency",
            "subscriptions.next_payment_currency",
            REC,
            "nextPaymentCurrency",
        ),
        Col("Payment gateway", "subscriptions.payment_gateway", REC, "paymentGateway"),
        Col("Payment method", "subscriptions.payment_method", REC, "paymentMethod"),
        Col("Coupon code", "subscriptions.coupon_code", REC, "couponCode"),
        Col("Completed renewals", "subscriptions.renewals", REC, "renewalCycle", "renewals"),
    ),
    required=(("Subscription ID",), ("Customer ID",), ("Offer ID",)),
    needed=("Subscription status",),
)

PASSES = Report(
    "churniq-passes",
    "Pass Report",
    "passes",
    "passId",
    (
        Col("Pass ID", "passes.pass_id", REC, "passId", "int"),
        Col("Customer ID", "passes.customer_id", REC, "customerId", "int"),
        Col("Publisher ID", "passes.publisher_id"),
        Col("First name", "customer.first_name", CUST, "firstName"),
        Col("Last name", "customer.last_name", CUST, "lastName"),
        Col("", "customer.email", CUST, "email"),
        Col("Country", "customer.country", CUST, "country"),
        Col(
            "Account Activation Date Time",
            "customer.activation_date_time",
            CUST,
            "regDate",
            "cdate",
        ),
        Col(
            "Last Login Date Time", "customer.last_login_date_time", CUST, "lastLoginDate", "cdate"
        ),
        Col("Offer Title", "offers.offer_title"),
        Col("Offer ID", "passes.offer_id", REC, "offerId"),
        Col("Offer group ID", "offers.offer_group_id"),
        Col("Offer price", "offers.offer_price"),
        Col("Offer currency", "offers.offer_currency"),
        Col("Offer period", "offers.offer_period"),
        Col("Pass status", "passes.status", REC, "status"),
        Col("Payment method", "passes.payment_method"),
        Col("Last Transaction Date Time", "passes.last_transaction_date_time"),
        Col("Expiry Date Time", "passes.expires_at", REC, "expiresAt", "instant"),
    ),
    required=(("Pass ID",), ("Customer ID",), ("Offer ID",)),
    needed=("Pass status",),
)

REPORTS = {r.fmt: r for r in (TRANSACTIONS, SUBSCRIPTIONS, PASSES)}
# Recognition order: the Transactions report also carries Subscription and Pass ID columns.
_NAMING = (
    ("Transaction ID", TRANSACTIONS),
    ("Subscription ID", SUBSCRIPTIONS),
    ("Pass ID", PASSES),
)


# Source names the vendor's pages give wrongly (Last name as customer.first_name): the right
# one is read too.
_ALIASES = {"customer.last_name": "Last name"}


def norm(header: str) -> str:
    """A header as matched: case folded, whitespace collapsed (the BOM is already gone)."""
    return " ".join(header.split()).casefold()


def recognise(name: str, header: Sequence[str]) -> Report:
    """The report a header row belongs to, or UsageProblem naming what is missing."""
    names = {norm(h) for h in header}
    for display, report in _NAMING:
        col = next(c for c in report.columns if c.display == display)
        if norm(col.display) in names or norm(col.source) in names:
            return report
    shown = ", ".join(repr(h) for h in header[:6] if h.strip()) or "none"
    raise UsageProblem(
        f"{name}: not a ChurnIQ export: no 'Transaction ID', 'Subscription ID' or 'Pass ID' "
        f"column (its columns: {shown}{', ...' if len(header) > 6 else ''}; srm reads the "
        "Transactions, Subscription and Pass reports)"
    )


def _shape(values: list[str]) -> str:
    """What a column's sample values look like: datetime, date, int, email or empty."""
    seen = [x.strip() for x in values if x.strip()]
    if not seen:
        return "empty"
    if all(EMAIL.match(x) for x in seen):
        return "email"
    if all(x.isdigit() for x in seen):
        return "int"
    if all(len(x) > 10 and x[4:5] == "-" for x in seen):
        return "datetime"
    if all(len(x) == 10 and x[4:5] == "-" for x in seen):
        return "date"
    return "text"


@dataclass
class Layout:
    """Which file column holds which known column; the rest are kept by their header."""

    report: Report
    width: int
    known: list[tuple[int, Col]]
    kept: list[tuple[int, str]]  # (index, name under ``churniq``)
    missing_needed: list[str]

    @property
    def records(self) -> bool:
        """Whether rows give main records (else only their customers are imported)."""
        return not self.missing_needed


def layout(
    name: str, report: Report, header: Sequence[str], sample: Sequence[Sequence[str]]
) -> Layout:
    """Map the header onto the report's columns; UsageProblem names a missing required one.

    Source names given to several columns are told apart by position (first
    ``customer.first_name`` = first name) and by value shape (the transaction date column
    whose values carry a time is Date / Time; YYYY-MM-DD is Date; numbers are Month, Week).
    """
    by_display = {norm(c.display): c for c in report.columns if c.display}
    by_source: dict[str, list[Col]] = {}
    for c in report.columns:
        by_source.setdefault(norm(c.source), []).append(c)
    taken: set[str] = set()
    known: list[tuple[int, Col]] = []
    kept: list[tuple[int, str]] = []

    def column(i: int) -> list[str]:
        return [row[i] for row in sample if i < len(row)]

    for i, cell in enumerate(header):
        key = norm(cell)
        col = by_display.get(key) if key else None
        if col is None and key in _ALIASES:
            col = by_display.get(norm(_ALIASES[key]))
        if col is None and key in by_source:
            options = [c for c in by_source[key] if c.display not in taken]
            if len(options) > 1 and key == "transactions.transaction_date":
                shape = _shape(column(i))
                wanted = {"datetime": "Date / Time", "date": "Date"}.get(shape)
                pick = (
                    [c for c in options if c.display == wanted]
                    if wanted
                    else [c for c in options if c.field is None]
                )
                options = pick or options
            col = options[0] if options else None
        if col is None and not key:
            # The vendor's Subscription and Pass reports leave the email column unlabelled.
            email = next(
                (c for c in report.columns if c.display == "" and c.field == "email"), None
            )
            if email is not None and "" not in taken and _shape(column(i)) == "email":
                col = email
        if col is not None and col.display not in taken:
            taken.add(col.display)
            known.append((i, col))
        else:
            label = cell.strip() or f"column {i + 1}"
            names = {n for _, n in kept}
            base, n = label, 2
            while label in names:
                label, n = f"{base} ({n})", n + 1
            kept.append((i, label))
    for options in report.required:
        if not any(o in taken for o in options):
            source = next(c.source for c in report.columns if c.display == options[0])
            wanted = " or ".join(f"'{o}'" for o in options)
            raise UsageProblem(
                f"{name}: {report.title} without a {wanted} column (source name {source})"
            )
    # Date alone is the day's 00:00: used only when the file has no Date / Time column.
    if "Date / Time" in taken and "Date" in taken:
        kept += [(i, "Date") for i, c in known if c.display == "Date"]
        known = [(i, c) for i, c in known if c.display != "Date"]
    missing = [n for n in report.needed if n not in taken]
    return Layout(report, len(header), known, sorted(kept), missing)


def _nullable(entity: str) -> set[str]:
    """API fields of the entity's model that may be null (an empty cell is sent as null
    only there; elsewhere it is left out and the model's default or derivation applies)."""
    from srm_tui.domain import models as m

    model, _ = m.ENTITIES[entity]
    out = set()
    for name, info in model.model_fields.items():
        if not info.is_required() and info.default is None:
            out.add(info.alias or name)
    return out


def converter(
    lay: Layout, clock: v.Clock
) -> Callable[[Sequence[str]], tuple[dict[str, Any] | None, dict[str, Any]]]:
    """A function from a row's cells to (main record or None, customer), each a dict in the
    API's shape; it raises ValueError naming the column whose value is wrong."""
    report = lay.report
    nullable = _nullable(report.entity)
    parsers: dict[str, Callable[[str], Any] | None] = {
        "text": None,
        "int": v.integer,
        "money": v.money,
        "flag": v.flag,
        "instant": clock.instant,
        "cdate": clock.customer_date,
        "period": v.period,
        "renewals": lambda t: {"completed": v.integer(t)},
    }
    # Per column: index, label, into the record (else the customer), API field, parser,
    # whether its text is also kept, whether an empty cell is sent as null.
    fields = [
        (
            i,
            c.display or "(email)",
            c.target == REC,
            c.field,
            parsers[c.kind],
            c.kind == "period",
            c.target == REC and c.field in nullable,
        )
        for i, c in lay.known
        if c.target is not None
    ]
    # Columns kept as text under ``churniq``, in the file's order.
    kept = sorted([(i, c.display) for i, c in lay.known if c.target is None] + lay.kept)
    records = lay.records
    defaults = report.defaults

    def convert(row: Sequence[str]) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        rec: dict[str, Any] = {}
        cust: dict[str, Any] = {}
        extra: dict[str, str] = {}
        for i, label, to_rec, name, parse, keep, null_ok in fields:
            text = row[i].strip()
            if not text:
                if null_ok:
                    rec[name] = None
                continue
            if parse is None:
                value: Any = text
            else:
                try:
                    value = parse(text)
                except ValueError as exc:
                    raise ValueError(f"{label}: {exc}") from None
                if keep:
                    extra[label] = text
                if value is None:
                    continue
            if to_rec:
                rec[name] = value
            else:
                cust[name] = value
        for i, label in kept:
            text = row[i].strip()
            if text:
                extra[label] = text
        customer_id = rec.get("customerId")
        if customer_id is None:
            raise ValueError("Customer ID: empty")
        cust["id"] = customer_id
        if not records:
            return None, cust
        for name, value in defaults.items():
            rec.setdefault(name, value)
        if extra:
            rec["churniq"] = extra
        return rec, cust

    return convert

"""One customer's account as an agent reads it: derived figures and one timeline.

Pure functions over the records in the API's shapes (``srm customer show``), using the
lifecycle rules of CONTRACT section 5.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from srm_tui.domain import lifecycle as lc

IN_APP = {
    "apple": "Apple App Store",
    "android": "Google Play",
    "roku": "Roku",
    "amazon": "Amazon Appstore",
}
EMAIL_TYPES = {
    "welcome": "Welcome",
    "access_purchased": "Access purchased",
    "invoice": "Invoice",
    "renewal_reminder": "Renewal reminder",
    "subscription_renewed": "Subscription renewed",
    "access_expired": "Access expired",
    "payment_failed": "Failed payment",
    "password_reset": "Password reset",
    "card_expiring": "Card expiring",
    "refund_confirmation": "Refund confirmation",
    "gift": "Gift",
    "subscription_switched": "Subscription switched",
    "subscription_stopped": "Subscription stopped",
}
TIMELINE_KINDS = ("subscription", "pass", "payment", "switch", "email", "note", "change", "agent")


@dataclass
class NextPayment:
    date: int
    amount: float | None
    currency: str | None
    offer_id: str
    subscription_id: int


@dataclass
class Event:
    at: int
    kind: str
    text: str
    ref: str = ""


@dataclass
class Account:
    customer: dict[str, Any]
    status: str
    has_active_subscription: bool
    mrr: dict[str, float]  # per currency
    lifetime_revenue: dict[str, float]  # per currency
    lifetime_transactions: int
    subscription_states: dict[int, str] = field(default_factory=dict)
    next_payment: NextPayment | None = None
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        c = self.customer
        return " ".join(p for p in (c.get("firstName"), c.get("lastName")) if p)

    @property
    def anonymized(self) -> bool:
        keys = ("email", "firstName", "lastName")
        c = self.customer
        # Wiped by the API (sent as null), not merely unknown yet (a bare imported id).
        return all(k in c for k in keys) and not any(c.get(k) for k in keys)


def _add(totals: dict[str, float], currency: str | None, amount: float) -> None:
    if amount:
        key = currency or "?"
        totals[key] = round(totals.get(key, 0.0) + amount, 2)


def build(record: dict[str, Any], now: int) -> Account:
    """The account view of ``queries.customer_record`` output at instant ``now``."""
    subs = record.get("subscriptions", [])
    passes = record.get("passes", [])
    txns = record.get("transactions", [])
    states = {
        s["subscriptionId"]: lc.subscription_state(
            s["status"], bool(s.get("inTrial")), s.get("dateTo"), now
        )
        for s in subs
    }
    status = lc.customer_status(
        states.values(), [(p["status"], p.get("expiresAt")) for p in passes], now
    )
    mrr: dict[str, float] = {}
    for s in subs:
        if states[s["subscriptionId"]] in ("active", "grace"):
            _add(
                mrr,
                s.get("nextPaymentCurrency"),
                lc.subscription_mrr(s.get("nextPaymentPrice"), s.get("period")),
            )
    revenue: dict[str, float] = {}
    for t in txns:
        _add(
            revenue,
            t.get("currency"),
            lc.transaction_revenue(t["status"], t.get("amount") or 0.0, t.get("refundedAmount")),
        )
    renewing = [
        s for s in subs if states[s["subscriptionId"]] in ("trial", "active") and s.get("dateTo")
    ]
    next_payment = None
    if renewing:
        s = min(renewing, key=lambda s: s["dateTo"])
        next_payment = NextPayment(
            s["dateTo"],
            s.get("nextPaymentPrice"),
            s.get("nextPaymentCurrency"),
            s["offerId"],
            s["subscriptionId"],
        )
    return Account(
        customer=record["customer"],
        status=status,
        has_active_subscription=any(
            st in ("trial", "active", "grace", "cancelled") for st in states.values()
        ),
        mrr=mrr,
        lifetime_revenue=revenue,
        lifetime_transactions=sum(1 for t in txns if t["status"] in ("captured", "refunded")),
        subscription_states=states,
        next_payment=next_payment,
        records=record,
    )


def started_at(subscription: dict[str, Any]) -> int | None:
    """CONTRACT section 5: a subscription's ``createdAt`` when present, else ``dateFrom``."""
    created = subscription.get("createdAt")
    return created if created is not None else subscription.get("dateFrom")


def _money(amount: Any, currency: str | None) -> str:
    from srm_tui.domain.money import money as one

    return one(amount, currency)


def money(totals: dict[str, float], currency: str | None = None) -> str:
    """Per-currency totals, each in its own minor units with its code (``1,480 JPY``);
    nothing at all reads as zero in ``currency`` (the customer's own), e.g. ``0.00 EUR``."""
    from srm_tui.domain.money import money as one

    if not totals:
        return one(0, currency)
    return ", ".join(one(amount, code) for code, amount in sorted(totals.items()))


def timeline(
    record: dict[str, Any], audit: list[dict[str, Any]] | None = None, now: int | None = None
) -> list[Event]:
    """Subscriptions, passes, payments, switches, emails, notes, changes and agent actions,
    newest first (``now`` tells an end still ahead from one past)."""
    events: list[Event] = []
    for s in record.get("subscriptions", []):
        started = started_at(s)
        if started is not None:
            events.append(
                Event(
                    started,
                    "subscription",
                    f"Subscription {s['subscriptionId']} to {s['offerId']} started "
                    f"({s.get('period')}, {s.get('paymentGateway')})",
                    str(s["subscriptionId"]),
                )
            )
        end = s.get("dateTo") or started
        if (
            s.get("cancellationReason")
            and s.get("status") in ("stopped", "terminated")
            and end is not None
        ):
            # A cancelled subscription still runs to the end of its period: that end is the
            # event, and it may lie ahead.
            verb = "ends" if now is not None and end > now else s["status"]
            events.append(
                Event(
                    end,
                    "subscription",
                    f"Subscription {s['subscriptionId']} {verb}: {s['cancellationReason']}",
                    str(s["subscriptionId"]),
                )
            )
        for key in ("replacedBy", "originatedFrom"):
            link = s.get(key)
            if isinstance(link, dict) and link.get("date"):
                events.append(
                    Event(
                        link["date"],
                        "switch",
                        f"Subscription {s['subscriptionId']} "
                        f"{'switched to' if key == 'replacedBy' else 'switched from'} "
                        f"{link.get('subscriptionId')} ({link.get('reason') or 'switch'})",
                        str(s["subscriptionId"]),
                    )
                )
    for p in record.get("passes", []):
        if p.get("createdAt") is None:
            continue  # no date known: neither the record nor a transaction gives one
        events.append(
            Event(
                p["createdAt"],
                "pass",
                f"Pass {p['passId']} for {p['offerId']} ({p['status']})",
                str(p["passId"]),
            )
        )
    for t in record.get("transactions", []):
        if t.get("transactionDate") is None:
            continue  # a webhook's transaction may come without its date
        text = (
            f"{t['status'].capitalize()} {_money(t.get('amount'), t.get('currency'))} "
            f"for {t.get('offerId')}"
        )
        if t["status"] == "rejected" and t.get("rejectedReason"):
            text += f": {t['rejectedReason']}"
        refunded = t.get("refundedAmount")
        # A transaction refunded in full already says its amount once ("Refunded 47.99 EUR").
        if refunded and not (
            t["status"] == "refunded"
            and _money(refunded, t.get("currency")) == _money(t.get("amount"), t.get("currency"))
        ):
            text += f" (refunded {_money(refunded, t.get('currency'))})"
        kind = "switch" if t.get("paymentOperation") == "offer-switch" else "payment"
        events.append(Event(t["transactionDate"], kind, text, t["transactionId"]))
    for e in record.get("emails", []):
        label = EMAIL_TYPES.get(e["type"], e["type"])
        state = "sent" if e["status"] == "sent" else "generated, not sent"
        events.append(Event(e["createdAt"], "email", f"Email '{label}' {state}", str(e["id"])))
    for n in record.get("notes", []):
        verb = "deleted" if n.get("deletedAt") else "added"
        events.append(
            Event(
                n["createdAt"],
                "note",
                f"Note by {n['author']} {verb}: {n['text'][:80]}",
                str(n["id"]),
            )
        )
    for h in record.get("history", []):
        fields = ", ".join(c.get("field", "?") for c in h.get("changes", []))
        events.append(
            Event(
                h["date"], "change", f"{h.get('editor') or 'system'} changed {fields}", str(h["id"])
            )
        )
    for a in audit or []:
        events.append(
            Event(
                a["at"],
                "agent",
                f"{a['agent']} {a['action']} {a.get('target') or ''}: {a['outcome']}".strip(),
                str(a["id"]),
            )
        )
    # The vendor models (pydantic) are not loaded before the console's first frame: only an
    # opened account needs this parser.
    from srm_tui.domain.models import parse_customer_date

    reg = parse_customer_date(record["customer"].get("regDate"))
    if reg:
        events.append(Event(reg, "change", "Registered", ""))
    events.sort(key=lambda e: e.at, reverse=True)
    return events

"""Lifecycle states, MRR and revenue: the rules of CONTRACT section 5, as pure functions.

The SQL in storage and segments computes the same things in bulk; tests hold the two to
agreement. Instants are unix seconds.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

SUBSCRIPTION_STATES = ("trial", "active", "grace", "cancelled", "paused", "churned")
CUSTOMER_STATUSES = ("active", "paused", "churned", "prospect")
IN_APP_GATEWAYS = ("apple", "android", "roku", "amazon")
WEB_GATEWAYS = ("adyen", "paypal", "free-offer")
CHANNELS = ("web",) + IN_APP_GATEWAYS

# Monthly factor of a price billed once per period.
MRR_FACTOR = {
    "day": 365 / 12,
    "week": 52 / 12,
    "month": 1.0,
    "3months": 1 / 3,
    "6months": 1 / 6,
    "year": 1 / 12,
    "season": 1 / 12,
}


def subscription_state(status: str, in_trial: bool, expires_at: int | None, now: int) -> str:
    """The lifecycle state of a subscription from its raw status, trial flag and dateTo."""
    expired = expires_at is not None and expires_at < now
    if status == "paused":
        return "paused"
    if status == "terminated" or (status == "stopped" and expired):
        return "churned"
    if status == "stopped":
        return "cancelled"
    if expired:
        return "grace"
    return "trial" if in_trial else "active"


def pass_is_active(status: str, expires_at: int | None, now: int) -> bool:
    return status == "active" and (expires_at is None or expires_at >= now)


def pass_state(status: str, expires_at: int | None, now: int) -> str:
    """What a pass is at ``now``: its status, except that an "active" pass past its end is
    "expired" (the vendor's status may lag its expiresAt; CONTRACT section 5)."""
    if status == "active" and not pass_is_active(status, expires_at, now):
        return "expired"
    return status


def customer_status(
    sub_states: Iterable[str], passes: Iterable[tuple[str, int | None]], now: int
) -> str:
    """Customer status from its subscriptions' states and its passes' (status, expiresAt)."""
    states = list(sub_states)
    passes = list(passes)
    if any(s in ("trial", "active", "grace", "cancelled") for s in states) or any(
        pass_is_active(st, exp, now) for st, exp in passes
    ):
        return "active"
    if "paused" in states:
        return "paused"
    if states or passes:
        return "churned"
    return "prospect"


def subscription_mrr(price: float | None, period: str | None) -> float:
    if price is None or period is None:
        return 0.0
    return price * MRR_FACTOR.get(period, 0.0)


def customer_mrr(subs: Iterable[tuple[str, float | None, str | None]]) -> float:
    """Sum of MRR over subscriptions (state, price, period) in state active or grace."""
    return sum(subscription_mrr(p, per) for st, p, per in subs if st in ("active", "grace"))


def transaction_revenue(status: str, amount: float, refunded_amount: float | None) -> float:
    if status == "captured":
        return amount
    if status == "refunded":
        return amount - (refunded_amount or 0.0)
    return 0.0


def revenue(transactions: Iterable[dict[str, Any]]) -> float:
    """Captured amounts plus what is left of refunded ones."""
    return sum(
        transaction_revenue(t["status"], t.get("amount") or 0.0, t.get("refundedAmount"))
        for t in transactions
    )


def channel(gateway: str | None) -> str:
    return gateway if gateway in IN_APP_GATEWAYS else "web"

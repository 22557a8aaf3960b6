"""Reading the offer catalogue: kinds, periods and prices as an agent names them."""

from __future__ import annotations

from typing import Any

from srm_tui.domain.fold import fold
from srm_tui.domain.money import money
from srm_tui.domain.time import DAY_FORMAT, MINUTE_FORMAT, day, in_zone, utc

# The offer kinds, by the letter that starts an offer's id: the one definition srm has.
LETTERS = ("S", "P", "E", "A", "R")
KINDS = {
    "S": "subscription",
    "P": "pass",
    "E": "live event",
    "A": "one-time purchase",
    "R": "rental",
}
# Each letter's Core 3.1 offer ``type`` (as the vendor's v2 types say: a rental is a vod).
API_TYPES = {"S": "subscription", "P": "pass", "E": "live", "A": "vod", "R": "vod"}
PERIODS = {
    "day": "daily",
    "week": "weekly",
    "month": "monthly",
    "year": "yearly",
    "season": "per season",
}


def kind(offer_id: str) -> str:
    """The offer's kind from its id letter (S, P, E, A, R)."""
    return KINDS.get(offer_id[:1], "unknown")


def period(offer: dict[str, Any]) -> str:
    """Billing period, pass duration, event time or rental window, in words."""
    cycle = offer.get("billingCycle")
    if cycle:
        unit, amount = cycle.get("periodUnit"), cycle.get("amount") or 1
        if unit == "month" and amount in (3, 6):
            return f"every {amount} months"
        return PERIODS.get(unit, unit or "—") if amount == 1 else f"every {amount} {unit}s"
    ent = offer.get("entitlement")
    if ent:
        if ent.get("expirationPolicy") == "fixed-date" and ent.get("expiresAt"):
            return "until " + day(ent["expiresAt"])
        dur = ent.get("duration") or {}
        if dur.get("periodUnit") == "hour":
            return f"{dur.get('amount')} h rental window"
        if dur:
            return f"{dur.get('amount')} {dur.get('periodUnit')}s"
    event = offer.get("event")
    if event and event.get("startsAt"):
        # The event's own wall-clock time beside its zone's name (20:00 Europe/Warsaw).
        return in_zone(event["startsAt"], event.get("timezone") or "UTC")
    return "lifetime" if offer.get("id", "")[:1] == "A" else "—"


FILTER_HELP = "filter: text, type:pass, state:inactive, tag:sport"
TYPES = {
    "subscription": "S",
    "pass": "P",
    "event": "E",
    "live": "E",
    "one-time": "A",
    "purchase": "A",
    "vod": "A",
    "rental": "R",
}


def matches(offer: dict[str, Any], query: str) -> bool:
    """Every term must hold: type:, state:, tag: or text in id, title or tags."""
    for term in query.split():
        name, sep, value = term.partition(":")
        value = fold(value)
        if sep and name == "type":
            letter = next((v for k, v in TYPES.items() if k.startswith(value)), None)
            if value.upper() in LETTERS:
                letter = value.upper()
            if letter is None or offer["id"][:1] != letter:
                return False
        elif sep and name == "state":
            if value not in ("active", "inactive") or offer.get("active") != (value == "active"):
                return False
        elif sep and name == "tag":
            if not any(fold(t).startswith(value) for t in offer.get("tags") or []):
                return False
        else:
            haystack = fold(
                " ".join(
                    [
                        offer["id"],
                        offer.get("title") or "",
                        *(offer.get("tags") or []),
                        *(loc.get("id") or "" for loc in offer.get("localizations") or []),
                    ]
                )
            )
            if fold(term) not in haystack:
                return False
    return True


def price(p: dict[str, Any] | None) -> str:
    if not p:
        return "—"
    tax = " incl. tax" if p.get("taxIncluded") else ""
    return f"{money(p.get('amount'), p.get('currency'))}{tax}"


def _date(ts: int, with_time: bool = False) -> str:
    """A UTC day (or minute) of the catalogue, through domain.time like every date shown."""
    return utc(ts, MINUTE_FORMAT if with_time else DAY_FORMAT)


# Subscription states with access now: the holders the catalogue counts.
HOLDING_STATES = ["trial", "active", "grace", "cancelled"]


def holders_segment(offer: dict[str, Any]) -> dict[str, Any] | None:
    """A segment file (CONTRACT section 4) whose members are the offer's holders.

    Only subscription offers have one: the segment attributes name a customer's
    subscriptions by offer, but not their passes.
    """
    if offer["id"][:1] != "S":
        return None
    return {
        "version": 1,
        "name": f"Holders of {offer['id']} ({offer.get('title') or ''})",
        "tags": ["offer-holders"],
        "selector": "any",
        "where": {
            "all": [
                {"attr": "subscription.offer_id", "op": "starts_with", "value": f"{offer['id']}_"},
                {"attr": "subscription.state", "op": "in", "value": HOLDING_STATES},
            ]
        },
    }

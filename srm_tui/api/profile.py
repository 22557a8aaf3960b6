"""Which API srm talks to: the vendor's published surface, or the sandbox with its extensions.

A profile is a fixed table of features, each available or not with the reason (the vendor call
it uses, or why none exists and the vendor's own way to do the thing). ``detect`` probes the
API; ``resolve`` caches the answer in the cache's ``meta`` table (key ``api_profile``) for the
API URL it belongs to. The caching functions take a sqlite connection, so this module imports
no storage code.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from srm_tui.api import errors

if TYPE_CHECKING:
    import sqlite3

    from srm_tui.api.client import ApiClient

VENDOR, SANDBOX = "vendor", "sandbox"
PROFILES = (VENDOR, SANDBOX)

FEATURES = (
    "sync",
    "fetch",
    "edit",
    "anonymize",
    "extend",
    "cancel",
    "pause",
    "resume",
    "terminate",
    "activate",
    "transfer",
    "switch",
    "coupon",
    "refund",
    "cancel_transaction",
    "delete_payment_details",
    "resend_email",
    "notes",
    "emails",
    "history",
    "transactions",
    "payment_details",
    "webhooks",
    "offers",
)

# What a person would call each feature in a sentence ("Refund: not offered by this API").
LABELS = {
    "sync": "Sync",
    "fetch": "Fetch",
    "edit": "Edit",
    "anonymize": "Anonymize",
    "extend": "Extend access",
    "cancel": "Cancel",
    "pause": "Pause",
    "resume": "Resume",
    "terminate": "Terminate",
    "activate": "Re-activate",
    "transfer": "Transfer",
    "switch": "Switch offer",
    "coupon": "Apply coupon",
    "refund": "Refund",
    "cancel_transaction": "Cancel transaction",
    "delete_payment_details": "Delete payment details",
    "resend_email": "Resend email",
    "notes": "Notes",
    "emails": "Emails",
    "history": "History",
    "transactions": "Transactions",
    "payment_details": "Payment details",
    "webhooks": "Webhooks",
    "offers": "Offers",
}

META_KEY = "api_profile"


@dataclass(frozen=True)
class Feature:
    """One feature of a profile: available or not, why, and the vendor's own way if not."""

    name: str
    available: bool
    reason: str
    vendor_way: str | None = None
    local: bool = False

    @property
    def label(self) -> str:
        return LABELS.get(self.name, self.name)


class NotOffered(Exception):
    """A feature the connected API does not offer; the message names the vendor's way."""

    def __init__(self, feature: Feature):
        self.feature = feature
        text = f"{feature.label}: not offered by this API."
        if feature.vendor_way:
            text += f" {feature.vendor_way}"
        super().__init__(text)


@dataclass(frozen=True)
class ApiProfile:
    """A profile: its name and the fixed table of its features."""

    name: str
    features: dict[str, Feature]

    def offers(self, feature: str) -> bool:
        """True when the connected API offers ``feature`` (srm's own store counts)."""
        return self.feature(feature).available

    def feature(self, feature: str) -> Feature:
        """The feature row; an unknown name is a programming error (KeyError)."""
        return self.features[feature]

    def require(self, feature: str) -> None:
        """Raise NotOffered when the feature is not available in this profile."""
        row = self.feature(feature)
        if not row.available:
            raise NotOffered(row)

    def unavailable(self) -> list[Feature]:
        """The features this API does not offer, in FEATURES order."""
        return [self.features[n] for n in FEATURES if not self.features[n].available]

    @property
    def title(self) -> str:
        """How the status line names it."""
        return "vendor API" if self.name == VENDOR else "sandbox API"

    def as_json(self) -> dict[str, Any]:
        """``{"profile": name, "features": {NAME: {"available", "reason"}}}`` (CONTRACT 7)."""
        return {
            "profile": self.name,
            "features": {
                n: {"available": self.features[n].available, "reason": self.features[n].reason}
                for n in FEATURES
            },
        }


# The vendor's own ways for what it does not publish (cleeng-api.md sections 4 and 8).
# Refunds and cancellations are one page of the dashboard, so both actions name it in one
# sentence (the console says it once for both).
_REFUND_WAY = (
    "Refunds and transaction cancellations are made in the Cleeng dashboard: Customer "
    "Accounts, the customer, Transactions, then 'Cancel transaction and refund'."
)
_CANCEL_TX_WAY = _REFUND_WAY
_PAYMENT_DETAILS_WAY = (
    "Payment details are managed in the Cleeng dashboard: Customer "
    "Accounts, the customer; the Core API has no payment-details call for "
    "publishers."
)
_EMAILS_WAY = (
    "Cleeng sends transactional emails itself; they can be configured, not listed "
    "or resent: Dashboard > Admin & Tools > email templates."
)
_TRANSACTIONS_WAY = (
    "Transactions come from the ChurnIQ Transactions Report exports via "
    "`srm import`, and from transactionCreated webhooks; the dashboard lists "
    "them under Customer Accounts, the customer, Transactions."
)


def _on(name: str, reason: str, local: bool = False) -> Feature:
    return Feature(name, True, reason, None, local)


def _off(name: str, reason: str, way: str) -> Feature:
    return Feature(name, False, reason, way)


_VENDOR_TABLE: tuple[Feature, ...] = (
    _on(
        "sync",
        "imports and webhooks name the customers; each is refreshed by "
        "GET /customers/{id}, GET /subscriptions?customerId=, GET /passes?customerId=; offers "
        "by GET /offers, GET /offers/season-groups, campaigns by GET /campaigns?couponCode=",
    ),
    _on(
        "fetch",
        "GET /customers/{id}, or GET /customers?email= for an email; then its "
        "subscriptions and passes",
    ),
    _on("edit", "PATCH /customers/{id}"),
    _on(
        "anonymize",
        "GET /entitlements?customerId=, terminate the active ones, then "
        "DELETE /customers/{id} (the documented anonymization flow)",
    ),
    _on("extend", "PATCH /subscriptions/{id} or PATCH /passes/{id} with expiresAt"),
    _on("cancel", "POST /subscriptions/{id}/cancel"),
    _on("pause", "POST /subscriptions/{id}/pause"),
    _on("resume", "POST /subscriptions/{id}/resume"),
    _on(
        "terminate",
        "POST /subscriptions/{id}/terminate (with its type) or POST /passes/{id}/terminate",
    ),
    _on("activate", "POST /subscriptions/{id}/activate"),
    _on("transfer", "POST /subscriptions/{id}/transfer or POST /passes/{id}/transfer"),
    _on("switch", "POST /subscription_switches"),
    _on("coupon", "PATCH /subscriptions/{id} with couponCode"),
    _off("refund", "the vendor publishes no refund call for publishers", _REFUND_WAY),
    _off("cancel_transaction", "the vendor publishes no transaction-cancel call", _CANCEL_TX_WAY),
    _off(
        "delete_payment_details",
        "the Core API has no payment-details delete call for publishers",
        _PAYMENT_DETAILS_WAY,
    ),
    _off("resend_email", "the vendor publishes no email API", _EMAILS_WAY),
    _on(
        "notes", "the vendor publishes no notes API; notes are kept in srm's own store", local=True
    ),
    _off("emails", "the vendor publishes no call listing the emails it sent", _EMAILS_WAY),
    _on("history", "srm's own audit merged with what sync and webhooks saw", local=True),
    _off("transactions", "the vendor publishes no call listing transactions", _TRANSACTIONS_WAY),
    _off(
        "payment_details",
        "the vendor publishes no call listing a customer's payment details",
        _PAYMENT_DETAILS_WAY,
    ),
    _on("webhooks", "GET /webhook_subscriptions, PUT /webhook_subscriptions/{topic}"),
    _on("offers", "GET /offers, PATCH /offers/{id}, GET /offers/season-groups"),
)

# The sandbox offers everything: the published calls above plus its /x-srm/ extensions.
_SANDBOX_REASONS = {
    "sync": "GET /x-srm/{entity}?since= enumerates every record changed since the last sync",
    "fetch": "GET /customers/{id} or GET /customers?email=, then GET /x-srm/* for the "
    "customer's records",
    "refund": "POST /x-srm/transactions/{id}/refund (sandbox extension)",
    "cancel_transaction": "POST /x-srm/transactions/{id}/cancel (sandbox extension)",
    "delete_payment_details": "DELETE /x-srm/payment-details/{id} (sandbox extension)",
    "resend_email": "POST /x-srm/emails/{id}/resend (sandbox extension)",
    "notes": "GET/POST/PATCH /x-srm/notes (sandbox extension)",
    "emails": "GET /x-srm/emails (sandbox extension)",
    "history": "srm's own audit merged with the sandbox's records",
    "transactions": "GET /x-srm/transactions (sandbox extension)",
    "payment_details": "GET /x-srm/payment-details (sandbox extension)",
}


def _vendor() -> ApiProfile:
    return ApiProfile(VENDOR, {row.name: row for row in _VENDOR_TABLE})


def _sandbox() -> ApiProfile:
    vendor = _vendor().features
    rows = {
        name: Feature(name, True, _SANDBOX_REASONS.get(name, vendor[name].reason))
        for name in FEATURES
    }
    return ApiProfile(SANDBOX, rows)


_TABLES = {VENDOR: _vendor(), SANDBOX: _sandbox()}


def profile_for(name: str) -> ApiProfile:
    """The fixed feature table of a profile (``vendor`` or ``sandbox``)."""
    try:
        return _TABLES[name]
    except KeyError:
        raise ValueError(f"unknown API profile {name!r} (expected vendor or sandbox)") from None


def detect(client: ApiClient) -> ApiProfile:
    """Probe the API: the sandbox's extension answering means SANDBOX, a 404 means VENDOR.

    Any other failure (unreachable, 5xx, a bad key) raises the client's error so the caller
    can fall back to a cached profile.
    """
    try:
        body, _ = client.get_json("/x-srm/customers", {"since": 0, "limit": 1})
    except errors.NotFound:
        return profile_for(VENDOR)
    if isinstance(body, dict) and isinstance(body.get("items"), list):
        return profile_for(SANDBOX)
    # A 200 in another shape (a proxy's page, a spoiled answer) proves neither profile.
    raise errors.MalformedResponse(
        "GET /x-srm/customers: the answer is neither the sandbox's "
        "{items: [...]} nor a 404; the API profile is unknown",
        body=body,
    )


# caching in the cache's meta table ------------------------------------------------------


def cached_profile(conn: sqlite3.Connection, api_url: str) -> ApiProfile | None:
    """The profile remembered for ``api_url``, or None (never detected, or another URL)."""
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (META_KEY,)).fetchone()
    if row is None:
        return None
    try:
        saved = json.loads(row[0])
        if saved.get("url") != _norm(api_url):
            return None
        return profile_for(saved["profile"])
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def remember_profile(conn: sqlite3.Connection, api_url: str, profile: ApiProfile) -> None:
    """Store the detected profile with the URL it belongs to and when it was seen."""
    value = json.dumps(
        {"profile": profile.name, "url": _norm(api_url), "detected_at": int(time.time())}
    )
    # One statement: it commits alone, or joins the caller's open transaction.
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (META_KEY, value),
    )


def resolve(conn: sqlite3.Connection, client: ApiClient, *, refresh: bool = False) -> ApiProfile:
    """The profile of the client's API: the cached one unless ``refresh`` or the URL changed;
    otherwise detected now and remembered. Detection failing raises the client's error (a
    caller that can go on without the API falls back to ``cached_profile``)."""
    if not refresh:
        known = cached_profile(conn, client.base_url)
        if known is not None:
            return known
    found = detect(client)
    remember_profile(conn, client.base_url, found)
    return found


def _norm(url: str) -> str:
    return url.rstrip("/")

"""The vendor's webhook topics and how srm reads the ids a delivery names.

Topic names come from the vendor's docs (cleeng-api.md §8, §4.L; cleeng-exports.md §9).
Every data field but the ids is optional there, and ids arrive as numbers or strings.
"""

from __future__ import annotations

from typing import Any

OFFER_TOPICS = frozenset({"offerCreated", "offerUpdated", "offerDeactivated", "offerPriceChanged"})
# Topics that name a customer whose records (customer, subscriptions, passes, ...) changed.
CUSTOMER_TOPICS = frozenset(
    {
        "customerRegistered",
        "transactionCreated",
        "subscriptionReadyForPaymentAuthorisation",
        "subscriptionReadyForPaymentCapture",
        "subscriptionReadyForTermination",
        "passCreated",
        "passExpirationChanged",
        "passTerminated",
        "paymentDetailsDeactivated",
        "refundPayment",
        "capturePayment",
        "customerUpdated",  # the sandbox's own extension
    }
)
KNOWN_TOPICS = OFFER_TOPICS | CUSTOMER_TOPICS | {"customerRequestedPasswordReset"}
# What `srm webhooks subscribe` registers by default: the topics that tell what changed.
# The payment-connector topics (subscriptionReadyFor..., refundPayment, capturePayment) ask
# the endpoint to act on a payment; srm handles them when they arrive but does not claim them.
SUBSCRIBE_TOPICS = (
    "customerRegistered",
    "transactionCreated",
    "passCreated",
    "passExpirationChanged",
    "passTerminated",
    "offerCreated",
    "offerUpdated",
    "offerDeactivated",
    "offerPriceChanged",
)


def as_id(value: Any) -> int | None:
    """A positive integer id from a number or a string of digits; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, float) and value.is_integer():
        return int(value) if value > 0 else None
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit() and len(text) <= 18:
            return int(text) or None
    return None


def as_text(value: Any, limit: int = 320) -> str | None:
    """A non-empty text value (an email, an external id), else None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and value.strip() and len(value) <= limit:
        return value.strip()
    return None


def short_offer_id(value: Any) -> str | None:
    """The offer id GET /offers/{id} takes: the short id, without a country suffix."""
    text = as_text(value, 64)
    if text is None:
        return None
    short = text.split("_", 1)[0]
    return short if short.isascii() and short.isalnum() else None

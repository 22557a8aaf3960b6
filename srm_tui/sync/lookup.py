"""Recognising what an identifier typed by an agent is."""

from __future__ import annotations

import re

from srm_tui.api.profile import ApiProfile
from srm_tui.domain.ids import TRANSACTION_ID

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CUSTOMER_ID = re.compile(r"^\d{6,10}$")


def classify(text: str) -> tuple[str, str | int]:
    """('email'|'transaction_id'|'customer_id'|'external_id', value) for an identifier."""
    value = text.strip()
    if EMAIL.match(value):
        return "email", value
    if TRANSACTION_ID.match(value.upper()):
        return "transaction_id", value.upper()
    if CUSTOMER_ID.match(value):
        return "customer_id", int(value)
    return "external_id", value


def not_fetched(profile: ApiProfile) -> dict[str, str]:
    """What a fetch leaves out in this profile, each with the vendor's way (empty when the
    API offers the whole account)."""
    out = {}
    for name in ("transactions", "payment_details", "emails"):
        feature = profile.feature(name)
        if not feature.available:
            out[name] = feature.vendor_way or feature.reason
    notes = profile.feature("notes")
    if notes.local:
        out["notes"] = notes.reason
    return out

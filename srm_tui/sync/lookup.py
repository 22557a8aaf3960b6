"""Recognising what an identifier typed by an agent is."""

from __future__ import annotations

import re

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

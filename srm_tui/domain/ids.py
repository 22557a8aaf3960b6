"""Identifier formats of the vendor (kept import-light: the console's start-up reads them)."""

from __future__ import annotations

import re

TRANSACTION_ID = re.compile(r"^T[1-9]\d{8}$")
OFFER_ID = re.compile(r"^[SPEAR][1-9]\d{8}(_[A-Z0-9]{2})?$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

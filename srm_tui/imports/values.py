"""Cell values of the vendor's exports: times in CET (or a named zone), money, flags, ids.

Each parser takes the cell's text (already stripped, never empty) and returns the API's
value, or raises ValueError with a short reason naming what was expected.
"""

from __future__ import annotations

import math
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from srm_tui.domain.models import format_customer_date
from srm_tui.domain.time import parse_export_time

_EPOCH = date(1970, 1, 1).toordinal()
_MONEY_GROUPED = re.compile(r"-?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_INTEGER = re.compile(r"\d+(?:\.0*)?")
_TRUE = frozenset({"yes", "true", "1", "y"})
_FALSE = frozenset({"no", "false", "0", "n"})
# The vendor's "CET" is read as a fixed UTC+01:00 (its pages do not say whether exports
# follow summer time); a named zone is given with --tz for exports that do.
FIXED_OFFSETS = {"CET": 3600, "UTC": 0, "Z": 0}


class Clock:
    """Reads the exports' local times in one zone as unix seconds."""

    def __init__(self, tz: str):
        self.name = tz
        self._offset = FIXED_OFFSETS.get(tz.upper())
        self._zone = None
        if self._offset is None:
            try:
                self._zone = ZoneInfo(tz)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(
                    f"not a time zone: {tz!r} (CET, UTC or an IANA name such as Europe/Paris)"
                ) from None

    def instant(self, text: str) -> int:
        """``YYYY-MM-DD HH:MM:SS`` (seconds optional; a date alone is its 00:00) -> unix s."""
        day, h, mi, s = parse_export_time(text)
        if self._zone is None:
            return (day.toordinal() - _EPOCH) * 86400 + h * 3600 + mi * 60 + s - self._offset
        return int(datetime(day.year, day.month, day.day, h, mi, s, tzinfo=self._zone).timestamp())

    def customer_date(self, text: str) -> str:
        """A customer date of the export as the API writes it: UTC ``YYYY-MM-DD HH:MM:SS``."""
        return format_customer_date(self.instant(text)) or ""  # never None: instant() is an int


def money(text: str) -> float:
    """``6.99`` or ``1,234.50`` (thousands separators) -> 6.99 / 1234.5."""
    if "," in text:
        if not _MONEY_GROUPED.fullmatch(text):
            raise ValueError(f"not an amount: {text!r}")
        text = text.replace(",", "")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"not an amount: {text!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"not an amount: {text!r}")
    return value


def flag(text: str) -> bool:
    """Yes/No (also true/false, 1/0)."""
    low = text.casefold()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ValueError(f"not Yes or No: {text!r}")


def integer(text: str) -> int:
    """A whole number; warehouse numbers may carry a zero fraction (``123.000000``)."""
    if not _INTEGER.fullmatch(text):
        raise ValueError(f"not a whole number: {text!r}")
    return int(text.split(".", 1)[0])


# The Subscription report's offer periods, in the API's vocabulary (CONTRACT section 5).
PERIODS = {
    "daily": "day",
    "day": "day",
    "weekly": "week",
    "week": "week",
    "monthly": "month",
    "month": "month",
    "3-months": "3months",
    "3 months": "3months",
    "quarterly": "3months",
    "3months": "3months",
    "6-months": "6months",
    "6 months": "6months",
    "6months": "6months",
    "annual": "year",
    "annually": "year",
    "yearly": "year",
    "year": "year",
    "seasonal": "season",
    "season": "season",
}


def period(text: str) -> str | None:
    """The API's period for an export's offer period, None when the word is not known."""
    return PERIODS.get(" ".join(text.casefold().split()))

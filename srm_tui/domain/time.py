"""Instants, one way everywhere: parsing ISO 8601, showing unix seconds in UTC or in a named
zone, and "N min ago".

The cache keeps instants as unix seconds (UTC). A time the vendor gives with a zone (a live
event's ``timezone``) is shown in that zone, beside the zone's name: 20:00 Europe/Warsaw reads
``20:00 Europe/Warsaw``, never the UTC hour under the zone's name.
"""

from __future__ import annotations

from datetime import datetime, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

NO_TIME = "—"
DAY_FORMAT = "%Y-%m-%d"
MINUTE_FORMAT = "%Y-%m-%d %H:%M"
SECOND_FORMAT = "%Y-%m-%d %H:%M:%S"


def parse_instant(value: str) -> datetime:
    """An ISO 8601 instant in UTC (a date alone is midnight UTC; no offset means UTC).

    Raises ValueError for text that is not one.
    """
    text = value.strip()
    if not text or not text[0].isdigit():
        raise ValueError(f"not an ISO 8601 instant: {value!r}")
    parsed = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


def zone(name: str | None) -> tzinfo | None:
    """The IANA zone of a name, or None when the name is missing or unknown."""
    if not name or not isinstance(name, str):
        return None
    if name.upper() in ("UTC", "Z", "ETC/UTC"):
        return timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _moment(ts: float | int | None) -> datetime | None:
    if ts is None or isinstance(ts, bool):
        return None
    try:
        return datetime.fromtimestamp(float(ts), timezone.utc)
    except (OverflowError, OSError, ValueError, TypeError):
        return None


def utc(ts: float | int | None, fmt: str = MINUTE_FORMAT) -> str:
    """Unix seconds as UTC text (``2026-11-01 09:30``); ``—`` when there is no time."""
    moment = _moment(ts)
    return NO_TIME if moment is None else moment.strftime(fmt)


def day(ts: float | int | None) -> str:
    """The UTC day of unix seconds (``2026-11-01``)."""
    return utc(ts, DAY_FORMAT)


def iso(ts: float | int | None) -> str | None:
    """ISO 8601 UTC (``2026-11-01T00:00:00Z``), as JSON output carries instants."""
    moment = _moment(ts)
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def in_zone(ts: float | int | None, zone_name: str | None, fmt: str = MINUTE_FORMAT) -> str:
    """Unix seconds as the wall-clock time of a named zone, followed by the name
    (``2026-12-20 20:00 Europe/Warsaw``). An unknown or missing zone shows UTC and says so."""
    moment = _moment(ts)
    if moment is None:
        return NO_TIME
    tz = zone(zone_name)
    if tz is None:
        return f"{moment.strftime(fmt)} UTC"
    return f"{moment.astimezone(tz).strftime(fmt)} {zone_name}"


def ago(ts: float | int | None, now: float | int) -> str:
    """How long before ``now`` an instant was: ``just now``, ``4 min ago``, ``3 h ago``,
    ``2 days ago``; a future instant reads ``in 5 min``."""
    if ts is None:
        return "never"
    seconds = int(now - ts)
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        text = f"{seconds // 60} min"
    elif seconds < 86400:
        text = f"{seconds // 3600} h"
    else:
        days = seconds // 86400
        text = f"{days} day{'s' if days != 1 else ''}"
    return f"in {text}" if future else f"{text} ago"

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


def utc(ts: float | int | None, fmt: str = MINUTE_FORMAT, missing: str = NO_TIME) -> str:
    """Unix seconds as UTC text (``2026-11-01 09:30``; ``fmt`` may be :data:`SECOND_FORMAT` or
    :data:`DAY_FORMAT`); ``missing`` (``—``) when there is no time."""
    moment = _moment(ts)
    return missing if moment is None else moment.strftime(fmt)


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
    """How long before ``now`` an instant was, as the status line says it: ``just now`` (under
    a minute), ``95 min ago`` (under two hours), ``30 h ago`` (under two days), ``3 days ago``;
    a future instant reads ``in 5 min``; no instant reads ``never``."""
    if ts is None:
        return "never"
    delta = int(now - ts)
    future = delta < 0
    minutes = abs(delta) // 60
    if minutes < 1:
        return "just now"
    # Minutes up to two hours and hours up to two days: "90 min" reads better than "1 h".
    if minutes < 120:
        text = f"{minutes} min"
    elif minutes < 48 * 60:
        text = f"{minutes // 60} h"
    else:
        text = f"{minutes // 1440} days"
    return f"in {text}" if future else f"{text} ago"


def synced(ts: float | int | None, now: float | int) -> str:
    """The cache's freshness for a status line: ``synced 4 min ago``, or ``never synced``.

    A last sync stamped after ``now`` (another machine's clock) reads ``synced just now``."""
    return "never synced" if ts is None else f"synced {ago(min(ts, now), now)}"


def seconds(value: str) -> int:
    """An ISO 8601 instant (see :func:`parse_instant`) as unix seconds.

    Raises ValueError for text that is not one.
    """
    return int(parse_instant(value).timestamp())


def field_seconds(value: str, field: str) -> int:
    """Unix seconds of a date a user typed into a named field; the ValueError names the field
    and shows the accepted forms."""
    try:
        return seconds(value)
    except ValueError:
        raise ValueError(
            f"{field}: not a date: {value[:30]!r} (2027-08-01 or 2027-08-01T18:00:00Z)"
        ) from None

"""Instants, one way everywhere: parsing ISO 8601, showing unix seconds in UTC or in a named
zone, and "N min ago".

The cache keeps instants as unix seconds (UTC). A time the vendor gives with a zone (a live
event's ``timezone``) is shown in that zone, beside the zone's name: 20:00 Europe/Warsaw reads
``20:00 Europe/Warsaw``, never the UTC hour under the zone's name.

Every date srm reads from text is read here, each source by its own function because each
accepts what its source writes: a user's instant (``parse_instant``, ``seconds``), a segment
file's (``exact_seconds``), the vendor's (``vendor_seconds``, ``parse_formatted``), a time
typed in an event's zone (``parse_typed_time``), a search's date (``parse_day``) and an
export's local time (``parse_export_time``).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone, tzinfo
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


def exact_seconds(value: str) -> int | float:
    """Unix seconds of an ISO 8601 instant in a segment file, fractions kept (an int when
    whole); a date alone is 00:00:00Z, no offset means UTC, ``Z`` (or ``z``) as Python reads
    it, after a time. Computed without leaving the calendar, so an offset at year 1 or 9999
    reads. Raises ValueError for text that is not one."""
    text = value.strip()
    if not text or not text[0].isdigit():
        raise ValueError(value)
    parsed = datetime.fromisoformat(text.replace("z", "Z"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    moment = parsed.timestamp()
    return int(moment) if moment == int(moment) else moment


def vendor_seconds(value: str) -> int:
    """Unix seconds of a date as the vendor writes it in text: digits (webhooks send ids and
    dates either way) or ISO 8601 (``2019-11-07T19:55:41Z``, ``…+02:00``; no zone = UTC).
    Raises ValueError for anything else."""
    text = value.strip()
    if text.isdigit():
        return int(text)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return int(parsed.timestamp())


def parse_formatted(value: str, fmt: str) -> datetime:
    """Text in one strftime format (the vendor's customer dates ``%Y-%m-%d %H:%M:%S``, a
    birth date, the ECB's ``06 February 2026``) as a UTC datetime. Raises ValueError (the
    standard library's message, naming the format) for text that is not in it."""
    return datetime.strptime(value, fmt).replace(tzinfo=timezone.utc)


def parse_typed_time(text: str) -> datetime:
    """A date and time as an agent types it (``2026-12-20 20:00``, ISO 8601, a space for the
    T), naive when it names no offset: the caller places it in its zone. Raises ValueError."""
    return datetime.fromisoformat(text.replace(" ", "T", 1))


DAY_SHAPE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def is_day(value: str) -> bool:
    """True when the text is shaped as a whole date, ``YYYY-MM-DD`` (a real one or not)."""
    return bool(DAY_SHAPE.match(value))


def parse_day(value: str) -> date:
    """A whole calendar date written ``YYYY-MM-DD``. Raises ValueError for another shape or
    a day the calendar has not (``2024-02-30``)."""
    if not is_day(value):
        raise ValueError(f"not a date YYYY-MM-DD: {value!r}")
    return date.fromisoformat(value)


_EXPORT_TIME = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?"
)


def parse_export_time(text: str) -> tuple[date, int, int, int]:
    """A local time of the vendor's exports, ``YYYY-MM-DD HH:MM:SS`` (seconds optional,
    fractions dropped; a date alone is its 00:00), as (day, hour, minute, second): the
    caller places it in the export's zone. Raises ValueError with a short reason."""
    m = _EXPORT_TIME.fullmatch(text)
    if m is None:
        raise ValueError(f"not a date or date-time: {text!r} (expected YYYY-MM-DD HH:MM:SS)")
    y, mo, d, h, mi, s = (int(g) if g else 0 for g in m.groups())
    try:
        day = date(y, mo, d)
    except ValueError:
        raise ValueError(f"not a date: {text!r}") from None
    if h > 23 or mi > 59 or s > 59:
        raise ValueError(f"not a time of day: {text!r}")
    return day, h, mi, s


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

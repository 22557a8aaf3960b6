"""Every date srm reads from text is read in srm_tui/domain/time.py (issue 14: "date parsing in
six places"), and each reader there accepts and refuses exactly what its old copy did.

The old copies are kept below as the reference (``_old_*``): hypothesis (the suite's fixed,
derandomized profile) feeds both date-shaped text and checks the answers and the error
messages agree.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from pathlib import Path

from hypothesis import example, given
from hypothesis import strategies as st

import srm_tui
from srm_tui.domain import time

ROOT = Path(srm_tui.__path__[0])
# Parsing dates by hand: the standard library's parsers and date-shaped regular expressions.
PARSING = re.compile(r"fromisoformat\(|strptime\(|\\d\{4\}\)?-|\[0-9\]\{4\}\)?-")
LEFT_ALONE = {"domain/time.py"}  # the one place; the sandbox (a stand-in vendor) is apart


def test_dates_are_parsed_only_in_domain_time():
    found = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel in LEFT_ALONE or rel.startswith("sandbox/"):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if PARSING.search(line):
                found.append(f"{rel}:{number}: {line.strip()}")
    assert found == [], "\n".join(found)


# The old readers, as they were in their modules ----------------------------------------------


def _old_segment(value: str):  # segments/validate.py parse_date
    text = value.strip()
    if not text or not text[0].isdigit():
        raise ValueError(value)
    parsed = datetime.fromisoformat(text.replace("z", "Z"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    seconds = parsed.timestamp()
    return int(seconds) if seconds == int(seconds) else seconds


def _old_vendor(value):  # domain/models.py parse_instant
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return int(text)
        try:
            parsed = datetime.fromisoformat(
                text.replace("Z", "+00:00") if text.endswith("Z") else text
            )
        except ValueError:
            return value
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return int(parsed.timestamp())
    return value


def _old_customer_date(value: str) -> int | None:  # domain/models.py parse_customer_date
    if value == "":
        return None
    return int(
        datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
    )


def _old_search_day(value: str, name: str = "date") -> str:  # storage/search.py _birth_date
    if not re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$").match(value):
        raise ValueError(f"{name}: a whole date YYYY-MM-DD, not {value!r}")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name}: {value} is not a date") from None
    return value


_OLD_EXPORT = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?"
)


def _old_export(text: str, offset: int = 3600) -> int:  # imports/values.py Clock.instant (CET)
    m = _OLD_EXPORT.fullmatch(text)
    if m is None:
        raise ValueError(f"not a date or date-time: {text!r} (expected YYYY-MM-DD HH:MM:SS)")
    y, mo, d, h, mi, s = (int(g) if g else 0 for g in m.groups())
    try:
        day = date(y, mo, d)
    except ValueError:
        raise ValueError(f"not a date: {text!r}") from None
    if h > 23 or mi > 59 or s > 59:
        raise ValueError(f"not a time of day: {text!r}")
    return (
        (day.toordinal() - date(1970, 1, 1).toordinal()) * 86400 + h * 3600 + mi * 60 + s - offset
    )


def _old_typed(text: str) -> datetime:  # offers/forms.py event()
    return datetime.fromisoformat(text.replace(" ", "T", 1))


def _old_rates_day(value: str) -> str | None:  # domain/rates.py _date
    for fmt in ("%Y-%m-%d", "%d %B %Y"):
        try:
            return datetime.strptime(value, fmt).strftime("%Y-%m-%d")
        except ValueError:
            continue
    return None


def _outcome(fn, *args):
    """What a reader answers: its value, or its error's type and message."""
    try:
        return ("ok", fn(*args))
    except Exception as exc:  # the type is compared too: an OverflowError is not a ValueError
        return (type(exc).__name__, str(exc))


# Date-shaped text: the pieces of ISO 8601 and of the vendor's forms, in any order and number,
# so that near misses (a Z after a date alone, a lowercase z, year 1 with an offset) come up.
PIECES = st.sampled_from(
    [
        "2026", "0001", "9999", "1970", "-", "01", "1", "12", "13", "31", "29", "02", "T", " ",
        ":", "00", "23", "24", "59", "60", "Z", "z", "+", "+01:00", "-05:00", "+14:00", ".",
        ".5", "123456", "W01", "February", "06", "x", "", "\n",
    ]
)  # fmt: skip
DATEISH = st.lists(PIECES, max_size=12).map("".join)
# Whole forms with their variations, for the paths past the first checks.
WELL_FORMED = st.builds(
    lambda y, mo, d, h, mi, s, sep, tail: f"{y:04d}-{mo:02d}-{d:02d}{sep}{h:02d}:{mi:02d}:{s:02d}{tail}",
    st.integers(1, 9999),
    st.integers(0, 13),
    st.integers(0, 32),
    st.integers(0, 24),
    st.integers(0, 60),
    st.integers(0, 60),
    st.sampled_from(["T", " ", "t"]),
    st.sampled_from(["", "Z", "z", "+00:00", "-05:00", "+14:00", ".25Z", " "]),
)  # fmt: skip
TEXT = st.one_of(DATEISH, WELL_FORMED, st.text(max_size=12))


@given(TEXT)
@example("2026-01-01Z")
@example("0001-01-01T00:00:00+01:00")
@example(" 2026-11-01 ")
def test_segment_instants_read_as_before(text):
    assert _outcome(time.exact_seconds, text) == _outcome(_old_segment, text)


@given(TEXT)
@example("2026-01-01Z")
@example("1573156541")
@example("2019-11-07T19:55:41z")
def test_vendor_instants_read_as_before(text):
    from srm_tui.domain.models import parse_instant

    assert _outcome(parse_instant, text) == _outcome(_old_vendor, text)


@given(TEXT)
@example("2021-04-28 13:03:26")
@example("2021-4-8 3:3:6")
def test_customer_dates_read_as_before(text):
    from srm_tui.domain.models import parse_customer_date

    assert _outcome(parse_customer_date, text) == _outcome(_old_customer_date, text)


@given(TEXT)
@example("2024-02-30")
@example("2024-02-29\n")
def test_search_dates_read_as_before(text):
    from srm_tui.storage.search import SearchError, _birth_date

    def new(value: str) -> str:
        try:
            return _birth_date(value, "date")
        except SearchError as exc:
            raise ValueError(str(exc)) from None

    assert _outcome(new, text) == _outcome(_old_search_day, text)


@given(TEXT)
@example("2026-02-06 24:00")
@example("2026-02-30")
@example("2026-2-6 7:05:09.123")
def test_export_times_read_as_before(text):
    from srm_tui.imports.values import Clock

    assert _outcome(Clock("CET").instant, text) == _outcome(_old_export, text)


@given(TEXT)
@example("2026-12-20 20:00")
def test_typed_times_read_as_before(text):
    assert _outcome(time.parse_typed_time, text) == _outcome(_old_typed, text)


@given(TEXT)
@example("06 February 2026")
def test_rates_dates_read_as_before(text):
    from srm_tui.domain.rates import RatesError, _date

    def new(value: str) -> str | None:
        try:
            return _date(value, 1)
        except RatesError:
            return None

    assert _outcome(new, text) == _outcome(_old_rates_day, text.strip())

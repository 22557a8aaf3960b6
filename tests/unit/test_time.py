"""srm_tui.domain.time: the one place instants are parsed and shown."""

from __future__ import annotations

import pytest

from srm_tui.domain import time

NOW = 1_800_000_000


@pytest.mark.parametrize(
    ("before", "text"),
    [
        (0, "just now"),
        (59, "just now"),
        (60, "1 min ago"),
        (240, "4 min ago"),
        (119 * 60 + 59, "119 min ago"),
        (120 * 60, "2 h ago"),
        (47 * 3600 + 3599, "47 h ago"),
        (48 * 3600, "2 days ago"),
        (3 * 86400, "3 days ago"),
        (400 * 86400, "400 days ago"),
    ],
)
def test_ago_steps_from_minutes_to_hours_to_days(before, text):
    assert time.ago(NOW - before, NOW) == text


def test_ago_future_and_missing():
    assert time.ago(NOW + 300, NOW) == "in 5 min"
    assert time.ago(NOW + 3 * 3600, NOW) == "in 3 h"
    assert time.ago(NOW + 30, NOW) == "just now"
    assert time.ago(None, NOW) == "never"
    # float clocks (settings.now_ts() may be a float) read the same as whole seconds
    assert time.ago(NOW - 240, NOW + 0.7) == "4 min ago"


def test_synced_reads_as_the_status_line():
    assert time.synced(None, NOW) == "never synced"
    assert time.synced(NOW - 10, NOW) == "synced just now"
    assert time.synced(NOW - 600, NOW) == "synced 10 min ago"
    assert time.synced(NOW - 5 * 86400, NOW) == "synced 5 days ago"
    # a last sync stamped by a clock ahead of ours is not "in 5 min"
    assert time.synced(NOW + 300, NOW) == "synced just now"


def test_utc_formats_and_missing_text():
    assert time.utc(0) == "1970-01-01 00:00"
    assert time.utc(61, time.SECOND_FORMAT) == "1970-01-01 00:01:01"
    assert time.utc(86400 * 2, time.DAY_FORMAT) == "1970-01-03"
    assert time.day(86400) == "1970-01-02"
    assert time.utc(None) == "—"
    assert time.utc(None, missing="never") == "never"
    assert time.utc(True) == "—"  # a bool is not an instant
    assert time.iso(None) is None
    assert time.iso(0) == "1970-01-01T00:00:00Z"


@pytest.mark.parametrize(
    ("text", "ts"),
    [
        ("1970-01-02", 86400),
        ("1970-01-02T00:00:01Z", 86401),
        ("1970-01-02T00:00:01z", 86401),
        ("1970-01-02T01:00:00+01:00", 86400),
        ("1970-01-02 00:01", 86460),
        (" 1970-01-02 ", 86400),
    ],
)
def test_seconds_parses_iso_instants(text, ts):
    assert time.seconds(text) == ts


@pytest.mark.parametrize("text", ["", "yesterday", "2027-13-01", "-1", "1970-01-02T25:00"])
def test_seconds_refuses_what_is_not_an_instant(text):
    with pytest.raises(ValueError):
        time.seconds(text)


def test_field_seconds_names_the_field():
    assert time.field_seconds("2027-08-01", "starts") == 1817078400
    with pytest.raises(ValueError, match=r"^starts: not a date: 'soon' \(2027-08-01 or "):
        time.field_seconds("soon", "starts")


def test_in_zone_shows_the_zone_wall_clock():
    at = 1797793200
    assert time.in_zone(at, "Europe/Warsaw") == "2026-12-20 20:00 Europe/Warsaw"
    assert time.in_zone(at, "UTC") == "2026-12-20 19:00 UTC"
    assert time.in_zone(at, None) == "2026-12-20 19:00 UTC"
    assert time.in_zone(None, "Europe/Warsaw") == "—"

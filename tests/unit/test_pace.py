"""The pace learnt from 429s (srm_tui/api/retry.py Pace), on a clock the test moves."""

from __future__ import annotations

import random

from srm_tui.api.retry import Pace


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _drive(pace: Pace, clock: Clock, seconds: float, refused, gap: float = 0.005) -> int:
    """Send as fast as the pace allows (an answer takes ``gap``) for ``seconds``; each answer
    is a 429 when ``refused(rate_now)`` says so. Returns the requests sent."""
    end = clock.now + seconds
    sent = 0
    while clock.now < end:
        pace.keep()
        clock.now += gap
        sent += 1
        rate = 1.0 / max(pace.interval, gap)
        if refused(rate):
            pace.slow_down()
        else:
            pace.speed_up()
    return sent


def test_a_few_percent_of_429s_at_any_rate_do_not_slow_the_pace():
    # An API (or the sandbox's --faults) refusing 4 % of calls whatever the rate: before, each
    # 429 among >= 10 calls a second slowed the pace, which never came back (< 10 calls/s).
    clock, draw = Clock(), random.Random(7)
    pace = Pace(clock.sleep, clock)
    sent = _drive(pace, clock, 30, lambda rate: draw.random() < 0.04)
    assert pace.limited > 100  # it met many 429s
    assert pace.interval == 0.0  # and still sends as fast as answers come
    assert sent > 30 * 150


def test_a_rate_limit_slows_the_pace_to_under_it_once_a_second_at_most():
    clock, draw = Clock(), random.Random(3)
    pace = Pace(clock.sleep, clock)
    limit = 50.0  # refuses the share above 50 a second

    def refused(rate: float) -> bool:
        return rate > limit and draw.random() < (rate - limit) / rate

    slow_downs = []
    end = clock.now + 20
    last = pace.interval
    while clock.now < end:
        _drive(pace, clock, 0.05, refused)
        if pace.interval != last:
            if pace.interval > last:
                slow_downs.append(clock.now)
            last = pace.interval
    assert slow_downs, "a real limit is learnt"
    assert all(b - a >= 0.95 for a, b in zip(slow_downs, slow_downs[1:]))
    sent = _drive(pace, clock, 10, refused)
    assert 0.6 * limit * 10 <= sent <= 1.15 * limit * 10  # near the limit, not far under it


def test_the_pace_speeds_up_only_after_five_quiet_seconds():
    clock = Clock()
    pace = Pace(clock.sleep, clock)
    _drive(pace, clock, 1.0, lambda rate: False)  # many requests a second
    _drive(pace, clock, 0.3, lambda rate: True)  # then a burst of nothing but 429s
    slowed = pace.interval
    assert slowed > 0
    _drive(pace, clock, 4.0, lambda rate: False)
    assert pace.interval == slowed  # not yet: under 5 s since it slowed
    _drive(pace, clock, 3.0, lambda rate: False)
    assert pace.interval < slowed

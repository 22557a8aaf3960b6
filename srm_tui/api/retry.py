"""How the API client tries again, and how fast it sends.

Retries run on tenacity: a :class:`RetryPolicy` becomes a ``tenacity.Retrying`` that stops
after the policy's attempts, retries only a :class:`Transient` failure, and waits as the API's
Retry-After says or backs off with jitter. The pace learnt from 429s (:class:`Pace`) stays
ours: the vendor publishes no rate limit, so the client learns one.
"""

from __future__ import annotations

import email.utils
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from srm_tui.api import errors

if TYPE_CHECKING:
    import tenacity


@dataclass
class RetryPolicy:
    """How hard a client tries: ``attempts`` in all (the first included); backoff from
    ``base_delay`` doubling up to ``max_delay`` seconds (with jitter); a Retry-After longer
    than ``max_retry_after`` is cut to it. A refused connection (nothing listens there) is
    tried at most ``refused_attempts`` times: backing off for it helps nobody waiting."""

    attempts: int = 6
    base_delay: float = 0.2
    max_delay: float = 5.0
    max_retry_after: float = 60.0
    refused_attempts: int = 2

    def retrying(
        self, sleep: Callable[[float], None], on_retry: Callable[[], None]
    ) -> tenacity.Retrying:
        """A tenacity controller for one request under this policy; ``on_retry`` is called
        before each wait (the client counts its retries with it)."""
        import tenacity  # on the first request: commands that send none do not pay its import

        return tenacity.Retrying(
            stop=self.stop,
            retry=tenacity.retry_if_exception_type(Transient),
            wait=self.wait,
            sleep=sleep,
            before_sleep=lambda _state: on_retry(),
            reraise=True,
        )

    def stop(self, state: tenacity.RetryCallState) -> bool:
        """True when no attempt is left: ``attempts`` in all, fewer for a refused connection."""
        failure = state.outcome.exception() if state.outcome else None
        limit = self.attempts
        if isinstance(failure, Transient) and failure.refused:
            limit = min(limit, self.refused_attempts)
        return state.attempt_number >= max(1, limit)

    def wait(self, state: tenacity.RetryCallState) -> float:
        """Seconds before the next attempt: the API's Retry-After when it gave one, else
        exponential backoff with jitter; never more than ``max_retry_after``."""
        failure = state.outcome.exception() if state.outcome else None
        delay = failure.retry_after if isinstance(failure, Transient) else None
        if delay is None:
            delay = min(self.max_delay, self.base_delay * 2 ** (state.attempt_number - 1))
            delay *= 0.5 + random.random() / 2
        return min(delay, self.max_retry_after)


class Transient(Exception):
    """A failure worth another try: the typed error to raise if none is left, and the wait
    the API asked for (Retry-After), if it did; ``refused``: the connection was refused."""

    def __init__(
        self, error: errors.ApiError, retry_after: float | None = None, *, refused: bool = False
    ):
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after
        self.refused = refused


def retry_after(response: httpx.Response) -> float | None:
    """The seconds a Retry-After header asks for (a number or an HTTP date), if any."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


class Pace:
    """The rate learnt from 429s: when many requests a second meet many 429s, requests keep to
    a little under the rate that was refused, and speed up slowly once that stops.

    A 429 now and then says nothing about a rate (an API's own hiccup, a fault answered as
    one: Retry-After is honoured for it, as for any 429): the pace slows only when at least
    ``REFUSED_SHARE`` of the last second's answers were 429s, and at most once a second, since
    answers arriving just after a slow-down were sent at the old rate. Slowing down on every
    429 instead walked the pace down to under ten requests a second, for good, against an API
    that refused a few percent of calls at any rate."""

    REFUSED_SHARE = 0.1  # of the last second's answers, 429s that mean "too fast"
    QUIET = 5.0  # seconds without a slow-down before speeding up

    def __init__(self, sleep: Callable[[float], None], clock: Callable[[], float] = time.monotonic):
        self._sleep = sleep
        self._clock = clock
        self.limited = 0  # how many 429 answers were met
        self.interval = 0.0  # seconds between requests (0: as fast as answers come)
        self._sent: deque[float] = deque()
        self._answers: deque[tuple[float, bool]] = deque()  # (when, was a 429), last second
        self._last_send = 0.0
        self._last_slow = float("-inf")
        self._lock = threading.Lock()

    def keep(self) -> None:
        """Wait, if needed, so this request keeps the learnt pace."""
        with self._lock:
            now = self._clock()
            wait = self._last_send + self.interval - now if self.interval else 0.0
            self._last_send = now + max(wait, 0.0)
            self._sent.append(self._last_send)
            while self._sent and self._sent[0] < self._last_send - 1.0:
                self._sent.popleft()
        if wait > 0:
            self._sleep(wait)

    def _answer(self, now: float, refused: bool) -> float:
        """Note an answer; the share of the last second's answers that were 429s."""
        self._answers.append((now, refused))
        while self._answers and self._answers[0][0] < now - 1.0:
            self._answers.popleft()
        return sum(1 for _, r in self._answers if r) / len(self._answers)

    def slow_down(self) -> None:
        """A 429. Among many requests a second, with many 429s, keep to 80 % of that rate."""
        with self._lock:
            now = self._clock()
            self.limited += 1
            share = self._answer(now, True)
            recent = len(self._sent)
            if recent >= 10 and share >= self.REFUSED_SHARE and now - self._last_slow >= 1.0:
                self.interval = max(self.interval, 1.0 / (0.8 * recent))
                self._last_slow = now

    def speed_up(self) -> None:
        """An answer that is not a 429: 2 % faster, once the pace has not slowed for 5 s."""
        with self._lock:
            now = self._clock()
            self._answer(now, False)
            if self.interval and now - self._last_slow > self.QUIET:
                self.interval *= 0.98
                if self.interval < 0.0005:
                    self.interval = 0.0

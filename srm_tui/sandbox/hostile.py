"""The sandbox's hostile mode, and what it counts while it serves.

With ``--hostile`` (and ``--faults RATE``), a failing call may also meet what real networks
and real vendors do: a slow answer (right, but ``slow_seconds`` late), a connection dropped
in the middle of the body (writes are applied first, so only the answer is lost), a JSON
body labelled with the wrong content type, an HTML error page with status 200, a huge body,
records repeated in a list, dates in the wrong format and money as strings. Records are
only mangled in answers; the state itself stays right, so a later read gets good data.

``Stats`` counts what the sandbox saw (calls, statuses, refusals of the rate limit, how
fast calls came after a 429, writes applied and replayed), for load tests to check the
client against (``GET /sandbox/stats``).
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import Counter, deque
from typing import Any

from starlette.responses import Response

# Kinds served to GET calls only: they change the body of an answer that carries records.
READ_ONLY = frozenset({"truncate", "huge", "dupes", "dates", "money"})
HOSTILE_KINDS = ("slow", "drop", "ctype", "html", "huge", "dupes", "dates", "money")
HTML_PAGE = (
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>"
    b"<h1>502 Bad Gateway</h1><p>The upstream server sent an invalid response.</p>"
    b"</body></html>"
)
DATE_FIELDS = ("transactionDate", "createdAt", "dateTo", "dateFrom", "expiresAt", "date")
MONEY_FIELDS = ("amount", "nextPaymentPrice", "refundedAmount")


class _Dropped(Exception):
    """Raised inside a response to make the server cut the connection."""


class DroppedResponse(Response):
    """Headers promising the whole body, half of it, then the connection is closed."""

    def __init__(self, body: bytes, status_code: int, headers: dict[str, str]):
        super().__init__(
            body, status_code=status_code, headers=headers, media_type="application/json"
        )

    async def __call__(self, scope, receive, send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        await send(
            {
                "type": "http.response.body",
                "body": self.body[: len(self.body) // 2],
                "more_body": True,
            }
        )
        # Returning without the rest makes uvicorn close the connection mid-body.


class HugeResponse(Response):
    """A body of ``size`` bytes: JSON whitespace, then the real answer (valid, but huge)."""

    CHUNK = 1 << 20

    def __init__(self, body: bytes, status_code: int, headers: dict[str, str], size: int):
        self.padding = max(0, size - len(body))
        super().__init__(
            body, status_code=status_code, headers=headers, media_type="application/json"
        )
        self.headers["content-length"] = str(self.padding + len(body))

    async def __call__(self, scope, receive, send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers}
        )
        left = self.padding
        blank = b" " * self.CHUNK
        try:
            while left > 0:
                n = min(left, self.CHUNK)
                await send({"type": "http.response.body", "body": blank[:n], "more_body": True})
                left -= n
            await send({"type": "http.response.body", "body": self.body, "more_body": False})
        except OSError:  # the client gave up reading (as it should): nothing more to send
            return


class QuietDrops(logging.Filter):
    """Keeps the server's log free of the connections hostile mode cuts on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "without completing response" not in record.getMessage()


def quiet_server_log() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, QuietDrops) for f in logger.filters):
        logger.addFilter(QuietDrops())


def _records(payload: Any) -> list[dict]:
    """The records an answer carries (enumeration items, envelope data, bare lists)."""
    if isinstance(payload, list):
        return [r for r in payload if isinstance(r, dict)]
    if isinstance(payload, dict):
        for key in ("items", "data"):
            inner = payload.get(key)
            if isinstance(inner, list):
                return [r for r in inner if isinstance(r, dict)]
            if isinstance(inner, dict):
                return [inner]
        return [payload]
    return []


def _list_of(payload: Any) -> list | None:
    if isinstance(payload, list):
        return payload
    if isinstance(payload, dict):
        for key in ("items", "data"):
            if isinstance(payload.get(key), list):
                return payload[key]
    return None


def mangle(kind: str, body: bytes, rng: random.Random) -> bytes:
    """The answer's body with its records spoiled the way ``kind`` says."""
    try:
        payload = json.loads(body)
    except ValueError:
        return body
    if kind == "dupes":
        items = _list_of(payload)
        if items:
            for _ in range(min(3, len(items))):
                items.insert(rng.randrange(len(items) + 1), items[rng.randrange(len(items))])
    elif kind == "dates":
        records = _records(payload)
        for record in rng.sample(records, min(2, len(records))):
            if isinstance(record.get("regDate"), str):
                record["regDate"] = "28/04/2021 13:03"  # day first, no seconds
                continue
            for name in DATE_FIELDS:
                if isinstance(record.get(name), int) and not isinstance(record[name], bool):
                    record[name] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record[name]))
                    break
    elif kind == "money":
        for record in _records(payload):
            for name in MONEY_FIELDS:
                value = record.get(name)
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    record[name] = f"{value:.2f}"
            price = record.get("price")
            if isinstance(price, dict) and isinstance(price.get("amount"), (int, float)):
                price["amount"] = f"{price['amount']:.2f}"
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class Stats:
    """What the sandbox saw, for tests (``GET /sandbox/stats``)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls = 0
        self.statuses: Counter[int] = Counter()
        self.faults: Counter[str] = Counter()
        self.rate_limited = 0
        self.admitted: deque[float] = deque()
        self.max_admitted_per_second = 0
        self.writes_applied = 0
        self.replays = 0
        self._last_429: tuple[float, float] | None = None  # when, Retry-After
        self.min_gap_after_429: float | None = None
        self.early_after_429 = 0  # calls that came before the Retry-After had passed

    def call(self) -> None:
        now = time.monotonic()
        with self.lock:
            self.calls += 1
            if self._last_429 is not None:
                at, wait = self._last_429
                gap = now - at
                if self.min_gap_after_429 is None or gap < self.min_gap_after_429:
                    self.min_gap_after_429 = gap
                if gap < wait - 0.05:  # a little slack for the two clocks' rounding
                    self.early_after_429 += 1
                self._last_429 = None

    def limited(self, retry_after: float) -> None:
        with self.lock:
            self.rate_limited += 1
            self.statuses[429] += 1
            self._last_429 = (time.monotonic(), retry_after)

    def admit(self) -> None:
        now = time.monotonic()
        with self.lock:
            self.admitted.append(now)
            while self.admitted and self.admitted[0] <= now - 1.0:
                self.admitted.popleft()
            self.max_admitted_per_second = max(self.max_admitted_per_second, len(self.admitted))

    def fault(self, kind: str) -> None:
        with self.lock:
            self.faults[kind] += 1

    def answered(self, status: int) -> None:
        """An answer from the API's handlers (not the faults'), by status."""
        with self.lock:
            self.statuses[status] += 1

    def applied(self, replay: bool) -> None:
        with self.lock:
            if replay:
                self.replays += 1
            else:
                self.writes_applied += 1

    def as_json(self) -> dict[str, Any]:
        with self.lock:
            return {
                "calls": self.calls,
                "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
                "faults": dict(sorted(self.faults.items())),
                "rate_limited": self.rate_limited,
                "max_admitted_per_second": self.max_admitted_per_second,
                "min_gap_after_429": (
                    None if self.min_gap_after_429 is None else round(self.min_gap_after_429, 3)
                ),
                "early_after_429": self.early_after_429,
                "writes_applied": self.writes_applied,
                "replays": self.replays,
            }

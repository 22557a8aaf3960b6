"""Receiving the vendor's webhook deliveries (`srm webhooks serve`).

A delivery is checked, recorded and answered 200 at once (the vendor retries slow
endpoints); one worker thread then applies recorded deliveries in arrival order, fetching the
records they name through published calls.

The checks, in order, each refusal counted by reason and kept only as a bounded summary
(size, source address, reason, sha256 of what was read), never the body:

- size: a declared Content-Length over the limit is refused (413) before any of the body is
  read; a chunked body is read only up to the limit;
- shape: JSON, nested no deeper than the limit (400), `{topic, data}` with data an object;
- signature (with a secret): HMAC-SHA256 of the raw body, hex or `sha256=`-prefixed hex, in
  the configured header or the sandbox's `X-Srm-Signature` (401);
- replay: the same signature and body, or the same sender delivery id, seen within the replay
  window is acknowledged (200) and not applied again.

Slow or idle connections and the connection limit are the server's part (webhook_server.py).

Over 400 lines: the checks listed here, the delivery log and the applying worker share
the receiver's counters and limits.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import queue
import threading
import time
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from srm_tui.api.client import ApiClient
from srm_tui.storage import db
from srm_tui.storage.cache import Cache
from srm_tui.sync.engine import SyncEngine

SIGNATURE_HEADER = "X-Srm-Signature"  # the sandbox's own header, always accepted
VENDOR_SIGNATURE_HEADER = "X-Signature"
REFUSALS_KEPT = 1000  # newest refusal summaries kept in the cache (counters keep all)
FLUSH_SECONDS = 0.5  # how often counted refusals reach the cache
MAX_TOPIC_CHARS = 100
MAX_HEADER_BYTES = 16 * 1024  # all of a request's headers (h11 stops larger ones mid-way)


@dataclass(frozen=True)
class Limits:
    """What the receiver accepts (the webhook_* settings)."""

    max_body: int = 1 << 20
    max_depth: int = 64
    replay_window: int = 86400
    signature_header: str = VENDOR_SIGNATURE_HEADER
    delivery_id_header: str = "X-Delivery-Id"
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    idle_timeout: float = 5.0
    max_connections: int = 100

    @classmethod
    def from_settings(cls, settings: Any) -> Limits:
        return cls(
            max_body=settings.webhook_max_body,
            max_depth=settings.webhook_max_depth,
            replay_window=settings.webhook_replay_window,
            signature_header=settings.webhook_signature_header,
            delivery_id_header=settings.webhook_delivery_id_header,
            header_timeout=settings.webhook_header_timeout,
            body_timeout=settings.webhook_body_timeout,
            idle_timeout=settings.webhook_idle_timeout,
            max_connections=settings.webhook_max_connections,
        )


def sign(secret: str, body: bytes) -> str:
    """The sandbox-style signature header value: ``sha256=`` + hex HMAC-SHA256 of body."""
    return "sha256=" + hmac_hex(secret, body)


def hmac_hex(secret: str, body: bytes) -> str:
    """The vendor-style signature: hex HMAC-SHA256 of the raw body under the shared secret."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _digest(value: str | None) -> str | None:
    """A signature header's hex digest (``sha256=`` prefix allowed), lower case; else None."""
    if not value:
        return None
    text = value.strip()
    if text[:7].lower() == "sha256=":
        text = text[7:]
    text = text.lower()
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        return None
    return text


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``header`` carries the HMAC-SHA256 of ``body`` (constant-time compare)."""
    digest = _digest(header)
    return digest is not None and hmac.compare_digest(hmac_hex(secret, body), digest)


def json_depth_exceeds(value: Any, limit: int) -> bool:
    """Whether ``value`` nests deeper than ``limit`` (iterative: no recursion to exhaust)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend(
                (child, depth + 1) for child in children if isinstance(child, (dict, list))
            )
    return False


class Ledger:
    """Counts by name and bounded refusal summaries, written to the cache by one thread.

    The request path only appends in memory, so a flood of refused requests costs no disk
    writes per request; what the cache keeps is bounded by REFUSALS_KEPT rows.
    """

    def __init__(self, cache: Cache, replay_window: int = 86400):
        self.cache = cache
        self.replay_window = replay_window
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._rows: deque[tuple] = deque(maxlen=REFUSALS_KEPT)
        self._stop = threading.Event()
        self._pruned = 0.0
        self._thread = threading.Thread(target=self._run, name="webhook-ledger", daemon=True)
        self._thread.start()

    def refuse(
        self,
        reason: str,
        *,
        source: str | None,
        size: int | None = None,
        body: bytes | None = None,
        detail: str | None = None,
    ) -> None:
        """Count one refusal and keep its summary (never the body itself)."""
        digest = hashlib.sha256(body).hexdigest() if body is not None else None
        with self._lock:
            self._counts["refused:" + reason] += 1
            self._rows.append(
                (
                    int(time.time()),
                    reason,
                    size,
                    (source or "")[:64] or None,
                    digest,
                    (detail or "")[:200] or None,
                )
            )

    def flush(self) -> None:
        """Write what was counted since the last flush (one transaction)."""
        with self._lock:
            counts, rows = self._counts, list(self._rows)
            self._counts, self._rows = Counter(), deque(maxlen=REFUSALS_KEPT)
        now = int(time.time())
        prune = now - self._pruned > 60
        if not counts and not rows and not prune:
            return
        try:
            with self.cache.transaction() as tx:
                for name, n in counts.items():
                    bump(tx, name, n, now)
                tx.executemany(
                    "INSERT INTO webhook_refusals (at, reason, size, source, "
                    "body_sha256, detail) VALUES (?, ?, ?, ?, ?, ?)",
                    rows,
                )
                if rows:
                    tx.execute(
                        "DELETE FROM webhook_refusals WHERE id <= "
                        "(SELECT max(id) FROM webhook_refusals) - ?",
                        (REFUSALS_KEPT,),
                    )
                if prune:
                    tx.execute(
                        "DELETE FROM webhook_replay WHERE received_at < ?",
                        (now - self.replay_window,),
                    )
        except db.DB_ERRORS:  # the cache is busy: keep what was counted for the next flush
            with self._lock:
                self._counts.update(counts)
                self._rows.extendleft(reversed(rows))
            return
        if prune:
            self._pruned = now

    def _run(self) -> None:
        while not self._stop.wait(FLUSH_SECONDS):
            self.flush()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.flush()


def bump(tx: Any, name: str, n: int, now: int) -> None:
    """Add ``n`` to the counter ``name`` inside the caller's transaction."""
    tx.execute(
        "INSERT INTO webhook_counters (name, count, last_at) VALUES (?, ?, ?) "
        "ON CONFLICT(name) DO UPDATE SET count = webhook_counters.count + excluded.count, "
        "last_at = excluded.last_at",
        (name, n, now),
    )


class WebhookWorker:
    """Applies recorded deliveries one at a time, off the HTTP thread."""

    def __init__(self, cache: Cache, client: ApiClient):
        self.cache = cache
        self.client = client
        self.queue: queue.Queue[int | None] = queue.Queue()
        # Deliveries recorded but never applied (the receiver stopped in between) go first.
        for row in cache.conn().execute(
            "SELECT id FROM webhook_events WHERE processed_at IS NULL AND error IS NULL ORDER BY id"
        ):
            self.queue.put(row[0])
        self.thread = threading.Thread(target=self._run, name="webhook-worker", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        engine = SyncEngine(self.cache, self.client)
        while (event_id := self.queue.get()) is not None:
            try:
                self._apply(engine, event_id)
            except db.DB_ERRORS:
                # The cache stayed locked past its busy timeout: applying again is a
                # harmless refresh, so the delivery goes back in line after a pause.
                time.sleep(1)
                self.queue.put(event_id)
            finally:
                self.queue.task_done()
        self.queue.task_done()

    def _apply(self, engine: SyncEngine, event_id: int) -> None:
        row = (
            self.cache.conn()
            .execute(
                "SELECT topic, data, received_at FROM webhook_events WHERE id = ?", (event_id,)
            )
            .fetchone()
        )
        if row is None:
            return
        error = result = None
        try:
            result = engine.apply_webhook(
                row["topic"], json.loads(row["data"]), received_at=row["received_at"]
            )
        except Exception as exc:  # noqa: BLE001 - recorded; the next sync covers it
            error = f"{type(exc).__name__}: {exc}"[:500]
        now = int(time.time())
        with self.cache.transaction() as tx:
            tx.execute(
                "UPDATE webhook_events SET processed_at = ?, error = ?, result = ? WHERE id = ?",
                (now, error, result, event_id),
            )
            bump(tx, "failed" if error else "processed", 1, now)

    def stop(self) -> None:
        self.queue.put(None)
        self.thread.join(timeout=5)


class _Refused(Exception):
    def __init__(
        self,
        status: int,
        reason: str,
        message: str,
        *,
        size: int | None = None,
        body: bytes | None = None,
        detail: str | None = None,
    ):
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message
        self.size, self.body, self.detail = size, body, detail


class Receiver:
    """The receiver as a plain ASGI app (it reads the body itself, to cap it)."""

    def __init__(
        self,
        cache: Cache,
        client: ApiClient,
        *,
        secret: str | None = None,
        limits: Limits | None = None,
        ledger: Ledger | None = None,
    ):
        self.cache = cache
        self.secret = secret
        self.limits = limits or Limits()
        self.ledger = ledger or Ledger(cache, self.limits.replay_window)
        self.worker = WebhookWorker(cache, client)
        # Checks and the record run on one thread of their own: parsing a large body or
        # waiting for another srm's write lock never stalls the event loop (and so the
        # deadlines), and one thread keeps each replay check atomic with its record.
        self._recorder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="webhook-record")
        self.state = SimpleNamespace(worker=self.worker, ledger=self.ledger)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        source = (scope.get("client") or ("",))[0] or None
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])
        }
        try:
            if sum(len(k) + len(v) for k, v in scope.get("headers", [])) > MAX_HEADER_BYTES:
                raise _Refused(
                    431, "headers_too_large", f"headers larger than {MAX_HEADER_BYTES} bytes"
                )
            if scope["method"] != "POST":
                raise _Refused(405, "method", "deliveries are POSTed", detail=scope["method"])
            body = await self._read(headers, receive)
            if body is None:
                return  # the client went away (or its body deadline closed it)
            try:
                status, answer = await asyncio.get_running_loop().run_in_executor(
                    self._recorder, self._accept, body, headers, source
                )
            except db.DB_ERRORS as exc:  # the cache is locked or failing: ask for a retry
                raise _Refused(
                    503,
                    "cache_unavailable",
                    "cannot record the delivery now; send it again",
                    size=len(body),
                    detail=str(exc),
                ) from None
        except _Refused as refusal:
            self.ledger.refuse(
                refusal.reason,
                source=source,
                size=refusal.size,
                body=refusal.body,
                detail=refusal.detail,
            )
            # Nothing more is read from a refused request: the connection closes with it.
            await _answer(send, refusal.status, {"message": refusal.message}, close=True)
            return
        await _answer(send, status, answer)

    async def _read(self, headers: dict[str, str], receive: Any) -> bytes | None:
        limit = self.limits.max_body
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                raise _Refused(400, "malformed", "bad Content-Length")
            if int(declared) > limit:
                raise _Refused(
                    413,
                    "too_large",
                    f"the body is larger than {limit} bytes",
                    size=int(declared),
                    detail="declared length",
                )
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                head = b"".join(chunks)
                raise _Refused(
                    413,
                    "too_large",
                    f"the body is larger than {limit} bytes",
                    size=size,
                    body=head,
                    detail="streamed past the limit",
                )
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    def _accept(
        self,
        body: bytes,
        headers: dict[str, str],
        source: str | None,
    ) -> tuple[int, dict[str, Any]]:
        try:
            delivery = json.loads(body)
        except RecursionError:
            raise _Refused(
                400,
                "too_deep",
                f"JSON nested deeper than {self.limits.max_depth}",
                size=len(body),
                body=body,
            ) from None
        except ValueError as exc:
            raise _Refused(
                400, "malformed", f"not JSON: {exc}"[:200], size=len(body), body=body
            ) from None
        if json_depth_exceeds(delivery, self.limits.max_depth):
            raise _Refused(
                400,
                "too_deep",
                f"JSON nested deeper than {self.limits.max_depth}",
                size=len(body),
                body=body,
            )
        topic = delivery.get("topic") if isinstance(delivery, dict) else None
        data = delivery.get("data") if isinstance(delivery, dict) else None
        if (
            not isinstance(topic, str)
            or not topic.strip()
            or len(topic) > MAX_TOPIC_CHARS
            or not isinstance(data, dict)
        ):
            raise _Refused(
                400,
                "malformed",
                "expected {broadcasterId, topic, data} with topic a text and data an object",
                size=len(body),
                body=body,
            )
        offered = [
            headers.get(self.limits.signature_header.lower()),
            headers.get(SIGNATURE_HEADER.lower()),
        ]
        signature = next((_digest(v) for v in offered if _digest(v)), "")
        signed = None
        if self.secret is not None:
            signed = any(signature_ok(self.secret, body, v) for v in offered if v)
            if not signed:
                reason = "bad_signature" if any(offered) else "unsigned"
                raise _Refused(
                    401,
                    reason,
                    "signature mismatch",
                    size=len(body),
                    body=body,
                    detail=topic[:MAX_TOPIC_CHARS],
                )
        delivery_id = (headers.get(self.limits.delivery_id_header.lower()) or "").strip()[:200]
        event_id = self._record(topic, data, body, signature, delivery_id or None, signed, source)
        if event_id is None:
            return 200, {"message": "OK", "replayed": True}
        self.worker.queue.put(event_id)
        return 200, {"message": "OK"}

    def _record(
        self,
        topic: str,
        data: dict,
        body: bytes,
        signature: str,
        delivery_id: str | None,
        signed: bool | None,
        source: str | None,
    ) -> int | None:
        """Record a new delivery with its replay keys; None when it is a repeat."""
        digest = hashlib.sha256(body).hexdigest()
        keys = ["b:" + hashlib.sha256(signature.encode() + b"\n" + body).hexdigest()]
        if delivery_id:
            keys.append("d:" + delivery_id)
        now = int(time.time())
        with self.cache.transaction() as tx:
            marks = ",".join("?" * len(keys))
            seen = tx.execute(
                f"SELECT 1 FROM webhook_replay WHERE key IN ({marks}) AND received_at >= ? LIMIT 1",
                (*keys, now - self.limits.replay_window),
            ).fetchone()
            if seen and self.limits.replay_window > 0:
                bump(tx, "replayed", 1, now)
                return None
            cur = tx.execute(
                "INSERT INTO webhook_events (received_at, topic, data, signature_ok, "
                "source, body_sha256, delivery_id) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    now,
                    topic,
                    json.dumps(data, ensure_ascii=False),
                    None if signed is None else int(signed),
                    source,
                    digest,
                    delivery_id,
                ),
            )
            event_id = int(cur.fetchone()[0])
            tx.executemany(
                "INSERT INTO webhook_replay (key, event_id, received_at) VALUES "
                "(?, ?, ?) ON CONFLICT(key) DO UPDATE SET event_id = "
                "excluded.event_id, received_at = excluded.received_at",
                [(k, event_id, now) for k in keys],
            )
            bump(tx, "accepted", 1, now)
        return event_id

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self._recorder.shutdown(wait=True)
                self.worker.stop()
                self.ledger.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return


async def _answer(send: Any, status: int, body: dict[str, Any], *, close: bool = False) -> None:
    payload = json.dumps(body).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def create_receiver(
    cache: Cache, client: ApiClient, *, secret: str | None = None, limits: Limits | None = None
) -> Receiver:
    """The receiver app; ``app.state.worker`` applies what it records."""
    return Receiver(cache, client, secret=secret, limits=limits)

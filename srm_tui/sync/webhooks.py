"""Receiving the vendor's webhook deliveries (`srm webhooks serve`).

A delivery is recorded, answered 200 at once (the vendor retries slow endpoints), and then
applied by one worker thread in arrival order: the records it names are fetched from the API
into the cache. With a signing secret, a delivery whose HMAC-SHA256 does not match is refused
with 401 and recorded as refused.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import queue
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from srm_tui.api.client import ApiClient
from srm_tui.storage.cache import Cache
from srm_tui.sync.engine import SyncEngine

SIGNATURE_HEADER = "X-Srm-Signature"


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    return bool(header) and hmac.compare_digest(sign(secret, body), header or "")


class WebhookWorker:
    """Applies recorded deliveries one at a time, off the HTTP thread."""

    def __init__(self, cache: Cache, client: ApiClient):
        self.cache = cache
        self.client = client
        self.queue: queue.Queue[int | None] = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="webhook-worker", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        engine = SyncEngine(self.cache, self.client)
        while (event_id := self.queue.get()) is not None:
            row = self.cache.conn().execute(
                "SELECT topic, data FROM webhook_events WHERE id = ?", (event_id,)).fetchone()
            error = None
            try:
                engine.apply_webhook(row["topic"], json.loads(row["data"]))
            except Exception as exc:  # recorded; the event stays for the next sync to cover
                error = f"{type(exc).__name__}: {exc}"
            with self.cache.transaction() as tx:
                tx.execute("UPDATE webhook_events SET processed_at = ?, error = ? WHERE id = ?",
                           (int(time.time()), error, event_id))
            self.queue.task_done()

    def stop(self) -> None:
        self.queue.put(None)
        self.thread.join(timeout=5)


def create_receiver(cache: Cache, client: ApiClient, *, secret: str | None = None) -> Starlette:
    worker = WebhookWorker(cache, client)

    async def receive(request: Request) -> JSONResponse:
        body = await request.body()
        ok = None if secret is None else signature_ok(
            secret, body, request.headers.get(SIGNATURE_HEADER))
        try:
            delivery: Any = json.loads(body)
            topic, data = delivery["topic"], delivery["data"]
            if not isinstance(topic, str) or not isinstance(data, dict):
                raise TypeError("topic must be text and data an object")
        except (ValueError, KeyError, TypeError) as exc:
            _record(cache, None, body.decode("utf-8", "replace")[:2000], ok,
                    f"malformed delivery: {exc}")
            return JSONResponse({"message": f"malformed delivery: {exc}"}, status_code=400)
        if ok is False:
            _record(cache, topic, json.dumps(data), False, "signature mismatch")
            return JSONResponse({"message": "signature mismatch"}, status_code=401)
        event_id = _record(cache, topic, json.dumps(data), ok, None)
        worker.queue.put(event_id)
        return JSONResponse({"message": "OK"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        worker.stop()

    app = Starlette(routes=[Route("/{path:path}", receive, methods=["POST"])],
                    lifespan=lifespan)
    app.state.worker = worker
    return app


def _record(cache: Cache, topic: str | None, data: str, ok: bool | None,
            error: str | None) -> int:
    with cache.transaction() as tx:
        cur = tx.execute(
            "INSERT INTO webhook_events (received_at, topic, data, signature_ok, processed_at, "
            "error) VALUES (?, ?, ?, ?, ?, ?)",
            (int(time.time()), topic, data, None if ok is None else int(ok),
             int(time.time()) if error else None, error))
        return int(cur.lastrowid)

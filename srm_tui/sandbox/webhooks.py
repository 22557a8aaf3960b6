"""Webhook deliveries: POST `{broadcasterId, topic, data}` to every subscribed URL.

Deliveries leave from one background thread in the order the events happened, with a short
timeout and a few retries (backoff 0.5 s, 1 s, 2 s) on errors and non-2xx answers. With a
signing secret each delivery carries `X-Srm-Signature: sha256=<hex HMAC-SHA256 of the body>`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import threading
import time
from typing import Callable

import httpx

from .generator import BROADCASTER_ID

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Srm-Signature"


def sign(secret: str, body: bytes) -> str:
    """The signature header value for `body`."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookDispatcher:
    """Queues events and delivers them to the URLs `urls_for(topic)` names at send time."""

    def __init__(self, urls_for: Callable[[str], list[str]], *, secret: str | None = None,
                 timeout: float = 2.0, retries: int = 3, backoff: float = 0.5):
        self.urls_for = urls_for
        self.secret = secret
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.queue: queue.Queue = queue.Queue()
        self.thread: threading.Thread | None = None
        self.start_lock = threading.Lock()
        self.delivered = 0
        self.failed = 0

    def __call__(self, topic: str, data: dict) -> None:
        """Queue one event (called by the state after a successful write)."""
        urls = self.urls_for(topic)
        if not urls:
            return
        body = json.dumps({"broadcasterId": BROADCASTER_ID, "topic": topic, "data": data},
                          ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        self._ensure_thread()
        for url in urls:
            self.queue.put((url, topic, body))

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every queued delivery is done (tests); False on timeout."""
        deadline = time.monotonic() + timeout
        while self.queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def stop(self, timeout: float = 5.0) -> None:
        """Finish what is queued (within `timeout`) and end the thread."""
        if self.thread is not None:
            self.queue.put(None)
            self.thread.join(timeout)
            self.thread = None

    def _ensure_thread(self) -> None:
        with self.start_lock:
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="sandbox-webhooks",
                                               daemon=True)
                self.thread.start()

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout, trust_env=False) as client:
            while True:
                item = self.queue.get()
                try:
                    if item is None:
                        return
                    self._deliver(client, *item)
                finally:
                    self.queue.task_done()

    def _deliver(self, client: httpx.Client, url: str, topic: str, body: bytes) -> None:
        headers = {"Content-Type": "application/json"}
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(self.secret, body)
        for attempt in range(self.retries + 1):
            try:
                response = client.post(url, content=body, headers=headers)
                if 200 <= response.status_code < 300:
                    self.delivered += 1
                    return
                reason = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                reason = type(exc).__name__
            if attempt < self.retries:
                time.sleep(self.backoff * 2 ** attempt)
        self.failed += 1
        log.warning("webhook %s to %s failed: %s", topic, url, reason)

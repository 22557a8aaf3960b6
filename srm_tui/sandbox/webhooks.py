"""Webhook deliveries: POST `{broadcasterId, topic, data}` to every subscribed URL.

Deliveries leave from one background thread in the order the events happened, with a short
timeout and a few retries (backoff 0.5 s, 1 s, 2 s) on errors and non-2xx answers.

Signatures: an endpoint entry carrying the vendor's `verification` object
(`{"name": "HMAC", "options": {"hashAlg": "SHA256", "sharedSecret": S}}`) gets the hex
HMAC-SHA256 of the raw body under S in the `signature_header` (default `X-Signature`; the
vendor's docs do not name it). In the sandbox profile a sandbox-wide secret also adds
`X-Srm-Signature: sha256=<hex>` to every delivery. The vendor profile sends only the topics
the vendor documents, with only the keys its docs show (`vendor_data`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import threading
import time
from collections.abc import Callable

import httpx

from .generator import BROADCASTER_ID

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Srm-Signature"
VENDOR_SIGNATURE_HEADER = "X-Signature"
# The keys of each topic's `data` in the vendor's docs (cleeng-api.md 4.L, cleeng-exports.md 9).
_PASS_KEYS = (
    "passId",
    "offerId",
    "customerId",
    "customerEmail",
    "customerExternalId",
    "active",
    "expirationDate",
)
VENDOR_DATA_KEYS = {
    "customerRegistered": ("customerId", "customerEmail", "customerExternalId"),
    "transactionCreated": (
        "offerId",
        "transactionId",
        "transactionDate",
        "transactionCountry",
        "transactionCurrency",
        "taxRate",
        "transactionPriceExclTax",
        "transactionPriceInclTax",
        "applicableTax",
        "appliedExchangeRate",
        "externalData",
        "customerId",
        "customerEmail",
        "customerExternalId",
        "paymentId",
        "offerPrice",
        "offerCurrency",
        "discountRate",
        "subscriptionPlanId",
        "paymentGateway",
    ),
    "passCreated": _PASS_KEYS,
    "passExpirationChanged": _PASS_KEYS + ("previousExpirationDate",),
    "passTerminated": _PASS_KEYS,
    "offerCreated": ("offerId", "createdAt"),
    "offerUpdated": ("offerId", "updatedAt"),
    "offerDeactivated": ("offerId", "deactivatedAt"),
    "offerPriceChanged": ("offerId", "updatedAt"),
}


def sign(secret: str, body: bytes) -> str:
    """The signature header value for `body`."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def hmac_hex(secret: str, body: bytes) -> str:
    """The vendor-style signature: hex HMAC-SHA256 of the raw body."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def vendor_data(topic: str, data: dict) -> dict | None:
    """`data` as the vendor documents it for `topic`; None for a topic it does not send."""
    keys = VENDOR_DATA_KEYS.get(topic)
    if keys is None:
        return None
    if topic == "offerDeactivated" and "deactivatedAt" not in data:
        data = dict(data, deactivatedAt=data.get("updatedAt"))
    if topic == "transactionCreated" and "subscriptionPlanId" not in data:
        data = dict(data, subscriptionPlanId=data.get("subscriptionId"))
    return {k: data.get(k) for k in keys}


def _shared_secret(endpoint: dict) -> str | None:
    verification = endpoint.get("verification")
    if isinstance(verification, dict) and verification.get("name") == "HMAC":
        return (verification.get("options") or {}).get("sharedSecret")
    return None


class WebhookDispatcher:
    """Queues events and delivers them to the endpoints `endpoints_for(topic)` names.

    `endpoints_for` returns endpoint entries (`{"url", "verification"?}`) or plain URLs.
    """

    def __init__(
        self,
        endpoints_for: Callable[[str], list],
        *,
        secret: str | None = None,
        timeout: float = 2.0,
        retries: int = 3,
        backoff: float = 0.5,
        vendor: bool = False,
        signature_header: str = VENDOR_SIGNATURE_HEADER,
    ):
        self.endpoints_for = endpoints_for
        self.secret = None if vendor else secret
        self.vendor = vendor
        self.signature_header = signature_header
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
        if self.vendor:
            data = vendor_data(topic, data)
            if data is None:
                return
        endpoints = [e if isinstance(e, dict) else {"url": e} for e in self.endpoints_for(topic)]
        if not endpoints:
            return
        body = json.dumps(
            {"broadcasterId": BROADCASTER_ID, "topic": topic, "data": data},
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode("utf-8")
        self._ensure_thread()
        for endpoint in endpoints:
            self.queue.put((endpoint["url"], topic, body, _shared_secret(endpoint)))

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
                self.thread = threading.Thread(
                    target=self._run, name="sandbox-webhooks", daemon=True
                )
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

    def _deliver(
        self, client: httpx.Client, url: str, topic: str, body: bytes, shared_secret: str | None
    ) -> None:
        headers = {"Content-Type": "application/json"}
        if self.secret:
            headers[SIGNATURE_HEADER] = sign(self.secret, body)
        if shared_secret:
            headers[self.signature_header] = hmac_hex(shared_secret, body)
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
                time.sleep(self.backoff * 2**attempt)
        self.failed += 1
        log.warning("webhook %s to %s failed: %s", topic, url, reason)

"""The sandbox HTTP app: `/3.1/...` vendor routes and extensions, `/sandbox/*` admin.

Every `/3.1` call passes, in order: the rate limit (429), the fault injector, the publisher
token check (401), the Idempotency-Key replay (writes), then its handler. Faults are drawn
from `random.Random(seed)`, one or two draws per call under a lock, so a given sequence of
calls meets the same faults every run. A faulted write is never applied, which is why a
truncated body (which needs the real answer) is only served to GET calls.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import threading
import time
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .errors import BadRequest, Refusal
from .routes import CUSTOMER, ROUTES, SUBSCRIPTION_LIST, SUBSCRIPTION_PATCH, Answer, Call
from .state import SandboxState
from .webhooks import WebhookDispatcher

API_PREFIX = "/3.1"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FAULT_KINDS = ("500", "503", "429", "stall", "truncate")


def dumps(payload) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_response(status: int, payload, headers: dict | None = None) -> Response:
    if payload is None:
        return Response(status_code=status, headers=headers)
    return Response(dumps(payload), status_code=status, headers=headers,
                    media_type="application/json")


def error_body(style: str, message: str) -> dict:
    """The vendor's error envelope for a route family."""
    if style == CUSTOMER:
        return {"success": False, "message": message, "data": None}
    if style == SUBSCRIPTION_LIST:
        return {"success": False, "data": None, "message": message}
    if style == SUBSCRIPTION_PATCH:
        return {"success": False, "subscription": None, "message": message}
    return {"message": message}


class FaultInjector:
    """Decides, deterministically per seed, which calls fail and how."""

    def __init__(self, rate: float, seed: int):
        self.rate = rate
        self.rng = random.Random(seed)
        self.lock = threading.Lock()

    def draw(self, can_truncate: bool) -> str | None:
        if self.rate <= 0:
            return None
        with self.lock:
            if self.rng.random() >= self.rate:
                return None
            kinds = FAULT_KINDS if can_truncate else FAULT_KINDS[:-1]
            return kinds[int(self.rng.random() * len(kinds))]


class RateLimiter:
    """A token bucket: `per_second` calls per second, bursts up to the same number."""

    def __init__(self, per_second: float):
        self.rate = per_second
        self.tokens = per_second
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def acquire(self) -> int | None:
        """None when the call may proceed, else the seconds to wait (Retry-After)."""
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return None
            return max(1, math.ceil((1 - self.tokens) / self.rate))


class _Api:
    """Wraps route handlers with the cross-cutting rules of the sandbox API."""

    def __init__(self, state: SandboxState, api_key: str, faults: FaultInjector,
                 limiter: RateLimiter | None, stall_seconds: float):
        self.state = state
        self.api_key = api_key
        self.faults = faults
        self.limiter = limiter
        self.stall_seconds = stall_seconds

    def endpoint(self, handler, style: str):
        async def call(request: Request) -> Response:
            return await self.serve(request, handler, style)
        return call

    async def serve(self, request: Request, handler, style: str) -> Response:
        if self.limiter is not None:
            wait = self.limiter.acquire()
            if wait is not None:
                return json_response(429, {"message": "Too Many Requests"},
                                     {"Retry-After": str(wait)})
        write = request.method in WRITE_METHODS
        fault = self.faults.draw(can_truncate=not write)
        if fault == "stall":
            await asyncio.sleep(self.stall_seconds)
            return json_response(503, {"message": "Service Unavailable"}, {"Retry-After": "1"})
        if fault == "500":
            return json_response(500, {"message": "Internal error"})
        if fault in ("503", "429"):
            message = "Service Unavailable" if fault == "503" else "Too Many Requests"
            return json_response(int(fault), {"message": message}, {"Retry-After": "1"})
        if request.headers.get("x-publisher-token") != self.api_key:
            return json_response(401, error_body(style, "Invalid publisher token"))

        raw = await request.body()
        # From here on nothing awaits: check, apply and remember run as one step on the loop.
        key = request.headers.get("idempotency-key") if write else None
        if key:
            stored = self.state.replay(key)
            if stored is not None:
                status, headers, body = stored
                return Response(body, status_code=status, headers=headers,
                                media_type="application/json" if body else None)
        status, headers, body = self.run(request, handler, style, raw)
        if key:
            self.state.remember(key, status, headers, body)
        if fault == "truncate":
            body = body[: len(body) // 2]
            status = 200
        return Response(body, status_code=status, headers=headers,
                        media_type="application/json" if body else None)

    def run(self, request: Request, handler, style: str, raw: bytes) -> tuple[int, dict, bytes]:
        try:
            try:
                body = json.loads(raw) if raw.strip() else {}
            except ValueError:
                raise BadRequest("Invalid JSON body") from None
            answer: Answer = handler(Call(self.state, request, body))
        except Refusal as refusal:
            return refusal.status, {}, dumps(error_body(style, refusal.message))
        if answer.payload is None:
            return answer.status, dict(answer.headers), b""
        return answer.status, dict(answer.headers), dumps(answer.payload)


from srm_tui.sandbox.tokens import DEFAULT_TTL, TokenIssuer  # noqa: E402


def create_app(state: SandboxState, *, api_key: str = "sandbox-key", faults: float = 0.0,
               seed: int = 1, stall_seconds: float = 5.0, rate_limit: float | None = None,
               webhook_secret: str | None = None) -> Starlette:
    """The sandbox API over `state` (see docs/sandbox-api.md)."""
    api = _Api(state, api_key, FaultInjector(faults, seed),
               RateLimiter(rate_limit) if rate_limit else None, stall_seconds)
    dispatcher = WebhookDispatcher(state.webhook_urls, secret=webhook_secret)
    state.listener = dispatcher

    routes = []
    for path, methods in ROUTES:
        for method, (handler, style) in methods.items():
            routes.append(Route(API_PREFIX + path, api.endpoint(handler, style),
                                methods=[method]))

    async def export(request: Request) -> Response:
        body = await run_in_threadpool(lambda: dumps(state.export()))
        return Response(body, media_type="application/json")

    async def health(request: Request) -> Response:
        return json_response(200, {"ok": True})

    issuer = TokenIssuer()

    async def jwks(request: Request) -> Response:
        return json_response(200, await run_in_threadpool(issuer.jwks))

    async def issue_token(request: Request) -> Response:
        """Admin extension: the JWT a customer's login would give (for support tickets)."""
        try:
            body = json.loads(await request.body() or b"{}")
            customer_id = int(body["customerId"])
            ttl = int(body.get("ttl", DEFAULT_TTL))
        except (ValueError, KeyError, TypeError):
            return json_response(400, {"message": "customerId (and optional ttl) required"})
        customer = state.get("customers", customer_id)
        if customer is None:
            return json_response(404, {"message": "Customer not found"})
        token = await run_in_threadpool(issuer.issue, customer_id, customer.get("email"),
                                        ttl=ttl)
        return json_response(201, {"jwt": token, "customerId": customer_id})

    routes += [Route("/sandbox/export", export, methods=["GET"]),
               Route("/sandbox/health", health, methods=["GET"]),
               Route("/sandbox/tokens", issue_token, methods=["POST"]),
               Route("/.well-known/jwks.json", jwks, methods=["GET"])]

    async def not_found(request: Request, exc) -> Response:
        return json_response(404, {"message": "Not found"})

    async def not_allowed(request: Request, exc) -> Response:
        return json_response(405, {"message": "Method not allowed"})

    @asynccontextmanager
    async def lifespan(app):
        yield
        await run_in_threadpool(dispatcher.stop)
        await run_in_threadpool(state.flush)

    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={404: not_found, 405: not_allowed})
    app.state.sandbox = state
    app.state.webhooks = dispatcher
    return app

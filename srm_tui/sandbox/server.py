"""The sandbox HTTP app: `/3.1/...` vendor routes and extensions, `/sandbox/*` admin.

Every `/3.1` call passes, in order: the rate limit (429), the fault injector, the publisher
token check (401), the Idempotency-Key replay (writes), then its handler. Faults are drawn
from `random.Random(seed)`, one or two draws per call under a lock, so a given sequence of
calls meets the same faults every run. A faulted write is never applied, which is why a
truncated body (which needs the real answer) is only served to GET calls.

Over 400 lines: the request pipeline above (rate limit, faults, auth, idempotency) and the
admin routes share the server's state and lock.
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
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from . import churniq, shapes
from .errors import BadRequest, Refusal
from .generating import page_wanted, until_generated
from .hostile import (
    HOSTILE_KINDS,
    HTML_PAGE,
    READ_ONLY,
    DroppedResponse,
    HugeResponse,
    Stats,
    mangle,
    quiet_server_log,
)
from .routes import CUSTOMER, SUBSCRIPTION_LIST, SUBSCRIPTION_PATCH, Answer, Call, enumerate_entity
from .state import SandboxState
from .vendor_routes import routes_for
from .webhooks import VENDOR_SIGNATURE_HEADER, WebhookDispatcher

API_PREFIX = "/3.1"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FAULT_KINDS = ("500", "503", "429", "stall", "truncate")


def dumps(payload) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def json_response(status: int, payload, headers: dict | None = None) -> Response:
    if payload is None:
        return Response(status_code=status, headers=headers)
    return Response(
        dumps(payload), status_code=status, headers=headers, media_type="application/json"
    )


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
    """Decides, deterministically per seed, which calls fail and how.

    ``hostile`` adds the kinds of hostile.py to the draw; ``kinds`` limits the draw to those
    (docs/sandbox-api.md).
    """

    def __init__(
        self, rate: float, seed: int, hostile: bool = False, kinds: tuple[str, ...] | None = None
    ):
        self.rate = rate
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.hostile = hostile or bool(kinds)
        self.kinds = kinds
        self.mangle_rng = random.Random(seed + 1)  # which records a spoiled answer spoils

    def draw(self, can_truncate: bool) -> str | None:
        if self.rate <= 0:
            return None
        with self.lock:
            if self.rng.random() >= self.rate:
                return None
            if self.hostile:
                kinds = self.kinds or FAULT_KINDS + HOSTILE_KINDS
                if not can_truncate:
                    kinds = tuple(k for k in kinds if k not in READ_ONLY)
                    if not kinds:
                        return None
            else:
                kinds = FAULT_KINDS if can_truncate else FAULT_KINDS[:-1]
            return kinds[int(self.rng.random() * len(kinds))]


class RateLimiter:
    """A token bucket: `per_second` calls per second, bursts up to the same number."""

    def __init__(self, per_second: float):
        self.rate = per_second
        self.tokens = per_second
        self.stamp = time.monotonic()
        self.lock = threading.Lock()
        # ``PUT /sandbox/limit {"refuse": N}``: the next N calls are refused, so a test meets the
        # limit by construction, whatever speed the machine lets a client send at.
        self.refuse_next = 0

    def acquire(self) -> int | None:
        """None when the call may proceed, else the seconds to wait (Retry-After)."""
        with self.lock:
            if self.refuse_next > 0:
                self.refuse_next -= 1
                return 1
            now = time.monotonic()
            self.tokens = min(self.rate, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= 1:
                self.tokens -= 1
                return None
            return max(1, math.ceil((1 - self.tokens) / self.rate))


class _Api:
    """Wraps route handlers with the cross-cutting rules of the sandbox API."""

    def __init__(
        self,
        state: SandboxState,
        api_key: str,
        faults: FaultInjector,
        limiter: RateLimiter | None,
        stall_seconds: float,
        *,
        slow_seconds: float = 2.0,
        huge_bytes: int = 48 << 20,
        profile: str = shapes.SANDBOX,
    ):
        self.state = state
        self.profile = profile
        self.api_key = api_key
        self.faults = faults
        self.limiter = limiter
        self.stall_seconds = stall_seconds
        self.slow_seconds = slow_seconds
        self.huge_bytes = huge_bytes
        self.stats = Stats()

    def endpoint(self, handler, style: str):
        async def call(request: Request) -> Response:
            return await self.serve(request, handler, style)

        return call

    async def serve(self, request: Request, handler, style: str) -> Response:
        self.stats.call()
        if self.limiter is not None:
            wait = self.limiter.acquire()
            if wait is not None:
                self.stats.limited(wait)
                return json_response(
                    429, {"message": "Too Many Requests"}, {"Retry-After": str(wait)}
                )
            self.stats.admit()
        write = request.method in WRITE_METHODS
        fault = self.faults.draw(can_truncate=not write)
        if fault is not None:
            self.stats.fault(fault)
        if fault == "slow":  # late, then answered as usual
            await asyncio.sleep(self.slow_seconds)
        if fault == "stall":
            await asyncio.sleep(self.stall_seconds)
            return json_response(503, {"message": "Service Unavailable"}, {"Retry-After": "1"})
        if fault == "500":
            return json_response(500, {"message": "Internal error"})
        if fault in ("503", "429"):
            message = "Service Unavailable" if fault == "503" else "Too Many Requests"
            return json_response(int(fault), {"message": message}, {"Retry-After": "1"})
        if fault == "html":  # a proxy's error page, with status 200; nothing applied
            return Response(HTML_PAGE, status_code=200, media_type="text/html")
        if request.headers.get("x-publisher-token") != self.api_key:
            return json_response(401, error_body(style, "Invalid publisher token"))

        generation = self.state.generation
        if generation is not None and not generation.complete:  # see generating.py
            call = Call(self.state, request, None, self.profile)
            late = await until_generated(
                generation, page_wanted(call) if handler is enumerate_entity else None
            )
            if late is not None:
                status, body, headers = late
                return self._answer(status, headers, dumps(body), None)
        raw = await request.body()
        # From here on nothing awaits: check, apply and remember run as one step on the loop.
        key = request.headers.get("idempotency-key") if write else None
        if key:
            stored = self.state.replay(key)
            if stored is not None:
                self.stats.applied(replay=True)
                status, headers, body = stored
                return self._answer(status, headers, body, fault)
        status, headers, body = self.run(request, handler, style, raw)
        if write:
            self.stats.applied(replay=False)
        if key:
            self.state.remember(key, status, headers, body)
        if fault == "truncate":
            body = body[: len(body) // 2]
            status = 200
        return self._answer(status, headers, body, fault)

    def _answer(self, status: int, headers: dict, body: bytes, fault: str | None) -> Response:
        """The answer, as the drawn fault spoils it (a write is applied before this)."""
        self.stats.answered(status)
        ok = 200 <= status < 300 and bool(body)
        if fault in ("dupes", "dates", "money") and ok:
            with self.faults.lock:
                body = mangle(fault, body, self.faults.mangle_rng)
            headers = {k: v for k, v in headers.items() if k.lower() != "content-length"}
        if fault == "huge" and ok:
            return HugeResponse(body, status, headers, self.huge_bytes)
        if fault == "drop" and body:
            return DroppedResponse(body, status, headers)
        media = "application/json" if body else None
        if fault == "ctype" and body:
            media = "text/plain; charset=iso-8859-1"
        return Response(body, status_code=status, headers=headers, media_type=media)

    def run(self, request: Request, handler, style: str, raw: bytes) -> tuple[int, dict, bytes]:
        try:
            try:
                body = json.loads(raw) if raw.strip() else {}
            except ValueError:
                raise BadRequest("Invalid JSON body") from None
            answer: Answer = handler(Call(self.state, request, body, self.profile))
        except Refusal as refusal:
            return refusal.status, {}, dumps(error_body(style, refusal.message))
        if answer.payload is None:
            return answer.status, dict(answer.headers), b""
        return answer.status, dict(answer.headers), dumps(answer.payload)


from srm_tui.sandbox.tokens import DEFAULT_TTL, TokenIssuer  # noqa: E402


def check_fault_kinds(kinds: tuple[str, ...] | None) -> None:
    unknown = set(kinds or ()) - set(FAULT_KINDS + HOSTILE_KINDS)
    if unknown:
        raise ValueError(
            f"unknown fault kinds: {', '.join(sorted(unknown))} (known: "
            f"{', '.join(FAULT_KINDS + HOSTILE_KINDS)})"
        )


def create_app(
    state: SandboxState,
    *,
    api_key: str = "sandbox-key",
    faults: float = 0.0,
    seed: int = 1,
    stall_seconds: float = 5.0,
    rate_limit: float | None = None,
    webhook_secret: str | None = None,
    hostile: bool = False,
    slow_seconds: float = 2.0,
    huge_bytes: int = 48 << 20,
    fault_kinds: tuple[str, ...] | None = None,
    profile: str = shapes.SANDBOX,
    webhook_signature_header: str = VENDOR_SIGNATURE_HEADER,
) -> Starlette:
    """The sandbox API over `state` (see docs/sandbox-api.md).

    `profile` "sandbox" serves the vendor's paths plus the `/x-srm/` extensions; "vendor"
    only the vendor's published surface (CONTRACT section 7).
    """
    check_fault_kinds(fault_kinds)
    table = routes_for(profile)
    api = _Api(
        state,
        api_key,
        FaultInjector(faults, seed, hostile, fault_kinds),
        RateLimiter(rate_limit) if rate_limit else None,
        stall_seconds,
        slow_seconds=slow_seconds,
        huge_bytes=huge_bytes,
        profile=profile,
    )
    if hostile:
        quiet_server_log()
    dispatcher = WebhookDispatcher(
        state.webhook_endpoints,
        secret=webhook_secret,
        vendor=profile == shapes.VENDOR,
        signature_header=webhook_signature_header,
    )
    state.listener = dispatcher

    routes = []
    for path, methods in table:
        for method, (handler, style) in methods.items():
            routes.append(Route(API_PREFIX + path, api.endpoint(handler, style), methods=[method]))

    async def generated() -> Response | None:
        """Admin reads and writes wait for every customer to be in (generating.py)."""
        generation = state.generation
        late = None
        if generation is not None and not generation.complete:
            late = await until_generated(generation, None)
        return None if late is None else json_response(*late)

    async def export(request: Request) -> Response:
        if (late := await generated()) is not None:
            return late
        body = await run_in_threadpool(lambda: dumps(state.export()))
        return Response(body, media_type="application/json")

    async def health(request: Request) -> Response:
        return json_response(200, {"ok": True})

    issuer = TokenIssuer()

    async def jwks(request: Request) -> Response:
        return json_response(200, await run_in_threadpool(issuer.jwks))

    async def issue_token(request: Request) -> Response:
        """Admin extension: the JWT a customer's login would give (for support tickets)."""
        if (late := await generated()) is not None:
            return late
        try:
            body = json.loads(await request.body() or b"{}")
            customer_id = int(body["customerId"])
            ttl = int(body.get("ttl", DEFAULT_TTL))
        except (ValueError, KeyError, TypeError):
            return json_response(400, {"message": "customerId (and optional ttl) required"})
        customer = state.get("customers", customer_id)
        if customer is None:
            return json_response(404, {"message": "Customer not found"})
        token = await run_in_threadpool(issuer.issue, customer_id, customer.get("email"), ttl=ttl)
        return json_response(201, {"jwt": token, "customerId": customer_id})

    async def stats(request: Request) -> Response:
        return json_response(200, api.stats.as_json())

    async def set_faults(request: Request) -> Response:
        """Admin extension: change the fault rate while serving (``{"rate": 0.3}``)."""
        try:
            rate = float(json.loads(await request.body() or b"{}")["rate"])
        except (ValueError, KeyError, TypeError):
            return json_response(400, {"message": "rate (0..1) required"})
        if not 0 <= rate <= 1:
            return json_response(400, {"message": "rate must be between 0 and 1"})
        api.faults.rate = rate
        return json_response(200, {"rate": rate, "hostile": api.faults.hostile})

    async def set_limit(request: Request) -> Response:
        """Admin extension: refuse the next N calls with 429 (``{"refuse": 2}``), as a limit met
        would, so a test meets the limit at the call it chooses rather than by sending fast."""
        if api.limiter is None:
            return json_response(409, {"message": "the sandbox runs without --rate-limit"})
        try:
            refuse = json.loads(await request.body() or b"{}")["refuse"]
        except (ValueError, KeyError, TypeError):
            refuse = None
        if isinstance(refuse, bool) or not isinstance(refuse, int) or not 0 <= refuse <= 1000:
            return json_response(400, {"message": "refuse (a count, 0 to 1000) required"})
        with api.limiter.lock:
            api.limiter.refuse_next = refuse
        return json_response(200, {"refuse": refuse})

    routes += [
        Route("/sandbox/stats", stats, methods=["GET"]),
        Route("/sandbox/faults", set_faults, methods=["PUT"]),
        Route("/sandbox/limit", set_limit, methods=["PUT"]),
        Route("/sandbox/export", export, methods=["GET"]),
        Route("/sandbox/health", health, methods=["GET"]),
        Route("/sandbox/tokens", issue_token, methods=["POST"]),
        Route("/.well-known/jwks.json", jwks, methods=["GET"]),
    ]

    async def not_found(request: Request, exc) -> Response:
        return json_response(404, {"message": "Not found"})

    async def not_allowed(request: Request, exc) -> Response:
        if profile == shapes.VENDOR and request.url.path.startswith(API_PREFIX + "/"):
            return json_response(404, {"message": "Not found"})  # no such path+method there
        return json_response(405, {"message": "Method not allowed"})

    async def churniq_report(request: Request) -> Response:
        """Admin: a ChurnIQ report of the state, streamed (docs/sandbox-api.md)."""
        if (late := await generated()) is not None:
            return late
        report = request.path_params["report"]
        if report not in churniq.REPORTS:
            return json_response(404, {"message": "Not found"})
        formatted = request.query_params.get("formatted", "1") not in ("0", "false", "no")
        return StreamingResponse(
            churniq.iter_report(state, report, formatted), media_type="text/csv; charset=utf-8"
        )

    async def simulate_transaction(request: Request) -> Response:
        """Admin: a new captured payment for a customer, as if the vendor had charged it."""
        if (late := await generated()) is not None:
            return late
        try:
            body = json.loads(await request.body() or b"{}")
            customer_id = int(body["customerId"])
        except (ValueError, KeyError, TypeError):
            return json_response(400, {"message": "customerId required"})
        try:
            txn = await run_in_threadpool(
                state.simulate_transaction, customer_id, body.get("offerId")
            )
        except Refusal as refusal:
            return json_response(refusal.status, {"message": refusal.message})
        return json_response(201, txn)

    async def simulate_customer(request: Request) -> Response:
        """Admin: a customer registers (the vendor profile has no POST /customers)."""
        if (late := await generated()) is not None:
            return late
        try:
            body = json.loads(await request.body() or b"{}")
            if not isinstance(body, dict):
                raise ValueError
            customer = await run_in_threadpool(state.register_customer, body)
        except ValueError:
            return json_response(400, {"message": "Invalid JSON body"})
        except Refusal as refusal:
            return json_response(refusal.status, {"message": refusal.message})
        return json_response(201, customer)

    routes += [
        Route("/sandbox/churniq/{report}.csv", churniq_report, methods=["GET"]),
        Route("/sandbox/simulate/transaction", simulate_transaction, methods=["POST"]),
        Route("/sandbox/simulate/customer", simulate_customer, methods=["POST"]),
    ]

    @asynccontextmanager
    async def lifespan(app):
        yield
        await run_in_threadpool(dispatcher.stop)
        await run_in_threadpool(state.flush)

    app = Starlette(
        routes=routes, lifespan=lifespan, exception_handlers={404: not_found, 405: not_allowed}
    )
    app.state.sandbox = state
    app.state.webhooks = dispatcher
    app.state.profile = profile
    return app

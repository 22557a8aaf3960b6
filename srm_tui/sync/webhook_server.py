"""Serving the webhook receiver: the HTTP server's part of holding against slow and many
clients.

uvicorn's own timeouts only cover an idle keep-alive connection, so a client sending its
headers one byte at a time would hold a socket forever. Each connection here gets a
deadline for its headers (from connect, or from the previous response) and one for its body
(from the headers); a connection past its deadline is closed and counted. Connections beyond
the limit are answered 503 and closed at once. Headers are capped by h11's incomplete-event
size.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from srm_tui.sandbox.runner import SHUTDOWN_GRACE_SECONDS, _bind, _Server
from srm_tui.sync.webhooks import MAX_HEADER_BYTES, Ledger, Limits


def _plain(status: str, text: str) -> bytes:
    """A whole HTTP/1.1 answer that closes the connection (written below the ASGI app)."""
    body = text.encode()
    return (
        f"HTTP/1.1 {status}\r\ncontent-type: text/plain\r\ncontent-length: {len(body)}"
        "\r\nconnection: close\r\n\r\n"
    ).encode() + body


_BUSY = _plain("503 Service Unavailable", "too many connections")
_LATE = _plain("408 Request Timeout", "request timeout")


class GuardedProtocol(H11Protocol):
    """uvicorn's h11 protocol with header and body deadlines and a connection limit.

    ``limits`` and ``ledger`` are set on a subclass made per receiver (``guarded``).
    """

    limits: Limits
    ledger: Ledger

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._timer: asyncio.TimerHandle | None = None
        self._seen_cycle: Any = None
        self._refused = False
        self._partial = False
        if len(self.connections) >= self.limits.max_connections:
            self._refused = True
            peer = transport.get_extra_info("peername")
            self.ledger.refuse("too_many_connections", source=_host(peer))
            transport.write(_BUSY)
            transport.close()
            return
        super().connection_made(transport)
        self._arm(self.limits.header_timeout, "header_timeout")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._refused:
            return
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        self._partial = True  # part of a request is in (cleared by each response)
        super().data_received(data)

    def handle_events(self) -> None:
        super().handle_events()
        if self.transport.is_closing():
            self._disarm()
            return
        cycle = self.cycle
        if cycle is not None and cycle is not self._seen_cycle:
            self._seen_cycle = cycle  # a new request's headers are in: now its body
            if cycle.more_body:
                self._arm(self.limits.body_timeout, "body_timeout")
            else:
                self._disarm()
        elif cycle is not None and not cycle.more_body and self._kind == "body_timeout":
            self._disarm()

    def send_400_response(self, msg: str) -> None:
        # h11 could not read the request: bad syntax, or headers past MAX_HEADER_BYTES.
        self.ledger.refuse("bad_request", source=_host(self.client), detail=msg)
        self._disarm()
        super().send_400_response(msg)

    def on_response_complete(self) -> None:
        if not self.transport.is_closing():
            # The next request's headers must come within the deadline (handle_events,
            # called below for a pipelined request, re-arms for its body).
            self._arm(self.limits.header_timeout, "header_timeout")
        self._partial = False
        super().on_response_complete()

    # deadlines -------------------------------------------------------------------------

    _kind: str | None = None

    def _arm(self, seconds: float, kind: str) -> None:
        self._disarm()
        self._kind = kind
        self._timer = self.loop.call_later(seconds, self._expired, kind)

    def _disarm(self) -> None:
        timer = getattr(self, "_timer", None)
        if timer is not None:
            timer.cancel()
        self._timer = None
        self._kind = None

    def _expired(self, kind: str) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        cycle = self.cycle
        idle = kind == "header_timeout" and cycle is not None and not self._partial
        if not idle:  # a request begun and stalled, or a connection that never sent one
            self.ledger.refuse(kind, source=_host(self.client))
            if cycle is None or cycle.response_complete or not cycle.response_started:
                self.transport.write(_LATE)
        self.transport.close()


def _host(peer: Any) -> str | None:
    return str(peer[0]) if isinstance(peer, (tuple, list)) and peer else None


def guarded(limits: Limits, ledger: Ledger) -> type[GuardedProtocol]:
    """A protocol class bound to one receiver's limits and ledger (uvicorn makes one
    instance per connection from the class it is given)."""
    return type("ReceiverProtocol", (GuardedProtocol,), {"limits": limits, "ledger": ledger})


def serve_receiver(
    app: Any, host: str, port: int, limits: Limits, ledger: Ledger, on_ready: Callable[[str], None]
) -> None:
    """Serve the receiver until SIGINT/SIGTERM; ``on_ready(url)`` once listening."""
    sock = _bind(host, port)
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        http=guarded(limits, ledger),
        timeout_keep_alive=limits.idle_timeout,
        # The connection limit is enforced per connection above; uvicorn's own check
        # answers 503 at its limit, so it is kept one past ours to bound tasks only.
        limit_concurrency=limits.max_connections + 1,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
    )
    host_, port_ = sock.getsockname()[:2]
    if ":" in host_:
        host_ = f"[{host_}]"
    try:
        _Server(config, f"http://{host_}:{port_}/", on_ready).run(sockets=[sock])
    finally:
        sock.close()

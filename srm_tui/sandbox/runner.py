"""Running the sandbox app with uvicorn: in the foreground (`serve`) or in a thread.

The listening socket is bound before uvicorn starts, so a port already in use fails at once
with OSError, and port 0 (any free port) is resolved to the real one before `on_ready`.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass

import uvicorn

SHUTDOWN_GRACE_SECONDS = 2


def _bind(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/3.1"


class _Server(uvicorn.Server):
    """uvicorn.Server that reports readiness and exits quietly on SIGINT/SIGTERM."""

    def __init__(self, config: uvicorn.Config, url: str, on_ready: Callable[[str], None] | None):
        super().__init__(config)
        self.url = url
        self.on_ready = on_ready

    async def startup(self, sockets=None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self.on_ready is not None:
            self.on_ready(self.url)

    @contextlib.contextmanager
    def capture_signals(self):
        # uvicorn re-raises the signal after shutdown; a clean exit status is wanted here.
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def stop(signum, frame):
            if self.should_exit and signum == signal.SIGINT:
                self.force_exit = True
            self.should_exit = True

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def _server(app, sock: socket.socket, on_ready: Callable[[str], None] | None) -> _Server:
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
    )
    return _Server(config, _base_url(sock), on_ready)


def serve(app, host: str, port: int, on_ready: Callable[[str], None]) -> None:
    """Serve until SIGINT/SIGTERM; `on_ready("http://HOST:PORT/3.1")` once listening."""
    sock = _bind(host, port)
    try:
        _server(app, sock, on_ready).run(sockets=[sock])
    finally:
        sock.close()


@dataclass
class RunningSandbox:
    """A sandbox served from a background thread."""

    url: str
    server: _Server
    thread: threading.Thread
    sock: socket.socket

    @property
    def port(self) -> int:
        return self.sock.getsockname()[1]

    def stop(self, timeout: float = 10.0) -> None:
        """Shut down (running the app's shutdown, which flushes state) and wait."""
        self.server.should_exit = True
        self.thread.join(timeout)
        self.sock.close()


def start_in_thread(
    app, host: str = "127.0.0.1", port: int = 0, timeout: float = 30.0
) -> RunningSandbox:
    """Start serving `app` in a daemon thread; returns once it accepts connections."""
    sock = _bind(host, port)
    ready = threading.Event()
    server = _server(app, sock, lambda url: ready.set())
    failure: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # reported to the caller below
            failure.append(exc)
        finally:
            ready.set()

    thread = threading.Thread(target=run, name="sandbox-server", daemon=True)
    thread.start()
    if not ready.wait(timeout) or failure or not server.started:
        server.should_exit = True
        sock.close()
        raise RuntimeError(f"sandbox did not start: {failure[0] if failure else 'timeout'}")
    return RunningSandbox(server.url, server, thread, sock)


def start_sandbox(
    state, *, profile: str = "sandbox", host: str = "127.0.0.1", port: int = 0, **options
) -> RunningSandbox:
    """Serve `state` in a background thread in `profile` ("sandbox" or "vendor").

    `options` go to `server.create_app` (api_key, faults, webhook_secret,
    webhook_signature_header, ...).
    """
    from .server import (
        create_app,  # the app pulls in the routes; the runner alone does not
    )

    return start_in_thread(create_app(state, profile=profile, **options), host, port)

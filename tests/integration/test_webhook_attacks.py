"""Issue 13's attacks on `srm webhooks serve`, sent to the real receiver process over
loopback: huge bodies, deep nesting, replays, slow and surplus connections. Each ends with a
normal delivery that is still processed.

Nothing here depends on speed: every wait is for an event (a socket closed by the server,
a count reached) with a generous upper bound, and the assertions are on counts and sizes.
"""

from __future__ import annotations

import json
import os
import select
import socket
import time
from pathlib import Path

import httpx
import pytest

from srm_tui.sync.webhooks import hmac_hex
from tests.helpers import wait_for
from tests.integration.test_webhooks import SECRET, Receiver, _cache_rows

MB = 1 << 20
ATTACK = 50 * MB


@pytest.fixture(scope="module")
def sandbox(sandbox_process):
    return sandbox_process("--customers", "5", "--as-of", "2026-11-01T00:00:00Z")


def _receiver(sandbox, tmp_path, **env):
    settings = {
        "SRM_WEBHOOK_SECRET": SECRET,
        "SRM_WEBHOOK_HEADER_TIMEOUT": "2",
        "SRM_WEBHOOK_BODY_TIMEOUT": "2",
        **env,
    }
    return Receiver(sandbox.url, tmp_path / "c.db", **settings)


@pytest.fixture
def receiver(sandbox, tmp_path):
    r = _receiver(sandbox, tmp_path)
    yield r
    r.stop()


def _proc(pid: int, field: str) -> int:
    """A VmRSS/VmHWM figure of a process, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field}")


def _fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _cache_bytes(db: str) -> int:
    return sum(os.path.getsize(p) for p in (db, db + "-wal") if os.path.exists(p))


def _signed(delivery: dict) -> tuple[bytes, dict]:
    body = json.dumps(delivery).encode()
    return body, {"X-Signature": hmac_hex(SECRET, body), "Content-Type": "application/json"}


def _normal_delivery_is_processed(sandbox, receiver) -> None:
    """A valid delivery after the attack: 200, applied, the customer in the cache."""
    cid = sandbox.export()["customers"][0]["id"]
    before = receiver.status()["processed"]
    body, headers = _signed(
        {
            "broadcasterId": 1,
            "topic": "customerRegistered",
            "data": {"customerId": cid, "nonce": time.time_ns()},
        }
    )
    r = httpx.post(receiver.url, content=body, headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    assert wait_for(lambda: receiver.status()["processed"] == before + 1, timeout=60, interval=0.2)
    assert _cache_rows(
        receiver.env["SRM_DB"], "SELECT count(*) FROM customers WHERE id = ?", cid
    ) == [(1,)]


def _response_status(sock: socket.socket) -> int | None:
    """The status of what the server sent before closing (None: nothing)."""
    data = b""
    try:
        while len(data) < 4096:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    return int(data.split()[1]) if data.startswith(b"HTTP/1.1 ") else None


def _huge_post(port: int, *, chunked: bool) -> tuple[int | None, int]:
    """POST 50 MB (declared or chunked); the status answered and how much could be sent."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=120)
    framing = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: %d" % ATTACK
    sock.sendall(
        b"POST /hooks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + framing
        + b"\r\n\r\n"
    )
    piece = b"[" * 65536
    sent = 0
    try:
        while sent < ATTACK:
            sock.sendall(b"10000\r\n" + piece + b"\r\n" if chunked else piece)
            sent += len(piece)
    except OSError:  # the server closed the connection: it would not take the body
        pass
    status = _response_status(sock)
    sock.close()
    return status, sent


def test_huge_bodies_are_refused_before_they_are_read(sandbox, receiver):
    pid = receiver.proc.pid
    db = receiver.env["SRM_DB"]
    rss_before = _proc(pid, "VmRSS")
    cache_before = _cache_bytes(db)
    results = [_huge_post(receiver.port, chunked=i % 2 == 1) for i in range(6)]
    assert [status for status, _ in results] == [413] * 6
    # The receiver stopped taking each body: far less than 50 MB went in.
    assert all(sent < ATTACK for _, sent in results), results
    assert wait_for(lambda: receiver.status()["refused"].get("too_large") == 6, timeout=60)
    peak = _proc(pid, "VmHWM") - rss_before
    grown = _cache_bytes(db) - cache_before
    print(
        f"6 x 50 MB: receiver peak RSS +{peak / MB:.1f} MB, cache +{grown / 1024:.1f} KB, "
        f"at most {max(s for _, s in results) / MB:.1f} MB sent before the close"
    )
    assert peak < 40 * MB  # one 1 MB body at most is ever held, never 50 MB
    assert grown < 128 * 1024  # six summary rows and counters (WAL pages), not 300 MB
    rows = _cache_rows(db, "SELECT reason, size, source, length(body_sha256) FROM webhook_refusals")
    assert len(rows) == 6 and {r[0] for r in rows} == {"too_large"}
    assert all(r[1] > MB and r[2] == "127.0.0.1" for r in rows)
    assert _cache_rows(db, "SELECT count(*) FROM webhook_events") == [(0,)]
    _normal_delivery_is_processed(sandbox, receiver)


def test_deep_nesting_is_a_400_not_a_crash(sandbox, receiver):
    deep = b"[" * 100_000 + b"]" * 100_000
    r = httpx.post(receiver.url, content=deep, headers={"X-Signature": hmac_hex(SECRET, deep)})
    assert r.status_code == 400 and "deeper" in r.json()["message"]
    data: dict = {}
    inner = data
    for _ in range(62):  # the envelope, data and 62 levels below: 64 deep
        inner["a"] = {}
        inner = inner["a"]
    body, headers = _signed({"topic": "unknownTopic", "data": data})
    assert httpx.post(receiver.url, content=body, headers=headers).status_code == 200
    inner["a"] = {}  # one level more
    body, headers = _signed({"topic": "unknownTopic", "data": data})
    assert httpx.post(receiver.url, content=body, headers=headers).status_code == 400
    assert wait_for(lambda: receiver.status()["refused"].get("too_deep") == 2, timeout=60)
    assert receiver.proc.poll() is None
    _normal_delivery_is_processed(sandbox, receiver)


def test_a_replayed_delivery_is_acknowledged_and_applied_once(sandbox, receiver):
    cid = sandbox.export()["customers"][1]["id"]
    body, headers = _signed(
        {"broadcasterId": 1, "topic": "customerRegistered", "data": {"customerId": cid}}
    )
    answers = [
        httpx.post(receiver.url, content=body, headers=headers).status_code for _ in range(100)
    ]
    assert answers == [200] * 100
    # The same delivery id on another body (a retry the sender re-serialised): a repeat too.
    first, h1 = _signed({"topic": "passCreated", "data": {"customerId": cid, "passId": 1}})
    again, h2 = _signed({"topic": "passCreated", "data": {"passId": 1, "customerId": cid}})
    assert (
        httpx.post(receiver.url, content=first, headers={**h1, "X-Delivery-Id": "d-1"}).status_code
        == 200
    )
    assert (
        httpx.post(receiver.url, content=again, headers={**h2, "X-Delivery-Id": "d-1"}).status_code
        == 200
    )
    assert wait_for(lambda: receiver.status()["processed"] == 2, timeout=60, interval=0.2)
    seen = receiver.status()
    assert (seen["accepted"], seen["replayed"], seen["processed"]) == (2, 100, 2)
    topics = _cache_rows(receiver.env["SRM_DB"], "SELECT topic FROM webhook_events ORDER BY id")
    assert topics == [("customerRegistered",), ("passCreated",)]
    _normal_delivery_is_processed(sandbox, receiver)


def _closed_by_server(sock: socket.socket) -> bool:
    """Whether the server has answered or closed this socket (without blocking)."""
    poller = select.poll()  # not select(): descriptors past 1024 are fine here
    poller.register(sock, select.POLLIN | select.POLLHUP | select.POLLERR)
    if not poller.poll(0):
        return False
    try:
        sock.recv(4096, socket.MSG_PEEK)
    except OSError:
        return True
    return True


def _trickle_until_closed(socks: list[socket.socket], limit: float = 120.0) -> list[socket.socket]:
    """Send one more header byte to each open socket every half second until the server
    closes them all (or the generous limit passes); the sockets still open."""
    open_ = list(socks)
    deadline = time.monotonic() + limit
    while open_ and time.monotonic() < deadline:
        still = []
        for sock in open_:
            if _closed_by_server(sock):
                continue
            try:
                sock.send(b"a")
            except OSError:
                continue
            still.append(sock)
        open_ = still
        time.sleep(0.5)
    return open_


def test_slow_headers_and_bodies_are_closed_by_their_deadlines(sandbox, tmp_path):
    receiver = _receiver(sandbox, tmp_path, SRM_WEBHOOK_MAX_CONNECTIONS="1000")
    try:
        pid = receiver.proc.pid
        fds_before = _fds(pid)
        socks = []
        for _ in range(300):
            sock = socket.create_connection(("127.0.0.1", receiver.port), timeout=30)
            sock.sendall(b"POST /hooks HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            socks.append(sock)
        stalled = socket.create_connection(("127.0.0.1", receiver.port), timeout=30)
        stalled.sendall(b"POST /hooks HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        assert _trickle_until_closed(socks + [stalled]) == []
        answers = [_response_status(s) for s in socks]
        assert answers == [408] * 300  # each told "request timeout", then closed
        for sock in socks + [stalled]:
            sock.close()
        assert wait_for(
            lambda: receiver.status()["refused"].get("header_timeout") == 300, timeout=60
        )
        assert receiver.status()["refused"].get("body_timeout") == 1
        assert wait_for(lambda: _fds(pid) <= fds_before + 2, timeout=60)
        print(f"300 slow sockets: all closed; receiver descriptors {fds_before} -> {_fds(pid)}")
        _normal_delivery_is_processed(sandbox, receiver)
    finally:
        receiver.stop()


def test_connections_beyond_the_limit_are_refused_at_once(sandbox, tmp_path):
    receiver = _receiver(sandbox, tmp_path, SRM_WEBHOOK_MAX_CONNECTIONS="10")
    try:
        socks = [
            socket.create_connection(("127.0.0.1", receiver.port), timeout=30) for _ in range(15)
        ]
        assert _trickle_until_closed(socks) == []
        answers = sorted(_response_status(s) or 0 for s in socks)
        assert answers == [408] * 10 + [503] * 5
        for sock in socks:
            sock.close()
        assert wait_for(
            lambda: receiver.status()["refused"].get("too_many_connections") == 5, timeout=60
        )
        _normal_delivery_is_processed(sandbox, receiver)
    finally:
        receiver.stop()


def test_oversized_headers_are_refused_and_counted(sandbox, receiver):
    for size, status in ((64 * 1024, 431), (MB, 400)):  # in one read, or past h11's cap
        sock = socket.create_connection(("127.0.0.1", receiver.port), timeout=30)
        try:
            sock.sendall(b"POST /hooks HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * size + b"\r\n\r\n")
        except OSError:  # closed by the server before all of it was taken
            pass
        assert _response_status(sock) == status
        sock.close()
    assert wait_for(
        lambda: receiver.status()["refused"] == {"bad_request": 1, "headers_too_large": 1},
        timeout=60,
    )
    _normal_delivery_is_processed(sandbox, receiver)


def test_a_locked_cache_asks_the_sender_to_retry(sandbox, receiver):
    """Another process holds the cache's write lock past the busy timeout: the delivery is
    answered 503 (the vendor sends it again), counted once the lock is gone, then taken."""
    import sqlite3

    lock = sqlite3.connect(receiver.env["SRM_DB"], isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    try:
        cid = sandbox.export()["customers"][0]["id"]
        body, headers = _signed({"topic": "customerRegistered", "data": {"customerId": cid}})
        r = httpx.post(receiver.url, content=body, headers=headers, timeout=120)
        assert r.status_code == 503, r.text
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert wait_for(lambda: receiver.status()["refused"].get("cache_unavailable") == 1, timeout=60)
    assert httpx.post(receiver.url, content=body, headers=headers).status_code == 200
    assert wait_for(lambda: receiver.status()["processed"] == 1, timeout=60, interval=0.2)
    _normal_delivery_is_processed(sandbox, receiver)

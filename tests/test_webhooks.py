"""Webhook deliveries from the sandbox reach `srm webhooks serve` and update the cache."""

from __future__ import annotations

import json
import os
import signal
import subprocess

import httpx
import pytest

from srm_tui.storage.cache import Cache
from srm_tui.sync.webhooks import SIGNATURE_HEADER, sign
from tests.helpers import SRM, SandboxProcess, free_port, wait_for

SECRET = "whsec-test-1"
HEADERS = {"X-Publisher-Token": "sandbox-key"}


@pytest.fixture
def pair(tmp_path):
    sandbox = SandboxProcess("--customers", "20", "--as-of", "2026-11-01T00:00:00Z",
                             env={"SRM_WEBHOOK_SECRET": SECRET})
    port = free_port()
    db = tmp_path / "c.db"
    env = {**os.environ, "SRM_DB": str(db), "SRM_API_URL": sandbox.url,
           "SRM_API_KEY": "sandbox-key", "SRM_WEBHOOK_SECRET": SECRET}
    receiver = subprocess.Popen([*SRM, "webhooks", "serve", "--port", str(port)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = receiver.stdout.readline()
    assert line.startswith("listening on"), receiver.stderr.read()
    url = f"http://127.0.0.1:{port}/hooks"
    yield sandbox, url, db
    receiver.send_signal(signal.SIGTERM)
    receiver.wait(timeout=10)
    sandbox.stop()


def test_registered_customer_arrives_through_webhook(pair):
    sandbox, url, db = pair
    for topic in ("customerRegistered", "transactionCreated"):
        r = httpx.put(f"{sandbox.url}/webhook_subscriptions/{topic}", json=[{"url": url}],
                      headers=HEADERS)
        assert r.status_code in (200, 201, 204), r.text
    r = httpx.post(f"{sandbox.url}/customers", headers=HEADERS, json={
        "email": "hooked@example.com", "country": "PL", "currency": "PLN", "locale": "pl_PL",
        "firstName": "Hook"})
    assert r.status_code in (200, 201), r.text
    cache = Cache(db)

    def arrived():
        return cache.conn().execute(
            "SELECT count(*) FROM customers WHERE email = 'hooked@example.com'").fetchone()[0]

    assert wait_for(arrived, timeout=15)
    events = cache.conn().execute("SELECT topic, signature_ok, error FROM webhook_events").fetchall()
    assert [tuple(e) for e in events] == [("customerRegistered", 1, None)]


def test_bad_signature_is_refused_and_recorded(pair):
    _, url, db = pair
    body = json.dumps({"broadcasterId": 1, "topic": "customerRegistered",
                       "data": {"customerId": 123456789}}).encode()
    bad = httpx.post(url, content=body, headers={SIGNATURE_HEADER: sign("other", body)})
    assert bad.status_code == 401
    missing = httpx.post(url, content=body)
    assert missing.status_code == 401
    rows = Cache(db).conn().execute(
        "SELECT signature_ok, error FROM webhook_events").fetchall()
    assert [tuple(r) for r in rows] == [(0, "signature mismatch")] * 2

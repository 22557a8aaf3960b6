"""Webhook deliveries reach `srm webhooks serve` and update the cache: the sandbox's own
deliveries, deliveries in the vendor's documented shapes and signatures, and `srm webhooks
subscribe` / `status` against the real sandbox over loopback."""

from __future__ import annotations

import json
import os
import subprocess

import httpx
import pytest

from srm_tui.storage.cache import Cache
from srm_tui.sync.webhooks import SIGNATURE_HEADER, hmac_hex, sign
from tests.helpers import SRM, SandboxProcess, run_srm, stop_process, wait_for

SECRET = "whsec-test-1-0123456789abcdef"
HEADERS = {"X-Publisher-Token": "sandbox-key"}


class Receiver:
    """`srm webhooks serve` as a child process."""

    def __init__(self, sandbox_url: str, db, **env: str):
        self.env = {
            **os.environ,
            "SRM_DB": str(db),
            "SRM_API_URL": sandbox_url,
            "SRM_API_KEY": "sandbox-key",
            **env,
        }
        # Port 0: the receiver binds a free port itself and prints it (no race for one).
        self.proc = subprocess.Popen(
            [*SRM, "webhooks", "serve", "--port", "0"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:"), self.proc.stderr.read()
        self.port = int(line.strip().rstrip("/").rsplit(":", 1)[1])
        self.url = f"http://127.0.0.1:{self.port}/hooks"

    def status(self) -> dict:
        done = run_srm("webhooks", "status", "--json", env=self.env)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def stop(self) -> None:
        stop_process(self.proc)


@pytest.fixture(scope="module")
def sandbox(sandbox_process):
    return sandbox_process(
        "--customers", "20", "--as-of", "2026-11-01T00:00:00Z", env={"SRM_WEBHOOK_SECRET": SECRET}
    )


@pytest.fixture
def receiver(sandbox, tmp_path):
    r = Receiver(sandbox.url, tmp_path / "c.db", SRM_WEBHOOK_SECRET=SECRET)
    yield r
    r.stop()


def _cache_rows(db, sql, *args):
    cache = Cache(db)
    try:
        return [tuple(r) for r in cache.conn().execute(sql, args).fetchall()]
    finally:
        cache.close()


def _db(receiver):
    return receiver.env["SRM_DB"]


def _post(url, delivery, secret=SECRET, header="X-Signature", value=None, **headers):
    body = json.dumps(delivery).encode()
    if secret is not None:
        headers[header] = value(body) if value else hmac_hex(secret, body)
    return httpx.post(url, content=body, headers=headers)


def _processed(receiver, n):
    return wait_for(
        lambda: receiver.status()["processed"] + receiver.status()["failed"] >= n,
        timeout=60,
        interval=0.2,
    )


def test_registered_customer_arrives_through_webhook(sandbox, receiver):
    for topic in ("customerRegistered", "transactionCreated"):
        r = httpx.put(
            f"{sandbox.url}/webhook_subscriptions/{topic}",
            json=[{"url": receiver.url}],
            headers=HEADERS,
        )
        assert r.status_code in (200, 201, 204), r.text
    r = httpx.post(
        f"{sandbox.url}/customers",
        headers=HEADERS,
        json={
            "email": "hooked@example.com",
            "country": "PL",
            "currency": "PLN",
            "locale": "pl_PL",
            "firstName": "Hook",
        },
    )
    assert r.status_code in (200, 201), r.text
    db = _db(receiver)
    assert wait_for(
        lambda: _cache_rows(
            db, "SELECT count(*) FROM customers WHERE email = 'hooked@example.com'"
        )[0][0],
        timeout=30,
    )
    events = _cache_rows(db, "SELECT topic, signature_ok, error FROM webhook_events")
    assert events == [("customerRegistered", 1, None)]
    for topic in ("customerRegistered", "transactionCreated"):
        httpx.put(f"{sandbox.url}/webhook_subscriptions/{topic}", json=[], headers=HEADERS)


def test_bad_signature_is_refused_and_kept_only_as_a_summary(receiver):
    delivery = {
        "broadcasterId": 1,
        "topic": "customerRegistered",
        "data": {"customerId": 123456789, "customerEmail": "secret-person@example.com"},
    }
    bad = _post(receiver.url, delivery, secret="other")
    assert bad.status_code == 401
    legacy_bad = _post(
        receiver.url, delivery, header=SIGNATURE_HEADER, value=lambda b: sign("other", b)
    )
    assert legacy_bad.status_code == 401
    assert _post(receiver.url, delivery, secret=None).status_code == 401
    assert wait_for(lambda: receiver.status()["refused_total"] == 3, timeout=30)
    seen = receiver.status()
    assert seen["refused"] == {"bad_signature": 2, "unsigned": 1}
    assert seen["accepted"] == 0 and seen["received"] == 3
    db = _db(receiver)
    assert _cache_rows(db, "SELECT count(*) FROM webhook_events") == [(0,)]
    rows = _cache_rows(db, "SELECT reason, size, source, body_sha256 FROM webhook_refusals")
    assert [r[0] for r in rows] == ["bad_signature", "bad_signature", "unsigned"]
    assert all(r[1] > 0 and r[2] == "127.0.0.1" and len(r[3]) == 64 for r in rows)
    dump = "\n".join(str(r) for r in _cache_rows(db, "SELECT * FROM webhook_refusals"))
    assert "secret-person" not in dump


@pytest.mark.parametrize(
    "header,value",
    [
        ("X-Signature", lambda b: hmac_hex(SECRET, b)),  # the vendor's way
        ("X-Signature", lambda b: "sha256=" + hmac_hex(SECRET, b).upper()),  # prefixed, any case
        (SIGNATURE_HEADER, lambda b: sign(SECRET, b)),  # the sandbox's header
    ],
)
def test_signatures_are_accepted_the_vendors_way(sandbox, receiver, header, value):
    cid = sandbox.export()["customers"][0]["id"]
    r = _post(
        receiver.url,
        {
            "broadcasterId": "558186818",
            "topic": "customerRegistered",
            "data": {"customerId": str(cid)},
        },
        header=header,
        value=value,
    )
    assert r.status_code == 200, r.text
    assert _processed(receiver, 1)
    assert _cache_rows(_db(receiver), "SELECT id FROM customers") == [(cid,)]
    assert _cache_rows(_db(receiver), "SELECT signature_ok, error FROM webhook_events") == [
        (1, None)
    ]


def test_the_signature_header_is_a_setting(sandbox, tmp_path):
    r = Receiver(
        sandbox.url,
        tmp_path / "c.db",
        SRM_WEBHOOK_SECRET=SECRET,
        SRM_WEBHOOK_SIGNATURE_HEADER="X-Cleeng-Signature",
    )
    try:
        delivery = {"broadcasterId": 1, "topic": "offerUpdated", "data": {"offerId": "S1"}}
        assert _post(r.url, delivery).status_code == 401  # the default name is not read now
        assert _post(r.url, delivery, header="X-Cleeng-Signature").status_code == 200
    finally:
        r.stop()


def test_every_vendor_topic_in_the_vendors_shapes(sandbox, receiver):
    export = sandbox.export()
    customer = export["customers"][1]
    cid = customer["id"]
    offer = export["offers"][0]
    known = {t["transactionId"] for t in export["transactions"]}
    tid = next(f"T{n:09d}" for n in range(987654321, 0, -1) if f"T{n:09d}" not in known)
    common = {
        "customerId": str(cid),
        "customerEmail": customer["email"],
        "customerExternalId": customer["externalId"],
    }
    deliveries = [
        ("customerRegistered", dict(common)),
        (
            "transactionCreated",
            {  # the long form of the docs: ISO-free unix date, strings
                "offerId": offer["id"] + "_NL",
                "transactionId": tid,
                "transactionDate": "2026-10-30T12:00:00+01:00",
                "transactionCountry": "NL",
                "transactionCurrency": "EUR",
                "taxRate": 0.21,
                "transactionPriceExclTax": "5.7800",
                "transactionPriceInclTax": "6.9900",
                "applicableTax": "1.2100",
                "appliedExchangeRate": 1,
                "externalData": "862628085828720A",
                "paymentId": 1536331075,
                "offerPrice": 6.99,
                "offerCurrency": "EUR",
                "discountRate": 0,
                "subscriptionPlanId": None,
                "paymentGateway": "adyen",
                **common,
            },
        ),
        (
            "subscriptionReadyForPaymentAuthorisation",
            {
                "subscriptionId": "280213389",
                "offerId": offer["id"],
                "customerId": cid,
                "dunningAttemptDate": "2026-11-01T10:00:00Z",
                "dunningStatus": "authorize",
                "expirationDate": "2026-11-02T10:00:00+01:00",
                "active": True,
            },
        ),
        ("subscriptionReadyForPaymentCapture", {"subscriptionId": 280213389, "customerId": cid}),
        ("subscriptionReadyForTermination", {"subscriptionId": 280213389, "customerId": cid}),
        (
            "passCreated",
            {"passId": "123", "customerId": cid, "offerId": "P1_NL", "expirationDate": 1777636800},
        ),
        (
            "passExpirationChanged",
            {
                "passId": "123",
                "customerId": cid,
                "previousExpirationDate": 1777636800,
                "expirationDate": "2026-12-01T00:00:00Z",
            },
        ),
        ("passTerminated", dict(common, passId="123")),
        ("paymentDetailsDeactivated", {"customerId": cid}),
        ("refundPayment", {"customerEmail": customer["email"]}),  # no id: found by email
        ("capturePayment", {"customerId": cid, "paymentId": 1}),
        ("offerCreated", {"offerId": offer["id"], "createdAt": "2026-10-01T00:00:00Z"}),
        ("offerUpdated", {"offerId": offer["id"] + "_NL", "updatedAt": 1761955200}),
        ("offerDeactivated", {"offerId": offer["id"], "deactivatedAt": "2026-10-02T00:00:00Z"}),
        ("offerPriceChanged", {"offerId": offer["id"], "updatedAt": "2026-10-03T00:00:00Z"}),
        ("somethingNewTheVendorAdded", {"customerId": cid, "whatever": [1, {"x": None}]}),
    ]
    for topic, data in deliveries:
        r = _post(receiver.url, {"broadcasterId": 558186818, "topic": topic, "data": data})
        assert r.status_code == 200, (topic, r.text)
    assert _processed(receiver, len(deliveries))
    db = _db(receiver)
    events = _cache_rows(db, "SELECT topic, error, result FROM webhook_events ORDER BY id")
    assert [e[0] for e in events] == [t for t, _ in deliveries]
    assert [e for e in events if e[1]] == []  # nothing failed
    results = {e[0]: e[2] for e in events}
    assert results["customerRegistered"] == f"customer {cid} refreshed"
    assert results["refundPayment"] == f"customer {cid} refreshed"
    assert f"transaction {tid} stored" in results["transactionCreated"]
    assert results["offerUpdated"] == f"offer {offer['id']} refreshed"
    assert "recorded only" in results["somethingNewTheVendorAdded"]
    assert _cache_rows(db, "SELECT id FROM customers") == [(cid,)]
    assert _cache_rows(db, "SELECT id FROM offers") == [(offer["id"],)]
    stored = _cache_rows(
        db,
        "SELECT customer_id, amount, currency, external_payment_id FROM transactions WHERE id = ?",
        tid,
    )
    assert stored == [(cid, 6.99, "EUR", "862628085828720A")]
    assert _cache_rows(db, "SELECT count(*) FROM quarantine") == [(0,)]
    seen = receiver.status()
    assert seen["processed"] == len(deliveries) and seen["failed"] == 0


def test_malformed_deliveries_are_400_and_counted(receiver):
    for body in (
        b"not json",
        b"[1, 2]",
        b'{"topic": "x"}',
        b'{"topic": 5, "data": {}}',
        b'{"topic": "x", "data": []}',
    ):
        r = httpx.post(receiver.url, content=body, headers={"X-Signature": hmac_hex(SECRET, body)})
        assert r.status_code == 400, body
    assert httpx.get(receiver.url).status_code == 405
    assert wait_for(lambda: receiver.status()["refused_total"] == 6, timeout=30)
    assert receiver.status()["refused"] == {"malformed": 5, "method": 1}


def test_subscribe_registers_once_and_keeps_others_entries(sandbox, receiver):
    others = {"url": "https://partner.example.com/cleeng", "filters": {"paymentMethodId": [7]}}
    assert (
        httpx.put(
            f"{sandbox.url}/webhook_subscriptions/customerRegistered",
            json=[others],
            headers=HEADERS,
        ).status_code
        == 200
    )
    first = run_srm("webhooks", "subscribe", receiver.url, "--json", env=receiver.env)
    assert first.returncode == 0, first.stderr
    outcome = json.loads(first.stdout)["topics"]
    assert set(outcome) == {
        "customerRegistered",
        "transactionCreated",
        "passCreated",
        "passExpirationChanged",
        "passTerminated",
        "offerCreated",
        "offerUpdated",
        "offerDeactivated",
        "offerPriceChanged",
    }
    assert set(outcome.values()) == {"added"}
    again = run_srm("webhooks", "subscribe", receiver.url, "--json", env=receiver.env)
    assert again.returncode == 0, again.stderr
    assert set(json.loads(again.stdout)["topics"].values()) == {"unchanged"}
    listed = httpx.get(f"{sandbox.url}/webhook_subscriptions", headers=HEADERS).json()
    mine = {
        "url": receiver.url,
        "verification": {"name": "HMAC", "options": {"hashAlg": "SHA256", "sharedSecret": SECRET}},
    }
    assert listed["customerRegistered"] == [others, mine]
    assert listed["offerUpdated"] == [mine]
    # The sandbox now delivers to srm, signed with the shared secret, and srm applies it.
    r = httpx.post(
        f"{sandbox.url}/customers",
        headers=HEADERS,
        json={
            "email": "subscribed@example.com",
            "country": "NL",
            "currency": "EUR",
            "locale": "nl_NL",
        },
    )
    assert r.status_code in (200, 201), r.text
    assert wait_for(
        lambda: _cache_rows(
            _db(receiver),
            "SELECT count(*) FROM customers WHERE email = ?",
            "subscribed@example.com",
        )[0][0],
        timeout=30,
    )
    for topic in outcome:
        httpx.put(f"{sandbox.url}/webhook_subscriptions/{topic}", json=[], headers=HEADERS)


def test_subscribe_refuses_bad_input_without_calling_the_api(tmp_path):
    env = {"SRM_DB": str(tmp_path / "c.db"), "SRM_API_URL": "http://127.0.0.1:9/3.1"}
    bad_url = run_srm("webhooks", "subscribe", "ftp://x", env=env)
    assert bad_url.returncode == 2 and "URL" in bad_url.stderr
    bad_topic = run_srm("webhooks", "subscribe", "https://a.example/h", "--topics", "a b", env=env)
    assert bad_topic.returncode == 2 and "--topics" in bad_topic.stderr


def test_the_vendor_profile_journey_signed_the_vendors_way(tmp_path):
    """Against `--profile vendor`: subscribe, then the sandbox's own deliveries (hex HMAC in
    X-Signature, the documented payload keys only) bring a new customer and a transaction
    the vendor has no call to list."""
    vendor = SandboxProcess(
        "--profile", "vendor", "--customers", "10", "--as-of", "2026-11-01T00:00:00Z"
    )
    r = Receiver(vendor.url, tmp_path / "c.db", SRM_WEBHOOK_SECRET=SECRET)
    try:
        done = run_srm("webhooks", "subscribe", r.url, env=r.env)
        assert done.returncode == 0, done.stderr
        created = httpx.post(
            f"{vendor.root}/sandbox/simulate/customer",
            json={
                "email": "vendor-hook@example.com",
                "country": "NL",
                "currency": "EUR",
                "locale": "nl_NL",
            },
        )
        assert created.status_code == 201, created.text
        cid = created.json()["id"]
        paid = httpx.post(f"{vendor.root}/sandbox/simulate/transaction", json={"customerId": cid})
        assert paid.status_code == 201, paid.text
        tid = paid.json()["transactionId"]
        db = _db(r)
        assert wait_for(
            lambda: _cache_rows(db, "SELECT count(*) FROM transactions WHERE id = ?", tid)[0][0],
            timeout=60,
            interval=0.2,
        )
        assert _processed(r, 2)
        assert _cache_rows(db, "SELECT email FROM customers WHERE id = ?", cid) == [
            ("vendor-hook@example.com",)
        ]
        truth = next(t for t in vendor.export()["transactions"] if t["transactionId"] == tid)
        assert _cache_rows(
            db, "SELECT customer_id, amount, currency FROM transactions WHERE id = ?", tid
        ) == [(cid, truth["amount"], truth["currency"])]
        events = _cache_rows(
            db, "SELECT topic, signature_ok, error FROM webhook_events ORDER BY id"
        )
        assert ("customerRegistered", 1, None) in events
        assert ("transactionCreated", 1, None) in events
        assert all(e[1] == 1 and e[2] is None for e in events)
        assert _cache_rows(db, "SELECT count(*) FROM quarantine") == [(0,)]
        stored = _cache_rows(
            db, "SELECT result FROM webhook_events WHERE topic = 'transactionCreated'"
        )
        assert [f"transaction {tid} stored" in s for (s,) in stored] == [True]
    finally:
        r.stop()
        vendor.stop()


def test_the_registered_endpoints_are_read_in_every_shape_seen():
    from srm_tui.api import errors
    from srm_tui.sync.webhook_admin import registered

    entry = {"url": "https://a.example/h", "retryPolicy": {"maxAttempts": 3}}
    expected = {"customerRegistered": [entry]}
    for body in (
        {"customerRegistered": [entry]},
        {"data": {"customerRegistered": [entry]}},
        {"success": True, "message": "", "data": {"customerRegistered": [entry]}},
        [{"topic": "customerRegistered", "endpoints": [entry]}],
        {"items": [{"topic": "customerRegistered", **entry}]},
    ):
        assert registered(body) == expected, body
    assert registered({"customerRegistered": ["https://a.example/h"]}) == {
        "customerRegistered": [{"url": "https://a.example/h"}]
    }
    # An answer srm cannot read stops the subscription before any PUT could drop entries.
    for body in ("text", {"customerRegistered": [{"no": "url"}]}, [{"topic": 1}], None):
        with pytest.raises(errors.MalformedResponse):
            registered(body)

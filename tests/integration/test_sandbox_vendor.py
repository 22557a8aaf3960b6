"""`srm sandbox serve --profile vendor`: the ChurnIQ exports of its state, its webhook
deliveries (documented topics and shapes, HMAC-signed per endpoint), the admin call that makes
a transaction happen, and `GET /entitlements`. Real loopback HTTP throughout."""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import threading
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from srm_tui.sandbox.runner import start_sandbox
from srm_tui.sandbox.state import SandboxState
from tests.helpers import SandboxProcess

AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)
NOW = int(AS_OF.timestamp())
KEY = {"X-Publisher-Token": "sandbox-key"}
CET = timezone(timedelta(hours=1))
SECRET = "a-shared-secret-of-32-bytes-long"

# The headers of docs/churniq-format.md, written out here so the test checks the spec, not
# the module's own constants.
TRANSACTIONS = [
    ("Transaction ID", "transactions.transaction_id"),
    ("Transaction Country", "transactions.transaction_country"),
    ("Date", "transactions.transaction_date"),
    ("Date / Time", "transactions.transaction_date"),
    ("Month", "transactions.transaction_date"),
    ("Week", "transactions.transaction_date"),
    ("Customer ID", "transactions.customer_id"),
    ("Customer email", "customer.email"),
    ("First name", "customer.first_name"),
    ("Last name", "customer.first_name"),
    ("Customer country", "customer.country"),
    ("Customer IP", "transactions.user_IP"),
    ("Customer currency", "customer.currency"),
    ("Offer ID", "transactions.offer_id"),
    ("Offer title", "offers.offer_title"),
    ("Offer type", "offers.offer_type"),
    ("Subscription ID", "transactions.subscription_id"),
    ("Pass ID", "transactions.pass_id"),
    ("Transaction price", "transactions.transaction_price"),
    ("Transaction currency", "transactions.transaction_currency"),
    ("Transaction status", "transactions.transaction_status"),
    ("Refunded amount", "transactions.refunded_amount"),
    ("Rejected reason", "transactions.rejected_reason"),
    ("Payment gateway", "transactions.payment_gateway"),
    ("Payment method", "transactions.payment_method"),
    ("External payment ID", "transactions.external_payment_id"),
]
SUBSCRIPTIONS = [
    ("Subscription ID", "subscriptions.subscription_id"),
    ("Customer ID", "subscriptions.customer_id"),
    ("First name", "customer.first_name"),
    ("Last name", "customer.last_name"),
    ("", "customer.email"),
    ("Country", "customer.country"),
    ("Account activation date", "customer.activation_date"),
    ("Last login date", "customer.last_login_date"),
    ("Offer title", "offers.offer_title"),
    ("Offer ID", "subscriptions.offer_id"),
    ("Offer group ID", "offers.offer_group_id"),
    ("Offer price", "offers.offer_price"),
    ("Offer currency", "offers.offer_currency"),
    ("Offer period", "offers.offer_period"),
    ("Subscription status", "subscriptions.status"),
    ("Start date", "subscriptions.start_date"),
    ("Expiry date", "subscriptions.expiry_date"),
    ("In trial", "subscriptions.in_trial"),
    ("Next payment price", "subscriptions.next_payment_price"),
    ("Next payment currency", "subscriptions.next_payment_currency"),
    ("Payment gateway", "subscriptions.payment_gateway"),
    ("Payment method", "subscriptions.payment_method"),
    ("Coupon code", "subscriptions.coupon_code"),
    ("Completed renewals", "subscriptions.renewals"),
]
PASSES = [
    ("Pass ID", "passes.pass_id"),
    ("Customer ID", "passes.customer_id"),
    ("Publisher ID", "passes.publisher_id"),
    ("First name", "customer.first_name"),
    ("Last name", "customer.last_name"),
    ("", "customer.email"),
    ("Country", "customer.country"),
    ("Account Activation Date Time", "customer.activation_date_time"),
    ("Last Login Date Time", "customer.last_login_date_time"),
    ("Offer Title", "offers.offer_title"),
    ("Offer ID", "passes.offer_id"),
    ("Offer group ID", "offers.offer_group_id"),
    ("Offer price", "offers.offer_price"),
    ("Offer currency", "offers.offer_currency"),
    ("Offer period", "offers.offer_period"),
    ("Pass status", "passes.status"),
    ("Payment method", "passes.payment_method"),
    ("Last Transaction Date Time", "passes.last_transaction_date_time"),
    ("Expiry Date Time", "passes.expires_at"),
]


@pytest.fixture(scope="module")
def vendor():
    state = SandboxState.generate(120, 3, AS_OF, advance_clock=False)
    running = start_sandbox(
        state,
        profile="vendor",
        faults=1.0,  # the API always fails
        fault_kinds=("500",),
    )
    yield state, running.url.removesuffix("/3.1")
    running.stop()


def _report(root: str, name: str, formatted: bool = True) -> tuple[list[str], list[dict]]:
    answer = httpx.get(
        f"{root}/sandbox/churniq/{name}.csv",
        params={} if formatted else {"formatted": "0"},
        timeout=60,
    )
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert "content-length" not in answer.headers  # streamed, not built whole first
    text = answer.content.decode("utf-8")
    assert "\r\n" not in text and text.endswith("\n")
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], rows[1:]


def _cet(value: str) -> int:
    return int(datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=CET).timestamp())


def _money(value: str) -> float | None:
    return None if value == "" else float(value)


def _int(value: str) -> int | None:
    return None if value == "" else int(value)


@pytest.mark.parametrize(
    "name, columns",
    [("transactions", TRANSACTIONS), ("subscriptions", SUBSCRIPTIONS), ("passes", PASSES)],
)
def test_churniq_headers_in_both_vocabularies_even_while_the_api_fails(vendor, name, columns):
    state, root = vendor
    assert httpx.get(f"{root}/3.1/offers", headers=KEY).status_code == 500
    header, rows = _report(root, name)
    assert header == [display for display, _ in columns]
    source_header, source_rows = _report(root, name, formatted=False)
    assert source_header == [source for _, source in columns]
    assert source_rows == rows
    entity = {"transactions": "transactions", "subscriptions": "subscriptions", "passes": "passes"}[
        name
    ]
    assert len(rows) == len(state.export()[entity]) > 0
    assert all(len(row) == len(columns) for row in rows)


def test_every_transaction_field_is_recoverable_from_the_transactions_report(vendor):
    state, root = vendor
    header, rows = _report(root, "transactions")
    by_id = {row[0]: dict(zip(header, row)) for row in rows}
    export = state.export()
    customers = {c["id"]: c for c in export["customers"]}
    statuses = set()
    for txn in export["transactions"]:
        row = by_id[txn["transactionId"]]
        when = datetime.fromtimestamp(txn["transactionDate"], CET)
        assert _cet(row["Date / Time"]) == txn["transactionDate"]
        assert row["Date"] == when.strftime("%Y-%m-%d")
        assert (int(row["Month"]), int(row["Week"])) == (when.month, when.isocalendar()[1])
        assert int(row["Customer ID"]) == txn["customerId"]
        assert row["Customer email"] == (customers[txn["customerId"]]["email"] or "")
        assert row["Offer ID"] == txn["offerId"]
        assert _int(row["Subscription ID"]) == txn["subscriptionId"]
        assert _int(row["Pass ID"]) == txn["passId"]
        assert _money(row["Transaction price"]) == pytest.approx(txn["amount"], abs=0.005)
        assert row["Transaction currency"] == txn["currency"]
        assert row["Transaction status"] == txn["status"]
        assert _money(row["Refunded amount"]) == pytest.approx(
            txn["refundedAmount"] or 0, abs=0.005
        )
        assert row["Rejected reason"] == (txn["rejectedReason"] or "")
        assert row["Payment gateway"] == txn["paymentGateway"]
        assert row["Payment method"] == txn["paymentMethod"]
        assert row["External payment ID"] == (txn["externalPaymentId"] or "")
        statuses.add(txn["status"])
    assert statuses == {"captured", "rejected", "refunded"}
    assert len(by_id) == len(export["transactions"])


def test_subscription_and_pass_reports_carry_the_state(vendor):
    state, root = vendor
    export = state.export()
    header, rows = _report(root, "subscriptions")
    subs = {row[0]: dict(zip(header, row)) for row in rows}
    for sub in export["subscriptions"]:
        row = subs[str(sub["subscriptionId"])]
        assert int(row["Customer ID"]) == sub["customerId"]
        assert row["Offer ID"] == sub["offerId"]
        assert row["Offer group ID"] == sub["offerId"].split("_")[0]
        assert row["Subscription status"] == sub["status"]
        assert _cet(row["Start date"]) == sub["dateFrom"]
        assert _cet(row["Expiry date"]) == sub["dateTo"]
        assert row["In trial"] == ("Yes" if sub["inTrial"] else "No")
        assert int(row["Completed renewals"]) == sub["renewalCycle"]["completed"]
        assert row["Offer period"] in (
            "daily",
            "weekly",
            "monthly",
            "3-months",
            "6-months",
            "annual",
            "seasonal",
        )
    header, rows = _report(root, "passes")
    passes = {row[0]: dict(zip(header, row)) for row in rows}
    for record in export["passes"]:
        row = passes[str(record["passId"])]
        assert row["Offer ID"] == record["offerId"]
        assert row["Pass status"] == ("active" if record["status"] == "active" else "terminated")
        expected = (
            ""
            if record["expiresAt"] is None
            else datetime.fromtimestamp(record["expiresAt"], CET).strftime("%Y-%m-%d %H:%M:%S")
        )
        assert row["Expiry Date Time"] == expected
    assert {row["Pass status"] for row in passes.values()} == {"active", "terminated"}


def test_unknown_report_is_not_found(vendor):
    _, root = vendor
    assert httpx.get(f"{root}/sandbox/churniq/customers.csv").status_code == 404


# -- webhooks ---------------------------------------------------------------------------------


class _Receiver:
    """A loopback endpoint that records every delivery (raw body and headers)."""

    def __init__(self):
        self.deliveries: list[tuple[str, dict, bytes]] = []
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.arrived:
                    receiver.deliveries.append((self.path, dict(self.headers), body))
                    receiver.arrived.notify_all()
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, count: int, timeout: float = 20) -> list:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.deliveries) >= count, timeout)
            return list(self.deliveries)

    def close(self):
        self.server.shutdown()


def test_vendor_profile_delivers_documented_topics_signed_per_endpoint():
    receiver = _Receiver()
    sandbox = SandboxProcess(
        "--profile",
        "vendor",
        "--customers",
        "40",
        "--seed",
        "2",
        "--as-of",
        "2026-11-01T00:00:00Z",
        "--webhook-signature-header",
        "X-Cleeng-Signature",
        env={"SRM_WEBHOOK_SECRET": "sandbox-wide-secret"},
    )
    try:
        api = httpx.Client(base_url=sandbox.url, headers=KEY, timeout=10)
        verification = {"name": "HMAC", "options": {"hashAlg": "SHA256", "sharedSecret": SECRET}}
        put = api.put(
            "/webhook_subscriptions/transactionCreated",
            json=[
                {"url": f"{receiver.url}/signed", "verification": verification},
                {"url": f"{receiver.url}/plain"},
            ],
        )
        assert put.status_code == 200, put.text
        assert (
            api.put(
                "/webhook_subscriptions/passCreated", json=[{"url": f"{receiver.url}/pass"}]
            ).status_code
            == 200
        )
        short = {"name": "HMAC", "options": {"hashAlg": "SHA256", "sharedSecret": "short"}}
        assert (
            api.put(
                "/webhook_subscriptions/passTerminated",
                json=[{"url": receiver.url, "verification": short}],
            ).status_code
            == 400
        )
        assert (
            api.put(
                "/webhook_subscriptions/customerUpdated", json=[{"url": receiver.url}]
            ).status_code
            == 404
        )
        customer = next(c for c in sandbox.export()["customers"] if c["email"])
        made = httpx.post(
            f"{sandbox.root}/sandbox/simulate/transaction",
            json={"customerId": customer["id"]},
            timeout=10,
        )
        assert made.status_code == 201, made.text
        txn = made.json()
        deliveries = receiver.wait(2)
        assert sorted(path for path, _, _ in deliveries) == ["/plain", "/signed"]
        for path, headers, body in deliveries:
            payload = json.loads(body)
            assert payload["topic"] == "transactionCreated"
            assert set(payload) == {"broadcasterId", "topic", "data"}
            assert set(payload["data"]) == {
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
            }
            assert payload["data"]["transactionId"] == txn["transactionId"]
            assert payload["data"]["customerId"] == customer["id"]
            # The vendor profile never sends the sandbox's own signature header.
            assert "X-Srm-Signature" not in headers
            signed = headers.get("X-Cleeng-Signature")
            if path == "/signed":
                assert signed == hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            else:
                assert signed is None
        # The transaction is visible through the published calls only.
        found = api.get("/subscriptions", params={"transactionId": txn["transactionId"]})
        assert [s["subscriptionId"] for s in found.json()["data"]] == (
            [txn["subscriptionId"]] if txn["subscriptionId"] else []
        )
        assert api.get("/x-srm/transactions").status_code == 404
    finally:
        sandbox.stop()
        receiver.close()


def test_sandbox_profile_keeps_its_signature_and_extension_topic():
    receiver = _Receiver()
    state = SandboxState.generate(30, 4, AS_OF, advance_clock=False)
    running = start_sandbox(state, webhook_secret="sandbox-wide-secret")
    try:
        api = httpx.Client(base_url=running.url, headers=KEY, timeout=10)
        assert (
            api.put(
                "/webhook_subscriptions/customerUpdated", json=[{"url": receiver.url}]
            ).status_code
            == 200
        )
        customer = next(c for c in state.export()["customers"] if c["email"])
        assert (
            api.patch(f"/customers/{customer['id']}", json={"firstName": "Ada"}).status_code == 200
        )
        ((_, headers, body),) = receiver.wait(1)
        assert json.loads(body)["topic"] == "customerUpdated"
        expected = hmac.new(b"sandbox-wide-secret", body, hashlib.sha256).hexdigest()
        assert headers["X-Srm-Signature"] == f"sha256={expected}"
    finally:
        running.stop()
        receiver.close()


# -- entitlements -----------------------------------------------------------------------------


def test_entitlements_one_row_per_access_with_the_documented_filters():
    state = SandboxState.generate(150, 5, AS_OF, advance_clock=False)
    running = start_sandbox(state, profile="vendor")
    try:
        api = httpx.Client(base_url=running.url, headers=KEY, timeout=10)
        export = state.export()
        stopped = next(
            s for s in export["subscriptions"] if s["status"] == "stopped" and s["dateTo"] >= NOW
        )
        owner = stopped["customerId"]
        subs = [s for s in export["subscriptions"] if s["customerId"] == owner]
        passes = [p for p in export["passes"] if p["customerId"] == owner]
        everything = api.get(
            "/entitlements",
            params={"customerId": owner, "status": "all", "offerType": "SPAR", "limit": 100},
        )
        body = everything.json()
        assert body["success"] is True
        assert int(everything.headers["X-Total-Count"]) == len(subs) + len(passes)
        row = next(r for r in body["data"] if r["subscriptionId"] == stopped["subscriptionId"])
        assert row == {
            "customerId": owner,
            "offerId": stopped["offerId"],
            "offerType": "S",
            "status": "cancelled",
            "accessGranted": True,
            "expiresAt": stopped["dateTo"],
            "subscriptionId": stopped["subscriptionId"],
            "passId": None,
        }
        cancelled = api.get(
            "/entitlements", params={"customerId": owner, "status": "cancelled", "offerType": "S"}
        ).json()["data"]
        assert stopped["subscriptionId"] in [r["subscriptionId"] for r in cancelled]
        assert all(r["status"] == "cancelled" for r in cancelled)
        email = next(c["email"] for c in export["customers"] if c["id"] == owner)
        by_email = api.get(
            "/entitlements",
            params={
                "customerEmail": email.upper(),
                "status": "all",
                "offerType": "SPAR",
                "limit": 100,
            },
        ).json()["data"]
        assert by_email == body["data"]
        assert (
            api.get("/entitlements", params={"customerId": owner, "offerType": "X"}).status_code
            == 400
        )
    finally:
        running.stop()

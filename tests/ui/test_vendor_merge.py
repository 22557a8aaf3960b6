"""Imports, the vendor's answers and webhooks meeting in one cache (vendor profile, loopback).

The vendor is the truth: an export never undoes what the API said, and what the vendor does
not publish (a subscription's price) survives the API's refresh, or is derived from the offer.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from srm_tui.sandbox.runner import start_sandbox
from srm_tui.sandbox.state import SandboxState
from srm_tui.storage.cache import Cache
from srm_tui.storage.facts import ensure_facts
from srm_tui.storage.payload import decode_raw
from tests.conftest import AS_OF
from tests.helpers import run_srm

KEY = "sandbox-key"
NOW = "2026-11-01T00:00:00Z"
WEB = ("adyen", "paypal")


class Server:
    def __init__(self, running):
        self.running = running
        self.url = running.url
        self.root = running.url.rsplit("/3.1", 1)[0]

    def export(self) -> dict[str, Any]:
        return httpx.get(f"{self.root}/sandbox/export", timeout=60).json()

    def report(self, name: str) -> bytes:
        answer = httpx.get(f"{self.root}/sandbox/churniq/{name}.csv", timeout=60)
        assert answer.status_code == 200
        return answer.content

    def env(self, db: Path) -> dict[str, str]:
        return {
            "SRM_API_URL": self.url,
            "SRM_API_KEY": KEY,
            "SRM_DB": str(db),
            "SRM_NOW": NOW,
            "SRM_AGENT": "anna",
        }


@pytest.fixture
def vendor():
    running = start_sandbox(SandboxState.generate(40, 8, AS_OF), profile="vendor")
    yield Server(running)
    running.stop()


def srm(*args: str, env: dict[str, str]) -> dict[str, Any]:
    result = run_srm(*args, env=env)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return json.loads(result.stdout) if "--json" in args else {}


def rows_of(report: bytes, key_column: str, keys: set[str]) -> bytes:
    """The report's header and the rows whose key column is one of ``keys``."""
    lines = report.decode("utf-8").splitlines(keepends=True)
    header = next(csv.reader(io.StringIO(lines[0])))
    at = header.index(key_column)
    kept = [ln for ln in lines[1:] if next(csv.reader(io.StringIO(ln)))[at] in keys]
    return (lines[0] + "".join(kept)).encode("utf-8")


def cached(db: Path, sql: str, *params: Any) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


def test_an_older_export_never_undoes_the_api(vendor, tmp_path):
    db = tmp_path / "c.db"
    env = vendor.env(db)
    export = vendor.export()
    sub = next(
        s
        for s in export["subscriptions"]
        if s["status"] == "active" and s["paymentGateway"] in WEB and s["dateTo"] > 1_800_000_000
    )
    sid = str(sub["subscriptionId"])
    report = vendor.report("subscriptions")
    old_row = tmp_path / "old-row.csv"
    old_row.write_bytes(rows_of(report, "Subscription ID", {sid}))
    whole = tmp_path / "subscriptions.csv"
    whole.write_bytes(report)
    srm("import", str(whole), "--json", env=env)
    srm("sync", "--json", env=env)
    srm("customer", "cancel", sid, "--reason", "test", "--yes", env=env)
    assert cached(db, "SELECT status FROM subscriptions WHERE id = ?", sid) == [("stopped",)]
    before = cached(db, "SELECT raw, price FROM subscriptions WHERE id = ?", sid)
    # The export written before the cancel still says active: it must change nothing.
    out = srm("import", str(old_row), "--json", env=env)
    assert out["subscriptions"] == 0
    assert cached(db, "SELECT raw, price FROM subscriptions WHERE id = ?", sid) == before
    # The same export with a BOM and Windows line ends is the same file.
    copy = tmp_path / "copy.csv"
    copy.write_bytes(b"\xef\xbb\xbf" + report.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
    again = srm("import", str(copy), "--json", env=env)
    assert [f["status"] for f in again["files"]] == ["already imported"]


def test_a_record_only_an_import_brought_is_still_completed_by_a_later_import(tmp_path):
    """An imported (not API-given) record keeps taking a newer export's values."""
    state = SandboxState.generate(10, 3, AS_OF)
    running = start_sandbox(state, profile="vendor")
    try:
        server = Server(running)
        report = server.report("subscriptions")
    finally:
        running.stop()
    db = tmp_path / "c.db"
    first = tmp_path / "a.csv"
    first.write_bytes(report)
    srm("import", str(first), "--json", env={"SRM_DB": str(db), "SRM_NOW": NOW})
    raw = decode_raw(cached(db, "SELECT raw FROM subscriptions LIMIT 1")[0][0])
    assert raw["_srm"] == {"source": "import"}
    sid = str(raw["subscriptionId"])
    lines = rows_of(report, "Subscription ID", {sid}).decode().splitlines(keepends=True)
    header = next(csv.reader(io.StringIO(lines[0])))
    row = next(csv.reader(io.StringIO(lines[1])))
    row[header.index("Subscription status")] = "terminated"
    newer = tmp_path / "b.csv"
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([header, row])
    newer.write_text(buf.getvalue(), encoding="utf-8")
    out = srm("import", str(newer), "--json", env={"SRM_DB": str(db), "SRM_NOW": NOW})
    assert out["subscriptions"] == 1
    assert cached(db, "SELECT status FROM subscriptions WHERE id = ?", sid) == [("terminated",)]


def _mrr(db: Path) -> dict[int, int]:
    cache = Cache(db)
    try:
        ensure_facts(cache.conn())
        return {
            r[0]: r[1]
            for r in cache.conn().execute(
                "SELECT id, mrr_act FROM segment_customer_facts ORDER BY id"
            )
        }
    finally:
        cache.close()


def test_import_and_vendor_sync_give_the_mrr_of_a_full_sandbox_sync(tmp_path):
    state = SandboxState.generate(60, 12, AS_OF)
    full_db, vendor_db = tmp_path / "full.db", tmp_path / "vendor.db"
    running = start_sandbox(state, profile="sandbox")
    try:
        srm("sync", "--full", "--json", env=Server(running).env(full_db))
    finally:
        running.stop()
    running = start_sandbox(state, profile="vendor")
    try:
        server = Server(running)
        paths = []
        for name in ("transactions", "subscriptions", "passes"):
            path = tmp_path / f"{name}.csv"
            path.write_bytes(server.report(name))
            paths.append(str(path))
        srm("import", *paths, "--json", env=server.env(vendor_db))
        srm("sync", "--json", env=server.env(vendor_db))
    finally:
        running.stop()
    want, got = _mrr(full_db), _mrr(vendor_db)
    assert sum(1 for v in want.values() if v) > 5
    assert {k: got.get(k) for k in want if want[k]} == {k: v for k, v in want.items() if v}
    assert got == {k: want[k] for k in got}  # the zeros alike too
    prices = cached(vendor_db, "SELECT count(*), count(price) FROM subscriptions")[0]
    assert prices[0] > 20 and prices[0] == prices[1]
    # Nothing was derived: every price came from the import and survived the API's refresh.
    assert cached(vendor_db, "SELECT count(*) FROM subscriptions WHERE price_derived = 1") == [(0,)]


def test_without_any_price_the_offer_price_is_derived(vendor, tmp_path):
    db = tmp_path / "c.db"
    export = vendor.export()
    ids = sorted({s["customerId"] for s in export["subscriptions"]})[:15]
    cache = Cache(db)
    with cache.transaction() as tx:
        tx.executemany(
            "INSERT INTO customer_fetch_state (customer_id, status, attempted_at) "
            "VALUES (?, 'pending', 0)",
            [(i,) for i in ids],
        )
    cache.close()
    srm("sync", "--json", env=vendor.env(db))
    rows = {
        r[0]: r[1:]
        for r in cached(db, "SELECT id, price, currency, price_derived, raw FROM subscriptions")
    }
    assert rows
    offers = {o["id"]: o for o in export["offers"]}
    checked = 0
    for s in export["subscriptions"]:
        if s["customerId"] not in ids:
            continue
        price, currency, derived, raw = rows[s["subscriptionId"]]
        assert derived == 1 and "nextPaymentPrice" not in decode_raw(raw)
        main = offers[s["offerId"].split("_")[0]]
        loc = next(
            (
                loc
                for loc in main.get("localizations", [])
                if f"{main['id']}_{loc['countryCode']}" == s["offerId"]
                or loc.get("id") == s["offerId"]
            ),
            None,
        )
        want = loc["price"] if loc else main["price"]
        assert (price, currency) == (want["amount"], want["currency"]), s["offerId"]
        if not s.get("couponCode"):  # the sandbox's price is the localization's, less a coupon
            assert (price, currency) == (s["nextPaymentPrice"], s["nextPaymentCurrency"])
            checked += 1
    assert checked > 3
    shown = json.loads(
        run_srm("customer", "show", str(ids[0]), "--json", env=vendor.env(db)).stdout
    )
    assert all(s["nextPaymentPrice"] is not None for s in shown["subscriptions"])


def test_customer_show_gives_the_history_the_console_shows(vendor, tmp_path):
    """Audit, observed changes and the account's own events, in `customer show --json`, the
    very list the History tab draws (one function builds both)."""
    db = tmp_path / "c.db"
    env = vendor.env(db)
    export = vendor.export()
    sub = next(
        s
        for s in export["subscriptions"]
        if s["status"] == "active" and s["paymentGateway"] in WEB and s["dateTo"] > 1_800_000_000
    )
    sid, cid = str(sub["subscriptionId"]), sub["customerId"]
    srm("fetch", str(cid), "--json", env=env)
    srm("customer", "cancel", sid, "--reason", "test", "--yes", env=env)
    shown = srm("customer", "show", str(cid), "--json", env=env)
    texts = [h["text"] for h in shown["history"]]
    assert f"Subscription {sid} status: active → stopped (seen at the API)" in texts
    assert any(
        h["kind"] == "agent" and "anna" in h["text"] and sid in h["text"] for h in shown["history"]
    )
    assert all(set(h) >= {"at", "kind", "text", "ref"} for h in shown["history"])
    assert [h["at"] for h in shown["history"]] == sorted(
        (h["at"] for h in shown["history"]), reverse=True
    )
    from srm_tui.storage.history import customer_history
    from srm_tui.storage.queries import account_records

    cache = Cache(db)
    try:
        conn = cache.conn()
        tab = customer_history(conn, cid, account_records(conn, cid), None)
    finally:
        cache.close()
    assert [(e.kind, e.text) for e in tab] == [(h["kind"], h["text"]) for h in shown["history"]]


def _sign(body: bytes) -> dict[str, str]:
    from srm_tui.sync.webhooks import hmac_hex

    return {"X-Signature": hmac_hex(SECRET, body), "Content-Type": "application/json"}


SECRET = "whsec-vendorfix-0123456789abcdef"


def test_a_short_webhook_transaction_is_dated_linked_and_keeps_the_known_method(vendor, tmp_path):
    from tests.helpers import wait_for
    from tests.integration.test_webhooks import Receiver

    db = tmp_path / "c.db"
    export = vendor.export()
    sub = next(
        s
        for s in export["subscriptions"]
        if s["paymentGateway"] in WEB
        and any(
            t["customerId"] == s["customerId"] and t.get("paymentMethod")
            for t in export["transactions"]
        )
    )
    cid, sid = sub["customerId"], sub["subscriptionId"]
    report = tmp_path / "transactions.csv"
    known = [t for t in export["transactions"] if t["customerId"] == cid]
    report.write_bytes(
        rows_of(
            vendor.report("transactions"), "Transaction ID", {t["transactionId"] for t in known}
        )
    )
    srm("import", str(report), "--json", env=vendor.env(db))
    method = cached(db, "SELECT last_payment_method FROM customers WHERE id = ?", cid)[0][0]
    assert method
    receiver = Receiver(vendor.url, db, SRM_WEBHOOK_SECRET=SECRET)
    try:
        data = {
            "offerId": sub["offerId"],
            "transactionId": "T987654321",
            "customerId": cid,
            "paymentId": 1,
            "subscriptionPlanId": sid,
            "externalData": "psp-ref-1",
            "customerEmail": None,
            "customerExternalId": None,
        }
        body = json.dumps(
            {"broadcasterId": 1, "topic": "transactionCreated", "data": data}
        ).encode()
        assert httpx.post(receiver.url, content=body, headers=_sign(body)).status_code < 300
        assert wait_for(
            lambda: (
                cached(db, "SELECT count(*) FROM webhook_events WHERE processed_at IS NOT NULL")[0][
                    0
                ]
                == 1
            ),
            timeout=60,
            interval=0.2,
        )
    finally:
        receiver.stop()
    ((received, result),) = cached(db, "SELECT received_at, result FROM webhook_events")
    assert "transaction T987654321 stored" in result
    ((date, linked, raw),) = cached(
        db, "SELECT date, subscription_id, raw FROM transactions WHERE id = 'T987654321'"
    )
    assert (date, linked) == (received, sid)
    assert decode_raw(raw)["_srm"] == {"statusAssumed": True, "dateFromReceipt": True}
    # The newest transaction names no method: the latest known one stays the customer's.
    assert cached(db, "SELECT last_payment_method FROM customers WHERE id = ?", cid) == [(method,)]
    # The export that later lists this transaction corrects what srm guessed (its date and
    # status), adds what the payload lacked, and never replaces what the vendor sent.
    lines = report.read_text(encoding="utf-8").splitlines()
    header = next(csv.reader([lines[0]]))
    row = next(csv.reader([lines[1]]))
    row[header.index("Transaction ID")] = "T987654321"
    row[header.index("Transaction status")] = "refunded"
    row[header.index("External payment ID")] = "something-else"
    later = tmp_path / "later.csv"
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([header, row])
    later.write_text(buf.getvalue(), encoding="utf-8")
    srm("import", str(later), "--json", env=vendor.env(db))
    ((date2, status, ext, raw2),) = cached(
        db,
        "SELECT date, status, external_payment_id, raw FROM transactions WHERE id = 'T987654321'",
    )
    assert date2 != received and status == "refunded" and ext == "psp-ref-1"
    assert "_srm" not in decode_raw(raw2) and decode_raw(raw2)["paymentMethod"]
    # A plan id the customer has no subscription of is kept as sent, not linked.
    from srm_tui.api.client import ApiClient
    from srm_tui.sync.engine import SyncEngine

    cache = Cache(db)
    try:
        with ApiClient(vendor.url, KEY) as client:
            SyncEngine(cache, client).apply_webhook(
                "transactionCreated",
                {**data, "transactionId": "T987654322", "subscriptionPlanId": 123},
                received_at=received + 5,
            )
        row = (
            cache.conn()
            .execute("SELECT subscription_id, date, raw FROM transactions WHERE id = 'T987654322'")
            .fetchone()
        )
    finally:
        cache.close()
    assert (row[0], row[1]) == (None, received + 5)
    assert decode_raw(row[2])["subscriptionPlanId"] == 123


async def test_a_webhook_transaction_detail_shows_no_python_none(vendor, tmp_path):
    from srm_tui.storage import records
    from srm_tui.sync.parse import transaction_from_webhook, validate
    from tests.helpers import screen_text
    from tests.ui_keys import make_app, open_customer, to_row

    db = tmp_path / "c.db"
    export = vendor.export()
    cid = export["customers"][0]["id"]
    srm("fetch", str(cid), "--json", env=vendor.env(db))
    cache = Cache(db)
    with cache.transaction() as tx:
        good, bad = validate(
            "transactions",
            [
                transaction_from_webhook(
                    {
                        "transactionId": "T987650000",
                        "customerId": cid,
                        "paymentGateway": "adyen",
                        "transactionDate": 1_790_000_000,
                    }
                )
            ],
        )
        assert not bad
        records.upsert(tx, "transactions", good, 1_790_000_000)
    cache.close()
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, cid)
        await pilot.press("3")
        await to_row(pilot, "transactions-table", "T987650000")
        detail = screen_text(app).split("Transaction ", 1)[1]
        assert "adyen / —" in detail and "None" not in detail


def test_the_apis_first_copy_of_an_imported_record_is_no_change_it_made(vendor, tmp_path):
    """The Pass report calls a stopped pass terminated and knows no in-trial or coupon: when
    the sync replaces the imported copies with the API's, the history must not say the API
    changed them; a later real change at the API is still seen."""
    db = tmp_path / "c.db"
    env = vendor.env(db)
    for name in ("transactions", "subscriptions", "passes"):
        (tmp_path / f"{name}.csv").write_bytes(vendor.report(name))
    srm(
        "import",
        *(str(tmp_path / f"{n}.csv") for n in ("transactions", "subscriptions", "passes")),
        "--json",
        env=env,
    )
    stopped = [p for p in vendor.export()["passes"] if p["status"] == "stopped"]
    srm("sync", "--json", env=env)
    assert cached(db, "SELECT count(*) FROM observed_changes") == [(0,)]
    if stopped:  # the report's "terminated" was replaced by the API's "stopped", silently
        assert cached(db, "SELECT status FROM passes WHERE id = ?", stopped[0]["passId"]) == [
            ("stopped",)
        ]
    sub = next(s for s in vendor.export()["subscriptions"] if s["status"] == "active")
    srm("customer", "cancel", str(sub["subscriptionId"]), "--reason", "moving", "--yes", env=env)
    assert cached(
        db,
        "SELECT field, before, after FROM observed_changes WHERE record_key = ? "
        "AND field = 'status'",
        str(sub["subscriptionId"]),
    ) == [("status", "active", "stopped")]

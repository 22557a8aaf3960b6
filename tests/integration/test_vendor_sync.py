"""Sync and fetch in the vendor profile, against `start_sandbox(profile="vendor")` over
loopback HTTP: only the published calls answer there (every /x-srm/ path is a 404)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from srm_tui.api.client import ApiClient
from srm_tui.sandbox.runner import start_sandbox
from srm_tui.sandbox.state import SandboxState
from srm_tui.storage import records
from srm_tui.storage.cache import Cache
from srm_tui.storage.payload import decode_raw
from srm_tui.sync.engine import SyncEngine
from srm_tui.sync.vendor import known_customers
from tests.conftest import AS_OF
from tests.helpers import run_srm

# The properties of the vendor's published resources (cleeng-core-3.1.openapi.yml:
# CustomerResource, SubscriptionResource, PassResource).
PUBLISHED = {
    "customers": (
        "id",
        (
            "id",
            "email",
            "country",
            "regDate",
            "lastLoginDate",
            "lastUserIp",
            "currency",
            "locale",
            "firstName",
            "lastName",
            "externalId",
            "externalData",
        ),
    ),
    "subscriptions": (
        "subscriptionId",
        (
            "subscriptionId",
            "paymentDetailsId",
            "publisherId",
            "customerId",
            "status",
            "dateFrom",
            "dateTo",
            "nextPaymentAction",
            "nextPaymentActionDate",
            "subscriptionExternalId",
            "offerId",
            "paymentCountry",
            "ipAddress",
            "inTrial",
            "couponCode",
            "coupon",
            "pendingSwitchId",
            "externalProperties",
            "paymentMethodId",
            "isExternallyManaged",
            "id",
            "userId",
            "latestPaymentExternalId",
            "paymentGateway",
            "replacedBy",
            "originatedFrom",
            "renewalCycle",
            "source",
            "pause",
        ),
    ),
    "passes": (
        "passId",
        (
            "passId",
            "customerId",
            "status",
            "expiresAt",
            "offerId",
            "externalId",
            "externalProperties",
            "paymentMethodId",
            "isExternallyManaged",
            "replacedBy",
            "originatedFrom",
            "source",
        ),
    ),
}
UNKNOWN_ID = 999_000_001
KEY = "sandbox-key"


class Interrupted(Exception):
    """Stands for the process being stopped at a chosen point."""


class StopsAfter(ApiClient):
    """A real client that stops the run when asked for customer number ``n + 1``."""

    def __init__(self, url: str, n: int):
        super().__init__(url, KEY)
        self.left = n

    def customer(self, customer_id: int) -> dict[str, Any]:
        if self.left == 0:
            raise Interrupted(customer_id)
        self.left -= 1
        return super().customer(customer_id)


@pytest.fixture(scope="module")
def state():
    return SandboxState.generate(80, 21, AS_OF)


def _env(server, db) -> dict[str, str]:
    return {"SRM_API_URL": server.url, "SRM_API_KEY": KEY, "SRM_DB": str(db)}


def _seed_ids(db, ids) -> None:
    """What an import of a list of customer ids leaves: customers to fetch."""
    cache = Cache(db)
    with cache.transaction() as tx:
        tx.executemany(
            "INSERT INTO customer_fetch_state (customer_id, status, attempted_at) "
            "VALUES (?, 'pending', 0)",
            [(i,) for i in ids],
        )
    cache.close()


def _seed_emails(db, emails) -> None:
    cache = Cache(db)
    with cache.transaction() as tx:
        tx.executemany(
            "INSERT INTO import_pending_emails (email, source, added_at) VALUES (?, ?, 0)",
            [(e.casefold(), f"ids.txt:{n}") for n, e in enumerate(emails, 1)],
        )
    cache.close()


def _differences(db, export: dict[str, Any], customer_ids: set[int]) -> list[str]:
    """Cache against export for these customers, on the fields the vendor publishes."""
    cache = Cache(db)
    problems = []
    try:
        for entity, (key, fields) in PUBLISHED.items():
            owner = "id" if entity == "customers" else "customerId"
            want = {str(r[key]): r for r in export[entity] if r[owner] in customer_ids}
            got = {str(r[key]): r for r in records.raw_records(cache.conn(), entity)}
            if want.keys() != got.keys():
                problems.append(
                    f"{entity}: missing {sorted(want.keys() - got.keys())[:3]}, "
                    f"extra {sorted(got.keys() - want.keys())[:3]}"
                )
            for k in want.keys() & got.keys():
                differ = [f for f in fields if f in want[k] and want[k][f] != got[k].get(f)]
                if differ:
                    problems.append(f"{entity} {k}: {differ}")
                    break
    finally:
        cache.close()
    return problems


def test_vendor_sync_fills_the_known_customers_from_published_calls(vendor, state, tmp_path):
    db = tmp_path / "c.db"
    export = state.export()
    customers = export["customers"]
    ids = [c["id"] for c in customers[:30]]
    by_email = customers[40]
    _seed_ids(db, [*ids, UNKNOWN_ID])
    _seed_emails(db, [by_email["email"].upper(), "nobody@nowhere.example"])
    result = run_srm("sync", "--json", env=_env(vendor, db))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["profile"] == "vendor" and summary["ok"] and summary["quarantined"] == 0
    assert summary["customers"] == 31 and summary["gone"] == 1
    assert summary["emails_resolved"] == 1 and summary["emails_unknown"] == 1
    assert summary["transactions"] == summary["emails"] == summary["payment_details"] == 0
    assert summary["seconds"] > 0
    synced = {*ids, by_email["id"]}
    assert _differences(db, export, synced) == []
    cache = Cache(db)
    conn = cache.conn()
    # The catalogue, as published.
    assert {r[0] for r in conn.execute("SELECT id FROM offers")} == {
        o["id"] for o in export["offers"]
    }
    assert {r[0] for r in conn.execute("SELECT id FROM season_groups")} == {
        g["id"] for g in export["season_groups"]
    }
    # Campaigns learnt from the coupon codes the synced subscriptions carry.
    codes = {
        s["couponCode"]
        for s in export["subscriptions"]
        if s["customerId"] in synced and s.get("couponCode")
    }
    held = {k.upper() for c in export["campaigns"] for k in c["couponCodes"]}
    learnt = {r[0].upper() for r in conn.execute("SELECT code FROM campaign_codes")}
    assert {c.upper() for c in codes} & held <= learnt
    assert summary["campaigns"] == len(
        {
            c["name"]
            for c in export["campaigns"]
            if {k.upper() for k in c["couponCodes"]} & {x.upper() for x in codes}
        }
    )
    # The run is recorded; every customer has its fetch state.
    run = conn.execute("SELECT ok, counts FROM sync_runs ORDER BY id DESC").fetchone()
    assert run["ok"] == 1 and json.loads(run["counts"])["profile"] == "vendor"
    states = dict(conn.execute("SELECT status, count(*) FROM customer_fetch_state GROUP BY 1"))
    assert states == {"ok": 31, "gone": 1}
    gone_at = conn.execute(
        "SELECT attempted_at FROM customer_fetch_state WHERE customer_id = ?", (UNKNOWN_ID,)
    ).fetchone()[0]
    email_row = conn.execute(
        "SELECT customer_id, error FROM import_pending_emails WHERE "
        "email = 'nobody@nowhere.example'"
    ).fetchone()
    assert email_row["customer_id"] is None and email_row["error"]
    cache.close()
    # Nothing stale: the next sync asks for no customer, and not again for the gone one.
    again = json.loads(run_srm("sync", "--json", env=_env(vendor, db)).stdout)
    assert again["customers"] == 0 and again["gone"] == 0 and again["ok"]
    # --full refreshes every known customer, and asks once more about the gone one.
    full = run_srm("sync", "--full", "--json", env=_env(vendor, db))
    assert full.returncode == 0, full.stderr
    full_summary = json.loads(full.stdout)
    assert full_summary["customers"] == 31 and full_summary["gone"] == 1
    assert full_summary["emails_unknown"] == 1
    assert _differences(db, export, synced) == []
    cache = Cache(db)
    assert (
        cache.conn()
        .execute("SELECT count(*) FROM customer_fetch_state WHERE full_pending = 1")
        .fetchone()[0]
        == 0
    )
    assert (
        cache.conn()
        .execute(
            "SELECT attempted_at FROM customer_fetch_state WHERE customer_id = ?", (UNKNOWN_ID,)
        )
        .fetchone()[0]
        >= gone_at
    )
    cache.close()
    told = run_srm("sync", env=_env(vendor, db))
    assert told.returncode == 0 and told.stdout == ""
    assert "vendor API: 0 customers refreshed" in told.stderr
    assert "not offered by this API" in told.stderr


def test_a_stopped_sync_resumes_with_the_next_customer(vendor, state, tmp_path):
    db = tmp_path / "c.db"
    export = state.export()
    ids = sorted(c["id"] for c in export["customers"][:25])
    _seed_ids(db, ids)
    cache = Cache(db)
    with StopsAfter(vendor.url, 10) as client, pytest.raises(Interrupted):
        SyncEngine(cache, client).run()
    conn = cache.conn()
    done = [
        r[0]
        for r in conn.execute(
            "SELECT customer_id FROM customer_fetch_state WHERE status = 'ok' ORDER BY 1"
        )
    ]
    assert done == ids[:10]  # never-fetched in id order; each one committed whole
    held = {r[0] for r in conn.execute("SELECT id FROM customers")}
    assert held == set(ids[:10])
    assert known_customers(conn, stale_before=0) == ids[10:]
    with ApiClient(vendor.url, KEY) as client:
        summary = SyncEngine(cache, client).run()
    assert summary.ok and summary.counts["customers"] == 15
    assert _differences(db, export, set(ids)) == []
    # A stopped --full run is resumed by the next sync, full or not, where it stopped.
    with StopsAfter(vendor.url, 7) as client, pytest.raises(Interrupted):
        SyncEngine(cache, client).run(full=True)
    with ApiClient(vendor.url, KEY) as client:
        resumed = SyncEngine(cache, client).run()
    assert resumed.counts["customers"] == 18
    assert (
        conn.execute("SELECT count(*) FROM customer_fetch_state WHERE full_pending = 1").fetchone()[
            0
        ]
        == 0
    )
    with ApiClient(vendor.url, KEY) as client:
        assert SyncEngine(cache, client).run().counts["customers"] == 0
    cache.close()


def test_fetch_by_id_and_email_says_what_is_not_offered(vendor, state, tmp_path):
    db = tmp_path / "c.db"  # none yet: the first fetch makes it
    export = state.export()
    owner = next(s["customerId"] for s in export["subscriptions"])
    result = run_srm("fetch", str(owner), "--json", env=_env(vendor, db))
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["customer_id"] == owner and answer["profile"] == "vendor"
    assert set(answer["not_offered"]) == {"transactions", "payment_details", "emails", "notes"}
    assert "ChurnIQ" in answer["not_offered"]["transactions"]
    assert _differences(db, export, {owner}) == []
    other = export["customers"][50]
    text = run_srm("fetch", other["email"], env=_env(vendor, db))
    assert text.returncode == 0, text.stderr
    assert text.stdout.strip() == f"fetched customer {other['id']}"
    assert "not offered by this API" in text.stderr and "transactions" in text.stderr
    assert _differences(db, export, {owner, other["id"]}) == []
    assert run_srm("fetch", "nobody@nowhere.example", env=_env(vendor, db)).returncode == 1
    assert run_srm("fetch", str(UNKNOWN_ID), env=_env(vendor, db)).returncode == 1
    # A transaction id is looked up by GET /subscriptions?transactionId= (published).
    txn = next(
        t
        for t in export["transactions"]
        if t.get("subscriptionId") and t["customerId"] not in (owner, other["id"])
    )
    by_txn = run_srm("fetch", txn["transactionId"], "--json", env=_env(vendor, db))
    assert by_txn.returncode == 0, by_txn.stderr
    assert json.loads(by_txn.stdout)["customer_id"] == txn["customerId"]
    external = next(c for c in export["customers"] if c.get("externalId"))
    by_external = run_srm("fetch", external["externalId"], "--json", env=_env(vendor, db))
    assert json.loads(by_external.stdout)["customer_id"] == external["id"]
    assert _differences(db, export, {owner, other["id"], txn["customerId"], external["id"]}) == []


def test_refresh_after_a_change_uses_published_calls(tmp_path):
    """What an action's refresh does: the vendor's answer replaces the cached copy, and what
    the API no longer lists for the customer leaves the cache."""
    state = SandboxState.generate(20, 4, AS_OF)
    server = start_sandbox(state, profile="vendor")
    try:
        export = state.export()
        sub = export["subscriptions"][0]
        owner = sub["customerId"]
        cache = Cache(tmp_path / "c.db")
        with ApiClient(server.url, KEY) as client:
            engine = SyncEngine(cache, client)
            assert engine.fetch_customer(customer_id=owner) == owner
            edited = httpx.patch(
                f"{server.url}/customers/{owner}",
                json={"firstName": "Renamed"},
                headers={"X-Publisher-Token": KEY},
            )
            assert edited.status_code == 200, edited.text
            # A subscription the cache holds for the customer that the API does not list.
            stray = dict(
                records.raw_records(cache.conn(), "subscriptions")[0],
                subscriptionId=123456789,
                customerId=owner,
            )
            engine.store_bundle({"subscriptions": [stray]})
            assert engine.fetch_customer(customer_id=owner) == owner
        conn = cache.conn()
        assert (
            decode_raw(
                conn.execute("SELECT raw FROM customers WHERE id = ?", (owner,)).fetchone()[0]
            )["firstName"]
            == "Renamed"
        )
        assert conn.execute("SELECT 1 FROM subscriptions WHERE id = 123456789").fetchone() is None
        assert _differences(tmp_path / "c.db", state.export(), {owner}) == []
        cache.close()
    finally:
        server.stop()


def test_an_unreachable_api_mid_sync_is_recorded_and_exits_3(tmp_path):
    state = SandboxState.generate(10, 6, AS_OF)
    server = start_sandbox(state, profile="vendor")
    db = tmp_path / "c.db"
    ids = [c["id"] for c in state.export()["customers"][:3]]
    _seed_ids(db, ids)
    try:
        first = run_srm("sync", "--json", env=_env(server, db))
        assert first.returncode == 0, first.stderr
    finally:
        server.stop()
    _seed_ids(db, [ids[0] + 1_000_000])  # one more to fetch, from an API that is gone
    again = run_srm("sync", "--json", env={**_env(server, db), "SRM_TIMEOUT": "1"})
    assert again.returncode == 3, again.stderr
    cache = Cache(db)
    run = cache.conn().execute("SELECT ok, message FROM sync_runs ORDER BY id DESC").fetchone()
    assert run["ok"] == 0 and "reach" in run["message"]
    assert cache.conn().execute("SELECT count(*) FROM customers").fetchone()[0] == 3
    cache.close()


def test_a_part_the_api_fails_does_not_stop_the_customers(vendor, state, tmp_path):
    from srm_tui.api import errors

    class OffersFail(ApiClient):
        def offers(self, limit: int = 100) -> list[dict[str, Any]]:
            raise errors.ServerError("HTTP 500", status=500)

    db = tmp_path / "c.db"
    ids = sorted(c["id"] for c in state.export()["customers"][:5])
    _seed_ids(db, ids)
    cache = Cache(db)
    with OffersFail(vendor.url, KEY) as client:
        summary = SyncEngine(cache, client).run()
    assert not summary.ok and summary.errors == ["offers: HTTP 500 (the next srm sync tries again)"]
    assert summary.counts["customers"] == 5
    assert _differences(db, state.export(), set(ids)) == []
    run = cache.conn().execute("SELECT ok, message FROM sync_runs").fetchone()
    assert run["ok"] == 0 and "offers: HTTP 500" in run["message"]
    cache.close()


def test_customers_named_by_an_imported_id_list_are_completed_by_sync(vendor, state, tmp_path):
    """The way a real account fills: `srm import` of ids and emails, then `srm sync`."""
    export = state.export()
    named = export["customers"][60:66]
    listed = tmp_path / "ids.txt"
    listed.write_text(
        "# customers to look after\n"
        + "\n".join(str(c["id"]) for c in named[:4])
        + "\n"
        + "\n".join(c["email"] for c in named[4:])
        + "\n"
    )
    db = tmp_path / "c.db"
    imported = run_srm("import", str(listed), "--json", env=_env(vendor, db))
    assert imported.returncode == 0, imported.stderr
    result = run_srm("sync", "--json", env=_env(vendor, db))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["customers"] == 6 and summary["emails_resolved"] == 2
    assert summary["quarantined"] == 0
    assert _differences(db, export, {c["id"] for c in named}) == []


def test_an_edit_in_the_vendor_profile_refreshes_the_cache(tmp_path):
    """Issue 11: "an edit goes through, but the refresh after it fails, so the cache keeps
    the old name". The refresh after the action now uses the published calls."""
    state = SandboxState.generate(10, 8, AS_OF)
    server = start_sandbox(state, profile="vendor")
    try:
        customer = state.export()["customers"][3]
        db = tmp_path / "c.db"
        env = {**_env(server, db), "SRM_AGENT": "tester", "SRM_ROLE": "admin"}
        Cache(db).close()
        assert run_srm("fetch", str(customer["id"]), env=env).returncode == 0
        edited = run_srm(
            "customer",
            "edit",
            str(customer["id"]),
            "--first-name",
            "Renamed",
            "--yes",
            "--json",
            env=env,
        )
        assert edited.returncode == 0, edited.stderr
        shown = json.loads(
            run_srm("customer", "show", str(customer["id"]), "--json", env=env).stdout
        )
        assert shown["customer"]["firstName"] == "Renamed"
        assert _differences(db, state.export(), {customer["id"]}) == []
    finally:
        server.stop()


def test_sigkill_mid_sync_loses_nothing_and_refetches_nothing(tmp_path):
    """`srm sync` killed with SIGKILL right after its 17th customer committed (the sync's
    SRM_SYNC_KILL_AFTER_CUSTOMERS hook: a chosen point, not a timed one): each customer came
    with its fetch state in one transaction, so the rerun asks for exactly the others."""
    import signal

    state = SandboxState.generate(60, 12, AS_OF)
    server = start_sandbox(state, profile="vendor")
    db = tmp_path / "c.db"
    ids = sorted(c["id"] for c in state.export()["customers"])
    _seed_ids(db, ids)
    try:
        killed = run_srm("sync", env={**_env(server, db), "SRM_SYNC_KILL_AFTER_CUSTOMERS": "17"})
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        cache = Cache(db)
        conn = cache.conn()
        done = [
            r[0]
            for r in conn.execute(
                "SELECT customer_id FROM customer_fetch_state WHERE status = 'ok' ORDER BY 1"
            )
        ]
        assert done == ids[:17]  # never fetched, in id order
        held = {r[0] for r in conn.execute("SELECT id FROM customers")}
        assert held == set(done)  # no customer without its fetch state, nor the reverse
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        cache.close()
        rerun = run_srm("sync", "--json", env=_env(server, db))
        assert rerun.returncode == 0, rerun.stderr
        assert json.loads(rerun.stdout)["customers"] == len(ids) - 17
        assert _differences(db, state.export(), set(ids)) == []
    finally:
        server.stop()


def test_a_wrong_api_base_stops_before_any_customer_is_marked_gone(vendor, state, tmp_path):
    db = tmp_path / "c.db"
    _seed_ids(db, [c["id"] for c in state.export()["customers"][:3]])
    wrong = vendor.url.rsplit("/3.1", 1)[0] + "/3.0"  # every path there is a 404
    result = run_srm("sync", env={**_env(vendor, db), "SRM_API_URL": wrong})
    assert result.returncode == 1
    assert "GET /offers answered 404" in result.stderr and "Traceback" not in result.stderr
    cache = Cache(db)
    assert (
        cache.conn()
        .execute("SELECT count(*) FROM customer_fetch_state WHERE status != 'pending'")
        .fetchone()[0]
        == 0
    )
    cache.close()

"""Support actions against the vendor's published surface (``--profile vendor``), over loopback.

One in-process sandbox serving only what the vendor publishes, and one cache filled through
published calls (fetches, then ``srm sync``). Each action is checked where it lands (the
sandbox's ``/sandbox/export``) and in the cache after the refresh that follows it; what the
vendor does not offer exits 1 with ``not offered by this API`` and the vendor's own way, never
"no such record"; notes are srm's own and never reach the API.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

from srm_tui.actions import ActionService
from srm_tui.api import profile as api_profile
from srm_tui.api.client import ApiClient
from srm_tui.config import load_settings
from srm_tui.domain.lifecycle import pass_is_active, subscription_state
from srm_tui.sandbox.runner import start_sandbox
from srm_tui.sandbox.state import SandboxState
from srm_tui.storage.cache import Cache
from srm_tui.storage.payload import decode_raw
from srm_tui.sync.engine import SyncEngine
from tests.helpers import run_srm

AS_OF = "2026-11-01T00:00:00Z"
NOW = int(datetime(2026, 11, 1, tzinfo=timezone.utc).timestamp())
KEY = "vendor-actions-key"
WEB = ("adyen", "paypal")


def state(s: dict) -> str:
    return subscription_state(s["status"], s["inTrial"], s["dateTo"], NOW)


class Vendor:
    """The sandbox in the vendor profile, the cache, and who has been used by a test."""

    def __init__(self, running, db):
        self.running = running
        self.url = running.url
        self.root = running.url.rsplit("/3.1", 1)[0]
        self.db = db
        self.used: set[int] = set()
        self.start = self.export()

    def export(self) -> dict[str, Any]:
        return httpx.get(f"{self.root}/sandbox/export", timeout=30).json()

    def stats(self) -> dict[str, Any]:
        return httpx.get(f"{self.root}/sandbox/stats", timeout=30).json()

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            "SRM_DB": str(self.db),
            "SRM_API_URL": self.url,
            "SRM_API_KEY": KEY,
            "SRM_NOW": AS_OF,
            "SRM_AGENT": "anna",
        }
        env.update(extra)
        return env

    def offline(self, **extra: str) -> dict[str, str]:
        env = self.env(**extra)
        env.pop("SRM_API_URL")
        env.pop("SRM_API_KEY")
        return env

    def pick(self, entity: str, test=lambda r: True) -> dict[str, Any]:
        """A record of a customer no other test has used (the export at the start)."""
        for record in self.start[entity]:
            owner = record["id"] if entity == "customers" else record["customerId"]
            if owner not in self.used and test(record):
                self.used.add(owner)
                return record
        raise AssertionError(f"no unused {entity} matches")

    def of(self, entity: str, customer_id: int) -> list[dict[str, Any]]:
        return [r for r in self.start[entity] if r["customerId"] == customer_id]

    def now(self, entity: str, key_field: str, key: Any) -> dict[str, Any] | None:
        return next((r for r in self.export()[entity] if r[key_field] == key), None)

    def fetch(self, *customer_ids: int) -> None:
        """Bring customers into the cache through the vendor's published calls."""
        cache = Cache(self.db)
        try:
            with ApiClient(self.url, KEY) as client:
                engine = SyncEngine(cache, client)
                for customer_id in customer_ids:
                    assert engine.fetch_customer(customer_id=customer_id) == customer_id
        finally:
            cache.close()

    def cached(self, entity: str, key: Any) -> dict[str, Any] | None:
        cache = Cache(self.db)
        try:
            row = cache.conn().execute(f"SELECT raw FROM {entity} WHERE id = ?", (key,)).fetchone()
            return decode_raw(row[0]) if row else None
        finally:
            cache.close()

    def service(self, **overrides: Any) -> tuple[ActionService, Cache]:
        values: dict[str, Any] = dict(
            api_url=self.url, api_key=KEY, db=str(self.db), agent="anna", role="agent", now=AS_OF
        )
        values.update(overrides)
        cache = Cache(self.db)
        return ActionService(cache, load_settings(**values)), cache


@pytest.fixture(scope="module")
def vendor(tmp_path_factory):
    generated = SandboxState.generate(
        150, 11, datetime(2026, 11, 1, tzinfo=timezone.utc), advance_clock=False
    )
    running = start_sandbox(generated, profile="vendor", api_key=KEY)
    db = tmp_path_factory.mktemp("vendor-actions") / "c.db"
    world = Vendor(running, db)
    # A customer the cache knows of, then the vendor-profile sync: offers and campaigns too.
    world.fetch(world.start["customers"][0]["id"])
    synced = run_srm("sync", env=world.env())
    assert synced.returncode == 0, synced.stderr
    yield world
    running.stop()


def cli(vendor: Vendor, *args: str, env: dict[str, str] | None = None, input: str | None = None):
    return run_srm("customer", *args, env=env or vendor.env(), input=input)


def applied(result) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["status"] == "applied", out
    return out


def web_sub(s: dict) -> bool:
    return s["paymentGateway"] in WEB and not s.get("isExternallyManaged")


def pausable(vendor: Vendor):
    offers = {o["id"]: o for o in vendor.start["offers"]}

    def test(s: dict) -> bool:
        offer = offers.get(s["offerId"].split("_")[0]) or {}
        return (
            web_sub(s)
            and state(s) == "active"
            and s["status"] == "active"
            and ((offer.get("pause") or {}).get("maxBillingCycles") or 0) >= 1
        )

    return test


# -- the profile --------------------------------------------------------------------------


def test_the_cache_remembers_the_vendor_profile(vendor):
    cache = Cache(vendor.db)
    try:
        found = api_profile.cached_profile(cache.conn(), vendor.url)
    finally:
        cache.close()
    assert found is not None and found.name == api_profile.VENDOR


# -- the vendor's own subscription actions --------------------------------------------------


def test_pause_then_resume(vendor):
    sub = vendor.pick("subscriptions", pausable(vendor))
    sid, cid = str(sub["subscriptionId"]), sub["customerId"]
    vendor.fetch(cid)
    dry = cli(vendor, "pause", sid, "--cycles", "1", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"POST /subscriptions/{sid}/pause" in dry.stdout and "allowed" in dry.stdout
    assert vendor.now("subscriptions", "subscriptionId", sub["subscriptionId"]) == sub

    applied(cli(vendor, "pause", sid, "--cycles", "1", "--json"))
    after = vendor.now("subscriptions", "subscriptionId", sub["subscriptionId"])
    assert after["status"] == "paused" and after["pause"]["pauseDate"] == sub["dateTo"]
    cached = vendor.cached("subscriptions", sub["subscriptionId"])
    assert cached["status"] == "paused" and cached["pause"] == after["pause"]

    again = cli(vendor, "pause", sid, "--cycles", "1")
    assert again.returncode == 1 and "pause.already" in again.stderr

    applied(cli(vendor, "resume", sid, "--json"))
    assert (
        vendor.now("subscriptions", "subscriptionId", sub["subscriptionId"])["status"] == "active"
    )
    assert vendor.cached("subscriptions", sub["subscriptionId"])["status"] == "active"

    # What the vendor's copies showed is the customer's history: paused, then active.
    service, cache = vendor.service()
    try:
        seen = [
            (r["field"], r["before"], r["after"])
            for r in service.observed(cid)
            if r["record_key"] == sid
        ]
    finally:
        cache.close()
    assert ("status", "paused", "active") in seen and ("status", "active", "paused") in seen


def test_pause_rules_refuse_before_the_api_is_asked(vendor):
    offers = {o["id"]: o for o in vendor.start["offers"]}
    trial = vendor.pick("subscriptions", lambda s: web_sub(s) and state(s) == "trial")
    too_long = vendor.pick("subscriptions", pausable(vendor))
    vendor.fetch(trial["customerId"], too_long["customerId"])
    limit = offers[too_long["offerId"].split("_")[0]]["pause"]["maxBillingCycles"]
    writes = vendor.stats()["writes_applied"]
    result = cli(vendor, "pause", str(trial["subscriptionId"]), "--cycles", "1")
    assert result.returncode == 1 and "refused by rule pause.state" in result.stderr
    result = cli(vendor, "pause", str(too_long["subscriptionId"]), "--cycles", str(limit + 1))
    assert result.returncode == 1 and "refused by rule pause.max-cycles" in result.stderr
    result = cli(vendor, "pause", str(too_long["subscriptionId"]), "--cycles", "0")
    assert result.returncode == 2 and result.stderr.startswith("srm: --cycles:")
    assert vendor.stats()["writes_applied"] == writes
    assert vendor.now("subscriptions", "subscriptionId", trial["subscriptionId"]) == trial


def test_terminate_a_subscription_and_a_pass_with_their_type(vendor):
    sub = vendor.pick("subscriptions", lambda s: web_sub(s) and state(s) == "active")
    pas = vendor.pick("passes", lambda p: pass_is_active(p["status"], p["expiresAt"], NOW))
    vendor.fetch(sub["customerId"], pas["customerId"])
    sid = str(sub["subscriptionId"])
    no_yes = cli(vendor, "terminate", sid, "--type", "publisherCancel", input="")
    assert no_yes.returncode == 2 and "--yes" in no_yes.stderr
    bad = cli(vendor, "terminate", sid, "--type", "because", "--yes")
    assert bad.returncode == 2 and bad.stderr.startswith("srm: --type:")

    applied(cli(vendor, "terminate", sid, "--type", "publisherCancel", "--yes", "--json"))
    after = vendor.now("subscriptions", "subscriptionId", sub["subscriptionId"])
    assert after["status"] == "terminated" and after["terminationType"] == "publisherCancel"
    assert vendor.cached("subscriptions", sub["subscriptionId"])["status"] == "terminated"

    applied(cli(vendor, "terminate", str(pas["passId"]), "--type", "userCancel", "--yes", "--json"))
    assert vendor.now("passes", "passId", pas["passId"])["status"] == "terminated"
    assert vendor.cached("passes", pas["passId"])["status"] == "terminated"
    twice = cli(vendor, "terminate", str(pas["passId"]), "--type", "userCancel", "--yes")
    assert twice.returncode == 1 and "terminate.already" in twice.stderr


def test_activate_a_cancelled_subscription(vendor):
    sub = vendor.pick("subscriptions", lambda s: web_sub(s) and state(s) == "cancelled")
    live = vendor.pick("subscriptions", lambda s: web_sub(s) and state(s) == "active")
    vendor.fetch(sub["customerId"], live["customerId"])
    refused = cli(vendor, "activate", str(live["subscriptionId"]))
    assert refused.returncode == 1 and "activate.not-stopped" in refused.stderr
    applied(cli(vendor, "activate", str(sub["subscriptionId"]), "--json"))
    assert (
        vendor.now("subscriptions", "subscriptionId", sub["subscriptionId"])["status"] == "active"
    )
    assert vendor.cached("subscriptions", sub["subscriptionId"])["status"] == "active"


def test_transfer_moves_the_access_in_the_api_and_the_cache(vendor):
    sub = vendor.pick("subscriptions", lambda s: web_sub(s) and state(s) == "active")
    receiver = vendor.pick("customers", lambda c: c["email"] is not None)
    stranger = vendor.pick("customers", lambda c: c["email"] is not None)
    giver = sub["customerId"]
    vendor.fetch(giver, receiver["id"])
    sid = str(sub["subscriptionId"])
    same = cli(vendor, "transfer", sid, "--to", str(giver))
    assert same.returncode == 1 and "transfer.same-customer" in same.stderr
    unknown = cli(vendor, "transfer", sid, "--to", str(stranger["id"]))
    assert unknown.returncode == 2 and unknown.stderr.startswith("srm: --to:")
    assert "not in the cache" in unknown.stderr

    applied(cli(vendor, "transfer", sid, "--to", str(receiver["id"]), "--json"))
    assert (
        vendor.now("subscriptions", "subscriptionId", sub["subscriptionId"])["customerId"]
        == receiver["id"]
    )
    assert vendor.cached("subscriptions", sub["subscriptionId"])["customerId"] == receiver["id"]
    shown = json.loads(
        run_srm("customer", "show", str(receiver["id"]), "--json", env=vendor.env()).stdout
    )
    assert sub["subscriptionId"] in [s["subscriptionId"] for s in shown["subscriptions"]]
    gave = json.loads(run_srm("customer", "show", str(giver), "--json", env=vendor.env()).stdout)
    assert sub["subscriptionId"] not in [s["subscriptionId"] for s in gave["subscriptions"]]


def test_edit_and_extend_use_the_published_calls_and_refresh(vendor):
    customer = vendor.pick(
        "customers",
        lambda c: (
            c["email"] is not None
            and any(
                web_sub(s) and state(s) == "active" for s in vendor.of("subscriptions", c["id"])
            )
        ),
    )
    sub = next(
        s for s in vendor.of("subscriptions", customer["id"]) if web_sub(s) and state(s) == "active"
    )
    vendor.fetch(customer["id"])
    applied(cli(vendor, "edit", str(customer["id"]), "--first-name", "Vendorina", "--json"))
    assert vendor.now("customers", "id", customer["id"])["firstName"] == "Vendorina"
    assert vendor.cached("customers", customer["id"])["firstName"] == "Vendorina"
    company = cli(vendor, "edit", str(customer["id"]), "--company", "Acme")
    assert company.returncode == 2 and company.stderr.startswith("srm: --company:")
    assert "not offered by this API" in company.stderr
    until = datetime.fromtimestamp(sub["dateTo"] + 40 * 86400, timezone.utc)
    applied(
        cli(
            vendor,
            "extend",
            str(sub["subscriptionId"]),
            "--until",
            until.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "--json",
        )
    )
    assert vendor.now("subscriptions", "subscriptionId", sub["subscriptionId"])["dateTo"] == int(
        until.timestamp()
    )
    assert vendor.cached("subscriptions", sub["subscriptionId"])["dateTo"] == int(until.timestamp())


def test_anonymize_follows_the_vendors_flow(vendor):
    def live(c: dict) -> bool:
        subs = vendor.of("subscriptions", c["id"])
        return (
            c["email"] is not None
            and any(state(s) != "churned" and web_sub(s) for s in subs)
            and all(web_sub(s) for s in subs)
        )

    customer = vendor.pick("customers", live)
    cid = str(customer["id"])
    vendor.fetch(customer["id"])
    refused = cli(vendor, "anonymize", cid, "--yes")
    assert refused.returncode == 1 and "anonymize.active-subscription" in refused.stderr
    assert vendor.now("customers", "id", customer["id"])["email"] == customer["email"]

    dry = cli(vendor, "anonymize", cid, "--terminate-access", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "terminated (userCancel)" in dry.stdout

    applied(cli(vendor, "anonymize", cid, "--terminate-access", "--yes", "--json"))
    assert vendor.now("customers", "id", customer["id"])["email"] is None
    after = [s for s in vendor.export()["subscriptions"] if s["customerId"] == customer["id"]]
    assert after and all(state(s) == "churned" for s in after)
    cached = vendor.cached("customers", customer["id"])
    assert cached["email"] is None and cached["firstName"] is None


# -- what the vendor does not offer -------------------------------------------------------


UNAVAILABLE = [
    (["refund", "T123456789", "--reason", "Goodwill", "--yes"], "Cleeng dashboard"),
    (["cancel-transaction", "T123456789", "--yes"], "Cleeng dashboard"),
    (["resend", "123456789"], "email templates"),
    (["delete-payment-details", "123456789", "--yes"], "Cleeng dashboard"),
]


@pytest.mark.parametrize("args,way", UNAVAILABLE, ids=[a[0][0] for a in UNAVAILABLE])
def test_what_the_vendor_does_not_offer_says_so_with_its_way(vendor, args, way):
    before = vendor.stats()["writes_applied"]
    for extra in ([], ["--dry-run"]):
        result = cli(vendor, *args, *extra)
        assert result.returncode == 1, result.stderr
        assert "not offered by this API" in result.stderr and way in result.stderr
        assert "no such record" not in result.stderr and "not in the cache" not in result.stderr
    as_json = cli(vendor, *args, "--json")
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout)["status"] == "not-offered"
    # Offline, with the vendor's profile remembered: refused the same way, never queued.
    offline = cli(vendor, *args, env=vendor.offline())
    assert offline.returncode == 1 and "not offered by this API" in offline.stderr
    queued = run_srm("outbox", "list", "--json", env=vendor.offline())
    assert queued.returncode == 0 and json.loads(queued.stdout) == []
    assert vendor.stats()["writes_applied"] == before


# -- notes: srm's own ---------------------------------------------------------------------


def test_notes_are_kept_in_srm_and_never_reach_the_api(vendor):
    customer = vendor.pick("customers", lambda c: c["email"] is not None)
    cid = str(customer["id"])
    vendor.fetch(customer["id"])
    calls = vendor.stats()["calls"]
    notes = vendor.export()["notes"]

    dry = cli(vendor, "note", "add", cid, "Called about the invoice", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "request: LOCAL srm's own store" in dry.stdout and "kept in srm" in dry.stdout
    added = applied(cli(vendor, "note", "add", cid, "Called about the invoice", "--json"))
    assert "kept in srm" in added["message"]
    shown = json.loads(run_srm("customer", "show", cid, "--json", env=vendor.env()).stdout)
    note = next(n for n in shown["notes"] if n["text"] == "Called about the invoice")
    assert note["author"] == "anna" and note["keptIn"] == "srm"
    nid = str(note["id"])

    applied(cli(vendor, "note", "edit", nid, "Called twice about the invoice", "--json"))
    other = cli(vendor, "note", "edit", nid, "Mine now", env=vendor.env(SRM_AGENT="bob"))
    assert other.returncode == 1 and "note.author-or-owner" in other.stderr
    long = cli(vendor, "note", "edit", nid, "x" * 2501)
    assert long.returncode == 2 and long.stderr.startswith("srm: TEXT:")
    # Offline too, the same store and the same rules.
    offline = applied(
        cli(vendor, "note", "add", cid, "Left a voicemail", "--json", env=vendor.offline())
    )
    assert "kept in srm" in offline["message"]
    applied(cli(vendor, "note", "delete", nid, "--json"))

    shown = json.loads(run_srm("customer", "show", cid, "--json", env=vendor.env()).stdout)
    mine = {n["text"]: n for n in shown["notes"] if n.get("keptIn") == "srm"}
    edited = mine["Called twice about the invoice"]
    assert edited["deletedAt"] is not None and edited["deletedBy"] == "anna"
    assert [r["text"] for r in edited["revisions"]] == ["Called about the invoice"]
    assert mine["Left a voicemail"]["deletedAt"] is None
    assert vendor.stats()["calls"] == calls  # not one request: not even to ask the profile
    assert vendor.export()["notes"] == notes


# -- issue 12: a refund larger than what is left --------------------------------------------


@pytest.fixture(scope="module")
def sandbox_db(tmp_path_factory):
    generated = SandboxState.generate(
        80, 4, datetime(2026, 11, 1, tzinfo=timezone.utc), advance_clock=False
    )
    running = start_sandbox(generated, profile="sandbox", api_key=KEY)
    db = tmp_path_factory.mktemp("sandbox-refund") / "c.db"
    cache = Cache(db)
    with ApiClient(running.url, KEY) as client:
        SyncEngine(cache, client).run()
    cache.close()
    yield running, db, generated
    running.stop()


def test_a_refund_above_what_is_left_is_refused_and_never_called_full(sandbox_db):
    running, db, _ = sandbox_db
    export = httpx.get(running.url.rsplit("/3.1", 1)[0] + "/sandbox/export").json()
    txn = next(
        t
        for t in export["transactions"]
        if t["status"] == "captured"
        and t["paymentGateway"] in WEB
        and not t["isGift"]
        and t["refundedAmount"] == 0
        and 1 < t["amount"] < 20
        and t["transactionDate"] >= NOW - 25 * 86400
        and t["currency"] != "JPY"
    )
    env = {"SRM_DB": str(db), "SRM_API_URL": running.url, "SRM_API_KEY": KEY, "SRM_NOW": AS_OF}
    tid, cur = txn["transactionId"], txn["currency"]
    over = run_srm(
        "customer", "refund", tid, "--amount", "20.00", "--reason", "r", "--dry-run", env=env
    )
    assert over.returncode == 1
    assert "blocked by rule refund.amount" in over.stdout
    assert "full refund" not in over.stdout
    assert f"20.00 {cur} is more than the {txn['amount']:.2f} {cur} left to refund" in over.stdout
    whole = run_srm("customer", "refund", tid, "--reason", "r", "--dry-run", env=env)
    assert whole.returncode == 0 and f"a full refund of {txn['amount']:.2f} {cur}" in whole.stdout
    part = run_srm(
        "customer", "refund", tid, "--amount", "1.00", "--reason", "r", "--dry-run", env=env
    )
    assert part.returncode == 0 and f"a partial refund of 1.00 {cur}" in part.stdout
    assert (
        f"left to refund: {txn['amount']:.2f} {cur} -> {txn['amount'] - 1:.2f} {cur}" in part.stdout
    )


# -- offline: queued in the outbox, sent by the vendor's call once back ----------------------


def test_offline_pause_waits_in_the_outbox_then_applies(vendor):
    sub = vendor.pick("subscriptions", pausable(vendor))
    sid = str(sub["subscriptionId"])
    vendor.fetch(sub["customerId"])
    queued = cli(vendor, "pause", sid, "--cycles", "1", "--json", env=vendor.offline())
    assert queued.returncode == 0, queued.stderr
    out = json.loads(queued.stdout)
    assert out["status"] == "queued" and out["outbox_id"]
    assert vendor.now("subscriptions", "subscriptionId", sub["subscriptionId"]) == sub
    listed = json.loads(run_srm("outbox", "list", "--json", env=vendor.offline()).stdout)
    assert [i["request"]["path"] for i in listed] == [f"/subscriptions/{sid}/pause"]

    pushed = run_srm("outbox", "push", "--json", env=vendor.env())
    assert pushed.returncode == 0, pushed.stderr
    assert json.loads(pushed.stdout)["sent"] == [out["outbox_id"]]
    assert (
        vendor.now("subscriptions", "subscriptionId", sub["subscriptionId"])["status"] == "paused"
    )
    assert vendor.cached("subscriptions", sub["subscriptionId"])["status"] == "paused"
    service, cache = vendor.service()
    try:
        outcomes = [e.outcome for e in service.audit_log(sub["customerId"]) if e.action == "pause"]
    finally:
        cache.close()
    assert outcomes == ["sent", "queued"]  # newest first


def test_coupon_applies_through_the_vendors_patch_even_before_srm_knows_its_campaign(vendor):
    campaign = next(
        c
        for c in vendor.start["campaigns"]
        if c["status"] == "active"
        and c["constraints"]["offerTypes"] == ["S"]
        and not c["constraints"]["offers"]
        and not c["constraints"]["tags"]
    )
    code = campaign["couponCodes"][-1]
    sub = vendor.pick(
        "subscriptions", lambda s: web_sub(s) and state(s) == "active" and not s["couponCode"]
    )
    sid = str(sub["subscriptionId"])
    vendor.fetch(sub["customerId"])
    bogus = cli(vendor, "coupon-apply", sid, "--code", "NOSUCHCODE7")
    assert bogus.returncode == 1 and "refused by rule coupon.unknown" in bogus.stderr
    assert vendor.now("subscriptions", "subscriptionId", sub["subscriptionId"]) == sub
    applied(cli(vendor, "coupon-apply", sid, "--code", code, "--json"))
    assert (
        vendor.now("subscriptions", "subscriptionId", sub["subscriptionId"])["couponCode"] == code
    )
    assert vendor.cached("subscriptions", sub["subscriptionId"])["couponCode"] == code

"""`srm customer switch`: the vendor's POST /subscription_switches, over loopback, in both API
profiles (the sandbox's and the vendor's published surface). What lands is read back from the
sandbox's export and from the cache; what a rule refuses is never sent."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

from srm_tui.api.client import ApiClient
from srm_tui.sandbox.runner import start_sandbox
from srm_tui.sandbox.state import SandboxState
from srm_tui.storage.cache import Cache
from srm_tui.sync.engine import SyncEngine
from tests.helpers import run_srm

AS_OF = "2026-11-01T00:00:00Z"
KEY = "switch-key-5b1c"
WEB = ("adyen", "paypal")


class World:
    def __init__(self, running, db, profile: str):
        self.running = running
        self.url = running.url
        self.root = running.url.rsplit("/3.1", 1)[0]
        self.db = db
        self.profile = profile
        self.start = self.export()
        self.used: set[int] = set()

    def export(self) -> dict[str, Any]:
        return httpx.get(f"{self.root}/sandbox/export", timeout=30).json()

    def writes(self) -> int:
        return httpx.get(f"{self.root}/sandbox/stats", timeout=30).json()["writes_applied"]

    def env(self) -> dict[str, str]:
        return {
            "SRM_DB": str(self.db),
            "SRM_API_URL": self.url,
            "SRM_API_KEY": KEY,
            "SRM_NOW": AS_OF,
            "SRM_AGENT": "anna",
        }

    def fetch(self, customer_id: int) -> None:
        cache = Cache(self.db)
        try:
            with ApiClient(self.url, KEY) as client:
                SyncEngine(cache, client).fetch_customer(customer_id=customer_id)
        finally:
            cache.close()

    def cached(self, customer_id: int, subscription_id: int) -> dict[str, Any]:
        """The subscription as the cache holds it (read through `srm customer show`)."""
        shown = run_srm("customer", "show", str(customer_id), "--json", env=self.env())
        assert shown.returncode == 0, shown.stderr
        subs = json.loads(shown.stdout)["subscriptions"]
        return next(s for s in subs if s["subscriptionId"] == subscription_id)

    def audit(self, customer_id: int) -> list[tuple[str, str]]:
        cache = Cache(self.db)
        try:
            return [
                (r[0], r[1])
                for r in cache.conn().execute(
                    "SELECT action, outcome FROM audit WHERE customer_id = ? ORDER BY id",
                    (customer_id,),
                )
            ]
        finally:
            cache.close()

    def switchable(self) -> tuple[dict[str, Any], str, str]:
        """An active web subscription of an unused customer, another subscription offer's
        localization in its currency, and one in another currency."""
        for sub in self.start["subscriptions"]:
            if (
                sub["customerId"] in self.used
                or sub["status"] != "active"
                or sub["paymentGateway"] not in WEB
                or sub.get("isExternallyManaged")
            ):
                continue
            same = other = None
            for offer in self.start["offers"]:
                if not offer["id"].startswith("S") or sub["offerId"].startswith(offer["id"]):
                    continue
                for loc in offer["localizations"]:
                    currency = loc["price"]["currency"]
                    if currency == sub["nextPaymentCurrency"] and same is None:
                        same = loc["id"]
                    elif currency != sub["nextPaymentCurrency"] and other is None:
                        other = loc["id"]
            if same and other:
                self.used.add(sub["customerId"])
                return sub, same, other
        raise AssertionError("no switchable subscription")


@pytest.fixture(scope="module", params=["sandbox", "vendor"])
def world(request, tmp_path_factory):
    generated = SandboxState.generate(
        80, 23, datetime(2026, 11, 1, tzinfo=timezone.utc), advance_clock=False
    )
    running = start_sandbox(generated, profile=request.param, api_key=KEY)
    db = tmp_path_factory.mktemp(f"switch-{request.param}") / "c.db"
    made = World(running, db, request.param)
    if request.param == "vendor":  # the vendor lists no customers: the cache knows one first
        made.fetch(made.start["customers"][0]["id"])
    synced = run_srm("sync", env=made.env())
    assert synced.returncode == 0, synced.stderr
    yield made
    running.stop()


def cli(world: World, *args: str):
    return run_srm("customer", "switch", *args, env=world.env())


def test_switch_lands_at_the_api_and_in_the_cache(world):
    sub, same, _other = world.switchable()
    sid, cid = sub["subscriptionId"], sub["customerId"]
    world.fetch(cid)
    dry = cli(world, str(sid), "--to", same, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "POST /subscription_switches" in dry.stdout and "allowed" in dry.stdout
    assert f"{sub['offerId']} -> {same}" in dry.stdout
    # A dry run sends nothing.
    assert next(s for s in world.export()["subscriptions"] if s["subscriptionId"] == sid) == sub

    result = cli(world, str(sid), "--to", same, "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["status"] == "applied" and out["action"] == "switch", out
    landed = next(s for s in world.export()["subscriptions"] if s["subscriptionId"] == sid)
    assert landed["offerId"] == same
    assert world.cached(cid, sid)["offerId"] == same  # the cache followed the API
    assert ("switch", "applied") in world.audit(cid)


def test_direction_comes_from_the_prices_unless_given(world):
    sub, same, _other = world.switchable()
    world.fetch(sub["customerId"])
    dry = cli(world, str(sub["subscriptionId"]), "--to", same, "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    preview = json.loads(dry.stdout)
    new_price = next(
        loc["price"]["amount"]
        for o in world.start["offers"]
        for loc in o["localizations"]
        if loc["id"] == same
    )
    expected = "upgrade" if new_price > sub["nextPaymentPrice"] else "downgrade"
    assert preview["request"]["body"] == {
        "toOfferId": same,
        "switchDirection": expected,
        "subscriptionId": sub["subscriptionId"],
    }
    forced = cli(
        world, str(sub["subscriptionId"]), "--to", same, "--direction", "upgrade", "--dry-run"
    )
    assert forced.returncode == 0, forced.stderr
    assert "-> upgrade" in forced.stdout


def test_refusals_are_never_sent(world):
    sub, same, other = world.switchable()
    sid = str(sub["subscriptionId"])
    world.fetch(sub["customerId"])
    before = world.writes()

    currency = cli(world, sid, "--to", other)
    assert currency.returncode == 1 and "switch.currency" in currency.stderr
    same_offer = cli(world, sid, "--to", sub["offerId"])
    assert same_offer.returncode == 1 and "switch.same-offer" in same_offer.stderr
    unknown = cli(world, sid, "--to", "S999999999_US")
    assert unknown.returncode == 1 and "switch.unknown-offer" in unknown.stderr
    bad = cli(world, sid, "--to", "monthly")
    assert bad.returncode == 2 and "--to" in bad.stderr
    direction = cli(world, sid, "--to", same, "--direction", "sideways")
    assert direction.returncode == 2 and "--direction" in direction.stderr

    assert world.writes() == before
    assert (
        next(s for s in world.export()["subscriptions"] if s["subscriptionId"] == int(sid)) == sub
    )

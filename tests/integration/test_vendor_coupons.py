"""Coupons against `srm sandbox serve --profile vendor` over loopback, the way a user connects a
real account (README "Connecting to a real Cleeng account"): the ChurnIQ exports through
`srm import`, then `srm sync`. The vendor's ``GET /campaigns?couponCode=`` answers
``discount`` as a number and ``usagePerCoupon`` as a string; every coupon path reads that
shape: the coupon's dry run, `srm offers coupon`, the retention playbook at a cancel, and a
bulk dry run. None of them may end in an internal error.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import httpx
import pytest

from srm_tui.domain.text import count
from srm_tui.storage.payload import decode_raw
from tests.helpers import run_srm

AS_OF = "2026-11-01T00:00:00Z"
WEB = ("adyen", "paypal")


@pytest.fixture(scope="module")
def sandbox(sandbox_process):
    return sandbox_process(
        "--profile", "vendor", "--customers", "200", "--seed", "11", "--as-of", AS_OF
    )


@pytest.fixture(scope="module")
def env(sandbox, tmp_path_factory):
    folder = tmp_path_factory.mktemp("vendor-coupons")
    files = []
    for report in ("transactions", "subscriptions", "passes"):
        answer = httpx.get(f"{sandbox.root}/sandbox/churniq/{report}.csv", timeout=60)
        assert answer.status_code == 200, answer.text
        path = folder / f"{report}.csv"
        path.write_bytes(answer.content)
        files.append(str(path))
    env = {
        "SRM_DB": str(folder / "c.db"),
        "SRM_API_URL": sandbox.url,
        "SRM_API_KEY": "sandbox-key",
        "SRM_NOW": AS_OF,
        "SRM_AGENT": "anna",
    }
    for step in (("import", *files), ("sync",)):
        done = run_srm(*step, env=env)
        assert done.returncode == 0, (step, done.stderr)
    return env


def cached_codes(env: dict[str, str]) -> set[str]:
    with sqlite3.connect(env["SRM_DB"]) as conn:
        return {r[0] for r in conn.execute("SELECT code FROM campaign_codes")}


def cached_campaign(env: dict[str, str], code: str) -> dict | None:
    with sqlite3.connect(env["SRM_DB"]) as conn:
        row = conn.execute(
            "SELECT c.raw FROM campaign_codes k JOIN campaigns c ON c.id = k.campaign_id "
            "WHERE k.code = ?",
            (code,),
        ).fetchone()
    return decode_raw(row[0]) if row else None


def line(c: dict) -> str:
    """What `srm offers coupon` says of a campaign of the sandbox's export (its full shape)."""
    return (
        f"{c['name']}: {c['discount']['value']:g} % off, "
        f"{count(int(c['usagePerCoupon']), 'use')} per coupon, {c['status']};"
    )


@pytest.fixture(scope="module")
def held(sandbox, env) -> tuple[str, dict]:
    """(code, the export's campaign) of an active campaign for any subscription offer whose
    code the sync cached (it learns the codes the synced subscriptions carry)."""
    codes = cached_codes(env)
    for c in sandbox.export()["campaigns"]:
        k = c["constraints"]
        if c["status"] == "active" and k["offerTypes"] == ["S"] and not k["offers"]:
            if not k["tags"] and set(c["couponCodes"]) & codes:
                return sorted(set(c["couponCodes"]) & codes)[0], c
    raise AssertionError(f"no active campaign cached (codes {sorted(codes)})")


def couponless_subscription(sandbox, env: dict[str, str]) -> dict:
    """An active web subscription (an S offer, no coupon) the cache holds."""
    with sqlite3.connect(env["SRM_DB"]) as conn:
        cached = {r[0] for r in conn.execute("SELECT id FROM subscriptions")}
    counts: dict[int, int] = {}
    subs = sandbox.export()["subscriptions"]
    for s in subs:
        counts[s["customerId"]] = counts.get(s["customerId"], 0) + 1
    return next(
        s
        for s in subs
        if s["subscriptionId"] in cached
        and s["status"] == "active"
        and s["offerId"].startswith("S")
        and s["paymentGateway"] in WEB
        and not s.get("isExternallyManaged")
        and not s["couponCode"]
        and counts[s["customerId"]] == 1
    )


def no_crash(result) -> None:
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr, result.stderr


def test_the_sync_cached_the_vendors_campaign_shape(env, held):
    code, full = held
    campaign = cached_campaign(env, code)
    # As the vendor answers it: the percentage as a number, uses per coupon as a string.
    assert campaign["discount"] == full["discount"]["value"]
    assert campaign["usagePerCoupon"] == str(full["usagePerCoupon"])


def test_the_coupons_dry_run_shows_the_discount(sandbox, env, held):
    code, full = held
    sub = couponless_subscription(sandbox, env)
    before = sandbox.export()["subscriptions"]
    dry = run_srm(
        "customer",
        "coupon-apply",
        str(sub["subscriptionId"]),
        "--code",
        code,
        "--dry-run",
        env=env,
    )
    no_crash(dry)
    assert dry.returncode == 0, dry.stderr
    assert f"{full['discount']['value']:g} % off" in dry.stdout, dry.stdout
    assert full["name"] in dry.stdout and "allowed" in dry.stdout
    assert sandbox.export()["subscriptions"] == before  # a dry run sends nothing


def test_offers_coupon_reads_the_cached_and_the_apis_campaigns(sandbox, env, held):
    code, full = held
    cached = run_srm("offers", "coupon", code, env=env)
    no_crash(cached)
    assert cached.returncode == 0, cached.stderr
    assert cached.stdout.startswith(line(full)), cached.stdout
    as_json = run_srm("offers", "coupon", code, "--json", env=env)
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout)["api"][0]["discount"] == full["discount"]["value"]
    # A code no cached subscription carries: the vendor's answer alone is shown.
    codes = cached_codes(env)
    other = next(c for c in sandbox.export()["campaigns"] if not set(c["couponCodes"]) & codes)
    api_only = run_srm("offers", "coupon", other["couponCodes"][0], env=env)
    no_crash(api_only)
    assert api_only.returncode == 0, api_only.stderr
    assert api_only.stdout.startswith(line(other)), api_only.stdout


def test_a_cancel_lists_the_playbooks_coupon_with_its_discount(sandbox, env, held, tmp_path: Path):
    code, full = held
    book = tmp_path / "playbook.json"
    book.write_text(
        json.dumps(
            {
                "format": "srm-playbook",
                "rules": [
                    {
                        "name": "Everyone",
                        "segment": {"where": {"all": []}},
                        "offers": [{"kind": "coupon", "coupon": code}],
                    }
                ],
            }
        )
    )
    checked = run_srm("playbook", "check", str(book), env=env)
    assert checked.returncode == 0, checked.stderr
    imported = run_srm("playbook", "import", str(book), env=env)
    assert imported.returncode == 0, imported.stderr
    sub = couponless_subscription(sandbox, env)
    listed = run_srm("customer", "cancel", str(sub["subscriptionId"]), "--json", env=env)
    no_crash(listed)
    assert "could not be read" not in listed.stderr
    assert listed.returncode == 2, listed.stderr  # offers listed, no decision: nothing sent
    proposals = json.loads(listed.stdout)["proposals"]
    assert proposals["rule"] == "Everyone"
    offer = proposals["offers"][0]
    assert not offer.get("refused"), offer
    off = f"{full['discount']['value']:g} % off"
    assert any(off in change["after"] for change in offer["changes"]), offer


def test_a_bulk_coupon_dry_run(sandbox, env, held, tmp_path: Path):
    code, full = held
    segment = tmp_path / "active.json"
    segment.write_text(
        json.dumps(
            {
                "version": 1,
                "name": "active",
                "selector": "latest",
                "where": {"attr": "subscription.state", "op": "eq", "value": "active"},
            }
        )
    )
    before = sandbox.export()["subscriptions"]
    dry = run_srm(
        "bulk",
        "coupon-apply",
        "--segment",
        str(segment),
        "--code",
        code,
        "--dry-run",
        "--json",
        env=env,
    )
    no_crash(dry)
    assert dry.returncode == 0, dry.stderr
    out = json.loads(dry.stdout)
    assert out["members"] > 0 and out["allowed"] > 0, out
    off = f"{full['discount']['value']:g} % off"
    assert any(off in json.dumps(p) for p in out["sample"]), out["sample"]
    assert sandbox.export()["subscriptions"] == before

"""`srm offers …` against a real `srm sandbox serve` process: the list equals the sandbox's
offers and localizations, files are checked by the vendor's rules, drafts are pushed with
If-Match and a 412 is merged from the command line."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.helpers import SandboxProcess, run_srm, srm_env

AS_OF = "2026-11-01T00:00:00Z"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    sandbox = SandboxProcess("--customers", "40", "--seed", "4", "--as-of", AS_OF)
    db = tmp_path_factory.mktemp("offers-cli") / "c.db"
    env = srm_env(sandbox, db, SRM_NOW=AS_OF, SRM_AGENT="cli")
    done = run_srm("sync", "--json", env=env)
    assert done.returncode == 0, done.stderr
    yield sandbox, db, env
    sandbox.stop()


def _offers(env) -> list[dict]:
    done = run_srm("offers", "list", "--json", env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _by_id(items: list[dict]) -> dict[str, dict]:
    return {o["id"]: o for o in items}


def test_list_json_equals_the_sandbox_offers_and_localizations(served):
    sandbox, db, env = served
    listed = _offers(env)
    exported = sandbox.export()["offers"]
    assert len(listed) == len(exported) > 20
    assert _by_id(listed) == _by_id(exported)
    assert all(o["localizations"] for o in listed)
    groups = json.loads(run_srm("offers", "groups", "list", "--json", env=env).stdout)
    assert {g["id"]: g for g in groups} == {g["id"]: g for g in sandbox.export()["season_groups"]}


def test_files_are_checked_then_sent_and_the_list_follows(served, tmp_path):
    sandbox, db, env = served
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "type": "subscription",
                "title": "CLI Yearly",
                "price": {"amount": 49, "currency": "EUR"},
                "countryCode": "DE",
                "billingCycle": {"periodUnit": "year", "amount": 1},
                "pause": {"maxBillingCycles": 2},
            }
        )
    )
    refused = run_srm("offers", "create", str(bad), env=env)
    assert refused.returncode == 1
    assert "refused by rule offer.pause-period" in refused.stderr
    typo = tmp_path / "typo.json"
    typo.write_text(
        json.dumps(
            {
                "type": "pass",
                "title": "CLI Pass",
                "price": {"amount": "cheap", "currency": "EUR"},
                "entitlement": {"duration": {"amount": 7, "periodUnit": "day"}},
            }
        )
    )
    invalid = run_srm("offers", "create", str(typo), env=env)
    assert invalid.returncode == 2 and invalid.stderr.startswith("srm: price:"), invalid.stderr
    check = run_srm("offers", "check", str(bad), "--json", env=env)
    assert check.returncode == 2  # a rule broken by a file is bad input
    problem = json.loads(check.stdout)["problems"][0]
    assert problem["rule"] == "offer.pause-period"
    assert problem["field"] == "pause.maxBillingCycles"  # the path in the file
    short = tmp_path / "short-trial.json"
    short.write_text(
        json.dumps(
            {
                "type": "subscription",
                "title": "CLI Short",
                "price": {"amount": 4, "currency": "EUR"},
                "countryCode": "DE",
                "billingCycle": {"periodUnit": "month", "amount": 1},
                "freeTrial": {"type": "day", "duration": 2},
            }
        )
    )
    check = run_srm("offers", "check", str(short), env=env)
    assert check.returncode == 2
    assert check.stdout.startswith("freeTrial.duration: "), check.stdout
    assert "trial:" not in check.stdout.replace("freeTrial.duration:", "")
    good = tmp_path / "good.json"
    good.write_text(
        json.dumps(
            {
                "type": "subscription",
                "title": "CLI Weekly",
                "price": {"amount": 2.49, "currency": "EUR", "taxIncluded": True},
                "countryCode": "DE",
                "billingCycle": {"periodUnit": "week", "amount": 1},
                "freeTrial": {"type": "day", "duration": 5},
                "pause": {"maxBillingCycles": 2},
                "tags": ["cli"],
            }
        )
    )
    created = run_srm("offers", "create", str(good), "--json", env=env)
    assert created.returncode == 0, created.stderr
    offer_id = json.loads(created.stdout)["offer_id"]
    assert offer_id.startswith("S")
    loc = tmp_path / "loc.json"
    loc.write_text(
        json.dumps(
            {
                "countryCode": "PL",
                "title": "Tygodniowy",
                "price": {"amount": 10.99, "currency": "PLN"},
            }
        )
    )
    assert run_srm("offers", "localize", offer_id, str(loc), env=env).returncode == 0
    assert run_srm("offers", "deactivate", offer_id, "--country", "PL", env=env).returncode == 0
    listed = _by_id(_offers(env))
    exported = _by_id(sandbox.export()["offers"])
    assert listed == exported
    made = listed[offer_id]
    assert made["pause"] == {"maxBillingCycles": 2} and made["freeTrial"]["duration"] == 5
    assert [(x["countryCode"], x["active"]) for x in made["localizations"]] == [
        ("DE", True),
        ("PL", False),
    ]


def test_draft_push_meets_412_and_resolves(served, tmp_path):
    sandbox, db, env = served
    offer_id = next(o["id"] for o in sandbox.export()["offers"] if o["id"][0] == "R")
    change = tmp_path / "change.json"
    change.write_text(json.dumps({"title": "CLI title", "tags": ["cli", "draft"]}))
    drafted = run_srm("offers", "update", offer_id, str(change), "--draft", env=env)
    assert drafted.returncode == 0 and "kept as a draft" in drafted.stdout
    # The server's offer moves on after the draft was made.
    response = httpx.patch(
        f"{sandbox.url}/offers/{offer_id}",
        json={"title": "Server title"},
        headers={"X-Publisher-Token": "sandbox-key"},
    )
    assert response.status_code == 200
    pushed = run_srm("offers", "push", "--json", env=env)
    assert pushed.returncode == 1
    summary = json.loads(pushed.stdout)
    assert len(summary["conflicts"]) == 1 and not summary["sent"]
    drafts = json.loads(run_srm("offers", "drafts", "--json", env=env).stdout)
    assert drafts[0]["status"] == "conflict"
    assert drafts[0]["changes"]["title"] == "CLI title"
    assert drafts[0]["server"]["title"] == "Server title"
    draft_id = str(drafts[0]["id"])
    unchosen = run_srm("offers", "resolve", draft_id, "--mine", "title", env=env)
    assert unchosen.returncode == 2 and "tags" in unchosen.stderr  # every field needs a choice
    resolved = run_srm(
        "offers", "resolve", draft_id, "--mine", "tags", "--theirs", "title", env=env
    )
    assert resolved.returncode == 0, resolved.stderr
    offer = _by_id(sandbox.export()["offers"])[offer_id]
    assert offer["title"] == "Server title" and offer["tags"] == ["cli", "draft"]
    assert json.loads(run_srm("offers", "drafts", "--json", env=env).stdout) == []
    assert _by_id(_offers(env))[offer_id] == offer


def test_coupon_lookup_and_apply_from_the_command_line(served):
    sandbox, db, env = served
    found = run_srm("offers", "coupon", "STUDENT30", "--json", env=env)
    assert found.returncode == 0
    data = json.loads(found.stdout)
    assert data["campaigns"][0]["name"] == "Student discount"
    assert data["api"][0]["discount"] == 30
    assert run_srm("offers", "coupon", "NOPE-NOPE", env=env).returncode == 1
    sub = next(
        s
        for s in sandbox.export()["subscriptions"]
        if s["status"] == "active" and s["offerId"][0] == "S" and not s["couponCode"]
    )
    dry = run_srm(
        "customer",
        "coupon-apply",
        str(sub["subscriptionId"]),
        "--code",
        "SUMMER15",
        "--dry-run",
        env=env,
    )
    assert dry.returncode == 1 and "coupon.campaign-inactive" in dry.stdout
    applied = run_srm(
        "customer", "coupon-apply", str(sub["subscriptionId"]), "--code", "STUDENT30", env=env
    )
    assert applied.returncode == 0, applied.stderr
    after = next(
        s for s in sandbox.export()["subscriptions"] if s["subscriptionId"] == sub["subscriptionId"]
    )
    assert after["couponCode"] == "STUDENT30"


def test_offer_core_imports_no_textual():
    """The offer service, rules, drafts and CLI run headless (the screens alone use Textual)."""
    import subprocess
    import sys

    code = (
        "import sys, srm_tui.offers.service, srm_tui.offers.rules, srm_tui.offers.forms, "
        "srm_tui.offers.drafts, srm_tui.offers.codes, srm_tui.cli.offers, "
        "srm_tui.actions.coupon\n"
        "print(','.join(m for m in sys.modules if m.split('.')[0] == 'textual'))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""

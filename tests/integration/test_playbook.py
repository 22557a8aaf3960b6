"""The retention playbook through `srm`, over a loopback sandbox: import a playbook, then three
cancels (saved by a pause, saved by a coupon, cancelled anyway with a reason); the audit trail
and `srm playbook report --json` agree with what the sandbox received. Bad input (an unknown
segment, an unknown offer kind, a negative extension, a coupon no campaign holds) exits 2
before anything is saved or sent."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from srm_tui.domain.lifecycle import IN_APP_GATEWAYS, subscription_state
from tests.helpers import run_srm, srm_env

AS_OF = "2026-11-01T00:00:00Z"
NOW = int(datetime(2026, 11, 1, tzinfo=timezone.utc).timestamp())
KEY = "playbook-key-93c2"
WEB = ("adyen", "paypal")


@pytest.fixture(scope="module")
def sandbox(sandbox_process):
    return sandbox_process("--customers", "200", "--seed", "8", "--as-of", AS_OF, "--api-key", KEY)


@pytest.fixture(scope="module")
def db(sandbox, tmp_path_factory):
    path = tmp_path_factory.mktemp("playbook") / "c.db"
    result = run_srm("sync", env=srm_env(sandbox, path, SRM_API_KEY=KEY))
    assert result.returncode == 0, result.stderr
    return path


@pytest.fixture(scope="module")
def env(sandbox, db):
    return srm_env(sandbox, db, SRM_API_KEY=KEY, SRM_NOW=AS_OF, SRM_AGENT="anna")


@pytest.fixture(scope="module")
def start(sandbox, db):
    return sandbox.export()


def writes(sandbox) -> int:
    return httpx.get(f"{sandbox.root}/sandbox/stats", timeout=30).json()["writes_applied"]


def now_sub(sandbox, sid: int) -> dict[str, Any]:
    return next(s for s in sandbox.export()["subscriptions"] if s["subscriptionId"] == sid)


def query(db: Path, sql: str, *params: Any) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return [tuple(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


def active_web(s: dict[str, Any]) -> bool:
    return (
        s["paymentGateway"] in WEB
        and not s.get("isExternallyManaged")
        and s["status"] == "active"
        and subscription_state(s["status"], s["inTrial"], s["dateTo"], NOW) == "active"
    )


def pausable_offers(start: dict[str, Any]) -> set[str]:
    return {
        o["id"]
        for o in start["offers"]
        if o["id"].startswith("S") and ((o.get("pause") or {}).get("maxBillingCycles") or 0) >= 1
    }


def plain_campaign(start: dict[str, Any]) -> dict[str, Any]:
    """An active campaign whose coupons fit any subscription offer."""
    return next(
        c
        for c in start["campaigns"]
        if c["status"] == "active"
        and c["constraints"]["offerTypes"] == ["S"]
        and not c["constraints"]["offers"]
        and not c["constraints"]["tags"]
    )


def picks(start: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Three subscriptions of three customers, each with one subscription (so no other
    subscription of theirs is touched): a pausable one, two that are not."""
    pausable = pausable_offers(start)
    counts: dict[int, int] = {}
    for s in start["subscriptions"]:
        counts[s["customerId"]] = counts.get(s["customerId"], 0) + 1
    chosen: dict[str, dict[str, Any]] = {}
    for s in start["subscriptions"]:
        if not active_web(s) or counts[s["customerId"]] != 1 or s["couponCode"]:
            continue
        main = s["offerId"].split("_")[0]
        if main in pausable and "pause" not in chosen:
            chosen["pause"] = s
        elif main not in pausable and "coupon" not in chosen:
            chosen["coupon"] = s
        elif main not in pausable and "anyway" not in chosen:
            chosen["anyway"] = s
    assert set(chosen) == {"pause", "coupon", "anyway"}, chosen.keys()
    return chosen


def playbook_doc(start: dict[str, Any], code: str, **change: Any) -> dict[str, Any]:
    pausable = sorted(pausable_offers(start))
    doc = {
        "format": "srm-playbook",
        "version": 0,
        "rules": [
            {
                "name": "Pausable plans",
                "segment": {
                    "where": {
                        "attr": "subscription.offer_id",
                        "op": "starts_with",
                        "value": pausable[0],
                    }
                    if len(pausable) == 1
                    else {
                        "any": [
                            {"attr": "subscription.offer_id", "op": "starts_with", "value": p}
                            for p in pausable
                        ]
                    }
                },
                "offers": [{"kind": "pause", "cycles": 1}, {"kind": "let-go"}],
            },
            {
                "name": "Everyone else",
                "segment": "playbook-everyone",
                "offers": [{"kind": "coupon", "coupon": code}, {"kind": "extend", "days": 30}],
            },
        ],
    }
    doc.update(change)
    return doc


def write(tmp_path: Path, name: str, doc: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return str(path)


@pytest.fixture(scope="module")
def imported(start, env, db, tmp_path_factory):
    """The saved segment the second rule names, then the playbook, imported."""
    folder = tmp_path_factory.mktemp("playbook-files")
    segment = write(
        folder,
        "everyone.json",
        {"version": 1, "name": "playbook-everyone", "where": {"all": []}},
    )
    saved = run_srm("segment", "save", segment, env=env)
    assert saved.returncode == 0, saved.stderr
    code = plain_campaign(start)["couponCodes"][-1]
    path = write(folder, "playbook.json", playbook_doc(start, code))
    checked = run_srm("playbook", "check", path, env=env)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.strip() == f"{path}: ok (2 rules)"  # the plural said, not "rule(s)"
    result = run_srm("playbook", "import", path, "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"version": 1, "rules": 2}
    return code


def cancel(env, sid: int, *args: str):
    return run_srm("customer", "cancel", str(sid), *args, env=env)


def test_three_cancels_and_the_report_agree_with_the_sandbox(sandbox, start, env, db, imported):
    chosen = picks(start)
    before = writes(sandbox)
    version = json.loads(run_srm("playbook", "show", "--json", env=env).stdout)["version"]

    # Without a decision: the offers are listed, nothing is sent (exit 2).
    asked = cancel(env, chosen["pause"]["subscriptionId"])
    assert asked.returncode == 2, asked.stderr
    assert "--take/--reason" in asked.stderr
    assert "Pausable plans" in asked.stderr and "1) pause 1 cycle" in asked.stderr
    assert "2) let them go" in asked.stderr
    assert writes(sandbox) == before
    bad_take = cancel(env, chosen["pause"]["subscriptionId"], "--take", "3")
    assert bad_take.returncode == 2 and "--take" in bad_take.stderr
    both = cancel(env, chosen["pause"]["subscriptionId"], "--take", "1", "--reason", "x")
    assert both.returncode == 2 and "--take/--reason" in both.stderr
    assert writes(sandbox) == before

    # 1. Saved by a pause.
    sid = chosen["pause"]["subscriptionId"]
    took = cancel(env, sid, "--take", "1", "--json")
    assert took.returncode == 0, took.stderr
    out = json.loads(took.stdout)
    assert out["status"] == "applied" and out["retention"] == "taken" and out["offer"] == 1
    assert out["proposals"]["rule"] == "Pausable plans"
    assert out["proposals"]["offers"][0]["changes"]  # what it changes was shown
    paused = now_sub(sandbox, sid)
    assert paused["pause"] is not None and paused["status"] == "paused"  # not cancelled

    # 2. Saved by a coupon (the saved segment's rule).
    sid = chosen["coupon"]["subscriptionId"]
    took = cancel(env, sid, "--take", "1", "--json")
    assert took.returncode == 0, took.stderr
    assert json.loads(took.stdout)["proposals"]["rule"] == "Everyone else"
    couponed = now_sub(sandbox, sid)
    assert couponed["couponCode"] == imported and couponed["status"] == "active"

    # 3. Cancelled anyway, with a reason.
    sid = chosen["anyway"]["subscriptionId"]
    listed = cancel(env, sid, "--json")
    assert listed.returncode == 2
    assert json.loads(listed.stdout)["proposals"]["rule"] == "Everyone else"
    gone = cancel(env, sid, "--reason", "Moving abroad", "--json")
    assert gone.returncode == 0, gone.stderr
    assert json.loads(gone.stdout)["retention"] == "declined"
    stopped = now_sub(sandbox, sid)
    assert stopped["status"] == "stopped" and stopped["cancellationReason"] == "Moving abroad"

    # The audit trail: each outcome once, with the rule, the version, the offer, the reason.
    rows = query(
        db,
        "SELECT action, target, after FROM audit WHERE action LIKE 'retention.%' ORDER BY id",
    )
    events = [(a, t, json.loads(after)) for a, t, after in rows]
    assert [(a, t) for a, t, _ in events] == [
        ("retention.offered", f"subscription {chosen['pause']['subscriptionId']}"),
        ("retention.taken", f"subscription {chosen['pause']['subscriptionId']}"),
        ("retention.offered", f"subscription {chosen['coupon']['subscriptionId']}"),
        ("retention.taken", f"subscription {chosen['coupon']['subscriptionId']}"),
        ("retention.offered", f"subscription {chosen['anyway']['subscriptionId']}"),
        ("retention.declined", f"subscription {chosen['anyway']['subscriptionId']}"),
    ]
    assert all(e[2]["version"] == version for e in events)
    assert events[1][2]["rule"] == "Pausable plans" and events[1][2]["describe"] == "pause 1 cycle"
    assert events[3][2]["describe"] == f"apply coupon {imported}"
    assert events[5][2]["reason"] == "Moving abroad" and events[5][2]["rule"] == "Everyone else"

    # The report agrees with the audit and with what the sandbox holds.
    report = run_srm("playbook", "report", "--json", env=env)
    assert report.returncode == 0, report.stderr
    doc = json.loads(report.stdout)
    rules = {r["rule"]: r for r in doc["rules"]}
    assert (doc["offered"], doc["taken"], doc["declined"]) == (3, 2, 1)
    assert rules["Pausable plans"]["save_rate"] == 1.0
    assert rules["Everyone else"]["offered"] == 2 and rules["Everyone else"]["save_rate"] == 0.5
    offers = {o["offer"]: o for o in rules["Everyone else"]["offers"]}
    assert offers[f"apply coupon {imported}"]["taken"] == 1
    assert offers["extend access 30 days"] == {
        "offer": "extend access 30 days",
        "kind": "extend",
        "offered": 2,
        "taken": 0,
        "declined": 1,
        "save_rate": 0.0,
    }
    final = sandbox.export()["subscriptions"]
    picked = {
        s["subscriptionId"]: s
        for s in final
        if s["customerId"] in {c["customerId"] for c in chosen.values()}
    }
    saved = [s for s in picked.values() if s["status"] in ("active", "paused")]
    cancelled = [s for s in picked.values() if s["status"] == "stopped"]
    assert len(saved) == doc["taken"] and len(cancelled) == doc["declined"]
    future = run_srm("playbook", "report", "--since", "+1d", "--json", env=env)
    assert json.loads(future.stdout)["offered"] == 0
    past = run_srm("playbook", "report", "--since", "-30d", "--json", env=env)
    assert json.loads(past.stdout)["offered"] == 3
    nonsense = run_srm("playbook", "report", "--since", "last tuesday", env=env)
    assert nonsense.returncode == 2 and "--since" in nonsense.stderr


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"segment": "no-such-segment"}, "rules[0].segment: no saved segment 'no-such-segment'"),
        ({"offers": [{"kind": "refund"}]}, "rules[0].offers[0].kind: unknown kind 'refund'"),
        ({"offers": [{"kind": "extend", "days": -7}]}, "rules[0].offers[0].days: must be 1..3650"),
        (
            {"offers": [{"kind": "coupon", "coupon": "NOSUCHCODE99"}]},
            "rules[0].offers[0].coupon: no campaign in the cache holds 'NOSUCHCODE99'",
        ),
        (
            {"offers": [{"kind": "switch", "offer": "S999999999_US"}]},
            "rules[0].offers[0].offer: no offer S999999999_US in the cache",
        ),
    ],
)
def test_bad_input_exits_2_and_changes_nothing(
    sandbox, start, env, db, imported, tmp_path, change, expected
):
    before = writes(sandbox)
    versions = query(db, "SELECT count(*) FROM playbook_versions")
    doc = playbook_doc(start, imported)
    doc["rules"][0].update(change)
    path = write(tmp_path, "bad.json", doc)
    for command in ("check", "import"):
        result = run_srm("playbook", command, path, env=env)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        assert expected in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    assert query(db, "SELECT count(*) FROM playbook_versions") == versions
    assert writes(sandbox) == before


def test_files_that_are_not_playbooks_and_export_safety(env, imported, tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    result = run_srm("playbook", "import", str(broken), env=env)
    assert result.returncode == 2 and "not JSON" in result.stderr
    missing = run_srm("playbook", "check", str(tmp_path / "absent.json"), env=env)
    assert missing.returncode == 2 and "cannot read" in missing.stderr

    out = tmp_path / "pb.json"
    exported = run_srm("playbook", "export", "--out", str(out), env=env)
    assert exported.returncode == 0, exported.stderr
    doc = json.loads(out.read_text())
    assert doc["format"] == "srm-playbook" and [r["name"] for r in doc["rules"]] == [
        "Pausable plans",
        "Everyone else",
    ]
    again = run_srm("playbook", "export", "--out", str(out), env=env)
    assert again.returncode == 2 and "--force" in again.stderr
    link = tmp_path / "link.json"
    target = tmp_path / "elsewhere.json"
    target.write_text("keep")
    link.symlink_to(target)
    through = run_srm("playbook", "export", "--out", str(link), "--force", env=env)
    assert through.returncode == 2 and "symbolic link" in through.stderr
    assert target.read_text() == "keep"
    shown = run_srm("playbook", "show", "--json", env=env)
    assert json.loads(shown.stdout)["rules"] == doc["rules"]


def test_an_import_based_on_an_older_version_is_refused_without_force(
    start, env, db, imported, tmp_path
):
    current = json.loads(run_srm("playbook", "show", "--json", env=env).stdout)
    current.pop("saved_at"), current.pop("saved_by")
    path = write(tmp_path, "again.json", current)
    first = run_srm("playbook", "import", path, "--json", env=env)  # based on the newest
    assert first.returncode == 0, first.stderr
    stale = run_srm("playbook", "import", path, env=env)  # the same file, now out of date
    assert stale.returncode == 2 and "--force" in stale.stderr
    forced = run_srm("playbook", "import", path, "--force", "--json", env=env)
    assert forced.returncode == 0, forced.stderr
    versions = [v for (v,) in query(db, "SELECT version FROM playbook_versions ORDER BY version")]
    assert versions == list(range(1, versions[-1] + 1)) and len(versions) >= 3


def test_no_matching_rule_cancels_as_before(sandbox, start, env, db, imported):
    """A subscription the cancel's own rules refuse gets no offers: the plain cancel answers."""
    in_app = next(
        s
        for s in start["subscriptions"]
        if s["status"] == "active" and s["paymentGateway"] in IN_APP_GATEWAYS
    )
    result = cancel(env, in_app["subscriptionId"], "--reason", "x")
    assert result.returncode == 1 and "cancel.in-app" in result.stderr
    missing = cancel(env, in_app["subscriptionId"])
    assert missing.returncode == 2 and "--reason" in missing.stderr
    take = cancel(env, in_app["subscriptionId"], "--take", "1")
    assert take.returncode == 2 and "no playbook rule matches" in take.stderr


def test_a_viewer_sees_the_offers_but_changes_nothing(sandbox, start, env, db, imported, tmp_path):
    viewer = {**env, "SRM_ROLE": "viewer"}
    shown = json.loads(run_srm("playbook", "show", "--json", env=env).stdout)
    shown.pop("saved_at"), shown.pop("saved_by")
    path = write(tmp_path, "viewer.json", shown)
    versions = query(db, "SELECT count(*) FROM playbook_versions")
    refused = run_srm("playbook", "import", path, env=viewer)
    assert refused.returncode == 1 and "role.viewer" in refused.stderr, refused.stderr
    assert query(db, "SELECT count(*) FROM playbook_versions") == versions

    sub = next(
        s
        for s in start["subscriptions"]
        if active_web(s)
        and s["subscriptionId"] not in {p["subscriptionId"] for p in picks(start).values()}
    )
    before, audit = (
        writes(sandbox),
        query(db, "SELECT count(*) FROM audit WHERE action LIKE 'retention.%'"),
    )
    listed = cancel(viewer, sub["subscriptionId"])
    assert listed.returncode == 2 and "--take/--reason" in listed.stderr
    took = cancel(viewer, sub["subscriptionId"], "--take", "1")
    assert took.returncode == 1 and "role.viewer" in took.stderr
    assert writes(sandbox) == before
    assert query(db, "SELECT count(*) FROM audit WHERE action LIKE 'retention.%'") == audit

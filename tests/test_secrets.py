"""Secrets and personal data: where the API key and a customer's values may and may not go.

Every check runs the real `srm` against a real sandbox over loopback and then reads the
bytes on disk (cache, WAL, exports) or what the process showed (output, tracebacks).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from srm_tui.domain.lifecycle import pass_is_active, subscription_state
from srm_tui.storage import exports
from srm_tui.storage.cache import Cache
from tests.helpers import SandboxProcess, run_srm, srm_env

AS_OF = "2026-11-01T00:00:00Z"
NOW = int(datetime(2026, 11, 1, tzinfo=timezone.utc).timestamp())
EVERYONE = {"version": 1, "name": "everyone", "where": {"all": []}}
NOBODY = {"version": 1, "name": "nobody", "where": {"any": []}}


@pytest.fixture(scope="module")
def sandbox():
    sb = SandboxProcess("--customers", "120", "--seed", "21", "--as-of", AS_OF)
    yield sb
    sb.stop()


@pytest.fixture(scope="module")
def db(sandbox, tmp_path_factory):
    path = tmp_path_factory.mktemp("secrets") / "c.db"
    result = run_srm("sync", env=srm_env(sandbox, path))
    assert result.returncode == 0, result.stderr
    return path


def _mine(export, customer_id, entity):
    return [x for x in export[entity] if x["customerId"] == customer_id]


def _no_live_access(export, customer_id) -> bool:
    return not any(
        subscription_state(s["status"], s["inTrial"], s["dateTo"], NOW) != "churned"
        for s in _mine(export, customer_id, "subscriptions")) and not any(
        pass_is_active(p["status"], p["expiresAt"], NOW)
        for p in _mine(export, customer_id, "passes"))


def test_anonymize_names_the_exports_that_still_hold_the_customer(sandbox, db, tmp_path):
    env = srm_env(sandbox, db, SRM_NOW=AS_OF, SRM_AGENT="anna")
    state = sandbox.export()
    customer = next(c for c in state["customers"]
                    if c["email"] and c["lastName"] and _no_live_access(state, c["id"]))
    everyone, nobody = tmp_path / "everyone.json", tmp_path / "nobody.json"
    everyone.write_text(json.dumps(EVERYONE))
    nobody.write_text(json.dumps(NOBODY))
    made = {}
    for name, segment, fmt in (("all.csv", everyone, "csv"), ("all.json", everyone, "json"),
                               ("none.csv", nobody, "csv"), ("gone.csv", everyone, "csv")):
        out = tmp_path / "out" / name
        out.parent.mkdir(exist_ok=True)
        result = run_srm("segment", "export", str(segment), "--format", fmt, "--out", str(out),
                         env=env)
        assert result.returncode == 0, result.stderr
        assert out.stat().st_mode & 0o777 == 0o600, name
        made[name] = str(out.resolve())
    Path(made["gone.csv"]).unlink()  # an export the agent already deleted is not named

    cache = Cache(db)
    try:
        listed = {r.path: r for r in exports.recorded(cache)}
        assert set(made.values()) <= set(listed)
        assert listed[made["all.json"]].kind == "segment-json"
        assert listed[made["all.csv"]].segment == "everyone"
        holding = exports.files_holding(cache, [customer["email"]])
        assert sorted(holding) == sorted([made["all.csv"], made["all.json"]])
        assert exports.files_holding(cache, ["x", ""]) == []  # too short to mean anything
    finally:
        cache.close()

    result = run_srm("customer", "anonymize", str(customer["id"]), "--yes", "--json", env=env)
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["status"] == "applied"
    assert sorted(outcome["exports_holding_data"]) == sorted([made["all.csv"],
                                                              made["all.json"]])
    assert made["all.csv"] in outcome["message"] and "still hold" in outcome["message"]
    # The files are the agent's: srm names them and leaves them as they were.
    assert customer["email"] in Path(made["all.csv"]).read_text(encoding="utf-8")

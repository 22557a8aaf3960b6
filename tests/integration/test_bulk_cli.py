"""`srm bulk` against the sandbox over loopback HTTP: bad input is exit 2 naming the field and
sends nothing (an unknown segment, a coupon code no campaign holds, a negative extension, a
cancel without the member count typed back, a viewer, a run over bulk_limit without the
owner or admin role); a dry run writes nothing; runs of coupon-apply, cancel and note-add
reach the sandbox; the report as JSON and CSV; each touched customer's history names the run.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3

import pytest

from tests.helpers import run_srm, srm_env

AS_OF = "2026-11-01T00:00:00Z"


@pytest.fixture(scope="module")
def sandbox(sandbox_process):
    return sandbox_process("--customers", "120", "--seed", "21", "--as-of", AS_OF)


@pytest.fixture(scope="module")
def db(sandbox, tmp_path_factory):
    path = tmp_path_factory.mktemp("bulk") / "c.db"
    result = run_srm("sync", env=srm_env(sandbox, path))
    assert result.returncode == 0, result.stderr
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("segments")

    def segment(name: str, where: dict, selector: str = "latest") -> str:
        path = folder / f"{name}.json"
        path.write_text(
            json.dumps({"version": 1, "name": name, "selector": selector, "where": where})
        )
        return str(path)

    return segment


@pytest.fixture
def env(sandbox, db):
    return srm_env(sandbox, db, SRM_NOW=AS_OF, SRM_AGENT="bulk-anna")


def bulk(env: dict[str, str], *args: str, **extra: str):
    return run_srm("bulk", *args, env={**env, **extra})


def runs(db) -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT count(*) FROM bulk_runs").fetchone()[0]
    finally:
        conn.close()


def statuses(sandbox) -> dict[int, dict]:
    return {s["subscriptionId"]: s for s in sandbox.export()["subscriptions"]}


def test_bad_input_is_exit_2_and_sends_nothing(sandbox, env, db, files):
    everyone = files("everyone", {"all": []})
    active = files("active", {"attr": "subscription.state", "op": "eq", "value": "active"})
    before = sandbox.export()
    cases = [
        (("extend", "--segment", "No such segment", "--days", "5", "--yes"), "--segment"),
        (("extend", "--segment", everyone, "--days", "-5", "--yes"), "--days"),
        (("extend", "--segment", everyone, "--days", "0", "--yes"), "--days"),
        (("extend", "--segment", everyone, "--yes"), "--days"),
        (("coupon-apply", "--segment", active, "--code", "NOSUCHCODE1", "--yes"), "--code"),
        (("pause", "--segment", active, "--cycles", "x", "--yes"), "--cycles"),
        (("cancel", "--segment", active, "--yes", "--confirm-count", "9"), "--reason"),
        (("cancel", "--segment", active, "--reason", "x", "--yes"), "--confirm-count"),
        (
            ("cancel", "--segment", active, "--reason", "x", "--yes", "--confirm-count", "1"),
            "--confirm-count",
        ),
        (("extend", "--segment", everyone, "--days", "5"), "--yes"),  # stdin not a terminal
        (("resume",), "--segment"),
    ]
    for args, field in cases:
        result = bulk(env, *args)
        assert result.returncode == 2, (args, result.stderr)
        assert field in result.stderr, (args, result.stderr)
    viewer = bulk(env, "extend", "--segment", everyone, "--days", "5", "--yes", SRM_ROLE="viewer")
    assert viewer.returncode == 2 and "viewer" in viewer.stderr
    limited = bulk(
        env, "extend", "--segment", everyone, "--days", "5", "--yes", SRM_BULK_LIMIT="50"
    )
    assert limited.returncode == 2 and "owner or admin" in limited.stderr
    assert runs(db) == 0
    assert sandbox.export() == before


def test_a_dry_run_shows_count_sample_refusals_and_writes_nothing(sandbox, env, db, files):
    everyone = files("everyone-dry", {"all": []})
    before = sandbox.export()
    result = bulk(env, "extend", "--segment", everyone, "--days", "10", "--dry-run", "--json")
    assert result.returncode == 0, result.stderr
    dry = json.loads(result.stdout)
    assert dry["members"] == 120 and len(dry["sample"]) == 5
    assert dry["refused_by_rule"].get("bulk.no-subscription")
    assert all(r["rule"] and r["reason"] for r in dry["refused"])
    text = bulk(env, "extend", "--segment", everyone, "--days", "10", "--dry-run")
    assert "120 members" in text.stdout and "refused by rule" in text.stdout
    assert "nothing was written" in text.stdout
    assert runs(db) == 0
    assert sandbox.export() == before


def test_coupon_cancel_and_note_runs_reach_the_sandbox(sandbox, env, db, files, tmp_path):
    grace = files("grace", {"attr": "subscription.state", "op": "eq", "value": "grace"})
    coupon = bulk(
        env, "coupon-apply", "--segment", grace, "--code", "COMEBACK50", "--yes", "--json"
    )
    assert coupon.returncode == 0, coupon.stderr
    applied = json.loads(coupon.stdout)
    after = statuses(sandbox)
    report = json.loads(bulk(env, "show", str(applied["id"]), "--json").stdout)
    done = [m for m in report["members"] if m["status"] == "done"]
    assert done and all(after[m["subscription_id"]]["couponCode"] == "COMEBACK50" for m in done)

    active = files("active-cancel", {"attr": "subscription.state", "op": "eq", "value": "active"})
    dry = json.loads(
        bulk(env, "cancel", "--segment", active, "--reason", "x", "--dry-run", "--json").stdout
    )
    count = dry["members"]
    cancel = bulk(
        env,
        "cancel",
        "--segment",
        active,
        "--reason",
        "outage",
        "--yes",
        "--confirm-count",
        str(count),
        "--json",
    )
    assert cancel.returncode == 0, cancel.stderr
    run = json.loads(cancel.stdout)
    assert run["status"] == "done" and run["counts"]["done"] > 0
    after = statuses(sandbox)
    report = json.loads(bulk(env, "show", str(run["id"]), "--json").stdout)
    done = [m for m in report["members"] if m["status"] == "done"]
    assert done and all(after[m["subscription_id"]]["status"] != "active" for m in done)

    # The report as CSV: private, never over an existing file unless --force.
    out = tmp_path / "cancel.csv"
    first = bulk(env, "show", str(run["id"]), "--csv", str(out))
    assert first.returncode == 0, first.stderr
    assert os.stat(out).st_mode & 0o777 == 0o600
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == count and {r["status"] for r in rows} <= {"done", "refused", "failed"}
    again = bulk(env, "show", str(run["id"]), "--csv", str(out))
    assert again.returncode == 2
    forced = bulk(env, "show", str(run["id"]), "--csv", str(out), "--force")
    assert forced.returncode == 0

    # Each touched customer's history names the run.
    customer = done[0]["customer_id"]
    shown = run_srm("customer", "show", str(customer), "--json", env=env)
    assert f"(bulk #{run['id']})" in shown.stdout

    # A finished run cannot be paused, cancelled or resumed.
    for what in ("pause", "cancel", "resume"):
        result = bulk(env, what, str(run["id"]))
        assert result.returncode == 2 and "RUN" in result.stderr

    note = bulk(env, "note-add", "--segment", grace, "outage credit given", "--yes", "--json")
    assert note.returncode == 0, note.stderr
    noted = json.loads(note.stdout)
    notes = [n for n in sandbox.export()["notes"] if n["text"] == "outage credit given"]
    assert len(notes) == noted["counts"]["done"] > 0
    listed = bulk(env, "list")
    assert f"bulk #{noted['id']} note-add" in listed.stdout


def test_progress_is_drawn_on_stderr_only_on_a_terminal(env, files):
    import pty
    import subprocess

    from tests.helpers import SRM

    everyone = files("everyone-notes", {"all": []})
    piped = bulk(env, "note-add", "--segment", everyone, "piped", "--yes", "--json")
    assert piped.returncode == 0, piped.stderr
    assert json.loads(piped.stdout)["status"] == "done"
    assert "━" not in piped.stderr  # not a terminal: no bar

    master, slave = pty.openpty()
    try:
        proc = subprocess.run(
            [*SRM, "bulk", "note-add", "--segment", everyone, "on a terminal", "--yes", "--json"],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            stderr=slave,
            timeout=300,
            env={**os.environ, **env},
        )
        os.close(slave)
        drawn = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the other end is closed: all of it was read
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(master)
    assert proc.returncode == 0, drawn
    run = json.loads(proc.stdout)  # stdout stays one JSON document
    assert run["status"] == "done"
    assert f"bulk #{run['id']}".encode() in drawn and "━".encode() in drawn
    assert b"done," in drawn  # the bar counts done, refused and failed members

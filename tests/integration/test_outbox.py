"""The outbox against the real sandbox: queued offline, pushed exactly once, conflicts kept.

The sandbox keeps its state in a file across restarts (`srm sandbox serve --state FILE`), so
actions queued while it is down reach the same data once it is back.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx

from srm_tui.actions import ActionService
from srm_tui.config import load_settings
from srm_tui.storage.cache import Cache
from tests.helpers import SRM, SandboxProcess, run_srm, srm_env

AS_OF = "2026-11-01T00:00:00Z"
UNTIL = int(datetime(2027, 9, 1, tzinfo=timezone.utc).timestamp())
HEADERS = {"X-Publisher-Token": "sandbox-key"}

KILL_AFTER_SEND = """
import os, signal, sys
from srm_tui.actions import ActionService
from srm_tui.config import load_settings
from srm_tui.storage.cache import Cache

sent = 0

def after_send(item):
    global sent
    sent += 1
    if sent == int(sys.argv[1]):
        os.kill(os.getpid(), signal.SIGKILL)  # the API applied it; its status is not written

settings = load_settings()
ActionService(Cache(settings.db), settings, after_send=after_send).push()
"""


def start(state: Path) -> SandboxProcess:
    return SandboxProcess(
        "--customers", "150", "--seed", "11", "--as-of", AS_OF, "--state", str(state)
    )


def offline(db: Path, **overrides: Any) -> ActionService:
    values: dict[str, Any] = dict(db=db, agent="anna", role="agent", now=AS_OF)
    values.update(overrides)
    settings = load_settings(**values)
    return ActionService(Cache(db), settings)


def synced(sandbox: SandboxProcess, db: Path) -> dict[str, str]:
    env = srm_env(sandbox, db, SRM_NOW=AS_OF, SRM_AGENT="anna")
    result = run_srm("sync", env=env)
    assert result.returncode == 0, result.stderr
    return env


def note_texts(export: dict[str, Any]) -> Counter:
    return Counter(n["text"] for n in export["notes"])


def outbox_rows(db: Path) -> list[dict[str, Any]]:
    cache = Cache(db)
    try:
        return [dict(r) for r in cache.conn().execute("SELECT * FROM outbox ORDER BY id")]
    finally:
        cache.close()


def test_twenty_offline_actions_reach_the_sandbox_once(tmp_path):
    state, db = tmp_path / "state.json", tmp_path / "c.db"
    sandbox = start(state)
    env = synced(sandbox, db)
    export = sandbox.export()
    dead_url = sandbox.url
    sandbox.stop()

    customers = [c for c in export["customers"] if c["email"]][:30]
    active = [
        s
        for s in export["subscriptions"]
        if s["status"] == "active"
        and s["paymentGateway"] in ("adyen", "paypal")
        and s["dateTo"] < UNTIL
    ]
    sent_emails = [e for e in export["emails"] if e["status"] == "sent"]
    # Two actions meet the API down (connection refused) and are queued; the rest are
    # queued with no API configured at all.
    down = offline(db, api_url=dead_url)
    assert (
        down.run("note-add", customer_id=customers[0]["id"], text="queued note 0").status
        == "queued"
    )
    assert down.run("edit", customer_id=customers[1]["id"], first_name="Queued1").status == "queued"
    down.close()
    service = offline(db)
    for i in range(2, 8):
        assert (
            service.run("note-add", customer_id=customers[i]["id"], text=f"queued note {i}").status
            == "queued"
        )
    for i in range(10, 13):
        service.run("edit", customer_id=customers[i]["id"], first_name=f"Queued{i}")
    extended = active[:3]
    for sub in extended:
        service.run("extend", access_id=sub["subscriptionId"], until="2027-09-01")
    cancelled = [
        s for s in active[3:] if s["customerId"] not in {x["customerId"] for x in extended}
    ][:2]
    for sub in cancelled:
        service.run("cancel", subscription_id=sub["subscriptionId"], reason="Queued cancel")
    resent = sent_emails[:2]
    for email in resent:
        service.run("resend", email_id=email["id"])
    for i in (13, 14):  # through the command, offline: exit 0, saying so
        result = run_srm(
            "customer",
            "note",
            "add",
            str(customers[i]["id"]),
            f"queued note {i}",
            env={**env, "SRM_API_URL": ""},
        )
        assert result.returncode == 0, result.stderr
        assert "queued" in result.stdout
    assert len(service.pending()) == 20
    assert all(o.status == "pending" for o in service.pending())
    service.close()
    service.cache.close()

    listed = run_srm("outbox", "list", "--json", env={**env, "SRM_API_URL": ""})
    assert [i["status"] for i in json.loads(listed.stdout)] == ["pending"] * 20

    # Still down: the push stops at once and keeps everything.
    stopped = run_srm("outbox", "push", env={**env, "SRM_API_URL": dead_url})
    assert stopped.returncode == 3, stopped.stderr
    assert "stays pending" in stopped.stderr
    assert [r["status"] for r in outbox_rows(db)] == ["pending"] * 20

    sandbox = start(state)  # back, with the state it had, on a new port
    try:
        env = srm_env(sandbox, db, SRM_NOW=AS_OF, SRM_AGENT="anna")
        before = sandbox.export()
        assert before["notes"] == export["notes"]
        pushed = run_srm("outbox", "push", "--json", env=env)
        assert pushed.returncode == 0, pushed.stderr
        summary = json.loads(pushed.stdout)
        assert len(summary["sent"]) == 20 and summary["remaining"] == 0 and summary["ok"]
        again = json.loads(run_srm("outbox", "push", "--json", env=env).stdout)
        assert again["sent"] == [] and again["ok"]

        after = sandbox.export()
        texts = note_texts(after)
        for i in [0, 2, 3, 4, 5, 6, 7, 13, 14]:
            assert texts[f"queued note {i}"] == 1
        assert len(after["notes"]) == len(before["notes"]) + 9
        by_id = {c["id"]: c for c in after["customers"]}
        for i in [1, 10, 11, 12]:
            cid = customers[i]["id"]
            assert by_id[cid]["firstName"] == f"Queued{i}"
            entries = [
                h
                for h in after["history"]
                if h["customerId"] == cid and any(c["to"] == f"Queued{i}" for c in h["changes"])
            ]
            assert len(entries) == 1 and entries[0]["editor"] == "anna"
        assert len(after["history"]) == len(before["history"]) + 4
        subs = {s["subscriptionId"]: s for s in after["subscriptions"]}
        for sub in extended:
            assert subs[sub["subscriptionId"]]["dateTo"] == UNTIL
        for sub in cancelled:
            assert subs[sub["subscriptionId"]]["status"] == "stopped"
        assert len(after["emails"]) == len(before["emails"]) + 2 + 2  # resent + stop notices
        # The cache followed the API for every customer the actions touched.
        shown = json.loads(
            run_srm("customer", "show", str(customers[1]["id"]), "--json", env=env).stdout
        )
        assert shown["customer"]["firstName"] == "Queued1"
        assert [r["status"] for r in outbox_rows(db)] == ["sent"] * 20
    finally:
        sandbox.stop()


def test_push_killed_right_after_sending_applies_each_once(tmp_path):
    state, db = tmp_path / "state.json", tmp_path / "c.db"
    sandbox = start(state)
    try:
        env = synced(sandbox, db)
        export = sandbox.export()
        customer = export["customers"][3]["id"]
        service = offline(db)
        for i in range(6):
            service.run("note-add", customer_id=customer, text=f"kill test {i}")
        service.run("edit", customer_id=export["customers"][4]["id"], first_name="Killed")
        service.close()
        service.cache.close()

        killed = subprocess.run(
            [sys.executable, "-c", KILL_AFTER_SEND, "3"],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
        )
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        # A push claims each customer's earliest pending entry at a time (one customer's
        # actions keep their order under many pushers): the first claim took note 0 and the
        # edit, the second note 1, killed once the API had applied it.
        statuses = [r["status"] for r in outbox_rows(db)]
        assert statuses == ["sent"] + ["pending"] * 5 + ["sent"]
        texts = note_texts(sandbox.export())
        assert [texts[f"kill test {i}"] for i in range(6)] == [1, 1, 0, 0, 0, 0]

        rerun = run_srm("outbox", "push", "--json", env=env)
        assert rerun.returncode == 0, rerun.stderr
        assert len(json.loads(rerun.stdout)["sent"]) == 5
        after = sandbox.export()
        texts = note_texts(after)
        assert [texts[f"kill test {i}"] for i in range(6)] == [1] * 6
        edits = [h for h in after["history"] if any(c["to"] == "Killed" for c in h["changes"])]
        assert len(edits) == 1

        # Killed at random moments, again and again: still each exactly once.
        service = offline(db)
        for i in range(12):
            service.run("note-add", customer_id=customer, text=f"random kill {i}")
        service.close()
        service.cache.close()
        rng = random.Random(4)
        for _ in range(3):
            proc = subprocess.Popen(
                [*SRM, "outbox", "push"],
                env={**os.environ, **env},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(rng.uniform(0.5, 1.2))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        final = run_srm("outbox", "push", env=env)
        assert final.returncode == 0, final.stderr
        texts = note_texts(sandbox.export())
        assert [texts[f"random kill {i}"] for i in range(12)] == [1] * 12
        assert all(r["status"] == "sent" for r in outbox_rows(db))
    finally:
        sandbox.stop()


def test_conflict_keeps_both_versions_then_retry_or_discard(tmp_path):
    state, db = tmp_path / "state.json", tmp_path / "c.db"
    sandbox = start(state)
    try:
        env = synced(sandbox, db)
        export = sandbox.export()
        first, second = export["customers"][7], export["customers"][8]
        service = offline(db)
        service.run("edit", customer_id=first["id"], first_name="Queued")
        service.run("edit", customer_id=second["id"], last_name="Queued")
        note = next(n for n in export["notes"] if n["deletedAt"] is None)
        owner = offline(db, agent="boss", role="owner")
        owner.run("note-edit", note_id=note["id"], text="edited while offline")
        owner.close()
        # Meanwhile, at the API, someone changes the same fields and deletes the note.
        for cid, body in (
            (first["id"], {"firstName": "Server"}),
            (second["id"], {"lastName": "Server"}),
        ):
            r = httpx.patch(f"{sandbox.url}/customers/{cid}", json=body, headers=HEADERS)
            assert r.status_code == 200, r.text
        r = httpx.delete(
            f"{sandbox.url}/x-srm/notes/{note['id']}", params={"editor": "tom"}, headers=HEADERS
        )
        assert r.status_code == 200, r.text
        history_before = len(sandbox.export()["history"])

        pushed = run_srm("outbox", "push", env=env)
        assert pushed.returncode == 1
        assert "conflict" in pushed.stdout and "outbox resolve" in pushed.stderr
        items = json.loads(run_srm("outbox", "list", "--json", env=env).stdout)
        assert [i["status"] for i in items] == ["conflict"] * 3
        edit_first = items[0]
        assert edit_first["versions"] == [
            {
                "record": f"customers {first['id']}",
                "field": "firstName",
                "base": first["firstName"],
                "queued": "Queued",
                "server": "Server",
            }
        ]
        assert "Note has been deleted" in items[2]["last_error"]
        after = sandbox.export()
        by_id = {c["id"]: c for c in after["customers"]}
        assert by_id[first["id"]]["firstName"] == "Server"  # nothing applied
        assert by_id[second["id"]]["lastName"] == "Server"
        assert len(after["history"]) == history_before

        retried = run_srm("outbox", "resolve", str(edit_first["id"]), "--retry", env=env)
        assert retried.returncode == 0, retried.stderr
        assert {c["id"]: c for c in sandbox.export()["customers"]}[first["id"]][
            "firstName"
        ] == "Queued"
        discarded = run_srm("outbox", "resolve", str(items[1]["id"]), "--discard", env=env)
        assert discarded.returncode == 0, discarded.stderr
        assert {c["id"]: c for c in sandbox.export()["customers"]}[second["id"]][
            "lastName"
        ] == "Server"
        statuses = {r["id"]: r["status"] for r in outbox_rows(db)}
        assert statuses[edit_first["id"]] == "sent" and statuses[items[1]["id"]] == "discarded"
        bad = run_srm("outbox", "resolve", str(items[1]["id"]), "--retry", env=env)
        assert bad.returncode == 2 and "discarded" in bad.stderr

        audit = [e.to_json() for e in service.audit_log(second["id"])]
        assert [e["outcome"] for e in audit[:3]] == ["discarded", "conflict", "queued"]
        assert "Server" in audit[1]["detail"] and audit[1]["after"] == {"last name": "Queued"}
        service.close()
        service.cache.close()
    finally:
        sandbox.stop()


def test_online_action_waits_behind_the_customers_queued_ones(tmp_path):
    state, db = tmp_path / "state.json", tmp_path / "c.db"
    sandbox = start(state)
    try:
        synced(sandbox, db)
        customer = sandbox.export()["customers"][9]
        queued = offline(db)
        queued.run("edit", customer_id=customer["id"], first_name="First")
        queued.close()
        online = offline(db, api_url=sandbox.url, api_key="sandbox-key")
        outcome = online.run("edit", customer_id=customer["id"], last_name="Second")
        assert outcome.status == "applied" and online.pending(customer["id"]) == []
        online.close()
        history = [h for h in sandbox.export()["history"] if h["customerId"] == customer["id"]]
        assert [
            c["to"] for h in sorted(history, key=lambda h: h["id"])[-2:] for c in h["changes"]
        ] == ["First", "Second"]
    finally:
        sandbox.stop()

"""Sync against the real sandbox over loopback HTTP, through the real `srm` command."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time

import pytest

from tests.helpers import SRM, SandboxProcess, cache_matches_export, run_srm, srm_env

AS_OF = "2026-11-01T00:00:00Z"


@pytest.fixture(scope="module")
def sandbox(sandbox_process):
    return sandbox_process("--customers", "1500", "--seed", "7", "--as-of", AS_OF)


def test_sync_equals_export_field_by_field(sandbox, tmp_path):
    db = tmp_path / "c.db"
    result = run_srm("sync", "--json", env=srm_env(sandbox, db))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    export = sandbox.export()
    assert summary["customers"] == len(export["customers"]) == 1500
    assert summary["transactions"] == len(export["transactions"]) > 1500
    assert summary["quarantined"] == 0 and summary["seconds"] > 0
    assert cache_matches_export(db, export) == []
    # A second sync has nothing to do and changes nothing.
    again = json.loads(run_srm("sync", "--json", env=srm_env(sandbox, db)).stdout)
    assert sum(again[e] for e in ("customers", "transactions", "emails")) == 0
    assert cache_matches_export(db, export) == []


def test_a_full_sync_keeps_the_notes_srm_keeps_itself(sandbox, tmp_path):
    """A full pull drops what the API no longer has, but a note kept in srm's own store (the
    vendor profile's notes) was never the API's: it stays."""
    import sqlite3

    db = tmp_path / "c.db"
    assert run_srm("sync", env=srm_env(sandbox, db)).returncode == 0
    with sqlite3.connect(db) as conn:
        customer = conn.execute("SELECT min(id) FROM customers").fetchone()[0]
        raw = json.dumps(
            {
                "id": 999999999,
                "customerId": customer,
                "author": "me",
                "text": "kept in srm",
                "createdAt": 1,
                "keptIn": "srm",
            }
        )
        conn.execute(
            "INSERT INTO notes (id, customer_id, author, created_at, raw, synced_at, "
            "local) VALUES (999999999, ?, 'me', 1, ?, 0, 1)",
            (customer, raw),
        )
    result = run_srm("sync", "--full", env=srm_env(sandbox, db))
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(db) as conn:
        kept = conn.execute("SELECT count(*) FROM notes WHERE id = 999999999").fetchone()[0]
        assert kept == 1
        conn.execute("DELETE FROM notes WHERE id = 999999999")
    assert cache_matches_export(db, sandbox.export()) == []  # and the rest is the API's


def test_sync_with_faults_ends_identical(tmp_path):
    sb = SandboxProcess(
        "--customers",
        "800",
        "--seed",
        "3",
        "--as-of",
        AS_OF,
        "--faults",
        "0.2",
        "--stall-seconds",
        "1",
    )
    try:
        db = tmp_path / "c.db"
        env = srm_env(sb, db, SRM_PAGE_SIZE="200", SRM_TIMEOUT="3")
        result = run_srm("sync", "--json", env=env)
        for _ in range(3):  # a page that failed every retry is kept for the next run
            if result.returncode == 0:
                break
            result = run_srm("sync", "--json", env=env)
        assert result.returncode == 0, result.stderr
        summary = json.loads(result.stdout)
        assert summary["retries"] > 0
        assert cache_matches_export(db, sb.export()) == []
    finally:
        sb.stop()


def test_sigkill_at_random_points_then_resume(sandbox, tmp_path):
    db = tmp_path / "c.db"
    env = srm_env(sandbox, db, SRM_PAGE_SIZE="100")
    assert run_srm("sync", env=env).returncode == 0
    export = sandbox.export()
    rng = random.Random(20261122)
    killed_mid_run = 0
    for _ in range(10):
        proc = subprocess.Popen(
            [*SRM, "sync", "--full"],
            env={**__import__("os").environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.4, 2.5))
        if proc.poll() is None:
            killed_mid_run += 1
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        rerun = run_srm("sync", "--json", env=env)
        assert rerun.returncode == 0, rerun.stderr
        assert cache_matches_export(db, export) == []
    assert killed_mid_run >= 5, "the kills should land while the sync runs"


def test_incremental_sync_sees_writes(sandbox, tmp_path):
    import httpx

    db = tmp_path / "c.db"
    env = srm_env(sandbox, db)
    assert run_srm("sync", env=env).returncode == 0
    export = sandbox.export()
    customer = export["customers"][5]
    r = httpx.patch(
        f"{sandbox.url}/customers/{customer['id']}",
        json={"firstName": "Renamed"},
        headers={"X-Publisher-Token": "sandbox-key"},
    )
    assert r.status_code == 200, r.text
    result = json.loads(run_srm("sync", "--json", env=env).stdout)
    assert result["customers"] == 1 and result["history"] >= 1
    assert cache_matches_export(db, sandbox.export()) == []
    found = json.loads(run_srm("search", "renamed", "--json", env=env).stdout)
    assert [c["id"] for c in found] == [customer["id"]]
    # A removed record (a season group) leaves the cache at the next sync.
    headers = {"X-Publisher-Token": "sandbox-key"}
    group = httpx.post(
        f"{sandbox.url}/offers/season-groups", json={"name": "Short-lived"}, headers=headers
    )
    assert group.status_code in (200, 201), group.text
    run_srm("sync", env=env)
    assert cache_matches_export(db, sandbox.export()) == []
    gone = httpx.delete(f"{sandbox.url}/offers/season-groups/{group.json()['id']}", headers=headers)
    assert gone.status_code in (200, 204), gone.text
    assert run_srm("sync", env=env).returncode == 0
    assert cache_matches_export(db, sandbox.export()) == []


def test_fetch_one_customer_on_demand(sandbox, tmp_path):
    db = tmp_path / "c.db"
    env = srm_env(sandbox, db)
    export = sandbox.export()
    txn = next(t for t in export["transactions"] if t["subscriptionId"])
    owner = txn["customerId"]
    result = run_srm("fetch", txn["transactionId"], "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"customer_id": owner}
    shown = json.loads(run_srm("customer", "show", str(owner), "--json", env=env).stdout)
    mine = lambda entity: sorted(  # noqa: E731
        (x for x in export[entity] if x["customerId"] == owner), key=json.dumps
    )
    assert shown["customer"] == next(c for c in export["customers"] if c["id"] == owner)
    for entity in ("subscriptions", "passes", "transactions", "emails", "notes", "payment_details"):
        assert sorted(shown[entity], key=json.dumps) == mine(entity), entity
    # The merged history carries each of the vendor's change records whole.
    assert sorted((h["record"] for h in shown["history"] if "record" in h), key=json.dumps) == mine(
        "history"
    )
    by_email = export["customers"][3]
    assert run_srm("fetch", by_email["email"], env=env).returncode == 0
    assert run_srm("fetch", "nobody@nowhere.example", env=env).returncode == 1

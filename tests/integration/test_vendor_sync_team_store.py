"""The vendor profile's sync (published calls only, customer by customer) on the team's
PostgreSQL store, through the real command against `start_sandbox(profile="vendor")`: the
known customers arrive as the vendor publishes them, --full refreshes them all, and a sync
SIGKILLed after a chosen customer resumes with the next one."""

from __future__ import annotations

import json
import signal

import pytest

from srm_tui.sandbox.state import SandboxState
from srm_tui.storage import records
from srm_tui.storage.db import open_store
from tests.conftest import AS_OF
from tests.helpers import run_srm
from tests.integration.test_vendor_sync import KEY, PUBLISHED, UNKNOWN_ID


@pytest.fixture(scope="module")
def state():
    return SandboxState.generate(40, 23, AS_OF)


def _env(server, url):
    return {"SRM_API_URL": server.url, "SRM_API_KEY": KEY, "SRM_DB": url}


def _rows(url, sql, *args):
    store = open_store(url)
    try:
        return [tuple(r) for r in store.conn().execute(sql, args).fetchall()]
    finally:
        store.close()


def _seed_ids(url, ids):
    """What an import of a list of customer ids leaves: customers to fetch."""
    store = open_store(url)
    try:
        with store.transaction() as tx:
            tx.executemany(
                "INSERT INTO customer_fetch_state (customer_id, status, attempted_at) "
                "VALUES (?, 'pending', 0)",
                [(i,) for i in ids],
            )
    finally:
        store.close()


def _differences(url, export, customer_ids):
    """The store against the export for these customers, on the fields the vendor publishes."""
    store = open_store(url)
    problems = []
    try:
        for entity, (key, fields) in PUBLISHED.items():
            owner = "id" if entity == "customers" else "customerId"
            want = {str(r[key]): r for r in export[entity] if r[owner] in customer_ids}
            got = {str(r[key]): r for r in records.raw_records(store.conn(), entity)}
            if want.keys() != got.keys():
                problems.append(f"{entity}: {sorted(want.keys() ^ got.keys())[:3]} differ")
            for k in want.keys() & got.keys():
                differ = [f for f in fields if f in want[k] and want[k][f] != got[k].get(f)]
                if differ:
                    problems.append(f"{entity} {k}: {differ}")
    finally:
        store.close()
    return problems


def test_vendor_profile_sync_on_the_team_store(vendor, state, team_url):
    export = state.export()
    ids = [c["id"] for c in export["customers"][:25]]
    _seed_ids(team_url, [*ids, UNKNOWN_ID])
    result = run_srm("sync", "--json", env=_env(vendor, team_url))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["profile"] == "vendor" and summary["ok"]
    assert summary["customers"] == 25 and summary["gone"] == 1
    assert _differences(team_url, export, set(ids)) == []
    assert _rows(
        team_url, "SELECT status, count(*) FROM customer_fetch_state GROUP BY 1 ORDER BY 1"
    ) == [
        ("gone", 1),
        ("ok", 25),
    ]
    assert _rows(team_url, "SELECT count(*) FROM segment_facts_dirty") == [(0,)]
    # --full asks for every known customer again (and once more about the gone one).
    full = run_srm("sync", "--full", "--json", env=_env(vendor, team_url))
    assert full.returncode == 0, full.stderr
    assert json.loads(full.stdout)["customers"] == 25
    # Killed after its 7th customer of another full run: the rerun resumes with the 8th.
    killed = run_srm(
        "sync", "--full", env={**_env(vendor, team_url), "SRM_SYNC_KILL_AFTER_CUSTOMERS": "7"}
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    pending = _rows(team_url, "SELECT count(*) FROM customer_fetch_state WHERE full_pending = 1")
    assert pending == [(26 - 7,)]
    rerun = run_srm("sync", "--full", "--json", env=_env(vendor, team_url))
    assert rerun.returncode == 0, rerun.stderr
    resumed = json.loads(rerun.stdout)
    assert resumed["customers"] + resumed["gone"] == 26 - 7  # none of the first 7 again
    assert _differences(team_url, export, set(ids)) == []
    assert _rows(team_url, "SELECT count(*) FROM store_writers") == [(0,)]

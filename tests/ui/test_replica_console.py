"""The console on a replica (`srm replicate`, issue 15): its status line says what it is a
replica of, and its push (the one it makes before a sync) forwards the actions queued offline
to the team store's outbox, never to the API: with no API configured, and with an API address
where nothing listens, the entry reaches the store all the same."""

from __future__ import annotations

import json
import sqlite3

import psycopg
import pytest

from srm_tui import runtime
from srm_tui.app import SrmApp
from srm_tui.config import load_settings
from srm_tui.domain.time import parse_instant
from tests.helpers import free_port, run_srm

NOW = "2026-11-01T00:00:00Z"
CUSTOMERS, SEED = 60, 5
ACTIVE = {
    "version": 1,
    "name": "Active",
    "where": {"all": [{"attr": "customer.status", "op": "eq", "value": "active"}]},
}


def _in_store(url: str, key: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT count(*) FROM outbox WHERE idempotency_key = %s", (key,)
        ).fetchone()[0]


@pytest.mark.parametrize("api", ["none", "dead"])
async def test_a_replicas_console_names_its_store_and_forwards(api, pg_store, pg_login, tmp_path):
    from srm_tui.team.replicate import replicate

    url = pg_store(CUSTOMERS, SEED)
    segment = tmp_path / "active.json"
    segment.write_text(json.dumps(ACTIVE))
    env = {"SRM_DB": url, "SRM_NOW": NOW, "SRM_AGENT": "anna"}
    saved = run_srm("segment", "save", str(segment), env=env)
    assert saved.returncode == 0, saved.stderr
    agent = pg_login(url, "srm_agent")
    replica = tmp_path / "laptop.db"
    report = replicate(
        agent, str(replica), segment="Active", now=int(parse_instant(NOW).timestamp())
    )
    member = json.loads(run_srm("segment", "members", str(segment), "--json", env=env).stdout)[
        "customers"
    ][0]
    queued = run_srm(
        "customer", "note", "add", str(member), "from the train",
        env={**env, "SRM_DB": str(replica)},
    )  # fmt: skip
    assert queued.returncode == 0 and "queued" in queued.stdout, queued.stderr
    local = sqlite3.connect(replica)
    key = local.execute("SELECT idempotency_key FROM outbox").fetchone()[0]
    local.close()

    # Nothing listens at the dead API's port: a replica never needs it.
    api_url = f"http://127.0.0.1:{free_port()}" if api == "dead" else None
    settings, store = runtime.open_console_store(
        load_settings(db=str(replica), now=NOW, agent="anna", api_url=api_url)
    )
    app = SrmApp(settings, store, sync_on_start=True)
    async with app.run_test(size=(160, 40)) as pilot:
        for _ in range(1200):  # a generous bound on a busy machine; the wait ends on the row
            if _in_store(url, key):
                break
            await pilot.pause(0.1)
        app.refresh_status()
        status = app.status_text
        app.exit()
    store.close()
    assert _in_store(url, key) == 1
    assert f"replica of {report.store} (segment Active, taken 00:00 UTC)" in status, status
    assert "sync failed" not in status

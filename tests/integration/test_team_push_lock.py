"""One sender of the team's shared outbox at a time (issue 15): every agent's console and
`srm outbox push` push the same outbox, and two sending one entry at once would send it twice.
While another process holds the team's push lock, a push sends nothing and names the sender;
once it is free, the entry goes, once. The lock is held by this test process (never a race
arranged by timing)."""

from __future__ import annotations

import json
import os

from srm_tui.storage.db import open_store, push_lock
from tests.helpers import run_srm

AS_OF = "2026-11-01T00:00:00Z"
KEY = "k3y-push-lock"
CUSTOMERS, SEED = 60, 5


def test_a_push_waits_its_turn_while_another_srm_sends(sandbox_process, pg_store, pg_login):
    sandbox = sandbox_process(
        "--customers", str(CUSTOMERS), "--seed", str(SEED), "--as-of", AS_OF, "--api-key", KEY
    )
    url = pg_store(CUSTOMERS, SEED)
    agent = pg_login(url, "srm_agent")
    customer = sandbox.export()["customers"][3]
    env = {"SRM_DB": agent, "SRM_NOW": AS_OF, "SRM_AGENT": "anna"}
    api = {**env, "SRM_API_URL": sandbox.url, "SRM_API_KEY": KEY}
    queued = run_srm("customer", "note", "add", str(customer["id"]), "turn-taking note", env=env)
    assert queued.returncode == 0 and "queued" in queued.stdout, queued.stderr

    def sent_notes() -> int:
        return sum(
            n["customerId"] == customer["id"] and "turn-taking note" in json.dumps(n)
            for n in sandbox.export()["notes"]
        )

    holder = open_store(url)
    try:
        with push_lock(holder, "srm") as sender:
            assert sender is None  # this process is the team's sender now
            waited = run_srm("outbox", "push", env=api)
            assert waited.returncode == 0, waited.stderr
            assert waited.stdout.startswith("sent 0, conflicts 0, failed 0, still pending 1")
            assert f"srm (pid {os.getpid()} on" in waited.stdout
            assert "nothing sent from here" in waited.stdout
            assert sent_notes() == 0
    finally:
        holder.close()
    pushed = run_srm("outbox", "push", env=api)
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout.startswith("sent 1, conflicts 0, failed 0, still pending 0")
    assert sent_notes() == 1


def test_a_sqlite_cache_takes_no_push_lock(cache):
    with push_lock(cache) as sender:
        assert sender is None

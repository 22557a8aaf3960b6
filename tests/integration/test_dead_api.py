"""A stopped API (nothing listening at its port, so every connection is refused): a bulk run
and an outbox push give up after a couple of connection attempts, not a minute of backoff.
Bounded by the attempts counted (the outbox's per-entry attempts, the client's retries),
never by a duration."""

from __future__ import annotations

import json
import shutil
import sqlite3

import pytest

from srm_tui.bulk.sender import SENDERS
from tests.helpers import run_srm, srm_env

AS_OF = "2026-11-01T00:00:00Z"


@pytest.fixture(scope="module")
def stopped(sandbox_process, tmp_path_factory):
    """(a synced cache, the URL of the sandbox it came from, now stopped)."""
    sandbox = sandbox_process("--customers", "60", "--seed", "5", "--as-of", AS_OF)
    db = tmp_path_factory.mktemp("dead") / "c.db"
    result = run_srm("sync", env=srm_env(sandbox, db))
    assert result.returncode == 0, result.stderr
    sandbox.stop()  # its port now refuses every connection
    return db, sandbox.url


def _attempts(db) -> list[int]:
    conn = sqlite3.connect(db)
    try:
        return [r[0] for r in conn.execute("SELECT attempts FROM outbox ORDER BY id")]
    finally:
        conn.close()


def test_bulk_run_and_outbox_push_give_up_on_a_refused_connection(stopped, tmp_path):
    source, url = stopped
    db = tmp_path / "c.db"
    shutil.copy(source, db)
    segment = tmp_path / "active.json"
    where = {"attr": "subscription.state", "op": "eq", "value": "active"}
    segment.write_text(json.dumps({"version": 1, "name": "active", "where": where}))
    env = {
        "SRM_DB": str(db),
        "SRM_API_URL": url,
        "SRM_API_KEY": "sandbox-key",
        "SRM_NOW": AS_OF,
        "SRM_AGENT": "anna",
    }
    result = run_srm("bulk", "extend", "--segment", str(segment), "--days", "1", "--yes", env=env)
    assert result.returncode == 3, (result.returncode, result.stdout, result.stderr)
    assert "refused" in result.stderr + result.stdout
    attempts = _attempts(db)
    assert len(attempts) > SENDERS  # more members than calls in flight at once
    # One round, ended at the first refusal: no entry is tried twice, and those not started
    # when the API was found away wait untried (before: five rounds, every entry five times).
    assert max(attempts) == 1 and sum(attempts) <= SENDERS, attempts

    push = run_srm("outbox", "push", env=env)
    assert push.returncode != 0 and "refused" in push.stderr + push.stdout
    after = _attempts(db)
    # The push stops at the first entry the API did not take; the rest are not tried.
    assert sum(after) - sum(attempts) == 1, (attempts, after)

    # The same push in process: the client's counters say how often it connected.
    from srm_tui.config import load_settings
    from srm_tui.session import Session

    session = Session(load_settings(db=str(db), api_url=url, api_key="sandbox-key", now=AS_OF))
    try:
        summary = session.actions.push()
        assert summary.unreachable and summary.stopped and not summary.sent
        # interactive_retry allows three attempts; a refused connection gets two.
        assert session.actions.client().retries == 1
    finally:
        session.close()

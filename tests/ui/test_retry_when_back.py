"""The console sends what waited soon after the API answers again: it looks every few
seconds while actions wait and the API was away (a refused connection costs two quick
connects), one look at a time."""

from __future__ import annotations

import sqlite3

import httpx

from srm_tui.sandbox.runner import start_sandbox
from srm_tui.sandbox.state import SandboxState
from tests.conftest import AS_OF
from tests.helpers import free_port, run_srm
from tests.ui_keys import make_app


def _outbox(db) -> list[tuple[str, str]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT action, status FROM outbox ORDER BY id").fetchall()
    finally:
        conn.close()


async def test_a_note_queued_while_the_api_was_away_is_sent_by_the_next_look(tmp_path):
    running = start_sandbox(SandboxState.generate(10, 3, AS_OF))
    try:
        db = tmp_path / "c.db"
        env = {"SRM_API_URL": running.url, "SRM_API_KEY": "sandbox-key", "SRM_DB": str(db)}
        root = running.url.rsplit("/3.1", 1)[0]
        cid = httpx.get(f"{root}/sandbox/export", timeout=60).json()["customers"][0]["id"]
        assert run_srm("fetch", str(cid), env=env).returncode == 0
        away = dict(env, SRM_API_URL=f"http://127.0.0.1:{free_port()}/3.1", SRM_AGENT="anna")
        queued = run_srm("customer", "note", "add", str(cid), "called back", env=away)
        assert queued.returncode == 0, queued.stderr
        assert _outbox(db) == [("note-add", "pending")]
        app = make_app(db, running.url)
        async with app.run_test(size=(120, 40)) as pilot:
            looks = [t for t in app._timers if t._callback == app.retry_when_back]
            assert len(looks) == 1 and looks[0]._interval <= 5  # not once a minute
            app.online = False  # as a failed call left it
            app.retry_when_back()
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert app.online is True
        assert _outbox(db) == [("note-add", "sent")]
    finally:
        running.stop()

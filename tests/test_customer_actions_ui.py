"""Support actions from the customer screen, by keys, against the real sandbox."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from srm_tui.api.client import ApiClient
from srm_tui.app import SrmApp
from srm_tui.config import load_settings
from srm_tui.sandbox.runner import start_in_thread
from srm_tui.sandbox.server import create_app
from srm_tui.sandbox.state import SandboxState
from srm_tui.storage.cache import Cache
from srm_tui.sync.engine import SyncEngine
from tests.helpers import screen_text

AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)


@pytest.fixture
def online(tmp_path):
    running = start_in_thread(create_app(SandboxState.generate(60, 9, AS_OF,
                                                               advance_clock=False)))
    db = tmp_path / "c.db"
    cache = Cache(db)
    with ApiClient(running.url, "sandbox-key") as client:
        SyncEngine(cache, client).run()
    yield running, db, cache
    running.stop()


def _app(db, url=None, role="agent"):
    settings = load_settings(db=str(db), api_url=url, api_key="sandbox-key" if url else None,
                             agent="anna", role=role, now="2026-11-01T00:00:00Z")
    return SrmApp(settings, Cache(db), sync_on_start=False)


def _customer_with(cache, sql):
    return cache.conn().execute(sql).fetchone()[0]


async def _open(app, pilot, customer_id):
    app.open_customer(customer_id)
    await pilot.pause()


async def test_add_note_and_edit_name_online(online):
    running, db, cache = online
    customer = _customer_with(cache, "SELECT id FROM customers WHERE email IS NOT NULL LIMIT 1")
    app = _app(db, running.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await _open(app, pilot, customer)
        await pilot.press("n")
        await pilot.pause()
        assert type(app.screen).__name__ == "ActionScreen"
        await pilot.press(*"Called about billing")
        await pilot.pause(0.4)
        assert "20 / 2,500 characters" in screen_text(app)
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause(0.3)
        assert type(app.screen).__name__ == "CustomerScreen"
        await pilot.press("5")
        await pilot.pause()
        assert "Called about billing" in screen_text(app)
        await pilot.press("1", "e")
        await pilot.pause()
        first = app.screen.query_one("#f-first_name")
        first.value = "Renamed"
        await pilot.pause(0.4)
        assert "Renamed" in screen_text(app)  # the preview shows before -> after
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause(0.3)
        assert "Renamed" in screen_text(app)
    row = cache.conn().execute("SELECT first_name FROM customers WHERE id = ?",
                               (customer,)).fetchone()
    assert row[0] == "Renamed"
    audit = cache.conn().execute("SELECT action, outcome, agent FROM audit WHERE customer_id = ?",
                                 (customer,)).fetchall()
    assert {(a["action"], a["outcome"], a["agent"]) for a in audit} >= {
        ("note-add", "applied", "anna"), ("edit", "applied", "anna")}


async def test_note_too_long_is_refused_in_place(online):
    running, db, cache = online
    customer = _customer_with(cache, "SELECT id FROM customers LIMIT 1 OFFSET 2")
    before = cache.conn().execute("SELECT count(*) FROM notes WHERE customer_id = ?",
                                  (customer,)).fetchone()[0]
    app = _app(db, running.url)
    async with app.run_test(size=(80, 24)) as pilot:
        await _open(app, pilot, customer)
        await pilot.press("n")
        await pilot.pause()
        app.screen.query_one("#f-text").text = "x" * 2501
        await pilot.pause(0.4)
        assert "too long" in screen_text(app)
        await pilot.press("ctrl+s")
        await pilot.pause(0.3)
        assert type(app.screen).__name__ == "ActionScreen"
        await pilot.press("escape")
    after = cache.conn().execute("SELECT count(*) FROM notes WHERE customer_id = ?",
                                 (customer,)).fetchone()[0]
    assert after == before
    assert not cache.conn().execute("SELECT count(*) FROM outbox").fetchone()[0]


async def test_anonymize_blocked_rule_is_shown_before_running(online):
    running, db, cache = online
    customer = _customer_with(cache, "SELECT customer_id FROM subscriptions WHERE "
                                     "status = 'active' LIMIT 1")
    app = _app(db, running.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await _open(app, pilot, customer)
        await pilot.press("A")
        await pilot.pause(0.4)
        assert "Blocked by rule" in screen_text(app)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert type(app.screen).__name__ == "ActionScreen"


async def test_offline_action_is_queued_and_shown_pending(online):
    _, db, cache = online
    customer = _customer_with(cache, "SELECT id FROM customers LIMIT 1 OFFSET 4")
    app = _app(db, None)
    async with app.run_test(size=(120, 40)) as pilot:
        await _open(app, pilot, customer)
        await pilot.press("n", *"Offline note")
        await pilot.press("ctrl+s")
        await app.workers.wait_for_complete()
        await pilot.pause(0.3)
        text = screen_text(app)
        assert "pending: note-add" in text and "1 action pending" in text


async def test_viewer_sees_no_action(online):
    _, db, cache = online
    customer = _customer_with(cache, "SELECT id FROM customers LIMIT 1")
    app = _app(db, None, role="viewer")
    async with app.run_test(size=(120, 40)) as pilot:
        await _open(app, pilot, customer)
        await pilot.press("n", "e", "A")
        await pilot.pause()
        assert type(app.screen).__name__ == "CustomerScreen"
        assert "Add note" not in screen_text(app)

"""No failure in background work closes the console (issue 12): each worker group is made
to fail inside the real app — search, a count, sync, an action — and the app stays open,
tells the failure in plain text and keeps taking keys.

The faults are injected where the work meets what it depends on (the cache's answers, the
UI callback after a sync); the rest runs for real, over loopback HTTP where an API is used.
"""

from __future__ import annotations

import ast
import sqlite3
from pathlib import Path

import pytest

from srm_tui.app import SrmApp
from srm_tui.config import load_settings
from srm_tui.storage.cache import Cache
from srm_tui.widgets.customer_table import CustomerTable
from tests.conftest import AS_OF
from tests.helpers import screen_text
from tests.ui_keys import name, searched, type_text, until

NOW = "2026-11-01T00:00:00Z"
SCREENS = Path(__file__).resolve().parents[2] / "srm_tui"


@pytest.fixture(scope="module")
def db(seeded_cache):
    return seeded_cache(150, 7)


def _app(db, **kw) -> SrmApp:
    settings = load_settings(db=str(db), agent="anna", role="agent", now=NOW, **kw)
    return SrmApp(settings, Cache(db), sync_on_start=False)


def _notices(app) -> str:
    return "\n".join(str(n.message) for n in app._notifications)


def _failing(*_args, **_kwargs):
    raise sqlite3.OperationalError("disk I/O error")


async def _still_usable(app, pilot) -> None:
    """The console is open and answers keys: help (F1, whatever has focus) opens and
    closes."""
    assert app.is_running and app.return_code is None
    await pilot.press("f1")
    await pilot.pause()
    assert name(app) == "HelpScreen"
    await pilot.press("escape")
    await pilot.pause()
    assert name(app) != "HelpScreen"


async def test_a_failed_search_is_shown_in_place_and_the_list_keeps_working(db, monkeypatch):
    import srm_tui.storage.reads.customers as customers

    real = customers.Results
    monkeypatch.setattr(customers, "Results", _failing)
    app = _app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("slash")
        await type_text(pilot, "anna")
        await until(pilot, searched(app, "anna"), "the failed search shown")
        assert app.is_running
        text = screen_text(app)
        assert "the search failed: disk I/O error" in text
        assert "Search failed: OperationalError: disk I/O error" in _notices(app)
        assert app.screen.query_one(CustomerTable).count == 0  # no stale rows beside it
        monkeypatch.setattr(customers, "Results", real)
        await pilot.press("ctrl+a", "ctrl+k")
        await type_text(pilot, "country:pl")
        await until(pilot, searched(app, "country:pl"), "the results of country:pl")
        assert "found" in screen_text(app) and app.screen.query_one(CustomerTable).count > 0
        await _still_usable(app, pilot)


async def test_hostile_search_terms_never_close_the_console(db):
    """`/` then `email:-` closed the console (OperationalError near ")")."""
    app = _app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        for query in ("email:-", "email:\x1b 0", "email:'", "email:)", "email:*", "id:" + "9" * 26):
            await pilot.press("slash", "ctrl+a", "ctrl+k")
            await type_text(pilot, query.replace("\x1b", ""))
            app.screen.query_one("#search").value = query  # ESC itself cannot be typed
            await pilot.press("enter")
            await until(pilot, searched(app, query), f"the answer to {query!r}")
            assert app.is_running, query
            text = screen_text(app)
            assert "⚠ " in text and f"{query.split(':')[0]}:" in text, (query, text)
            assert app.screen.query_one(CustomerTable).count == 0
        await _still_usable(app, pilot)


async def test_a_failed_count_keeps_the_console(db, monkeypatch):
    from srm_tui.storage import queries

    monkeypatch.setattr(queries, "offer_holders", _failing)
    app = _app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f4")  # the catalogue counts each offer's holders in the background
        await until(
            pilot, lambda: "Counting offer holders failed" in _notices(app), "the failed count told"
        )
        assert app.is_running
        assert "Counting offer holders failed: OperationalError: disk I/O error" in _notices(app)
        assert name(app) == "OffersScreen"
        await pilot.press("f2")
        await pilot.pause()
        assert name(app) == "CustomersScreen"
        await _still_usable(app, pilot)


async def test_a_failed_sync_keeps_the_console_and_says_so(tmp_path, monkeypatch):
    from srm_tui.sandbox.runner import start_in_thread
    from srm_tui.sandbox.server import create_app
    from srm_tui.sandbox.state import SandboxState

    running = start_in_thread(create_app(SandboxState.generate(40, 3, AS_OF, advance_clock=False)))
    try:
        app = _app(tmp_path / "c.db", api_url=running.url, api_key="sandbox-key")
        # The sync itself runs; showing its result fails (a corrupt page read on reload).
        monkeypatch.setattr(app, "_reload_screen", _failing)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("ctrl+r")
            await until(pilot, lambda: "Sync failed" in _notices(app), "the failed sync told")
            assert app.is_running
            assert "Sync failed: OperationalError: disk I/O error" in _notices(app)
            assert "sync failed: disk I/O error" in app.status_text
            await _still_usable(app, pilot)
    finally:
        running.stop()


async def test_a_failed_action_keeps_the_dialog_usable(db, monkeypatch):
    from srm_tui.actions.service import ActionService

    customer_id = (
        Cache(db)
        .conn()
        .execute("SELECT id FROM customers WHERE email IS NOT NULL LIMIT 1 OFFSET 3")
        .fetchone()[0]
    )
    # Running the action fails with what no dialog expects (the cache went away).
    monkeypatch.setattr(ActionService, "run", _failing)
    app = _app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("slash")
        await type_text(pilot, str(customer_id))
        await pilot.press("enter")
        await until(pilot, lambda: name(app) == "CustomerScreen", "the customer opened")
        await pilot.press("n")
        await pilot.pause()
        await type_text(pilot, "called back")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: "The action failed" in _notices(app), "the failed action told")
        assert app.is_running
        assert "The action failed: OperationalError: disk I/O error" in _notices(app)
        assert "Sync & outbox" in _notices(app)
        assert name(app) == "ActionScreen" and not app.screen.running  # it takes keys again
        assert "✘ disk I/O error" in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        if name(app) == "ConfirmDialog":  # leaving a form with typed text asks first
            await pilot.press("y")
            await pilot.pause()
        assert name(app) == "CustomerScreen"
        await _still_usable(app, pilot)


def test_every_background_job_reports_its_failure():
    """Every worker of the console comes from srm_tui.screens.workers (``work`` or
    ``run_reported``: never fatal, always reported), so one added later cannot close the app
    either."""
    offenders = []
    for path in [
        SCREENS / "app.py",
        *sorted((SCREENS / "screens").glob("*.py")),
        *sorted((SCREENS / "widgets").glob("*.py")),
    ]:
        if path.name == "workers.py":  # the one place that wraps Textual's workers
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module == "textual"
                and any(a.name == "work" for a in node.names)
            ):
                offenders.append(f"{path.name}:{node.lineno}: from textual import work")
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "run_worker"
            ):
                offenders.append(f"{path.name}:{node.lineno}: run_worker")
    assert offenders == []

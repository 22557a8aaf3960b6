"""The console on the team's PostgreSQL store (issue 15), opened the way `srm --db
postgresql://…` opens it (runtime.open_console_store): a search, a customer read tab by tab
(1-6) with the same text as the console shows on the SQLite copy of the same data, a note added
by keys (queued in the team's outbox, the store's audit naming the login); a viewer login's
note key says the role is read only.
"""

from __future__ import annotations

import psycopg
import pytest

from srm_tui import runtime
from srm_tui.app import SrmApp
from srm_tui.config import load_settings
from tests.helpers import screen_text, status_line
from tests.ui_keys import name, open_customer, run_confirmed, settle, type_text

NOW = "2026-11-01T00:00:00Z"
CUSTOMERS, SEED = 60, 5


def console(db: str) -> SrmApp:
    settings, store = runtime.open_console_store(
        load_settings(db=db, now=NOW, agent="anna", role="agent")
    )
    return SrmApp(settings, store, sync_on_start=False)


def _customer(url: str) -> tuple[int, str]:
    """A customer with notes and transactions, so every tab has rows."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT c.id, c.last_name FROM customers c WHERE c.last_name IS NOT NULL "
            "AND EXISTS (SELECT 1 FROM transactions t WHERE t.customer_id = c.id) "
            "AND EXISTS (SELECT 1 FROM notes n WHERE n.customer_id = c.id) ORDER BY c.id LIMIT 1"
        ).fetchone()


async def _read_tabs(app: SrmApp, customer_id: int, last_name: str) -> list[str]:
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.press("slash")
        await type_text(pilot, last_name)
        await settle(pilot)
        assert last_name in screen_text(app)
        await open_customer(pilot, customer_id)
        tabs = []
        for key in "123456":
            await pilot.press(key)
            await settle(pilot, 0.1)
            assert name(app) == "CustomerScreen"
            # The status line (the clock, the store) is the app's, not the customer's.
            tabs.append("\n".join(screen_text(app).splitlines()[:-2]))
        app.exit()
    return tabs


async def test_the_customer_reads_as_on_the_cache(pg_store, seeded_cache):
    url = pg_store(CUSTOMERS, SEED)
    customer_id, last_name = _customer(url)
    on_pg = await _read_tabs(console(url), customer_id, last_name)
    on_sqlite = await _read_tabs(
        console(str(seeded_cache(CUSTOMERS, SEED))), customer_id, last_name
    )
    assert on_pg == on_sqlite
    assert str(customer_id) in on_pg[0]
    assert len(set(on_pg)) == 6  # six different tabs were read


async def test_an_agent_adds_a_note_by_keys(pg_store, pg_login):
    url = pg_store(CUSTOMERS, SEED)
    agent = pg_login(url, "srm_agent")
    customer_id, _ = _customer(url)
    app = console(agent)
    async with app.run_test(size=(140, 45)) as pilot:
        await open_customer(pilot, customer_id)
        await pilot.press("5", "n")
        await type_text(pilot, "called back, all good")
        await run_confirmed(pilot)
        assert name(app) == "CustomerScreen"
        app.exit()
    with psycopg.connect(url) as conn:
        queued = conn.execute(
            "SELECT action, customer_id, agent, status FROM outbox ORDER BY id"
        ).fetchall()
        audit = conn.execute("SELECT agent, db_user, outcome FROM audit ORDER BY id").fetchall()
    assert queued == [("note-add", customer_id, "anna", "pending")]
    login = agent.split("//", 1)[1].split("@", 1)[0]
    assert audit == [("anna", login, "queued")]


async def test_a_viewer_login_reads_and_the_note_key_says_read_only(pg_store, pg_login):
    url = pg_store(CUSTOMERS, SEED)
    viewer = pg_login(url, "srm_viewer")
    customer_id, _ = _customer(url)
    app = console(viewer)
    assert app.settings.role == "viewer"  # the login's standing, though "agent" was asked
    async with app.run_test(size=(140, 45)) as pilot:
        await open_customer(pilot, customer_id)
        await pilot.press("5")
        await settle(pilot, 0.1)
        await pilot.press("n")
        await pilot.pause()
        assert name(app) == "CustomerScreen"
        notices = " ".join(str(n.message) for n in app._notifications)
        assert "Add note: the viewer role is read only" in notices, notices
        app.exit()
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0


async def test_an_agent_console_pushes_but_leaves_the_pull_to_the_team_sync(pg_store, pg_login):
    """An agent's console with the API configured sends the team's queued actions but never
    pulls into the store (its vendor records are the writer's): no "sync failed: this login may
    not write" on the status line, which says whose sync the records come from instead."""
    from tests.helpers import SandboxProcess

    url = pg_store(CUSTOMERS, SEED)
    agent = pg_login(url, "srm_agent")
    customer_id, _ = _customer(url)
    sandbox = SandboxProcess(
        "--customers", str(CUSTOMERS), "--seed", str(SEED), "--as-of", NOW, "--api-key", "k"
    )
    try:
        settings, store = runtime.open_console_store(
            load_settings(
                db=agent, now=NOW, agent="anna", role="agent", api_url=sandbox.url, api_key="k"
            )
        )
        app = SrmApp(settings, store, sync_on_start=False)
        async with app.run_test(size=(140, 45)) as pilot:
            await open_customer(pilot, customer_id)
            await pilot.press("5", "n")
            await type_text(pilot, "pushed by the console")
            await run_confirmed(pilot)
            app.background_sync()
            await app.workers.wait_for_complete()
            await settle(pilot)
            status = status_line(app)
            assert "sync failed" not in status and "by the team's srm sync" in status, status
            app.exit()
        notes = [
            n
            for n in sandbox.export()["notes"]
            if n["customerId"] == customer_id and "pushed by the console" in str(n)
        ]
    finally:
        sandbox.stop()
    assert len(notes) == 1
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT status FROM outbox").fetchall() == [("sent",)]


async def test_a_note_the_team_sync_brings_appears_on_an_open_console(pg_store, pg_login):
    """Another agent's note, brought into the store by the team's sync while this agent has the
    customer's Notes tab open, appears there without a key pressed (the console reads the team
    store again every TEAM_RELOAD_EVERY seconds; shortened here, waited for with a generous
    bound, never timed)."""
    import time

    from srm_tui.domain import models as m
    from srm_tui.storage import records
    from srm_tui.storage.db import open_store

    url = pg_store(CUSTOMERS, SEED)
    agent = pg_login(url, "srm_agent")
    customer_id, _ = _customer(url)
    app = console(agent)
    app.TEAM_RELOAD_EVERY = 0.2
    async with app.run_test(size=(140, 45)) as pilot:
        await open_customer(pilot, customer_id)
        await pilot.press("5")
        await settle(pilot, 0.1)
        assert "Refund promised by Olu" not in screen_text(app)
        writer = open_store(url)
        try:
            with writer.transaction(vendor=True) as tx:
                note = m.Note(
                    id=987654,
                    customerId=customer_id,
                    author="olu",
                    text="Refund promised by Olu",
                    createdAt=int(time.time()) - 60,
                )
                records.upsert(tx, "notes", [note], int(time.time()))
        finally:
            writer.close()
        for _ in range(200):  # up to ~20 s on a busy machine; usually the next reload
            await pilot.pause(0.1)
            if "Refund promised by Olu" in screen_text(app):
                break
        assert "Refund promised by Olu" in screen_text(app)
        app.exit()


@pytest.fixture(autouse=True)
def _close_stores(monkeypatch):
    """Every store the tests open is closed after them (its pool's connections end)."""
    opened: list = []
    real = runtime.open_cache

    def tracked(*args, **kwargs):
        opened.append(real(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(runtime, "open_cache", tracked)
    yield
    for store in opened:
        store.close()

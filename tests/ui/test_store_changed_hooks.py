"""What the console does with a StoreChanged (the team store's change feed; the feed itself is
tested on a real server in tests/integration/test_change_feed.py and tests/ui/
test_team_changes_ui.py): the customer screen reads its customer again only when the changes
may name it, the list reads itself again for the team sync's pages at most once per quiet
period however many arrive, and a form open on top is never touched. Run on a seeded SQLite
cache with the messages posted as the feed's thread posts them.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest

from srm_tui.screens import customers as customers_screen
from srm_tui.widgets.customer_table import CustomerTable
from srm_tui.widgets.workers import StoreChanged
from tests.ui_keys import make_app, name, open_customer, settle, type_text


def _changed(*ids: int, kind: str = "outbox", any_customer: bool = False) -> StoreChanged:
    return StoreChanged(
        frozenset(ids),
        frozenset({kind}),
        any_customer=any_customer,
        vendor=kind.startswith("sync:"),
    )


def _count_reloads(screen) -> list[int]:
    calls: list[int] = []
    real = screen.action_reload

    def counted() -> None:
        calls.append(1)
        real()

    screen.action_reload = counted  # the hooks call self.action_reload()
    return calls


@pytest.fixture
def cache(seeded_cache):
    return seeded_cache(20, 3)


@pytest.fixture
def app(cache):
    return make_app(cache)


async def test_the_customer_reloads_only_when_named(app, cache):
    with closing(sqlite3.connect(cache)) as conn:
        customer_id = conn.execute("SELECT min(id) FROM customers").fetchone()[0]
    async with app.run_test(size=(140, 45)) as pilot:
        await settle(pilot, 0.1)
        await open_customer(pilot, customer_id)
        screen = app.screen
        reloads = _count_reloads(screen)
        for message, expected in (
            (_changed(customer_id + 1), 0),  # another customer
            (_changed(kind="segments"), 0),  # nothing of customers
            (_changed(customer_id, kind="notes"), 1),
            (_changed(kind="sync:customers", any_customer=True), 2),  # too many to name
        ):
            app.post_message(message)
            await pilot.pause()
            assert len(reloads) == expected, message.kinds

        # A form open over the customer is left alone; the customer is read on its return.
        await pilot.press("5", "n")
        await pilot.pause()
        form = app.screen
        assert form is not screen
        app.post_message(_changed(customer_id, kind="notes"))
        await pilot.pause()
        assert app.screen is form and len(reloads) == 2
        await pilot.press("escape")
        await pilot.pause()
        if name(app) == "ConfirmDialog":
            await pilot.press("y")
            await pilot.pause()
        assert app.screen is screen and len(reloads) == 3  # on_screen_resume
        app.exit()


async def test_the_list_reads_the_team_syncs_pages_once_per_quiet_period(app, monkeypatch):
    monkeypatch.setattr(customers_screen, "STORE_RELOAD_EVERY", 3600.0)  # no timer fires here
    async with app.run_test(size=(140, 45)) as pilot:
        await settle(pilot, 0.1)
        screen = app.screen
        assert name(app) == "CustomersScreen"
        reloads = _count_reloads(screen)
        app.post_message(_changed(7, kind="notes"))  # not the list's: no reload
        await pilot.pause()
        assert reloads == []
        for _ in range(5):
            app.post_message(_changed(kind="sync:customers", any_customer=True))
        await pilot.pause()
        assert len(reloads) == 1  # the first at once, the rest wait for the quiet period
        screen._store_quiet.stop()
        screen._store_quiet_over()  # the quiet period is over: the waiting ones, once
        assert len(reloads) == 2
        screen._store_quiet.stop()
        screen._store_quiet_over()  # nothing came meanwhile: no reload
        assert len(reloads) == 2 and screen._store_quiet is None
        app.exit()


async def test_a_search_read_again_for_the_store_keeps_the_agents_row(app, monkeypatch):
    """A sync's page reads the shown search again (the same query): the cursor stays on the
    row the agent was on, where a newly typed query starts at the top."""
    monkeypatch.setattr(customers_screen, "STORE_RELOAD_EVERY", 3600.0)
    async with app.run_test(size=(140, 45)) as pilot:
        await settle(pilot, 0.1)
        await pilot.press("slash")
        await type_text(pilot, "a")
        await settle(pilot)
        table = app.screen.query_one(CustomerTable)
        assert table.count > 4
        table.focus()
        await pilot.press("down", "down", "down")
        await pilot.pause()
        assert table.cursor == 3
        app.post_message(_changed(kind="sync:customers", any_customer=True))
        await pilot.pause()
        await settle(pilot)
        assert app.screen.query_one(CustomerTable) is table and table.cursor == 3
        app.screen._store_quiet.stop()
        app.exit()


async def test_a_read_failing_on_a_change_is_told_and_the_console_stays(app, cache):
    with closing(sqlite3.connect(cache)) as conn:
        customer_id = conn.execute("SELECT min(id) FROM customers").fetchone()[0]
    async with app.run_test(size=(140, 45)) as pilot:
        await settle(pilot, 0.1)
        await open_customer(pilot, customer_id)
        screen = app.screen

        def lost() -> None:
            raise RuntimeError("the store went away")

        screen.action_reload = lost
        app.post_message(_changed(customer_id, kind="notes"))
        await pilot.pause()
        notices = " ".join(str(n.message) for n in app._notifications)
        assert "Listening for the team's changes failed" in notices, notices
        assert "the store went away" in notices
        assert app.is_running and app.screen is screen
        app.exit()

"""The console, driven by keys through the real app on a seeded cache."""

from __future__ import annotations

import json

import pytest

from srm_tui.app import SrmApp
from srm_tui.config import load_settings
from srm_tui.domain import models as m
from srm_tui.sandbox.seed import seed_cache
from srm_tui.storage import records
from srm_tui.storage.cache import Cache
from srm_tui.widgets.customer_table import CustomerTable
from tests.conftest import AS_OF
from tests.helpers import screen_text


@pytest.fixture
def seeded(tmp_path):
    db = tmp_path / "c.db"
    cache = Cache(db)
    seed_cache(cache, 400, 5, AS_OF)
    hostile = m.Customer.model_validate({
        "id": 100, "email": "hostile@example.com", "firstName": "[bold red]x[/]",
        "lastName": "Evil\x1b[31mRed", "regDate": "2020-01-01 00:00:00"})
    with cache.transaction() as tx:
        records.upsert(tx, "customers", [hostile], 0)
    yield db, cache
    cache.close()


def _app(db):
    settings = load_settings(db=str(db), now="2026-11-01T00:00:00Z", agent="tester")
    return SrmApp(settings, Cache(db))


async def test_list_pages_moves_and_opens(seeded):
    db, cache = seeded
    app = _app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(CustomerTable)
        assert table.count == 401
        assert table.held_rows <= 40 + 2 * table.MARGIN
        await pilot.press("j", "j", "k")
        assert table.cursor == 1
        await pilot.press("G")
        assert table.cursor == 400
        assert table.held_rows <= 40 + 2 * table.MARGIN
        await pilot.press("g")
        assert table.cursor == 0
        first_id = table.selected()["id"]
        await pilot.press("enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "CustomerScreen"
        assert app.screen.customer_id == first_id
        await pilot.press("escape")
        assert type(app.screen).__name__ == "CustomersScreen"
        assert "offline (no API configured)" in app.status_text


async def test_sort_cycles_and_reverses(seeded):
    db, cache = seeded
    app = _app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        table = screen.query_one(CustomerTable)
        await pilot.press("s")
        assert screen.sort == "registered_at"
        await pilot.press("S")
        first = table.selected()
        newest = cache.conn().execute("SELECT max(registered_at) FROM customers").fetchone()[0]
        assert first["registered_at"] == newest


async def test_hostile_names_render_as_literal_text(seeded):
    db, cache = seeded
    app = _app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter")  # id order: the hostile customer (id 100) is first
        await pilot.pause()
        shown = screen_text(app)
        assert "[bold red]x[/]" in shown
        assert "Evil\\x1b[31mRed" in shown
        assert "\x1b" not in shown
        await pilot.press("escape")
        listed = screen_text(app)
        assert "hostile@example.com" in listed

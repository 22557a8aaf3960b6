"""SVG snapshots of the console at 80x24 and 120x40, with fixed data and a fixed clock."""

from __future__ import annotations

import pytest

from srm_tui.app import SrmApp
from srm_tui.config import load_settings
from srm_tui.sandbox.seed import seed_cache
from srm_tui.storage.cache import Cache
from tests.conftest import AS_OF

SIZES = [(80, 24), (120, 40)]


@pytest.fixture(scope="module")
def snapshot_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("snap") / "c.db"
    cache = Cache(db)
    seed_cache(cache, 300, 2, AS_OF)
    cache.close()
    return db


def _app(db):
    settings = load_settings(db=str(db), now="2026-11-01T00:10:00Z", agent="anna",
                             theme="textual-dark")
    return SrmApp(settings, Cache(db), sync_on_start=False)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_customer_list(snap_compare, snapshot_db, size):
    assert snap_compare(_app(snapshot_db), terminal_size=size, press=["j", "j"])


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_search_results(snap_compare, snapshot_db, size):
    async def type_query(pilot):
        await pilot.press("slash", *"anna")
        await pilot.press("enter")  # runs the search now, without waiting for the debounce
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        screen = pilot.app.screen
        screen.search_ms = 1.0  # the measured time varies run to run; the layout must not
        screen._update_headings()
        await pilot.pause()

    assert snap_compare(_app(snapshot_db), terminal_size=size, run_before=type_query)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_help(snap_compare, snapshot_db, size):
    assert snap_compare(_app(snapshot_db), terminal_size=size, press=["question_mark"])


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("tab", ["1", "2", "3"])
def test_customer_screen(snap_compare, snapshot_db, size, tab):
    async def open_customer(pilot):
        await pilot.press("j", "j", "enter")
        await pilot.pause()
        await pilot.press(tab)
        await pilot.pause()

    assert snap_compare(_app(snapshot_db), terminal_size=size, run_before=open_customer)

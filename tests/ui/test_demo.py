"""`srm` with no configuration: the in-process sandbox, a synced demo cache, the DEMO marker.

How long the first start takes is measured in bench/ (bench_console.py), never asserted here:
a test may not depend on the machine's speed."""

from __future__ import annotations

from srm_tui import runtime
from srm_tui.app import SrmApp
from srm_tui.config import load_settings
from srm_tui.widgets.customer_table import CustomerTable
from tests.helpers import screen_text


async def test_demo_first_start_syncs_and_later_starts_open_at_once():
    settings = load_settings()
    assert settings.is_demo
    app = SrmApp(settings, runtime.open_cache(settings))
    async with app.run_test(size=(120, 40)) as pilot:
        assert "DEMO" in app.status_text
        await app.workers.wait_for_complete()
        await pilot.pause()
        table = app.screen.query_one(CustomerTable)
        assert table.count == runtime.DEMO_CUSTOMERS
        assert "DEMO · online · synced just now" in screen_text(app)
    assert runtime.demo_db_path().exists() and runtime.demo_state_path().exists()

    # The second start shows the cache before any network work.
    again = SrmApp(load_settings(), runtime.open_cache(load_settings()))
    async with again.run_test(size=(80, 24)) as pilot:
        assert again.screen.query_one(CustomerTable).count == runtime.DEMO_CUSTOMERS
        await again.workers.wait_for_complete()

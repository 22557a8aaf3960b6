"""`srm` with no configuration: the in-process sandbox, a synced demo cache, the DEMO marker.

How long the first start takes is measured in bench/ (bench_console.py), never asserted here:
a test may not depend on the machine's speed."""

from __future__ import annotations

import sqlite3
import time

from srm_tui import runtime
from srm_tui.app import SrmApp
from srm_tui.config import load_settings
from srm_tui.widgets.customer_table import CustomerTable
from tests.helpers import screen_text
from tests.ui_keys import open_customer, run_confirmed, type_text


def _note_times(customer_id: int) -> dict[int, int]:
    with sqlite3.connect(f"file:{runtime.demo_db_path()}?mode=ro", uri=True) as db:
        rows = db.execute(
            "SELECT id, created_at FROM notes WHERE customer_id = ?", (customer_id,)
        ).fetchall()
    return dict(rows)


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
        # Issue 12: what an agent does in the demo is dated by the real clock (a note added at
        # 20:07 read 00:07 when the demo's sandbox ran on a clock of its own).
        with sqlite3.connect(f"file:{runtime.demo_db_path()}?mode=ro", uri=True) as db:
            customer_id = db.execute("SELECT min(id) FROM customers").fetchone()[0]
        before = _note_times(customer_id)
        started = int(time.time())
        await open_customer(pilot, customer_id)
        await pilot.press("5", "n")
        await pilot.pause()
        await type_text(pilot, "Called about the renewal")
        await run_confirmed(pilot)
        new = {k: v for k, v in _note_times(customer_id).items() if k not in before}
        assert len(new) == 1, new
        assert started <= next(iter(new.values())) <= time.time()
    assert runtime.demo_db_path().exists() and runtime.demo_state_path().exists()

    # The second start shows the cache before any network work.
    again = SrmApp(load_settings(), runtime.open_cache(load_settings()))
    async with again.run_test(size=(80, 24)) as pilot:
        assert again.screen.query_one(CustomerTable).count == runtime.DEMO_CUSTOMERS
        await again.workers.wait_for_complete()

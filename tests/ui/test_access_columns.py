"""The Payments tab's subscriptions and passes at 80 columns: the id, state and end date
stay whole; the offer's title is cut and the channel and renewals give way (found in a user
run: 'Until' showed one digit and the price '39.99 P')."""

from __future__ import annotations

from textual.widgets import DataTable

from srm_tui.app import SrmApp
from srm_tui.config import load_settings
from srm_tui.storage.cache import Cache


async def test_the_access_table_keeps_its_key_columns_whole_at_80_columns(seeded_cache):
    db = seeded_cache(60, 3)
    app = SrmApp(load_settings(db=str(db), now="2026-11-01T00:00:00Z"), Cache(db))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("2")
        await pilot.pause()
        table = app.screen.query_one("#access-table", DataTable)
        labels = [str(c.label) for c in table.columns.values()]
        assert labels[:1] == ["ID"] and {"State", "Until"} <= set(labels)
        assert sum(c.get_render_width(table) for c in table.columns.values()) <= 80 - 4
        until = labels.index("Until")
        for row in range(table.row_count):
            cell = table.get_cell_at((row, until))
            text = getattr(cell, "plain", str(cell))
            assert "…" not in text and len(text) >= 6, text  # a whole day or "no end"

"""A first sync (the demo's first start) shows the customers written so far while the rest
come: the empty list is read again as customer pages land (SrmApp._show_arrived, called from
the sync's progress), not only once every customer is in. A list that already showed
customers, or a search, is left alone until the customers are all in, as before."""

from __future__ import annotations

from srm_tui.sandbox.seed import seed_cache
from srm_tui.storage.cache import Cache
from srm_tui.widgets.customer_table import CustomerTable
from tests.conftest import AS_OF
from tests.ui_keys import make_app


async def test_an_empty_list_shows_the_customers_a_first_sync_has_written(tmp_path):
    db = tmp_path / "c.db"
    Cache(db).close()
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(CustomerTable)
        assert table.count == 0
        writer = Cache(db)  # the sync's own connection writes the first pages
        seed_cache(writer, 40, 5, AS_OF, bulk=False)
        writer.close()
        app._filling = None  # a sync's first customers page
        app._show_arrived()
        await pilot.pause()
        assert table.count == 40


async def test_a_list_that_showed_customers_waits_for_the_end_of_the_customers(seeded_cache):
    db = seeded_cache(60, 3)
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(CustomerTable)
        assert table.count == 60
        writer = Cache(db)
        seed_cache(writer, 70, 3, AS_OF)  # ten more customers written by the sync
        writer.close()
        app._filling = None
        app._show_arrived()
        await pilot.pause()
        assert table.count == 60  # not reloaded mid-sync: the list was not empty
        app._reload_screen()  # the end of the customers reloads it, as before
        await pilot.pause()
        assert table.count == 70

"""A sync that reloads the screen in view while a customer screen is still being built
(the crash harness's console session found it): the reload waits for that screen's own
first read, instead of failing the sync with "No nodes match '#summary-body'"."""

from __future__ import annotations

from srm_tui.app import SrmApp
from srm_tui.config import load_settings
from srm_tui.sandbox.seed import seed_cache
from srm_tui.screens.customer import CustomerScreen
from srm_tui.storage.cache import Cache
from tests.conftest import AS_OF
from tests.helpers import screen_text


async def test_a_sync_reload_while_a_customer_screen_opens_is_no_failure(tmp_path):
    path = tmp_path / "c.db"
    cache = Cache(path)
    seed_cache(cache, 20, 3, AS_OF)
    customer = cache.conn().execute("SELECT id FROM customers ORDER BY id LIMIT 1").fetchone()[0]
    cache.close()
    settings = load_settings(db=str(path), agent="anna", now=AS_OF)
    app = SrmApp(settings, Cache(path), sync_on_start=False)
    async with app.run_test(size=(120, 40)) as pilot:
        # What Enter on a result and a sync's "customers are in" do in one turn of the
        # loop: the customer screen is pushed, and the screen in view is reloaded before
        # the new one has composed its tabs.
        app.push_screen(CustomerScreen(customer))
        app._reload_screen()
        await pilot.pause()
        assert isinstance(app.screen, CustomerScreen)
        assert str(customer) in screen_text(app)
        assert app.crashed is None

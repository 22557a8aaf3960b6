"""srm.tcss is parsed once per theme, however many widget classes the console mounts
(srm_tui/widgets/css_once.py); a theme change still restyles the screen."""

from __future__ import annotations

from srm_tui.app import SrmApp
from srm_tui.config import load_settings
from srm_tui.storage.cache import Cache
from srm_tui.widgets import css_once

SHEET = str(SrmApp.CSS_PATH)


async def test_the_stylesheet_is_parsed_once_per_theme(seeded_cache):
    db = seeded_cache(60, 3)
    css_once._memo.clear()
    css_once.parsed.clear()
    app = SrmApp(load_settings(db=str(db), now="2026-11-01T00:00:00Z"), Cache(db))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        # Textual re-parses every source at each new widget class: five times before this.
        assert css_once.parsed[SHEET] == 1
        for key in ("f3", "f4", "f5", "f2"):  # every mode's screen mounts its widget classes
            await pilot.press(key)
            await pilot.pause()
        await pilot.press("enter")  # a customer: tabs, tables, the footer's keys
        await pilot.pause()
        assert type(app.screen).__name__ == "CustomerScreen"
        assert css_once.parsed[SHEET] == 1

        before = app.screen.styles.background
        app.theme = "textual-light"
        await pilot.pause()
        assert css_once.parsed[SHEET] == 2  # new variables, new rules
        assert app.screen.styles.background != before
        app.theme = "textual-dark"
        await pilot.pause()
        assert css_once.parsed[SHEET] == 2  # the first theme's rules are kept
        assert app.screen.styles.background == before

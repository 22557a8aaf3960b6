"""Enter on a localization row opens it to be edited: the cursor at the end of its title, not
the title selected whole so that the first letter typed replaces it (found in a user run)."""

from __future__ import annotations

from textual.widgets import Input

from tests.helpers import screen_text
from tests.ui_keys import make_app, name, settle, type_text, until


async def test_enter_on_a_localization_edits_its_title_at_the_end(synced):
    _running, state, db, _cache = synced
    offer = next(o for o in state.all("offers") if o["localizations"])
    loc = offer["localizations"][0]
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f4")
        await until(pilot, lambda: name(app) == "OffersScreen", "the offers catalogue")
        await pilot.press("slash")
        await type_text(pilot, offer["id"])
        await pilot.press("enter", "enter")
        await until(pilot, lambda: name(app) == "OfferScreen", "the offer")
        table = app.screen.query_one("#localizations")
        assert app.focused is table
        row = [str(table.get_row_at(i)[0]) for i in range(table.row_count)].index(
            loc["countryCode"]
        )
        await pilot.press("ctrl+home", *["down"] * row, "enter")
        await until(pilot, lambda: name(app) == "LocalizationEditorScreen", "the localization")
        title = app.screen.query_one("#f-title", Input)
        assert app.focused is title, screen_text(app)
        before = title.value
        assert before  # a localization's title, to be edited, not retyped
        assert title.selection.is_empty and title.cursor_position == len(before)
        await type_text(pilot, " 2027")
        assert title.value == before + " 2027"
        # Tab moves on and, as in any form, selects the next field whole to be retyped.
        await pilot.press("tab")
        nxt = app.focused
        if isinstance(nxt, Input) and nxt.value:
            assert nxt.selection == (0, len(nxt.value))

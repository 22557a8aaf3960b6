"""The offer form is built once per set of fields and refilled for the next offer
(screens/offer_editor.open_form). Refilled, it must be that offer's form and nothing of the
last one: its values, crumbs and checks, no problem mark, the cursor at the end of the first
field, and a leave that asks only when something changed since this open. Keys in the real
app, on a seeded cache."""

from __future__ import annotations

import pytest

from srm_tui.app import SrmApp
from srm_tui.config import load_settings
from srm_tui.storage.cache import Cache
from tests.helpers import screen_text
from tests.ui_keys import name, until

NOW = "2026-11-01T00:00:00Z"


@pytest.fixture
def db(seeded_cache):
    return seeded_cache(150, 7)


def _two_subscriptions(db) -> list[tuple[str, str]]:
    from srm_tui.storage.payload import decode_raw

    cache = Cache(db)
    try:
        offers = [decode_raw(r[0]) for r in cache.conn().execute("SELECT raw FROM offers")]
    finally:
        cache.close()
    subs = sorted((o["id"], o.get("title") or "") for o in offers if o["id"].startswith("S"))
    picked = [s for s in subs if s[1]][:2]
    assert len(picked) == 2 and picked[0][1] != picked[1][1], subs
    return picked


async def _open_editor(pilot, offer_id: str) -> None:
    app = pilot.app
    await pilot.press("slash")
    for char in offer_id:
        await pilot.press(char if char.isalnum() else "underscore")
    await pilot.press("enter")  # the table takes the focus
    await until(pilot, lambda: app.screen.query_one("DataTable").row_count == 1, "one row")
    await pilot.press("enter")
    await until(pilot, lambda: name(app) == "OfferScreen", f"offer {offer_id}")
    await pilot.press("e")
    await until(pilot, lambda: name(app) == "OfferEditorScreen", "the editor")
    await pilot.pause()


async def test_a_refilled_form_is_the_next_offers_and_keeps_nothing_of_the_last(db):
    (first_id, first_title), (second_id, second_title) = _two_subscriptions(db)
    settings = load_settings(db=str(db), agent="anna", role="agent", now=NOW)
    app = SrmApp(settings, Cache(db), sync_on_start=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f4")
        await until(pilot, lambda: name(app) == "OffersScreen", "the catalogue")
        await _open_editor(pilot, first_id)
        form = app.screen
        assert form.query_one("#f-title").value == first_title
        # Leave it changed and wrong: a price that is no number.
        form.query_one("#f-price").focus()
        await pilot.pause()
        for char in "zz":
            await pilot.press(char)
        await until(pilot, lambda: "✘" in screen_text(app), "the price's problem shown")
        await pilot.press("escape")
        await until(pilot, lambda: name(app) == "ConfirmDialog", "leave with changes asks")
        await pilot.press("y")
        await until(pilot, lambda: name(app) == "OfferScreen", "back on the offer")
        await pilot.press("escape")
        await until(pilot, lambda: name(app) == "OffersScreen", "back in the catalogue")
        await pilot.press("escape")  # the filter is cleared for the next one
        await pilot.pause()

        await _open_editor(pilot, second_id)
        assert app.screen is form  # refilled, not built again
        title = form.query_one("#f-title")
        assert title.value == second_title
        assert form.query_one("#f-price").value.endswith("zz") is False
        shown = screen_text(app)
        assert f"Offers › {second_id}" in shown and first_id not in shown
        assert "✘" not in shown, shown
        await until(pilot, lambda: app.focused is title, "the first field focused")
        assert title.cursor_position == len(title.value) and not title.selected_text
        # Unchanged since this open: Esc leaves at once.
        await pilot.press("escape")
        await until(pilot, lambda: name(app) == "OfferScreen", "left without a question")
        assert app.screen.offer_id == second_id

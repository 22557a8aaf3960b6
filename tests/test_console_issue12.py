"""What new users hit in the console (issue 12): risks asked about, work kept, keys that
reach where they are aimed, state in the text. Keys pressed in the real app, against the
sandbox over loopback."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from srm_tui.api.client import ApiClient
from srm_tui.sandbox.runner import start_in_thread
from srm_tui.sandbox.server import create_app
from srm_tui.sandbox.state import SandboxState
from srm_tui.storage import queries
from srm_tui.storage.cache import Cache
from srm_tui.sync.engine import SyncEngine
from tests.helpers import screen_text
from tests.ui_keys import make_app, name, settle, type_text

AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)
T0 = int(AS_OF.timestamp())


@pytest.fixture(scope="module")
def sandbox():
    state = SandboxState.generate(60, 9, AS_OF, advance_clock=False)
    running = start_in_thread(create_app(state))
    yield running, state
    running.stop()


@pytest.fixture
def synced(sandbox, tmp_path):
    running, state = sandbox
    db = tmp_path / "c.db"
    cache = Cache(db)
    with ApiClient(running.url, "sandbox-key") as client:
        SyncEngine(cache, client).run()
    yield running, state, db, cache
    cache.close()


def _offer(running, offer_id: str) -> dict:
    with ApiClient(running.url, "sandbox-key") as client:
        offer, _ = client.offer(offer_id)
    return offer


async def _open_offer(pilot, offer_id: str) -> None:
    await pilot.press("f4")
    await settle(pilot)
    await pilot.press("slash")
    await type_text(pilot, offer_id)
    await pilot.press("enter", "enter")
    await settle(pilot)
    assert name(pilot.app) == "OfferScreen"


async def test_switching_off_an_offer_asks_first_naming_its_holders(synced):
    running, state, db, cache = synced
    holders = queries.offer_holders(cache.conn(), T0)
    offer_id, n = max(((o["id"], holders.get(o["id"], 0)) for o in state.all("offers")
                       if o["active"]), key=lambda x: x[1])
    assert n > 1
    app = make_app(db, running.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await _open_offer(pilot, offer_id)
        await pilot.press("a")
        await pilot.pause()
        assert name(app) == "ConfirmDialog"
        assert f"{n:,} customers hold it" in screen_text(app)
        await pilot.press("n")
        await settle(pilot)
        assert name(app) == "OfferScreen"
        assert _offer(running, offer_id)["active"] is True  # nothing sent on "no"
        await pilot.press("a")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
    assert _offer(running, offer_id)["active"] is False


async def test_j_k_g_G_move_the_offers_catalogue_and_season_groups(synced):
    running, state, db, cache = synced
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f4")
        await settle(pilot)
        table = app.screen.query_one("DataTable")
        assert table.row_count > 3 and table.cursor_row == 0
        await pilot.press("j", "j")
        assert table.cursor_row == 2
        await pilot.press("k")
        assert table.cursor_row == 1
        await pilot.press("G")
        assert table.cursor_row == table.row_count - 1
        await pilot.press("g")
        assert table.cursor_row == 0
        # In the filter box the same letters are text.
        await pilot.press("slash")
        await type_text(pilot, "jk")
        assert app.screen.query_one("#filter").value == "jk"
        await pilot.press("escape")
        await pilot.press("S")
        await settle(pilot)
        assert name(app) == "SeasonGroupsScreen"
        groups = app.screen.query_one("DataTable")
        if groups.row_count > 1:
            await pilot.press("G")
            assert groups.cursor_row == groups.row_count - 1
            await pilot.press("g")
            assert groups.cursor_row == 0
            await pilot.press("j")
            assert groups.cursor_row == 1


async def test_note_editor_esc_asks_and_a_long_draft_survives(synced):
    from textual import events

    from tests.ui_keys import open_customer

    running, state, db, cache = synced
    note = next(n for n in state.all("notes") if n["author"] == "anna" and not n["deletedAt"])
    cid = note["customerId"]
    draft = "Called about the invoice. " * 100  # 2,600 characters
    assert len(draft) == 2600
    app = make_app(db, running.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, cid)
        await pilot.press("5", "n")
        await pilot.pause()
        assert name(app) == "ActionScreen"
        await pilot.press("escape")  # nothing typed: esc just leaves
        await pilot.pause()
        assert name(app) == "CustomerScreen"
        await pilot.press("n")
        await pilot.pause()
        app.post_message(events.Paste(draft))
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert name(app) == "ConfirmDialog"
        assert "thrown away" in screen_text(app)
        await pilot.press("n")
        await pilot.pause()
        assert name(app) == "ActionScreen"
        assert app.screen.query_one("TextArea").text == draft
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert name(app) == "CustomerScreen"


async def test_editing_a_note_types_after_the_old_text(synced):
    from tests.ui_keys import open_customer, to_row

    running, state, db, cache = synced
    note = next(n for n in state.all("notes") if n["author"] == "anna" and not n["deletedAt"]
                and n["text"])
    app = make_app(db, running.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, note["customerId"])
        await pilot.press("5")
        await to_row(pilot, "notes-table", str(note["id"]))
        await pilot.press("E")
        await pilot.pause()
        await type_text(pilot, " +1")
        assert app.screen.query_one("TextArea").text == note["text"] + " +1"


async def test_offer_form_esc_asks_only_when_something_was_typed(synced):
    running, state, db, cache = synced
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f4")
        await settle(pilot)
        await pilot.press("n", "1")
        await pilot.pause()
        assert name(app) == "OfferEditorScreen"
        await pilot.press("escape")  # untouched: leaves at once
        await pilot.pause()
        assert name(app) == "OffersScreen"
        await pilot.press("n", "1")
        await type_text(pilot, "Keys Monthly")
        await pilot.press("escape")
        await pilot.pause()
        assert name(app) == "ConfirmDialog"
        await pilot.press("escape")  # no: the form and its text stay
        await pilot.pause()
        assert name(app) == "OfferEditorScreen"
        assert app.screen.query_one("#f-title").value == "Keys Monthly"
        await pilot.press("escape", "y")
        await pilot.pause()
        assert name(app) == "OffersScreen"


async def test_keys_typed_right_after_opening_the_new_offer_form_reach_its_first_field(synced):
    from tests.test_offers_ui import _keys

    running, state, db, cache = synced
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f4")
        await settle(pilot)
        # One read from the terminal: the choice and the title typed straight after it.
        await _keys(pilot, "n", "1", chars="Quick Title")
        await settle(pilot)
        assert name(app) == "OfferEditorScreen"
        assert app.screen.query_one("#f-title").value == "Quick Title"


async def test_checkboxes_and_the_columns_dialog_say_their_state_in_text(synced, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    running, state, db, cache = synced
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("c")  # the customer list's columns dialog
        await pilot.pause()
        assert name(app) == "ColumnsScreen"
        text = screen_text(app)
        assert "[x] " in text and "[ ] " in text and "▐X▌" not in text
        before = text.count("[x] ")
        await pilot.press("space")
        assert screen_text(app).count("[x] ") == before - 1
        await pilot.press("escape")
        await pilot.press("f4")
        await settle(pilot)
        await pilot.press("n", "1")
        await pilot.pause()
        box = app.screen.query_one("#f-giftable")
        assert "[ ] yes" in screen_text(app)
        while app.focused is not box:
            await pilot.press("tab")
        assert "[ ] yes" in screen_text(app)  # focused: still the state, not a border
        await pilot.press("space")
        await pilot.pause()
        assert box.value is True
        assert "[x] yes" in screen_text(app)


async def test_segment_condition_dialog_esc_asks_only_with_changes(synced):
    running, state, db, cache = synced
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f3")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert name(app) == "SegmentBuilderScreen"
        app.screen.query_one("ConditionTree").focus()
        await pilot.press("a")
        await pilot.pause()
        assert name(app) == "ConditionScreen"
        await pilot.press("escape")  # nothing typed: leaves
        await pilot.pause()
        assert name(app) == "SegmentBuilderScreen"
        await pilot.press("a")
        await pilot.pause()
        await type_text(pilot, "country")
        await pilot.press("escape")
        await pilot.pause()
        assert name(app) == "ConfirmDialog"
        await pilot.press("n")
        await pilot.pause()
        assert name(app) == "ConditionScreen"
        assert app.screen.query_one("#attr").value == "country"
        await pilot.press("escape", "y")
        await pilot.pause()
        assert name(app) == "SegmentBuilderScreen"

"""The console, driven by keys through the real app on a seeded cache."""

from __future__ import annotations

import pytest

from srm_tui.app import SrmApp
from srm_tui.config import load_settings
from srm_tui.domain import models as m
from srm_tui.storage import records
from srm_tui.storage.cache import Cache
from srm_tui.widgets.customer_table import CustomerTable
from tests.helpers import screen_text


@pytest.fixture
def seeded(seeded_cache):
    db = seeded_cache(400, 5)
    cache = Cache(db)
    hostile = m.Customer.model_validate(
        {
            "id": 100,
            "email": "hostile@example.com",
            "firstName": "[bold red]x[/]",
            "lastName": "Evil\x1b[31mRed",
            "regDate": "2020-01-01 00:00:00",
        }
    )
    with cache.transaction() as tx:
        records.upsert(tx, "customers", [hostile], 0)
    yield db, cache
    cache.close()


def _app(db):
    settings = load_settings(db=str(db), now="2026-11-01T00:00:00Z", agent="tester")
    return SrmApp(settings, Cache(db))


async def test_list_pages_moves_and_opens(seeded):
    db, cache = seeded
    app = _app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(CustomerTable)
        assert table.count == 401
        assert table.held_rows <= 40 + 2 * table.MARGIN
        await pilot.press("j", "j", "k")
        assert table.cursor == 1
        await pilot.press("G")
        assert table.cursor == 400
        assert table.held_rows <= 40 + 2 * table.MARGIN
        await pilot.press("g")
        assert table.cursor == 0
        first_id = table.selected()["id"]
        await pilot.press("enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "CustomerScreen"
        assert app.screen.customer_id == first_id
        await pilot.press("escape")
        assert type(app.screen).__name__ == "CustomersScreen"
        assert "offline (no API configured)" in app.status_text


async def test_sort_cycles_and_reverses(seeded):
    db, cache = seeded
    app = _app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = app.screen
        table = screen.query_one(CustomerTable)
        await pilot.press("s")
        assert screen.sort == "registered_at"
        await pilot.press("S")
        first = table.selected()
        newest = cache.conn().execute("SELECT max(registered_at) FROM customers").fetchone()[0]
        assert first["registered_at"] == newest


async def test_hostile_names_render_as_literal_text(seeded):
    db, cache = seeded
    app = _app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter")  # id order: the hostile customer (id 100) is first
        await pilot.pause()
        shown = screen_text(app)
        assert "[bold red]x[/]" in shown
        assert "Evil\\x1b[31mRed" in shown
        assert "\x1b" not in shown
        await pilot.press("escape")
        listed = screen_text(app)
        assert "hostile@example.com" in listed


async def test_search_as_you_type_open_and_come_back(seeded):
    db, cache = seeded
    target = (
        cache.conn()
        .execute(
            "SELECT id, email, last_name FROM customers WHERE last_name GLOB '[A-Z]*' "
            "LIMIT 1 OFFSET 7"
        )
        .fetchone()
    )
    app = _app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.screen
        table = screen.query_one(CustomerTable)
        await pilot.press("slash", *target["email"][:-4])
        await pilot.pause(0.4)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.results is not None and screen.results[0]["id"] == target["id"]
        assert "search" in screen_text(app) and target["email"][:20] in screen_text(app)
        await pilot.press("enter")  # one Enter opens the highlighted result
        await pilot.pause()
        assert app.screen.customer_id == target["id"]
        await pilot.press("escape")
        assert app.screen is screen and screen.query_text
        await pilot.press("escape")  # clears the search: the whole list is back
        await pilot.pause()
        assert screen.results is None and table.count == 401


async def test_search_miss_offers_fetch_and_bad_query_says_why(seeded):
    db, _ = seeded
    app = _app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("slash", *"nobody@nowhere.example")
        await pilot.pause(0.4)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "press f to fetch" in screen_text(app).lower()
        search_box = app.screen.query_one("#search")
        search_box.value = ""
        await pilot.press(*"txn:T12")
        await pilot.pause(0.4)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert "txn: a transaction id is T and 9 digits" in screen_text(app)


async def test_palette_jumps_to_a_customer_by_id(seeded):
    db, cache = seeded
    target = cache.conn().execute("SELECT id FROM customers LIMIT 1 OFFSET 33").fetchone()[0]
    app = _app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("colon")
        await pilot.pause()
        await pilot.press(*str(target))
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(0.3)
        assert type(app.screen).__name__ == "CustomerScreen"
        assert app.screen.customer_id == target


async def test_help_lists_bindings_with_the_users_keymap(seeded):
    db, _ = seeded
    settings = load_settings(db=str(db), keymap={"customers.search": "f9"})
    app = SrmApp(settings, Cache(db), sync_on_start=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f9")
        assert app.screen.query_one("#search").has_focus
        await pilot.press("escape", "question_mark")
        await pilot.pause()
        text = screen_text(app)
        assert "customers.search" in text and "f9" in text and "app.quit" in text
        # Each row says what the keys do, beside the id that remaps them.
        row = next(line for line in text.splitlines() if "app.quit" in line)
        assert "ctrl+q" in row and "Quit" in row
        # `/` filters: only matching keys stay, under their place's heading.
        await pilot.press("slash", *"refund")
        await pilot.pause()
        text = screen_text(app)
        assert "customer.refund" in text and "app.quit" not in text
        assert "A customer" in text
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ == "CustomersScreen"


async def test_manage_columns_choose_reorder_and_remember(seeded):
    db, cache = seeded
    app = _app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("c")
        await pilot.pause()
        # The first row is Email: move it below Name, hide Name, show Country (row 9).
        await pilot.press("shift+down")
        await pilot.press("up", "space")  # Name now first: hide it
        for _ in range(9):
            await pilot.press("down")
        await pilot.press("space", "enter")
        await pilot.pause()
        table = app.screen.query_one(CustomerTable)
        assert table.column_keys[0] == "email" and "name" not in table.column_keys
        assert "country" in table.column_keys
        assert "Ctry" in screen_text(app)
    again = _app(db)
    async with again.run_test(size=(120, 40)):
        assert again.screen.query_one(CustomerTable).column_keys == table.column_keys


async def test_copy_id_uses_the_clipboard(seeded):
    db, _ = seeded
    app = _app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("j", "y")
        table = app.screen.query_one(CustomerTable)
        assert app.clipboard == str(table.selected()["id"])
        await pilot.press("Y")
        assert app.clipboard == table.selected()["email"]


async def test_offers_catalogue_filters_and_opens(seeded):
    db, cache = seeded
    app = _app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f4")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        text = screen_text(app)
        total = cache.conn().execute("SELECT count(*) FROM offers").fetchone()[0]
        assert f"Offers › catalogue · {total} of {total}" in text
        # At 120 columns the type goes first (its letter leads every ID; type: filters it).
        ids = [str(r[0]) for r in cache.conn().execute("SELECT id FROM offers")]
        assert {i[0] for i in ids} >= {"S", "P", "E", "A", "R"}
        assert all(offer_id in text for offer_id in ids[:20])
        await pilot.press("slash", *"type:pass state:active")
        await pilot.pause()
        table = app.screen.query_one("DataTable")
        expected = [
            r[0]
            for r in cache.conn().execute(
                "SELECT id FROM offers WHERE id LIKE 'P%' AND active = 1 ORDER BY id"
            )
        ]
        assert [str(table.get_row_at(i)[0]) for i in range(table.row_count)] == expected
        await pilot.press("enter", "enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "OfferScreen"
        assert "Localizations" in screen_text(app)
        await pilot.press("escape", "f2")
        assert type(app.screen).__name__ == "CustomersScreen"


async def test_every_screen_draws_under_no_color(seeded, monkeypatch):
    """NO_COLOR turns on Textual's monochrome filter, which reads the style of every segment
    a widget draws; a segment without one used to crash the list at the first paint."""
    monkeypatch.setenv("NO_COLOR", "1")
    db, _ = seeded
    app = _app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.no_color
        seen = []
        for keys in (
            ["j", "enter"],
            ["2"],
            ["3"],
            ["4"],
            ["5"],
            ["6"],
            ["escape"],
            ["f3"],
            ["f4"],
            ["f5"],
            ["f2"],
            ["question_mark"],
            ["escape"],
            ["slash", "a"],
        ):
            await pilot.press(*keys)
            await pilot.pause()
            seen.append(type(app.screen).__name__)
            assert screen_text(app).strip(), keys
        assert {
            "CustomerScreen",
            "CustomersScreen",
            "SegmentsScreen",
            "OffersScreen",
            "SyncScreen",
            "HelpScreen",
        } <= set(seen)


def test_help_names_every_place_in_words():
    from srm_tui.bindings import REGISTRY
    from srm_tui.screens.help import SCOPES

    assert [scope for scope in REGISTRY if scope not in SCOPES] == []

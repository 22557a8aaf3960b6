"""Search in the console (issue 12), keys pressed in the real app on a seeded cache: every
match listed, errors where the results go, one Enter opens, the placeholder follows the
keymap."""

from __future__ import annotations

import pytest

from srm_tui.app import SrmApp
from srm_tui.config import load_settings
from srm_tui.storage.cache import Cache
from srm_tui.widgets.customer_table import CustomerTable
from tests.helpers import screen_text
from tests.ui_keys import name, searched, type_text, until


@pytest.fixture(scope="module")
def db(seeded_cache):
    return seeded_cache(1300, 3)


def _app(db, **kw) -> SrmApp:
    settings = load_settings(db=str(db), agent="anna", now="2026-11-01T00:00:00Z", **kw)
    return SrmApp(settings, Cache(db), sync_on_start=False)


async def _search(pilot, query: str) -> None:
    """`/`, the query typed, and the results shown (the debounce and the worker done)."""
    await pilot.press("slash", "ctrl+a", "ctrl+k")
    await type_text(pilot, query)
    await until(pilot, searched(pilot.app, query), f"the answer to {query!r}")


@pytest.mark.parametrize("query", ["birthdate:1972", "birthdate:1972-13-45", "email:-"])
async def test_a_malformed_term_shows_its_error_where_the_results_go(db, query):
    app = _app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await _search(pilot, query)
        table = app.screen.query_one(CustomerTable)
        assert table.count == 0 and table.held_rows == 0  # no results, not the whole list
        text = screen_text(app)
        assert f"⚠ {query.split(':')[0]}:" in text
        assert "cannot be read" in text and "cached" not in text
        lines = text.splitlines()
        # Where the rows would be: right under the column headings, above the status line.
        heading = next(i for i, line in enumerate(lines) if "Email" in line)
        assert "⚠" in lines[heading + 1]
        # Enter keeps the query in the box to be corrected; fixing it shows results.
        await pilot.press("enter")
        await pilot.pause()
        assert name(app) == "CustomersScreen" and app.screen.query_one("#search").has_focus
        await pilot.press("ctrl+a", "ctrl+k")
        await type_text(pilot, "country:pl")
        await until(pilot, searched(app, "country:pl"), "the answer to country:pl")
        assert table.count > 0 and "⚠" not in screen_text(app)


async def test_every_match_is_listed_a_window_at_a_time(db):
    conn = Cache(db).conn()
    expected = [
        r[0]
        for r in conn.execute(
            "SELECT c.id FROM customers c WHERE c.id IN (SELECT rowid FROM customers_fts "
            "WHERE customers_fts MATCH 'example*') ORDER BY c.id"
        )
    ]
    assert len(expected) > 500  # more than the console's old cap
    app = _app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await _search(pilot, "example")
        table = app.screen.query_one(CustomerTable)
        assert table.count == len(expected)
        assert f"{len(expected):,} found" in screen_text(app)
        await pilot.press("down")  # from the box into the results, opening nothing
        assert table.has_focus and name(app) == "CustomersScreen"
        await pilot.press("G")
        await pilot.pause()
        assert table.cursor == len(expected) - 1
        assert table.selected()["id"] == expected[-1]
        assert str(expected[-1]) in screen_text(app)
        assert table.held_rows <= table.size.height + 2 * table.MARGIN
        for _ in range(3):
            await pilot.press("pageup")
        await pilot.pause()
        assert table.selected()["id"] == expected[table.cursor]
        assert table.held_rows <= table.size.height + 2 * table.MARGIN
        # A new order reads the same matches again, by keyset, from the first.
        await pilot.press("S")
        await pilot.pause()
        assert table.count == len(expected)
        await pilot.press("g")
        assert table.selected()["id"] == expected[-1]


async def test_one_enter_opens_the_highlighted_result(db):
    conn = Cache(db).conn()
    customer_id = conn.execute("SELECT id FROM customers LIMIT 1 OFFSET 40").fetchone()[0]
    app = _app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        # The results are shown, the first highlighted: Enter opens it.
        await _search(pilot, str(customer_id))
        assert app.screen.query_one("#search").has_focus
        await pilot.press("enter")
        await pilot.pause()
        assert name(app) == "CustomerScreen" and app.screen.customer_id == customer_id
        await pilot.press("escape")
        await pilot.pause()
        # Enter typed before the results arrive opens the first of them as they come.
        await pilot.press("slash", "ctrl+a", "ctrl+k", *str(customer_id), "enter")
        await until(pilot, lambda: name(app) == "CustomerScreen", "the customer opened")
        assert name(app) == "CustomerScreen" and app.screen.customer_id == customer_id
        await pilot.press("escape")
        await pilot.pause()
        # With no result, Enter stays on the list and says why (f fetches from the list).
        await pilot.press("slash", "ctrl+a", "ctrl+k", *"nobody@nowhere.example", "enter")
        await until(pilot, searched(app, "nobody@nowhere.example"), "the miss shown")
        assert name(app) == "CustomersScreen"
        assert app.screen.query_one(CustomerTable).has_focus
        assert "Not in the cache. Press f to fetch" in screen_text(app)


async def test_the_placeholder_names_the_search_key_in_force(db):
    app = _app(db)
    async with app.run_test(size=(120, 40)):
        assert app.screen.query_one("#search").placeholder.startswith("/ search")
    app = _app(db, keymap={"customers.search": "f9"})
    async with app.run_test(size=(120, 40)) as pilot:
        box = app.screen.query_one("#search")
        assert box.placeholder.startswith("f9 search")
        assert "f9 search" in screen_text(app) and "/ search" not in screen_text(app)
        await pilot.press("f9")
        assert box.has_focus


async def test_slash_selects_the_last_query_so_typing_replaces_it(db):
    """Back from a customer, `/` and a new id replace the old query at once (the selection
    is made with the key, not when the box's focus event is handled later)."""
    conn = Cache(db).conn()
    first, second = (r[0] for r in conn.execute("SELECT id FROM customers LIMIT 2 OFFSET 60"))
    app = _app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        for customer_id in (first, second):
            await pilot.press("slash", *str(customer_id), "enter")
            await until(pilot, lambda: name(app) == "CustomerScreen", "the customer opened")
            assert app.screen.customer_id == customer_id
            await pilot.press("escape")
            await until(pilot, lambda: name(app) == "CustomersScreen", "back on the list")
            assert app.screen.query_one(CustomerTable).has_focus  # "/" searches again
        assert app.screen.query_one("#search").value == str(second)

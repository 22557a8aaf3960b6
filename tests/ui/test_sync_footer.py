"""F5's footer names the Enter key whenever the focused outbox has rows (found in a user run:
"⏎ Open entry" was shown while the outbox was empty and dropped once it had entries, the
table's own hidden Enter standing in front of the screen's)."""

from __future__ import annotations

from srm_tui.offers import drafts
from tests.helpers import screen_text
from tests.ui_keys import make_app, name, settle, until


def _footer(app) -> str:
    """The last row, counted in rows: a footer being recomposed is blank for a frame or two,
    and splitlines() would drop it and read the status line instead."""
    return screen_text(app).split("\n")[-1]


def _draft(cache) -> None:
    offer_id, version, title = (
        cache.conn().execute("SELECT id, version, title FROM offers LIMIT 1").fetchone()
    )
    with cache.transaction() as tx:
        drafts.save(
            tx,
            offer_id=offer_id,
            target="offer",
            op="update",
            changes={"title": "Mine"},
            base_version=version,
            base={"title": title},
            agent="anna",
            now=1,
        )


async def test_the_footer_names_enter_while_the_outbox_has_entries(synced):
    _running, _state, db, cache = synced
    _draft(cache)
    app = make_app(db)  # offline: the draft waits
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f5")
        await until(pilot, lambda: name(app) == "SyncScreen", "F5")
        outbox = app.screen.query_one("#outbox")
        assert app.focused is outbox and outbox.row_count == 1
        # The footer recomposes after the screen is up (blank for a frame or two meanwhile: a
        # loaded machine caught the assert between them).
        await until(pilot, lambda: "⏎ Open entry" in _footer(app), "Open entry in the footer")
        # The key does what the footer says, and the footer says it again on the way back.
        await pilot.press("enter")
        await until(pilot, lambda: name(app) == "DraftsScreen", "the draft opened")
        await pilot.press("escape")
        await until(pilot, lambda: name(app) == "SyncScreen", "back on F5")
        assert app.focused is outbox
        await until(pilot, lambda: "⏎ Open entry" in _footer(app), "Open entry in the footer")
        # On the sync runs' table Enter opens nothing: the footer does not offer it there.
        app.screen.query_one("#runs").focus()
        await settle(pilot)
        assert app.screen.query_one("#runs").row_count
        await until(pilot, lambda: "Help" in _footer(app), "the footer drawn")
        assert "Open entry" not in _footer(app), _footer(app)


async def test_an_empty_focused_outbox_offers_no_entry(synced):
    _running, _state, db, _cache = synced
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f5")
        await until(pilot, lambda: name(app) == "SyncScreen", "F5")
        await pilot.press("o")
        await settle(pilot)
        assert app.focused is app.screen.query_one("#outbox")
        assert app.focused.row_count == 0
        await until(pilot, lambda: "Help" in _footer(app), "the footer drawn")
        assert "Open entry" not in _footer(app), _footer(app)


async def test_the_footer_while_a_worker_is_importing_the_data_table(synced, monkeypatch):
    # The warm-up thread imports screens after the first frame: while it is inside
    # `textual.widgets._data_table`, the module is in sys.modules without its DataTable class.
    # Arranged here by putting such a module there; the footer's refresh must not fail on it
    # (it did: "partially initialized module ... has no attribute 'DataTable'").
    import sys
    import types

    _running, _state, db, _cache = synced
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        half = types.ModuleType("textual.widgets._data_table")
        monkeypatch.setitem(sys.modules, "textual.widgets._data_table", half)
        app.screen.refresh_bindings()
        await settle(pilot)
        assert app.is_running and "Search" in _footer(app), _footer(app)
        monkeypatch.undo()
        assert name(app) == "CustomersScreen"

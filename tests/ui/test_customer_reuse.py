"""Issue 16: the customer screen is built once and refilled for each customer opened. A
refilled screen shows the new customer as a new screen would (Summary tab, first rows, no
history filter), with nothing of the customer shown before it; a customer not in the cache
gets a screen of its own that says so, and the next open refills again."""

from __future__ import annotations

from srm_tui.storage.cache import Cache
from tests.helpers import screen_text
from tests.ui_keys import make_app, open_customer, settle, until


def _pair(db) -> tuple[dict, dict]:
    """Two customers, each with an email, transactions and several history events."""
    conn = Cache(db).conn()
    rows = conn.execute(
        "SELECT c.id, c.email, (SELECT group_concat(t.id, ' ') FROM transactions t "
        "WHERE t.customer_id = c.id) AS tx FROM customers c WHERE c.email IS NOT NULL "
        "AND (SELECT count(*) FROM transactions t WHERE t.customer_id = c.id) >= 2 "
        "ORDER BY c.id LIMIT 2"
    ).fetchall()
    return tuple({"id": r[0], "email": r[1], "tx": r[2].split()} for r in rows)  # type: ignore[return-value]


def _tables(app) -> str:
    """Every row key and cell of every table on the customer screen, whatever tab is shown."""
    from textual.widgets import DataTable

    tables = list(app.screen.query(DataTable))
    keys = [str(key.value) for table in tables for key in table.rows]
    cells = [
        str(cell)
        for table in tables
        for row in range(table.row_count)
        for cell in table.get_row_at(row)
    ]
    return " ".join(keys + cells)


async def test_a_refilled_customer_screen_shows_only_the_new_customer(seeded_cache):
    db = seeded_cache(40, 3)
    a, b = _pair(db)
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, a["id"])
        first = app.screen
        assert a["email"] in screen_text(app)
        # The agent leaves A on Transactions, a row down, the history filtered, focus moved.
        await pilot.press("3")
        await pilot.pause()
        await pilot.press("j")
        await pilot.pause()
        assert first.query_one("#transactions-table").cursor_row == 1
        await pilot.press("6", "f")  # History, filtered
        await pilot.pause()
        assert first.history_filter is not None

        await open_customer(pilot, b["id"])
        assert app.screen is first  # the same screen, refilled
        shown = screen_text(app)
        assert b["email"] in shown and a["email"] not in shown
        assert first.query_one("TabbedContent").active == "summary"
        assert first.history_filter is None
        assert all(t.cursor_row == 0 for t in first.query("DataTable"))
        cells = _tables(app)
        assert not any(tx in cells for tx in a["tx"])  # nothing of A on any tab
        assert any(tx in cells for tx in b["tx"])

        # A customer the cache does not hold: a screen of its own, saying so, nothing else.
        await pilot.press("escape")
        await settle(pilot)
        app.open_customer(999_999_999)
        await until(pilot, lambda: "999999999 — not in the cache" in screen_text(app), "told")
        assert app.screen is not first
        shown = screen_text(app)
        assert b["email"] not in shown and not _tables(app).strip()

        # And the next open is refilled again, on the screen kept now.
        await pilot.press("escape")
        await settle(pilot)
        await open_customer(pilot, a["id"])
        kept = app.screen
        assert a["email"] in screen_text(app)
        await open_customer(pilot, b["id"])
        assert app.screen is kept and b["email"] in screen_text(app)
        assert app.crashed is None


async def test_an_offer_counted_for_the_customer_before_opens_nothing(seeded_cache):
    """The kept screen outlives Esc and is refilled: an offer's holders counted (a worker)
    for the customer shown before opens no offer over the list or over the next customer."""
    db = seeded_cache(40, 3)
    a, b = _pair(db)
    offer = Cache(db).conn().execute("SELECT id FROM offers LIMIT 1").fetchone()[0]
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, a["id"])
        kept = app.screen
        await pilot.press("escape")
        await settle(pilot)
        # The count's message handled as it comes (the handler itself, not a wait for it).
        kept._open_offer(kept.OfferCounted(offer, 3, a["id"]))  # came after the Esc
        await pilot.pause()
        assert type(app.screen).__name__ == "CustomersScreen"
        await open_customer(pilot, b["id"])
        assert app.screen is kept
        kept._open_offer(kept.OfferCounted(offer, 3, a["id"]))  # A's, after the refill
        await pilot.pause()
        assert app.screen is kept
        kept._open_offer(kept.OfferCounted(offer, 3, b["id"]))  # B's own opens it
        await until(pilot, lambda: type(app.screen).__name__ == "OfferScreen", "B's offer")


async def test_enter_esc_enter_faster_than_frames_opens_the_last_customer(seeded_cache):
    """Opened, popped before it was drawn, and another opened in the same turn: the screen
    that was never drawn is not kept, the last customer is shown, the console stays up."""
    db = seeded_cache(40, 3)
    a, b = _pair(db)
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.open_customer(a["id"])
        app.pop_screen()
        app.open_customer(b["id"])
        await until(pilot, lambda: b["email"] in screen_text(app), "the last customer shown")
        assert type(app.screen).__name__ == "CustomerScreen"
        assert app.screen.customer_id == b["id"]
        await pilot.press("escape")
        await settle(pilot)
        await open_customer(pilot, a["id"])  # and the screen kept now is refilled
        kept = app.screen
        await open_customer(pilot, b["id"])
        assert app.screen is kept and b["email"] in screen_text(app)
        assert app.crashed is None and app._exception is None

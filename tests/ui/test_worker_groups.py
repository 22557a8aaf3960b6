"""Each background job of the customer screens fails inside the real app, and the console
stays open, says what failed in plain text where the agent looks, and keeps taking keys:
the customer's offer lookup, a pasted token's check, the coupon lookup and fetching a
customer from the API (search, sync and actions are in test_worker_errors).

Faults are injected where the work meets what it reads (the session's reads and services);
everything else runs for real.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

import pytest

from srm_tui.storage.cache import Cache
from tests.helpers import screen_text
from tests.ui_keys import make_app, name, open_customer, searched, settle, type_text, until

AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)
FAILED = "OperationalError: disk I/O error"


@pytest.fixture(scope="module")
def db(seeded_cache):
    return seeded_cache(60, 7)


def _failing(*_args, **_kwargs):
    raise sqlite3.OperationalError("disk I/O error")


def _notices(app) -> str:
    return "\n".join(str(n.message) for n in app._notifications)


async def _still_usable(app, pilot) -> None:
    """Open and answering keys: help opens over whatever is shown and closes again."""
    assert app.is_running and app.return_code is None
    before = name(app)
    await pilot.press("f1")
    await pilot.pause()
    assert name(app) == "HelpScreen"
    await pilot.press("escape")
    await pilot.pause()
    assert name(app) == before


async def test_a_failed_offer_lookup_keeps_the_customer_screen(db, monkeypatch):
    from srm_tui.storage.reads.customers import CustomerReads

    customer_id = (
        Cache(db).conn().execute("SELECT customer_id FROM transactions LIMIT 1").fetchone()[0]
    )
    monkeypatch.setattr(CustomerReads, "offer_holders", _failing)
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, customer_id)
        await pilot.press("3")
        await settle(pilot)
        await pilot.press("o")  # view the transaction's offer: its holders are counted
        await until(pilot, lambda: "Opening the offer failed" in _notices(app), "the failure")
        assert f"Opening the offer failed: {FAILED}" in _notices(app)
        assert name(app) == "CustomerScreen"
        await _still_usable(app, pilot)


async def test_a_failed_token_check_is_shown_on_the_token_screen(db, monkeypatch):
    from srm_tui.session import Session

    monkeypatch.setattr(Session, "token_key_set", _failing)
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        app.open_token("eyJhbGciOiJSUzI1NiJ9.eyJjdXN0b21lcklkIjoxfQ.c2ln")
        await until(pilot, lambda: "Checking the token failed" in _notices(app), "the failure")
        assert f"Checking the token failed: {FAILED}" in _notices(app)
        assert name(app) == "TokenScreen"
        text = screen_text(app)
        assert "Token › could not be checked" in text and "disk I/O error" in text, text
        await _still_usable(app, pilot)


async def test_a_failed_coupon_lookup_is_shown_where_the_answer_goes(db, monkeypatch):
    from srm_tui.offers.service import OfferService
    from srm_tui.screens.coupon import CouponScreen

    monkeypatch.setattr(OfferService, "lookup_coupon", _failing)
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        app.push_screen(CouponScreen())
        await pilot.pause()
        await type_text(pilot, "BLACKFRIDAY20")
        await pilot.press("enter")
        await until(pilot, lambda: "The coupon lookup failed" in _notices(app), "the failure")
        assert f"The coupon lookup failed: {FAILED}" in _notices(app)
        assert "✘ disk I/O error" in screen_text(app)
        assert name(app) == "CouponScreen"
        await _still_usable(app, pilot)


async def test_a_failed_fetch_is_said_on_the_hint_line_and_in_a_notice(db, monkeypatch):
    from srm_tui.session import Session

    monkeypatch.setattr(Session, "fetch_customer", _failing)
    app = make_app(db, "http://127.0.0.1:9")  # an API is configured; it is never reached
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("slash")
        await type_text(pilot, "nobody@example.invalid")
        await until(pilot, searched(app, "nobody@example.invalid"), "the search answered")
        assert "Press f to fetch" in screen_text(app)
        await pilot.press("down", "f")  # from the list: fetch what the cache lacks
        await until(pilot, lambda: "Could not fetch" in screen_text(app), "the failed fetch")
        assert "Could not fetch: disk I/O error" in screen_text(app)
        # The palette's and the token screen's fetch (the app's own worker) says it too.
        app.fetch_and_open("customer_id", 424242)
        await until(pilot, lambda: "Could not fetch 424242" in _notices(app), "the notice")
        assert "Could not fetch 424242: disk I/O error" in _notices(app)
        assert name(app) == "CustomersScreen"
        await _still_usable(app, pilot)

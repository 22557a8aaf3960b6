"""The offer and segment screens' workers answer with messages and never close the console:
a holders list whose query fails, and a recount of saved segments where one count fails, are
told in plain text while the console keeps taking keys. Faults are injected where the work
meets the cache; the rest runs for real."""

from __future__ import annotations

import sqlite3

import pytest

from srm_tui.app import SrmApp
from srm_tui.config import load_settings
from srm_tui.segments.engine import SegmentRunner
from srm_tui.segments.model import All, Condition, Segment
from srm_tui.segments.service import SegmentStore
from srm_tui.storage.cache import Cache
from srm_tui.storage.reads.offers import OfferReads
from tests.conftest import AS_OF
from tests.helpers import screen_text
from tests.ui_keys import name, until

NOW = "2026-11-01T00:00:00Z"


@pytest.fixture
def db(seeded_cache):
    return seeded_cache(150, 7)


def _app(db) -> SrmApp:
    settings = load_settings(db=str(db), agent="anna", role="agent", now=NOW)
    return SrmApp(settings, Cache(db), sync_on_start=False)


def _notices(app) -> str:
    return "\n".join(str(n.message) for n in app._notifications)


def _failing(*_args, **_kwargs):
    raise sqlite3.OperationalError("disk I/O error")


async def _still_usable(app, pilot) -> None:
    assert app.is_running and app.return_code is None
    await pilot.press("f1")
    await pilot.pause()
    assert name(app) == "HelpScreen"
    await pilot.press("escape")
    await pilot.pause()
    assert name(app) != "HelpScreen"


async def test_a_failed_holders_list_is_told_and_the_console_stays(db, monkeypatch):
    app = _app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f4")
        await until(pilot, lambda: name(app) == "OffersScreen", "the catalogue")
        await pilot.press("enter")
        await until(pilot, lambda: name(app) == "OfferScreen", "one offer")
        monkeypatch.setattr(OfferReads, "holder_ids", _failing)
        await pilot.press("h")  # its holders are found in a worker, which now fails
        await until(
            pilot, lambda: "Counting offer holders failed" in _notices(app), "the failure told"
        )
        assert "OperationalError: disk I/O error" in _notices(app)
        assert name(app) == "HoldersScreen"
        await _still_usable(app, pilot)


async def test_a_recount_tells_each_segment_it_could_not_count(db, monkeypatch):
    cache = Cache(db)
    now = int(AS_OF.timestamp())
    grace = Segment(
        name="In grace", where=All((Condition("subscription.state", "in", ("grace",)),))
    )
    store = SegmentStore(cache)
    store.save(grace, now=now, agent="anna")
    store.create_static("Callbacks", now=now, agent="anna")
    cache.close()
    app = _app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f3")
        await until(pilot, lambda: name(app) == "SegmentsScreen", "the segment list")
        monkeypatch.setattr(SegmentRunner, "count", _failing)  # the dynamic one fails
        await pilot.press("r")
        await until(
            pilot, lambda: "In grace: disk I/O error" in _notices(app), "the failed one named"
        )
        # The static one was counted all the same: its Members column says so.
        await until(
            pilot,
            lambda: [s.last_count for s in app.screen.items if s.name == "Callbacks"] == [0],
            "the static segment counted",
        )
        assert name(app) == "SegmentsScreen"
        await _still_usable(app, pilot)


async def test_an_offer_opens_while_its_holders_are_counted(db, monkeypatch):
    """Issue 16: the offer screen counted every holder on the UI thread at each open and each
    return to it (seconds on a million customers). It opens at once with the count known so
    far, counts in a worker and shows the count when it comes. The count is held by a gate
    here, never timed."""
    import threading

    from srm_tui.storage import queries

    gate = threading.Event()
    counting = threading.Event()
    real = OfferReads.holder_ids

    def held(self, offer_id, now):
        counting.set()
        assert gate.wait(120), "the test never let the count finish"
        return real(self, offer_id, now)

    app = _app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f4")
        await until(pilot, lambda: name(app) == "OffersScreen", "the catalogue")
        offer_id = str(
            app.screen.query_one("DataTable").coordinate_to_cell_key((0, 0)).row_key.value
        )
        monkeypatch.setattr(OfferReads, "holder_ids", held)
        await pilot.press("enter")
        await until(pilot, lambda: name(app) == "OfferScreen", "the offer, before its count")
        await until(pilot, counting.is_set, "the count under way")
        screen = app.screen
        summary = str(screen.query_one("#summary").render())
        assert "version" in summary and not gate.is_set()  # drawn while the count waits
        expected = len(queries.offer_holder_ids(Cache(db).conn(), offer_id, app.settings.now_ts()))
        gate.set()
        await until(pilot, lambda: screen.holders == expected, "the count shown")
        await until(
            pilot,
            lambda: f"{expected:,} holder" in str(screen.query_one("#summary").render()),
            "the summary updated",
        )
        # Switching the offer off names its holders as counted: not counted again on the UI
        # thread (a count now would fail here).
        assert screen._current().get("active"), "the first offer of the catalogue is active"
        monkeypatch.setattr(OfferReads, "holder_ids", _failing)
        await pilot.press("a")
        await until(pilot, lambda: name(app) == "ConfirmDialog", "asked first")
        assert f"{expected:,} customer" in screen_text(app)
        await pilot.press("n")
        await until(pilot, lambda: name(app) == "OfferScreen", "back, nothing sent")
        await _still_usable(app, pilot)

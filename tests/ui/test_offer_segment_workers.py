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

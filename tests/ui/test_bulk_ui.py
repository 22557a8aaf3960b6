"""Bulk actions in the console, by keys through the real app against the in-process sandbox:
from the Segments mode (F3), B on a saved segment, pick extend, type the days, the dry run
(count, sample, refusals), run it, pause it between batches, resume it, and the report; the
count typed back for a cancel; viewers get no bulk key."""

from __future__ import annotations

import asyncio
import threading

import pytest

from srm_tui.app import SrmApp
from srm_tui.config import load_settings
from srm_tui.segments import store
from srm_tui.segments.model import All, Segment
from srm_tui.storage.cache import Cache
from tests.helpers import screen_text

NOW = "2026-11-01T00:00:00Z"
DAY = 86400


def _app(url: str, db, role: str = "agent", **more) -> SrmApp:
    settings = load_settings(
        db=str(db), api_url=url, api_key="sandbox-key", agent="anna", role=role, now=NOW, **more
    )
    return SrmApp(settings, Cache(db), sync_on_start=False)


async def settle(pilot, rounds: int = 3) -> None:
    for _ in range(rounds):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


@pytest.fixture
def everyone(synced):
    running, state, db, cache = synced
    store.save(cache.conn(), Segment(All(), name="Everyone"), now=0, agent="anna")
    return running, state, db


def ends(state) -> dict[int, int]:
    return {s["subscriptionId"]: s["dateTo"] for s in state.export()["subscriptions"]}


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_bulk_extend_from_segments_dry_run_pause_resume(everyone, size):
    running, state, db = everyone
    before = ends(state)
    app = _app(running.url, db)
    held, go, calls = threading.Event(), threading.Event(), []

    def between(run_id: int) -> None:  # hold the run after its first batch
        calls.append(run_id)
        if len(calls) == 2:
            held.set()
            go.wait(60)

    async with app.run_test(size=size) as pilot:
        await pilot.press("f3")
        await settle(pilot)
        assert app.screen.check_action("bulk", ()) is True
        await pilot.press("B")
        await settle(pilot)
        screen = app.screen
        assert type(screen).__name__ == "BulkScreen"
        await pilot.press("enter")  # the first action: extend
        await settle(pilot)
        await pilot.press(*"30", "ctrl+d")
        await settle(pilot)
        assert screen.dry is not None and screen.dry.members == 60
        text = screen_text(app)
        assert "60 members" in text and "refused by" in text
        refused = {r.subscription_id for r in screen.dry.refused}

        app.session.bulk.between_batches = between
        app.session.bulk.batch = 20  # three batches: the run can be held between them
        await pilot.press("ctrl+g")
        assert await asyncio.to_thread(held.wait, 60)
        await pilot.press("p")  # pause: asked now, honoured between batches
        go.set()
        await settle(pilot)
        run = app.session.bulk.require(screen.run_id)
        assert screen.state == "paused" and run.status == "paused"
        assert 0 < run.settled < 60
        assert "paused" in screen_text(app)

        await pilot.press("r")
        await settle(pilot)
        run = app.session.bulk.require(screen.run_id)
        assert run.status == "done" and screen.state == "ended"
        assert run.counts["done"] + run.counts["refused"] == 60
        assert f"bulk #{run.id} done" in screen_text(app)

    after = ends(state)
    report = Cache(db)
    try:
        rows = (
            report.conn()
            .execute("SELECT subscription_id, status FROM bulk_members WHERE run_id = ?", (run.id,))
            .fetchall()
        )
    finally:
        report.close()
    done = {sid for sid, status in rows if status == "done"}
    assert done and not (done & refused)
    for sid in done:
        assert after[sid] == before[sid] + 30 * DAY  # once, though paused and resumed


async def test_cancel_needs_the_count_typed_back(everyone):
    running, state, db = everyone
    before = {s["subscriptionId"]: s["status"] for s in state.export()["subscriptions"]}
    app = _app(running.url, db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f3")
        await settle(pilot)
        await pilot.press("B")
        await settle(pilot)
        screen = app.screen
        await pilot.press("down", "down", "enter")  # cancel
        await settle(pilot)
        await pilot.press(*"outage", "ctrl+d")  # its reason
        await settle(pilot)
        assert screen.dry.irreversible and "type the member count" in screen_text(app)
        await pilot.press(*"59", "ctrl+g")  # the wrong count
        await settle(pilot)
        assert screen.state == "checked" and app.session.bulk.runs() == []
        assert {s["subscriptionId"]: s["status"] for s in state.export()["subscriptions"]} == (
            before
        )
        await pilot.press("backspace", "backspace", *"60", "ctrl+g")  # typed back
        await settle(pilot)
        run = app.session.bulk.require(screen.run_id)
        assert run.status == "done" and run.counts["done"] > 0, app.session.bulk.report(run.id)
    after = {s["subscriptionId"]: s["status"] for s in state.export()["subscriptions"]}
    report = app.session.bulk.report(run.id)
    for m in report["members"]:
        sid = m["subscription_id"]
        if m["status"] == "done":
            assert before[sid] == "active" and after[sid] != "active"
        elif sid is not None:
            assert after[sid] == before[sid]


async def test_over_the_limit_an_agent_gets_no_run_key_and_no_bar(everyone):
    """Over bulk_limit an agent sees the dry run but is offered no way to run it: no
    "ctrl+g runs it", no Run key in the footer, ctrl+g does nothing, no progress bar."""
    running, state, db = everyone
    before = ends(state)
    app = _app(running.url, db, bulk_limit=10)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f3")
        await settle(pilot)
        await pilot.press("B")
        await settle(pilot)
        screen = app.screen
        await pilot.press("enter")  # extend
        await settle(pilot)
        await pilot.press(*"30", "ctrl+d")
        await settle(pilot)
        text = screen_text(app)
        assert screen.dry is not None and screen.dry.needs_role
        assert "over the limit of 10: only an owner or an admin may run it" in text
        assert "ctrl+g" not in text and "Run it" not in text
        assert screen.check_action("go", ()) is False
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert screen.state == "checked" and app.session.bulk.runs() == []
        assert not screen.query_one("#bulk-bar").display and "--%" not in screen_text(app)
    assert ends(state) == before


async def test_the_highlighted_action_and_run_are_marked_in_text(everyone):
    """NO_COLOR shows no highlight colour: the chooser's and the runs list's highlighted row
    carry a "›"."""
    running, _, db = everyone
    app = _app(running.url, db, role="admin")
    async with app.run_test(size=(80, 24)) as pilot:
        first = app.session.bulk.start("note-add", "Everyone", {"text": "first"})
        second = app.session.bulk.start("note-add", "Everyone", {"text": "second"})
        await pilot.press("f3")
        await settle(pilot)
        await pilot.press("B")
        await settle(pilot)
        assert "› Extend access" in screen_text(app)
        await pilot.press("down")
        await pilot.pause()
        text = screen_text(app)
        assert "› Apply a coupon" in text and "› Extend" not in text
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("L")
        await settle(pilot)
        marked = [ln for ln in screen_text(app).splitlines() if "›" in ln and "#" in ln]
        assert len(marked) == 1 and f"#{second.id}" in marked[0]  # newest first
        await pilot.press("down")
        await pilot.pause()
        marked = [ln for ln in screen_text(app).splitlines() if "›" in ln and "#" in ln]
        assert len(marked) == 1 and f"#{first.id}" in marked[0]


async def test_viewers_get_no_bulk_key(everyone):
    running, _, db = everyone
    app = _app(running.url, db, role="viewer")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f3")
        await settle(pilot)
        await pilot.press("B")
        await settle(pilot)
        assert type(app.screen).__name__ == "SegmentsScreen"
        assert app.screen.check_action("bulk", ()) is False  # no key, none in the footer


async def test_a_killed_run_resumes_from_the_runs_list(everyone):
    running, state, db = everyone
    app = _app(running.url, db, role="admin")
    async with app.run_test(size=(80, 24)) as pilot:
        # Frozen and never run: what a run killed before its first batch leaves.
        frozen = app.session.bulk.start("note-add", "Everyone", {"text": "sorry for the outage"})
        await pilot.press("f3")
        await settle(pilot)
        await pilot.press("L")
        await settle(pilot)
        assert type(app.screen).__name__ == "BulkRunsScreen"
        assert f"#{frozen.id}" in screen_text(app) and "running" in screen_text(app)
        await pilot.press("r")
        await settle(pilot, rounds=5)
        run = app.session.bulk.require(frozen.id)
        assert run.status == "done" and run.counts["done"] == 60
        assert app.screen.state == "ended"
        assert f"bulk #{run.id} done" in screen_text(app)
    notes = [n for n in state.export()["notes"] if n["text"] == "sorry for the outage"]
    assert len(notes) == 60


async def test_a_failing_run_keeps_the_console_and_resumes(everyone, monkeypatch):
    import sqlite3

    from srm_tui.bulk import service as bulk_service

    running, state, db = everyone
    real = bulk_service.queue_batch

    def failing(*args):
        raise sqlite3.OperationalError("disk I/O error")

    app = _app(running.url, db)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f3")
        await settle(pilot)
        await pilot.press("B")
        await settle(pilot)
        screen = app.screen
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press(*"7", "ctrl+d")
        await settle(pilot)
        monkeypatch.setattr(bulk_service, "queue_batch", failing)
        await pilot.press("ctrl+g")
        await settle(pilot)
        assert app.is_running and app.screen is screen
        assert screen.state == "paused" and "disk I/O error" in screen_text(app)
        assert any("disk I/O error" in str(n.message) for n in app._notifications)
        monkeypatch.setattr(bulk_service, "queue_batch", real)
        await pilot.press("r")
        await settle(pilot)
        run = app.session.bulk.require(screen.run_id)
        assert run.status == "done" and screen.state == "ended"

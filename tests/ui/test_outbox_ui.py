"""The outbox through the console: actions queued while the API is away are sent exactly once
when it is back; a queued action that meets a record changed meanwhile is shown with both
versions, and the agent retries, edits or discards it — by keys, against a real sandbox."""

from __future__ import annotations

from datetime import datetime, timezone

import httpx

from srm_tui.api.client import ApiClient
from srm_tui.sandbox.runner import start_in_thread
from srm_tui.sandbox.server import create_app
from srm_tui.sandbox.state import SandboxState
from srm_tui.storage.cache import Cache
from srm_tui.sync.engine import SyncEngine
from tests.helpers import SandboxProcess, free_port, screen_text, status_line
from tests.ui_keys import (
    dialog_text,
    make_app,
    name,
    open_customer,
    run_confirmed,
    settle,
    to_row,
    type_text,
    until,
)

AS_OF = "2026-11-01T00:00:00Z"
HEADERS = {"X-Publisher-Token": "sandbox-key"}


def sync(url: str, db) -> None:
    cache = Cache(db)
    try:
        with ApiClient(url, "sandbox-key") as client:
            SyncEngine(cache, client).run()
    finally:
        cache.close()


def rows(db, sql: str, *params) -> list[dict]:
    cache = Cache(db)
    try:
        return [dict(r) for r in cache.conn().execute(sql, params)]
    finally:
        cache.close()


async def test_offline_action_is_sent_once_when_the_sandbox_is_back(tmp_path):
    state, db = tmp_path / "state.json", tmp_path / "c.db"
    args = ("--customers", "80", "--seed", "11", "--as-of", AS_OF, "--state", str(state))
    sandbox = SandboxProcess(*args)
    port, url = sandbox.port, sandbox.url
    try:
        sync(url, db)
        customer = next(c for c in sandbox.export()["customers"] if c["email"])
    finally:
        sandbox.stop()
    text = "Call back on Monday"
    app = make_app(db, url)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, customer["id"])
        await pilot.press("5", "n")
        await type_text(pilot, text)
        await run_confirmed(pilot)  # the API is down: a few quick tries, then the outbox
        assert name(app) == "CustomerScreen"
        shown = screen_text(app)
        assert "Outbox #1 pending: note-add" in shown  # the panel's banner
        assert "pending (outbox #1)" in next(ln for ln in shown.splitlines() if text in ln)
        status = status_line(app)
        assert "offline" in status and "1 action pending" in status

        back = SandboxProcess("--port", str(port), *args)  # the same state, the same address
        try:
            assert back.url == url
            await pilot.press("ctrl+r")  # send what waits, then sync
            await until(
                pilot,
                lambda: "Outbox #1" not in screen_text(app) and "online" in status_line(app),
                "the note sent and the status line online",
            )
            shown = screen_text(app)
            assert "Outbox #1" not in shown and "pending" not in shown
            assert text in shown and "online" in status_line(app)
            await pilot.press("ctrl+r")  # again: nothing is sent twice
            await settle(pilot, 0.5)
            await app.workers.wait_for_complete()  # the second push and sync have ended
            notes = [n for n in back.export()["notes"] if n["text"] == text]
        finally:
            back.stop()
    assert len(notes) == 1 and notes[0]["customerId"] == customer["id"]
    assert notes[0]["author"] == "anna"
    outbox = rows(db, "SELECT status, attempts FROM outbox")
    assert [r["status"] for r in outbox] == ["sent"] and outbox[0]["attempts"] >= 1


async def test_conflicts_show_both_versions_then_retry_edit_or_discard(tmp_path):
    db = tmp_path / "c.db"
    world = SandboxState.generate(
        80, 11, datetime(2026, 11, 1, tzinfo=timezone.utc), advance_clock=False
    )
    port = free_port()
    running = start_in_thread(create_app(world), port=port)
    url = running.url
    sync(url, db)
    a, b, c = [
        x for x in world.export()["customers"] if x["email"] and x["firstName"] and x["lastName"]
    ][2:5]
    running.stop()
    app = make_app(db, url)
    async with app.run_test(size=(120, 40)) as pilot:
        # Offline, the agent edits three customers: each waits in the outbox.
        for customer, tabs, value in ((a, 0, "Queued-A"), (b, 1, "Queued-B"), (c, 0, "Queued-C")):
            await open_customer(pilot, customer["id"])
            await pilot.press("e", *["tab"] * tabs)
            await type_text(pilot, value)
            await run_confirmed(pilot)
        assert "3 actions pending" in app.status_text

        # The API is back, and meanwhile someone else changed the same fields there.
        running = start_in_thread(create_app(world), port=port)
        try:
            for customer, body in (
                (a, {"firstName": "Server-A"}),
                (b, {"lastName": "Server-B"}),
                (c, {"firstName": "Server-C"}),
            ):
                response = httpx.patch(
                    f"{url}/customers/{customer['id']}", json=body, headers=HEADERS
                )
                assert response.status_code == 200, response.text
            await pilot.press("ctrl+r")
            await settle(pilot, 0.5)
            assert "3 conflicts (F5)" in app.status_text
            assert "pending" not in app.status_text

            # From the customer's banner: both versions, then edit against the API's.
            shown = screen_text(app)
            assert "CONFLICT: edit customer" in shown and "p shows both versions" in shown
            await pilot.press("p")
            await pilot.pause()
            assert name(app) == "OutboxItemScreen"
            shown = dialog_text(app)
            version = next(ln for ln in shown.splitlines() if "firstName" in ln)
            assert [v.strip() for v in version.split("│")][1:] == [
                "firstName",
                c["firstName"],
                "Queued-C",
                "Server-C",
            ]
            assert "CONFLICT" in shown and "retry as queued" in shown and "discard" in shown
            await pilot.press("e")
            await pilot.pause(0.4)
            assert name(app) == "ActionScreen"
            shown = dialog_text(app)
            assert "Server-C" in shown and "Queued-C" in shown  # the API's, then the agent's
            await type_text(pilot, "Merged-C")
            await run_confirmed(pilot)
            assert name(app) == "OutboxItemScreen"
            assert "discarded" in dialog_text(app)
            await pilot.press("escape")
            await pilot.pause()
            shown = screen_text(app)
            assert name(app) == "CustomerScreen" and "CONFLICT" not in shown and "Merged-C" in shown

            # On Sync & outbox: the two left, first; the highlighted one's versions below.
            await pilot.press("f5")
            await pilot.pause()
            entries = {
                r["customer_id"]: r["id"]
                for r in rows(db, "SELECT id, customer_id FROM outbox WHERE status = 'conflict'")
            }
            assert set(entries) == {a["id"], b["id"]}
            await to_row(pilot, "outbox", str(entries[a["id"]]))
            shown = screen_text(app)
            assert "2 need a decision" in shown and "Server-A" in shown and "Queued-A" in shown
            await pilot.press("enter")
            await pilot.pause()
            assert name(app) == "OutboxItemScreen"
            await pilot.press("r")  # retry as queued: sent now, over the API's value
            await settle(pilot, 0.5)
            assert "Status: sent" in dialog_text(app)
            await pilot.press("escape")
            await pilot.pause()
            await to_row(pilot, "outbox", str(entries[b["id"]]))
            await pilot.press("enter", "d")
            await pilot.pause()
            assert "Press y to confirm" in screen_text(app)
            await pilot.press("escape")  # not yet: kept
            assert "Kept" in screen_text(app)
            await pilot.press("d", "y")
            await settle(pilot)
            assert "Status: discarded" in dialog_text(app)
            await pilot.press("escape")
            await pilot.pause()
            assert "conflict" not in app.status_text
            export = httpx.get(
                f"{running.url.rsplit('/3.1', 1)[0]}/sandbox/export", timeout=30
            ).json()
        finally:
            running.stop()
    people = {x["id"]: x for x in export["customers"]}
    assert people[a["id"]]["firstName"] == "Queued-A"
    assert people[b["id"]]["lastName"] == "Server-B"
    assert people[c["id"]]["firstName"] == "Merged-C"
    audit = {
        cid: [
            r["outcome"]
            for r in rows(db, "SELECT outcome FROM audit WHERE customer_id = ? ORDER BY id", cid)
        ]
        for cid in (a["id"], b["id"], c["id"])
    }
    assert audit[a["id"]] == ["queued", "conflict", "queued", "sent"]
    assert audit[b["id"]] == ["queued", "conflict", "discarded"]
    assert audit[c["id"]] == ["queued", "conflict", "applied", "discarded"]
    detail = rows(
        db, "SELECT detail FROM audit WHERE customer_id = ? AND outcome = 'discarded'", c["id"]
    )[0]["detail"]
    assert "replaced by an edited copy" in detail

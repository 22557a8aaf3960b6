"""The cancel dialog with the retention playbook, by keys in the real console, against a
sandbox over loopback: a cancel saved by a pause (key 1), one saved by a coupon (Enter on the
highlighted offer), one cancelled anyway with a reason checked in place. What each did is read
back at the sandbox, in the audit trail and in the playbook's report."""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from srm_tui.api.client import ApiClient
from srm_tui.config import load_settings
from srm_tui.domain.lifecycle import subscription_state
from srm_tui.playbook.model import parse
from srm_tui.sandbox.runner import start_in_thread
from srm_tui.sandbox.server import create_app
from srm_tui.sandbox.state import SandboxState
from srm_tui.session import Session
from srm_tui.storage.cache import Cache
from srm_tui.sync.engine import SyncEngine
from tests.helpers import screen_text
from tests.ui_keys import make_app, name, open_customer, settle, to_row, type_text, until

AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)
NOW = int(AS_OF.timestamp())
WEB = ("adyen", "paypal")


class World:
    def __init__(self, running, db):
        self.running = running
        self.url = running.url
        self.db = db
        self.start = self.export()
        self.used: set[int] = set()

    def export(self) -> dict[str, Any]:
        root = self.url.rsplit("/3.1", 1)[0]
        return httpx.get(f"{root}/sandbox/export", timeout=30).json()

    def sub(self, sid: int) -> dict[str, Any]:
        return next(s for s in self.export()["subscriptions"] if s["subscriptionId"] == sid)

    def pausable(self) -> set[str]:
        return {
            o["id"]
            for o in self.start["offers"]
            if o["id"].startswith("S") and ((o.get("pause") or {}).get("maxBillingCycles") or 0)
        }

    def pick(self, pausable: bool) -> dict[str, Any]:
        """An active web subscription, its customer's only one, no coupon yet."""
        counts: dict[int, int] = {}
        for s in self.start["subscriptions"]:
            counts[s["customerId"]] = counts.get(s["customerId"], 0) + 1
        for s in self.start["subscriptions"]:
            if (
                s["customerId"] not in self.used
                and counts[s["customerId"]] == 1
                and s["paymentGateway"] in WEB
                and not s.get("isExternallyManaged")
                and s["status"] == "active"
                and not s["couponCode"]
                and subscription_state(s["status"], s["inTrial"], s["dateTo"], NOW) == "active"
                and (s["offerId"].split("_")[0] in self.pausable()) == pausable
            ):
                self.used.add(s["customerId"])
                return s
        raise AssertionError("no subscription to pick")

    def audit(self) -> list[tuple[str, int, dict[str, Any]]]:
        cache = Cache(self.db)
        try:
            return [
                (r[0], r[1], json.loads(r[2]))
                for r in cache.conn().execute(
                    "SELECT action, customer_id, after FROM audit "
                    "WHERE action LIKE 'retention.%' ORDER BY id"
                )
            ]
        finally:
            cache.close()

    def report(self) -> dict[str, Any]:
        session = Session(load_settings(db=str(self.db), now="2026-11-01T00:00:00Z"))
        try:
            return session.playbook.report(None).to_json()
        finally:
            session.close()
            session.cache.close()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    running = start_in_thread(create_app(SandboxState.generate(150, 8, AS_OF, advance_clock=False)))
    db = tmp_path_factory.mktemp("playbook-ui") / "c.db"
    cache = Cache(db)
    with ApiClient(running.url, "sandbox-key") as client:
        SyncEngine(cache, client).run()
    cache.close()
    made = World(running, db)
    code = next(
        c
        for c in made.start["campaigns"]
        if c["status"] == "active"
        and c["constraints"]["offerTypes"] == ["S"]
        and not c["constraints"]["offers"]
        and not c["constraints"]["tags"]
    )["couponCodes"][-1]
    made.code = code
    pb = parse(
        {
            "format": "srm-playbook",
            "rules": [
                {
                    "name": "Pausable plans",
                    "segment": {
                        "where": {
                            "any": [
                                {"attr": "subscription.offer_id", "op": "starts_with", "value": o}
                                for o in sorted(made.pausable())
                            ]
                        }
                    },
                    "offers": [{"kind": "pause", "cycles": 1}, {"kind": "let-go"}],
                },
                {
                    "name": "Everyone else",
                    "segment": {"where": {"all": []}},
                    "offers": [
                        {"kind": "coupon", "coupon": code},
                        {"kind": "pause", "cycles": 1},
                        {"kind": "extend", "days": 30},
                    ],
                },
            ],
        }
    )
    session = Session(load_settings(db=str(db), now="2026-11-01T00:00:00Z", agent="lead"))
    try:
        assert session.playbook.check(pb) == []
        session.playbook.save(pb, base_version=0)
    finally:
        session.close()
        session.cache.close()
    yield made
    running.stop()


def crash_logs() -> list[str]:
    """The crash logs the console wrote in this test's data folder (conftest's SRM_DATA_DIR)."""
    return sorted(p.name for p in Path(os.environ["SRM_DATA_DIR"]).glob("crash-*.log"))


async def start_cancel(pilot, sub: dict[str, Any]) -> None:
    await open_customer(pilot, sub["customerId"])
    await pilot.press("2")
    await to_row(pilot, "access-table", f"S{sub['subscriptionId']}")
    await pilot.press("c")
    await until(pilot, lambda: name(pilot.app) == "RetentionScreen", "the retention step")


async def test_saved_by_a_pause_with_its_number_key(world):
    sub = world.pick(pausable=True)
    app = make_app(world.db, world.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await start_cancel(pilot, sub)
        text = screen_text(app)
        assert "Pausable plans" in text and "› 1  pause 1 cycle" in text  # "›": highlighted
        assert "  2  let them go" in text and "› 2" not in text
        assert "2  let them go" in text and "cancel anyway" in text
        assert "anniversary date" in text  # what the pause changes
        await pilot.press("down")  # the mark follows the highlight, in text (NO_COLOR)
        await pilot.pause()
        assert "› 2  let them go" in screen_text(app) and "› 1" not in screen_text(app)
        await pilot.press("1")
        await settle(pilot)
        await until(pilot, lambda: name(app) == "CustomerScreen", "back to the customer")
        await settle(pilot)
        # Taking the offer closes both dialogs without an error (it wrote a crash log).
        assert app.crashed is None and app._exception is None
    assert crash_logs() == []
    after = world.sub(sub["subscriptionId"])
    assert after["pause"] is not None and after["status"] != "stopped"
    events = [(a, d) for a, cid, d in world.audit() if cid == sub["customerId"]]
    assert [a for a, _ in events] == ["retention.offered", "retention.taken"]
    assert events[1][1]["describe"] == "pause 1 cycle" and events[1][1]["rule"] == "Pausable plans"


async def test_saved_by_a_coupon_with_enter_and_a_refused_offer_says_why(world):
    sub = world.pick(pausable=False)
    app = make_app(world.db, world.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await start_cancel(pilot, sub)
        text = screen_text(app)
        assert "Everyone else" in text and f"1  apply coupon {world.code}" in text
        assert "refused: pause.not-enabled" in text  # this plan does not allow pausing
        await pilot.press("2")  # a refused offer is not taken: the dialog says why
        await pilot.pause()
        assert name(app) == "RetentionScreen" and "Offer 2 is refused" in screen_text(app)
        await pilot.press("enter")  # the highlighted offer: the first
        await settle(pilot)
        await until(pilot, lambda: name(app) == "CustomerScreen", "back to the customer")
    after = world.sub(sub["subscriptionId"])
    assert after["couponCode"] == world.code and after["status"] == "active"
    events = [(a, d) for a, cid, d in world.audit() if cid == sub["customerId"]]
    assert [a for a, _ in events] == ["retention.offered", "retention.taken"]
    assert events[1][1]["describe"] == f"apply coupon {world.code}"


async def test_cancelled_anyway_with_a_reason_checked_in_place(world):
    sub = world.pick(pausable=False)
    app = make_app(world.db, world.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await start_cancel(pilot, sub)
        await pilot.press("c")
        await pilot.pause()
        # One dialog, one bottom border: the cancel dialog under the step showed its own.
        assert sum("╰" in line for line in screen_text(app).splitlines()) == 1
        await pilot.press("ctrl+s")  # no reason yet: said in place, nothing runs
        await pilot.pause()
        assert name(app) == "RetentionScreen" and "must not be empty" in screen_text(app)
        await type_text(pilot, "Moving abroad")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "Press y to confirm" in screen_text(app)
        assert "stopped" in screen_text(app)  # what the cancel changes
        assert world.sub(sub["subscriptionId"])["status"] == "active"  # not yet
        await pilot.press("y")
        await settle(pilot)
        await until(pilot, lambda: name(app) == "CustomerScreen", "back to the customer")
        await settle(pilot)
        assert app.crashed is None and app._exception is None
    assert crash_logs() == []
    after = world.sub(sub["subscriptionId"])
    assert after["status"] == "stopped" and after["cancellationReason"] == "Moving abroad"
    events = [(a, d) for a, cid, d in world.audit() if cid == sub["customerId"]]
    assert [a for a, _ in events] == ["retention.offered", "retention.declined"]
    assert events[1][1]["reason"] == "Moving abroad"


async def test_esc_leaves_without_doing_anything_and_the_report_counts(world):
    sub = world.pick(pausable=True)
    app = make_app(world.db, world.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await start_cancel(pilot, sub)
        await pilot.press("escape")
        await settle(pilot)
        assert name(app) == "CustomerScreen"
    assert world.sub(sub["subscriptionId"]) == next(
        s for s in world.start["subscriptions"] if s["subscriptionId"] == sub["subscriptionId"]
    )
    report = world.report()
    per_rule = {r["rule"]: r for r in report["rules"]}
    taken = sum(1 for a, _cid, _d in world.audit() if a == "retention.taken")
    declined = sum(1 for a, _cid, _d in world.audit() if a == "retention.declined")
    assert report["taken"] == taken and report["declined"] == declined
    assert per_rule["Pausable plans"]["offered"] >= 1

"""The switch action by keys: w on a subscription row opens its dialog, the preview names the
offers, the price and the direction, a rule's refusal shows before anything runs, and ctrl+s
lands the switch at the sandbox (over loopback)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

from srm_tui.api.client import ApiClient
from srm_tui.domain.lifecycle import subscription_state
from srm_tui.sandbox.runner import start_in_thread
from srm_tui.sandbox.server import create_app
from srm_tui.sandbox.state import SandboxState
from srm_tui.storage.cache import Cache
from srm_tui.sync.engine import SyncEngine
from tests.helpers import screen_text
from tests.ui_keys import make_app, name, open_customer, preview, settle, to_row, type_text

AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)
NOW = int(AS_OF.timestamp())


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    running = start_in_thread(create_app(SandboxState.generate(60, 12, AS_OF, advance_clock=False)))
    db = tmp_path_factory.mktemp("switch-ui") / "c.db"
    cache = Cache(db)
    with ApiClient(running.url, "sandbox-key") as client:
        SyncEngine(cache, client).run()
    cache.close()
    yield running, db
    running.stop()


def export(running) -> dict[str, Any]:
    return httpx.get(running.url.rsplit("/3.1", 1)[0] + "/sandbox/export", timeout=30).json()


def switchable(start: dict[str, Any]) -> tuple[dict[str, Any], str, str]:
    for sub in start["subscriptions"]:
        if (
            sub["status"] != "active"
            or sub["paymentGateway"] not in ("adyen", "paypal")
            or sub.get("isExternallyManaged")
            or subscription_state(sub["status"], sub["inTrial"], sub["dateTo"], NOW) != "active"
        ):
            continue
        same = other = None
        for offer in start["offers"]:
            if not offer["id"].startswith("S") or sub["offerId"].startswith(offer["id"]):
                continue
            for loc in offer["localizations"]:
                if loc["price"]["currency"] == sub["nextPaymentCurrency"]:
                    same = same or loc["id"]
                else:
                    other = other or loc["id"]
        if same and other:
            return sub, same, other
    raise AssertionError("no switchable subscription")


async def test_switch_by_its_key(world):
    running, db = world
    sub, same, other = switchable(export(running))
    app = make_app(db, running.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, sub["customerId"])
        await pilot.press("2")
        await to_row(pilot, "access-table", f"S{sub['subscriptionId']}")
        await pilot.press("w")
        await pilot.pause()
        assert name(app) == "ActionScreen" and "Switch offer" in screen_text(app)
        await type_text(pilot, other)
        assert "Blocked by rule switch.currency" in await preview(pilot)
        await pilot.press("ctrl+u")
        await type_text(pilot, same)
        text = await preview(pilot)
        assert "✔ Allowed" in text and same in text and sub["offerId"] in text
        assert "grade" in text  # the direction, from the two prices
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert name(app) == "CustomerScreen"
    after = next(
        s for s in export(running)["subscriptions"] if s["subscriptionId"] == sub["subscriptionId"]
    )
    assert after["offerId"] == same

"""An action dialog's live preview never closes the console.

Against the sandbox in the vendor profile (in-process, over loopback), whose ``GET /campaigns``
answers ``discount`` as a number: the coupon dialog (C on the Payments tab) previews the
vendor's campaign with its discount. And when the preview fails in a way nobody foresaw (a
failure injected into the coupon's plan), the dialog says it in one plain line, nothing can
run, and the console goes on: esc leaves the dialog, the customer screen answers keys.
"""

from __future__ import annotations

from datetime import datetime, timezone

import httpx
import pytest

from srm_tui.api.client import ApiClient
from srm_tui.sandbox.runner import start_sandbox
from srm_tui.sandbox.state import SandboxState
from srm_tui.storage.cache import Cache
from srm_tui.sync.engine import SyncEngine
from tests.helpers import run_srm
from tests.ui_keys import dialog_text, make_app, name, open_customer, preview, to_row, type_text

AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)
KEY = "sandbox-key"
WEB = ("adyen", "paypal")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """(sandbox, db, code, campaign, subscription): a vendor-profile cache holding the
    campaign of ``code`` (as the vendor answers it) and a couponless active subscription."""
    generated = SandboxState.generate(80, 11, AS_OF, advance_clock=False)
    running = start_sandbox(generated, profile="vendor", api_key=KEY)
    root = running.url.rsplit("/3.1", 1)[0]
    export = httpx.get(f"{root}/sandbox/export", timeout=30).json()
    campaigns = {code: c for c in export["campaigns"] for code in c["couponCodes"]}
    subs = export["subscriptions"]
    counts: dict[int, int] = {}
    for s in subs:
        counts[s["customerId"]] = counts.get(s["customerId"], 0) + 1
    # A customer whose subscription carries an active campaign's code (the sync learns the
    # campaigns of the codes it sees) and one with an active couponless web subscription.
    carrier = next(
        s
        for s in subs
        if campaigns.get(s["couponCode"] or "", {}).get("status") == "active"
        and campaigns[s["couponCode"]]["constraints"]["offerTypes"] == ["S"]
        and not campaigns[s["couponCode"]]["constraints"]["tags"]
        and not campaigns[s["couponCode"]]["constraints"]["offers"]
    )
    target = next(
        s
        for s in subs
        if s["status"] == "active"
        and s["offerId"].startswith("S")
        and s["paymentGateway"] in WEB
        and not s.get("isExternallyManaged")
        and not s["couponCode"]
        and counts[s["customerId"]] == 1
        and s["customerId"] != carrier["customerId"]
    )
    db = tmp_path_factory.mktemp("preview-failure") / "c.db"
    cache = Cache(db)
    with ApiClient(running.url, KEY) as client:
        engine = SyncEngine(cache, client)
        for customer_id in (carrier["customerId"], target["customerId"]):
            assert engine.fetch_customer(customer_id=customer_id) == customer_id
    cache.close()
    env = {"SRM_DB": str(db), "SRM_API_URL": running.url, "SRM_API_KEY": KEY}
    synced = run_srm("sync", env={**env, "SRM_NOW": AS_OF.strftime("%Y-%m-%dT%H:%M:%SZ")})
    assert synced.returncode == 0, synced.stderr
    code = carrier["couponCode"]
    yield running, db, code, campaigns[code], target
    running.stop()


async def open_coupon_dialog(pilot, sub: dict) -> None:
    await open_customer(pilot, sub["customerId"])
    await pilot.press("2")  # Payments
    await pilot.pause()
    await to_row(pilot, "access-table", f"S{sub['subscriptionId']}")
    await pilot.press("C")
    await pilot.pause()
    assert name(pilot.app) == "ActionScreen"


async def test_the_coupon_dialog_previews_the_vendors_campaign(world):
    running, db, code, campaign, sub = world
    app = make_app(db, running.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_coupon_dialog(pilot, sub)
        await type_text(pilot, code)
        text = await preview(pilot)
        assert f"{campaign['discount']['value']:g} % off" in text, text
        assert campaign["name"] in text and "Allowed" in text
        await pilot.press("escape")
        await pilot.pause()
        if name(app) == "ConfirmDialog":  # typed work: leaving asks first
            await pilot.press("y")
            await pilot.pause()
        assert name(app) == "CustomerScreen"
    assert app.return_code in (None, 0)


async def test_an_unexpected_failure_of_the_preview_is_shown_and_the_console_goes_on(
    world, monkeypatch
):
    running, db, code, _campaign, sub = world

    def broken(ctx, code):  # the failure the vendor's number once caused, injected
        raise AttributeError("'int' object has no attribute 'get'\nsecond line")

    monkeypatch.setattr("srm_tui.actions.coupon.campaigns_for", broken)
    app = make_app(db, running.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_coupon_dialog(pilot, sub)
        await type_text(pilot, code)
        text = await preview(pilot)
        assert name(app) == "ActionScreen" and app.is_running
        said = next(
            ln for ln in dialog_text(app).splitlines() if "The preview failed" in ln
        )  # one line: the error's own line breaks are not carried onto the screen
        assert "AttributeError: 'int' object has no attribute 'get' second line" in said
        assert "console is still usable" in said and "The preview failed" in text
        # Nothing runs from a failed preview.
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert name(app) == "ActionScreen" and "The preview failed" in dialog_text(app)
        await pilot.press("escape")
        await pilot.pause()
        if name(app) == "ConfirmDialog":
            await pilot.press("y")
            await pilot.pause()
        assert name(app) == "CustomerScreen" and app.is_running
        await pilot.press("1")  # the console still answers keys
        await pilot.pause()
        assert name(app) == "CustomerScreen"
    assert app.return_code in (None, 0)

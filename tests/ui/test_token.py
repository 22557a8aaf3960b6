"""Token lookup: a customer's JWT verified against the sandbox's JWKS, online and offline."""

from __future__ import annotations

from datetime import datetime, timezone

import httpx
import pytest

from srm_tui.api.client import ApiClient
from srm_tui.app import SrmApp
from srm_tui.config import load_settings
from srm_tui.domain.token import inspect, looks_like_jwt
from srm_tui.sandbox.runner import start_in_thread
from srm_tui.sandbox.server import create_app
from srm_tui.sandbox.state import SandboxState
from srm_tui.storage.cache import Cache
from srm_tui.sync.engine import SyncEngine
from tests.helpers import screen_text

AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def sandbox():
    running = start_in_thread(create_app(SandboxState.generate(30, 4, AS_OF)))
    yield running
    running.stop()


def _token(sandbox, customer_id, ttl=900):
    root = sandbox.url.rsplit("/3.1", 1)[0]
    r = httpx.post(f"{root}/sandbox/tokens", json={"customerId": customer_id, "ttl": ttl})
    assert r.status_code == 201, r.text
    return r.json()["jwt"]


def _customer_ids(sandbox):
    root = sandbox.url.rsplit("/3.1", 1)[0]
    return [c["id"] for c in httpx.get(f"{root}/sandbox/export").json()["customers"]]


def test_inspect_valid_tampered_expired(sandbox):
    from srm_tui.api.jwks import jwks_url

    customer = _customer_ids(sandbox)[0]
    key_set = httpx.get(jwks_url(sandbox.url)).json()
    token = _token(sandbox, customer)
    assert looks_like_jwt(token)
    now = int(datetime.now(timezone.utc).timestamp())
    info = inspect(token, key_set, now)
    assert info.signature == "valid" and info.customer_id == customer and not info.expired
    head, body, sig = token.split(".")
    forged = inspect(f"{head}.{body}.{sig[:-4]}AAAA", key_set, now)
    assert forged.signature == "invalid"
    assert inspect(_token(sandbox, customer, ttl=-120), key_set, now).expired
    assert inspect(token, None, now).signature.startswith("unverified")


async def test_console_token_lookup_online_then_offline(sandbox, tmp_path):
    db = tmp_path / "c.db"
    cache = Cache(db)
    with ApiClient(sandbox.url, "sandbox-key") as client:
        SyncEngine(cache, client).run()
    customer = _customer_ids(sandbox)[3]
    token = _token(sandbox, customer)
    settings = load_settings(db=str(db), api_url=sandbox.url, api_key="sandbox-key")
    app = SrmApp(settings, cache, sync_on_start=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("colon")
        await pilot.pause()
        from textual.widgets import Input

        app.screen.query_one(Input).value = token
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause(0.3)
        await app.workers.wait_for_complete()
        await pilot.pause()
        text = screen_text(app)
        assert "signature valid" in text and f"customer {customer}" in text
        assert "expires in" in text
        await pilot.press("enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "CustomerScreen"
        assert app.screen.customer_id == customer
    # Offline (no API configured): the key set cached on the first lookup still verifies.
    offline = SrmApp(load_settings(db=str(db)), Cache(db), sync_on_start=False)
    async with offline.run_test(size=(120, 40)) as pilot:
        offline.open_token(token)
        await pilot.pause()
        await offline.workers.wait_for_complete()
        await pilot.pause()
        text = screen_text(offline)
        assert "signature valid" in text and "offline" in text

"""The Payments and Transactions tabs against the vendor profile: the vendor publishes no call
listing payment details or transactions, so the tabs say so with the vendor's way, never an
empty table read as "none on file"."""

from __future__ import annotations

import pytest

from srm_tui.sandbox.runner import start_sandbox
from srm_tui.sandbox.state import SandboxState
from tests.conftest import AS_OF
from tests.helpers import run_srm, screen_text
from tests.ui_keys import make_app, open_customer, settle


@pytest.fixture(scope="module", params=["vendor", "sandbox"])
def server(request):
    running = start_sandbox(SandboxState.generate(30, 5, AS_OF), profile=request.param)
    yield request.param, running
    running.stop()


def _customer_with_card(state_export) -> int:
    holders = {p["customerId"] for p in state_export.get("payment_details", [])}
    return next(c["id"] for c in state_export["customers"] if c["id"] in holders)


async def test_payments_tab_names_what_the_api_does_not_list(server, tmp_path):
    import httpx

    name, running = server
    export = httpx.get(running.url.rsplit("/3.1", 1)[0] + "/sandbox/export", timeout=60).json()
    cid = _customer_with_card(export)
    db = tmp_path / "c.db"
    env = {"SRM_API_URL": running.url, "SRM_API_KEY": "sandbox-key", "SRM_DB": str(db)}
    result = run_srm("fetch", str(cid), "--json", env=env)  # learns and remembers the profile
    assert result.returncode == 0, result.stderr
    app = make_app(db, running.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, cid)
        await pilot.press("2")
        await settle(pilot, 0.1)
        shown = screen_text(app)
        table = app.screen.query_one("#pd-table")
        if name == "vendor":
            assert "Payment details: not offered by this API." in shown, shown
            assert "Cleeng dashboard" in shown
            assert "Payment details on file" not in shown
            assert not table.display
        else:
            assert "Payment details on file" in shown
            assert "not offered" not in shown
            assert table.display and table.row_count >= 1
        await pilot.press("3")  # transactions: the same, never "No transactions."
        await settle(pilot, 0.1)
        shown = screen_text(app)
        if name == "vendor":
            assert "Transactions: not offered by this API." in shown, shown
            assert "No transactions." not in shown
        else:
            assert "not offered" not in shown

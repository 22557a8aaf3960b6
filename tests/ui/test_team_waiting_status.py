"""An agent's console on the team store says "waiting for the team's sync" while the refresh its
push asked of the store's writer waits (storage/requests.py), and stops saying it once the
team's `srm sync` has served it. A real sandbox, a real PostgreSQL store, real logins; the note
is added by keys and sent by the console."""

from __future__ import annotations

import psycopg

from srm_tui import runtime
from srm_tui.app import SrmApp
from srm_tui.config import load_settings
from tests.helpers import SandboxProcess, run_srm, status_line
from tests.ui_keys import open_customer, run_confirmed, settle, type_text

NOW = "2026-11-01T00:00:00Z"
CUSTOMERS, SEED = 60, 5
KEY = "k-waiting"


async def test_the_status_line_says_while_the_agents_refresh_waits(pg_store, pg_login):
    url = pg_store(CUSTOMERS, SEED)
    agent, writer = pg_login(url, "srm_agent"), pg_login(url, "srm_sync")
    with psycopg.connect(url) as conn:
        customer_id = conn.execute("SELECT min(id) FROM customers").fetchone()[0]
    sandbox = SandboxProcess(
        "--customers", str(CUSTOMERS), "--seed", str(SEED), "--as-of", NOW, "--api-key", KEY
    )
    stores = []
    try:
        settings, store = runtime.open_console_store(
            load_settings(
                db=agent, now=NOW, agent="anna", role="agent", api_url=sandbox.url, api_key=KEY
            )
        )
        stores.append(store)
        app = SrmApp(settings, store, sync_on_start=False)
        async with app.run_test(size=(140, 45)) as pilot:
            app.refresh_status()
            await settle(pilot)
            assert "waiting for the team's sync" not in status_line(app)
            await open_customer(pilot, customer_id)
            await pilot.press("5", "n")
            await type_text(pilot, "sent, the store follows")
            await run_confirmed(pilot)
            app.refresh_status()
            await settle(pilot)
            status = status_line(app)
            assert "waiting for the team's sync" in status, status
            # The team's writer serves it (a one-shot sync here; a watch does it at once).
            synced = run_srm(
                "sync",
                env={"SRM_DB": writer, "SRM_NOW": NOW, "SRM_API_URL": sandbox.url,
                     "SRM_API_KEY": KEY},
                timeout=600,
            )  # fmt: skip
            assert synced.returncode == 0, synced.stderr
            app.refresh_status()
            await settle(pilot)
            status = status_line(app)
            assert "waiting for the team's sync" not in status, status
            assert "by the team's srm sync" in status, status
            app.exit()
    finally:
        for opened in stores:
            opened.close()
        sandbox.stop()
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT kind, done_at IS NOT NULL FROM store_requests").fetchall() == [
            ("refresh", True)
        ]

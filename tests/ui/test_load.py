"""Load: 10,000 queued actions through a rate-limited API, and two srm processes on one cache.

The sandbox counts what it saw (``GET /sandbox/stats``): calls, 429 answers, the most calls
it let through in any one second, how soon a call followed a 429, writes applied.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

import httpx
import pytest
from textual.widgets import Input, TextArea

from srm_tui.actions import ActionService
from srm_tui.config import load_settings
from srm_tui.storage.cache import Cache
from tests.helpers import SandboxProcess, cache_matches_export, run_srm, srm_env
from tools.console_session import type_keys, until

AS_OF = "2026-11-01T00:00:00Z"
ACTIONS = int(os.environ.get("SRM_LOAD_ACTIONS", "10000"))
RATE = 250  # requests per second the sandbox allows (a little under what one push sends)


def stats(sandbox: SandboxProcess) -> dict:
    return httpx.get(f"{sandbox.root}/sandbox/stats", timeout=30).json()


@pytest.mark.slow
def test_ten_thousand_queued_actions_pass_a_rate_limit_exactly_once(tmp_path):
    sandbox = SandboxProcess(
        "--customers", "100", "--seed", "41", "--as-of", AS_OF, "--rate-limit", str(RATE)
    )
    try:
        db = tmp_path / "c.db"
        env = srm_env(sandbox, db, SRM_NOW=AS_OF, SRM_AGENT="anna")
        assert run_srm("sync", env=env).returncode == 0
        customers = [c["id"] for c in sandbox.export()["customers"]]
        service = ActionService(
            Cache(db), load_settings(db=str(db), agent="anna", role="agent", now=AS_OF)
        )
        edits = {cid: f"Load{i}" for i, cid in enumerate(customers[50:100])}
        for i in range(ACTIONS - len(edits)):
            service.run("note-add", customer_id=customers[i % 50], text=f"load note {i}")
        for cid, name in edits.items():
            service.run("edit", customer_id=cid, first_name=name)
        assert len(service.pending()) == ACTIONS
        service.close()
        service.cache.close()
        before = stats(sandbox)
        # The push's first two calls meet the limit whatever speed this machine sends at (a
        # loaded machine may never send faster than RATE); the bucket limits the rest.
        limit = httpx.put(f"{sandbox.root}/sandbox/limit", json={"refuse": 2}, timeout=30)
        assert limit.status_code == 200, limit.text

        started = time.monotonic()
        pushed = run_srm("outbox", "push", "--json", env=env, timeout=900)
        seconds = time.monotonic() - started
        assert pushed.returncode == 0, pushed.stderr
        summary = json.loads(pushed.stdout)
        assert len(summary["sent"]) == ACTIONS and summary["remaining"] == 0

        seen = stats(sandbox)
        state = sandbox.export()
        texts = [n["text"] for n in state["notes"] if n["text"].startswith("load note ")]
        assert len(texts) == len(set(texts)) == ACTIONS - len(edits)  # each once, none lost
        names = {c["id"]: c["firstName"] for c in state["customers"]}
        assert all(names[cid] == name for cid, name in edits.items())
        assert seen["writes_applied"] - before["writes_applied"] == ACTIONS
        # The limit was met, and every time the client waited as long as it was told.
        assert seen["rate_limited"] >= 2, seen
        assert seen["early_after_429"] == 0 and seen["min_gap_after_429"] >= 0.95, seen
        # The bucket lets RATE a second through plus a burst of RATE: never more.
        assert seen["max_admitted_per_second"] <= 2 * RATE, seen
        calls = seen["calls"] - before["calls"]
        print(
            f"\n{ACTIONS} actions pushed in {seconds:.1f} s ({ACTIONS / seconds:.0f}/s), "
            f"{calls} calls, {seen['rate_limited']} answered 429, at most "
            f"{seen['max_admitted_per_second']} let through in a second"
        )
        cache = Cache(db)
        try:
            statuses = dict(
                cache.conn()
                .execute("SELECT status, count(*) FROM outbox GROUP BY status")
                .fetchall()
            )
        finally:
            cache.close()
        assert statuses == {"sent": ACTIONS}
    finally:
        sandbox.stop()


OTHER = """
import json, os, sys
from srm_tui.config import load_settings
from srm_tui.segments import export, loads
from srm_tui.session import Session
from srm_tui.storage import facts
from srm_tui.storage.cache import Cache

settings = load_settings()
cache = Cache(settings.db)
session = Session(settings, cache)
segment = loads(open(sys.argv[2]).read())
stop = sys.argv[1]  # a file the console creates once it has done its share of the work
runs = 0
print("started", flush=True)
while not os.path.exists(stop) or runs < 2:
    with session.client() as client:  # a sync, pruning included
        session.sync_engine(client).run(full=True)
    with cache.transaction() as tx:  # a scheduled export settles the segment facts first
        facts.ensure_facts(tx)
    export(cache.conn(), segment, settings.now_ts(), "csv", sys.argv[3], force=True)
    runs += 1
print(json.dumps({"runs": runs, "max_lock_wait": cache.max_lock_wait,
                  "max_lock_held": cache.max_lock_held}), flush=True)
"""


async def test_console_and_a_second_process_share_a_cache_without_waiting(tmp_path):
    """The console (search, open, add notes) while another srm process syncs in full and
    exports a segment again and again on the same file: neither waits a second for the
    other, and the file stays whole."""
    from srm_tui.app import SrmApp

    sandbox = SandboxProcess("--customers", "300", "--seed", "43", "--as-of", AS_OF)
    try:
        db = tmp_path / "c.db"
        env = srm_env(sandbox, db, SRM_NOW=AS_OF, SRM_AGENT="ops", SRM_PAGE_SIZE="200")
        assert run_srm("sync", env=env).returncode == 0
        segment = tmp_path / "everyone.json"
        segment.write_text(json.dumps({"version": 1, "name": "everyone", "where": {"all": []}}))
        customers = [c["id"] for c in sandbox.export()["customers"] if c["email"]][:6]
        # The other process syncs and exports until the console has written its notes (and
        # at least twice): the two overlap by construction, however fast the machine is.
        stop = tmp_path / "console-done"
        other = subprocess.Popen(
            [sys.executable, "-c", OTHER, str(stop), str(segment), str(tmp_path / "out.csv")],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert other.stdout.readline().strip() == "started"
        settings = load_settings(
            db=str(db),
            api_url=sandbox.url,
            api_key="sandbox-key",
            agent="anna",
            role="agent",
            now=AS_OF,
        )
        cache = Cache(db)
        app = SrmApp(settings, cache, sync_on_start=False)
        notes = 0
        async with app.run_test(size=(120, 40)):
            assert await until(app, lambda: type(app.screen).__name__ == "CustomersScreen")
            while notes < 4:
                assert other.poll() is None, other.communicate()
                customer = customers[notes % len(customers)]
                await type_keys(app, "slash")
                await until(app, lambda: isinstance(app.focused, Input))
                # Emptied first and seen empty: Input's own keys (ctrl+a, ctrl+k) are bindings,
                # handled once the key has bubbled up to the app, so digits typed in the same
                # burst can land before them.
                await type_keys(app, "ctrl+a", "ctrl+k")
                await until(
                    app,
                    lambda: isinstance(app.focused, Input) and app.focused.value == "",
                    "search box emptied",
                )
                # One Enter opens the highlighted result (the customer, an exact id match).
                await type_keys(app, *str(customer), "enter")

                def opened() -> bool:
                    return (
                        type(app.screen).__name__ == "CustomerScreen"
                        and app.screen.customer_id == customer
                    )

                if not await until(app, opened):
                    # Seen once in CI on a loaded machine, never reproduced: say what the
                    # screen held, then type the query once more. This test is about the
                    # lock, the search itself is proven in test_console and test_search.
                    box = (
                        app.screen.query("#search").first(Input)
                        if app.screen.query("#search")
                        else None
                    )
                    print(
                        f"customer {customer} not opened: screen={app.screen!r} "
                        f"box={box.value if box else None!r} focused={app.focused!r}"
                    )
                    await type_keys(app, "slash")
                    await until(app, lambda: isinstance(app.focused, Input))
                    await type_keys(app, "ctrl+a", "ctrl+k")
                    await until(
                        app,
                        lambda: isinstance(app.focused, Input) and app.focused.value == "",
                        "search box emptied",
                    )
                    await type_keys(app, *str(customer), "enter")
                    assert await until(app, opened, timeout=30)
                await type_keys(app, "n")
                await until(app, lambda: isinstance(app.focused, TextArea))
                await type_keys(app, *f"shared{notes}", "ctrl+s")
                assert await until(
                    app, lambda: type(app.screen).__name__ == "CustomerScreen", timeout=20
                )
                notes += 1
                await type_keys(app, "escape")
                await until(app, lambda: type(app.screen).__name__ == "CustomersScreen")
                await asyncio.sleep(0.05)
            stop.touch()
        out, err = other.communicate(timeout=60)
        assert other.returncode == 0, err
        theirs = json.loads(out.strip().splitlines()[-1])
        ours = {"max_lock_wait": cache.max_lock_wait, "max_lock_held": cache.max_lock_held}
        cache.close()
        print(
            f"\nconsole: {notes} notes, waited at most {ours['max_lock_wait'] * 1000:.0f} ms "
            f"for the lock (held it at most {ours['max_lock_held'] * 1000:.0f} ms); other "
            f"process: {theirs['runs']} full syncs + exports, waited at most "
            f"{theirs['max_lock_wait'] * 1000:.0f} ms (held at most "
            f"{theirs['max_lock_held'] * 1000:.0f} ms)"
        )
        assert notes == 4 and theirs["runs"] >= 2
        assert ours["max_lock_wait"] < 1.0 and theirs["max_lock_wait"] < 1.0
        texts = [n["text"] for n in sandbox.export()["notes"]]
        assert all(texts.count(f"shared{i}") == 1 for i in range(notes))
        assert run_srm("sync", env=env).returncode == 0
        assert cache_matches_export(db, sandbox.export()) == []
    finally:
        sandbox.stop()

"""A hostile API: the sandbox with 30 % faults of every kind (``--faults 0.3 --hostile``).

Slow answers, connections dropped mid-body (writes applied first), wrong content types, HTML
error pages with 200, huge bodies, repeated ids, dates in the wrong format and money as
strings, on top of 500/503/429/stalls/truncated bodies. Sync completes or stops with one clear
line, keeps what it cannot read in quarantine, and ends equal to the API once the faults
stop; queued actions are applied exactly once; the console answers keys while it syncs.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time

import httpx

from srm_tui.actions import ActionService
from srm_tui.app import SrmApp
from srm_tui.config import load_settings
from srm_tui.storage.cache import Cache
from tests.helpers import SandboxProcess, cache_matches_export, run_srm, srm_env
from tools.console_session import type_keys, until

AS_OF = "2026-11-01T00:00:00Z"
KINDS = {
    "500",
    "503",
    "429",
    "stall",
    "truncate",
    "slow",
    "drop",
    "ctype",
    "html",
    "huge",
    "dupes",
    "dates",
    "money",
}
MET: set[str] = set()  # the fault kinds the tests below met, all together


def hostile_sandbox(customers: int, seed: int, *extra: str) -> SandboxProcess:
    return SandboxProcess(
        "--customers",
        str(customers),
        "--seed",
        str(seed),
        "--as-of",
        AS_OF,
        "--faults",
        "0.3",
        "--hostile",
        "--stall-seconds",
        "1",
        "--slow-seconds",
        "1",
        *extra,
    )


def admin(sandbox: SandboxProcess, method: str, path: str, **kw):
    return httpx.request(method, f"{sandbox.root}/sandbox/{path}", timeout=30, **kw).json()


def _one_clear_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.startswith("srm: ")]
    assert lines, stderr
    return lines[-1]


def _open_quarantine(db) -> int:
    cache = Cache(db)
    try:
        return (
            cache.conn()
            .execute(
                "SELECT count(*) FROM quarantine WHERE resolved_at IS NULL AND source = 'record'"
            )
            .fetchone()[0]
        )
    finally:
        cache.close()


def _sync_until_done(sandbox, env, attempts: int = 4) -> list:
    """Sync while the API is hostile: each run ends well or with one clear line."""
    runs: list = []
    for _ in range(attempts):
        result = run_srm("sync", "--json", env=env)
        if result.returncode == 0:
            runs.append(json.loads(result.stdout))
            break
        assert result.returncode in (1, 3), result.stderr
        runs.append(_one_clear_line(result.stderr))
    return runs


def test_unreadable_records_are_quarantined_then_asked_for_again(tmp_path):
    """Half the answers spoiled: bad dates, money as strings, repeated ids, HTML, huge."""
    sandbox = hostile_sandbox(
        80, 29, "--faults", "0.5", "--fault-kinds", "dates,money,dupes,html,huge"
    )
    try:
        db = tmp_path / "c.db"
        env = srm_env(sandbox, db, SRM_PAGE_SIZE="50")
        runs = _sync_until_done(sandbox, env)
        assert isinstance(runs[-1], dict), runs
        stats = admin(sandbox, "GET", "stats")
        assert {"dates", "money", "dupes", "html", "huge"} <= set(stats["faults"]), stats
        MET.update(stats["faults"])
        export = sandbox.export()
        cache = Cache(db)
        try:
            conn = cache.conn()
            reasons = [
                r[0] for r in conn.execute("SELECT reason FROM quarantine WHERE source = 'record'")
            ]
            # Money sent as "9.99" was read as the number it is; no string is kept.
            from srm_tui.storage.payload import decode_raw

            kinds = {
                type(decode_raw(r[0]).get("amount")).__name__
                for r in conn.execute("SELECT raw FROM transactions")
            }
            assert kinds in ({"float"}, {"int", "float"})
            for entity, _key in (("customers", "id"), ("transactions", "transactionId")):
                n = conn.execute(f"SELECT count(*) FROM {entity}").fetchone()[0]
                assert n <= len(export[entity])  # a repeated id is written once
        finally:
            cache.close()
        assert reasons and all(reasons), reasons
        # A spoiled date is named by its field (regDate, dateTo, transactionDate, createdAt...).
        assert any(w in r.lower() for r in reasons for w in ("date", "createdat", "expiresat")), (
            reasons
        )
        # The next sync asks the API again for what it could not read; once the answers are
        # right, nothing stays in quarantine and the cache equals the API.
        admin(sandbox, "PUT", "faults", json={"rate": 0})
        final = run_srm("sync", "--json", env=env)
        assert final.returncode == 0, final.stderr
        assert json.loads(final.stdout)["resolved"] >= 1
        assert _open_quarantine(db) == 0
        assert cache_matches_export(db, sandbox.export()) == []
    finally:
        sandbox.stop()


def test_queued_actions_reach_a_hostile_api_exactly_once(tmp_path):
    sandbox = hostile_sandbox(60, 31)
    try:
        db = tmp_path / "c.db"
        admin(sandbox, "PUT", "faults", json={"rate": 0})
        assert run_srm("sync", env=srm_env(sandbox, db)).returncode == 0
        admin(sandbox, "PUT", "faults", json={"rate": 0.3})
        customers = [c["id"] for c in sandbox.export()["customers"]]
        settings = load_settings(db=str(db), agent="kim", role="agent", now=AS_OF)
        service = ActionService(Cache(db), settings)
        texts = [f"hostile note {i}" for i in range(30)]
        for i, text in enumerate(texts):  # a few customers: each is refreshed once a push
            service.run("note-add", customer_id=customers[i % 3], text=text)
        service.close()
        service.cache.close()
        env = srm_env(sandbox, db, SRM_TIMEOUT="5")
        for _ in range(10):
            pushed = run_srm("outbox", "push", "--json", env=env)
            assert "Traceback" not in pushed.stderr
            if json.loads(pushed.stdout)["remaining"] == 0:
                break
        stats = admin(sandbox, "GET", "stats")
        assert stats["faults"].get("drop", 0) > 0 and stats["replays"] > 0, stats
        MET.update(stats["faults"])
        notes = [n["text"] for n in sandbox.export()["notes"]]
        assert [notes.count(t) for t in texts] == [1] * len(texts)
    finally:
        sandbox.stop()


async def test_console_handles_every_key_while_it_syncs_a_hostile_api(tmp_path):
    """The real app's background sync pulls the API at 30 % faults of every kind while keys
    move the list; afterwards the command line finishes the sync and the cache equals it."""
    sandbox = hostile_sandbox(300, 37)
    try:
        db = tmp_path / "c.db"
        seeded = run_srm(
            "sandbox",
            "seed-db",
            "--customers",
            "300",
            "--seed",
            "37",
            "--as-of",
            AS_OF,
            "--db",
            str(db),
        )
        assert seeded.returncode == 0, seeded.stderr  # rows to move over; no checkpoint yet
        settings = load_settings(
            db=str(db),
            api_url=sandbox.url,
            api_key="sandbox-key",
            agent="kim",
            role="agent",
            now=AS_OF,
            page_size=200,
            timeout=5,
        )
        app = SrmApp(settings, Cache(db), sync_on_start=True)
        latencies: list[float] = []
        async with app.run_test(size=(120, 40)):
            assert await until(app, lambda: type(app.screen).__name__ == "CustomersScreen")
            table = app.screen.query_one("CustomerTable")
            table.focus()
            assert await until(app, lambda: app.sync_state.startswith("syncing"), timeout=20)
            keys = ["j"] * 20 + ["k"] * 20
            while app.sync_state.startswith(("syncing", "sending", "connecting")):
                for key in keys:
                    before = table.cursor
                    started = time.perf_counter()
                    await type_keys(app, key, gap=0)
                    moved = await until(app, lambda: table.cursor != before, timeout=2, step=0.0005)
                    assert moved, f"{key} was not handled"
                    latencies.append(time.perf_counter() - started)
                    await asyncio.sleep(0.03)
            status = app.sync_state
        # It ended well or said why on the status line.
        assert status == "" or status.startswith(("sync failed: ", "sync: ")), status
        assert len(latencies) >= 80, len(latencies)
        latencies.sort()
        p99 = latencies[int(len(latencies) * 0.99) - 1]
        print(
            f"\nkey latency while syncing a hostile API: median "
            f"{statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max "
            f"{latencies[-1] * 1000:.1f} ms over {len(latencies)} keys; sync ended with "
            f"{status or 'ok'!r}"
        )
        # Every key was handled while the sync ran (checked above); how fast is measured and
        # printed, never asserted: a test may not depend on the machine's speed (bench/ keeps
        # the latency figures).
        env = srm_env(sandbox, db, SRM_PAGE_SIZE="100", SRM_TIMEOUT="5")
        _sync_until_done(sandbox, env, attempts=2)  # still hostile: ends well or clearly
        MET.update(admin(sandbox, "GET", "stats")["faults"])
        admin(sandbox, "PUT", "faults", json={"rate": 0})
        final = run_srm("sync", "--json", env=env)
        assert final.returncode == 0, final.stderr
        assert _open_quarantine(db) == 0
        assert cache_matches_export(db, sandbox.export()) == []
    finally:
        sandbox.stop()


def test_every_kind_of_fault_was_met():
    """Together, the runs above met every kind of fault the hostile sandbox has."""
    assert MET == KINDS, KINDS - MET

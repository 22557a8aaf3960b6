"""`srm sync --watch` and the store's writer serving requests (issue 15, ISSUE15 1(d)), through
the real command against a real sandbox over loopback and a real PostgreSQL server.

On the team store an agent's push never writes the vendor's tables: after the API took its
action it queues a refresh (after an anonymization also a forget) that the writer serves. A
running watch is woken by NOTIFY and brings the customer into the store while its next sync is
an hour away; SIGTERM ends it with exit 0 and the writer lock released; a second watch exits 1
naming the first; without a watch, the next one-shot `srm sync` serves what waits.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from srm_tui.storage import requests
from srm_tui.storage.db import open_store
from srm_tui.sync.watch import SYNC_INSTEAD_OVER
from tests.helpers import SRM, run_srm, wait_for
from tests.integration.test_anonymize import has_live_access

AS_OF = "2026-11-01T00:00:00Z"
KEY = "k3y-for-the-watch"
CUSTOMERS, SEED = 60, 5


@pytest.fixture(scope="module")
def sandbox(sandbox_process):
    return sandbox_process(
        "--customers", str(CUSTOMERS), "--seed", str(SEED), "--as-of", AS_OF, "--api-key", KEY
    )


def _env(db: str, sandbox) -> dict[str, str]:
    return {"SRM_DB": db, "SRM_NOW": AS_OF, "SRM_AGENT": "anna", "SRM_API_URL": sandbox.url,
            "SRM_API_KEY": KEY}  # fmt: skip


def _rows(url: str, sql: str, *args):
    opened = open_store(url)
    try:
        return [tuple(r) for r in opened.conn().execute(sql, args).fetchall()]
    finally:
        opened.close()


def _peek(db: Path, sql: str):
    """Rows of a cache another process is still making (None until it can be read): read
    only, so the reader never migrates it under its writer."""
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    except sqlite3.Error:
        return None
    try:
        return conn.execute(sql).fetchall()
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def _cycles(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _login(url: str) -> str:
    return urlsplit(url).username or ""


def _start_watch(db: str, sandbox, out: Path, every: str = "3600") -> subprocess.Popen:
    return subprocess.Popen(
        [*SRM, "sync", "--watch", "--every", every, "--json"],
        env={**os.environ, **_env(db, sandbox)},
        stdout=out.open("w"),
        stderr=subprocess.PIPE,
        text=True,
    )


def _stop(watch: subprocess.Popen) -> tuple[int, str]:
    """SIGTERM the watch; its exit code and stderr (SIGKILL only if it never ends)."""
    if watch.poll() is None:
        watch.send_signal(signal.SIGTERM)
    try:
        _, err = watch.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        watch.kill()
        _, err = watch.communicate()
    return watch.returncode, err


def test_the_watch_serves_an_agents_refresh_and_ends_on_sigterm(
    pg_store, pg_login, sandbox, tmp_path
):
    store = pg_store(CUSTOMERS, SEED)
    writer, agent = pg_login(store, "srm_sync"), pg_login(store, "srm_agent")
    out = tmp_path / "watch.jsonl"
    watch = _start_watch(writer, sandbox, out)
    try:
        # The first cycle is a sync; the next one is an hour away.
        assert wait_for(lambda: _cycles(out), timeout=300, interval=0.1), (
            watch.stderr.read() if watch.poll() is not None else "no cycle"
        )
        first = _cycles(out)[0]
        assert first["cycle"] == 1 and first["sync"]["ok"] is True and first["errors"] == []
        assert first["sync"]["mode"] == "incremental"

        # A second watch (or sync) is refused, naming the first.
        second = run_srm("sync", "--watch", env=_env(writer, sandbox), timeout=300)
        assert second.returncode == 1, second.stderr
        line = second.stderr.strip().splitlines()[-1]
        assert line.startswith(
            f"srm sync: the store is being written by srm sync (pid {watch.pid} on "
            f"{socket.gethostname()} as {_login(writer)} since "
        ), line
        assert "Traceback" not in second.stderr

        customer = sandbox.export()["customers"][3]
        cid = customer["id"]
        assert customer["lastName"] != "Zweig"
        edited = run_srm(
            "customer", "edit", str(cid), "--last-name", "Zweig", "--yes", "--json",
            env=_env(agent, sandbox), timeout=300,
        )  # fmt: skip
        assert edited.returncode == 0, edited.stderr
        outcome = json.loads(edited.stdout)
        assert outcome["status"] == "applied"
        assert outcome["message"].endswith("(the team's srm sync brings it into the store)")
        # The agent wrote no vendor table; the watch, woken, brings the customer at once.
        assert wait_for(
            lambda: (
                _rows(store, "SELECT last_name FROM customers WHERE id = ?", cid) == [("Zweig",)]
            ),
            timeout=300,
            interval=0.1,
        ), out.read_text()
        (outbox_id,) = _rows(
            store, "SELECT id FROM outbox WHERE customer_id = ? AND action = 'edit'", cid
        )[0]
        assert wait_for(
            lambda: (
                _rows(store, "SELECT count(*) FROM store_requests WHERE done_at IS NULL") == [(0,)]
            ),
            timeout=300,
            interval=0.1,
        )
        assert _rows(
            store,
            "SELECT kind, customer_id, outbox_id, requested_by, error FROM store_requests",
        ) == [("refresh", cid, outbox_id, _login(agent), None)]
        served = [c for c in _cycles(out) if c["requests"] and c["requests"]["done"]]
        assert served and served[0]["sync"] is None  # served between syncs, not by one
        assert served[0]["requests"]["refreshed"] == 1

        # A bulk run's worth of refreshes (asked in one commit): one sync brings them all
        # instead of a fetch per customer.
        others = [c["id"] for c in sandbox.export()["customers"] if c["id"] != cid]
        others = others[: SYNC_INSTEAD_OVER + 5]
        assert len(others) > SYNC_INSTEAD_OVER
        asking = open_store(agent)
        try:
            with asking.transaction():
                for customer_id in others:
                    requests.queue(asking, "refresh", customer_id, now=1)
        finally:
            asking.close()
        assert wait_for(
            lambda: any((c["sync"] or {}).get("requests_settled") for c in _cycles(out)),
            timeout=300,
            interval=0.1,
        ), out.read_text()
        (bulk,) = [c for c in _cycles(out) if (c["sync"] or {}).get("requests_settled")]
        assert bulk["sync"]["requests_settled"] == len(others) and bulk["sync"]["ok"] is True
        assert bulk["requests"]["refreshed"] == 0 and bulk["requests"]["waiting"] == 0
    finally:
        code, err = _stop(watch)
    assert code == 0, err
    assert "Traceback" not in err
    # The lock went with it: the store names no writer, and a new sync runs.
    assert _rows(store, "SELECT count(*) FROM store_writers") == [(0,)]
    again = run_srm("sync", "--json", env=_env(writer, sandbox), timeout=300)
    assert again.returncode == 0, again.stderr


def test_a_watch_whose_writer_lock_is_lost_stops_writing_and_exits_1(
    pg_store, pg_login, pg_cluster, sandbox, tmp_path
):
    """The lock lives as long as its connection: a terminated backend (or a restarted
    server) has dropped it and another writer may take it, so the watch ends, says so and
    exits 1 instead of writing beside that writer."""
    store = pg_store(CUSTOMERS, SEED)
    writer = pg_login(store, "srm_sync")
    out = tmp_path / "watch.jsonl"
    watch = _start_watch(writer, sandbox, out)
    try:
        assert wait_for(lambda: _cycles(out), timeout=300, interval=0.1), (
            watch.stderr.read() if watch.poll() is not None else "no cycle"
        )
        pg_cluster.admin_execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE application_name = 'srm sync pid={watch.pid} host={socket.gethostname()}'"
        )
        _, err = watch.communicate(timeout=300)
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.wait()
    assert watch.returncode == 1, err
    assert err.strip().splitlines()[-1] == (
        "srm sync --watch: the store's writer lock was lost (the server restarted or ended its "
        "connection); nothing more was written. Start srm sync --watch again"
    )
    # Another writer takes the store at once.
    again = run_srm("sync", "--json", env=_env(writer, sandbox), timeout=300)
    assert again.returncode == 0, again.stderr


def test_without_a_watch_the_next_sync_forgets_an_agents_anonymized_customer(
    pg_store, pg_login, sandbox
):
    from srm_tui.config import load_settings
    from srm_tui.session import Session

    store = pg_store(CUSTOMERS, SEED)
    writer, agent = pg_login(store, "srm_sync"), pg_login(store, "srm_agent")
    export = sandbox.export()
    customer = next(
        c
        for c in sorted(export["customers"], key=lambda c: -c["id"])
        if c["email"] and c["lastName"] and not has_live_access(export, c["id"])
    )
    cid = str(customer["id"])
    assert json.loads(
        run_srm("search", customer["email"], "--json", env=_env(store, sandbox)).stdout
    )
    done = run_srm(
        "customer", "anonymize", cid, "--yes", "--json", env=_env(agent, sandbox), timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "applied"
    served = next(c for c in sandbox.export()["customers"] if c["id"] == customer["id"])
    assert served["email"] != customer["email"]
    # Asked of the writer: a refresh and a forget wait, and the agent's console says so.
    assert _rows(
        store,
        "SELECT kind, requested_by FROM store_requests WHERE done_at IS NULL ORDER BY id",
    ) == [("refresh", _login(agent)), ("forget", _login(agent))]
    with Session(load_settings(db=agent, now=AS_OF)) as session:
        assert session.waiting_for_writer() == 2
    with Session(load_settings(db=writer, now=AS_OF)) as session:
        assert session.waiting_for_writer() == 0  # the writer's own console waits for no one

    synced = run_srm("sync", "--json", env=_env(writer, sandbox), timeout=300)
    assert synced.returncode == 0, synced.stderr
    assert json.loads(synced.stdout)["requests_served"] == 2
    assert _rows(store, "SELECT count(*) FROM store_requests WHERE done_at IS NULL") == [(0,)]
    assert _rows(store, "SELECT personal FROM store_requests") == [(None,), (None,)]
    for value in (customer["email"], customer["lastName"]):
        found = run_srm("search", value, "--json", env=_env(store, sandbox))
        assert all(c["id"] != customer["id"] for c in json.loads(found.stdout)), value
    shown = run_srm("customer", "show", cid, "--json", env=_env(store, sandbox)).stdout
    assert customer["email"] not in shown and customer["lastName"] not in shown
    with Session(load_settings(db=agent, now=AS_OF)) as session:
        assert session.waiting_for_writer() == 0


def test_a_watch_on_a_cache_stops_on_sigterm_and_a_second_is_refused(
    sandbox, seeded_cache, tmp_path
):
    db = tmp_path / "c.db"
    db.write_bytes(Path(seeded_cache(CUSTOMERS, SEED)).read_bytes())
    out = tmp_path / "watch.jsonl"
    watch = _start_watch(str(db), sandbox, out)
    try:
        assert wait_for(lambda: _cycles(out), timeout=300, interval=0.1), (
            watch.stderr.read() if watch.poll() is not None else "no cycle"
        )
        assert _cycles(out)[0]["sync"]["ok"] is True
        second = run_srm("sync", env=_env(str(db), sandbox), timeout=300)
        assert second.returncode == 1, second.stderr
        assert f"srm sync (pid {watch.pid} on {socket.gethostname()}" in second.stderr
    finally:
        code, err = _stop(watch)
    assert code == 0, err
    assert len(_cycles(out)) == 1  # one line per cycle, nothing else on stdout
    assert _rows(str(db), "SELECT count(*) FROM store_writers") == [(0,)]


def test_a_stopped_run_ends_after_a_committed_page_and_the_next_resumes(sandbox, tmp_path):
    """What SIGTERM does to a watch's sync: the engine is asked between pages, so the run ends
    with its pages and their checkpoints committed, records no finished sync, and the next run
    brings the store equal to the export."""
    from srm_tui.api.client import ApiClient
    from srm_tui.sync.engine import SyncEngine
    from tests.helpers import cache_matches_export

    db = tmp_path / "c.db"
    cache = open_store(str(db))
    asked = []

    def stop() -> bool:
        asked.append(1)
        return True  # at the first chance: after the first page

    try:
        with ApiClient(sandbox.url, KEY) as client:
            summary = SyncEngine(cache, client, page_size=20, stop=stop).run()
            assert summary.stopped and summary.ok and len(asked) == 1
            assert summary.counts["customers"] == 20
            assert sum(summary.counts.values()) == 20  # no other entity was started
            assert _rows(str(db), "SELECT count(*) FROM customers") == [(20,)]
            assert _rows(str(db), "SELECT ok, message FROM sync_runs") == [
                (0, "stopped between pages; the next sync resumes")
            ]
            assert _rows(str(db), "SELECT count(*) FROM meta WHERE key = 'last_sync_at'") == [(0,)]
            again = SyncEngine(cache, client, page_size=20).run()
            assert again.ok and not again.stopped
            assert again.counts["customers"] == CUSTOMERS - 20
        assert cache_matches_export(db, sandbox.export()) == []
    finally:
        cache.close()


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--watch", "--full"], "--full pulls everything once"),
        (["--every", "5"], "--every is the period of --watch"),
        (["--watch", "--every", "0"], "--every"),
    ],
)
def test_watch_options_are_checked_before_anything_runs(tmp_path, args, said):
    db = tmp_path / "c.db"
    result = run_srm("sync", *args, env={"SRM_DB": str(db), "SRM_API_URL": "http://127.0.0.1:9"})
    assert result.returncode == 2, result.stderr
    assert said in result.stderr and "Traceback" not in result.stderr
    assert not db.exists()  # nothing made


def test_sigterm_during_a_watchs_sync_ends_it_after_the_committed_page(sandbox, tmp_path):
    """The watch is held after its sync's first page has committed (a test hook), signalled
    there, then let go: it ends with exit 0 after that page, its line says the sync stopped,
    and the next sync resumes to a cache equal to the export."""
    from tests.helpers import cache_matches_export

    db = tmp_path / "c.db"
    hold = tmp_path / "hold"
    hold.touch()
    out = tmp_path / "watch.jsonl"
    watch = subprocess.Popen(
        [*SRM, "sync", "--watch", "--json"],
        env={
            **os.environ,
            **_env(str(db), sandbox),
            "SRM_PAGE_SIZE": "10",
            "SRM_SYNC_HOLD_AFTER_PAGES": "1",
            "SRM_SYNC_HOLD_FILE": str(hold),
        },
        stdout=out.open("w"),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_for(
            lambda: (
                _peek(db, "SELECT count(*) FROM sync_checkpoints WHERE entity = 'customers'")
                == [(1,)]
            ),
            timeout=300,
            interval=0.1,
        ), watch.stderr.read() if watch.poll() is not None else "no page"
        watch.send_signal(signal.SIGTERM)
        hold.unlink()  # the page's run goes on to the next step, where it stops
        code, err = _stop(watch)
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.wait()
    assert code == 0, err
    (cycle,) = _cycles(out)
    assert cycle["sync"]["stopped"] == 1 and cycle["sync"]["customers"] == 10
    assert cycle["requests"] is None  # stopped before serving
    assert _rows(str(db), "SELECT count(*) FROM customers") == [(10,)]
    assert _rows(str(db), "SELECT count(*) FROM store_writers") == [(0,)]
    again = run_srm("sync", env=_env(str(db), sandbox), timeout=300)
    assert again.returncode == 0, again.stderr
    assert cache_matches_export(db, sandbox.export()) == []


def test_on_the_vendor_profile_the_watch_fetches_what_an_agent_changed(pg_url, pg_login, tmp_path):
    """The vendor's API has no changes feed: the watch serves the agent's refresh by fetching
    that customer through the published calls (its sync refreshes only stale customers)."""
    from srm_tui.sandbox.runner import start_sandbox
    from srm_tui.sandbox.state import SandboxState
    from tests.conftest import AS_OF as AS_OF_TIME

    state = SandboxState.generate(20, 23, AS_OF_TIME)
    vendor = start_sandbox(state, profile="vendor")
    out = tmp_path / "watch.jsonl"
    watch = None
    try:
        assert run_srm("team", "init", pg_url).returncode == 0
        ids = [c["id"] for c in state.export()["customers"][:10]]
        owner = open_store(pg_url)
        try:  # what an import of a list of ids leaves: customers to fetch
            with owner.transaction() as tx:
                tx.executemany(
                    "INSERT INTO customer_fetch_state (customer_id, status, attempted_at) "
                    "VALUES (?, 'pending', 0)",
                    [(i,) for i in ids],
                )
        finally:
            owner.close()
        writer, agent = pg_login(pg_url, "srm_sync"), pg_login(pg_url, "srm_agent")

        def env(db):
            return {"SRM_DB": db, "SRM_NOW": AS_OF, "SRM_AGENT": "anna",
                    "SRM_API_URL": vendor.url, "SRM_API_KEY": "sandbox-key"}  # fmt: skip

        watch = subprocess.Popen(
            [*SRM, "sync", "--watch", "--every", "3600", "--json"],
            env={**os.environ, **env(writer)},
            stdout=out.open("w"),
            stderr=subprocess.PIPE,
            text=True,
        )
        assert wait_for(lambda: _cycles(out), timeout=300, interval=0.1), (
            watch.stderr.read() if watch.poll() is not None else "no cycle"
        )
        first = _cycles(out)[0]["sync"]
        assert first["profile"] == "vendor" and first["ok"] and first["customers"] == 10
        cid = ids[2]
        edited = run_srm(
            "customer", "edit", str(cid), "--last-name", "Zweig", "--yes", "--json",
            env=env(agent), timeout=300,
        )  # fmt: skip
        assert edited.returncode == 0, edited.stderr
        assert json.loads(edited.stdout)["status"] == "applied"
        assert wait_for(
            lambda: (
                _rows(pg_url, "SELECT last_name FROM customers WHERE id = ?", cid) == [("Zweig",)]
            ),
            timeout=300,
            interval=0.1,
        ), out.read_text()
        served = [c for c in _cycles(out) if c["requests"] and c["requests"]["done"]]
        assert served[0]["sync"] is None and served[0]["requests"]["refreshed"] == 1
    finally:
        if watch is not None:
            code, err = _stop(watch)
            assert code == 0, err
        vendor.stop()


def test_a_watch_without_its_api_says_so_and_waits_for_its_next_sync(tmp_path):
    """An API that does not answer is said on the cycle's line; the watch then waits its
    period (an hour here) instead of asking again at once, and SIGTERM still ends it with 0."""
    db = tmp_path / "c.db"
    out = tmp_path / "watch.jsonl"
    watch = subprocess.Popen(
        [*SRM, "sync", "--watch", "--every", "3600", "--json"],
        env={
            **os.environ,
            "SRM_DB": str(db),
            "SRM_API_URL": "http://127.0.0.1:9",
            "SRM_API_KEY": KEY,
            "SRM_TIMEOUT": "2",
        },  # fmt: skip
        stdout=out.open("w"),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert wait_for(lambda: _cycles(out), timeout=300, interval=0.1), (
            watch.stderr.read() if watch.poll() is not None else "no cycle"
        )
        # The watch is waiting now: the store names it as its writer.
        assert _peek(db, "SELECT pid FROM store_writers") == [(watch.pid,)]
    finally:
        code, err = _stop(watch)
    assert code == 0, err
    (cycle,) = _cycles(out)  # one cycle: no second try before the period is over
    assert cycle["errors"] and "127.0.0.1:9" in " ".join(cycle["errors"]), cycle

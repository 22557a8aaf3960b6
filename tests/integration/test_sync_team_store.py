"""`srm sync` and `srm webhooks serve` on the team's PostgreSQL store (issue 15, CONTRACT
section 9), through the real command against the real sandbox over loopback and a real
PostgreSQL server: the store equals /sandbox/export exactly as a SQLite cache does (also with
faults), one writer of each kind at a time on both backends (the second exits 1 naming the
holder), and a sync SIGKILLed at a chosen page resumes to the same store."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess

import httpx
import pytest

from srm_tui.storage.db import open_store
from tests.helpers import (
    SRM,
    SandboxProcess,
    cache_matches_export,
    run_srm,
    srm_env,
    wait_for,
)
from tests.integration.test_webhooks import HEADERS, Receiver

AS_OF = "2026-11-01T00:00:00Z"
CUSTOMERS = 200


@pytest.fixture(scope="module")
def sandbox(sandbox_process):
    return sandbox_process("--customers", str(CUSTOMERS), "--seed", "11", "--as-of", AS_OF)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    """A SQLite cache path (made by the first sync) or a fresh team store's URL."""
    if request.param == "sqlite":
        path = tmp_path / "c.db"
        open_store(str(path)).close()  # made (empty) before a test reads it
        return path
    return request.getfixturevalue("team_url")


def _rows(db, sql, *args):
    opened = open_store(db if isinstance(db, str) else str(db))
    try:
        return [tuple(r) for r in opened.conn().execute(sql, args).fetchall()]
    finally:
        opened.close()


def _facts(db):
    """(built, customers waiting for a refresh) of the store's segment facts."""
    built = _rows(db, "SELECT count(*) FROM meta WHERE key = 'segment_facts_built'")
    return built == [(1,)], _rows(db, "SELECT count(*) FROM segment_facts_dirty")[0][0]


def _writers(db):
    return _rows(db, "SELECT what, pid, host, db_user FROM store_writers ORDER BY what")


def test_sync_fills_the_team_store_equal_to_the_export(sandbox, team_url):
    env = srm_env(sandbox, team_url)
    result = run_srm("sync", "--json", env=env)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    export = sandbox.export()
    assert summary["customers"] == len(export["customers"]) >= CUSTOMERS
    assert summary["transactions"] == len(export["transactions"]) > CUSTOMERS
    assert summary["quarantined"] == 0
    assert cache_matches_export(team_url, export) == []
    # The store's readers may not build segment facts: the sync leaves them built.
    assert summary["facts_settled"] == len(export["customers"])
    assert _facts(team_url) == (True, 0)
    # Every customer has its search document, written in its page's transaction.
    assert _rows(team_url, "SELECT count(*) FROM customer_search") == [(len(export["customers"]),)]
    # Nothing left to do: an incremental run writes nothing; a full one drops nothing.
    again = json.loads(run_srm("sync", "--json", env=env).stdout)
    assert sum(again[e] for e in ("customers", "transactions", "emails")) == 0
    full = run_srm("sync", "--full", "--json", env=env)
    assert full.returncode == 0, full.stderr
    assert json.loads(full.stdout)["customers"] == len(export["customers"])
    assert cache_matches_export(team_url, export) == []
    assert _writers(team_url) == []  # each run gave the lock back


def test_incremental_sync_on_the_team_store_sees_writes_and_removals(sandbox, team_url):
    env = srm_env(sandbox, team_url)
    assert run_srm("sync", env=env).returncode == 0
    customer = sandbox.export()["customers"][7]
    renamed = httpx.patch(
        f"{sandbox.url}/customers/{customer['id']}", json={"lastName": "Zweig"}, headers=HEADERS
    )
    assert renamed.status_code == 200, renamed.text
    group = httpx.post(
        f"{sandbox.url}/offers/season-groups", json={"name": "Brief"}, headers=HEADERS
    )
    assert group.status_code in (200, 201), group.text
    result = json.loads(run_srm("sync", "--json", env=env).stdout)
    assert result["customers"] == 1 and result["history"] >= 1
    assert cache_matches_export(team_url, sandbox.export()) == []
    # The renamed customer's facts were settled with its page (nothing left for the end).
    assert result["facts_settled"] == 0 and _facts(team_url) == (True, 0)
    assert _rows(
        team_url, "SELECT last_cf FROM segment_customer_text WHERE id = ?", customer["id"]
    ) == [("zweig",)]
    gone = httpx.delete(f"{sandbox.url}/offers/season-groups/{group.json()['id']}", headers=HEADERS)
    assert gone.status_code in (200, 204), gone.text
    assert run_srm("sync", env=env).returncode == 0
    assert cache_matches_export(team_url, sandbox.export()) == []


def test_sync_with_faults_on_the_team_store_ends_identical(team_url):
    sb = SandboxProcess(
        "--customers", "150", "--seed", "5", "--as-of", AS_OF, "--faults", "0.2",
        "--stall-seconds", "1",
    )  # fmt: skip
    try:
        env = srm_env(sb, team_url, SRM_PAGE_SIZE="50", SRM_TIMEOUT="3")
        result = run_srm("sync", "--json", env=env)
        for _ in range(3):  # a page that failed every retry is kept for the next run
            if result.returncode == 0:
                break
            result = run_srm("sync", "--json", env=env)
        assert result.returncode == 0, result.stderr
        assert cache_matches_export(team_url, sb.export()) == []
    finally:
        sb.stop()


def test_a_second_sync_exits_1_naming_the_one_that_writes(sandbox, store, tmp_path):
    hold = tmp_path / "hold"
    hold.touch()
    env = srm_env(sandbox, store)
    first = subprocess.Popen(
        [*SRM, "sync", "--json"],
        env={**os.environ, **env, "SRM_WRITER_HOLD_FILE": str(hold)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # The first sync holds the lock (it waits while the hold file exists).
        assert wait_for(
            lambda: any(w[1] == first.pid for w in _writers(store)),
            timeout=120,
            interval=0.1,
        ), first.stderr.read() if first.poll() is not None else "no writer row"
        (row,) = _writers(store)
        assert row[:3] == ("sync", first.pid, socket.gethostname())
        second = run_srm("sync", env=env)
        assert second.returncode == 1, second.stderr
        line = second.stderr.strip().splitlines()[-1]
        assert line.startswith(
            f"srm sync: the store is being written by srm sync (pid {first.pid} on "
            f"{socket.gethostname()} as {row[3]} since "
        ), line
        assert line.endswith(" UTC); only one sync writes at a time"), line
        assert "Traceback" not in second.stderr
        if isinstance(store, str):  # on the team store the engine itself takes the lock
            _engine_refused(sandbox, store, first.pid)
        hold.unlink()
        out, err = first.communicate(timeout=300)
        assert first.returncode == 0, err
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert _writers(store) == []
    assert cache_matches_export(store, sandbox.export()) == []
    assert run_srm("sync", env=env).returncode == 0  # the lock is free again


def _engine_refused(sandbox, url, holder_pid):
    """A sync engine run outside `srm sync` (the console's, a script's) is refused too."""
    from srm_tui.api.client import ApiClient
    from srm_tui.storage.writer import WriterBusy
    from srm_tui.sync.engine import SyncEngine

    opened = open_store(url)
    try:
        with ApiClient(sandbox.url, "sandbox-key") as client:
            with pytest.raises(WriterBusy) as busy:
                SyncEngine(opened, client).run()
        assert busy.value.holder.pid == holder_pid
        assert _rows(url, "SELECT count(*) FROM sync_runs") == [(0,)]  # it wrote nothing
    finally:
        opened.close()


@pytest.mark.parametrize("point", ["after", "inside"])
def test_sigkill_at_a_chosen_page_then_rerun_equals_the_export(sandbox, store, point):
    """The hook kills the sync once 3 pages of 50 customers committed ("after"), or inside
    the 4th page's transaction with its rows written ("inside"): either way 150 customers are
    stored, the lock is free for the rerun, and the rerun makes the store equal the export."""
    env = srm_env(sandbox, store, SRM_PAGE_SIZE="50")
    killed = run_srm(
        "sync", env={**env, "SRM_SYNC_KILL_AFTER_PAGES": "3", "SRM_SYNC_KILL_POINT": point}
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert _rows(store, "SELECT count(*) FROM customers") == [(150,)]
    assert _rows(store, "SELECT since > 0 FROM sync_checkpoints WHERE entity = 'customers'") in (
        [(1,)],
        [(True,)],
    )
    # A full run killed among the transactions' pages, then an incremental rerun.
    killed = run_srm(
        "sync",
        "--full",
        env={**env, "SRM_SYNC_KILL_AFTER_PAGES": "12", "SRM_SYNC_KILL_POINT": point},
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    rerun = run_srm("sync", "--json", env=env)
    assert rerun.returncode == 0, rerun.stderr
    assert cache_matches_export(store, sandbox.export()) == []
    assert _writers(store) == []


def test_webhooks_serve_on_the_team_store(sandbox, team_url):
    env = srm_env(sandbox, team_url)
    assert run_srm("sync", env=env).returncode == 0
    receiver = Receiver(sandbox.url, team_url)
    try:
        (row,) = _writers(team_url)
        assert row[:3] == ("webhooks", receiver.proc.pid, socket.gethostname())
        # A second receiver on the same store is refused; a sync may still run beside it.
        second = run_srm("webhooks", "serve", "--port", "0", env=env, timeout=120)
        assert second.returncode == 1, second.stderr
        assert (
            f"srm webhooks serve: the store is being written by srm webhooks serve "
            f"(pid {receiver.proc.pid} on {socket.gethostname()} as {row[3]} since "
        ) in second.stderr
        assert "only one webhook receiver writes at a time" in second.stderr
        assert run_srm("sync", env=env).returncode == 0

        subscribed = httpx.put(
            f"{sandbox.url}/webhook_subscriptions/customerRegistered",
            json=[{"url": receiver.url}],
            headers=HEADERS,
        )
        assert subscribed.status_code in (200, 201, 204), subscribed.text
        made = httpx.post(
            f"{sandbox.url}/customers",
            headers=HEADERS,
            json={
                "email": "hooked.team@example.com",
                "country": "PL",
                "currency": "PLN",
                "locale": "pl_PL",
                "firstName": "Hook",
                "lastName": "Team",
            },
        )
        assert made.status_code in (200, 201), made.text
        assert wait_for(
            lambda: (
                _rows(
                    team_url,
                    "SELECT count(*) FROM customers WHERE email = ?",
                    "hooked.team@example.com",
                )
                == [(1,)]
            ),
            timeout=120,
            interval=0.2,
        )
        events = _rows(team_url, "SELECT topic, error FROM webhook_events ORDER BY id")
        assert ("customerRegistered", None) in events
    finally:
        httpx.put(
            f"{sandbox.url}/webhook_subscriptions/customerRegistered", json=[], headers=HEADERS
        )
        receiver.stop()
    assert _writers(team_url) == []  # SIGTERM: the receiver gave the lock back
    assert cache_matches_export(team_url, sandbox.export()) == []


def test_the_pg_lock_names_its_holder_even_without_its_row(team_url):
    """The row is trusted only while its session holds the lock: a holder whose row was lost
    is named from its session (application_name, login); a holder whose connection died (a
    killed process) leaves the lock free and its stale row is overwritten by the next."""
    from srm_tui.storage.writer import WriterBusy, WriterLock, me

    pid, host, _ = me()
    store = open_store(team_url)
    try:
        lock = WriterLock.acquire(store, "sync")
        with pytest.raises(WriterBusy) as busy:
            WriterLock.acquire(store, "sync")  # another session, even of this process
        assert busy.value.holder.pid == pid and busy.value.holder.host == host
        assert busy.value.holder.user == "srm_admin"
        store.conn().execute("DELETE FROM store_writers")
        with pytest.raises(WriterBusy) as busy:
            WriterLock.acquire(store, "sync")
        named = busy.value.holder
        assert (named.pid, named.host, named.user) == (pid, host, "srm_admin")
        assert named.started_at is not None
        # The holder's connection goes as a killed process's would: the lock is free.
        lock._handle.conn.close()
        store.conn().execute(
            "INSERT INTO store_writers (what, pid, host, db_user, started_at, backend_pid) "
            "VALUES ('sync', 1, 'gone-host', 'x', 0, 1)"
        )
        with WriterLock.acquire(store, "sync"):
            assert _writers(team_url) == [("sync", pid, host, "srm_admin")]
        assert _writers(team_url) == []
    finally:
        store.close()


def test_the_teams_sync_login_syncs_a_migrated_store_and_others_are_refused(
    sandbox, pg_store, pg_login
):
    """A store made by `srm team migrate` is synced by a login of srm_sync (not its owner):
    the vendor's tables, the writer's bookkeeping, the lock's row and the segment facts are
    all its to write. An agent or a viewer running srm sync is told so in one line."""
    url = pg_store(CUSTOMERS, 11)
    for group in ("srm_agent", "srm_viewer"):
        refused = run_srm("sync", env=srm_env(sandbox, pg_login(url, group)))
        assert refused.returncode == 1, refused.stderr
        (line,) = refused.stderr.strip().splitlines()
        # (a viewer may be stopped earlier by its read-only session, also in one line)
        assert line.endswith("srm sync needs the srm_sync role") or (
            group == "srm_viewer" and "read only" in line
        ), line
    writer = pg_login(url, "srm_sync")
    result = run_srm("sync", "--full", "--json", env=srm_env(sandbox, writer))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["facts_settled"] > 0  # left dirty by the migrate
    assert _facts(url) == (True, 0)
    assert cache_matches_export(url, sandbox.export()) == []
    assert _rows(url, "SELECT count(*) FROM customer_search") == _rows(
        url, "SELECT count(*) FROM customers"
    )


def test_forgetting_an_anonymized_customer_on_the_team_store(sandbox, team_url):
    """storage.privacy.forget_customer runs on the team store as on a cache: the customer's
    row, search document, emails, history and payment details keep none of its values."""
    from srm_tui.storage import privacy, records

    assert run_srm("sync", env=srm_env(sandbox, team_url)).returncode == 0
    store = open_store(team_url)
    try:
        conn = store.conn()
        cid, last = conn.execute(
            "SELECT id, last_name FROM customers WHERE length(last_name) >= 5 AND id IN "
            "(SELECT customer_id FROM emails) ORDER BY id LIMIT 1"
        ).fetchone()
        values = privacy.personal_values(conn, cid)
        assert last in values
        privacy.forget_customer(store, cid, values)
        row = conn.execute(
            "SELECT email, last_name, anonymized FROM customers WHERE id = ?", (cid,)
        ).fetchone()
        assert tuple(row) == (None, None, 1)
        doc = conn.execute("SELECT doc::text FROM customer_search WHERE id = ?", (cid,))
        assert last.lower() not in doc.fetchone()[0]
        kept = [v for v in values if len(v) >= privacy.MIN_SUBSTRING]
        (raw,) = conn.execute("SELECT raw FROM customers WHERE id = ?", (cid,)).fetchone()
        texts = {"customers": json.dumps(records.decode_raw(raw), ensure_ascii=False)}
        for entity in ("emails", "history", "payment_details"):
            texts[entity] = json.dumps(records.raw_records(conn, entity, cid), ensure_ascii=False)
        assert {e: [v for v in kept if v in t] for e, t in texts.items()} == dict.fromkeys(
            texts, []
        )
    finally:
        store.close()

"""`srm replicate`: a subset of the team store in a SQLite cache for offline review, and its
queued actions forwarded to the store's outbox exactly once (issue 15, CONTRACT section 9).

One real sandbox over loopback, the seeded data migrated into a real PostgreSQL store (the
`pg_store` fixture), srm run as real processes with real logins. The kill between "in the
store's outbox" and "marked on the replica" is arranged by SRM_FORWARD_KILL_AFTER (the process
kills itself there), never by timing.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import stat
import subprocess
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
import pytest

from srm_tui.storage.records import CHILD_ENTITIES
from tests.helpers import run_srm

AS_OF = "2026-11-01T00:00:00Z"
KEY = "k3y-for-replicas"
CUSTOMERS, SEED = 60, 5
ACTIVE = {
    "version": 1,
    "name": "Active",
    "where": {"all": [{"attr": "customer.status", "op": "eq", "value": "active"}]},
}
CHILDREN = CHILD_ENTITIES  # every per-customer record table, as the sync writes them


@pytest.fixture(scope="module")
def sandbox(sandbox_process):
    return sandbox_process(
        "--customers", str(CUSTOMERS), "--seed", str(SEED), "--as-of", AS_OF, "--api-key", KEY
    )


def srm(*args: str, db: str | None = None, api=None, **env: str):
    values = {"SRM_NOW": AS_OF, "SRM_AGENT": "anna", **env}
    if db is not None:
        values["SRM_DB"] = db
    if api is not None:
        values.update(SRM_API_URL=api.url, SRM_API_KEY=KEY)
    return run_srm(*args, env=values, timeout=600)


def ok(result) -> str:
    assert result.returncode == 0, (result.args, result.stdout, result.stderr)
    return result.stdout


@pytest.fixture
def team(pg_store, tmp_path):
    """The store's owner URL with the saved segment 'Active', and that segment's members."""
    url = pg_store(CUSTOMERS, SEED)
    segment = tmp_path / "active.json"
    segment.write_text(json.dumps(ACTIVE))
    ok(srm("segment", "save", str(segment), db=url))
    members = json.loads(ok(srm("segment", "members", str(segment), "--json", db=url)))
    assert 0 < len(members["customers"]) < CUSTOMERS  # a real subset
    return url, members["customers"]


def with_password(url: str, password: str) -> str:
    parts = urlsplit(url)
    user, _, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{host}"))


def rows(db, sql: str, params=()) -> list[tuple]:
    return [tuple(r) for r in db.execute(sql, params).fetchall()]


def test_a_segments_replica_holds_exactly_its_members_and_searches(team, pg_login, tmp_path):
    url, members = team
    viewer = pg_login(url, "srm_viewer")  # any login that can read may take one
    replica = tmp_path / "laptop.db"
    made = srm(
        "replicate",
        "--segment",
        "Active",
        "--to",
        str(replica),
        "--store",
        with_password(viewer, "s3cret-not-kept"),
        "--json",
    )
    report = json.loads(ok(made))
    assert report["members"] == len(members) and report["refreshed"] is False
    assert stat.S_IMODE(os.stat(replica).st_mode) == 0o600
    assert b"s3cret-not-kept" not in replica.read_bytes()

    local = sqlite3.connect(replica)
    with psycopg.connect(url) as store:
        assert [r[0] for r in rows(local, "SELECT id FROM customers ORDER BY id")] == members
        for table in CHILDREN:
            there = rows(
                store,
                f"SELECT id FROM {table} WHERE customer_id = ANY(%s) ORDER BY id",
                (members,),
            )
            here = rows(local, f"SELECT id FROM {table} ORDER BY id")
            assert here == there, table
        for table in ("offers", "campaigns", "season_groups", "segments"):
            assert rows(local, f"SELECT count(*) FROM {table}") == rows(
                store, f"SELECT count(*) FROM {table}"
            ), table
        assert rows(local, "SELECT count(*) FROM outbox") == [(0,)]  # the team's stays there
        meta = json.loads(
            local.execute("SELECT value FROM meta WHERE key = 'replica_of'").fetchone()[0]
        )
        database = store.execute("SELECT current_database()").fetchone()[0]
    local.close()
    assert meta["segment"] == "Active" and meta["members"] == len(members)
    assert meta["store_id"].endswith(f":{database}") and "s3cret" not in meta["url"]

    # Search works on the replica, over its members only.
    first = srm("customer", "show", str(members[0]), "--json", db=str(replica))
    person = json.loads(ok(first))
    surname = person.get("lastName") or person["customer"]["lastName"]
    found = json.loads(ok(srm("search", surname, "--json", db=str(replica))))
    ids = {c["id"] for c in (found["results"] if isinstance(found, dict) else found)}
    assert members[0] in ids and ids <= set(members)
    outsider = next(i for i in range(1, CUSTOMERS + 1) if i not in members)
    missing = srm("customer", "show", str(outsider), db=str(replica))
    assert missing.returncode != 0


def test_to_refuses_a_file_that_is_not_its_replica_and_a_symlink(team, pg_login, tmp_path):
    url, members = team
    agent = pg_login(url, "srm_agent")
    other = tmp_path / "notes.db"
    other.write_text("my own file\n")
    refused = srm("replicate", "--segment", "Active", "--to", str(other), "--store", agent)
    assert refused.returncode == 2 and refused.stderr.startswith("srm: --to: "), refused.stderr
    assert other.read_text() == "my own file\n"

    link = tmp_path / "link.db"
    link.symlink_to(tmp_path / "elsewhere.db")
    refused = srm("replicate", "--segment", "Active", "--to", str(link), "--store", agent)
    assert refused.returncode == 2 and "symbolic link" in refused.stderr, refused.stderr
    assert not (tmp_path / "elsewhere.db").exists()

    replica = tmp_path / "r.db"
    # What a replicate killed on this host left beside it goes; a live process's stays.
    finished = subprocess.Popen(["true"])
    finished.wait()  # reaped: its pid names no process now
    prefix = f".r.db.replicating-{socket.gethostname()}-"
    gone = tmp_path / f"{prefix}{finished.pid}"
    gone.write_bytes(b"half a replica")
    (tmp_path / f"{gone.name}-wal").write_bytes(b"its log")
    alive = tmp_path / f"{prefix}{os.getpid()}"
    alive.write_bytes(b"being made")
    ok(srm("replicate", "--segment", "Active", "--to", str(replica), "--store", agent))
    assert not gone.exists() and not (tmp_path / f"{gone.name}-wal").exists()
    assert alive.read_bytes() == b"being made"
    again = srm("replicate", "--segment", "Active", "--to", str(replica), db=agent)  # --db too
    assert ok(again).startswith(f"refreshed {replica}: {len(members)} customers")
    ids = tmp_path / "ids.txt"
    ids.write_text(f"{members[0]}\n")
    other_selection = srm(
        "replicate", "--customers", str(ids), "--to", str(replica), "--store", agent
    )
    assert other_selection.returncode == 2 and "--to: " in other_selection.stderr


def test_an_offline_action_is_forwarded_once_and_sent_once(team, pg_login, sandbox, tmp_path):
    url, members = team
    agent = pg_login(url, "srm_agent")
    ids = tmp_path / "ids.txt"
    ids.write_text(f"# two customers\n{members[0]}\n{members[1]}\n")
    replica = tmp_path / "laptop.db"
    ok(srm("replicate", "--customers", str(ids), "--to", str(replica), "--store", agent))

    def applied() -> int:
        return httpx.get(f"{sandbox.root}/sandbox/stats", timeout=30).json()["writes_applied"]

    def notes_at_api() -> int:
        return sum(
            n["customerId"] == members[0] and "reviewed offline" in json.dumps(n)
            for n in sandbox.export()["notes"]
        )

    before = applied()
    # Queued on the replica even though an API is configured: a replica never reaches it.
    queued = srm(
        "customer", "note", "add", str(members[0]), "reviewed offline", db=str(replica), api=sandbox
    )
    assert "queued" in ok(queued)
    local = sqlite3.connect(replica)
    key, status = local.execute("SELECT idempotency_key, status FROM outbox").fetchone()
    assert status == "pending" and applied() == before

    # Killed once the entry is in the store's outbox, before the replica marks it.
    killed = srm("outbox", "push", db=str(replica), api=sandbox, SRM_FORWARD_KILL_AFTER="1")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    with psycopg.connect(url) as store:
        assert rows(store, "SELECT status FROM outbox WHERE idempotency_key = %s", (key,)) == [
            ("pending",)
        ]
    assert local.execute("SELECT status FROM outbox").fetchone()[0] == "pending"

    again = srm("outbox", "push", db=str(replica), api=sandbox)
    assert "already in the team's outbox" in ok(again)
    status, response = local.execute("SELECT status, response FROM outbox").fetchone()
    local.close()
    assert status == "sent" and "forwarded" in json.loads(response)
    with psycopg.connect(url) as store:
        assert len(rows(store, "SELECT id FROM outbox WHERE idempotency_key = %s", (key,))) == 1
        audit = rows(store, "SELECT detail, db_user FROM audit WHERE outcome = 'queued'")
    assert any("forwarded from the replica" in d for d, _ in audit)
    assert applied() == before and notes_at_api() == 0  # nothing reached the API yet

    # The team's pusher sends it, once.
    sent = srm("outbox", "push", db=agent, api=sandbox)
    assert ok(sent).startswith("sent 1,"), sent.stdout
    assert applied() == before + 1 and notes_at_api() == 1
    ok(srm("outbox", "push", db=str(replica), api=sandbox))  # nothing left to forward
    assert ok(srm("outbox", "push", db=agent, api=sandbox)).startswith("sent 0,")
    assert applied() == before + 1 and notes_at_api() == 1


def test_a_replica_whose_store_is_away_keeps_its_actions(
    team, pg_store, pg_login, sandbox, tmp_path
):
    url, members = team
    agent = pg_login(url, "srm_agent")
    replica = tmp_path / "laptop.db"
    ok(srm("replicate", "--segment", "Active", "--to", str(replica), "--store", agent))
    # A replica is filled by srm replicate, never by a sync from the API.
    synced = srm("sync", db=str(replica), api=sandbox)
    assert synced.returncode == 2 and "is a replica of" in synced.stderr, synced.stderr
    ok(srm("customer", "note", "add", str(members[0]), "kept while away", db=str(replica)))
    away = urlsplit(agent)._replace(path="/no_such_store").geturl()
    pushed = srm("outbox", "push", db=str(replica), SRM_TEAM_DB=away)
    assert pushed.returncode == 3, (pushed.stdout, pushed.stderr)
    lines = pushed.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot be reached" in lines[0] and "stay pending" in lines[0]
    local = sqlite3.connect(replica)
    assert local.execute("SELECT status FROM outbox").fetchone()[0] == "pending"
    local.close()

    # Another srm store (another database) is not this replica's: nothing goes there.
    other = pg_store(CUSTOMERS, SEED)
    wrong = srm("outbox", "push", db=str(replica), SRM_TEAM_DB=other)
    assert wrong.returncode == 1, wrong.stderr
    assert "is not the store this replica was taken from" in wrong.stderr, wrong.stderr
    with psycopg.connect(other) as store:
        assert rows(store, "SELECT count(*) FROM outbox WHERE agent = 'anna'") == [(0,)]
    local = sqlite3.connect(replica)
    assert local.execute("SELECT status FROM outbox").fetchone()[0] == "pending"
    local.close()


def test_a_files_customers_and_a_refresh_that_waits_for_forwarding(team, pg_login, tmp_path):
    url, members = team
    agent, viewer = pg_login(url, "srm_agent"), pg_login(url, "srm_viewer")
    with psycopg.connect(url) as store:
        email = store.execute("SELECT email FROM customers WHERE id = %s", (members[1],))
        email = email.fetchone()[0]
    ids = tmp_path / "ids.txt"
    ids.write_text(f"{members[0]}\n\n{email.upper()}\nnobody@example.invalid\n999999999\n")
    replica = tmp_path / "laptop.db"
    command = ("replicate", "--customers", str(ids), "--to", str(replica), "--store", agent)
    assert ok(srm(*command)).startswith(f"made {replica}: 2 customers")
    report = json.loads(ok(srm(*command, "--json")))  # the same again: a refresh
    assert report["refreshed"] is True and report["members"] == 2
    assert report["not_found"] == ["999999999", "nobody@example.invalid"]
    local = sqlite3.connect(replica)
    assert [r[0] for r in local.execute("SELECT id FROM customers ORDER BY id")] == sorted(
        members[:2]
    )
    local.close()

    ok(srm("customer", "note", "add", str(members[0]), "queued before a refresh", db=str(replica)))
    waits = srm(*command)
    assert waits.returncode == 1 and "not forwarded yet" in waits.stderr, waits.stderr

    # A login that may only read forwards nothing; the agent's does.
    refused = srm("outbox", "push", db=str(replica), SRM_TEAM_DB=viewer)
    assert refused.returncode == 1 and "may only read" in refused.stderr, refused.stderr
    local = sqlite3.connect(replica)
    assert local.execute("SELECT status FROM outbox").fetchone()[0] == "pending"
    local.close()
    assert "forwarded to the team's outbox as #" in ok(
        srm("outbox", "push", db=str(replica), SRM_TEAM_DB=agent)
    )
    ok(srm(*command))  # everything forwarded: the refresh goes ahead
    local = sqlite3.connect(replica)
    assert local.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0
    local.close()

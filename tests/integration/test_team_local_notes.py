"""Notes srm keeps itself (the vendor publishes no notes API) on the team's PostgreSQL store:
an agent login adds, edits and deletes them through the real command against
`start_sandbox(profile="vendor")`; the database lets an agent insert and change only those
notes, never the API's; and two agents adding notes at once never take the same id (the
second waits for the first's transaction, seen in pg_locks, not timed).

An agent's console met this in a tmux run: the note was refused with "permission denied for
table notes", since the notes were written with an upsert, which needs more than an agent has.
"""

from __future__ import annotations

import json
import threading

import psycopg
import pytest
from psycopg import errors

from srm_tui.actions import local_notes
from srm_tui.sandbox.state import SandboxState
from srm_tui.storage.db import open_store
from srm_tui.storage.payload import decode_raw
from tests.conftest import AS_OF
from tests.helpers import run_srm
from tests.integration.test_vendor_sync import KEY
from tests.integration.test_vendor_sync_team_store import _seed_ids

NOW = 1_800_000_000


@pytest.fixture(scope="module")
def state():
    return SandboxState.generate(12, 29, AS_OF)


def _srm(url, server, *args):
    env = {"SRM_API_URL": server.url, "SRM_API_KEY": KEY, "SRM_DB": url, "SRM_AGENT": "alice"}
    return run_srm(*args, env=env)


def _notes(url):
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT id, customer_id, local, deleted_at, raw FROM notes ORDER BY id"
        ).fetchall()
    return [(i, c, local, deleted, decode_raw(raw)) for i, c, local, deleted, raw in rows]


@pytest.fixture
def synced(vendor, state, team_url):
    """The team store after its sync against the vendor profile (which it remembers)."""
    ids = [c["id"] for c in state.export()["customers"][:5]]
    _seed_ids(team_url, ids)
    result = run_srm(
        "sync", "--json", env={"SRM_API_URL": vendor.url, "SRM_API_KEY": KEY, "SRM_DB": team_url}
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["profile"] == "vendor"
    return team_url, ids


def test_an_agent_adds_edits_and_deletes_a_note_srm_keeps(synced, vendor, pg_login):
    url, ids = synced
    agent = pg_login(url, "srm_agent")
    added = _srm(agent, vendor, "customer", "note", "add", str(ids[0]), "Called; offered a pause")
    assert added.returncode == 0, added.stderr
    assert local_notes.NOTICE in added.stdout
    [(note_id, customer, local, deleted, record)] = _notes(url)
    assert (customer, local, deleted) == (ids[0], 1, None)
    assert record["text"] == "Called; offered a pause" and record["keptIn"] == "srm"

    edited = _srm(agent, vendor, "customer", "note", "edit", str(note_id), "Pause taken")
    assert edited.returncode == 0, edited.stderr
    [(_, _, _, _, record)] = _notes(url)
    assert record["text"] == "Pause taken"
    assert [r["text"] for r in record["revisions"]] == ["Called; offered a pause"]

    gone = _srm(agent, vendor, "customer", "note", "delete", str(note_id), "--yes")
    assert gone.returncode == 0, gone.stderr
    [(_, _, _, deleted, record)] = _notes(url)
    assert deleted is not None and record["deletedBy"] == "alice"

    # A viewer's login is refused, and nothing is written.
    viewer = pg_login(url, "srm_viewer")
    refused = _srm(viewer, vendor, "customer", "note", "add", str(ids[1]), "Nope")
    assert refused.returncode != 0
    assert len(_notes(url)) == 1


def test_the_database_lets_an_agent_change_only_the_notes_srm_keeps(team_url, pg_login):
    with psycopg.connect(team_url, autocommit=True) as owner:  # a note the API sent
        owner.execute(
            "INSERT INTO notes (id, customer_id, author, created_at, raw, synced_at, local) "
            "VALUES (50, 7, 'api', %s, '\\x00', %s, 0)",
            (NOW, NOW),
        )
    with psycopg.connect(pg_login(team_url, "srm_agent"), autocommit=True) as conn:
        conn.execute(
            "INSERT INTO notes (id, customer_id, author, created_at, raw, synced_at, local) "
            "VALUES (1, 7, 'alice', %s, '\\x00', %s, 1)",
            (NOW, NOW),
        )
        assert (
            conn.execute("UPDATE notes SET raw = '\\x01', updated_at = %s", (NOW,)).rowcount == 1
        )  # its own kind only: the API's note is not among the rows it may change
        with pytest.raises(errors.InsufficientPrivilege):  # not an API's note
            conn.execute(
                "INSERT INTO notes (id, customer_id, author, created_at, raw, synced_at, local) "
                "VALUES (2, 7, 'alice', %s, '\\x00', %s, 0)",
                (NOW, NOW),
            )
        with pytest.raises(errors.InsufficientPrivilege):  # nor the author or the customer
            conn.execute("UPDATE notes SET author = 'bob' WHERE id = 1")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("UPDATE notes SET local = 0 WHERE id = 1")
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("DELETE FROM notes")
    with psycopg.connect(team_url, autocommit=True) as owner:
        assert owner.execute("SELECT id, raw FROM notes ORDER BY id").fetchall() == [
            (1, b"\x01"),
            (50, b"\x00"),
        ]
    with psycopg.connect(pg_login(team_url, "srm_viewer"), autocommit=True) as conn:
        assert conn.execute("SELECT count(*) FROM notes").fetchone()[0] == 2
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("UPDATE notes SET raw = '\\x02' WHERE id = 1")


def test_two_agents_adding_notes_at_once_take_different_ids(team_url, pg_login):
    add = {"customer_id": 7, "text": "x"}
    first, second = open_store(pg_login(team_url, "srm_agent")), None
    try:
        second = open_store(pg_login(team_url, "srm_agent"))
        done: dict = {}

        def other() -> None:
            with second.transaction() as tx:
                done["note"] = local_notes.apply(tx, "note-add", add, agent="bob", now=NOW)

        with first.transaction() as tx:
            mine = local_notes.apply(tx, "note-add", add, agent="alice", now=NOW)
            thread = threading.Thread(target=other)
            thread.start()
            # The second agent's add waits for this transaction's lock on new note ids.
            with psycopg.connect(team_url, autocommit=True) as watch:
                for _ in range(6000):
                    waiting = watch.execute(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                    ).fetchone()[0]
                    if waiting:
                        break
                    watch.execute("SELECT pg_sleep(0.01)")
                assert waiting == 1, "the second add never waited for the first"
            assert "note" not in done
        thread.join()
        assert done["note"]["id"] == mine["id"] + 1
        assert [(n[0], n[4]["author"]) for n in _notes(team_url)] == [
            (mine["id"], "alice"),
            (mine["id"] + 1, "bob"),
        ]
    finally:
        first.close()
        if second is not None:
            second.close()

"""srm's commands on the team's PostgreSQL store (issue 15), each case run on both backends:
the same seeded data as a SQLite cache (``seeded_cache``) and as a migrated team store
(``pg_store``), giving the same output. Writes go to one real sandbox over loopback, seeded
with the same generator, so both copies know its records; each test acts on customers no other
test touched. On PostgreSQL the writes are made by an agent login (``pg_login``), whose role
the database enforces, and the audit row names that login.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

import psycopg
import pytest

from tests.helpers import Picker, run_srm

AS_OF = "2026-11-01T00:00:00Z"
KEY = "k3y-for-team-store"
CUSTOMERS, SEED = 60, 5


@pytest.fixture(scope="module")
def sandbox(sandbox_process):
    return sandbox_process(
        "--customers", str(CUSTOMERS), "--seed", str(SEED), "--as-of", AS_OF, "--api-key", KEY
    )


@pytest.fixture(scope="module")
def picker(sandbox):
    return Picker(sandbox.export())


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    return request.param


@pytest.fixture
def store(backend, seeded_cache, request):
    """The store's --db: the seeded cache file, or the URL of its migrated team store."""
    if backend == "sqlite":
        return str(seeded_cache(CUSTOMERS, SEED))
    return request.getfixturevalue("pg_store")(CUSTOMERS, SEED)


@pytest.fixture
def agent_db(backend, store, request):
    """Where an agent works: the cache, or the store as a login of srm_agent."""
    if backend == "sqlite":
        return store
    return request.getfixturevalue("pg_login")(store, "srm_agent")


def srm(db: str, *args: str, api=None, **env: str):
    values = {"SRM_DB": db, "SRM_NOW": AS_OF, "SRM_AGENT": "anna", **env}
    if api is not None:
        values.update(SRM_API_URL=api.url, SRM_API_KEY=KEY)
    return run_srm(*args, env=values, timeout=600)


def ok(result) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def empty_outbox(result) -> bool:
    assert result.returncode == 0, result.stderr
    return result.stdout == "" and result.stderr.strip() == "the outbox is empty"


# -- reads -------------------------------------------------------------------------------------

_reference: dict[tuple[str, ...], tuple[int, str]] = {}


def reference(seeded_cache, *args: str) -> tuple[int, str]:
    """The exit status and output of a read on a fresh SQLite copy of the same data."""
    if args not in _reference:
        result = srm(str(seeded_cache(CUSTOMERS, SEED)), *args)
        _reference[args] = (result.returncode, result.stdout + result.stderr)
    return _reference[args]


def _reads(export: dict) -> list[tuple[str, ...]]:
    customer = export["customers"][0]
    offer = export["offers"][0]["id"]
    last = customer["lastName"] or customer["email"].split("@")[0]
    return [
        ("search", last),
        ("search", last[:2].lower()),
        ("search", "--json", f"email:{customer['email'][:4]}"),
        ("search", "zzzz-nobody"),
        ("customer", "show", str(customer["id"])),
        ("customer", "show", str(customer["id"]), "--json"),
        ("customer", "show", "999999999"),
        ("offers", "list"),
        ("offers", "list", "--json"),
        ("offers", "show", offer),
        ("outbox", "list"),
    ]


def test_reads_give_the_cache_answers(store, seeded_cache, picker):
    for args in _reads(picker.export):
        code, expected = reference(seeded_cache, *args)
        result = srm(store, *args)
        assert (result.returncode, result.stdout + result.stderr) == (code, expected), args
    found = ok(srm(store, "search", picker.export["customers"][0]["email"]))
    assert str(picker.export["customers"][0]["id"]) in found


def test_customer_show_json_is_the_record(store, picker):
    customer = picker.export["customers"][1]
    shown = json.loads(ok(srm(store, "customer", "show", str(customer["id"]), "--json")))
    assert shown["customer"]["id"] == customer["id"]
    assert shown["customer"]["email"] == customer["email"]


# -- writes ------------------------------------------------------------------------------------


def _notes(sandbox, customer_id: int, text: str) -> list[dict]:
    return [
        n
        for n in sandbox.export()["notes"]
        if n["customerId"] == customer_id and text in json.dumps(n, ensure_ascii=False)
    ]


def _audit(store: str, backend: str) -> list[dict]:
    if backend == "sqlite":
        import sqlite3

        with sqlite3.connect(store) as conn:
            conn.row_factory = sqlite3.Row
            return [dict(r) for r in conn.execute("SELECT * FROM audit ORDER BY id")]
    with psycopg.connect(store, row_factory=psycopg.rows.dict_row) as conn:
        return list(conn.execute("SELECT * FROM audit ORDER BY id"))


def test_a_note_queued_offline_then_pushed_reaches_the_sandbox_once(
    sandbox, picker, backend, store, agent_db
):
    customer = picker.pick("customers")
    cid = str(customer["id"])
    text = f"team store note {backend}"
    queued = ok(srm(agent_db, "customer", "note", "add", cid, text))
    assert "queued as outbox #" in queued
    listed = ok(srm(agent_db, "outbox", "list"))
    assert "pending" in listed and f"customer {cid}" in listed and text in listed
    assert _notes(sandbox, customer["id"], text) == []

    pushed = ok(srm(agent_db, "outbox", "push", api=sandbox))
    assert pushed.startswith("sent 1, conflicts 0, failed 0"), pushed
    assert len(_notes(sandbox, customer["id"], text)) == 1
    assert empty_outbox(srm(agent_db, "outbox", "list"))
    again = ok(srm(agent_db, "outbox", "push", api=sandbox))
    assert again.startswith("sent 0"), again
    assert len(_notes(sandbox, customer["id"], text)) == 1

    rows = [r for r in _audit(store, backend) if r["customer_id"] == customer["id"]]
    assert [r["outcome"] for r in rows] == ["queued", "sent"]
    assert {r["agent"] for r in rows} == {"anna"}
    if backend == "postgres":  # the server sets the login; an agent cannot write another
        login = urlsplit(agent_db).username
        assert {r["db_user"] for r in rows} == {login}
        assert all(r["pid"] and r["host"] for r in rows)


def test_a_note_with_the_api_is_sent_at_once(sandbox, picker, backend, agent_db):
    customer = picker.pick("customers")
    text = f"direct note {backend}"
    out = ok(srm(agent_db, "customer", "note", "add", str(customer["id"]), text, api=sandbox))
    assert out.startswith("Add note: done"), out
    assert len(_notes(sandbox, customer["id"], text)) == 1
    assert empty_outbox(srm(agent_db, "outbox", "list"))


def test_edit_dry_run_then_a_queued_edit_pushed(sandbox, picker, backend, store, agent_db):
    customer = picker.pick("customers", lambda c: c["firstName"] and c["email"])
    cid = str(customer["id"])
    args = ("customer", "edit", cid, "--first-name", "Zoë")
    dry = ok(srm(agent_db, *args, "--dry-run"))
    assert "first name" in dry and "Zoë" in dry and "allowed" in dry
    assert empty_outbox(srm(agent_db, "outbox", "list"))

    queued = ok(srm(agent_db, *args))
    assert "queued as outbox #" in queued
    before = next(c for c in sandbox.export()["customers"] if c["id"] == customer["id"])
    assert before["firstName"] == customer["firstName"]
    pushed = ok(srm(agent_db, "outbox", "push", api=sandbox))
    assert pushed.startswith("sent 1, conflicts 0, failed 0"), pushed
    after = next(c for c in sandbox.export()["customers"] if c["id"] == customer["id"])
    assert after["firstName"] == "Zoë"
    assert ok(srm(agent_db, "outbox", "push", api=sandbox)).startswith("sent 0")


def test_a_queued_edit_the_api_changed_meanwhile_is_a_conflict(sandbox, picker, backend, agent_db):
    """The check before a send reads the API's record now (on the team store without writing
    the store's vendor tables): a change made at the API after queueing is a conflict."""
    customer = picker.pick("customers", lambda c: c["lastName"] and c["email"])
    cid = str(customer["id"])
    ok(srm(agent_db, "customer", "edit", cid, "--last-name", "Queued"))
    import httpx

    answer = httpx.patch(
        f"{sandbox.url}/customers/{cid}",
        json={"lastName": "ChangedAtTheApi"},
        headers={"X-Publisher-Token": KEY},
        timeout=30,
    )
    assert answer.status_code < 300, answer.text
    pushed = srm(agent_db, "outbox", "push", api=sandbox)
    assert pushed.returncode == 1 and "conflicts 1" in pushed.stdout, pushed
    assert "some actions were not applied" in pushed.stderr
    after = next(c for c in sandbox.export()["customers"] if c["id"] == customer["id"])
    assert after["lastName"] == "ChangedAtTheApi"

    # The agent decides: retried over the API's version, it is sent once; then nothing open.
    (entry,) = json.loads(ok(srm(agent_db, "outbox", "list", "--json")))
    assert entry["status"] == "conflict"
    ok(srm(agent_db, "outbox", "resolve", str(entry["id"]), "--retry"))
    assert ok(srm(agent_db, "outbox", "push", api=sandbox)).startswith("sent 1, conflicts 0")
    after = next(c for c in sandbox.export()["customers"] if c["id"] == customer["id"])
    assert after["lastName"] == "Queued"
    assert empty_outbox(srm(agent_db, "outbox", "list"))


def test_a_queued_note_discarded_is_never_sent(sandbox, picker, agent_db):
    customer = picker.pick("customers")
    text = "a note thought better of"
    ok(srm(agent_db, "customer", "note", "add", str(customer["id"]), text))
    (entry,) = json.loads(ok(srm(agent_db, "outbox", "list", "--json")))
    ok(srm(agent_db, "outbox", "resolve", str(entry["id"]), "--discard"))
    assert empty_outbox(srm(agent_db, "outbox", "list"))
    assert ok(srm(agent_db, "outbox", "push", api=sandbox)).startswith("sent 0")
    assert _notes(sandbox, customer["id"], text) == []


def test_a_viewer_reads_and_cannot_write(backend, store, picker, request):
    """A viewer login on the team store is the viewer role (no --role needed); on a cache,
    --role viewer. Same refusal, reads as usual."""
    customer = picker.export["customers"][2]
    if backend == "sqlite":
        db, env = store, {"SRM_ROLE": "viewer"}
    else:  # even asking for more: --role may narrow the login's standing, never widen it
        db, env = request.getfixturevalue("pg_login")(store, "srm_viewer"), {"SRM_ROLE": "owner"}
    refused = srm(db, "customer", "note", "add", str(customer["id"]), "hello", **env)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "srm: refused by rule role.viewer: the viewer role is read only: it can run no action"
    )
    assert str(customer["id"]) in ok(srm(db, "customer", "show", str(customer["id"]), **env))
    assert empty_outbox(srm(db, "outbox", "list", **env))

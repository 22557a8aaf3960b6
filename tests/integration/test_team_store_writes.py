"""The writes round 2 brought to the team's PostgreSQL store (issue 15): offers, bulk runs,
imports, rates, the playbook and anonymization, each case run on both backends (the seeded
SQLite cache, and its migrated team store as the login the case names) against one real
sandbox over loopback. Each case acts on records no other case touched, so the sandbox's state
after the SQLite run does not decide the PostgreSQL run.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
from pathlib import Path

import httpx
import psycopg
import pytest

from srm_tui.storage.payload import decode_raw
from tests.helpers import SRM, run_srm, wait_for
from tests.integration.test_anonymize import has_live_access
from tests.integration.test_import import _big_report

AS_OF = "2026-11-01T00:00:00Z"
KEY = "k3y-for-team-writes"
CUSTOMERS, SEED = 60, 5
BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(scope="module")
def sandbox(sandbox_process):
    return sandbox_process(
        "--customers", str(CUSTOMERS), "--seed", str(SEED), "--as-of", AS_OF, "--api-key", KEY
    )


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def store(backend, seeded_cache, request):
    """The store's --db: the seeded cache file, or its migrated team store (as its owner)."""
    if backend == "sqlite":
        return str(seeded_cache(CUSTOMERS, SEED))
    return request.getfixturevalue("pg_store")(CUSTOMERS, SEED)


@pytest.fixture
def login(backend, store, request):
    """``login(group)``: the store as a login of that srm role (the cache file itself)."""

    def make(group: str) -> str:
        if backend == "sqlite":
            return store
        return request.getfixturevalue("pg_login")(store, group)

    return make


def srm(db: str, *args: str, api=None, **env: str):
    values = {"SRM_DB": db, "SRM_NOW": AS_OF, "SRM_AGENT": "anna", **env}
    if api is not None:
        values.update(SRM_API_URL=api.url, SRM_API_KEY=KEY)
    return run_srm(*args, env=values, timeout=600)


def ok(result) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def _offers(db: str) -> dict[str, dict]:
    return {o["id"]: o for o in json.loads(ok(srm(db, "offers", "list", "--json")))}


def _exported(sandbox) -> dict[str, dict]:
    return {o["id"]: o for o in sandbox.export()["offers"]}


def _offer_for(db: str, backend: str, slot: int) -> str:
    """An offer of the seed's (the store's, not one a case created) for this backend and slot
    alone, so no other case has changed it on the sandbox."""
    ids = sorted(_offers(db))
    return ids[slot * len(BACKENDS) + BACKENDS.index(backend)]


# -- offers ------------------------------------------------------------------------------------


def test_offer_created_localized_and_deactivated(store, backend, sandbox, tmp_path):
    made = tmp_path / "offer.json"
    made.write_text(
        json.dumps(
            {
                "type": "subscription",
                "title": f"Team weekly {backend}",
                "price": {"amount": 2.49, "currency": "EUR", "taxIncluded": True},
                "countryCode": "DE",
                "billingCycle": {"periodUnit": "week", "amount": 1},
                "pause": {"maxBillingCycles": 2},
            }
        )
    )
    offer_id = json.loads(ok(srm(store, "offers", "create", str(made), "--json", api=sandbox)))[
        "offer_id"
    ]
    loc = tmp_path / "loc.json"
    loc.write_text(
        json.dumps(
            {
                "countryCode": "PL",
                "title": "Tygodniowy",
                "price": {"amount": 10.99, "currency": "PLN"},
            }
        )
    )
    ok(srm(store, "offers", "localize", offer_id, str(loc), api=sandbox))
    ok(srm(store, "offers", "deactivate", offer_id, "--country", "PL", api=sandbox))
    served = _exported(sandbox)[offer_id]
    assert [(x["countryCode"], x["active"]) for x in served["localizations"]] == [
        ("DE", True),
        ("PL", False),
    ]
    # The owner's store keeps the API's answer as a cache does.
    assert _offers(store)[offer_id] == served


def test_an_agent_drafts_and_pushes_the_sync_brings_the_offer(
    store, backend, login, sandbox, tmp_path
):
    agent = login("srm_agent")
    offer_id = _offer_for(store, backend, 0)
    before = _offers(store)[offer_id]
    change = tmp_path / "change.json"
    change.write_text(json.dumps({"title": f"Agent title {backend}", "tags": ["team"]}))
    drafted = srm(agent, "offers", "update", offer_id, str(change), "--draft", api=sandbox)
    assert "kept as a draft" in ok(drafted)
    waiting = json.loads(ok(srm(agent, "offers", "drafts", "--json")))
    assert [(d["offer_id"], d["status"]) for d in waiting] == [(offer_id, "draft")]
    ok(srm(agent, "offers", "push", "--json", api=sandbox))
    served = _exported(sandbox)[offer_id]
    assert served["title"] == f"Agent title {backend}" and served["tags"] == ["team"]
    assert json.loads(ok(srm(agent, "offers", "drafts", "--json"))) == []
    kept = _offers(agent)[offer_id]
    if backend == "sqlite":
        assert kept == served
    else:  # the store's vendor records are its sync's: the agent's push left them as they were
        assert kept == before


def test_a_conflict_is_kept_then_resolved(store, backend, login, sandbox, tmp_path):
    agent = login("srm_agent")
    offer_id = _offer_for(store, backend, 1)
    change = tmp_path / "change.json"
    change.write_text(json.dumps({"title": "Mine", "tags": ["mine"]}))
    ok(srm(agent, "offers", "update", offer_id, str(change), "--draft", api=sandbox))
    moved = httpx.patch(
        f"{sandbox.url}/offers/{offer_id}",
        json={"title": f"Server {backend}"},
        headers={"X-Publisher-Token": KEY},
    )
    assert moved.status_code == 200, moved.text
    pushed = srm(agent, "offers", "push", "--json", api=sandbox)
    assert pushed.returncode == 1, pushed.stderr
    assert len(json.loads(pushed.stdout)["conflicts"]) == 1
    (draft,) = json.loads(ok(srm(agent, "offers", "drafts", "--json")))
    assert draft["status"] == "conflict" and draft["server"]["title"] == f"Server {backend}"
    ok(
        srm(
            agent,
            "offers",
            "resolve",
            str(draft["id"]),
            "--mine",
            "tags",
            "--theirs",
            "title",
            api=sandbox,
        )
    )
    served = _exported(sandbox)[offer_id]
    assert served["title"] == f"Server {backend}" and served["tags"] == ["mine"]
    assert json.loads(ok(srm(agent, "offers", "drafts", "--json"))) == []


def test_a_discarded_draft_is_never_sent(store, backend, login, sandbox, tmp_path):
    agent = login("srm_agent")
    offer_id = _offer_for(store, backend, 2)
    before = _exported(sandbox)[offer_id]
    change = tmp_path / "change.json"
    change.write_text(json.dumps({"title": "Never sent"}))
    ok(srm(agent, "offers", "update", offer_id, str(change), "--draft", api=sandbox))
    (draft,) = json.loads(ok(srm(agent, "offers", "drafts", "--json")))
    ok(srm(agent, "offers", "discard", str(draft["id"])))
    assert json.loads(ok(srm(agent, "offers", "drafts", "--json"))) == []
    ok(srm(agent, "offers", "push", "--json", api=sandbox))
    assert _exported(sandbox)[offer_id] == before


def test_season_groups_on_the_store(store, backend, sandbox):
    name = f"Team season {backend}"
    ok(srm(store, "offers", "groups", "create", name, api=sandbox))
    groups = json.loads(ok(srm(store, "offers", "groups", "list", "--json")))
    (group,) = [g for g in groups if g["name"] == name]
    ok(
        srm(
            store,
            "offers",
            "groups",
            "add-season",
            group["id"],
            "--start",
            "2027-01-01",
            "--end",
            "2027-02-01",
            api=sandbox,
        )
    )
    ok(srm(store, "offers", "groups", "rename", group["id"], name + " renamed", api=sandbox))
    groups = json.loads(ok(srm(store, "offers", "groups", "list", "--json")))
    (kept,) = [g for g in groups if g["id"] == group["id"]]
    assert kept["name"] == name + " renamed" and len(kept["seasons"]) == 1
    season = str(kept["seasons"][0]["id"])
    ok(srm(store, "offers", "groups", "remove-season", group["id"], season, api=sandbox))
    ok(srm(store, "offers", "groups", "delete", group["id"], api=sandbox))
    groups = json.loads(ok(srm(store, "offers", "groups", "list", "--json")))
    assert group["id"] not in {g["id"] for g in groups}


def test_a_viewer_may_not_write_offers(store, backend, login, sandbox, tmp_path):
    if backend == "sqlite":
        viewer, extra = login(None), {"SRM_ROLE": "viewer"}
    else:
        viewer, extra = login("srm_viewer"), {}
    change = tmp_path / "change.json"
    change.write_text(json.dumps({"title": "Viewer"}))
    offer_id = _offer_for(store, backend, 3)
    refused = srm(viewer, "offers", "update", offer_id, str(change), api=sandbox, **extra)
    assert refused.returncode == 1, refused.stderr
    assert "read only" in refused.stderr
    assert "Traceback" not in refused.stderr


# -- bulk runs ---------------------------------------------------------------------------------


def _segment(folder, name: str, where: dict) -> str:
    path = folder / f"{name}.json"
    path.write_text(json.dumps({"version": 1, "name": name, "selector": "latest", "where": where}))
    return str(path)


def _half(seeded_cache, backend: str) -> dict:
    """The customers of this backend's half of the seed (by id), so each backend's run acts on
    customers the other's never touched on the shared sandbox."""
    conn = sqlite3.connect(seeded_cache(CUSTOMERS, SEED))
    try:
        ids = [r[0] for r in conn.execute("SELECT id FROM customers ORDER BY id")]
    finally:
        conn.close()
    op = "lt" if backend == "sqlite" else "gte"
    return {"attr": "customer.id", "op": op, "value": ids[len(ids) // 2]}


def test_bulk_dry_runs_agree_across_backends(seeded_cache, pg_store, tmp_path):
    everyone = _segment(tmp_path, "everyone", {"all": []})
    args = ("bulk", "extend", "--segment", everyone, "--days", "10", "--dry-run", "--json")
    on_sqlite = json.loads(ok(srm(str(seeded_cache(CUSTOMERS, SEED)), *args)))
    on_pg = json.loads(ok(srm(pg_store(CUSTOMERS, SEED), *args)))
    assert on_sqlite["members"] == CUSTOMERS
    assert on_pg == on_sqlite


def test_bulk_runs_reach_the_sandbox_as_an_agent(
    store, backend, login, sandbox, seeded_cache, tmp_path
):
    half = _half(seeded_cache, backend)
    mine = _segment(tmp_path, "mine", {"all": [half]})
    active = _segment(
        tmp_path,
        "mine-active",
        {"all": [half, {"attr": "subscription.state", "op": "eq", "value": "active"}]},
    )
    # The owner's dry run settles the migrated store's segment facts (an agent may not).
    ok(srm(store, "bulk", "note-add", "--segment", mine, "x", "--dry-run"))
    agent = login("srm_agent")
    text = f"team outage credit {backend}"
    noted = json.loads(
        ok(srm(agent, "bulk", "note-add", "--segment", mine, text, "--yes", "--json", api=sandbox))
    )
    assert noted["status"] == "done" and noted["counts"]["done"] > 0
    notes = [n for n in sandbox.export()["notes"] if n["text"] == text]
    assert len(notes) == noted["counts"]["done"]

    count = json.loads(
        ok(
            srm(
                agent, "bulk", "cancel", "--segment", active, "--reason", "x", "--dry-run", "--json"
            )
        )
    )["members"]
    assert count > 0
    cancel = srm(
        agent,
        "bulk",
        "cancel",
        "--segment",
        active,
        "--reason",
        "outage",
        "--yes",
        "--confirm-count",
        str(count),
        "--json",
        api=sandbox,
    )
    run = json.loads(ok(cancel))
    assert run["status"] == "done" and run["counts"]["done"] > 0
    subs = {s["subscriptionId"]: s for s in sandbox.export()["subscriptions"]}
    report = json.loads(ok(srm(agent, "bulk", "show", str(run["id"]), "--json")))
    done = [m for m in report["members"] if m["status"] == "done"]
    assert len(done) == run["counts"]["done"]
    assert all(subs[m["subscription_id"]]["status"] != "active" for m in done)
    assert f"bulk #{noted['id']} note-add" in ok(srm(agent, "bulk", "list"))
    for what in ("pause", "cancel", "resume"):  # a finished run is not controlled
        refused = srm(agent, "bulk", what, str(run["id"]))
        assert refused.returncode == 2 and "RUN" in refused.stderr, refused.stderr


# -- imports -----------------------------------------------------------------------------------

CHURNIQ = Path(__file__).parents[1] / "data" / "churniq"
IMPORTED_TABLES = ("customers", "subscriptions", "passes", "transactions")


def _rows(db: str, sql: str) -> list[tuple]:
    """A query's rows on either backend, as the owner (the cache file or the store's URL)."""
    if db.startswith("postgresql://"):
        with psycopg.connect(db) as conn:
            return [tuple(r) for r in conn.execute(sql.replace("?", "%s")).fetchall()]
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _imported(db: str) -> dict[str, object]:
    found: dict[str, object] = {
        table: [
            (k, decode_raw(r)) for k, r in _rows(db, f"SELECT id, raw FROM {table} ORDER BY id")
        ]
        for table in IMPORTED_TABLES
    }
    found["pending"] = _rows(
        db, "SELECT email, source, customer_id, resolved_at FROM import_pending_emails"
    )
    found["quarantine"] = sorted(
        r for (r,) in _rows(db, "SELECT reason FROM quarantine WHERE source = 'import'")
    )
    found["files"] = sorted(
        _rows(db, "SELECT sha256, format, status, rows, quarantined, counts FROM import_files")
    )
    return found


def _import(db: str, *files: str, **env: str):
    return srm(db, "import", *files, "--json", **env)


REPORTS = ("transactions.csv", "subscriptions.csv", "passes.csv", "ids.txt")


def test_an_import_writes_the_same_records_on_both_backends(seeded_cache, pg_store, pg_login):
    files = [str(CHURNIQ / name) for name in REPORTS]
    cache = str(seeded_cache(CUSTOMERS, SEED))
    store = pg_store(CUSTOMERS, SEED)
    on_sqlite = json.loads(ok(_import(cache, *files)))
    on_pg = json.loads(ok(_import(pg_login(store, "srm_sync"), *files)))
    for summary in (on_sqlite, on_pg):
        summary.pop("seconds", None)
    assert on_pg == on_sqlite
    assert on_sqlite["subscriptions"] == 3 and on_sqlite["pending_emails"] == 1
    assert _imported(store) == _imported(cache)
    # The same files again change nothing on either.
    again = json.loads(ok(_import(store, *files)))
    assert {f["status"] for f in again["files"]} == {"already imported"}
    assert _imported(store) == _imported(cache)
    # The console's search finds an imported customer in the store.
    found = json.loads(ok(srm(store, "search", "lukasiewicz", "--json")))
    assert found and found == json.loads(ok(srm(cache, "search", "lukasiewicz", "--json")))


def test_an_agent_or_viewer_import_is_refused_and_writes_nothing(pg_store, pg_login):
    store = pg_store(CUSTOMERS, SEED)
    before = _imported(store)
    for group, standing in (("srm_agent", "an agent"), ("srm_viewer", "a viewer")):
        refused = _import(pg_login(store, group), str(CHURNIQ / "transactions.csv"))
        assert refused.returncode == 1
        assert refused.stderr.strip().splitlines() == [
            "srm: srm import: the team store's vendor records are written by the team "
            f"store's srm_sync login or its owner, not {standing} login"
        ]
    assert _imported(store) == before


def test_a_killed_import_resumes_on_the_team_store(pg_store, pg_login, tmp_path):
    report = tmp_path / "big.csv"
    _big_report(report, 5_300)  # a batch of 5,000, then the rest
    store, whole = pg_store(CUSTOMERS, SEED), pg_store(CUSTOMERS, SEED)
    ok(_import(whole, str(report)))
    killed = _import(pg_login(store, "srm_sync"), str(report), SRM_IMPORT_KILL_AFTER_BATCH="1")
    assert killed.returncode == -signal.SIGKILL
    # What the kill left is one whole batch with its checkpoint, nothing half-written.
    assert _rows(store, "SELECT status, rows FROM import_files") == [("running", 5000)]
    resumed = json.loads(ok(_import(pg_login(store, "srm_sync"), str(report))))
    assert resumed["files"][0]["status"] == "resumed" and resumed["transactions"] == 300
    assert _imported(store) == _imported(whole)


# -- rates and the playbook: team-wide, the owner's or the writer's ------------------------------

ECB_HIST = "Date,USD,JPY,PLN,\n2026-03-03,1.20,190.5,N/A,\n2026-03-02,1.10,180.0,4.2,\n"
PLAYBOOK = {
    "format": "srm-playbook",
    "version": 0,
    "rules": [
        {
            "name": "Everyone",
            "segment": {"where": {"all": []}},
            "offers": [{"kind": "extend", "days": 30}, {"kind": "let-go"}],
        }
    ],
}


def _refused_one_line(result, command: str, what: str, standing: str) -> None:
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"srm: {command}: {what} written by the team store's srm_sync login or its owner, "
        f"not {standing} login"
    ]


def test_rates_import_on_both_backends(store, backend, login, tmp_path):
    table = tmp_path / "ecb.csv"
    table.write_text(ECB_HIST)
    writer = store if backend == "sqlite" else login("srm_sync")
    assert "2026-03-03" in ok(srm(writer, "rates", "import", str(table)))
    shown = json.loads(ok(srm(store, "rates", "show", "--json")))
    assert shown["date"] == "2026-03-03" and shown["rates"] == {"JPY": 190.5, "USD": 1.2}
    if backend == "postgres":  # team-wide: an agent or a viewer may not replace them
        other = tmp_path / "other.csv"
        other.write_text("Date,USD,\n2026-04-01,1.30,\n")
        for group, standing in (("srm_agent", "an agent"), ("srm_viewer", "a viewer")):
            refused = srm(login(group), "rates", "import", str(other))
            _refused_one_line(
                refused, "srm rates import", "the team's exchange rates are", standing
            )
        assert json.loads(ok(srm(login("srm_agent"), "rates", "show", "--json"))) == shown


def test_playbook_import_on_both_backends(store, backend, login, tmp_path):
    path = tmp_path / "playbook.json"
    path.write_text(json.dumps(PLAYBOOK))
    saved = json.loads(ok(srm(store, "playbook", "import", str(path), "--json")))
    assert saved == {"version": 1, "rules": 1}
    exported = json.loads(ok(srm(store, "playbook", "export")))
    assert exported["version"] == 1 and exported["rules"][0]["name"] == "Everyone"
    if backend == "postgres":
        stale = srm(login("srm_sync"), "playbook", "import", str(path))
        assert stale.returncode == 2 and "is at version 1" in stale.stderr  # based on 0
        again = srm(login("srm_sync"), "playbook", "import", str(path), "--force", "--json")
        assert json.loads(ok(again)) == {"version": 2, "rules": 1}
        for group, standing in (("srm_agent", "an agent"), ("srm_viewer", "a viewer")):
            refused = srm(login(group), "playbook", "import", str(path), "--force")
            _refused_one_line(refused, "srm playbook import", "the team's playbook is", standing)
        assert json.loads(ok(srm(login("srm_agent"), "playbook", "export")))["version"] == 2


# -- anonymization: the owner's or the writer's ---------------------------------------------------


def test_anonymize_forgets_the_customer_on_both_backends(store, backend, login, sandbox):
    export = sandbox.export()
    candidates = sorted(
        (
            c
            for c in export["customers"]
            if c["email"] and c["lastName"] and not has_live_access(export, c["id"])
        ),
        key=lambda c: c["id"],
    )
    customer = candidates[BACKENDS.index(backend)]
    cid = str(customer["id"])
    assert json.loads(ok(srm(store, "search", customer["email"], "--json")))
    if backend == "postgres":
        # A viewer may run no action. (An agent's anonymize is served by the team's writer:
        # tests/integration/test_sync_watch.py.)
        refused = srm(login("srm_viewer"), "customer", "anonymize", cid, "--yes", api=sandbox)
        assert refused.returncode == 1, refused.stderr
        assert "Traceback" not in refused.stderr
        assert json.loads(ok(srm(store, "search", customer["email"], "--json")))
        writer = login("srm_sync")
    else:
        writer = store
    done = srm(writer, "customer", "anonymize", cid, "--yes", "--json", api=sandbox)
    assert json.loads(ok(done))["status"] == "applied"
    served = next(c for c in sandbox.export()["customers"] if c["id"] == customer["id"])
    assert served["email"] != customer["email"]
    # The values left the store at once, not at the team's next sync.
    assert json.loads(ok(srm(store, "search", customer["email"], "--json"))) == []
    found = json.loads(ok(srm(store, "search", customer["lastName"], "--json")))
    assert all(c["id"] != customer["id"] for c in found)
    shown = ok(srm(store, "customer", "show", cid, "--json"))
    assert customer["email"] not in shown and customer["lastName"] not in shown


def test_an_import_waits_for_no_sync_on_the_team_store(pg_store, pg_login, sandbox, tmp_path):
    """The import writes the sync's tables: while an srm sync holds the store's writer lock
    it is refused in one line naming that sync, and writes nothing."""
    store = pg_store(CUSTOMERS, SEED)
    hold = tmp_path / "hold"
    hold.touch()
    env = {
        **os.environ,
        "SRM_DB": store,
        "SRM_NOW": AS_OF,
        "SRM_API_URL": sandbox.url,
        "SRM_API_KEY": KEY,
        "SRM_WRITER_HOLD_FILE": str(hold),
    }
    syncing = subprocess.Popen(
        [*SRM, "sync"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert wait_for(
            lambda: (syncing.pid,) in _rows(store, "SELECT pid FROM store_writers"),
            timeout=120,
            interval=0.1,
        ), "the sync took no writer lock"
        before = _imported(store)
        refused = _import(pg_login(store, "srm_sync"), str(CHURNIQ / "transactions.csv"))
        assert refused.returncode == 1, refused.stderr
        (line,) = refused.stderr.strip().splitlines()
        assert line.startswith(
            f"srm: srm import: the store is being written by srm sync (pid {syncing.pid} on "
        ), line
        assert _imported(store) == before
        hold.unlink()
        _out, err = syncing.communicate(timeout=300)
        assert syncing.returncode == 0, err
    finally:
        if syncing.poll() is None:
            syncing.kill()
            syncing.communicate()
    ok(_import(pg_login(store, "srm_sync"), str(CHURNIQ / "transactions.csv")))

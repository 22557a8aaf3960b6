"""Anonymize: refused while access is live; afterwards no personal value stays in the cache.

The check reads the raw bytes of the cache file and its write-ahead log, and the search
index's vocabulary, for every personal value the customer had.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from srm_tui.api.client import ApiClient
from srm_tui.domain.fold import fold
from srm_tui.domain.lifecycle import pass_is_active, subscription_state
from srm_tui.sandbox.runner import start_in_thread
from srm_tui.storage.cache import Cache
from srm_tui.storage.facts import ensure_facts
from srm_tui.sync.webhooks import create_receiver
from tests.helpers import run_srm, srm_env

AS_OF = "2026-11-01T00:00:00Z"
NOW = int(datetime(2026, 11, 1, tzinfo=timezone.utc).timestamp())
PERSONAL = {
    "email",
    "firstName",
    "lastName",
    "lastUserIp",
    "externalId",
    "externalData",
    "companyName",
    "address",
    "city",
    "state",
    "postCode",
    "birthDate",
}
OWN = ("subscriptions", "passes", "transactions", "payment_details", "emails", "notes", "history")


@pytest.fixture(scope="module")
def sandbox(sandbox_process):
    return sandbox_process("--customers", "200", "--seed", "13", "--as-of", AS_OF)


@pytest.fixture(scope="module")
def db(sandbox, tmp_path_factory):
    path = tmp_path_factory.mktemp("anonymize") / "c.db"
    assert run_srm("sync", env=srm_env(sandbox, path)).returncode == 0
    return path


@pytest.fixture
def env(sandbox, db):
    return srm_env(sandbox, db, SRM_NOW=AS_OF, SRM_AGENT="anna")


def mine(export: dict[str, Any], customer_id: int, entity: str) -> list[dict[str, Any]]:
    return [x for x in export[entity] if x["customerId"] == customer_id]


def has_live_access(export: dict[str, Any], customer_id: int) -> bool:
    subs = mine(export, customer_id, "subscriptions")
    passes = mine(export, customer_id, "passes")
    return any(
        subscription_state(s["status"], s["inTrial"], s["dateTo"], NOW) != "churned" for s in subs
    ) or any(pass_is_active(p["status"], p["expiresAt"], NOW) for p in passes)


def richness(export: dict[str, Any], customer: dict[str, Any]) -> int:
    """How many places hold this customer's personal values (to test the hardest one)."""
    filled = sum(v is not None for v in customer["capture"].values())
    holders = sum(
        1
        for p in mine(export, customer["id"], "payment_details")
        if p["paymentMethodSpecificParams"].get("holderName")
    )
    return (
        filled
        + 2 * holders
        + 2 * len(mine(export, customer["id"], "history"))
        + 3 * bool(customer["externalId"])
        + len(mine(export, customer["id"], "notes"))
    )


def personal_values(export: dict[str, Any], customer_id: int) -> set[str]:
    customer = next(c for c in export["customers"] if c["id"] == customer_id)
    values: set[Any] = {
        customer[k] for k in ("email", "firstName", "lastName", "lastUserIp", "externalId")
    }
    values |= set((customer["externalData"] or {}).values())
    values |= set(customer["capture"].values())
    for entry in mine(export, customer_id, "history"):
        for change in entry["changes"]:
            if change["field"] in PERSONAL:
                values |= {change["from"], change["to"]}
    values |= {e["to"] for e in mine(export, customer_id, "emails")}
    values |= {
        p["paymentMethodSpecificParams"].get("holderName")
        for p in mine(export, customer_id, "payment_details")
    }
    return {v for v in values if isinstance(v, str) and v}


def everyone_else(export: dict[str, Any], customer_id: int) -> str:
    """All the data that is not this customer's, as text (values found there are not theirs)."""
    rest = {k: v for k, v in export.items() if k not in OWN and k != "customers"}
    rest["customers"] = [c for c in export["customers"] if c["id"] != customer_id]
    for entity in OWN:
        rest[entity] = [x for x in export[entity] if x["customerId"] != customer_id]
    return json.dumps(rest, ensure_ascii=False)


def leftovers(db: Path, values: set[str]) -> list[str]:
    raw = b"".join(p.read_bytes() for p in (db, db.with_name(db.name + "-wal")) if p.exists())
    # Records are stored compressed: their decoded text is searched too.
    from srm_tui.storage.payload import WRITE_WITH, decode_raw

    with contextlib.closing(sqlite3.connect(db)) as conn:
        for table in WRITE_WITH:
            for (stored,) in conn.execute(f"SELECT raw FROM {table}"):
                raw += json.dumps(decode_raw(stored), ensure_ascii=False).encode("utf-8")
    found = []
    for value in values:
        forms = {value, json.dumps(value)[1:-1]}
        if any(form.encode("utf-8") in raw for form in forms):
            found.append(value)
    return sorted(found)


def index_terms(db: Path) -> set[str]:
    conn = sqlite3.connect(db)
    try:
        conn.execute("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, customers_fts, 'row')")
        return {r[0] for r in conn.execute("SELECT term FROM temp.vocab")}
    finally:
        conn.close()


@contextlib.contextmanager
def holding_open(db: Path) -> Iterator[None]:
    """Another process keeps a connection to the cache open (its WAL is not removed)."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys\n"
            f"c = sqlite3.connect({str(db)!r}); c.execute('SELECT 1 FROM customers LIMIT 1')"
            ".fetchall(); print('open', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "open"
    try:
        yield
    finally:
        holder.stdin.close()
        holder.wait(timeout=10)


def tokens(values: set[str]) -> set[str]:
    return {t for v in values for t in re.split(r"[^\w]+", fold(v)) if len(t) >= 4}


def test_refused_while_access_is_live(sandbox, env):
    export = sandbox.export()
    with_sub = next(
        c
        for c in export["customers"]
        if c["email"]
        and any(
            subscription_state(s["status"], s["inTrial"], s["dateTo"], NOW) == "active"
            for s in mine(export, c["id"], "subscriptions")
        )
    )
    result = run_srm("customer", "anonymize", str(with_sub["id"]), "--yes", env=env)
    assert result.returncode == 1
    assert "anonymize.active-subscription" in result.stderr
    with_pass = next(
        c
        for c in export["customers"]
        if c["email"]
        and all(
            subscription_state(s["status"], s["inTrial"], s["dateTo"], NOW) == "churned"
            for s in mine(export, c["id"], "subscriptions")
        )
        and any(
            pass_is_active(p["status"], p["expiresAt"], NOW)
            for p in mine(export, c["id"], "passes")
        )
    )
    result = run_srm("customer", "anonymize", str(with_pass["id"]), "--yes", env=env)
    assert result.returncode == 1 and "anonymize.active-pass" in result.stderr
    assert sandbox.export()["customers"] == export["customers"]


def test_no_personal_value_remains_in_the_cache_file(sandbox, db, env):
    export = sandbox.export()
    candidates = [
        c for c in export["customers"] if c["email"] and not has_live_access(export, c["id"])
    ]
    customer = max(candidates, key=lambda c: richness(export, c))
    cid = customer["id"]
    # Put the customer's values in every other place the cache keeps text: an edit (audit,
    # history), a note quoting them, an action that went through the outbox, a webhook
    # delivery and a quarantined copy of the record.
    edited = run_srm(
        "customer",
        "edit",
        str(cid),
        "--first-name",
        "Wilhelmina-Quux",
        "--company",
        "Quuxcorp Fahrzeugbau GmbH",
        env=env,
    )
    assert edited.returncode == 0, edited.stderr
    quote = f"Called from {customer['email']}; {customer['lastName']} asked about her account"
    queued = run_srm("customer", "note", "add", str(cid), quote, env={**env, "SRM_API_URL": ""})
    assert queued.returncode == 0 and "queued" in queued.stdout
    assert run_srm("outbox", "push", env=env).returncode == 0
    cache = Cache(db)
    client = ApiClient(sandbox.url, "sandbox-key")
    receiver = create_receiver(cache, client)
    running = start_in_thread(receiver)
    try:
        delivered = httpx.post(
            running.url,
            json={
                "broadcasterId": 558186818,
                "topic": "customerUpdated",
                "data": {
                    "customerId": cid,
                    "customerEmail": customer["email"],
                    "customerExternalId": customer["externalId"],
                    "entities": ["customers"],
                },
            },
        )
        assert delivered.status_code == 200, delivered.text
        receiver.state.worker.queue.join()
    finally:
        running.stop()
    with cache.transaction() as tx:
        tx.execute(
            "INSERT INTO quarantine (entity, record_key, source, reason, payload, "
            "received_at) VALUES ('customers', ?, 'record', 'country: bad', ?, 0)",
            (str(cid), json.dumps(dict(customer, country="xx"))),
        )
    client.close()
    # Segment facts keep casefolded copies of names and emails: have them built too.
    ensure_facts(cache.conn())
    # Reading the file's bytes from a process that has it open in SQLite would drop that
    # process's locks (POSIX), so this one closes it; another process keeps a connection
    # open, so the write-ahead log stays on disk to be read too.
    cache.close()

    before = sandbox.export()
    others = everyone_else(before, cid)
    values = {v for v in personal_values(before, cid) | {quote} if v not in others and len(v) >= 4}
    assert {customer["email"], "Wilhelmina-Quux", "Quuxcorp Fahrzeugbau GmbH"} <= values
    assert leftovers(db, values), "the values are in the cache before"
    unique_terms = tokens(values) - tokens({others})
    assert unique_terms & index_terms(db)

    with holding_open(db):
        dry = run_srm("customer", "anonymize", str(cid), "--dry-run", env=env)
        assert dry.returncode == 0 and "irreversible" in dry.stdout
        result = run_srm("customer", "anonymize", str(cid), "--yes", "--json", env=env)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["status"] == "applied"
        assert db.with_name(db.name + "-wal").exists()
        assert leftovers(db, values) == []
    assert unique_terms & index_terms(db) == set()
    cache = Cache(db)
    try:
        conn = cache.conn()
        hooks = [r[0] for r in conn.execute("SELECT data FROM webhook_events")]
        assert len(hooks) == 1 and str(cid) in hooks[0] and "[anonymized]" in hooks[0]
        audit = conn.execute(
            "SELECT outcome FROM audit WHERE customer_id = ? ORDER BY id", (cid,)
        ).fetchall()
        assert [r[0] for r in audit] == ["applied", "queued", "sent", "applied"]
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        cache.close()
    assert json.loads(run_srm("search", customer["email"], "--json", env=env).stdout) == []
    shown = json.loads(run_srm("customer", "show", str(cid), "--json", env=env).stdout)
    assert shown["customer"] == next(c for c in sandbox.export()["customers"] if c["id"] == cid)
    assert shown["customer"]["email"] is None and shown["customer"]["country"]
    assert all(e["to"] is None and e["body"] is None for e in shown["emails"])
    assert len(shown["notes"]) == len(mine(before, cid, "notes"))
    assert leftovers(db, values) == []


def test_queued_anonymize_forgets_when_it_is_sent(sandbox, db, env):
    export = sandbox.export()
    customer = next(
        c
        for c in reversed(export["customers"])
        if c["email"] and not has_live_access(export, c["id"])
    )
    values = {
        v
        for v in personal_values(export, customer["id"])
        if v not in everyone_else(export, customer["id"]) and len(v) >= 4
    }
    queued = run_srm(
        "customer", "anonymize", str(customer["id"]), "--yes", env={**env, "SRM_API_URL": ""}
    )
    assert queued.returncode == 0 and "queued" in queued.stdout
    assert customer["email"] in values and leftovers(db, values)
    pushed = run_srm("outbox", "push", env=env)
    assert pushed.returncode == 0, pushed.stderr
    assert leftovers(db, values) == []
    assert (
        next(c for c in sandbox.export()["customers"] if c["id"] == customer["id"])["email"] is None
    )

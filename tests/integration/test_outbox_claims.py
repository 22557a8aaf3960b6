"""Outbox claims with leases (issue 15): several pushers share one outbox, each sending only
the entries it claimed. Run on both backends (a SQLite cache, and a PostgreSQL store where the
claim picks rows FOR UPDATE SKIP LOCKED): two claimers never take one row, a customer's
entries are taken in order, an expired lease is claimed again and the old claimant's settle is
dropped by the fence, a lease is extended and given back, and the entries of a dead pusher on
this host come back at once. Times are the session clock's seconds passed by hand (no sleep).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
from collections import Counter
from datetime import datetime

import psycopg
import pytest

from srm_tui.actions import audit, outbox
from srm_tui.storage.cache import Cache
from srm_tui.storage.db import open_store
from tests.helpers import run_srm, wait_for

NOW = 1_800_000_000
AS_OF = "2026-11-01T00:00:00Z"
KEY = "k3y-claims"
PAYLOAD = json.dumps({"request": {"method": "POST", "path": "/notes"}, "changes": []})


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    """An empty store of each backend (PostgreSQL as its owner, schema applied)."""
    if request.param == "sqlite":
        made = Cache(tmp_path / "c.db")
    else:
        from srm_tui.storage.pg import schema as pg_schema

        url = request.getfixturevalue("pg_url")
        with psycopg.connect(url, autocommit=True) as conn:
            pg_schema.apply(conn)
        made = open_store(url)
    yield made
    made.close()


def queue(store, customers: list[int | None]) -> list[int]:
    """One pending entry per customer given, in that order; their ids."""
    ids = []
    for n, customer in enumerate(customers):
        row = (
            store.conn()
            .execute(
                "INSERT INTO outbox (idempotency_key, action, target, customer_id, payload, base, "
                "status, created_at) VALUES (?, 'note-add', 't', ?, ?, '[]', 'pending', ?) "
                "RETURNING id",
                (f"key-{len(customers)}-{n}-{customer}", customer, PAYLOAD, NOW),
            )
            .fetchone()
        )
        ids.append(row[0])
    return ids


def ids_of(items) -> list[int]:
    return [i.id for i in items]


def status(store, item_id: int) -> str:
    return store.conn().execute("SELECT status FROM outbox WHERE id = ?", (item_id,)).fetchone()[0]


def test_only_a_customers_earliest_pending_entry_is_claimed(store):
    ids = queue(store, [1, 1, 2, None, 3, 2, None])
    a, b = outbox.Claim.new("a"), outbox.Claim.new("b")
    first = outbox.claim(store, a, now=NOW, limit=10)
    # Customer 1's and 2's later entries wait behind their earlier ones; no customer: free.
    assert ids_of(first) == [ids[0], ids[2], ids[3], ids[4], ids[6]]
    assert all(i.claim_token == a.token and i.claimed_by == a.who for i in first)
    assert outbox.claim(store, b, now=NOW, limit=10) == []  # held, or behind a held one
    assert outbox.settle(store.conn(), ids[0], outbox.SENT, now=NOW, token=a.token)
    # A conflict settles too: the customer's next entry may go.
    assert outbox.settle(store.conn(), ids[2], outbox.CONFLICT, now=NOW, token=a.token)
    assert ids_of(outbox.claim(store, b, now=NOW, limit=10)) == [ids[1], ids[5]]


def test_the_limit_takes_the_oldest(store):
    ids = queue(store, [1, 2, 3, 4])
    assert ids_of(outbox.claim(store, outbox.Claim.new(), now=NOW, limit=2)) == ids[:2]
    assert ids_of(outbox.claim(store, outbox.Claim.new(), now=NOW, limit=5)) == ids[2:]


def test_an_expired_lease_is_claimed_again_and_the_late_answer_is_dropped(store):
    (item,) = queue(store, [7])
    a, b = outbox.Claim.new("a", lease_s=60), outbox.Claim.new("b", lease_s=60)
    assert ids_of(outbox.claim(store, a, now=NOW)) == [item]
    assert outbox.claim(store, b, now=NOW + 59) == []  # a's lease holds
    assert ids_of(outbox.claim(store, b, now=NOW + 61)) == [item]  # ran out: b's now
    # a answers late: dropped by the fence, nothing written; b's answer is the one kept.
    assert not outbox.attempted(store.conn(), item, "late", token=a.token)
    assert not outbox.settle(store.conn(), item, outbox.SENT, now=NOW + 62, token=a.token)
    row = (
        store.conn()
        .execute("SELECT status, attempts, claimed_by FROM outbox WHERE id = ?", (item,))
        .fetchone()
    )
    assert tuple(row) == ("pending", 0, b.who)
    assert outbox.settle(store.conn(), item, outbox.SENT, now=NOW + 63, token=b.token)
    assert status(store, item) == "sent"


def test_a_lease_is_extended_while_held_and_given_back_at_the_end(store):
    ids = queue(store, [1, 2])
    a, b = outbox.Claim.new("a", lease_s=60), outbox.Claim.new("b", lease_s=60)
    assert ids_of(outbox.claim(store, a, now=NOW)) == ids
    assert outbox.settle(store.conn(), ids[0], outbox.SENT, now=NOW, token=a.token)
    assert outbox.extend(store, a, now=NOW + 50) == 1  # only the pending one
    assert outbox.claim(store, b, now=NOW + 70) == []  # extended to NOW + 110
    assert outbox.release(store, a) == 1
    assert ids_of(outbox.claim(store, b, now=NOW + 70)) == [ids[1]]


def test_a_held_claim_is_extended_by_its_keeper_and_given_back_at_the_end(store):
    (item,) = queue(store, [9])
    clock = [NOW]  # the session clock, moved by hand
    mine = outbox.Claim.new("keeper", lease_s=3)  # its keeper extends every second

    def lease() -> tuple:
        return tuple(
            store.conn()
            .execute("SELECT claim_token, lease_until FROM outbox WHERE id = ?", (item,))
            .fetchone()
        )

    with outbox.leased(store, mine, lambda: clock[0]):
        assert ids_of(outbox.claim(store, mine, now=NOW)) == [item]
        assert lease() == (mine.token, NOW + 3)
        clock[0] = NOW + 100
        # Waits for the keeper's extension (an event), within a generous bound.
        assert wait_for(lambda: lease() == (mine.token, NOW + 103), timeout=120)
    assert lease() == (None, None)  # not sent: given back for the next pusher


def test_a_requeued_entry_is_unclaimed(store):
    (item,) = queue(store, [4])
    a = outbox.Claim.new("a")
    outbox.claim(store, a, now=NOW)
    assert outbox.settle(store.conn(), item, outbox.CONFLICT, now=NOW, token=a.token)
    outbox.requeue(store.conn(), item, "a-new-key")
    assert ids_of(outbox.claim(store, outbox.Claim.new("b"), now=NOW)) == [item]


def test_an_entry_born_claimed_is_left_to_its_claimant(store):
    mine = outbox.Claim.new("run")
    store.conn().execute(
        "INSERT INTO outbox (idempotency_key, action, target, customer_id, payload, base, "
        "status, created_at, claim_token, claimed_by, lease_until) "
        "VALUES ('born', 'note-add', 't', 5, ?, '[]', 'pending', ?, ?, ?, ?)",
        (PAYLOAD, NOW, mine.token, mine.who, mine.until(NOW)),
    )
    assert outbox.claim(store, outbox.Claim.new("other"), now=NOW) == []
    assert [i.key for i in outbox.claim(store, mine, now=NOW)] == ["born"]


def test_a_dead_pushers_entries_on_this_host_come_back_at_once(store):
    ids = queue(store, [1, 2])
    gone = subprocess.Popen(["true"])
    gone.wait()  # its pid names no process now
    here = socket.gethostname()
    for item, who in ((ids[0], f"anna@{here} pid {gone.pid}"), (ids[1], "bob@elsewhere pid 1")):
        store.conn().execute(
            "UPDATE outbox SET claim_token = ?, claimed_by = ?, lease_until = ? WHERE id = ?",
            (f"token-{item}", who, NOW + 600, item),
        )
    mine = outbox.Claim.new("c")
    assert outbox.claim(store, mine, now=NOW) == []
    # The dead local pusher's entry comes back; another host's waits for its lease.
    assert outbox.reap(store, now=NOW) == 1
    assert ids_of(outbox.claim(store, mine, now=NOW)) == [ids[0]]
    assert outbox.reap(store, now=NOW) == 0


def test_concurrent_claimers_send_each_entry_once_and_each_customer_in_order(store):
    customers = [n % 7 for n in range(140)]
    ids = queue(store, customers)
    customer_of = dict(zip(ids, customers))
    settled: list[int] = []
    lock = threading.Lock()
    failures: list[BaseException] = []

    def pusher(name: str) -> None:
        mine = outbox.Claim.new(name)
        try:
            while True:
                taken = outbox.claim(store, mine, now=NOW, limit=3)
                if not taken:
                    pending = (
                        store.conn()
                        .execute("SELECT count(*) FROM outbox WHERE status = 'pending'")
                        .fetchone()[0]
                    )
                    if pending == 0:
                        return
                    continue  # the rest are held by the others or behind them
                for item in taken:
                    with lock:  # the order answers were written in
                        assert outbox.settle(
                            store.conn(), item.id, outbox.SENT, now=NOW, token=mine.token
                        )
                        settled.append(item.id)
        except BaseException as exc:  # reported by the test thread
            failures.append(exc)

    threads = [threading.Thread(target=pusher, args=(f"p{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not failures, failures
    assert not any(t.is_alive() for t in threads)
    assert Counter(settled) == Counter(ids)  # every entry once, none twice
    for customer in set(customers):
        mine = [i for i in settled if customer_of[i] == customer]
        assert mine == sorted(mine), customer


def test_the_audit_says_from_where(store):
    with store.transaction() as tx:
        entry = audit.record(
            tx,
            at=NOW,
            agent="anna",
            role="agent",
            action="note-add",
            target="customer 1",
            customer_id=1,
            before={},
            after={"note": "x"},
            outcome="sent",
        )
    (found,) = [e for e in audit.entries(store.conn()) if e.id == entry]
    assert (found.host, found.pid) == (socket.gethostname(), os.getpid())
    if store.dialect.name == "postgres":
        user = store.conn().execute("SELECT current_user").fetchone()[0]
        assert found.db_user == user
    else:
        assert found.db_user is None


def test_a_push_leaves_another_pushers_entries_and_says_whose(sandbox_process, seeded_cache):
    sandbox = sandbox_process(
        "--customers", "60", "--seed", "5", "--as-of", AS_OF, "--api-key", KEY
    )
    db = seeded_cache(60, 5)
    first, second = [c["id"] for c in sandbox.export()["customers"][:2]]
    env = {"SRM_DB": str(db), "SRM_NOW": AS_OF, "SRM_AGENT": "anna"}
    api = {**env, "SRM_API_URL": sandbox.url, "SRM_API_KEY": KEY}
    for customer, note in ((first, "held one"), (first, "held two"), (second, "free one")):
        queued = run_srm("customer", "note", "add", str(customer), note, env=env)
        assert queued.returncode == 0 and "queued" in queued.stdout, queued.stderr

    def sent() -> list[str]:
        notes = sorted(sandbox.export()["notes"], key=lambda n: n["id"])
        return [n["text"] for n in notes if n["text"].endswith(" one") or "held" in n["text"]]

    cache = Cache(db)
    try:
        now = int(datetime.fromisoformat(AS_OF.replace("Z", "+00:00")).timestamp())
        bob = outbox.Claim.new("bob")  # a live pusher: this test process
        assert [i.customer_id for i in outbox.claim(cache, bob, now=now, limit=1)] == [first]
        pushed = run_srm("outbox", "push", env=api)
        assert pushed.returncode == 0, pushed.stderr
        assert pushed.stdout.startswith("sent 1, conflicts 0, failed 0, still pending 2")
        assert f"1 pending entry is being sent by {bob.who} (1)" in pushed.stdout
        assert sent() == ["free one"]  # bob's, and the one behind it, left alone
        outbox.release(cache, bob)  # bob stops without sending: the next push takes both
        again = run_srm("outbox", "push", env=api)
        assert again.stdout.startswith("sent 2, conflicts 0, failed 0, still pending 0")
        assert sent() == ["free one", "held one", "held two"]  # in the customer's order
    finally:
        cache.close()

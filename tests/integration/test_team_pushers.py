"""Exactly once across the team (issue 15): 10 agents' headless sessions queue 1,000 notes on
one PostgreSQL store, then 3 `srm outbox push` processes (agent logins) send the shared outbox
at once, each only the entries it claimed. One of them SIGKILLs itself once the API has
accepted its 25th entry, before writing its status (SRM_PUSH_KILL_AFTER_SENDS: an event, not a
time); the other two start once it has sent its first. The others finish what they can; the dead pusher's entries stay held by its lease (the
session clock is fixed) until the test expires the lease by hand, and a rerun sends them: the
sandbox applied each note once (the resent one answered from its idempotency key), each
customer's notes in the order they were queued, the outbox all sent, and the audit names the
login, host and process of every queue and send.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
from collections import Counter

import httpx
import psycopg

from srm_tui.actions.service import PUSH_KILL_AFTER_ENV
from srm_tui.config import load_settings
from srm_tui.session import Session
from tests.helpers import SRM, run_srm, wait_for

AS_OF = "2026-11-01T00:00:00Z"
KEY = "k3y-team-pushers"
CUSTOMERS, SEED = 60, 5
AGENTS, EACH = 10, 100  # 1,000 notes in all
KILL_AFTER = 25


def text(agent: int, n: int) -> str:
    return f"team push {agent}-{n}"


def test_three_pushers_send_a_thousand_queued_notes_once(sandbox_process, pg_store, pg_login):
    sandbox = sandbox_process(
        "--customers", str(CUSTOMERS), "--seed", str(SEED), "--as-of", AS_OF, "--api-key", KEY
    )
    url = pg_store(CUSTOMERS, SEED)
    logins = [pg_login(url, "srm_agent") for _ in range(AGENTS)]
    customers = [c["id"] for c in sandbox.export()["customers"]]
    notes_before = len(sandbox.export()["notes"])

    # 10 agents queue at once, offline (no API): 100 notes each over all the customers.
    failures: list[BaseException] = []

    def agent(k: int) -> None:
        try:
            settings = load_settings(db=logins[k], agent=f"agent{k}", now=AS_OF, api_url=None)
            with Session(settings) as session:
                for n in range(EACH):
                    customer = customers[(k * EACH + n) % len(customers)]
                    done = session.actions.run("note-add", customer_id=customer, text=text(k, n))
                    assert done.status == "queued", done.message
        except BaseException as exc:  # reported by the test thread
            failures.append(exc)

    threads = [threading.Thread(target=agent, args=(k,)) for k in range(AGENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=900)
    assert not failures, failures
    owner = psycopg.connect(url, autocommit=True)
    try:
        assert owner.execute("SELECT count(*) FROM outbox WHERE status = 'pending'").fetchone() == (
            AGENTS * EACH,
        )

        # Three pushers at once; the first kills itself after its 25th accepted send. The
        # others start once the API has taken its first (an event), so it is mid-batch then
        # and, with 1,000 entries to share, reaches its 25th whatever the machine's speed.
        api = {"SRM_NOW": AS_OF, "SRM_API_URL": sandbox.url, "SRM_API_KEY": KEY}

        def pusher(p: int) -> subprocess.Popen:
            return subprocess.Popen(
                [*SRM, "outbox", "push", "--json"],
                env={
                    **os.environ,
                    **api,
                    "SRM_DB": logins[p],
                    "SRM_AGENT": f"pusher{p}",
                    **({PUSH_KILL_AFTER_ENV: str(KILL_AFTER)} if p == 0 else {}),
                },
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )

        def applied() -> int:
            return httpx.get(f"{sandbox.root}/sandbox/stats", timeout=60).json()["writes_applied"]

        pushers = [pusher(0)]
        assert wait_for(lambda: applied() >= 1 or pushers[0].poll() is not None, timeout=600)
        pushers += [pusher(1), pusher(2)]
        outputs = [p.communicate(timeout=900) for p in pushers]
        killed_pid = pushers[0].pid
        assert pushers[0].returncode == -signal.SIGKILL, outputs[0]
        for p, (out, err) in zip(pushers[1:], outputs[1:]):
            assert p.returncode == 0, err
            assert json.loads(out)["stopped"] is None

        # The dead pusher held what it claimed, among it the entry the API accepted but whose
        # status it never wrote. The clock is fixed, so no lease runs out: a pusher that
        # started after the death took its entries back (reap: its process is gone from
        # this host); what is still held comes back when the lease is expired by hand.
        held = owner.execute(
            "SELECT count(*) FROM outbox WHERE status = 'pending' AND claimed_by LIKE %s",
            (f"%pid {killed_pid}",),
        ).fetchone()[0]
        print(f"entries still held by the killed pusher: {held}")
        owner.execute("UPDATE outbox SET lease_until = 0 WHERE status = 'pending'")
        rerun = run_srm("outbox", "push", "--json", env={**api, "SRM_DB": logins[1]})
        assert rerun.returncode == 0, rerun.stderr
        assert json.loads(rerun.stdout)["remaining"] == 0

        statuses = owner.execute("SELECT status, count(*) FROM outbox GROUP BY 1").fetchall()
        assert statuses == [("sent", AGENTS * EACH)]
        # Each note applied once at the API; the resent one answered from its key.
        export = sandbox.export()
        sent = Counter(n["text"] for n in export["notes"] if n["text"].startswith("team push"))
        assert sent == Counter(text(k, n) for k in range(AGENTS) for n in range(EACH))
        assert len(export["notes"]) == notes_before + AGENTS * EACH
        stats = httpx.get(f"{sandbox.root}/sandbox/stats", timeout=60).json()
        assert stats["writes_applied"] == AGENTS * EACH
        assert stats["replays"] >= 1
        # One customer's notes reached the API in the order they were queued.
        queued = owner.execute("SELECT customer_id, payload FROM outbox ORDER BY id").fetchall()
        for customer in customers:
            want = [json.loads(p)["args"]["text"] for c, p in queued if c == customer]
            got = [
                n["text"]
                for n in sorted(export["notes"], key=lambda n: n["id"])
                if n["customerId"] == customer and n["text"].startswith("team push")
            ]
            assert got == want, customer

        # The audit: who queued (the 10 logins, 100 each) and who sent, from where.
        names = [u.split("//", 1)[1].split("@", 1)[0] for u in logins]
        queued_by = Counter(
            r[0]
            for r in owner.execute("SELECT db_user FROM audit WHERE outcome = 'queued'").fetchall()
        )
        assert queued_by == Counter({name: EACH for name in names})
        senders = owner.execute(
            "SELECT db_user, host, pid, count(*) FROM audit WHERE outcome = 'sent' GROUP BY 1, 2, 3"
        ).fetchall()
        assert sum(r[3] for r in senders) == AGENTS * EACH
        assert {r[0] for r in senders} <= {names[0], names[1], names[2]}
        assert {r[1] for r in senders} == {socket.gethostname()}
        by_pid = {r[2]: r[3] for r in senders}
        assert by_pid[killed_pid] == KILL_AFTER - 1  # its last send never settled
        print(f"sent by process: {sorted(by_pid.values())}")
    finally:
        owner.close()

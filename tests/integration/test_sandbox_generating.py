"""The sandbox serving over loopback HTTP while its customers are still being generated (the
demo's first start): the first customers pages come before generation ends, byte for byte
what a sandbox generated at once answers; what is not generated yet waits (bounded: 503 with
Retry-After) and then answers right. The generation is held by a gate, never timed."""

from __future__ import annotations

import threading

import httpx
import pytest

from srm_tui.sandbox import generating
from srm_tui.sandbox.runner import start_in_thread
from srm_tui.sandbox.server import create_app
from srm_tui.sandbox.state import SandboxState
from tests.conftest import AS_OF
from tests.unit.test_sandbox_generating_state import Gate

KEY = {"X-Publisher-Token": "sandbox-key"}
CUSTOMERS, SEED = 60, 5


@pytest.fixture
def served():
    """A sandbox generated at once and one held after its 25th customer, both served."""
    reference = SandboxState.generate(CUSTOMERS, SEED, AS_OF, advance_clock=False)
    gate = Gate(first=25)
    held = SandboxState.generating(CUSTOMERS, SEED, AS_OF, advance_clock=False, hold=gate)
    servers = [start_in_thread(create_app(s)) for s in (reference, held)]
    clients = [httpx.Client(base_url=r.url, headers=KEY, timeout=60) for r in servers]
    try:
        assert gate.reached.wait(120)
        yield held, gate, clients
    finally:
        gate.open.set()
        for client in clients:
            client.close()
        for running in servers:
            running.stop()


def answer(client: httpx.Client, path: str, **params) -> tuple[int, str | None, bytes]:
    got = client.get(path, params=params)
    return got.status_code, got.headers.get("X-Total-Count"), got.content


def test_first_pages_come_before_generation_ends_byte_for_byte(served, monkeypatch):
    held, gate, (reference, early) = served
    generation = held.generation
    pages = [("/x-srm/customers", {"since": 0, "limit": 10}), ("/x-srm/offers", {})]
    served_early = [answer(early, path, **params) for path, params in pages]
    second_since = early.get("/x-srm/customers", params={"limit": 10}).json()["nextSince"]
    pages.append(("/x-srm/customers", {"since": second_since, "limit": 10}))
    path, params = pages[-1]
    served_early.append(answer(early, path, **params))
    assert not generation.complete and generation.done == 25  # still held
    assert served_early == [answer(reference, path, **params) for path, params in pages]
    assert served_early[0][1] == str(CUSTOMERS)  # the total counts those still to come

    # A child entity's total is known at the end only: its page waits, bounded (here at
    # once), and is answered 503 with Retry-After as a fault would be.
    monkeypatch.setattr(generating, "GENERATION_WAIT", 0)
    refused = early.get("/x-srm/subscriptions", params={"limit": 1})
    assert (refused.status_code, refused.headers["Retry-After"]) == (503, "1")
    assert early.get("/customers/1").status_code == 503  # reads by id wait for the end

    gate.open.set()
    assert generation.wait_complete(120)
    for path, params in pages + [("/x-srm/subscriptions", {"limit": 1})]:
        assert answer(early, path, **params) == answer(reference, path, **params)
    roots = [str(c.base_url).rstrip("/").removesuffix("/3.1") for c in (reference, early)]
    exports = [httpx.get(f"{root}/sandbox/export", timeout=60).content for root in roots]
    assert exports[0] == exports[1]


def test_a_request_for_a_customer_not_generated_yet_waits_then_answers_right(served):
    held, gate, (reference, early) = served
    late = reference.get("/x-srm/customers", params={"since": 0, "limit": 1000}).json()
    customer = late["items"][40]["id"]  # after the gate
    got: list[tuple] = []
    asker = threading.Thread(
        target=lambda: got.append(answer(early, "/x-srm/transactions", customerId=customer))
    )
    asker.start()
    assert held.generation.someone_waits.wait(120)  # the request waits on the generation
    assert got == []
    gate.open.set()
    asker.join(120)
    assert got == [answer(reference, "/x-srm/transactions", customerId=customer)]
    assert got[0][0] == 200 and got[0][2].count(b'"transactionId"') > 0


def test_a_first_sync_writes_the_first_customers_before_generation_ends(served, tmp_path):
    """The demo's first start: the sync asks the customers' total, pulls their pages as they
    are generated, and asks the other entities' totals once the customers are in, so the
    first customers are written (and shown) while generation is still held."""
    from srm_tui.api.client import ApiClient
    from srm_tui.storage.cache import Cache
    from srm_tui.sync.engine import SyncEngine

    held, gate, (reference, _early) = served
    url = str(_early.base_url)
    seen: list = []
    first = threading.Event()

    def progress(p) -> None:
        seen.append((p, held.generation.complete))
        if p.entity == "customers":
            first.set()

    cache = Cache(tmp_path / "c.db")
    result: list = []
    with ApiClient(url, "sandbox-key") as client:
        engine = SyncEngine(cache, client, page_size=10, progress=progress)
        worker = threading.Thread(target=lambda: result.append(engine.run(full=True)))
        worker.start()
        try:
            assert first.wait(120), "no customers page was written while generation was held"
            assert not held.generation.complete and held.generation.done == 25
            p, _ = seen[0]
            assert (p.entity, p.entity_done, p.entity_total, p.total) == ("customers", 10, 60, None)
            assert p.line().startswith("syncing customers 10/60 (")
        finally:
            gate.open.set()
            worker.join(300)
    (summary,) = result
    assert summary.ok and summary.counts["customers"] == CUSTOMERS
    last, _ = seen[-1]
    expected = sum(
        int(reference.get(f"/x-srm/{e}", params={"limit": 1}).headers["X-Total-Count"])
        for e in summary.counts
    )
    assert last.total == expected and last.done == expected
    assert last.line() == f"syncing {expected:,}/{expected:,} records ({last.rate:,.0f}/s)"
    assert cache.conn().execute("SELECT count(*) FROM customers").fetchone()[0] == CUSTOMERS
    cache.close()

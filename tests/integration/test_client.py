"""The API client against the real sandbox: paging, Retry-After, ETags, typed errors."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from srm_tui.api import errors
from srm_tui.api.client import ApiClient, RetryPolicy, unwrap
from srm_tui.sandbox.runner import start_in_thread
from srm_tui.sandbox.server import create_app
from srm_tui.sandbox.state import SandboxState

AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def state():
    return SandboxState.generate(120, 5, AS_OF)


@pytest.fixture(scope="module")
def sandbox(state):
    running = start_in_thread(create_app(state))
    yield running
    running.stop()


def test_offset_paging_reads_every_item_once(sandbox, state):
    export = state.export()
    customer = max(
        {s["customerId"] for s in export["subscriptions"]},
        key=lambda c: sum(s["customerId"] == c for s in export["subscriptions"]),
    )
    expected = sorted(
        s["subscriptionId"] for s in export["subscriptions"] if s["customerId"] == customer
    )
    with ApiClient(sandbox.url, "sandbox-key") as client:
        got = [
            s["subscriptionId"]
            for s in client.paginate("/subscriptions", {"customerId": customer}, limit=1)
        ]
    assert sorted(got) == expected and len(got) == len(set(got))


def test_retry_after_is_honoured_on_429(state):
    running = start_in_thread(create_app(state, rate_limit=2))
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # really waits, and remembers how long
        slept.append(seconds)
        time.sleep(seconds)

    try:
        with ApiClient(
            running.url, "sandbox-key", sleep=sleep, retry=RetryPolicy(attempts=30)
        ) as client:
            for _ in range(8):
                client.customer(state.export()["customers"][0]["id"])
    finally:
        running.stop()
    assert slept and min(slept) >= 1.0  # the sandbox's Retry-After is whole seconds


def test_typed_errors_and_envelopes(sandbox, state):
    with ApiClient(sandbox.url, "sandbox-key") as client:
        with pytest.raises(errors.NotFound):
            client.customer(999999999)
        with pytest.raises(errors.BadRequest):
            client.get_json("/customers")  # the vendor needs an email or externalId
    with ApiClient(sandbox.url, "wrong-key") as client:
        with pytest.raises(errors.AuthError) as caught:
            client.customer(state.export()["customers"][0]["id"])
        assert "wrong-key" not in str(caught.value)
    assert unwrap({"success": True, "message": "", "data": [1]}) == [1]
    assert unwrap({"responseData": {"a": 1}, "errors": []}) == {"a": 1}
    with pytest.raises(errors.ApiError, match="nope"):
        unwrap({"success": False, "message": "nope", "data": None})


def test_offer_update_needs_the_current_version(sandbox, state):
    offer_id = state.export()["offers"][0]["id"]
    with ApiClient(sandbox.url, "sandbox-key") as a, ApiClient(sandbox.url, "sandbox-key") as b:
        _, etag = a.offer(offer_id)
        _, etag_b = b.offer(offer_id)
        updated, new_etag = a.update_offer(offer_id, {"description": "first"}, etag)
        assert updated["description"] == "first" and new_etag != etag
        with pytest.raises(errors.PreconditionFailed):
            b.update_offer(offer_id, {"description": "second"}, etag_b)
        assert a.offer(offer_id)[0]["description"] == "first"


def test_unreachable_is_typed(tmp_path):
    from tests.helpers import free_port

    with ApiClient(
        f"http://127.0.0.1:{free_port()}/3.1",
        "k",
        timeout=1,
        retry=RetryPolicy(attempts=2, base_delay=0.01),
    ) as client:
        with pytest.raises(errors.Unreachable):
            client.customer(123456789)


def test_a_port_nobody_listens_on_is_given_up_after_two_connects():
    from tests.helpers import free_port

    slept: list[float] = []
    # The default policy (six attempts for timeouts and 5xx): a refused connect gets two.
    with ApiClient(f"http://127.0.0.1:{free_port()}/3.1", "k", sleep=slept.append) as client:
        with pytest.raises(errors.Unreachable, match="refused"):
            client.customer(123456789)
        assert client.retries == 1 and len(slept) == 1


def test_vendor_sync_waits_as_the_api_says_on_429(state, tmp_path):
    """A vendor-profile sync meeting the rate limit waits the Retry-After it is given and
    still ends with every customer it knows of."""
    from srm_tui.sandbox.runner import start_sandbox
    from srm_tui.storage.cache import Cache
    from srm_tui.sync.engine import SyncEngine

    running = start_sandbox(state, profile="vendor", rate_limit=3)
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # really waits, and remembers how long
        slept.append(seconds)
        time.sleep(seconds)

    ids = sorted(c["id"] for c in state.export()["customers"][:6])
    cache = Cache(tmp_path / "c.db")
    with cache.transaction() as tx:
        tx.executemany(
            "INSERT INTO customer_fetch_state (customer_id, status, attempted_at) "
            "VALUES (?, 'pending', 0)",
            [(i,) for i in ids],
        )
    try:
        with ApiClient(
            running.url, "sandbox-key", sleep=sleep, retry=RetryPolicy(attempts=30)
        ) as client:
            summary = SyncEngine(cache, client).run()
            assert client.limited > 0
    finally:
        running.stop()
    assert summary.ok and summary.counts["customers"] == 6, summary.errors
    assert sorted(r[0] for r in cache.conn().execute("SELECT id FROM customers")) == ids
    assert max(slept) >= 1.0  # the sandbox's Retry-After is whole seconds
    cache.close()

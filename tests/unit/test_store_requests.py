"""Store requests (storage/requests.py) on a SQLite cache: what a push queues for the writer and
how a pass serves it. The fetch is a function the test gives (the sync engine's fetch over the
real sandbox is tests/integration/test_sync_watch.py)."""

from __future__ import annotations

import pytest

from srm_tui.api import errors as api_errors
from srm_tui.storage import requests
from srm_tui.storage.writer import WriterLock


def _rows(cache):
    return [
        tuple(r)
        for r in cache.conn().execute(
            "SELECT kind, customer_id, outbox_id, done_at, error, personal FROM store_requests "
            "ORDER BY id"
        )
    ]


def test_a_waiting_refresh_is_asked_once_and_a_forget_keeps_its_values(cache):
    assert requests.queue(cache, "refresh", 7, now=100, outbox_id=1)
    assert not requests.queue(cache, "refresh", 7, now=101, outbox_id=2)  # one waits already
    assert requests.queue(cache, "refresh", 8, now=102)
    assert requests.queue(cache, "forget", 7, now=103, outbox_id=3, personal={"Ann", "", "a@x"})
    assert _rows(cache) == [
        ("refresh", 7, 1, None, None, None),
        ("refresh", 8, None, None, None, None),
        ("forget", 7, 3, None, None, '["Ann", "a@x"]'),
    ]
    assert requests.waiting_count(cache) == 3
    assert [r.personal for r in requests.waiting(cache)] == [(), (), ("Ann", "a@x")]
    with pytest.raises(ValueError):
        requests.queue(cache, "delete", 7, now=104)


def test_queued_inside_a_transaction_it_goes_with_it(cache):
    with pytest.raises(RuntimeError), cache.transaction():
        requests.queue(cache, "refresh", 7, now=100)
        raise RuntimeError("the sent status was not written either")
    assert _rows(cache) == []


def test_only_the_writer_lock_holder_serves(cache):
    requests.queue(cache, "refresh", 7, now=100)
    with pytest.raises(RuntimeError, match="writer lock"):
        requests.serve(cache, lambda customer_id: customer_id)
    assert requests.waiting_count(cache) == 1


def test_a_pass_serves_each_customer_once_in_order(cache):
    for customer_id in (9, 7, 9):
        requests.queue(cache, "refresh", customer_id, now=100)
    requests.queue(cache, "forget", 9, now=101)
    fetched = []

    def fetch(customer_id):
        fetched.append(customer_id)
        return customer_id

    with WriterLock.acquire(cache, "sync"):
        served = requests.serve(cache, fetch, now=lambda: 200)
    assert fetched == [9, 7]  # the first asked first, one fetch per customer
    assert (served.refreshed, served.forgotten, served.done, served.waiting) == (2, 1, 3, 0)
    assert [r[3] for r in _rows(cache)] == [200, 200, 200]


def test_an_api_away_keeps_the_rest_and_a_refused_customer_is_done_with_why(cache):
    for customer_id in (1, 2, 3):
        requests.queue(cache, "refresh", customer_id, now=100)

    def fetch(customer_id):
        if customer_id == 1:
            raise api_errors.NotFound("no customer 1", status=404)
        if customer_id == 2:
            return None  # the API has no such customer any more
        raise api_errors.Unreachable("connection refused")

    with WriterLock.acquire(cache, "sync"):
        served = requests.serve(cache, fetch, now=lambda: 200)
    assert served.errors == ["customer 3: connection refused; requests kept"]
    assert (served.gone, served.done, served.waiting) == (2, 2, 1)
    assert [(r[1], r[3], r[4]) for r in _rows(cache)] == [
        (1, 200, "the API refused it: no customer 1"),
        (2, 200, "the API has no such customer"),
        (3, None, None),
    ]
    assert requests.prune(cache, before=201) == 2
    assert [r[1] for r in _rows(cache)] == [3]


def test_a_sync_settles_the_refreshes_asked_before_it_began(cache):
    assert requests.last_id(cache) == 0
    requests.queue(cache, "refresh", 1, now=1)
    requests.queue(cache, "forget", 1, now=1)
    up_to = requests.last_id(cache)
    requests.queue(cache, "refresh", 2, now=2)  # asked while the run went: not its to settle
    assert requests.settle_by_sync(cache, up_to, now=9) == 1
    assert [(r[0], r[1], r[3]) for r in _rows(cache)] == [
        ("refresh", 1, 9),
        ("forget", 1, None),  # a forget is always served
        ("refresh", 2, None),
    ]
    assert requests.waiting_count(cache, kind="refresh") == 1
    assert requests.waiting_count(cache) == 2

"""The team store's change feed (storage/changes.py, storage/pg/changes.py; issue 15, ISSUE15
1(e)) on a real PostgreSQL server: srm's own tables log each statement's customers by trigger
(as any login, with no right on the log itself), the writer logs its pages and prunes, a feed
delivers what others commit, in order, nothing lost when its connection is terminated or when a
lower number commits after a higher one. No sleeps: every wait is on the feed or the server.
"""

from __future__ import annotations

import psycopg
import pytest

from srm_tui.storage import changes
from srm_tui.storage.cache import Cache
from srm_tui.storage.db import open_store
from srm_tui.storage.pg.changes import GAP_GRACE_S, PgChangeFeed

CUSTOMERS, SEED = 20, 3


@pytest.fixture
def store(pg_store):
    return pg_store(CUSTOMERS, SEED)


def _log(url: str, after: int = 0) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT kind, customer_ids, source FROM change_log WHERE seq > %s ORDER BY seq",
            (after,),
        ).fetchall()


def _last(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT coalesce(max(seq), 0) FROM change_log").fetchone()[0]


def _login_name(url: str) -> str:
    return url.split("//", 1)[1].split("@", 1)[0]


def _queue(conn: psycopg.Connection, key: str, customer_id: int | None) -> int:
    return conn.execute(
        "INSERT INTO outbox (idempotency_key, action, target, customer_id, payload, created_at) "
        "VALUES (%s, 'note-add', 't', %s, '{}', 1) RETURNING id",
        (key, customer_id),
    ).fetchone()[0]


def _wait_for(feed: PgChangeFeed, count: int, rounds: int = 120) -> list[changes.Change]:
    """The feed's changes until ``count`` came (each wait is bounded; 120 rounds of up to 1 s
    is a generous bound on a busy machine, never a timing assertion)."""
    got: list[changes.Change] = []
    for _ in range(rounds):
        got += feed.wait(1.0)
        if len(got) >= count:
            break
    return got


def test_an_agents_writes_are_logged_by_trigger_naming_customers_and_login(store, pg_login):
    agent = pg_login(store, "srm_agent")
    before = _last(store)
    with psycopg.connect(agent, autocommit=True) as conn:
        first = _queue(conn, "k1", 7)
        conn.execute(
            "INSERT INTO audit (at, action, customer_id, outcome) VALUES (1, 'note-add', 7, 'q')"
        )
        # A pusher's claim and lease changes nothing an agent sees: not logged.
        conn.execute("UPDATE outbox SET claimed_by = 'p', lease_until = 99 WHERE id = %s", (first,))
        conn.execute("UPDATE outbox SET status = 'sent' WHERE id = %s", (first,))
        _queue(conn, "k2", None)  # an entry naming no customer still says the outbox changed
        # The log itself is the triggers' and the writer's: refused to an agent.
        for statement in (
            "INSERT INTO change_log (kind) VALUES ('forged')",
            "SELECT srm_log_change('forged', '{}')",
            "DELETE FROM change_log",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
    who = _login_name(agent)
    assert _log(store, before) == [
        ("outbox", [7], who),
        ("audit", [7], who),
        ("outbox", [7], who),
        ("outbox", [], who),
    ]


def test_one_statement_is_one_row_and_too_many_customers_are_any(store):
    before = _last(store)
    with psycopg.connect(store, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO outbox (idempotency_key, action, target, customer_id, payload, "
            "created_at) SELECT 'b' || i, 'note-add', 't', i % 3, '{}', 1 "
            "FROM generate_series(1, 30) i"
        )
        conn.execute(
            "INSERT INTO outbox (idempotency_key, action, target, customer_id, payload, "
            "created_at) SELECT 'm' || i, 'note-add', 't', i, '{}', 1 "
            "FROM generate_series(1, 1001) i"
        )
        conn.execute("UPDATE outbox SET attempts = 0 WHERE false")  # no row: nothing logged
    rows = _log(store, before)
    assert [(kind, ids) for kind, ids, _ in rows] == [("outbox", [0, 1, 2]), ("outbox", None)]
    got = [
        changes.Change(1, 0, kind, None if ids is None else tuple(ids), "x")
        for kind, ids, _ in rows
    ]
    assert not got[0].any_customer and got[1].any_customer


def test_the_writer_logs_its_pages_and_prunes_a_day_old_rows(store, pg_login):
    sync = pg_login(store, "srm_sync")
    with psycopg.connect(store, autocommit=True) as conn:
        conn.execute("INSERT INTO change_log (kind, at) VALUES ('old', 1)")
    writer = open_store(sync)
    try:
        with writer.transaction(vendor=True) as tx:
            changes.page_written(tx, "customers", [5, 3, 5, None])
    finally:
        writer.close()
    log = _log(store)
    assert ("old", None, _login_name(store)) not in log
    assert log[-1] == ("sync:customers", [3, 5], _login_name(sync))


def test_a_sqlite_cache_has_no_feed_and_logs_no_page(tmp_path):
    cache = Cache(tmp_path / "c.db")
    try:
        assert changes.open_feed(cache) is None
        with cache.transaction() as tx:
            changes.page_written(tx, "customers", [1])  # nothing to log into: no error
        names = {r[0] for r in cache.conn().execute("SELECT name FROM sqlite_master")}
        assert "change_log" not in names
    finally:
        cache.close()


def test_the_feed_delivers_others_changes_and_resumes_after_its_backend_is_killed(store, pg_login):
    viewer = pg_login(store, "srm_viewer")  # reading the log is every role's right
    agent = pg_login(store, "srm_agent")
    feed = changes.open_feed(open_store(viewer))
    assert isinstance(feed, PgChangeFeed)
    try:
        assert feed.wait(0.1) == []  # connects; starts after what was logged before
        with psycopg.connect(agent, autocommit=True) as conn:
            _queue(conn, "f1", 11)
        got = _wait_for(feed, 1)
        assert [(c.kind, c.customer_ids) for c in got] == [("outbox", (11,))]
        assert got[0].source == _login_name(agent)

        # The feed's connection is terminated by the server; a change is made while it is
        # gone (its NOTIFY reaches nobody); the next waits reconnect and read it from the log.
        pid = feed.backend_pid
        with psycopg.connect(store, autocommit=True) as admin:
            assert admin.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
            with psycopg.connect(agent, autocommit=True) as conn:
                _queue(conn, "f2", 12)
        got = _wait_for(feed, 1)
        assert [(c.kind, c.customer_ids) for c in got] == [("outbox", (12,))]
        assert feed.reconnects == 1 and feed.backend_pid not in (None, pid)
        assert _wait_for(feed, 1, rounds=2) == []  # delivered once
    finally:
        feed.close()


def test_a_change_logged_before_the_feed_first_connects_still_comes(store, pg_login):
    """The feed's floor is the log as the console first read the store (open_feed), not as it
    was when the feed's own connection came up: on a busy host that connection came seconds
    later, and a note another agent queued meanwhile never reached the screen (seen in a
    clean-clone run with a second suite beside it)."""
    agent = pg_login(store, "srm_agent")
    opened = open_store(pg_login(store, "srm_viewer"))
    try:
        feed = changes.open_feed(opened)
        assert isinstance(feed, PgChangeFeed) and feed.backend_pid is None  # not connected yet
        with psycopg.connect(agent, autocommit=True) as conn:
            _queue(conn, "early", 41)
        got = _wait_for(feed, 1)
        assert [(c.kind, c.customer_ids) for c in got] == [("outbox", (41,))]
        assert _wait_for(feed, 1, rounds=2) == []
    finally:
        feed.close()
        opened.close()


def test_a_lower_number_committed_after_a_higher_one_is_not_lost(store):
    feed = PgChangeFeed(store)
    try:
        feed.wait(0.1)
        slow = psycopg.connect(store)  # a transaction that takes its number and waits
        try:
            _queue(slow, "s1", 21)
            with psycopg.connect(store, autocommit=True) as quick:
                _queue(quick, "q1", 22)
            got = _wait_for(feed, 1)
            assert [c.customer_ids for c in got] == [(22,)]
            slow.commit()
        finally:
            slow.close()
        got = _wait_for(feed, 1)
        assert [c.customer_ids for c in got] == [(21,)]
        assert _wait_for(feed, 1, rounds=2) == []
    finally:
        feed.close()


def test_a_rolled_back_number_holds_the_floor_only_for_the_grace(store):
    now = [0.0]
    feed = PgChangeFeed(store, clock=lambda: now[0])
    try:
        feed.wait(0.1)
        with psycopg.connect(store) as gone:
            _queue(gone, "r1", 31)
            gone.rollback()  # its number is never used
        with psycopg.connect(store, autocommit=True) as conn:
            _queue(conn, "r2", 32)
        assert [c.customer_ids for c in _wait_for(feed, 1)] == [(32,)]
        floor = feed._floor
        now[0] += GAP_GRACE_S + 1
        with psycopg.connect(store, autocommit=True) as conn:
            _queue(conn, "r3", 33)
        assert [c.customer_ids for c in _wait_for(feed, 1)] == [(33,)]
        assert feed._floor >= floor + 3 and not feed._seen  # the hole was passed
    finally:
        feed.close()


def test_a_served_request_is_logged_for_the_console_waiting_on_it(store, pg_login):
    agent = pg_login(store, "srm_agent")
    with psycopg.connect(agent, autocommit=True) as conn:
        asked = conn.execute(
            "INSERT INTO store_requests (kind, customer_id, requested_at) "
            "VALUES ('refresh', 41, 1) RETURNING id"
        ).fetchone()[0]
    before = _last(store)
    with psycopg.connect(store, autocommit=True) as writer:
        writer.execute("UPDATE store_requests SET done_at = 2 WHERE id = %s", (asked,))
    assert [(kind, ids) for kind, ids, _ in _log(store, before)] == [("store_requests", [41])]

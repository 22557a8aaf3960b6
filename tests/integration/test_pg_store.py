"""The PostgreSQL store (storage/pg/connection.py) on a real server: statements, rows, number
types, autocommit, transactions with the advisory locks, savepoints, errors."""

from __future__ import annotations

import threading

import psycopg
import pytest

from srm_tui.storage.db import Row, open_store
from srm_tui.storage.pg.connection import (
    OWN_LOCK_KEY,
    VENDOR_LOCK_KEY,
    PgStore,
    StoreUnreachable,
    StoreUsageError,
)

WAIT_S = 120  # the longest a step waits for another thread (a bound, never a measurement)


@pytest.fixture
def store(pg_url):
    s = open_store(pg_url)
    assert isinstance(s, PgStore)
    yield s
    s.close()


def other(url: str):
    """A second, plain connection: sees only what is committed."""
    return psycopg.connect(url, autocommit=True)


def waiting_for(url: str, key: int) -> int:
    """How many sessions wait for advisory lock ``key`` right now."""
    with other(url) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
            "AND classid = %s AND objid = %s AND objsubid = 1",
            ((key >> 32) & 0xFFFFFFFF, key & 0xFFFFFFFF),
        ).fetchone()[0]


def until_waiting(url: str, key: int, count: int = 1) -> None:
    """Return once ``count`` sessions wait for ``key`` (polls the server's lock table)."""
    event = threading.Event()
    for _ in range(WAIT_S * 20):
        if waiting_for(url, key) >= count:
            return
        event.wait(0.05)
    raise AssertionError(f"nobody waited for lock {key:#x}")


def test_execute_fetch_and_rows(store):
    c = store.conn()
    c.execute("CREATE TABLE t (id bigint PRIMARY KEY, name text, score double precision)")
    c.execute("INSERT INTO t VALUES (?, ?, ?)", (1, "Łukasz", 2.5))
    c.execute("INSERT INTO t VALUES (:id, :name, :score)", {"id": 2, "name": "a%b", "score": None})
    rows = c.execute("SELECT id, name, score FROM t ORDER BY id").fetchall()
    assert [tuple(r) for r in rows] == [(1, "Łukasz", 2.5), (2, "a%b", None)]
    first = rows[0]
    assert isinstance(first, Row)
    assert first[0] == 1 and first["name"] == "Łukasz" and first["NAME"] == "Łukasz"
    assert first.keys() == ["id", "name", "score"]
    assert dict(first) == {"id": 1, "name": "Łukasz", "score": 2.5}
    ident, name, score = first
    assert (ident, name, score) == (1, "Łukasz", 2.5)
    with pytest.raises(IndexError):
        first["missing"]
    # A literal % and a ? inside a string are text, not placeholders, with or without params.
    assert c.execute("SELECT '100% ?'").fetchone()[0] == "100% ?"
    assert c.execute("SELECT '100%' || ? || ':x'", ("!",)).fetchone()[0] == "100%!:x"
    result = c.execute("SELECT id FROM t ORDER BY id")
    assert result.description[0].name == "id"
    assert [r[0] for r in result] == [1, 2]
    assert c.execute("SELECT id FROM t WHERE id = 9").fetchone() is None
    assert c.execute("UPDATE t SET score = 1 WHERE id > ?", (0,)).rowcount == 2
    many = c.executemany("INSERT INTO t (id, name) VALUES (?, ?)", [(3, "c"), (4, "d"), (5, "e")])
    assert many.rowcount == 3
    assert c.execute("SELECT count(*) FROM t").fetchone()[0] == 5


def test_ints_are_int8_and_numerics_are_int_or_float(store):
    c = store.conn()
    assert c.execute("SELECT pg_typeof(?)::text", (5,)).fetchone()[0] == "bigint"
    # Bound as smallint, 30000 * 100000 would overflow int4.
    assert c.execute("SELECT ? * 100000", (30000,)).fetchone()[0] == 3_000_000_000
    big = 2**62 + 7
    assert c.execute("SELECT ? + 0", (big,)).fetchone()[0] == big
    assert c.execute("SELECT ?", (-5,)).fetchone()[0] == -5
    assert c.execute("SELECT ?", (True,)).fetchone()[0] is True
    c.execute("CREATE TABLE m (v bigint)")
    c.executemany("INSERT INTO m VALUES (?)", [(2**40,), (3,), (4,)])
    total, mean = c.execute("SELECT sum(v), avg(v) FROM m").fetchone()
    assert total == 2**40 + 7 and type(total) is int
    assert type(mean) is float and mean == pytest.approx((2**40 + 7) / 3)
    value, rounded, scaled = c.execute(
        "SELECT 2.50::numeric, round(2.5::numeric), 47.99::numeric(10,2)"
    ).fetchone()
    assert (value, rounded, scaled) == (2.5, 3, 47.99)
    assert (type(value), type(rounded), type(scaled)) == (float, int, float)


def test_each_statement_commits_on_its_own(store, pg_url):
    c = store.conn()
    c.execute("CREATE TABLE a (v bigint)")
    c.execute("INSERT INTO a VALUES (?)", (1,))
    assert not c.in_transaction
    with other(pg_url) as seen:
        assert seen.execute("SELECT v FROM a").fetchall() == [(1,)]


def test_a_failing_statement_rolls_the_whole_transaction_back(store, pg_url):
    store.conn().execute("CREATE TABLE a (v bigint PRIMARY KEY)")
    with pytest.raises(psycopg.errors.UniqueViolation):
        with store.transaction() as tx:
            tx.execute("INSERT INTO a VALUES (?)", (1,))
            tx.execute("INSERT INTO a VALUES (?)", (2,))
            assert store.conn().in_transaction
            # Not committed yet: nobody else sees it.
            with other(pg_url) as seen:
                assert seen.execute("SELECT count(*) FROM a").fetchone()[0] == 0
            tx.execute("INSERT INTO a VALUES (?)", (1,))
    assert not store.conn().in_transaction
    assert store.conn().execute("SELECT count(*) FROM a").fetchone()[0] == 0
    with store.transaction() as tx:  # the connection went back clean
        tx.execute("INSERT INTO a VALUES (?)", (3,))
    assert store.conn().execute("SELECT v FROM a").fetchall() == [(3,)]


def test_a_nested_transaction_is_a_savepoint(store):
    c = store.conn()
    c.execute("CREATE TABLE a (v bigint PRIMARY KEY)")
    with store.transaction() as tx:
        tx.execute("INSERT INTO a VALUES (1)")
        with pytest.raises(psycopg.errors.UniqueViolation):
            with store.transaction() as inner:
                inner.execute("INSERT INTO a VALUES (2)")
                inner.execute("INSERT INTO a VALUES (1)")  # aborts: back to the savepoint
        with store.transaction() as inner:
            inner.execute("INSERT INTO a VALUES (3)")
        # conn() in this thread runs inside the pinned transaction.
        assert [r[0] for r in c.execute("SELECT v FROM a ORDER BY v")] == [1, 3]
    assert [r[0] for r in c.execute("SELECT v FROM a ORDER BY v")] == [1, 3]


def test_bare_begin_and_commit_pin_the_thread(store, pg_url):
    c = store.conn()
    c.execute("CREATE TABLE a (v bigint)")
    c.execute("BEGIN IMMEDIATE")
    assert c.in_transaction
    c.execute("INSERT INTO a VALUES (1)")
    with other(pg_url) as seen:
        assert seen.execute("SELECT count(*) FROM a").fetchone()[0] == 0
        assert waiting_for(pg_url, OWN_LOCK_KEY) == 0
        held = seen.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = %s",
            (OWN_LOCK_KEY & 0xFFFFFFFF,),
        ).fetchone()[0]
        assert held == 1
    c.execute("COMMIT")
    assert not c.in_transaction
    c.execute("BEGIN")
    c.execute("INSERT INTO a VALUES (2)")
    c.execute("ROLLBACK")
    assert c.execute("SELECT v FROM a").fetchall() == [(1,)]
    with store.transaction():
        with pytest.raises(StoreUsageError):
            c.execute("BEGIN")


def test_two_threads_transactions_take_turns_on_the_own_lock(store, pg_url):
    store.conn().execute("CREATE TABLE log (who text, saw bigint)")
    a_inside = threading.Event()
    a_may_finish = threading.Event()
    errors: list[BaseException] = []

    def first():
        try:
            with store.transaction() as tx:
                tx.execute("INSERT INTO log VALUES ('a', 0)")
                a_inside.set()
                assert a_may_finish.wait(WAIT_S)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    def second():
        try:
            with store.transaction() as tx:
                # The lock came first: a's commit is visible here (READ COMMITTED).
                saw = tx.execute("SELECT count(*) FROM log WHERE who = 'a'").fetchone()[0]
                tx.execute("INSERT INTO log VALUES ('b', ?)", (saw,))
        except BaseException as exc:
            errors.append(exc)

    ta = threading.Thread(target=first)
    ta.start()
    assert a_inside.wait(WAIT_S)
    tb = threading.Thread(target=second)
    tb.start()
    until_waiting(pg_url, OWN_LOCK_KEY)  # b is blocked on a's lock, not running beside it
    assert store.conn().execute("SELECT count(*) FROM log").fetchone()[0] == 0
    a_may_finish.set()
    ta.join(WAIT_S)
    tb.join(WAIT_S)
    assert not errors
    rows = store.conn().execute("SELECT who, saw FROM log ORDER BY who").fetchall()
    assert [tuple(r) for r in rows] == [("a", 0), ("b", 1)]


def test_vendor_transactions_take_the_vendor_lock_then_the_own_lock(store, pg_url):
    store.conn().execute("CREATE TABLE log (n bigserial, who text)")
    own_inside = threading.Event()
    own_may_finish = threading.Event()
    errors: list[BaseException] = []

    def run(who: str, vendor: bool, inside=None, may_finish=None):
        try:
            with store.transaction(vendor=vendor) as tx:
                tx.execute("INSERT INTO log (who) VALUES (?)", (who,))
                if inside is not None:
                    inside.set()
                    assert may_finish.wait(WAIT_S)
        except BaseException as exc:
            errors.append(exc)

    own = threading.Thread(target=run, args=("own", False, own_inside, own_may_finish))
    own.start()
    assert own_inside.wait(WAIT_S)
    # The first vendor writer gets the vendor lock and waits for the own one...
    vendor1 = threading.Thread(target=run, args=("vendor1", True))
    vendor1.start()
    until_waiting(pg_url, OWN_LOCK_KEY)
    # ...so a second vendor writer waits at the vendor lock, holding nothing.
    vendor2 = threading.Thread(target=run, args=("vendor2", True))
    vendor2.start()
    until_waiting(pg_url, VENDOR_LOCK_KEY)
    own_may_finish.set()
    for thread in (own, vendor1, vendor2):
        thread.join(WAIT_S)
    assert not errors
    order = [r[0] for r in store.conn().execute("SELECT who FROM log ORDER BY n")]
    assert order == ["own", "vendor1", "vendor2"]
    # A vendor transaction cannot start inside an own one (the locks would be out of order).
    with store.transaction():
        with pytest.raises(StoreUsageError):
            with store.transaction(vendor=True):
                pass


def test_meta_reads_and_writes(store):
    store.conn().execute("CREATE TABLE meta (key text PRIMARY KEY, value text)")
    assert store.get_meta("k", "none") == "none"
    store.set_meta("k", "1")
    store.set_meta("k", "2")
    assert store.get_meta("k") == "2"


def test_an_unknown_database_is_one_line_without_the_password(pg_cluster):
    url = pg_cluster.url("no_such_db").replace("srm_admin@", "srm_admin:s3cr%21t@")
    store = open_store(url)
    assert store.location.startswith("postgresql://srm_admin:***@/no_such_db")
    with pytest.raises(StoreUnreachable) as raised:
        store.conn().execute("SELECT 1")
    message = str(raised.value)
    assert "\n" not in message and "s3cr" not in message
    assert 'database "no_such_db" does not exist' in message
    assert message.startswith("cannot reach the PostgreSQL store postgresql://srm_admin:***@")


def test_no_server_on_the_socket_is_one_line(tmp_path):
    # A stopped server leaves no socket: libpq's own reason, on one line.
    url = f"postgresql://srm:pw-secret@/db?host={tmp_path}&password=pw-secret"
    store = open_store(url)
    with pytest.raises(StoreUnreachable) as raised:
        with store.transaction():
            pass
    message = str(raised.value)
    assert "\n" not in message and "pw-secret" not in message
    assert "No such file or directory" in message
    store.close()


def test_a_connection_lost_under_the_store_is_one_line(store, pg_cluster, pg_url):
    c = store.conn()
    assert c.execute("SELECT 1").fetchone()[0] == 1
    with other(pg_cluster.admin_url) as admin:
        ended = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND application_name = 'srm'",
            (psycopg.conninfo.conninfo_to_dict(pg_url)["dbname"],),
        ).fetchone()[0]
    assert ended == 1
    with pytest.raises(StoreUnreachable) as raised:
        c.execute("SELECT 1")
    assert "\n" not in str(raised.value)
    # The pool replaced the dead connection: the next statement works.
    assert c.execute("SELECT 2").fetchone()[0] == 2


def test_a_server_stopped_under_an_open_store_is_one_line(pg_cluster, tmp_path):
    # Its own cluster, to stop (pg_cluster: the same binaries, or the same skip/fail reason).
    from tests.pgcluster import PgCluster

    cluster = PgCluster.start(tmp_path)
    try:
        url = cluster.create_database("gone").replace("srm_admin@", "srm_admin:pw-x@")
        store = PgStore(url, checkout_timeout=2)
        assert store.conn().execute("SELECT 1").fetchone()[0] == 1
    finally:
        cluster.stop()
    # The pooled connection died with the server...
    with pytest.raises(StoreUnreachable) as lost:
        store.conn().execute("SELECT 1")
    # ...and no new one can be made: the wait for one ends with libpq's reason, not "busy".
    with pytest.raises(StoreUnreachable) as refused:
        with store.transaction():
            pass
    store.close()
    for raised in (lost, refused):
        message = str(raised.value)
        assert "\n" not in message and "pw-x" not in message
        assert message.startswith("cannot reach the PostgreSQL store postgresql://srm_admin:***@")
    assert "No such file or directory" in str(refused.value)

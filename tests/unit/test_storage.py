"""The cache: migrations, file mode, upserts, derived columns, search index, paging."""

from __future__ import annotations

import os
import sqlite3
import stat

import pytest

from srm_tui.domain import models as m
from srm_tui.storage import queries, records
from srm_tui.storage.cache import Cache, CacheError
from srm_tui.storage.schema import SCHEMA_VERSION


def _customer(i: int, **kw) -> m.Customer:
    return m.Customer.model_validate(
        {
            "id": 100000000 + i,
            "email": f"user{i}@example.com",
            "firstName": f"Zoë{i}",
            "lastName": "Müller",
            "regDate": f"2024-01-{1 + i % 28:02d} 10:00:00",
            **kw,
        }
    )


def _txn(i: int, customer: int, date: int, method: str, status: str = "captured") -> m.Transaction:
    return m.Transaction.model_validate(
        {
            "transactionId": f"T{100000000 + i}",
            "customerId": customer,
            "transactionDate": date,
            "offerId": "S123456789_PL",
            "amount": 5.0,
            "currency": "EUR",
            "status": status,
            "paymentMethod": method,
        }
    )


def test_new_cache_is_private_wal_and_versioned(tmp_path):
    path = tmp_path / "sub" / "c.db"
    path.parent.mkdir()  # srm never creates a folder it was not asked for (issue 12)
    cache = Cache(path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert cache.schema_version == SCHEMA_VERSION
    assert cache.conn().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with cache.transaction() as tx:
        records.upsert(tx, "customers", [_customer(1)], 0)
    assert stat.S_IMODE(os.stat(str(path) + "-wal").st_mode) == 0o600
    cache.close()
    # Reopening runs no migration twice and keeps the data.
    again = Cache(path)
    assert queries.customer_count(again.conn()) == 1


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "c.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(CacheError, match="newer srm"):
        Cache(path)


def test_not_a_database_is_refused(tmp_path):
    path = tmp_path / "c.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CacheError, match="not an srm cache"):
        Cache(path)


def test_transaction_rolls_back_whole(cache):
    with pytest.raises(RuntimeError):
        with cache.transaction() as tx:
            records.upsert(tx, "customers", [_customer(1)], 0)
            raise RuntimeError("boom")
    assert queries.customer_count(cache.conn()) == 0


def test_upsert_is_idempotent_and_updates_search(cache):
    with cache.transaction() as tx:
        records.upsert(tx, "customers", [_customer(1), _customer(2)], 0)
        records.upsert(tx, "customers", [_customer(1, firstName="Łukasz")], 0)
    conn = cache.conn()
    assert queries.customer_count(conn) == 2
    hits = conn.execute(
        "SELECT rowid FROM customers_fts WHERE customers_fts MATCH ?", ("lukasz*",)
    ).fetchall()
    assert [h[0] for h in hits] == [100000001]
    # The old name is gone from the index, accents fold both ways.
    assert not conn.execute(
        "SELECT rowid FROM customers_fts WHERE customers_fts MATCH ?", ("zoe1",)
    ).fetchall()
    assert (
        conn.execute(
            "SELECT count(*) FROM customers_fts WHERE customers_fts MATCH ?", ("muller",)
        ).fetchone()[0]
        == 2
    )


def test_derived_list_columns(cache):
    with cache.transaction() as tx:
        records.upsert(tx, "customers", [_customer(1)], 0)
        touched = records.upsert(
            tx,
            "transactions",
            [
                _txn(1, 100000001, 10, "card"),
                _txn(2, 100000001, 30, "paypal"),
                _txn(3, 100000001, 20, "ideal"),
                _txn(4, 100000001, 40, "card", "rejected"),
            ],
            0,
        )
        records.refresh_customer_stats(tx, touched)
    row = cache.conn().execute("SELECT transactions, last_payment_method FROM customers").fetchone()
    # One definition with the summary: paid (captured or refunded) transactions; the last
    # payment method is of any status.
    assert tuple(row) == (3, "card")


def test_window_reads_from_either_end(cache):
    with cache.transaction() as tx:
        records.upsert(tx, "customers", [_customer(i) for i in range(50)], 0)
    conn = cache.conn()
    first = queries.customer_window(conn, sort="id", offset=0, limit=5)
    last = queries.customer_window(conn, sort="id", offset=45, limit=10)
    assert [r["id"] for r in first] == [100000000 + i for i in range(5)]
    assert [r["id"] for r in last] == [100000000 + i for i in range(45, 50)]
    desc = queries.customer_window(conn, sort="email", descending=True, offset=48, limit=2)
    assert len(desc) == 2
    with pytest.raises(ValueError):
        queries.customer_window(conn, sort="raw; DROP TABLE customers")


def test_raw_round_trip_keeps_api_shape(cache):
    raw = {"id": 100000009, "email": "x@y.zz", "capture": {"city": "Kraków"}, "extra": 1}
    with cache.transaction() as tx:
        records.upsert(tx, "customers", [m.Customer.model_validate(raw)], 0)
    assert records.raw_records(cache.conn(), "customers") == [raw]


def test_customer_count_is_kept_without_scanning(cache, tmp_path):
    """The list's "N cached" comes from a trigger-kept counter; it must equal count(*)."""
    conn = cache.conn()
    assert queries.customer_count(conn) == 0
    with cache.transaction() as tx:
        records.upsert(tx, "customers", [_customer(i) for i in range(5)], 0)
        records.upsert(tx, "customers", [_customer(i, lastName="Nowak") for i in range(3)], 0)
    assert queries.customer_count(conn) == 5
    with cache.transaction() as tx:
        records.delete(tx, "customers", [100000001, 100000003])
    with pytest.raises(RuntimeError):
        with cache.transaction() as tx:
            records.upsert(tx, "customers", [_customer(9)], 0)
            raise RuntimeError("rolled back")
    real = conn.execute("SELECT count(*) FROM customers").fetchone()[0]
    assert queries.customer_count(conn) == real == 3
    # A cache made before the counter existed gets it filled by the migration.
    old = sqlite3.connect(tmp_path / "old.db")
    from srm_tui.storage.schema import MIGRATIONS

    for version, script in enumerate(MIGRATIONS[:4], start=1):
        old.executescript(script)
        old.execute(f"PRAGMA user_version = {version}")
    old.execute("INSERT INTO customers (id, email, raw, synced_at) VALUES (1, 'a@b.c', '{}', 0)")
    old.commit()
    old.close()
    assert queries.customer_count(Cache(tmp_path / "old.db").conn()) == 1


def test_a_bare_customer_is_not_taken_for_an_anonymized_one(cache):
    """An id alone (from an import or a partial webhook) is a customer not yet completed;
    only a record whose email and names the API sent as null is anonymized."""
    from srm_tui.storage import records
    from srm_tui.sync.parse import validate

    good, bad = validate(
        "customers",
        [
            {"id": 100000001},
            {"id": 100000002, "email": None, "firstName": None, "lastName": None},
            {"id": 100000003, "email": "a@example.com"},
        ],
    )
    assert not bad
    with cache.transaction() as tx:
        records.upsert(tx, "customers", good, now=1)
    flags = dict(cache.conn().execute("SELECT id, anonymized FROM customers ORDER BY id"))
    assert flags == {100000001: 0, 100000002: 1, 100000003: 0}


def test_close_closes_every_threads_connection(tmp_path):
    """A console's workers each have their own connection; close() from the main thread must
    close them all. One left open by close() (sqlite3 refused to close it across threads) kept
    its POSIX locks only until any other descriptor of the file in the process was closed, after
    which other processes' checkpoints and this stale connection's own last checkpoint at
    garbage collection left a malformed file (seen in test_anonymize, run in file order)."""
    import threading

    cache = Cache(tmp_path / "c.db")
    cache.conn().execute("SELECT 1").fetchone()
    opened: list[sqlite3.Connection] = []
    worker = threading.Thread(target=lambda: opened.append(cache.conn()))
    worker.start()
    worker.join()
    (worker_conn,) = opened
    assert worker_conn.execute("SELECT count(*) FROM customers").fetchone()[0] == 0
    cache.close()
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        worker_conn.execute("SELECT 1")


def test_close_leaves_a_transaction_another_thread_is_running_to_finish(tmp_path):
    """A console closing its cache while a worker thread commits (a push at exit) closed the
    worker's connection under its COMMIT: CPython's sqlite3 crashed the process (seen once in a
    clean-clone run: a segfault in Cache.transaction). close() now leaves that connection to its
    thread, which commits and then closes it; the write is not lost."""
    import threading

    cache = Cache(tmp_path / "c.db")
    inside, closed = threading.Event(), threading.Event()
    used: list[sqlite3.Connection] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            with cache.transaction() as tx:
                used.append(tx)
                inside.set()
                assert closed.wait(30)  # the main thread closes the cache meanwhile
                tx.execute("INSERT INTO meta (key, value) VALUES ('left', 'committed')")
        except BaseException as error:  # noqa: BLE001 - told to the main thread
            errors.append(error)

    worker = threading.Thread(target=work)
    worker.start()
    assert inside.wait(30)
    cache.close()
    closed.set()
    worker.join(30)
    assert not errors
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        used[0].execute("SELECT 1")  # its thread closed it after the commit
    again = Cache(tmp_path / "c.db")
    try:
        value = again.conn().execute("SELECT value FROM meta WHERE key = 'left'").fetchone()
        assert value[0] == "committed"
    finally:
        again.close()

"""The ``pg_store(customers, seed)`` fixture (tests/conftest.py) other PG tests build on: a
migrated copy of ``seeded_cache(customers, seed)`` per test, each its own database, so what one
test writes no other sees; a login of a srm role reaches it with that role's rights."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest


def _count(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_a_copy_holds_the_seeded_cache_and_is_the_tests_own(pg_store, seeded_cache):
    first, second = pg_store(40, 3), pg_store(40, 3)
    assert first != second
    with sqlite3.connect(seeded_cache(40, 3)) as src:
        expected = {
            t: src.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("customers", "subscriptions", "transactions")
        }
    assert expected["customers"] == 40
    for table, rows in expected.items():
        assert _count(first, table) == rows
    assert _count(first, "customer_search") == 40  # migrate makes the search documents
    with psycopg.connect(first) as conn:
        conn.execute("DELETE FROM transactions")
    assert _count(first, "transactions") == 0
    assert _count(second, "transactions") == expected["transactions"]


def test_a_login_has_its_roles_rights_on_the_copy(pg_store, pg_login):
    url = pg_store(40, 3)
    viewer = pg_login(url, "srm_viewer")
    assert _count(viewer, "customers") == 40
    with psycopg.connect(viewer) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("DELETE FROM notes")

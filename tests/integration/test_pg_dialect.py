"""Each Dialect hook (storage/db.py) gives the same values on a real PostgreSQL server as
SQLite's fragment gives on SQLite, over the same rows: NULLs, empty strings, accents, case,
rounding ties, JSON values of every type."""

from __future__ import annotations

import json
import sqlite3

import pytest

from srm_tui.storage.db import POSTGRES, SQLITE, open_store

TEXTS = [
    (None, None),
    ("", ""),
    ("abc", ""),
    ("", "abc"),
    ("abc", "abc"),
    ("abcdef", "abc"),
    ("abcdef", "def"),
    ("abcdef", "cd"),
    ("ab", "xab"),
    ("ab", "abx"),
    ("Łukasz", "łukasz"),
    ("École", "école"),
    ("ÉCOLE", "école"),
    ("MiXeD", "mixed"),
    ("straße", "SSE"),
    ("straße", "ße"),
    ("a_b%c", "%c"),
    (None, "a"),
    ("a", None),
    ("Zeta", "alpha"),
    ("zeta", "Alpha"),
]

NUMBERS = [
    None,
    0.0,
    0.5,
    1.5,
    2.5,
    -0.5,
    -2.5,
    0.49999999999999994,
    2.4999999999999996,
    47.99,
    0.1 + 0.2,
    1e-7,
    -1e-7,
    2.5e-6,
    -2.5e-6,
    123456.7890125,
    -9.999999,
    1234567.0000005,
]

JSONS = [
    None,
    {"k": "text"},
    {"k": 'ünï\u00e9 "quoted"'},
    {"k": 5},
    {"k": 1.5},
    {"k": -0.25},
    {"k": True},
    {"k": False},
    {"k": None},
    {"k": {"a": 1, "b": [1, "x"]}},
    {"k": [1, 2]},
    {"other": "x"},
    {},
]


def _rows():
    rows = []
    for i, (a, b) in enumerate(TEXTS):
        x = NUMBERS[i % len(NUMBERS)]
        n = None if i % 7 == 3 else (i * 37 % 11) - 5
        j = JSONS[i % len(JSONS)]
        text = None if j is None else json.dumps(j, separators=(",", ":"), ensure_ascii=False)
        rows.append((i, a, b, x, n, text))
    for k, x in enumerate(NUMBERS, start=len(rows)):
        j = JSONS[k % len(JSONS)]
        text = None if j is None else json.dumps(j, separators=(",", ":"))
        rows.append((k, "n", None, x, k - 30, text))
    return rows


ROWS = _rows()


@pytest.fixture
def both(pg_url):
    """(sqlite connection, PgStore) holding the same table v."""
    lite = sqlite3.connect(":memory:")
    lite.execute(
        "CREATE TABLE v (id INTEGER PRIMARY KEY, a TEXT, b TEXT, x REAL, n INTEGER, j TEXT)"
    )
    lite.executemany("INSERT INTO v VALUES (?, ?, ?, ?, ?, ?)", ROWS)
    store = open_store(pg_url)
    store.conn().execute(
        'CREATE TABLE v (id bigint PRIMARY KEY, a text COLLATE "C", b text COLLATE "C", '
        'x double precision, n bigint, j text COLLATE "C")'
    )
    store.conn().executemany("INSERT INTO v VALUES (?, ?, ?, ?, ?, ?)", ROWS)
    yield lite, store
    lite.close()
    store.close()


HOOKS = {
    "is_same": lambda d: d.is_same("a", "b"),
    "is_distinct": lambda d: d.is_distinct("a", "b"),
    "least_numbers": lambda d: d.least("x", "n"),
    "least_texts": lambda d: d.least("a", "b"),
    "least_param": lambda d: d.least(":now", "coalesce(n, :now)"),
    "bool_int": lambda d: d.bool_int("x > n"),
    "bool_int_text": lambda d: d.bool_int("a = b"),
    "round_int": lambda d: d.round_int("x"),
    "round_int_int": lambda d: d.round_int("n * 3"),
    "micros": lambda d: d.micros("x"),
    "micros_sum": lambda d: d.micros("x + n"),
    "contains": lambda d: d.contains("a", "b"),
    "contains_param": lambda d: d.contains("a", ":needle"),
    "starts_with": lambda d: d.starts_with("a", "b"),
    "starts_with_param": lambda d: d.starts_with("a", ":prefix"),
    "ends_with": lambda d: d.ends_with("a", "b"),
    "ends_with_param": lambda d: d.ends_with("a", ":suffix"),
    "json_text": lambda d: d.json_text("j", "'k'"),
    "json_text_param": lambda d: d.json_text("j", ":key"),
    "nocase_eq": lambda d: d.nocase_eq("a", "b"),
    "nocase_eq_param": lambda d: d.nocase_eq("a", ":word"),
}

PARAMS = {"now": 3, "needle": "b", "prefix": "ab", "suffix": "ef", "key": "k", "word": "MIXED"}


@pytest.mark.parametrize("hook", sorted(HOOKS))
def test_each_hook_has_the_same_value_on_both(both, hook):
    lite, store = both
    make = HOOKS[hook]
    sql = "SELECT id, {} FROM v ORDER BY id"
    want = [tuple(r) for r in lite.execute(sql.format(make(SQLITE)), PARAMS).fetchall()]
    got = [tuple(r) for r in store.conn().execute(sql.format(make(POSTGRES)), PARAMS).fetchall()]
    # A predicate is boolean on PostgreSQL (WHERE needs one) and 1/0 on SQLite: equal in
    # Python; bool_int makes it 1/0 on both (JSON output and sums read the same).
    assert got == want
    if hook.startswith("bool_int"):
        assert {type(value) for _, value in got} <= {int, type(None)}


def test_micros_rounds_as_python_facts_do(both):
    """SQL micros equal facts.py's Python rounding (half away from zero) on both."""
    from srm_tui.storage.facts import micros

    lite, store = both
    sql = "SELECT x, {} FROM v WHERE x IS NOT NULL ORDER BY id"
    for conn, dialect in ((lite, SQLITE), (store.conn(), POSTGRES)):
        for x, value in conn.execute(sql.format(dialect.micros("x"))).fetchall():
            assert value == micros(x), (dialect.name, x)


def test_order_puts_nulls_where_sqlite_does(both):
    lite, store = both
    for desc in (False, True):
        sql = "SELECT id FROM v ORDER BY {}, id"
        want = [r[0] for r in lite.execute(sql.format(SQLITE.order("a", desc)))]
        got = [r[0] for r in store.conn().execute(sql.format(POSTGRES.order("a", desc)))]
        assert got == want


def test_temp_tables_live_in_the_transaction_connection(both):
    lite, store = both
    lite.execute("CREATE TEMP TABLE picked (id INTEGER)")
    lite.execute(f"INSERT INTO {SQLITE.temp('picked')} SELECT id FROM v WHERE n > 0")
    want = lite.execute(f"SELECT count(*) FROM {SQLITE.temp('picked')}").fetchone()[0]
    # On PostgreSQL a temp table belongs to one pooled connection: it is used inside one
    # transaction, which pins that connection to this thread.
    with store.transaction() as tx:
        tx.execute("CREATE TEMP TABLE picked (id bigint) ON COMMIT DROP")
        tx.execute(f"INSERT INTO {POSTGRES.temp('picked')} SELECT id FROM v WHERE n > 0")
        got = tx.execute(f"SELECT count(*) FROM {POSTGRES.temp('picked')}").fetchone()[0]
    assert got == want > 0

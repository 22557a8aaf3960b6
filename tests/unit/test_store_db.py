"""storage/db.py: URLs and their redaction, the error tuple, rows, the dialects' SQL text, and
that opening a SQLite cache never loads psycopg. (The PostgreSQL hooks run on a real server in
tests/integration/test_pg_dialect.py.)"""

from __future__ import annotations

import sqlite3
import subprocess
import sys

import pytest

from srm_tui.storage import db
from srm_tui.storage.cache import Cache
from srm_tui.storage.db import (
    POSTGRES,
    SQLITE,
    Row,
    Store,
    is_postgres_url,
    open_store,
    redact_url,
    row_class,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://u@h/db", True),
        ("postgres://u@h/db", True),
        ("  PostgreSQL://h/db", True),
        ("/home/a/cache.db", False),
        ("postgresql.db", False),
        ("sqlite:///x.db", False),
        ("", False),
    ],
)
def test_is_postgres_url(text, expected):
    assert is_postgres_url(text) is expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://alice:s3cret@db.example:5432/srm",
            "postgresql://alice:***@db.example:5432/srm",
        ),
        (
            "postgresql://alice:p%40ss@h/srm?sslmode=require",
            "postgresql://alice:***@h/srm?sslmode=require",
        ),
        ("postgresql://alice:a@b@h/srm", "postgresql://alice:***@h/srm"),  # a raw @ in it
        ("postgresql://:pw@h/srm", "postgresql://:***@h/srm"),
        ("postgresql://alice@h/srm", "postgresql://alice@h/srm"),
        ("postgresql://h1:5432,h2:5433/srm", "postgresql://h1:5432,h2:5433/srm"),
        ("postgresql://u:x@h1:5432,h2:5433/srm", "postgresql://u:***@h1:5432,h2:5433/srm"),
        (
            "postgresql:///srm?host=/run/pg&password=hunter2",
            "postgresql:///srm?host=/run/pg&password=***",
        ),
        ("postgresql:///srm?password=hunter2&user=a", "postgresql:///srm?password=***&user=a"),
        ("postgres://u@/srm?sslpassword=x", "postgres://u@/srm?sslpassword=***"),
        ("host=h dbname=srm password=hunter2 user=a", "host=h dbname=srm password=*** user=a"),
        ("host=h password = 'a b\\' c' user=a", "host=h password = *** user=a"),
        ("/home/a/cache.db", "/home/a/cache.db"),
        (
            'bad token: "postgresql://u:p%zz@h/db" (see postgres://a:b@c/d?password=x&y=1)',
            'bad token: "postgresql://u:***@h/db" (see postgres://a:***@c/d?password=***&y=1)',
        ),
    ],
)
def test_redact_url(url, expected):
    assert redact_url(url) == expected


def test_db_errors_name_psycopg_once_it_is_loaded():
    # In this process psycopg may or may not be loaded already; the tuple follows sys.modules.
    assert sqlite3.Error in db.DB_ERRORS
    assert db.db_errors()[0] is sqlite3.Error
    if "psycopg" in sys.modules:
        assert sys.modules["psycopg"].Error in db.DB_ERRORS
    with pytest.raises(AttributeError):
        db.NOT_THERE  # noqa: B018


def test_db_errors_while_another_thread_is_importing_psycopg(monkeypatch):
    # A thread half-way through `import psycopg` has put the module in sys.modules without its
    # Error yet: the tuple is SQLite's alone, never an AttributeError in an except clause.
    import types

    monkeypatch.setitem(sys.modules, "psycopg", types.ModuleType("psycopg"))
    assert db.db_errors() == (sqlite3.Error,)


def test_rows_read_like_sqlite_rows():
    row = row_class(("id", "Name", "id"))((1, "x", 2))
    assert isinstance(row, Row) and isinstance(row, tuple)
    assert row[0] == 1 and row[-1] == 2 and row[1:] == ("x", 2)
    assert row["id"] == 1  # the first of two columns with that name, as sqlite3.Row
    assert row["Name"] == "x" and row["name"] == "x" and row["NAME"] == "x"
    assert row.keys() == ["id", "Name", "id"]
    assert list(row) == [1, "x", 2] and len(row) == 3
    with pytest.raises(IndexError):
        row["nope"]
    assert row_class(("id", "Name", "id")) is type(row)  # one class per column list
    same = sqlite3.connect(":memory:")
    same.row_factory = sqlite3.Row
    srow = same.execute("SELECT 1 AS id, 'x' AS Name").fetchone()
    mine = row_class(("id", "Name"))((1, "x"))
    assert dict(mine) == dict(srow) and mine.keys() == srow.keys()


def test_sqlite_hooks_sql_text():
    assert SQLITE.name == "sqlite"
    assert SQLITE.is_same("a", "b") == "(a IS b)"
    assert SQLITE.is_distinct("a", "b") == "(a IS NOT b)"
    assert SQLITE.least(":now", "x") == "min(:now, x)"
    assert SQLITE.bool_int("x > 1") == "(x > 1)"
    assert SQLITE.round_int("x") == "CAST(round(x) AS INTEGER)"
    assert SQLITE.micros("p") == "CAST(round((p) * 1000000) AS INTEGER)"
    assert SQLITE.contains("h", ":n") == "(instr(h, :n) > 0)"
    assert SQLITE.starts_with("t", ":p") == "(substr(t, 1, length(:p)) = :p)"
    assert SQLITE.ends_with("t", ":s") == "(substr(t, length(t) - length(:s) + 1) = :s)"
    assert SQLITE.json_text("j", ":k") == (
        """(CASE json_type(j, ('$."' || :k || '"')) WHEN 'text' THEN j ->> ('$."' || :k || '"') """
        """WHEN 'null' THEN NULL ELSE j -> ('$."' || :k || '"') END)"""
    )
    assert SQLITE.nocase_eq("a", "b") == "(a = b COLLATE NOCASE)"
    assert SQLITE.order("c") == "c ASC" and SQLITE.order("c", desc=True) == "c DESC"
    assert SQLITE.temp("x") == "temp.x"


def test_postgres_hooks_sql_text():
    assert POSTGRES.name == "postgres"
    assert POSTGRES.is_same("a", "b") == "(a IS NOT DISTINCT FROM b)"
    assert POSTGRES.is_distinct("a", "b") == "(a IS DISTINCT FROM b)"
    assert POSTGRES.least(":now", "x") == (
        "(CASE WHEN (:now) IS NULL OR (x) IS NULL THEN NULL ELSE least(:now, x) END)"
    )
    assert POSTGRES.bool_int("x > 1") == "((x > 1)::int)"
    assert POSTGRES.round_int("x") == "(trunc((x) + 0.5 * sign(x))::bigint)"
    assert POSTGRES.micros("p") == ("(trunc(((p) * 1000000) + 0.5 * sign((p) * 1000000))::bigint)")
    assert POSTGRES.contains("h", ":n") == "(strpos(h, :n) > 0)"
    assert POSTGRES.starts_with("t", "?") == "starts_with(t, ?)"
    assert POSTGRES.ends_with("t", ":s") == "(right(t, length(:s)) = :s)"
    assert POSTGRES.json_text("j", ":k") == "((j)::json ->> (:k))"
    assert POSTGRES.nocase_eq("a", "b") == '(lower((a) COLLATE "C") = lower((b) COLLATE "C"))'
    assert POSTGRES.order("c") == "c ASC NULLS FIRST"
    assert POSTGRES.order("c", desc=True) == "c DESC NULLS LAST"
    assert POSTGRES.temp("x") == "pg_temp.x"


@pytest.mark.parametrize(
    ("dialect", "hook", "args"),
    [
        (SQLITE, "starts_with", ("t", "?")),
        (SQLITE, "ends_with", ("t", "?")),
        (SQLITE, "json_text", ("?", ":k")),
        (POSTGRES, "least", ("?", "x")),
        (POSTGRES, "round_int", ("x * ?",)),
        (POSTGRES, "ends_with", ("t", "?")),
    ],
)
def test_an_argument_written_twice_must_bind_by_name(dialect, hook, args):
    with pytest.raises(ValueError, match="named"):
        getattr(dialect, hook)(*args)
    # A ? inside a string literal is text, not a parameter.
    getattr(dialect, hook)(*(a.replace("?", "'?'") for a in args))


def test_a_path_opens_the_sqlite_cache(tmp_path):
    store = open_store(tmp_path / "c.db")
    try:
        assert isinstance(store, Cache) and isinstance(store, Store)
        assert store.dialect is SQLITE and store.location == str(tmp_path / "c.db")
        with store.transaction(vendor=True) as tx:
            tx.execute("INSERT INTO meta (key, value) VALUES ('k', 'v')")
        assert store.get_meta("k") == "v"
    finally:
        store.close()


def test_sqlite_paths_never_load_psycopg(tmp_path):
    code = (
        "import sys\n"
        "import srm_tui.storage.db as db\n"
        "from srm_tui.storage.cache import Cache\n"
        f"s = db.open_store({str(tmp_path / 'c.db')!r})\n"
        "s.conn().execute('SELECT 1')\n"
        "db.SQLITE.starts_with('a', ':b')\n"
        "s.close()\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('psycopg', 'psycopg_pool'))\n"
        "assert not loaded, loaded\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://u:hunter2@h/db?bogus=1",
        "postgresql://u:hun%zzter2@h/db",
        "postgresql://u:hunter2@[::1/db",
    ],
)
def test_a_malformed_url_is_bad_input_without_the_password(url):
    from srm_tui.storage.cache import CacheMissing

    with pytest.raises(CacheMissing) as raised:  # exit 2, as a missing cache path
        open_store(url)
    message = str(raised.value)
    assert "not a valid PostgreSQL URL" in message
    assert "hunter" not in message and "zzter" not in message and "\n" not in message


def test_a_postgres_url_opens_the_pg_store_without_connecting():
    # The pool opens on first use: building the store reaches no server.
    store = open_store("postgresql://a:pw@/db?host=/nonexistent")
    try:
        assert store.dialect is POSTGRES
        assert store.location == "postgresql://a:***@/db?host=/nonexistent"
        assert not store.read_only
    finally:
        store.close()

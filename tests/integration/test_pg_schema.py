"""The team store's PostgreSQL schema (srm_tui/storage/pg/schema.py) against the SQLite cache's:
same tables, columns (order, type family, NOT NULL, defaults), keys, unique constraints,
indexes, foreign keys and triggers, and the triggers' effects equal for the same writes; apply
is versioned, idempotent, serialized by its lock and refuses a newer or a foreign database.

Every test runs on a fresh database of the worker's throwaway cluster (tests/pgcluster.py)."""

from __future__ import annotations

import re
import sqlite3
import threading

import pytest

from srm_tui.storage.cache import Cache, CacheError
from srm_tui.storage.schema import SCHEMA_VERSION

psycopg = pytest.importorskip("psycopg")
pg_schema = pytest.importorskip("srm_tui.storage.pg.schema")

# SQLite's declared type -> the PostgreSQL type its columns get (ISSUE15 1(a)).
TYPE_FAMILY = {"INTEGER": "bigint", "REAL": "double precision", "TEXT": "text", "BLOB": "bytea"}


@pytest.fixture
def pg(pg_url):
    conn = psycopg.connect(pg_url, autocommit=True)
    yield conn
    conn.close()


@pytest.fixture
def sqlite_cache(tmp_path):
    cache = Cache(tmp_path / "cache.db")
    yield cache
    cache.close()


def _sqlite_tables(conn: sqlite3.Connection) -> list[str]:
    """The cache's tables, the FTS5 table's shadow tables left out (FTS5 keeps its index there)."""
    names = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    fts = {n for n in names if n in pg_schema.PG_REPLACED_TABLES}
    return sorted(n for n in names if not any(n.startswith(f + "_") for f in fts))


def _pg_tables(pg) -> list[str]:
    return [
        r[0]
        for r in pg.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = "
            "current_schema() AND table_type = 'BASE TABLE' ORDER BY 1"
        )
    ]


def _pg_columns(pg, table: str) -> list[tuple]:
    return pg.execute(
        "SELECT column_name, data_type, is_nullable, column_default, collation_name "
        "FROM information_schema.columns WHERE table_schema = current_schema() "
        "AND table_name = %s ORDER BY ordinal_position",
        (table,),
    ).fetchall()


def _pg_primary_key(pg, table: str) -> list[str]:
    return [
        r[0]
        for r in pg.execute(
            "SELECT a.attname FROM pg_index i JOIN LATERAL unnest(i.indkey) WITH ORDINALITY "
            "k(attnum, n) ON true JOIN pg_attribute a ON a.attrelid = i.indrelid "
            "AND a.attnum = k.attnum WHERE i.indrelid = %s::regclass AND i.indisprimary "
            "ORDER BY k.n",
            (table,),
        )
    ]


def _pg_unique_column_sets(pg, table: str) -> set[tuple[str, ...]]:
    """Column lists of the table's unique indexes on plain columns (not the primary key)."""
    rows = pg.execute(
        "SELECT i.indexrelid, array_agg(a.attname ORDER BY k.n) FROM pg_index i "
        "JOIN LATERAL unnest(i.indkey) WITH ORDINALITY k(attnum, n) ON true "
        "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
        "WHERE i.indrelid = %s::regclass AND i.indisunique AND NOT i.indisprimary "
        "AND i.indexprs IS NULL GROUP BY i.indexrelid",
        (table,),
    ).fetchall()
    return {tuple(r[1]) for r in rows}


def _sqlite_unique_column_sets(conn: sqlite3.Connection, table: str) -> set[tuple[str, ...]]:
    out = set()
    for index in conn.execute(f"PRAGMA index_list({table})").fetchall():
        if index["unique"] and index["origin"] != "pk":
            cols = [r["name"] for r in conn.execute(f"PRAGMA index_info({index['name']})")]
            if None not in cols:  # an expression index: compared by name below
                out.add(tuple(cols))
    return out


def _default(value: str | None) -> str | None:
    """A column default as text without PostgreSQL's casts: '0', "'pending'"."""
    if value is None:
        return None
    return re.sub(r"::(text|bigint|integer|double precision)$", "", value)


# -- versions -----------------------------------------------------------------------------


def test_pg_version_is_the_sqlite_version():
    """A new SQLite migration needs its PostgreSQL twin (a PG_MIGRATIONS entry) to pass."""
    assert pg_schema.PG_SCHEMA_VERSION == SCHEMA_VERSION
    assert max(pg_schema.PG_MIGRATIONS) == SCHEMA_VERSION


def test_apply_creates_the_store_and_a_second_apply_changes_nothing(pg):
    assert pg_schema.stored_version(pg) == 0
    assert pg_schema.apply(pg) == SCHEMA_VERSION
    assert pg_schema.stored_version(pg) == SCHEMA_VERSION
    assert pg.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
        str(SCHEMA_VERSION),
    )
    assert pg.execute("SELECT name, n FROM row_counts").fetchall() == [("customers", 0)]

    def state():
        # Relation and function oids change when anything is dropped and made again; a row's
        # xmin changes when it is rewritten, even with the same values.
        return (
            pg.execute(
                "SELECT c.relname, c.oid::bigint, c.relkind FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = current_schema() ORDER BY 1"
            ).fetchall(),
            pg.execute(
                "SELECT p.proname, p.oid::bigint FROM pg_proc p "
                "JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE n.nspname = current_schema() ORDER BY 1"
            ).fetchall(),
            pg.execute(
                "SELECT tgname, oid::bigint FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1"
            ).fetchall(),
            pg.execute("SELECT key, value, xmin::text FROM meta ORDER BY 1").fetchall(),
            pg.execute("SELECT name, n, xmin::text FROM row_counts ORDER BY 1").fetchall(),
            pg.execute(
                "SELECT id, entity, sha256, xmin::text FROM raw_dictionaries ORDER BY 1"
            ).fetchall(),
        )

    before = state()
    assert len(before[5]) == 11  # the shipped payload dictionaries
    assert pg_schema.apply(pg) == SCHEMA_VERSION
    assert state() == before


def test_apply_commits_on_a_connection_outside_autocommit(pg, pg_url):
    with psycopg.connect(pg_url) as conn:  # no autocommit, nothing open: apply commits
        assert pg_schema.apply(conn) == SCHEMA_VERSION
        conn.rollback()
    assert pg_schema.stored_version(pg) == SCHEMA_VERSION


def test_an_older_store_is_upgraded_step_by_step(pg, monkeypatch):
    """The next schema's step runs once on a store at the current one; a failing step leaves
    the store at its version, nothing of the step kept."""
    pg_schema.apply(pg)
    step = 'ALTER TABLE outbox ADD COLUMN next_step_probe text COLLATE "C";'
    later = SCHEMA_VERSION + 1
    monkeypatch.setitem(pg_schema.PG_MIGRATIONS, later, step)
    monkeypatch.setattr(pg_schema, "PG_SCHEMA_VERSION", later)
    assert pg_schema.apply(pg) == later
    assert pg_schema.stored_version(pg) == later
    assert "next_step_probe" in [c[0] for c in _pg_columns(pg, "outbox")]
    assert pg_schema.apply(pg) == later  # ran once: a second ADD COLUMN would fail

    pg.execute("UPDATE meta SET value = %s WHERE key = 'schema_version'", (str(SCHEMA_VERSION),))
    pg.execute("ALTER TABLE outbox DROP COLUMN next_step_probe")
    monkeypatch.setitem(pg_schema.PG_MIGRATIONS, later, step + " SELECT 1 / 0;")
    with pytest.raises(psycopg.errors.DivisionByZero):
        pg_schema.apply(pg)
    assert pg_schema.stored_version(pg) == SCHEMA_VERSION
    assert "next_step_probe" not in [c[0] for c in _pg_columns(pg, "outbox")]


def test_an_empty_database_takes_every_step_in_order(pg, monkeypatch):
    later = SCHEMA_VERSION + 1
    monkeypatch.setitem(
        pg_schema.PG_MIGRATIONS, later, "ALTER TABLE outbox ADD COLUMN next_step_probe text;"
    )
    monkeypatch.setattr(pg_schema, "PG_SCHEMA_VERSION", later)
    assert pg_schema.apply(pg) == later
    assert "next_step_probe" in [c[0] for c in _pg_columns(pg, "outbox")]


def test_a_newer_store_is_refused_unchanged(pg):
    pg_schema.apply(pg)
    newer = SCHEMA_VERSION + 1
    pg.execute("UPDATE meta SET value = %s WHERE key = 'schema_version'", (str(newer),))
    pg.execute("DELETE FROM raw_dictionaries WHERE id = 1")
    with pytest.raises(CacheError) as refused:
        pg_schema.apply(pg)
    message = str(refused.value)
    assert "\n" not in message
    assert f"schema {newer}" in message and f"knows {SCHEMA_VERSION}" in message
    assert "upgrade srm" in message
    # Nothing was written: the missing dictionary stays missing, the version stays.
    assert pg.execute("SELECT count(*) FROM raw_dictionaries WHERE id = 1").fetchone() == (0,)
    assert pg_schema.stored_version(pg) == newer


def test_a_database_holding_other_tables_named_like_srms_is_refused(pg):
    pg.execute("CREATE TABLE customers (id bigint PRIMARY KEY, name text)")
    with pytest.raises(CacheError) as refused:
        pg_schema.apply(pg)
    assert "not an srm store" in str(refused.value)
    assert "\n" not in str(refused.value)
    assert pg.execute("SELECT to_regclass('meta')").fetchone() == (None,)


def test_an_unrelated_database_gains_the_schema_beside_its_own_tables(pg):
    pg.execute("CREATE TABLE inventory (sku text PRIMARY KEY)")
    assert pg_schema.apply(pg) == SCHEMA_VERSION
    assert "inventory" in _pg_tables(pg) and "customers" in _pg_tables(pg)


def test_two_applies_at_once_apply_the_schema_once(pg, pg_url):
    """A second apply waits on the schema lock, then finds the store made and changes nothing
    (ordering from the server's lock table, never from sleeps)."""
    holder = psycopg.connect(pg_url)  # not autocommit: apply joins this open transaction
    waiter = psycopg.connect(pg_url, autocommit=True)
    outcome: dict[str, object] = {}
    try:
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (pg_schema.SCHEMA_LOCK_KEY,))
        waiter_pid = waiter.info.backend_pid

        def second():
            try:
                outcome["version"] = pg_schema.apply(waiter)
            except Exception as error:  # reported below
                outcome["error"] = error

        thread = threading.Thread(target=second)
        thread.start()
        # The second apply is blocked on the lock the first holds.
        waiting = False
        for _ in range(6000):
            row = pg.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                "AND pid = %s",
                (waiter_pid,),
            ).fetchone()
            if row[0]:
                waiting = True
                break
            thread.join(0.01)
        assert waiting, outcome
        assert pg_schema.apply(holder) == SCHEMA_VERSION
        holder.commit()
        thread.join(120)
        assert not thread.is_alive()
        assert outcome == {"version": SCHEMA_VERSION}
        assert pg.execute("SELECT count(*) FROM raw_dictionaries").fetchone() == (11,)
    finally:
        holder.close()
        waiter.close()


# -- parity with the SQLite cache -----------------------------------------------------------


def test_every_sqlite_table_and_column_has_its_twin(pg, sqlite_cache):
    pg_schema.apply(pg)
    lite = sqlite_cache.conn()
    sqlite_tables = _sqlite_tables(lite)
    expected = sorted(pg_schema.PG_REPLACED_TABLES.get(t, t) for t in sqlite_tables)
    assert _pg_tables(pg) == sorted([*expected, *pg_schema.PG_ONLY_TABLES])
    # The kinds the roles and migrate read name every table once.
    assert set(expected) | pg_schema.PG_ONLY_TABLES == pg_schema.ALL_TABLES
    assert set(pg_schema.TABLE_KINDS) == pg_schema.ALL_TABLES

    for table in sqlite_tables:
        if table in pg_schema.PG_REPLACED_TABLES:
            continue
        info = lite.execute(f"PRAGMA table_info({table})").fetchall()
        pk = [r["name"] for r in sorted(info, key=lambda r: r["pk"]) if r["pk"]]
        extra = pg_schema.PG_ONLY_COLUMNS.get(table, ())
        # A PG-only column may sit before columns SQLite gained later (audit's db_user).
        columns = [c for c in _pg_columns(pg, table) if c[0] not in extra]
        names = [c[0] for c in columns]
        assert names == [r["name"] for r in info], table
        assert set(extra) <= {c[0] for c in _pg_columns(pg, table)}, table
        assert _pg_primary_key(pg, table) == pk, table
        for row, (name, data_type, nullable, default, collation) in zip(info, columns):
            want = TYPE_FAMILY[row["type"]]
            if name == "raw":  # compressed payloads (storage/payload.py) are bytes
                want = "bytea"
            assert data_type == want, (table, name)
            if data_type == "text":
                assert collation == "C", (table, name)
            # A key column is never null in PostgreSQL (SQLite lets a non-integer one be).
            assert (nullable == "NO") == bool(row["notnull"] or row["pk"]), (table, name)
            # An identity's default is its sequence: information_schema shows none, as SQLite.
            assert _default(default) == row["dflt_value"], (table, name)
        assert _pg_unique_column_sets(pg, table) == _sqlite_unique_column_sets(lite, table), table


def test_srm_numbered_ids_are_identities(pg):
    pg_schema.apply(pg)
    rows = pg.execute(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = "
        "current_schema() AND column_name = 'id' AND is_identity = 'YES' ORDER BY 1"
    ).fetchall()
    assert [r[0] for r in rows] == sorted(pg_schema.IDENTITY_TABLES)
    pg.execute(
        "INSERT INTO outbox (idempotency_key, action, target, payload, created_at) "
        "VALUES ('k1', 'refund', 't', '{}', 1), ('k2', 'refund', 't', '{}', 2)"
    )
    assert pg.execute("SELECT id FROM outbox ORDER BY id").fetchall() == [(1,), (2,)]


def test_pg_only_columns_fill_themselves(pg):
    pg_schema.apply(pg)
    user = pg.execute("SELECT current_user").fetchone()[0]
    pg.execute("INSERT INTO audit (at, action, outcome) VALUES (1, 'note-add', 'done')")
    assert pg.execute("SELECT db_user, host, pid FROM audit").fetchone() == (user, None, None)
    pg.execute(
        "INSERT INTO segments (name, name_key, kind, format, definition, version, "
        "created_at, updated_at) VALUES ('S', 's', 'dynamic', 1, '{}', 1, 1, 1)"
    )
    assert pg.execute("SELECT owner FROM segments").fetchone() == (user,)


def test_indexes_foreign_keys_and_triggers_match(pg, sqlite_cache):
    pg_schema.apply(pg)
    lite = sqlite_cache.conn()
    sqlite_indexes = {
        (r[0], r[1])
        for r in lite.execute(
            "SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        )
    }
    pg_indexes = {
        (r[0], r[1])
        for r in pg.execute(
            "SELECT i.relname, t.relname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "JOIN pg_class t ON t.oid = x.indrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
            "WHERE n.nspname = current_schema() AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
            "WHERE c.conindid = x.indexrelid)"
        )
    }
    extra = {i for i in pg_indexes if i[0] in pg_schema.PG_ONLY_INDEXES}
    assert {i[0] for i in extra} == pg_schema.PG_ONLY_INDEXES
    assert pg_indexes - extra == sqlite_indexes

    for table in _sqlite_tables(lite):
        if table in pg_schema.PG_REPLACED_TABLES:
            continue
        lite_fks = {
            (r["from"], r["table"], r["to"], r["on_delete"])
            for r in lite.execute(f"PRAGMA foreign_key_list({table})")
        }
        pg_fks = set(
            pg.execute(
                "SELECT kcu.column_name, ccu.table_name, ccu.column_name, rc.delete_rule "
                "FROM information_schema.referential_constraints rc "
                "JOIN information_schema.key_column_usage kcu "
                "ON kcu.constraint_name = rc.constraint_name "
                "JOIN information_schema.constraint_column_usage ccu "
                "ON ccu.constraint_name = rc.constraint_name "
                "WHERE kcu.table_name = %s",
                (table,),
            ).fetchall()
        )
        assert pg_fks == lite_fks, table

    lite_triggers = {
        (r[0], r[1])
        for r in lite.execute("SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'")
    }
    pg_triggers = set(
        pg.execute(
            "SELECT tgname, tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal"
        ).fetchall()
    )
    pg_only = {t for t in pg_triggers if t[0] in pg_schema.PG_ONLY_TRIGGERS}
    assert {t[0] for t in pg_only} == pg_schema.PG_ONLY_TRIGGERS
    assert pg_triggers - pg_only == lite_triggers


# -- the triggers' effects -----------------------------------------------------------------

# Each step: one statement run on both stores (SQLite's ? placeholders, %s for psycopg), then
# the marked customers, the counts and the casefolded text rows are compared; the marks are
# cleared between steps, so each step's own effect is compared.
RAW = b'{"x": 1}'
STEPS: list[tuple[str, tuple]] = [
    (
        "INSERT INTO customers (id, email, raw, synced_at) VALUES (?, ?, ?, 1), (?, ?, ?, 1), "
        "(?, ?, ?, 1)",
        (1, "a@x", RAW, 2, "b@x", RAW, 3, "c@x", RAW),
    ),
    ("INSERT INTO segment_customer_text (id, email_cf) VALUES (1, 'a'), (2, 'b'), (3, 'c')", ()),
    # An upsert: 2 is updated (its text leaves), 4 is inserted (counted).
    (
        "INSERT INTO customers (id, email, raw, synced_at) VALUES (?, ?, ?, 2), (?, ?, ?, 2) "
        "ON CONFLICT (id) DO UPDATE SET email = excluded.email, synced_at = excluded.synced_at",
        (2, "b2@x", RAW, 4, "d@x", RAW),
    ),
    # An upsert that changes nothing: no trigger effect at all.
    (
        "INSERT INTO customers (id, email, raw, synced_at) VALUES (?, ?, ?, 3) "
        "ON CONFLICT (id) DO NOTHING",
        (3, "c@x", RAW),
    ),
    (
        "INSERT INTO subscriptions (id, customer_id, offer_id, status, raw, synced_at) "
        "VALUES (10, 1, 'S1', 'active', ?, 1), (11, 3, 'S1', 'active', ?, 1)",
        (RAW, RAW),
    ),
    (
        "INSERT INTO passes (id, customer_id, offer_id, offer_type, status, raw, synced_at) "
        "VALUES (20, 3, 'P1', 'P', 'active', ?, 1)",
        (RAW,),
    ),
    (
        "INSERT INTO transactions (id, customer_id, status, raw, synced_at) "
        "VALUES ('T1', 2, 'captured', ?, 1), ('T2', 2, 'captured', ?, 1)",
        (RAW, RAW),
    ),
    # A subscription moved to another customer marks both.
    ("UPDATE subscriptions SET customer_id = 4 WHERE id = 10", ()),
    ("UPDATE transactions SET status = 'refunded' WHERE customer_id = 2", ()),
    ("UPDATE passes SET status = 'expired' WHERE customer_id = 99", ()),
    ("UPDATE customers SET last_login_at = 5 WHERE id IN (1, 3)", ()),
    ("UPDATE customers SET last_login_at = 6 WHERE id = 99", ()),
    # A customer whose id changes marks the old id and the new.
    ("UPDATE customers SET id = 5 WHERE id = 3", ()),
    ("DELETE FROM passes WHERE id = 20", ()),
    ("DELETE FROM transactions WHERE id = 'T1'", ()),
    ("DELETE FROM subscriptions WHERE customer_id = 3", ()),
    ("INSERT INTO segment_customer_text (id, email_cf) VALUES (2, 'b2'), (4, 'd')", ()),
    ("DELETE FROM customers WHERE id = 4", ()),
    ("DELETE FROM customers WHERE id = 99", ()),
    ("DELETE FROM customers", ()),
]


def _effects(conn) -> tuple:
    return (
        [tuple(r) for r in conn.execute("SELECT customer_id FROM segment_facts_dirty ORDER BY 1")],
        [tuple(r) for r in conn.execute("SELECT name, n FROM row_counts ORDER BY 1")],
        [tuple(r) for r in conn.execute("SELECT id FROM segment_customer_text ORDER BY 1")],
    )


def test_trigger_effects_equal_sqlites(pg, sqlite_cache):
    pg_schema.apply(pg)
    lite = sqlite_cache.conn()
    seen = []
    for sql, params in STEPS:
        lite.execute(sql, params)
        pg.execute(sql.replace("?", "%s"), params)
        lite_effects, pg_effects = _effects(lite), _effects(pg)
        assert pg_effects == lite_effects, sql
        seen.append(lite_effects)
        lite.execute("DELETE FROM segment_facts_dirty")
        pg.execute("DELETE FROM segment_facts_dirty")
    # The steps did exercise the triggers (marks, counts up and down, text dropped).
    assert seen[0] == ([(1,), (2,), (3,)], [("customers", 3)], [])
    assert seen[2] == ([(2,), (4,)], [("customers", 4)], [(1,), (3,)])
    assert seen[3][0] == [] and seen[3][1] == [("customers", 4)]
    assert seen[7][0] == [(1,), (4,)]
    assert seen[12] == ([(3,), (5,)], [("customers", 4)], [])
    assert seen[-1] == ([(1,), (2,), (5,)], [("customers", 0)], [])


def test_trigger_effects_roll_back_with_their_statement(pg):
    """A failed page leaves no mark and no count behind (the trigger's writes are part of it)."""
    pg_schema.apply(pg)
    with pytest.raises(psycopg.errors.NotNullViolation):
        with pg.transaction():
            pg.execute("INSERT INTO customers (id, raw, synced_at) VALUES (1, %s, 1)", (RAW,))
            pg.execute("INSERT INTO customers (id, raw, synced_at) VALUES (2, %s, NULL)", (RAW,))
    assert _effects(pg) == ([], [("customers", 0)], [])


def test_the_store_reads_and_writes_the_schema(pg, pg_url):
    """Through the app's own seam (open_store -> PgStore, SQLite's placeholders): a compressed
    record round-trips through bytea, srm's ids come from the identity, counts read as int."""
    from srm_tui.storage import payload
    from srm_tui.storage.db import open_store

    pg_schema.apply(pg)
    record = {"id": 7, "email": "ana@example.com", "firstName": "Ana", "lastName": "Ñúñez"}
    raw = payload.encode("customers", record)
    assert isinstance(raw, bytes) and raw[:1] != b"{"  # compressed with the dictionary
    store = open_store(pg_url)
    try:
        with store.transaction(vendor=True) as tx:
            tx.execute(
                "INSERT INTO customers (id, email, raw, synced_at) VALUES (?, ?, ?, ?)",
                (7, record["email"], raw, 1),
            )
        with store.transaction() as tx:
            ids = [
                tx.execute(
                    "INSERT INTO outbox (idempotency_key, action, target, payload, created_at) "
                    "VALUES (?, 'note-add', 'customer:7', '{}', 1) RETURNING id",
                    (key,),
                ).fetchone()["id"]
                for key in ("k1", "k2")
            ]
        assert ids == [1, 2]
        row = store.conn().execute("SELECT raw FROM customers WHERE id = ?", (7,)).fetchone()
        assert payload.decode_raw(row["raw"]) == record
        counts = store.conn().execute("SELECT n FROM row_counts WHERE name = 'customers'")
        n = counts.fetchone()[0]
        assert n == 1 and type(n) is int
        dirty = store.conn().execute("SELECT customer_id FROM segment_facts_dirty").fetchall()
        assert [r[0] for r in dirty] == [7]
    finally:
        store.close()

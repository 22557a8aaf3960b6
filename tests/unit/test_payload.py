"""The stored payload (issue 16, a lean cache): records compressed with a per-table
dictionary, plain JSON still readable, and a schema-8 cache converted forward losing nothing."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from srm_tui.storage import payload, records
from srm_tui.storage.cache import Cache, _statements
from srm_tui.storage.payload import PayloadError, decode_raw, encode
from srm_tui.storage.schema import MIGRATIONS, SCHEMA_VERSION
from tests.conftest import AS_OF

SUBSCRIPTION = {
    "subscriptionId": 137121839,
    "customerId": 947143295,
    "offerId": "S341676378_US",
    "status": "active",
    "dateFrom": 1778618152,
    "dateTo": 1794170152,
    "inTrial": False,
    "period": "month",
    "nextPaymentPrice": 19.99,
    "nextPaymentCurrency": "USD",
    "renewalCycle": {"completed": 5, "unit": "month", "amount": 1},
    "externalProperties": {},
}


@pytest.mark.parametrize("entity", sorted(payload.WRITE_WITH))
def test_each_table_writes_with_its_own_dictionary_and_reads_back(entity):
    record = {**SUBSCRIPTION, "note": f"a record of {entity}", "customerId": 947143295}
    stored = encode(entity, record)
    assert isinstance(stored, bytes)
    assert stored[0] == payload.WRITE_WITH[entity]
    assert payload.DICTIONARIES[stored[0]] == entity
    assert decode_raw(stored) == record
    assert len(stored) < len(payload.dumps(record).encode())


def test_a_subscription_keeps_a_fifth_of_its_json():
    stored = encode("subscriptions", SUBSCRIPTION)
    assert len(stored) * 3 < len(payload.dumps(SUBSCRIPTION).encode())


def test_plain_json_stays_readable_as_text_and_as_bytes():
    record = {"id": 1, "email": "a@b.c", "capture": {"city": "Kraków"}}
    text = json.dumps(record, ensure_ascii=False)
    assert decode_raw(text) == record
    assert decode_raw(text.encode("utf-8")) == record
    assert decode_raw(memoryview(text.encode("utf-8"))) == record
    assert decode_raw(None) is None
    assert payload.is_plain(text) and payload.is_plain(text.encode())
    assert not payload.is_plain(encode("customers", record))


def test_a_record_too_small_to_gain_is_kept_as_json_bytes():
    """Always bytes (a BLOB in SQLite, bytea in PostgreSQL as it is), never text."""
    assert encode("customers", {}) == b"{}"
    assert decode_raw(encode("customers", {})) == {}
    assert encode("no_such_table", {"a": 1}) == b'{"a":1}'  # a table without a dictionary
    # Stored values read as they were written: text rows of older caches, and any JSON value
    # kept plain (its first byte is never a dictionary id).
    for value in ([1, "x"], "text", -5, 0, True, False, None):
        assert decode_raw(encode("no_such_table", value)) == value
        assert decode_raw(payload.dumps(value)) == value
    assert payload.encode_stored("customers", "{}") == b"{}"
    assert all(ident < 32 for ident in payload.DICTIONARIES)


def test_non_ascii_and_control_characters_survive():
    record = {
        "firstName": "翔",
        "lastName": "Weiß‮evil",
        "city": "Łódź 🏳️‍🌈",
        "body": "line\nbreak\ttab\u0000nul \\ \" '",
        "rtl": "مرحبا",
        "surrogate_pair": "\U0001f600",
    }
    stored = encode("emails", record)
    assert isinstance(stored, bytes)
    assert decode_raw(stored) == record


def test_huge_values_round_trip():
    record = {
        "id": 500000001,
        "body": "x" * 3_000_000 + "é" * 100_000,
        "changes": [{"field": f"f{i}", "from": i, "to": str(i) * 20} for i in range(20_000)],
        "amount": 1e308,
        "tiny": -5e-324,
        "big": 2**62,
    }
    stored = encode("history", record)
    assert len(stored) < 200_000
    assert decode_raw(stored) == record


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=300)
@given(entity=st.sampled_from(sorted(payload.WRITE_WITH)), record=JSON_VALUES)
def test_any_json_value_round_trips(entity, record):
    stored = encode(entity, record)
    assert decode_raw(stored) == record
    assert isinstance(stored, bytes)
    if not payload.is_plain(stored):  # compressed: its table's dictionary, and shorter
        assert stored[0] == payload.WRITE_WITH[entity]
        assert len(stored) < len(payload.dumps(record).encode("utf-8"))
    else:
        assert stored == payload.dumps(record).encode("utf-8")


def test_an_unknown_dictionary_or_damaged_bytes_is_a_clear_error():
    stored = encode("transactions", SUBSCRIPTION)
    with pytest.raises(PayloadError, match="dictionary 99"):
        decode_raw(bytes((99,)) + stored[1:])
    with pytest.raises(PayloadError, match="cut short"):
        decode_raw(stored[: len(stored) // 2])
    with pytest.raises(PayloadError):
        decode_raw(b"")
    with pytest.raises(ValueError):  # the readers' own `except ValueError` catches it
        decode_raw(bytes((4,)) + b"\xff\xfe not deflate")


def test_the_dictionary_decides_the_bytes():
    """A value compressed with one table's dictionary does not read with another's: the id
    in the first byte is what picks the dictionary."""
    stored = encode("transactions", SUBSCRIPTION)
    moved = bytes((payload.WRITE_WITH["emails"],)) + stored[1:]
    try:
        assert decode_raw(moved) != SUBSCRIPTION
    except ValueError:
        pass


def test_a_new_cache_holds_the_shipped_dictionaries(cache):
    conn = cache.conn()
    rows = {
        r[0]: (r[1], bytes(r[2]), r[3])
        for r in conn.execute("SELECT id, entity, data, sha256 FROM raw_dictionaries")
    }
    assert set(rows) == set(payload.DICTIONARIES)
    for ident, (entity, data, sha) in rows.items():
        assert entity == payload.DICTIONARIES[ident]
        assert data == payload.dictionary(ident) == payload.dictionary_path(ident).read_bytes()
        assert sha == hashlib.sha256(data).hexdigest()
        assert 0 < len(data) <= 32768
    assert conn.execute("SELECT value FROM meta WHERE key = 'payload_convert'").fetchone() is None


# -- a schema-8 cache, as srm wrote it before the lean cache ---------------------------------

V8_SUBSCRIPTION_COLUMNS = (
    "id, customer_id, offer_id, status, date_from, date_to, in_trial, created_at, period, "
    "price, currency, gateway, payment_method, coupon_code, renewals, external_properties, "
    "raw, synced_at, period_derived, price_derived"
)


def _schema8_cache(path: Path, customers: int = 120) -> dict[str, dict[str, dict]]:
    """A cache at schema 8 (V1..V8 only) filled as srm's schema-8 upsert filled it: the
    sandbox's generated records, every raw plain JSON text. Returns the records by table."""
    from srm_tui.sandbox.generator import catalog, iter_customers
    from srm_tui.sync.parse import validate

    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("BEGIN")
    for version, script in enumerate(MIGRATIONS[:8], start=1):
        for statement in _statements(script):
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {version}")
    cat = catalog(1, AS_OF)
    batch: dict[str, list] = {e: list(cat[e]) for e in ("offers", "season_groups", "campaigns")}
    for bundle in iter_customers(1, customers, AS_OF, cat):
        batch.setdefault("customers", []).append(bundle["customer"])
        for entity in records.CHILD_ENTITIES:
            batch.setdefault(entity, []).extend(bundle.get(entity, ()))
    # A subscription that names no currency of its own (its price is derived from the offer).
    subs = batch["subscriptions"]
    subs[0] = {k: v for k, v in subs[0].items() if k not in ("nextPaymentCurrency",)}
    subs[1] = {
        k: v for k, v in subs[1].items() if k not in ("nextPaymentCurrency", "nextPaymentPrice")
    }
    stored: dict[str, dict[str, dict]] = {}
    for entity, items in batch.items():
        good, bad = validate(entity, items)
        assert not bad
        rows = records.row_values(entity, good, 1_790_000_000)
        cols = records._COLUMNS[entity][1]
        at = cols.index("raw")
        rows = [
            (*r[:at], payload.dumps(decode_raw(r[at])), *r[at + 1 :])  # schema 8: JSON text
            for r in rows
        ]
        if entity == "subscriptions":  # schema 8 had no currency_derived
            cols, rows = cols[:-1], [r[:-1] for r in rows]
            assert ", ".join(cols) == V8_SUBSCRIPTION_COLUMNS
        conn.executemany(
            f"INSERT INTO {entity} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
            rows,
        )
        stored[entity] = {str(r[0]): json.loads(r[at]) for r in rows}
    conn.execute("COMMIT")
    conn.close()
    return stored


def _everything(conn: sqlite3.Connection) -> dict[str, dict[str, dict]]:
    return {
        entity: {str(r[0]): decode_raw(r[1]) for r in conn.execute(f"SELECT id, raw FROM {entity}")}
        for entity in payload.WRITE_WITH
    }


def test_a_schema8_cache_migrates_forward_losing_nothing(tmp_path):
    path = tmp_path / "v8.db"
    before = _schema8_cache(path)
    old = sqlite3.connect(path)
    assert old.execute("PRAGMA user_version").fetchone()[0] == 8
    pages = "SELECT sum(pgsize) FROM dbstat WHERE name IN ('transactions', 'emails')"
    plain_bytes = old.execute(pages).fetchone()[0]
    old.close()
    cache = Cache(path)
    conn = cache.conn()
    assert cache.schema_version == SCHEMA_VERSION
    assert _everything(conn) == before
    for entity, rows in before.items():
        assert conn.execute(f"SELECT count(*) FROM {entity}").fetchone()[0] == len(rows)
        plain = conn.execute(
            f"SELECT count(*) FROM {entity} WHERE typeof(raw) = 'text'"
        ).fetchone()[0]
        assert plain == 0, entity  # every row compressed (none of these is too small to gain)
        ident = conn.execute(f"SELECT DISTINCT substr(raw, 1, 1) FROM {entity}").fetchall()
        assert [bytes(r[0])[0] for r in ident] == [payload.WRITE_WITH[entity]]
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT value FROM meta WHERE key = 'payload_convert'").fetchone() is None
    # The tables were rewritten, not left as sparse as before: they take under half the pages.
    assert conn.execute(pages).fetchone()[0] * 2 < plain_bytes
    # The own currency SQL used to read from raw is a column now.
    subs = before["subscriptions"]
    flags = dict(conn.execute("SELECT id, currency_derived FROM subscriptions"))
    assert flags == {int(k): int(s.get("nextPaymentCurrency") is None) for k, s in subs.items()}
    assert 1 in flags.values()
    # Dropped indexes are gone; the rest of the schema-8 indexes stay.
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "transactions_external" not in names and "customers_post_code" not in names
    assert {"transactions_external_nocase", "customers_external_id_nocase"} <= names
    cache.close()
    # Reading through the account view gives the records as they were.
    again = Cache(path)
    from srm_tui.storage import queries

    cid = next(iter(before["customers"]))
    account = queries.account_records(again.conn(), int(cid))
    assert account["customer"] == before["customers"][cid]
    again.close()


def test_a_conversion_cut_short_reads_mixed_and_resumes(tmp_path, monkeypatch):
    path = tmp_path / "v8.db"
    before = _schema8_cache(path, customers=60)
    real = payload._rebuild
    calls = {"n": 0}

    def dies_on_the_third(*args, **kw):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the process is stopped mid-conversion
        return real(*args, **kw)

    monkeypatch.setattr(payload, "_rebuild", dies_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        Cache(path)
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    state = json.loads(
        conn.execute("SELECT value FROM meta WHERE key = 'payload_convert'").fetchone()[0]
    )
    # Two tables committed done with the mark; the third rolled back whole.
    assert state == {"customers": "done", "subscriptions": "done"}
    kinds = {
        entity: dict(conn.execute(f"SELECT typeof(raw), count(*) FROM {entity} GROUP BY 1"))
        for entity in ("customers", "subscriptions", "passes", "transactions")
    }
    assert kinds["customers"] == {"blob": len(before["customers"])}
    assert kinds["passes"] == {"text": len(before["passes"])}  # old and new rows mixed
    assert _everything(conn) == before  # and every one reads
    assert (
        conn.execute("SELECT count(*) FROM sqlite_master WHERE name LIKE '%_lean'").fetchone()[0]
        == 0
    )
    dirty = conn.execute("SELECT count(*) FROM segment_facts_dirty").fetchone()[0]
    conn.close()
    monkeypatch.setattr(payload, "_rebuild", real)
    cache = Cache(path)
    conn = cache.conn()
    assert _everything(conn) == before
    for entity in payload.WRITE_WITH:
        text = conn.execute(f"SELECT count(*) FROM {entity} WHERE typeof(raw) = 'text'")
        assert text.fetchone()[0] == 0, entity
    assert conn.execute("SELECT value FROM meta WHERE key = 'payload_convert'").fetchone() is None
    # Compressing changes no fact a segment reads: no customer was marked stale by it ...
    assert conn.execute("SELECT count(*) FROM segment_facts_dirty").fetchone()[0] == dirty
    # ... and the rebuilt tables have their triggers and indexes again.
    conn.execute("DELETE FROM segment_facts_dirty")
    conn.execute("UPDATE passes SET status = status WHERE id = (SELECT min(id) FROM passes)")
    assert conn.execute("SELECT count(*) FROM segment_facts_dirty").fetchone()[0] == 1
    triggers = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
    assert {"segment_dirty_transactions_update", "segment_dirty_customers_delete"} <= triggers
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"transactions_customer", "emails_customer", "customers_email"} <= indexes
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    cache.close()


def test_a_seeded_cache_stores_compressed_payloads(seeded_cache):
    cache = Cache(seeded_cache(40, 1))
    conn = cache.conn()
    for entity, ident in payload.WRITE_WITH.items():
        firsts = {
            bytes(r[0])[:1]
            for r in conn.execute(f"SELECT raw FROM {entity}")
            if not isinstance(r[0], str)
        }
        assert firsts <= {bytes((ident,))}, entity
    text = conn.execute("SELECT count(*) FROM transactions WHERE typeof(raw) = 'text'")
    assert text.fetchone()[0] == 0
    cache.close()


SQL_JSON = ("json_extract", "json_each", "json_tree", "json_type", "->>", "->")


def test_no_sql_of_srm_reads_raw_as_json():
    """Beside the behavioural tests above: no statement in srm_tui (its migrations aside,
    which run before the rows are compressed) applies a JSON function to raw."""
    import re

    root = Path(__file__).resolve().parents[2] / "srm_tui"
    found = []
    pattern = re.compile(r"json_\w+\(\s*\w*\.?raw\b|\braw\s*->")
    for path in root.rglob("*.py"):
        if path.name == "schema.py" or "sandbox" in path.parts:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line):
                found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    assert found == []


def test_a_cache_upgrade_says_each_table_it_compresses(tmp_path):
    """A schema-8 cache of a million customers takes minutes to compress, once: whoever opens
    it hears each table before it starts, with its row count."""
    path = tmp_path / "v8.db"
    before = _schema8_cache(path, customers=30)
    heard: list[str] = []
    cache = Cache(path, say=heard.append)
    assert cache.schema_version == SCHEMA_VERSION
    tables = [e for e in payload.WRITE_WITH if e in before]
    assert [line.split(" stored ")[1].split(" records")[0] for line in heard] == tables
    n = len(before["transactions"])
    assert f"compressing the cache's {n:,} stored transactions records" in "\n".join(heard)
    cache.close()
    heard.clear()
    Cache(path, say=heard.append).close()  # done once: a second open says nothing
    assert heard == []

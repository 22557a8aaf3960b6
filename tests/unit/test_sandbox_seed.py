"""The seeded cache: the bulk load writes exactly what the sync's upserts write."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

import pytest

from srm_tui.sandbox import seed
from srm_tui.storage.cache import Cache

AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)


def contents(path) -> dict:
    """Every table's rows (the search index by what it answers), and the schema's text."""
    conn = sqlite3.connect(path)
    out = {f"schema {n}": sql for n, sql in conn.execute("SELECT name, sql FROM sqlite_master")}
    tables = conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' "
        "AND name NOT LIKE 'customers_fts%' AND name NOT LIKE 'sqlite_%'"
    ).fetchall()
    for (table,) in tables:
        out[table] = sorted(map(repr, conn.execute(f"SELECT * FROM {table}")))
    out["search index"] = sorted(map(repr, conn.execute("SELECT rowid, * FROM customers_fts")))
    for term in ("son*", "a*", "ma*", "example*"):
        out[f"match {term}"] = conn.execute(
            "SELECT rowid FROM customers_fts WHERE customers_fts MATCH ? ORDER BY rowid", (term,)
        ).fetchall()
    conn.close()
    return out


def seeded(path, customers: int, **how) -> tuple[dict, dict]:
    cache = Cache(path)
    counts = seed.seed_cache(cache, customers, 3, AS_OF, **how)
    cache.close()
    return counts, contents(path)


def test_bulk_load_writes_what_the_upserts_write(tmp_path):
    bulk_counts, bulk = seeded(tmp_path / "bulk.db", 150, workers=0)
    sync_counts, synced = seeded(tmp_path / "sync.db", 150, bulk=False)
    assert bulk_counts == sync_counts and bulk_counts["customers"] == 150
    assert bulk_counts["transactions"] > 150  # every kind of record is there to compare
    assert sorted(bulk) == sorted(synced)
    differ = [name for name in bulk if bulk[name] != synced[name]]
    assert differ == []
    assert bulk["customers"] and bulk["segment_facts_dirty"] and bulk["match son*"]


def test_the_bulk_load_leaves_the_journal_as_it_found_it(tmp_path):
    cache = Cache(tmp_path / "c.db")
    seed.seed_cache(cache, 5, 3, AS_OF)
    assert cache.conn().execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    cache.close()


def test_slices_build_the_rows_of_one_run():
    whole = seed.build_rows(3, AS_OF, 0, 12)
    parts = [seed.build_rows(3, AS_OF, a, b) for a, b in ((0, 5), (5, 12))]
    for entity, rows in whole["rows"].items():
        assert rows == parts[0]["rows"][entity] + parts[1]["rows"][entity]
    assert whole["search"] == parts[0]["search"] + parts[1]["search"]


def test_a_bulk_load_into_a_cache_with_customers_is_refused(tmp_path):
    cache = Cache(tmp_path / "c.db")
    seed.seed_cache(cache, 4, 3, AS_OF)
    before = contents(tmp_path / "c.db")
    with pytest.raises(ValueError, match="empty cache"):
        seed.seed_cache(cache, 8, 3, AS_OF, bulk=True)
    cache.close()
    assert contents(tmp_path / "c.db") == before


def test_seeding_again_merges_through_the_upserts(tmp_path):
    cache = Cache(tmp_path / "c.db")
    seed.seed_cache(cache, 4, 3, AS_OF)
    counts = seed.seed_cache(cache, 9, 3, AS_OF)  # not empty: the sync's way, same customers
    assert counts["customers"] == 9
    assert cache.conn().execute("SELECT count(*) FROM customers").fetchone()[0] == 9
    cache.close()


def test_generated_records_skip_only_a_copy_that_changes_nothing():
    """validate(generated=True) (the seed's way) keeps each generated record as the full
    validation's canonical copy has it, JSON for JSON: the skip is safe only while the
    generator writes every value in the type its model reads."""
    from srm_tui.sandbox.generator import catalog, iter_customers
    from srm_tui.storage import records
    from srm_tui.storage.payload import dumps
    from srm_tui.sync.parse import validate

    cat = catalog(3, AS_OF)
    batch = {entity: list(cat[entity]) for entity in seed.CATALOG}
    batch.update({entity: [] for entity in seed.CUSTOMER_DATA})
    for bundle in iter_customers(3, 300, AS_OF, cat):
        batch["customers"].append(bundle["customer"])
        for entity in records.CHILD_ENTITIES:
            batch[entity].extend(bundle.get(entity, ()))
    for entity, items in batch.items():
        full, full_bad = validate(entity, items)
        quick, quick_bad = validate(entity, items, generated=True)
        assert full_bad == quick_bad == []
        assert [dumps(r.to_api()) for r in quick] == [dumps(r.to_api()) for r in full]
    assert len(batch["transactions"]) > 300


def test_a_vendor_value_in_another_type_is_still_written_in_the_models_type():
    """The full validation (every record that is not the generator's) keeps money sent as
    text in its type; only generated records skip that copy."""
    from srm_tui.sync.parse import validate

    item = {"transactionId": "T123456789", "customerId": 7, "amount": "9.99", "currency": "EUR"}
    (full,), _ = validate("transactions", [item])
    (quick,), _ = validate("transactions", [item], generated=True)
    assert full.to_api()["amount"] == 9.99
    assert quick.to_api()["amount"] == "9.99"


def test_a_cache_with_a_trigger_the_bulk_load_does_not_know_keeps_it_firing(tmp_path):
    """The bulk load stands in for the 16 triggers it knows; a cache with another trigger on
    an entity table (a later schema's) keeps every trigger firing row by row, and the result
    is still the upserts' one."""
    extra = (
        "CREATE TRIGGER count_emails AFTER INSERT ON emails BEGIN "
        "UPDATE row_counts SET n = n + 1 WHERE name = 'emails seen'; END"
    )
    out = {}
    for name, how in (("bulk", {"workers": 0}), ("sync", {"bulk": False})):
        cache = Cache(tmp_path / f"{name}.db")
        cache.conn().execute(extra)
        cache.conn().execute("INSERT INTO row_counts (name, n) VALUES ('emails seen', 0)")
        seed.seed_cache(cache, 40, 3, AS_OF, **how)
        cache.close()
        out[name] = contents(tmp_path / f"{name}.db")
    assert out["bulk"] == out["sync"]
    conn = sqlite3.connect(tmp_path / "bulk.db")
    (seen,) = conn.execute("SELECT n FROM row_counts WHERE name = 'emails seen'").fetchone()
    conn.close()
    assert seen == len(out["bulk"]["emails"]) > 0

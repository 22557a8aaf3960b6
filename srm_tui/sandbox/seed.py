"""Writing a generated data set straight into a cache (demos and benchmarks).

Into an empty cache the customers are bulk-loaded: records are generated, validated and
turned into rows in worker processes (slices of customers, in order), while this process only
writes them, in one transaction with a rollback journal (the file starts empty, so the journal
holds almost nothing, where a WAL would hold every page twice), with the entity tables'
secondary indexes dropped and built again at the end by sorting, their triggers (row counts,
segment facts marked stale) suspended and their effect written once, and the derived fields
and list columns computed once over the whole set. The generator's records skip the canonical
copy of the sync's validation (their values are already in the models' types). The result is the cache the record-by-record
path (the sync's upserts, kept for a cache that already holds customers) writes; the unit test
of this module compares the two, table by table.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sqlite3
from collections import deque
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any

from srm_tui.sandbox.generator import catalog, iter_customers
from srm_tui.storage import records
from srm_tui.storage.cache import Cache, CacheReadOnly
from srm_tui.sync.engine import ORDER
from srm_tui.sync.parse import validate

BATCH = 5000
SLICE = 2000  # customers per worker task
PARALLEL_FROM = 20_000  # fewer customers: starting worker processes costs more than it saves
CATALOG = ("offers", "season_groups", "campaigns")
CUSTOMER_DATA = tuple(entity for entity in ORDER if entity not in CATALOG)


def seed_cache(
    cache: Cache,
    customers: int,
    seed: int,
    as_of: datetime,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
    bulk: bool | None = None,
) -> dict[str, int]:
    """Generate N customers and write them as a sync would; returns counts per entity.

    Records go through the sync's validation and row mapping, so the cache is exactly what
    syncing the sandbox would give. An empty cache is bulk-loaded (``workers`` processes
    build the rows: default one per CPU from PARALLEL_FROM customers on, else none); a cache
    that already holds customer data gets the sync's upserts, in batches of one transaction
    (``bulk=False`` takes that way into an empty cache too; ``bulk=True`` into a cache with
    customer data is refused).
    """
    now = int(as_of.timestamp())
    cat = catalog(seed, as_of)
    counts = {entity: 0 for entity in ORDER}
    empty = _is_empty(cache.conn())
    if bulk and not empty:
        raise ValueError("a bulk load needs an empty cache: this one holds customer data")
    if empty and bulk is not False:
        _bulk_load(cache, customers, seed, as_of, cat, counts, progress, workers)
    else:
        _upsert_batches(cache, customers, seed, as_of, cat, counts, progress)
    with cache.transaction() as tx:
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('last_sync_at', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (str(now),),
        )
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('seeded', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (f"{customers} customers, seed {seed}, as of {as_of.isoformat()}",),
        )
    return counts


def _is_empty(conn: sqlite3.Connection) -> bool:
    return not any(
        conn.execute(f"SELECT 1 FROM {entity} LIMIT 1").fetchone() for entity in CUSTOMER_DATA
    )


def _write_catalog(tx: sqlite3.Connection, cat: dict, now: int, counts: dict[str, int]) -> None:
    for entity in CATALOG:
        good, _ = validate(entity, cat[entity])
        records.upsert(tx, entity, good, now)
        counts[entity] += len(good)


def _upsert_batches(cache, customers, seed, as_of, cat, counts, progress) -> None:
    """The sync's way: validate and upsert each batch, derived fields kept up to date."""
    now = int(as_of.timestamp())
    with cache.transaction() as tx:
        _write_catalog(tx, cat, now, counts)
    batch: dict[str, list] = {entity: [] for entity in ORDER}
    done = 0

    def flush() -> None:
        with cache.transaction() as tx:
            touched: list[int] = []
            for entity in ORDER:
                if batch[entity]:
                    good, _ = validate(entity, batch[entity])
                    touched += records.upsert(tx, entity, good, now)
                    counts[entity] += len(good)
                    batch[entity].clear()
            records.refresh_customer_stats(tx, touched)

    for bundle in iter_customers(seed, customers, as_of, cat):
        batch["customers"].append(bundle["customer"])
        for entity in records.CHILD_ENTITIES:
            batch[entity].extend(bundle.get(entity, ()))
        done += 1
        if done % BATCH == 0:
            flush()
            if progress:
                progress(done)
    flush()
    if progress:
        progress(done)


# -- bulk load ------------------------------------------------------------------------------


@lru_cache(maxsize=2)
def _catalog(seed: int, as_of: datetime) -> dict:
    return catalog(seed, as_of)


def build_rows(seed: int, as_of: datetime, start: int, stop: int) -> dict[str, Any]:
    """Customers ``start`` to ``stop`` - 1 as the rows the cache stores: validated as the sync
    validates, mapped as ``records.upsert`` maps; with their search index values."""
    now = int(as_of.timestamp())
    cat = _catalog(seed, as_of)
    batch: dict[str, list] = {entity: [] for entity in CUSTOMER_DATA}
    for bundle in iter_customers(seed, stop, as_of, cat, start=start):
        batch["customers"].append(bundle["customer"])
        for entity in records.CHILD_ENTITIES:
            batch[entity].extend(bundle.get(entity, ()))
    rows = {}
    # The models and rows hold no reference cycles: the cyclic collector would only re-scan
    # the thousands of objects a slice makes.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for entity in CUSTOMER_DATA:
            good, _ = validate(entity, batch[entity], generated=True)
            rows[entity] = records.row_values(entity, good, now)
    finally:
        if was_enabled:
            gc.enable()
    search = [records.search_values(row) for row in rows["customers"]]
    return {"rows": rows, "search": search, "customers": stop - start}


def _slices(customers: int):
    for start in range(0, customers, SLICE):
        yield start, min(customers, start + SLICE)


def _parts(customers: int, seed: int, as_of: datetime, workers: int):
    """build_rows of every slice, in order: in worker processes (at most two slices ahead
    per worker, so rows never pile up in memory when writing is the slower side) or here."""
    if workers <= 0:
        for start, stop in _slices(customers):
            yield build_rows(seed, as_of, start, stop)
        return
    # fork, not spawn: spawn re-imports the caller's main module in each worker. The workers
    # never touch the inherited database connection, and a pool's workers leave by
    # os._exit, so nothing of it is finalized there.
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        pending: deque = deque()
        for start, stop in _slices(customers):
            pending.append(pool.apply_async(build_rows, (seed, as_of, start, stop)))
            if len(pending) >= 2 * workers:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


def _schema_objects(conn: sqlite3.Connection, kind: str) -> list[tuple[str, str]]:
    """The entity tables' indexes (secondary: those with SQL) or triggers, with their SQL."""
    marks = ",".join("?" * len(CUSTOMER_DATA))
    return conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = ? AND sql IS NOT NULL "
        f"AND tbl_name IN ({marks}) ORDER BY name",
        (kind, *CUSTOMER_DATA),
    ).fetchall()


# What the suspended triggers would have written, once for the whole load: every inserted
# customer and every customer a subscription, pass or transaction names marked stale for the
# segment facts (the insert triggers; the derive step's updates name only these again), the
# casefolded texts of the customers the list columns' update touched dropped (the customers'
# update trigger; every customer is updated), and the customers' row count.
_TRIGGERS_ONCE = (
    "INSERT OR IGNORE INTO segment_facts_dirty (customer_id) "
    "SELECT id FROM customers UNION SELECT customer_id FROM subscriptions "
    "UNION SELECT customer_id FROM passes UNION SELECT customer_id FROM transactions",
    "DELETE FROM segment_customer_text WHERE id IN (SELECT id FROM customers)",
    "UPDATE row_counts SET n = (SELECT count(*) FROM customers) WHERE name = 'customers'",
)
# The triggers the statements above stand for; a cache with any other trigger on these
# tables (a newer schema's) keeps all of them firing row by row.
_SUSPENDABLE = frozenset(
    {
        "row_counts_customers_insert",
        "row_counts_customers_delete",
        *(
            f"segment_dirty_{table}_{event}"
            for table in ("customers", "subscriptions", "passes", "transactions")
            for event in ("insert", "update", "delete")
        ),
        "segment_text_customers_update",
        "segment_text_customers_delete",
    }
)


def _bulk_load(cache, customers, seed, as_of, cat, counts, progress, workers) -> None:
    now = int(as_of.timestamp())
    if workers is None:
        forks = "fork" in multiprocessing.get_all_start_methods()
        workers = (os.cpu_count() or 1) if forks and customers >= PARALLEL_FROM else 0
    if cache.read_only:  # the journal switch below would fail with SQLite's own words
        raise CacheReadOnly(cache.refuse_writes_reason())
    conn = cache.conn()
    journal = conn.execute("PRAGMA journal_mode").fetchone()[0]
    conn.execute("PRAGMA journal_mode=DELETE")
    try:
        with cache.transaction() as tx:
            indexes = _schema_objects(tx, "index")
            triggers = _schema_objects(tx, "trigger")
            if {name for name, _ in triggers} != _SUSPENDABLE:
                triggers = []
            for name, _ in indexes:
                tx.execute(f'DROP INDEX "{name}"')
            for name, _ in triggers:
                tx.execute(f'DROP TRIGGER "{name}"')
            _write_catalog(tx, cat, now, counts)
            done = 0
            for part in _parts(customers, seed, as_of, workers):
                for entity in CUSTOMER_DATA:
                    rows = part["rows"][entity]
                    if rows:
                        tx.executemany(records.upsert_sql(entity), rows)
                        counts[entity] += len(rows)
                records.index_search_values(tx, part["search"])
                done += part["customers"]
                if progress and (done % BATCH == 0 or done == customers):
                    progress(done)
            for _, sql in indexes:
                tx.execute(sql)
            _derive_all(tx)
            if triggers:
                for sql in _TRIGGERS_ONCE:
                    tx.execute(sql)
                for _, sql in triggers:
                    tx.execute(sql)
    finally:
        conn.execute(f"PRAGMA journal_mode={journal}")
    if progress and customers == 0:
        progress(0)


def _ids(conn: sqlite3.Connection, sql: str) -> list:
    return [row[0] for row in conn.execute(sql)]


def _derive_all(tx: sqlite3.Connection) -> None:
    """The derived fields and list columns the upserts keep up to date, computed once."""
    records.derive_periods(
        tx, subscription_ids=_ids(tx, "SELECT id FROM subscriptions WHERE period_derived = 1")
    )
    records.derive_prices(
        tx, subscription_ids=_ids(tx, "SELECT id FROM subscriptions WHERE price_derived = 1")
    )
    records.derive_pass_dates(
        tx, pass_ids=_ids(tx, "SELECT id FROM passes WHERE created_derived = 1")
    )
    records.refresh_customer_stats(tx, _ids(tx, "SELECT id FROM customers"))

"""Writing a generated data set straight into a cache (demos and benchmarks)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from srm_tui.sandbox.generator import catalog, iter_customers
from srm_tui.storage import records
from srm_tui.storage.cache import Cache
from srm_tui.sync.engine import ORDER
from srm_tui.sync.parse import validate

BATCH = 5000


def seed_cache(
    cache: Cache,
    customers: int,
    seed: int,
    as_of: datetime,
    progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Generate N customers and write them as a sync would; returns counts per entity.

    Records go through the same validation and upserts as the sync, in batches of one
    transaction each, so the cache is exactly what syncing the sandbox would give.
    """
    now = int(as_of.timestamp())
    cat = catalog(seed, as_of)
    counts = {entity: 0 for entity in ORDER}
    with cache.transaction() as tx:
        for entity in ("offers", "season_groups", "campaigns"):
            good, _ = validate(entity, cat[entity])
            records.upsert(tx, entity, good, now)
            counts[entity] += len(good)
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

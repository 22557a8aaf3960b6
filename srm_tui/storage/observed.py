"""Changes seen in subscriptions and passes between two copies the API sent (a copy an
import made does not count).

The vendor keeps no change history a publisher can read, so whenever a cached subscription or
pass is replaced by a newer copy (sync, a webhook, a fetch, the refresh after an action), the
fields support cares about are compared and each difference is kept in ``observed_changes``.
The customer's history merges them with srm's audit. Called by ``records.upsert`` in the
caller's transaction, before the new copies are written; a first copy records nothing.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from srm_tui.storage.payload import decode_raw

# Entity -> (cache column, the API's field name) compared between copies.
WATCHED: dict[str, tuple[tuple[str, str], ...]] = {
    "subscriptions": (
        ("customer_id", "customerId"),
        ("status", "status"),
        ("date_to", "dateTo"),
        ("in_trial", "inTrial"),
        ("coupon_code", "couponCode"),
        ("offer_id", "offerId"),
    ),
    "passes": (
        ("customer_id", "customerId"),
        ("status", "status"),
        ("expires_at", "expiresAt"),
        ("offer_id", "offerId"),
    ),
}


def _imported(raw: Any) -> bool:
    """Whether a stored record is a copy an import made (``_srm.source`` is ``import``)."""
    mark = decode_raw(raw).get("_srm")
    return isinstance(mark, dict) and mark.get("source") == "import"


def record_changes(
    conn: sqlite3.Connection, entity: str, columns: Sequence[str], rows: Sequence[tuple], now: int
) -> int:
    """Compare new rows with the cached ones; write one row per changed field."""
    watched = WATCHED.get(entity)
    if not watched or not rows:
        return 0
    names = [c for c, _ in watched]
    at = {c: columns.index(c) for c in names}
    key_at = columns.index("id")
    written = 0
    for start in range(0, len(rows), 500):
        chunk = rows[start : start + 500]
        keys = [r[key_at] for r in chunk]
        marks = ",".join("?" * len(keys))
        # A copy an import made (marked `_srm.source = import`) is not the API's: replacing
        # it with the API's first copy is no change the API made (a stopped pass the Pass
        # report calls terminated), and neither is a later export rewriting it.
        # The stored copy is decoded only for a record whose watched fields changed.
        old = {
            r[0]: tuple(r[1:])
            for r in conn.execute(
                f"SELECT id, {', '.join(names)}, raw FROM {entity} WHERE id IN ({marks})", keys
            )
        }
        out: list[tuple[Any, ...]] = []
        for row in chunk:
            before = old.get(row[key_at])
            if before is None:
                continue
            if all(before[i] == row[at[c]] for i, c in enumerate(names)) or _imported(before[-1]):
                continue
            for i, (column, field) in enumerate(watched):
                after = row[at[column]]
                if before[i] != after:
                    owners = {before[0], row[at["customer_id"]]}  # a transfer: both see it
                    out += [
                        (
                            owner,
                            entity,
                            str(row[key_at]),
                            field,
                            None if before[i] is None else str(before[i]),
                            None if after is None else str(after),
                            now,
                        )
                        for owner in owners
                    ]
        if out:
            conn.executemany(
                "INSERT INTO observed_changes (customer_id, entity, record_key, field, before, "
                "after, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                out,
            )
            written += len(out)
    return written


def for_customer(conn: sqlite3.Connection, customer_id: int, limit: int = 500) -> list[sqlite3.Row]:
    """A customer's observed changes, newest first."""
    return conn.execute(
        "SELECT id, entity, record_key, field, before, after, seen_at FROM observed_changes "
        "WHERE customer_id = ? ORDER BY seen_at DESC, id DESC LIMIT ?",
        (customer_id, limit),
    ).fetchall()

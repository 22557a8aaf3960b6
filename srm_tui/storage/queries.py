"""Read queries for the console and the CLI: every value bound as a parameter."""

from __future__ import annotations

import sqlite3
from typing import Any

# Sortable list columns -> SQL expression (each backed by an index ending in id).
SORT_COLUMNS = {
    "email": "email_lc",
    "id": "id",
    "registered_at": "registered_at",
    "last_login_at": "last_login_at",
    "transactions": "transactions",
    "last_payment_method": "last_payment_method",
}

SUMMARY_COLUMNS = (
    "id",
    "email",
    "first_name",
    "last_name",
    "country",
    "currency",
    "registered_at",
    "last_login_at",
    "transactions",
    "last_payment_method",
)


def customer_count(conn: sqlite3.Connection) -> int:
    """How many customers are cached: the trigger-kept counter (schema V5), not a scan."""
    row = conn.execute("SELECT n FROM row_counts WHERE name = 'customers'").fetchone()
    if row is None:  # pragma: no cover - every migrated cache has the row
        return conn.execute("SELECT count(*) FROM customers").fetchone()[0]
    return row[0]


def customer_window(
    conn: sqlite3.Connection,
    *,
    sort: str = "id",
    descending: bool = False,
    offset: int = 0,
    limit: int = 100,
    total: int | None = None,
) -> list[sqlite3.Row]:
    """Rows [offset, offset + limit) of the customer list in the given order.

    Near the end it reads the index backwards, so jumping to the last page of a million
    customers costs what the first page does.
    """
    if sort not in SORT_COLUMNS:
        raise ValueError(f"cannot sort by {sort!r}")
    expr = SORT_COLUMNS[sort]
    cols = ", ".join(SUMMARY_COLUMNS)
    total = customer_count(conn) if total is None else total
    limit = max(0, min(limit, total - offset))
    if limit == 0:
        return []
    from_end = total - (offset + limit)
    if from_end < offset:
        direction = "ASC" if descending else "DESC"
        rows = conn.execute(
            f"SELECT {cols} FROM customers ORDER BY {expr} {direction}, id {direction} "
            "LIMIT ? OFFSET ?",
            (limit, from_end),
        ).fetchall()
        return rows[::-1]
    direction = "DESC" if descending else "ASC"
    return conn.execute(
        f"SELECT {cols} FROM customers ORDER BY {expr} {direction}, id {direction} "
        "LIMIT ? OFFSET ?",
        (limit, offset),
    ).fetchall()


def summary(row: sqlite3.Row | dict[str, Any]) -> dict[str, Any]:
    """A customer summary (search results, list rows, CSV) with ISO 8601 UTC instants."""
    from datetime import datetime, timezone

    def iso(ts: int | None) -> str | None:
        if ts is None:
            return None
        return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    out = {k: row[k] for k in SUMMARY_COLUMNS}
    out["registered_at"] = iso(out["registered_at"])
    out["last_login_at"] = iso(out["last_login_at"])
    return out


def account_records(conn: sqlite3.Connection, customer_id: int) -> dict[str, Any] | None:
    """The cached account in the API's shapes, ``history`` the vendor's change records: what
    the account view (``domain.account``) reads."""
    from srm_tui.storage.records import decode_raw, raw_records

    row = conn.execute("SELECT raw FROM customers WHERE id = ?", (customer_id,)).fetchone()
    if row is None:
        return None
    out: dict[str, Any] = {"customer": decode_raw(row[0])}
    for entity in (
        "subscriptions",
        "passes",
        "transactions",
        "payment_details",
        "emails",
        "notes",
        "history",
    ):
        # derived: a subscription's period and a pass's createdAt where the vendor's record
        # has none (CONTRACT section 5), as the account view reads them.
        out[entity] = raw_records(conn, entity, customer_id, derived=True)
    return out


def customer_record(
    conn: sqlite3.Connection, customer_id: int, now: int | None = None
) -> dict[str, Any] | None:
    """The whole cached account (``srm customer show``): the records in the API's shapes and
    ``history``, the merged history the console's History tab shows (``storage.history``),
    newest first, each entry ``{at, kind, text, ref}``; an entry drawn from one of the
    vendor's change records carries it whole under ``record``."""
    from datetime import datetime, timezone

    from srm_tui.storage.history import customer_history

    out = account_records(conn, customer_id)
    if out is None:
        return None
    vendor = {str(h.get("id")): h for h in out["history"]}
    merged = []
    for e in customer_history(conn, customer_id, out, now):
        entry: dict[str, Any] = {
            "at": datetime.fromtimestamp(e.at, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "kind": e.kind,
            "text": e.text,
            "ref": e.ref,
        }
        if e.kind == "change" and e.ref in vendor:
            entry["record"] = vendor[e.ref]
        merged.append(entry)
    out["history"] = merged
    return out


def offers(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Cached offers in the API's 3.1 shape, each with its localizations."""
    from srm_tui.storage.records import decode_raw

    return [decode_raw(r[0]) for r in conn.execute("SELECT raw FROM offers ORDER BY id")]


def offer_holders(conn: sqlite3.Connection, now: int) -> dict[str, int]:
    """Customers with current access per main offer id (subscriptions in trial, active,
    grace or cancelled, and active passes)."""
    counts: dict[str, int] = {}
    for row in conn.execute(
        """
        SELECT offer, count(DISTINCT customer_id) FROM (
            SELECT substr(offer_id, 1, 10) AS offer, customer_id FROM subscriptions
            WHERE status = 'active' OR (status = 'stopped' AND date_to >= :now)
            UNION ALL
            SELECT substr(offer_id, 1, 10), customer_id FROM passes
            WHERE status = 'active' AND (expires_at IS NULL OR expires_at >= :now)) AS held
        GROUP BY offer
        """,
        {"now": now},
    ):
        counts[row[0]] = row[1]
    return counts


_HOLDERS = """
    SELECT customer_id FROM subscriptions
    WHERE offer_id >= :lo AND offer_id < :hi
      AND (status = 'active' OR (status = 'stopped' AND date_to >= :now))
    UNION
    SELECT customer_id FROM passes
    WHERE offer_id >= :lo AND offer_id < :hi AND status = 'active'
      AND (expires_at IS NULL OR expires_at >= :now)
"""


def _offer_range(offer_id: str, now: int) -> dict[str, Any]:
    # Every long id of the offer sorts between "S123456789_" and "S123456789`" ('`' follows '_').
    return {"lo": f"{offer_id}_", "hi": f"{offer_id}`", "now": now}


def offer_holder_ids(conn: sqlite3.Connection, offer_id: str, now: int) -> list[int]:
    """Customers with current access to one offer (any of its country versions), by id."""
    return [
        r[0]
        for r in conn.execute(
            f"SELECT customer_id FROM ({_HOLDERS}) AS held ORDER BY 1", _offer_range(offer_id, now)
        )
    ]


def customer_rows(conn: sqlite3.Connection, ids: list[int]) -> list[sqlite3.Row]:
    """Customer list rows for the given ids, in that order."""
    if not ids:
        return []
    cols = ", ".join(SUMMARY_COLUMNS)
    marks = ",".join("?" * len(ids))
    rows = {
        r["id"]: r for r in conn.execute(f"SELECT {cols} FROM customers WHERE id IN ({marks})", ids)
    }
    return [rows[i] for i in ids if i in rows]

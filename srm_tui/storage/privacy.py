"""Forgetting an anonymized customer: no personal value of theirs stays in the cache file.

After the API confirms an anonymization, the customer's personal values are removed from
every place the cache may hold them: the customer row and its raw record, the search index
(a contentless FTS5 table keeps deleted terms in old segments until they are merged, so the
index is optimized), emails, change history, payment details, notes that quote them, the
audit log, outbox, webhook and quarantine payloads, and derived copies (segment facts).
``secure_delete`` (set on every connection) overwrites freed content, and a truncating WAL
checkpoint drops the old pages the write-ahead log still holds.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import Any

from srm_tui.storage import exports, payload, records
from srm_tui.storage.cache import Cache
from srm_tui.storage.db import SQLITE, Dialect

MARKER = "[anonymized]"
CUSTOMER_FIELDS = ("email", "firstName", "lastName", "lastUserIp", "externalId", "externalData")
# Fields whose values the change history must not keep (the API's list).
PERSONAL_FIELDS = frozenset(
    {
        "email",
        "firstName",
        "lastName",
        "lastUserIp",
        "externalId",
        "externalData",
        "companyName",
        "address",
        "city",
        "state",
        "postCode",
        "birthDate",
    }
)
CUSTOMER_COLUMNS = (
    "email",
    "email_lc",
    "first_name",
    "last_name",
    "external_id",
    "external_data",
    "address",
    "city",
    "state",
    "post_code",
    "birth_date",
    "company",
)
# Shorter values are replaced only where a whole text equals them ("Al" inside "Also" stays).
MIN_SUBSTRING = 3


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield str(value)


def _raw(conn: sqlite3.Connection, table: str, customer_id: int) -> list[tuple[Any, dict]]:
    return [
        (r[0], records.decode_raw(r[1]))
        for r in conn.execute(f"SELECT id, raw FROM {table} WHERE customer_id = ?", (customer_id,))
    ]


def personal_values(conn: sqlite3.Connection, customer_id: int) -> set[str]:
    """Every personal value the cache holds for a customer (collect before anonymizing)."""
    values: set[str] = set()
    row = conn.execute("SELECT raw FROM customers WHERE id = ?", (customer_id,)).fetchone()
    if row:
        customer = records.decode_raw(row[0])
        for name in CUSTOMER_FIELDS:
            values.update(_strings(customer.get(name)))
        values.update(_strings(customer.get("capture") or {}))
    for _, entry in _raw(conn, "history", customer_id):
        for change in entry.get("changes") or []:
            if change.get("field") in PERSONAL_FIELDS:
                values.update(_strings([change.get("from"), change.get("to")]))
    for _, email in _raw(conn, "emails", customer_id):
        values.update(_strings(email.get("to")))
    for _, details in _raw(conn, "payment_details", customer_id):
        params = details.get("paymentMethodSpecificParams") or {}
        values.update(_strings(params.get("holderName")))
    return {v.strip() for v in values if v and v.strip()}


class Scrubber:
    """Replaces personal values inside text and JSON with a marker."""

    def __init__(self, values: Iterable[str]):
        self.values = sorted({v for v in values if v}, key=len, reverse=True)
        self.long = [v for v in self.values if len(v) >= MIN_SUBSTRING]
        # How a value looks in stored text: as is, and inside JSON (escaped, \\uXXXX).
        forms = {
            n
            for v in self.long
            for n in (v, json.dumps(v)[1:-1], json.dumps(v, ensure_ascii=False)[1:-1])
        }
        self.needles = sorted(forms, key=len, reverse=True)

    def text(self, value: str) -> str:
        if value in self.values:
            return MARKER
        for v in self.long:
            if v in value:
                value = value.replace(v, MARKER)
        return value

    def json(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.json(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.json(v) for v in value]
        return value

    def stored(self, text: str | None) -> str | None:
        """A stored JSON (or plain) text with the values replaced; unchanged text as is."""
        if not text:
            return text
        try:
            parsed = json.loads(text)
        except ValueError:
            out = text
            for needle in self.needles:
                out = out.replace(needle, MARKER)
            return self.text(out)
        cleaned = self.json(parsed)
        if cleaned == parsed:
            return text
        return json.dumps(cleaned, ensure_ascii=False, separators=(",", ":"))

    def found_in(self, text: str | None) -> bool:
        return bool(text) and any(n in text for n in self.needles)


def _mentions_customer(value: Any, customer_id: int) -> bool:
    if isinstance(value, dict):
        if value.get("customerId") == customer_id or value.get("id") == customer_id:
            return True
        return any(_mentions_customer(v, customer_id) for v in value.values())
    if isinstance(value, list):
        return any(_mentions_customer(v, customer_id) for v in value)
    return False


def _anonymize_rows(tx: sqlite3.Connection, customer_id: int) -> None:
    """The customer's own records as the API shapes an anonymized account."""
    row = tx.execute("SELECT raw FROM customers WHERE id = ?", (customer_id,)).fetchone()
    if row:
        customer = records.decode_raw(row[0])
        customer.update({name: None for name in CUSTOMER_FIELDS})
        customer["capture"] = {name: None for name in (customer.get("capture") or {})}
        records.unindex_customers(tx, [customer_id])
        tx.execute(
            f"UPDATE customers SET {', '.join(f'{c} = NULL' for c in CUSTOMER_COLUMNS)}, "
            "anonymized = 1, raw = ? WHERE id = ?",
            (payload.encode("customers", customer), customer_id),
        )
        records.index_customers(tx, [customer_id])
    for key, email in _raw(tx, "emails", customer_id):
        if email.get("to") is not None or email.get("body") is not None:
            email.update(to=None, body=None)
            tx.execute(
                "UPDATE emails SET raw = ? WHERE id = ?", (payload.encode("emails", email), key)
            )
    for key, entry in _raw(tx, "history", customer_id):
        changes = entry.get("changes") or []
        if any(c.get("field") in PERSONAL_FIELDS for c in changes):
            entry["changes"] = [
                dict(c, **{"from": None, "to": None}) if c.get("field") in PERSONAL_FIELDS else c
                for c in changes
            ]
            tx.execute(
                "UPDATE history SET raw = ? WHERE id = ?", (payload.encode("history", entry), key)
            )
    for key, details in _raw(tx, "payment_details", customer_id):
        params = details.get("paymentMethodSpecificParams") or {}
        if params.get("holderName") is not None:
            details["paymentMethodSpecificParams"] = dict(params, holderName=None)
            tx.execute(
                "UPDATE payment_details SET raw = ? WHERE id = ?",
                (payload.encode("payment_details", details), key),
            )


def _drop_derived(tx: sqlite3.Connection, customer_id: int) -> None:
    """Copies derived from the customer's records (segment facts hold casefolded names and
    emails) go; they are computed again from the anonymized rows before a segment runs."""
    from srm_tui.storage.facts import forget_customers

    forget_customers(tx, [customer_id])


def _scrub_table(
    tx: sqlite3.Connection,
    scrub: Scrubber,
    table: str,
    columns: tuple[str, ...],
    where: str = "",
    params: tuple = (),
) -> int:
    changed = 0
    rows = tx.execute(f"SELECT id, {', '.join(columns)} FROM {table} {where}", params).fetchall()
    for row in rows:
        new = [scrub.stored(row[c]) for c in columns]
        if new != [row[c] for c in columns]:
            tx.execute(
                f"UPDATE {table} SET {', '.join(f'{c} = ?' for c in columns)} WHERE id = ?",
                (*new, row["id"]),
            )
            changed += 1
    return changed


def _scrub_unkeyed(
    tx: sqlite3.Connection,
    scrub: Scrubber,
    table: str,
    column: str,
    customer_id: int,
    dialect: Dialect = SQLITE,
) -> None:
    """Rows not keyed by customer (webhook deliveries, quarantine): those about this one."""
    needles = [str(customer_id)] + scrub.needles
    clause = " OR ".join(dialect.contains(column, "?") for _ in needles)
    for row in tx.execute(f"SELECT id, {column} FROM {table} WHERE {clause}", needles).fetchall():
        text = row[column]
        try:
            about = _mentions_customer(json.loads(text), customer_id)
        except ValueError:
            about = False
        if not (about or scrub.found_in(text)):
            continue
        cleaned = scrub.stored(text)
        if about:
            try:  # a delivery or a record about this customer: keep only its shape
                cleaned = _dumps(_redact(json.loads(cleaned or "null")))
            except ValueError:
                cleaned = MARKER
        if cleaned != text:
            tx.execute(f"UPDATE {table} SET {column} = ? WHERE id = ?", (cleaned, row["id"]))


def _redact(value: Any) -> Any:
    """Strings become the marker; ids, numbers, booleans and the structure stay."""
    if isinstance(value, str):
        return MARKER
    if isinstance(value, dict):
        return {k: _redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return value


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def forget_customer(cache: Cache, customer_id: int, values: Iterable[str] = ()) -> list[str]:
    """Remove every personal value of an anonymized customer from the cache file.

    ``values`` are the personal values collected before the API anonymized the customer
    (a refresh from the API has replaced the customer's own records by then); the ones the
    cache still holds are added. Returns the export files srm wrote earlier that still hold
    any of the values (srm does not touch the agent's files; the agent is told of them).
    """
    conn = cache.conn()
    everything = set(values) | personal_values(conn, customer_id)
    scrub = Scrubber(everything)
    sqlite = cache.dialect.name == "sqlite"
    with cache.transaction(vendor=True) as tx:
        _anonymize_rows(tx, customer_id)
        _drop_derived(tx, customer_id)
        for key, note in _raw(tx, "notes", customer_id):
            cleaned = scrub.json(note)
            if cleaned != note:
                tx.execute(
                    "UPDATE notes SET raw = ? WHERE id = ?", (payload.encode("notes", cleaned), key)
                )
        _scrub_table(
            tx,
            scrub,
            "audit",
            ("before", "after", "detail"),
            "WHERE customer_id = ?",
            (customer_id,),
        )
        _scrub_table(
            tx,
            scrub,
            "outbox",
            ("payload", "base", "response", "last_error"),
            "WHERE customer_id = ?",
            (customer_id,),
        )
        _scrub_unkeyed(tx, scrub, "webhook_events", "data", customer_id, cache.dialect)
        _scrub_unkeyed(tx, scrub, "quarantine", "payload", customer_id, cache.dialect)
        if sqlite:
            # Merge every segment of the search index, so the deleted terms are really gone
            # (PostgreSQL's search documents are plain rows, replaced above).
            tx.execute("INSERT INTO customers_fts (customers_fts) VALUES ('optimize')")
    if sqlite:
        # (PostgreSQL keeps old row versions until VACUUM reuses their space, and its WAL
        # is the server's: nothing a client can truncate.)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return exports.files_holding(cache, everything)

"""One batch of imported rows: converted, merged with the cache, validated, written.

Rows become dicts in the API's shape and go through the sync's parsing path
(``srm_tui.sync.parse.validate``, ``srm_tui.storage.records.upsert``). A row is all or
nothing: when its record or its customer is invalid, the row is quarantined with FILE:LINE
and its reason and nothing of it is written. Merging with what the cache holds:

- the vendor is the truth: a cached record (transaction, subscription, pass) that came from
  the API (a sync, fetch, webhook or action refresh wrote it) is only ever completed: the
  export adds the keys the API's copy lacks (the vendor publishes no nextPaymentPrice, for
  one) and never replaces a value the API gave, so an older export cannot undo a newer
  change (only what srm guessed for it, a webhook transaction's date or status, is
  corrected). A record an import inserted carries ``"_srm": {"source": "import"}`` in its raw
  copy (any API write replaces the raw copy and so drops it); such a record takes a later
  export's values over its own, but an empty cell never erases a value, and fields the
  export lacks stay;
- a customer is only ever completed: new customers are inserted, cached ones get only the
  fields they lack, and an anonymized one is left alone (an old export must not bring its
  personal data back);
- a record or customer that would not change is not written at all, so importing the same
  data again changes nothing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from srm_tui.imports import churniq, ids
from srm_tui.imports.values import Clock
from srm_tui.storage import records
from srm_tui.sync.parse import validate

if TYPE_CHECKING:
    from srm_tui.imports.runner import FilePlan
    from srm_tui.storage.cache import Cache

_PERSONAL = ("email", "firstName", "lastName")
# Marks, in a record's raw copy, that an import (not the API) wrote it.
SOURCE_KEY = "_srm"
IMPORTED = {"source": "import"}


class Batch:
    """Rows read from one file, converted and waiting to be written together."""

    def __init__(self, plan: FilePlan, tz: str, cache: Cache, now: int):
        self.plan = plan
        self.rows = 0
        self.customers_written: list[int] = []  # set by write_batch
        # (line, record or None, customer, cells)
        self.items: list[tuple[int, dict[str, Any] | None, dict[str, Any], Any]] = []
        self.emails: list[tuple[int, str]] = []
        self.bad_rows: list[tuple[int, str, Any, str | None]] = []  # line, reason, cells, key
        if plan.layout is not None:
            self._convert = churniq.converter(plan.layout, Clock(tz))
            self._width = plan.layout.width
            self._key = plan.layout.report.key

    def __len__(self) -> int:
        return self.rows

    def bad(self, line: int, reason: str, cells: Any, key: str | None = None) -> None:
        self.rows += 1
        self.bad_rows.append((line, reason, cells, key))

    def add(self, line: int, item: Any) -> None:
        """Convert one row (CSV cells, or a line of an id list)."""
        if self.plan.layout is None:
            self._add_id(line, item)
            return
        row: list[str] = item
        if not row or (len(row) == 1 and not row[0].strip()):
            self.rows += 1
            return  # a blank line
        if len(row) < self._width:
            self.bad(line, f"truncated row: {len(row)} of {self._width} columns", row)
            return
        if len(row) > self._width and any(c.strip() for c in row[self._width :]):
            self.bad(line, f"{len(row)} columns, the header has {self._width}", row)
            return
        try:
            rec, cust = self._convert(row)
        except ValueError as exc:
            self.bad(line, str(exc), row, _key_of(self.plan, row))
            return
        self.rows += 1
        self.items.append((line, rec, cust, row))

    def _add_id(self, line: int, text: str) -> None:
        try:
            parsed = ids.parse_line(text)
        except ValueError as exc:
            self.bad(line, str(exc), text.rstrip("\r\n"))
            return
        self.rows += 1
        if parsed is None:
            return
        kind, value = parsed
        if kind == "id":
            self.items.append((line, None, {"id": value}, text.rstrip("\r\n")))
        else:
            self.emails.append((line, str(value)))


def _key_of(plan: FilePlan, row: Sequence[str]) -> str | None:
    """The main record's id as the row writes it (for the quarantine entry)."""
    assert plan.layout is not None
    for i, col in plan.layout.known:
        if col.field == plan.layout.report.key and i < len(row):
            return row[i].strip() or None
    return None


def _customer_of(plan: FilePlan, cells: Any) -> int | None:
    """The customer a bad row names, when it names one readably."""
    text: Any = cells if isinstance(cells, str) else None
    if plan.layout is not None and isinstance(cells, list):
        text = next(
            (
                cells[i]
                for i, col in plan.layout.known
                if col.field == "customerId" and i < len(cells)
            ),
            None,
        )
    text = text.strip() if isinstance(text, str) else ""
    return int(text) if text.isascii() and text.isdigit() and int(text) > 0 else None


def _fetch_raw(tx: sqlite3.Connection, table: str, keys: Iterable[Any]) -> dict[Any, dict]:
    keys = list(dict.fromkeys(keys))
    out: dict[Any, dict] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for key, raw in tx.execute(f"SELECT id, raw FROM {table} WHERE id IN ({marks})", chunk):
            out[key] = records.decode_raw(raw)
    return out


def merge_record(base: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """The export's values over a cached record; an empty cell never erases a value."""
    out = dict(base)
    for k, value in new.items():
        old = out.get(k)
        if value is None and old is not None:
            continue
        if isinstance(value, dict) and isinstance(old, dict):
            out[k] = {**old, **value}
        else:
            out[k] = value
    return out


def from_import(record: dict[str, Any]) -> bool:
    """Whether a cached record was written by an import (else the API gave it)."""
    mark = record.get(SOURCE_KEY)
    return isinstance(mark, dict) and mark.get("source") == "import"


# Values srm itself put in an API record (a webhook transaction's date from its receipt, its
# status read from the topic): the mark in ``_srm`` -> the key an export may correct.
_GUESSED = {"dateFromReceipt": "transactionDate", "statusAssumed": "status"}


def complete_record(base: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """An API record with only the keys it lacks taken from the export (never a value the
    API gave, not even a null: the vendor said it), and the values srm guessed for it
    replaced by the export's."""
    out = dict(base)
    for k, value in new.items():
        if k not in out and k != SOURCE_KEY and value is not None:
            out[k] = value
    mark = base.get(SOURCE_KEY)
    if isinstance(mark, dict):
        left = dict(mark)
        for flag, key in _GUESSED.items():
            if mark.get(flag) and new.get(key) is not None:
                out[key] = new[key]
                left.pop(flag)
        if left:
            out[SOURCE_KEY] = left
        else:
            out.pop(SOURCE_KEY)
    return out


def anonymized(customer: dict[str, Any]) -> bool:
    """A customer the API anonymized: its personal fields are there, and all null (a bare
    customer from an id list has none of them at all)."""
    return all(k in customer and customer[k] is None for k in _PERSONAL)


def fill_customer(base: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``base`` with only the fields it lacks taken from ``new``."""
    out = dict(base)
    for k, value in new.items():
        if value is not None and out.get(k) is None:
            out[k] = value
    return out


def _customers(
    tx: sqlite3.Connection, items: list, cached: dict[int, dict]
) -> tuple[dict[int, dict], dict[int, list[int]]]:
    """Each customer's merged payload from the rows in order, and the rows behind it."""
    merged: dict[int, dict] = {}
    lines: dict[int, list[int]] = {}
    for line, _rec, cust, _cells in items:
        cid = cust["id"]
        lines.setdefault(cid, []).append(line)
        base = merged.get(cid)
        if base is None:
            base = cached.get(cid)
            if base is None:
                merged[cid] = cust
                continue
        if cid in cached and anonymized(cached[cid]):
            merged[cid] = cached[cid]
            continue
        merged[cid] = fill_customer(base, cust)
    return merged, lines


def _mains(entity: str, key: str, items: list, cached: dict[Any, dict]) -> list[tuple]:
    """(line, payload) of each row's record merged over the cache and earlier rows."""
    current: dict[Any, dict] = {}
    out = []
    for line, rec, _cust, _cells in items:
        if rec is None:
            continue
        k = rec.get(key)
        base = current.get(k)
        if base is None:
            base = cached.get(k)
        if base is None:
            payload = {**rec, SOURCE_KEY: dict(IMPORTED)}
        elif from_import(base):
            payload = merge_record(base, rec)
        else:
            payload = complete_record(base, rec)
        current[k] = payload
        out.append((line, payload))
    return out


def _changed(record: Any, key: str, cached: dict[Any, dict]) -> bool:
    """Whether a validated record differs from its cached copy (new ones always do)."""
    old = cached.get(getattr(record, key)) if cached else None
    return old is None or old != record.to_api()


def write_batch(tx: sqlite3.Connection, batch: Batch, now: int) -> tuple[dict[str, int], int]:
    """Write a batch inside the caller's transaction; (records written per entity,
    rows quarantined)."""
    plan = batch.plan
    report = plan.layout.report if plan.layout is not None else None
    items = batch.items
    bad: dict[int, str] = {}  # line -> reason
    counts: dict[str, int] = {}
    cached_customers = _fetch_raw(tx, "customers", (i[2]["id"] for i in items))
    main_cache: dict[Any, dict] = {}
    if report is not None and plan.layout.records:  # type: ignore[union-attr]
        main_cache = _fetch_raw(
            tx, report.entity, (i[1].get(report.key) for i in items if i[1] is not None)
        )
    while True:
        good_mains: list = []
        if report is not None:
            pairs = _mains(report.entity, report.key, items, main_cache)
            by_id = {id(p): line for line, p in pairs}
            good_mains, rejects = validate(report.entity, [p for _, p in pairs])
            for _key, reason, payload in rejects:
                bad[by_id[id(payload)]] = reason
            items = [i for i in items if i[0] not in bad]
        merged, lines = _customers(tx, items, cached_customers)
        good_customers, rejects = validate("customers", list(merged.values()))
        if not rejects:
            break
        for _key, reason, payload in rejects:
            cid = payload.get("id") if isinstance(payload, dict) else None
            for line, _rec, cust, _cells in items:
                if cust.get("id") != cid:
                    continue
                _ok, own = validate("customers", [cust])
                if own:
                    bad[line] = own[0][1]
            if not any(line in bad for line in lines.get(cid, [])):
                for line in lines.get(cid, []):
                    bad[line] = reason
        items = [i for i in items if i[0] not in bad]
    changed_mains = [r for r in good_mains if _changed(r, report.key, main_cache)] if report else []
    changed_customers = [c for c in good_customers if _changed(c, "id", cached_customers)]
    touched: list[Any] = []
    if changed_customers:
        touched += records.upsert(tx, "customers", changed_customers, now)
    if changed_mains:
        touched += records.upsert(tx, report.entity, changed_mains, now)  # type: ignore[union-attr]
    if touched:
        records.refresh_customer_stats(tx, touched)
    counts["customers"] = len(changed_customers)
    batch.customers_written = [c.id for c in changed_customers]
    if report is not None:
        counts[report.entity] = len(changed_mains)
    if batch.emails:
        counts["pending_emails"] = _pending_emails(tx, batch, now)
    cells = {i[0]: i[3] for i in batch.items}
    quarantined = _quarantine(
        tx,
        batch,
        [
            *batch.bad_rows,
            *(
                (line, reason, cells[line], _key_of(plan, cells[line]) if report else None)
                for line, reason in sorted(bad.items())
            ),
        ],
        now,
    )
    return counts, quarantined


def _pending_emails(tx: sqlite3.Connection, batch: Batch, now: int) -> int:
    name = batch.plan.source.name
    written = 0
    for line, email in batch.emails:
        folded = email.casefold()
        known = tx.execute(
            "SELECT id FROM customers WHERE email_lc = ? ORDER BY id LIMIT 1", (folded,)
        ).fetchone()
        written += tx.execute(
            "INSERT INTO import_pending_emails (email, source, added_at, "
            "customer_id, resolved_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (folded, f"{name}:{line}", now, known[0] if known else None, now if known else None),
        ).rowcount
    return written


def _labels(header: list[str]) -> list[str]:
    """Unique names for a header's cells (the vendor repeats some source names)."""
    out: list[str] = []
    for i, cell in enumerate(header):
        base = cell.strip() or f"column {i + 1}"
        label, n = base, 2
        while label in out:
            label, n = f"{base} ({n})", n + 1
        out.append(label)
    return out


def _quarantine(tx: sqlite3.Connection, batch: Batch, rows: list[tuple], now: int) -> int:
    """Keep bad rows with FILE:LINE and the reason (once: the same row of the same file
    quarantined again, e.g. read with another --tz, updates its entry)."""
    plan = batch.plan
    entity = plan.layout.report.entity if plan.layout is not None else "customers"
    labels = _labels(plan.header)
    count = 0
    for line, reason, cells, key in rows:
        where = f"{plan.source.name}:{line}"
        if isinstance(cells, list):
            shown: Any = {
                (labels[i] if i < len(labels) else f"column {i + 1}"): c
                for i, c in enumerate(cells)
            }
        else:
            shown = cells
        entry: dict[str, Any] = {
            "file": plan.source.name,
            "sha256": plan.source.sha256,
            "line": line,
            "row": shown,
        }
        owner = _customer_of(plan, cells)
        if owner is not None:  # anonymizing this customer then scrubs the row too
            entry["customerId"] = owner
        payload = json.dumps(entry, ensure_ascii=False)
        text = f"{where}: {reason}"
        count += 1
        if tx.execute(
            "UPDATE quarantine SET received_at = ? WHERE resolved_at IS NULL AND "
            "source = 'import' AND entity = ? AND reason = ? AND payload = ?",
            (now, entity, text, payload),
        ).rowcount:
            continue
        tx.execute(
            "INSERT INTO quarantine (entity, record_key, source, reason, payload, "
            "received_at) VALUES (?, ?, 'import', ?, ?, ?)",
            (entity, key, text, payload, now),
        )
    return count

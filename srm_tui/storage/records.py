"""Writing validated API records into the cache, and reading them back in the API's shape.

Each entity has a row mapper (model -> column values, the whole record kept as ``raw`` JSON)
and one parameterised upsert. Callers run these inside ``Cache.transaction()``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from srm_tui.domain import models as m
from srm_tui.domain.fold import fold


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _customer(c: m.Customer, raw: str, now: int) -> tuple:
    cap = c.capture or m.Capture()
    return (
        c.id, c.email, c.email.casefold() if c.email else None, c.firstName, c.lastName,
        c.country, c.currency, c.locale, c.registered_at, c.last_login_at,
        c.externalId, _dumps(c.externalData),
        cap.address, cap.city, cap.state, cap.postCode, cap.birthDate, cap.companyName,
        int(c.email is None and c.firstName is None and c.lastName is None), raw, now,
    )


def _subscription(s: m.Subscription, raw: str, now: int) -> tuple:
    renewals = s.renewalCycle.completed if s.renewalCycle else 0
    return (
        s.subscriptionId, s.customerId, s.offerId, s.status, s.dateFrom, s.dateTo,
        int(s.inTrial), s.createdAt, s.period, s.nextPaymentPrice, s.nextPaymentCurrency,
        s.paymentGateway, s.paymentMethod, s.couponCode, renewals,
        _dumps(s.externalProperties), raw, now,
    )


def _pass(p: m.Pass, raw: str, now: int) -> tuple:
    return (p.passId, p.customerId, p.offerId, p.offer_type, p.status, p.createdAt,
            p.expiresAt, raw, now)


def _transaction(t: m.Transaction, raw: str, now: int) -> tuple:
    return (
        t.transactionId, t.customerId, t.transactionDate, t.offerId, t.subscriptionId,
        t.passId, t.amount, t.currency, t.status, t.paymentGateway, t.paymentMethod,
        t.externalPaymentId, t.rejectedReason, t.refundedAmount or 0.0, raw, now,
    )


def _payment_details(p: m.PaymentDetails, raw: str, now: int) -> tuple:
    params = p.paymentMethodSpecificParams or {}
    return (
        p.id, p.customerId, p.paymentGateway, p.paymentMethod, int(p.active),
        params.get("variant"), params.get("lastCardFourDigits"),
        params.get("cardExpirationDate"), raw, now,
    )


def _email(e: m.Email, raw: str, now: int) -> tuple:
    return (e.id, e.customerId, e.type, e.status, e.createdAt, raw, now)


def _note(n: m.Note, raw: str, now: int) -> tuple:
    return (n.id, n.customerId, n.author, n.createdAt, n.updatedAt, n.deletedAt, raw, now)


def _history(h: m.HistoryEntry, raw: str, now: int) -> tuple:
    return (h.id, h.customerId, h.date, h.editor, raw, now)


def _offer(o: m.Offer, raw: str, now: int) -> tuple:
    price = o.price.amount if o.price else None
    currency = o.price.currency if o.price else None
    return (o.id, o.type, o.title, int(o.active), price, currency, o.version, raw, now)


def _season_group(g: m.SeasonGroup, raw: str, now: int) -> tuple:
    return (g.id, g.name, raw, now)


def _campaign(c: m.Campaign, raw: str, now: int) -> tuple:
    return (c.id, c.name, c.status, raw, now)


_COLUMNS: dict[str, tuple[str, Sequence[str], Callable[..., tuple]]] = {
    "customers": ("id", (
        "id", "email", "email_lc", "first_name", "last_name", "country", "currency", "locale",
        "registered_at", "last_login_at", "external_id", "external_data", "address", "city",
        "state", "post_code", "birth_date", "company", "anonymized", "raw", "synced_at"),
        _customer),
    "subscriptions": ("id", (
        "id", "customer_id", "offer_id", "status", "date_from", "date_to", "in_trial",
        "created_at", "period", "price", "currency", "gateway", "payment_method",
        "coupon_code", "renewals", "external_properties", "raw", "synced_at"), _subscription),
    "passes": ("id", ("id", "customer_id", "offer_id", "offer_type", "status", "created_at",
                      "expires_at", "raw", "synced_at"), _pass),
    "transactions": ("id", (
        "id", "customer_id", "date", "offer_id", "subscription_id", "pass_id", "amount",
        "currency", "status", "gateway", "payment_method", "external_payment_id",
        "rejected_reason", "refunded_amount", "raw", "synced_at"), _transaction),
    "payment_details": ("id", ("id", "customer_id", "gateway", "method", "active", "variant",
                               "last4", "expiry", "raw", "synced_at"), _payment_details),
    "emails": ("id", ("id", "customer_id", "type", "status", "created_at", "raw",
                      "synced_at"), _email),
    "notes": ("id", ("id", "customer_id", "author", "created_at", "updated_at", "deleted_at",
                     "raw", "synced_at"), _note),
    "history": ("id", ("id", "customer_id", "date", "editor", "raw", "synced_at"), _history),
    "offers": ("id", ("id", "type", "title", "active", "price", "currency", "version", "raw",
                      "synced_at"), _offer),
    "season_groups": ("id", ("id", "name", "raw", "synced_at"), _season_group),
    "campaigns": ("id", ("id", "name", "status", "raw", "synced_at"), _campaign),
}

CHILD_ENTITIES = ("subscriptions", "passes", "transactions", "payment_details", "emails",
                  "notes", "history")


def _upsert_sql(table: str) -> str:
    key, cols, _ = _COLUMNS[table]
    updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c != key)
    return (f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
            f"ON CONFLICT({key}) DO UPDATE SET {updates}")


_UPSERT = {table: _upsert_sql(table) for table in _COLUMNS}


def record_key(entity: str, record: Any) -> str | None:
    """The primary key of a raw API record, as text (None when it has none)."""
    _, key_field = m.ENTITIES[entity]
    if isinstance(record, dict) and record.get(key_field) is not None:
        return str(record[key_field])
    return None


def upsert(conn: sqlite3.Connection, entity: str, records: Iterable[m.ApiModel],
           now: int) -> list[Any]:
    """Insert or replace validated records; returns the customer ids they touch."""
    _, _, mapper = _COLUMNS[entity]
    rows = []
    touched: list[Any] = []
    for record in records:
        raw = _dumps(record.to_api())
        row = mapper(record, raw, now)
        rows.append(row)
        customer_id = getattr(record, "customerId", None)
        if entity == "customers":
            touched.append(row[0])
        elif customer_id is not None:
            touched.append(customer_id)
    if entity == "customers":
        unindex_customers(conn, [r[0] for r in rows])
    conn.executemany(_UPSERT[entity], rows)
    if entity == "customers":
        index_customers(conn, [r[0] for r in rows])
    if entity == "offers":
        _write_localizations(conn, records)  # type: ignore[arg-type]
    elif entity == "campaigns":
        for c in records:
            conn.execute("DELETE FROM campaign_codes WHERE campaign_id = ?", (c.id,))  # type: ignore[attr-defined]
            conn.executemany(
                "INSERT OR REPLACE INTO campaign_codes (code, campaign_id) VALUES (?, ?)",
                [(code, c.id) for code in c.couponCodes],  # type: ignore[attr-defined]
            )
    return touched


_FTS_SOURCE = ("SELECT id, email, first_name, last_name, company, address, city, state, "
               "post_code FROM customers WHERE id IN ({})")


def _fts_rows(conn: sqlite3.Connection, ids: Sequence[int]) -> list[tuple]:
    out = []
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for r in conn.execute(_FTS_SOURCE.format(",".join("?" * len(chunk))), chunk):
            out.append((r[0], fold(r[1]), fold(" ".join(p for p in (r[2], r[3]) if p)),
                        fold(r[4]), fold(r[5]), fold(r[6]), fold(r[7]), fold(r[8])))
    return out


def unindex_customers(conn: sqlite3.Connection, ids: Sequence[int]) -> None:
    """Take customers out of the search index (before their row changes or goes)."""
    conn.executemany(
        "INSERT INTO customers_fts (customers_fts, rowid, email, name, company, address, city,"
        " state, post_code) VALUES ('delete', ?, ?, ?, ?, ?, ?, ?, ?)", _fts_rows(conn, ids))


def index_customers(conn: sqlite3.Connection, ids: Sequence[int]) -> None:
    """Put customers' current text into the search index, folded as queries are."""
    conn.executemany(
        "INSERT INTO customers_fts (rowid, email, name, company, address, city, state, "
        "post_code) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", _fts_rows(conn, ids))


def _write_localizations(conn: sqlite3.Connection, offers: Iterable[m.Offer]) -> None:
    for offer in offers:
        conn.execute("DELETE FROM localizations WHERE offer_id = ?", (offer.id,))
        conn.executemany(
            "INSERT OR REPLACE INTO localizations "
            "(id, offer_id, country_code, title, price, currency, active) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (loc.id or f"{offer.id}_{loc.countryCode}", offer.id, loc.countryCode,
                 loc.title, loc.price.amount if loc.price else None,
                 loc.price.currency if loc.price else None, int(loc.active))
                for loc in offer.localizations
            ],
        )


def delete(conn: sqlite3.Connection, entity: str, keys: Iterable[Any]) -> None:
    key, _, _ = _COLUMNS[entity]
    keys = list(keys)
    if entity == "customers":
        unindex_customers(conn, keys)
    conn.executemany(f"DELETE FROM {entity} WHERE {key} = ?", [(k,) for k in keys])


def refresh_customer_stats(conn: sqlite3.Connection, customer_ids: Iterable[int]) -> None:
    """Recompute the list's derived columns (number of transactions, last payment method)."""
    ids = sorted(set(customer_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        conn.execute(
            f"""
            UPDATE customers SET
              transactions = (SELECT count(*) FROM transactions t
                              WHERE t.customer_id = customers.id),
              last_payment_method = (SELECT t.payment_method FROM transactions t
                                     WHERE t.customer_id = customers.id
                                     ORDER BY t.date DESC, t.id DESC LIMIT 1)
            WHERE id IN ({marks})
            """,
            chunk,
        )


def raw_records(conn: sqlite3.Connection, entity: str,
                customer_id: int | None = None) -> list[dict[str, Any]]:
    """Cached records of an entity in the API's shape, ordered by key."""
    key, _, _ = _COLUMNS[entity]
    if customer_id is None:
        cur = conn.execute(f"SELECT raw FROM {entity} ORDER BY {key}")
    else:
        cur = conn.execute(f"SELECT raw FROM {entity} WHERE customer_id = ? ORDER BY {key}",
                           (customer_id,))
    return [json.loads(r[0]) for r in cur]


def count(conn: sqlite3.Connection, entity: str) -> int:
    return conn.execute(f"SELECT count(*) FROM {entity}").fetchone()[0]


ALL_ENTITIES = tuple(_COLUMNS)

"""Writing validated API records into the cache, and reading them back in the API's shape.

Each entity has a row mapper (model -> column values, the whole record kept as ``raw``,
compressed by ``storage.payload``) and one parameterised upsert. Callers run these inside
``Cache.transaction()``. A stored ``raw`` is read back only through ``decode_raw``.

Over 400 lines: one row mapper and upsert per entity, sharing the column lists and the
derived-column refresh that every upsert ends with.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from typing import Any

from srm_tui.domain import models as m
from srm_tui.domain.fold import fold
from srm_tui.storage import observed, payload
from srm_tui.storage.db import POSTGRES, SQLITE
from srm_tui.storage.payload import decode_raw  # the one way a stored raw is read back


def _dumps(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _api_shape(record: m.ApiModel) -> Any:
    """``record.to_api()``, read past pydantic's attribute hook for private and extra names
    (8 us a record, as much as mapping its row): the payload kept at validation, else the
    model's dump."""
    private = record.__pydantic_private__
    source = private.get("_source") if private else None
    return source if source is not None else record.to_api()


def _extra(record: m.ApiModel, name: str) -> Any:
    """An unknown field the record was sent with (None when it has none), read as
    ``getattr(record, name, None)`` reads it for a name the model does not declare."""
    extra = record.__pydantic_extra__
    return extra.get(name) if extra else None


def is_anonymized(payload: dict[str, Any]) -> bool:
    """The API wiped this customer: it sends email and names as null (or empty). A record
    that merely lacks them (a bare id from an import, a partial webhook) is not anonymized."""
    keys = ("email", "firstName", "lastName")
    return all(k in payload for k in keys) and not any(payload.get(k) for k in keys)


def _customer(c: m.Customer, raw: bytes | str, now: int) -> tuple:
    cap = c.capture or m.Capture()
    kept = c.__pydantic_private__.get("_source") if c.__pydantic_private__ else None
    source = kept if isinstance(kept, dict) else c.model_dump(by_alias=True, exclude_unset=True)
    return (
        c.id,
        c.email,
        c.email.casefold() if c.email else None,
        c.firstName,
        c.lastName,
        c.country,
        c.currency,
        c.locale,
        c.registered_at,
        c.last_login_at,
        c.externalId,
        _dumps(c.externalData),
        cap.address,
        cap.city,
        cap.state,
        cap.postCode,
        cap.birthDate,
        cap.companyName,
        int(is_anonymized(source)),
        raw,
        now,
    )


def _subscription(s: m.Subscription, raw: bytes | str, now: int) -> tuple:
    renewals = s.renewalCycle.completed if s.renewalCycle else 0
    return (
        s.subscriptionId,
        s.customerId,
        s.offerId,
        s.status,
        s.dateFrom,
        s.dateTo,
        int(s.inTrial),
        s.started_at,
        s.period,
        s.nextPaymentPrice,
        s.nextPaymentCurrency,
        s.paymentGateway,
        s.paymentMethod,
        s.couponCode,
        renewals,
        _dumps(s.externalProperties),
        raw,
        now,
        int(s.period is None),
        int(s.nextPaymentPrice is None),
        int(s.nextPaymentCurrency is None),
    )


def _pass(p: m.Pass, raw: bytes | str, now: int) -> tuple:
    return (
        p.passId,
        p.customerId,
        p.offerId,
        p.offer_type,
        p.status,
        p.createdAt,
        p.expiresAt,
        raw,
        now,
        int(p.createdAt is None),
    )


def _transaction(t: m.Transaction, raw: bytes | str, now: int) -> tuple:
    offer_period = m.period_word(_extra(t, "offerPeriod"))
    return (
        t.transactionId,
        t.customerId,
        t.transactionDate,
        t.offerId,
        t.subscriptionId,
        t.passId,
        t.amount,
        t.currency,
        t.status,
        t.paymentGateway,
        t.paymentMethod,
        t.externalPaymentId,
        t.rejectedReason,
        t.refundedAmount or 0.0,
        raw,
        now,
        offer_period if offer_period in m.PERIOD_WORDS.values() else None,
    )


def _payment_details(p: m.PaymentDetails, raw: bytes | str, now: int) -> tuple:
    params = p.paymentMethodSpecificParams or {}
    return (
        p.id,
        p.customerId,
        p.paymentGateway,
        p.paymentMethod,
        int(p.active),
        params.get("variant"),
        params.get("lastCardFourDigits"),
        params.get("cardExpirationDate"),
        raw,
        now,
    )


def _email(e: m.Email, raw: bytes | str, now: int) -> tuple:
    return (e.id, e.customerId, e.type, e.status, e.createdAt, raw, now)


def _note(n: m.Note, raw: bytes | str, now: int) -> tuple:
    return (n.id, n.customerId, n.author, n.createdAt, n.updatedAt, n.deletedAt, raw, now)


def _history(h: m.HistoryEntry, raw: bytes | str, now: int) -> tuple:
    return (h.id, h.customerId, h.date, h.editor, raw, now)


def _offer(o: m.Offer, raw: bytes | str, now: int) -> tuple:
    price = o.price.amount if o.price else None
    currency = o.price.currency if o.price else None
    return (
        o.id,
        o.type,
        o.title,
        int(o.active),
        price,
        currency,
        o.version,
        raw,
        now,
        o.billing_period,
    )


def _season_group(g: m.SeasonGroup, raw: bytes | str, now: int) -> tuple:
    return (g.id, g.name, raw, now)


def _campaign(c: m.Campaign, raw: bytes | str, now: int) -> tuple:
    return (c.id, c.name, c.status, raw, now)


_COLUMNS: dict[str, tuple[str, Sequence[str], Callable[..., tuple]]] = {
    "customers": (
        "id",
        (
            "id",
            "email",
            "email_lc",
            "first_name",
            "last_name",
            "country",
            "currency",
            "locale",
            "registered_at",
            "last_login_at",
            "external_id",
            "external_data",
            "address",
            "city",
            "state",
            "post_code",
            "birth_date",
            "company",
            "anonymized",
            "raw",
            "synced_at",
        ),
        _customer,
    ),
    "subscriptions": (
        "id",
        (
            "id",
            "customer_id",
            "offer_id",
            "status",
            "date_from",
            "date_to",
            "in_trial",
            "created_at",
            "period",
            "price",
            "currency",
            "gateway",
            "payment_method",
            "coupon_code",
            "renewals",
            "external_properties",
            "raw",
            "synced_at",
            "period_derived",
            "price_derived",
            "currency_derived",
        ),
        _subscription,
    ),
    "passes": (
        "id",
        (
            "id",
            "customer_id",
            "offer_id",
            "offer_type",
            "status",
            "created_at",
            "expires_at",
            "raw",
            "synced_at",
            "created_derived",
        ),
        _pass,
    ),
    "transactions": (
        "id",
        (
            "id",
            "customer_id",
            "date",
            "offer_id",
            "subscription_id",
            "pass_id",
            "amount",
            "currency",
            "status",
            "gateway",
            "payment_method",
            "external_payment_id",
            "rejected_reason",
            "refunded_amount",
            "raw",
            "synced_at",
            "offer_period",
        ),
        _transaction,
    ),
    "payment_details": (
        "id",
        (
            "id",
            "customer_id",
            "gateway",
            "method",
            "active",
            "variant",
            "last4",
            "expiry",
            "raw",
            "synced_at",
        ),
        _payment_details,
    ),
    "emails": (
        "id",
        ("id", "customer_id", "type", "status", "created_at", "raw", "synced_at"),
        _email,
    ),
    "notes": (
        "id",
        (
            "id",
            "customer_id",
            "author",
            "created_at",
            "updated_at",
            "deleted_at",
            "raw",
            "synced_at",
        ),
        _note,
    ),
    "history": ("id", ("id", "customer_id", "date", "editor", "raw", "synced_at"), _history),
    "offers": (
        "id",
        (
            "id",
            "type",
            "title",
            "active",
            "price",
            "currency",
            "version",
            "raw",
            "synced_at",
            "billing_period",
        ),
        _offer,
    ),
    "season_groups": ("id", ("id", "name", "raw", "synced_at"), _season_group),
    "campaigns": ("id", ("id", "name", "status", "raw", "synced_at"), _campaign),
}

CHILD_ENTITIES = (
    "subscriptions",
    "passes",
    "transactions",
    "payment_details",
    "emails",
    "notes",
    "history",
)


def _upsert_sql(table: str) -> str:
    key, cols, _ = _COLUMNS[table]
    updates = ", ".join(f"{c} = excluded.{c}" for c in cols if c != key)
    return (
        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
        f"ON CONFLICT({key}) DO UPDATE SET {updates}"
    )


_UPSERT = {table: _upsert_sql(table) for table in _COLUMNS}

# A coupon code is one code whatever its ASCII case (SQLite: the key is COLLATE NOCASE;
# PostgreSQL: a unique index on lower(code)); the latest spelling and campaign win.
_CAMPAIGN_CODE_UPSERT = {
    postgres: "INSERT INTO campaign_codes (code, campaign_id) VALUES (?, ?) "
    f"ON CONFLICT({'(lower(code))' if postgres else 'code'}) DO UPDATE SET "
    "code = excluded.code, campaign_id = excluded.campaign_id"
    for postgres in (False, True)
}


def record_key(entity: str, record: Any) -> str | None:
    """The primary key of a raw API record, as text (None when it has none)."""
    _, key_field = m.ENTITIES[entity]
    if isinstance(record, dict) and record.get(key_field) is not None:
        return str(record[key_field])
    return None


def upsert(
    conn: sqlite3.Connection, entity: str, records: Iterable[m.ApiModel], now: int
) -> list[Any]:
    """Insert or replace validated records; returns the customer ids they touch."""
    _, _, mapper = _COLUMNS[entity]
    rows = []
    touched: list[Any] = []
    for record in records:
        row = mapper(record, payload.encode(entity, _api_shape(record)), now)
        rows.append(row)
        customer_id = getattr(record, "customerId", None)
        if entity == "customers":
            touched.append(row[0])
        elif customer_id is not None:
            touched.append(customer_id)
    if entity in observed.WATCHED:  # what changed since the cached copy, for the history
        observed.record_changes(conn, entity, _COLUMNS[entity][1], rows, now)
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
                _CAMPAIGN_CODE_UPSERT[is_postgres(conn)],
                [(code, c.id) for code in c.couponCodes],  # type: ignore[attr-defined]
            )
    derive_after_upsert(conn, entity, [r[0] for r in rows], touched)
    return touched


# For a bulk load into an empty cache (the sandbox's seeding): the same rows and statements
# as ``upsert``, built apart from the connection (in worker processes) and written in order.
def row_values(entity: str, items: Iterable[m.ApiModel], now: int) -> list[tuple]:
    """The column values ``upsert`` writes for validated records, ``raw`` included."""
    _, _, mapper = _COLUMNS[entity]
    return [mapper(record, payload.encode(entity, _api_shape(record)), now) for record in items]


def columns(entity: str) -> tuple[str, ...]:
    """The columns ``row_values`` gives, in its order."""
    return _COLUMNS[entity][1]


def upsert_sql(entity: str) -> str:
    """The statement ``upsert`` writes ``row_values`` with."""
    return _UPSERT[entity]


_CUSTOMER_AT = {name: i for i, name in enumerate(_COLUMNS["customers"][1])}


def search_values(row: tuple) -> tuple:
    """A customers row of ``row_values`` as ``index_customers`` puts it in the search index."""
    at = _CUSTOMER_AT
    names = (row[at["first_name"]], row[at["last_name"]])
    return (
        row[at["id"]],
        fold(row[at["email"]]),
        fold(" ".join(p for p in names if p)),
        *(fold(row[at[c]]) for c in ("company", "address", "city", "state", "post_code")),
    )


def is_postgres(conn: Any) -> bool:
    """Whether ``conn`` is the team store's (PostgreSQL) connection: it names its dialect
    (its search index is storage.pg.search's documents); a sqlite3 connection has none."""
    return getattr(getattr(conn, "dialect", None), "name", "sqlite") == "postgres"


def index_search_values(conn: sqlite3.Connection, values: Sequence[tuple]) -> None:
    """Write ``search_values`` of customers not yet in the search index."""
    if is_postgres(conn):
        from srm_tui.storage.pg import search as pg_search

        pg_search.index_customers(conn, [v[0] for v in values])
        return
    conn.executemany(
        "INSERT INTO customers_fts (rowid, email, name, company, address, city, state, "
        "post_code) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        values,
    )


# Derived fields (CONTRACT section 5) of records that lack what the vendor does not publish.
# A subscription without ``period`` (period_derived = 1) takes its offer's billing period,
# else the period its transactions name (MediaStore's offerPeriod), else none; a pass without
# ``createdAt`` (created_derived = 1) takes the date of its first transaction. They are
# recomputed whenever what they come from arrives or changes, and only rows whose value
# changes are written (an UPDATE marks the customer's segment facts stale).
def _main(column: str, postgres: bool) -> str:
    """The main offer id of a (possibly localized, ``S123_PL``) offer id column."""
    if postgres:
        return f"split_part({column}, '_', 1)"
    return f"CASE WHEN instr({column}, '_') > 0 THEN substr({column}, 1, instr({column}, '_') - 1) ELSE {column} END"


@lru_cache(maxsize=2)
def _derive_sql(postgres: bool) -> dict[str, str]:
    """The derived fields' UPDATE heads (each ends in ``AND ``: the caller adds its key
    list) and the main-offer expression, in one dialect's SQL: PostgreSQL spells null-safe
    inequality ``IS DISTINCT FROM`` and orders NULL dates first descending unless told."""
    dialect = POSTGRES if postgres else SQLITE
    newest = f"{dialect.order('t.date', desc=True)}, t.id DESC"
    period_of = (
        "coalesce((SELECT o.billing_period FROM offers o WHERE o.id = "
        + _main("subscriptions.offer_id", postgres)
        + "), "
        "(SELECT t.offer_period FROM transactions t WHERE t.customer_id = subscriptions.customer_id"
        " AND t.offer_id = subscriptions.offer_id AND t.offer_period IS NOT NULL"
        f" ORDER BY {newest} LIMIT 1))"
    )
    pass_created = (
        "coalesce((SELECT min(t.date) FROM transactions t WHERE t.customer_id = passes.customer_id"
        " AND t.pass_id = passes.id), "
        "(SELECT min(t.date) FROM transactions t WHERE t.customer_id = passes.customer_id"
        " AND t.pass_id IS NULL AND t.subscription_id IS NULL AND t.offer_id = passes.offer_id))"
    )
    # A subscription without ``nextPaymentPrice`` (price_derived = 1; the vendor's
    # SubscriptionResource has none) takes its offer's price: the localization its long offer
    # id names (``S123456789_PL``: the offer's price for PL), else the main offer's price,
    # with that price's currency unless the record names its own.
    loc_of = "(SELECT l.{0} FROM localizations l WHERE l.id = subscriptions.offer_id)"
    offer_of = (
        "(SELECT o.{0} FROM offers o WHERE o.id = "
        + _main("subscriptions.offer_id", postgres)
        + ")"
    )
    price_of = f"coalesce({loc_of.format('price')}, {offer_of.format('price')})"
    # The record's own nextPaymentCurrency when it names one (currency_derived = 0: the mapped
    # currency column holds it), else the currency of the price it takes.
    currency_of = (
        "CASE WHEN subscriptions.currency_derived = 0 THEN subscriptions.currency "
        f"WHEN {loc_of.format('price')} IS NOT NULL THEN {loc_of.format('currency')} "
        f"ELSE {offer_of.format('currency')} END"
    )
    differs = dialect.is_distinct
    return {
        "main": _main("offer_id", postgres),
        "periods": (
            f"UPDATE subscriptions SET period = {period_of} WHERE period_derived = 1 "
            f"AND {differs('period', period_of)} AND "
        ),
        "prices": (
            f"UPDATE subscriptions SET price = {price_of}, currency = {currency_of} "
            f"WHERE price_derived = 1 AND ({differs('price', price_of)} "
            f"OR {differs('currency', currency_of)}) AND "
        ),
        "pass_dates": (
            f"UPDATE passes SET created_at = {pass_created} WHERE created_derived = 1 "
            f"AND {differs('created_at', pass_created)} AND "
        ),
        "newest": newest,
    }


def _chunks(values: Sequence[Any], size: int = 500) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def derive_periods(
    conn: sqlite3.Connection,
    *,
    subscription_ids: Sequence[int] = (),
    customer_ids: Sequence[int] = (),
    offer_ids: Sequence[str] = (),
) -> None:
    """Recompute the derived period of subscriptions that have none of their own: those
    listed, those of the customers listed, those of the (main) offers listed."""
    sql = _derive_sql(is_postgres(conn))
    for column, values in (
        ("id", subscription_ids),
        ("customer_id", customer_ids),
        (sql["main"], offer_ids),
    ):
        for chunk in _chunks(sorted(set(values))):
            conn.execute(
                sql["periods"] + f"{column} IN ({','.join('?' * len(chunk))})", list(chunk)
            )


def derive_prices(
    conn: sqlite3.Connection, *, subscription_ids: Sequence[int] = (), offer_ids: Sequence[str] = ()
) -> None:
    """Recompute the derived price (and currency) of subscriptions that have no
    nextPaymentPrice of their own: those listed, those of the (main) offers listed."""
    sql = _derive_sql(is_postgres(conn))
    for column, values in (("id", subscription_ids), (sql["main"], offer_ids)):
        for chunk in _chunks(sorted(set(values))):
            conn.execute(sql["prices"] + f"{column} IN ({','.join('?' * len(chunk))})", list(chunk))


def derive_pass_dates(
    conn: sqlite3.Connection, *, pass_ids: Sequence[int] = (), customer_ids: Sequence[int] = ()
) -> None:
    """Recompute the derived createdAt of passes that have none of their own."""
    sql = _derive_sql(is_postgres(conn))
    for column, values in (("id", pass_ids), ("customer_id", customer_ids)):
        for chunk in _chunks(sorted(set(values))):
            conn.execute(
                sql["pass_dates"] + f"{column} IN ({','.join('?' * len(chunk))})", list(chunk)
            )


def derive_after_upsert(
    conn: sqlite3.Connection, entity: str, keys: Sequence[Any], customer_ids: Sequence[Any]
) -> None:
    """Bring the derived fields up to date after ``upsert`` wrote ``keys`` of ``entity``."""
    if entity == "subscriptions":
        derive_periods(conn, subscription_ids=keys)
        derive_prices(conn, subscription_ids=keys)
    elif entity == "passes":
        derive_pass_dates(conn, pass_ids=keys)
    elif entity == "offers":
        derive_periods(conn, offer_ids=keys)
        derive_prices(conn, offer_ids=keys)
    elif entity == "transactions":
        derive_pass_dates(conn, customer_ids=customer_ids)
        derive_periods(conn, customer_ids=customer_ids)


_FTS_SOURCE = (
    "SELECT id, email, first_name, last_name, company, address, city, state, "
    "post_code FROM customers WHERE id IN ({})"
)


def _fts_rows(conn: sqlite3.Connection, ids: Sequence[int]) -> list[tuple]:
    out = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for r in conn.execute(_FTS_SOURCE.format(",".join("?" * len(chunk))), chunk):
            out.append(
                (
                    r[0],
                    fold(r[1]),
                    fold(" ".join(p for p in (r[2], r[3]) if p)),
                    fold(r[4]),
                    fold(r[5]),
                    fold(r[6]),
                    fold(r[7]),
                    fold(r[8]),
                )
            )
    return out


def unindex_customers(conn: sqlite3.Connection, ids: Sequence[int]) -> None:
    """Take customers out of the search index (before their row changes or goes)."""
    if is_postgres(conn):
        from srm_tui.storage.pg import search as pg_search

        pg_search.unindex_customers(conn, ids)
        return
    conn.executemany(
        "INSERT INTO customers_fts (customers_fts, rowid, email, name, company, address, city,"
        " state, post_code) VALUES ('delete', ?, ?, ?, ?, ?, ?, ?, ?)",
        _fts_rows(conn, ids),
    )


def index_customers(conn: sqlite3.Connection, ids: Sequence[int]) -> None:
    """Put customers' current text into the search index, folded as queries are."""
    if is_postgres(conn):
        from srm_tui.storage.pg import search as pg_search

        pg_search.index_customers(conn, ids)
        return
    conn.executemany(
        "INSERT INTO customers_fts (rowid, email, name, company, address, city, state, "
        "post_code) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        _fts_rows(conn, ids),
    )


def _write_localizations(conn: sqlite3.Connection, offers: Iterable[m.Offer]) -> None:
    for offer in offers:
        conn.execute("DELETE FROM localizations WHERE offer_id = ?", (offer.id,))
        conn.executemany(
            "INSERT INTO localizations "
            "(id, offer_id, country_code, title, price, currency, active) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
            "offer_id = excluded.offer_id, country_code = excluded.country_code, "
            "title = excluded.title, price = excluded.price, currency = excluded.currency, "
            "active = excluded.active",
            [
                (
                    loc.id or f"{offer.id}_{loc.countryCode}",
                    offer.id,
                    loc.countryCode,
                    loc.title,
                    loc.price.amount if loc.price else None,
                    loc.price.currency if loc.price else None,
                    int(loc.active),
                )
                for loc in offer.localizations
            ],
        )


def delete(conn: sqlite3.Connection, entity: str, keys: Iterable[Any]) -> None:
    key, _, _ = _COLUMNS[entity]
    keys = list(keys)
    if entity == "customers":
        unindex_customers(conn, keys)
    conn.executemany(f"DELETE FROM {entity} WHERE {key} = ?", [(k,) for k in keys])
    if entity == "offers":
        derive_periods(conn, offer_ids=keys)  # their subscriptions lose the offer's period
        derive_prices(conn, offer_ids=keys)


def refresh_customer_stats(conn: sqlite3.Connection, customer_ids: Iterable[int]) -> None:
    """Recompute the list's derived columns: paid transactions (captured or refunded, as
    customer.lifetime_transactions in CONTRACT section 5 and the account summary count them)
    and the last payment method: the latest transaction's (of any status), or, when that one
    names none (a webhook's transaction has no paymentMethod), the latest one known."""
    ids = sorted(set(customer_ids))
    newest = _derive_sql(is_postgres(conn))["newest"]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        conn.execute(
            f"""
            UPDATE customers SET
              transactions = (SELECT count(*) FROM transactions t
                              WHERE t.customer_id = customers.id
                              AND t.status IN ('captured', 'refunded')),
              last_payment_method = (SELECT t.payment_method FROM transactions t
                                     WHERE t.customer_id = customers.id
                                     AND t.payment_method IS NOT NULL
                                     AND t.payment_method != ''
                                     ORDER BY {newest} LIMIT 1)
            WHERE id IN ({marks})
            """,
            chunk,
        )


# The derived values a reader of an account gets where the record has none (CONTRACT
# section 5): entity -> (column, API key).
_DERIVED = {
    "subscriptions": (
        ("period", "period"),
        ("price", "nextPaymentPrice"),
        ("currency", "nextPaymentCurrency"),
    ),
    "passes": (("created_at", "createdAt"),),
}


def raw_records(
    conn: sqlite3.Connection, entity: str, customer_id: int | None = None, derived: bool = False
) -> list[dict[str, Any]]:
    """Cached records of an entity in the API's shape, ordered by key.

    With ``derived``, a subscription without ``period`` gets the derived one (and without
    ``nextPaymentPrice`` the offer's price and currency), a pass without ``createdAt`` the
    derived one (None when unknown): what the account view reads.
    """
    key, _, _ = _COLUMNS[entity]
    pairs = _DERIVED.get(entity, ()) if derived else ()
    extra = "".join(f", {column}" for column, _ in pairs)
    if customer_id is None:
        cur = conn.execute(f"SELECT raw{extra} FROM {entity} ORDER BY {key}")
    else:
        cur = conn.execute(
            f"SELECT raw{extra} FROM {entity} WHERE customer_id = ? ORDER BY {key}", (customer_id,)
        )
    out = []
    for row in cur:
        record = decode_raw(row[0])
        for i, (_, field) in enumerate(pairs, 1):
            if record.get(field) is None:
                record[field] = row[i]
        out.append(record)
    return out


def count(conn: sqlite3.Connection, entity: str) -> int:
    return conn.execute(f"SELECT count(*) FROM {entity}").fetchone()[0]


ALL_ENTITIES = tuple(_COLUMNS)

"""Sync in the vendor profile: the published calls only, customer by customer.

The vendor cannot list its customers, so the cache fills from what names them (imports,
fetches, webhooks) and each known customer is refreshed through ``GET /customers/{id}``,
``GET /subscriptions?customerId=`` and ``GET /passes?customerId=``: never-fetched first, then
oldest-fetched first. Each customer's records and its ``customer_fetch_state`` row commit in
one transaction, so a sync stopped at any point resumes with the next customer. The offer
catalogue, season groups and the campaigns of the coupon codes seen are read as published.

Over 400 lines: the per-customer refresh, the catalogue reads and the fetch-state
bookkeeping share the one-transaction-per-customer rule above.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from srm_tui.api import errors
from srm_tui.storage import records
from srm_tui.storage.facts import refresh_facts
from srm_tui.sync.parse import validate

if TYPE_CHECKING:
    import sqlite3

    from srm_tui.sync.engine import SyncEngine, SyncSummary

# A customer refreshed this recently is left for a later run (webhooks and actions keep the
# cache fresh in between); `srm sync --full` refreshes every known customer.
STALE_AFTER = 24 * 3600
# What the vendor publishes no listing for: never fetched in this profile.
NOT_FETCHED = ("transactions", "payment_details", "emails")
# Entities a vendor sync counts (the others stay 0: not offered, or srm's own).
COUNTED = ("customers", "subscriptions", "passes", "offers", "season_groups", "campaigns")
# Crash tests: a run SIGKILLs its own process right after its Nth customer has committed
# (records and fetch state), so a test stops a sync at a chosen point, never a timed one.
KILL_AFTER_ENV = "SRM_SYNC_KILL_AFTER_CUSTOMERS"

_KNOWN = """
    SELECT id FROM customers
    UNION SELECT customer_id FROM subscriptions WHERE customer_id IS NOT NULL
    UNION SELECT customer_id FROM passes WHERE customer_id IS NOT NULL
    UNION SELECT customer_id FROM transactions WHERE customer_id IS NOT NULL
    UNION SELECT customer_id FROM customer_fetch_state
    UNION SELECT customer_id FROM import_pending_emails WHERE customer_id IS NOT NULL
"""


def known_customers(conn: sqlite3.Connection, *, stale_before: int) -> list[int]:
    """The customers a run refreshes, in the order it refreshes them.

    Never fetched first, then the oldest fetched: those never fetched, those whose answer
    could not be read, those left by an unfinished full run and those fetched before
    ``stale_before`` (a customer the API said is gone, or whose id it refused, waits for a
    full run).
    """
    sql = (
        f"SELECT k.id FROM ({_KNOWN}) AS k LEFT JOIN customer_fetch_state f "
        "ON f.customer_id = k.id WHERE k.id > 0 AND (f.customer_id IS NULL "
        "OR f.full_pending = 1 OR f.status IN ('pending', 'failed') "
        "OR (f.status = 'ok' AND f.fetched_at < ?)) "
        "ORDER BY f.fetched_at IS NOT NULL, f.fetched_at, k.id"
    )
    return [int(r[0]) for r in conn.execute(sql, (stale_before,))]


def start_full(tx: sqlite3.Connection) -> None:
    """A full run: every known customer is to do once more (resumed until done)."""
    tx.execute(
        "INSERT INTO customer_fetch_state (customer_id, status, attempted_at) "
        f"SELECT k.id, 'pending', 0 FROM ({_KNOWN}) AS k WHERE k.id > 0 "
        "ON CONFLICT(customer_id) DO NOTHING"
    )
    tx.execute("UPDATE customer_fetch_state SET full_pending = 1")


def mark(
    tx: sqlite3.Connection, customer_id: int, status: str, now: int, message: str | None = None
) -> None:
    """Write a customer's fetch state (in the caller's transaction). ``ok`` sets fetched_at;
    ``gone`` (404), ``refused`` (another 4xx) and ``failed`` (an unreadable answer) keep the
    last good fetch time. Any answer settles the customer's part of a full run."""
    tx.execute(
        "INSERT INTO customer_fetch_state (customer_id, status, fetched_at, attempted_at, "
        "message) VALUES (?, ?, ?, ?, ?) ON CONFLICT(customer_id) DO UPDATE SET "
        "status = excluded.status, attempted_at = excluded.attempted_at, "
        "message = excluded.message, "
        "fetched_at = COALESCE(excluded.fetched_at, customer_fetch_state.fetched_at), "
        "full_pending = 0",
        (customer_id, status, now if status == "ok" else None, now, message),
    )


class VendorSync:
    """The vendor profile's sync and on-demand fetch, on a SyncEngine's cache and client."""

    def __init__(self, engine: SyncEngine):
        self.engine = engine
        self.cache = engine.cache
        self.client = engine.client

    # one customer ------------------------------------------------------------------------

    def fetch_customer(
        self,
        *,
        customer_id: int | None = None,
        email: str | None = None,
        external_id: str | None = None,
        transaction_id: str | None = None,
    ) -> int | None:
        """Find and refresh one customer through published calls; their id, or None."""
        if customer_id is None:
            customer_id = self.find(
                email=email, external_id=external_id, transaction_id=transaction_id
            )
            if customer_id is None:
                return None
        return customer_id if self.refresh(customer_id) is not None else None

    def find(
        self,
        *,
        email: str | None = None,
        external_id: str | None = None,
        transaction_id: str | None = None,
    ) -> int | None:
        """The customer id an email, external id or transaction id names at the API."""
        if email or external_id:
            found = self.client.customers_by(email=email, external_id=external_id)
            return _int(found[0].get("id")) if found and isinstance(found[0], dict) else None
        if transaction_id:
            # GET /subscriptions?transactionId= is published; so is the passes filter.
            for lookup in (self.client.subscriptions, self.client.passes):
                for item in lookup(transactionId=transaction_id):
                    owner = _int(item.get("customerId")) if isinstance(item, dict) else None
                    if owner is not None:
                        return owner
        return None

    def refresh(self, customer_id: int) -> dict[str, int] | None:
        """Read a customer, their subscriptions and passes, and write them with the fetch
        state in one transaction; the records written, or None when the API says the
        customer is gone (404), which is marked so a sync does not ask again."""
        now = int(self.engine.clock())
        try:
            customer = self.client.customer(customer_id)
        except errors.NotFound as exc:
            with self.cache.transaction(vendor=True) as tx:
                mark(tx, customer_id, "gone", now, exc.message)
            return None
        if isinstance(customer, dict) and customer.get("id") in (None, ""):
            customer = dict(customer, id=customer_id)  # the URL named it
        subscriptions = _owned(self.client.subscriptions(customerId=customer_id), customer_id)
        passes = _owned(self.client.passes(customerId=customer_id), customer_id)
        return self.store(customer_id, customer, subscriptions, passes)

    def store(
        self, customer_id: int, customer: Any, subscriptions: list[Any], passes: list[Any]
    ) -> dict[str, int]:
        """One transaction: the customer, their complete lists (what the API no longer lists
        for them leaves the cache), the quarantine of bad records, the fetch state."""
        from srm_tui.sync.engine import _quarantine

        now = int(self.engine.clock())
        written: dict[str, int] = {}
        with self.cache.transaction(vendor=True) as tx:
            touched: list[Any] = [customer_id]
            for entity, items in (
                ("customers", [customer]),
                ("subscriptions", subscriptions),
                ("passes", passes),
            ):
                if entity != "customers":
                    items = keep_unpublished(tx, entity, items)
                good, bad = validate(entity, items)
                touched += records.upsert(tx, entity, good, now)
                _quarantine(tx, entity, bad, now)
                self.engine._resolve(tx, entity, good, now)
                written[entity] = len(good)
                if entity != "customers":
                    listed = {records.record_key(entity, i) for i in items}
                    _drop_unlisted(tx, entity, customer_id, listed)
            records.refresh_customer_stats(tx, touched)
            refresh_facts(tx, touched)
            mark(tx, customer_id, "ok", now)
        return written

    # the whole run -----------------------------------------------------------------------

    def run(self, full: bool, summary: SyncSummary) -> None:
        """Catalogue, then customers, then the campaigns of the coupon codes now seen.

        Fills ``summary``. A part the API fails (after the client's retries) is said in
        ``summary.errors`` and the other parts still run; Unreachable and AuthError stop the
        run (the caller records it and tells)."""
        for entity in COUNTED:
            summary.counts.setdefault(entity, 0)
        self._part("offers", summary, self._catalogue, summary)
        self._part("emails", summary, self._resolve_emails, full, summary)
        self._customers(full, summary)
        if not summary.errors and not summary.stopped:
            self._part("campaigns", summary, self._campaigns, summary)

    def _part(self, name: str, summary: SyncSummary, step: Any, *args: Any) -> None:
        try:
            step(*args)
        except (errors.Unreachable, errors.AuthError):
            raise
        except errors.NotFound as exc:
            if name == "offers":  # no catalogue at all: the URL is not the API's base
                raise errors.NotFound(
                    f"GET /offers answered 404 ({exc.message}): is the API URL the vendor's "
                    "Core API base, e.g. https://api.cleeng.com/3.1?",
                    status=404,
                ) from None
            summary.errors.append(f"{name}: {exc.message} (the next srm sync tries again)")
        except errors.MalformedResponse as exc:
            self.engine._quarantine_page(name, 0, exc)
            summary.quarantined += 1
            summary.errors.append(
                f"{name}: {exc.message} (kept in quarantine; the next srm sync tries again)"
            )
        except errors.ApiError as exc:
            summary.errors.append(f"{name}: {exc.message} (the next srm sync tries again)")

    def _catalogue(self, summary: SyncSummary) -> None:
        offers = self.client.offers()
        summary.counts["offers"] += self._replace_all("offers", offers, summary)
        groups = self.client.season_groups()
        if not isinstance(groups, list):
            raise errors.MalformedResponse("GET /offers/season-groups: expected a list")
        summary.counts["season_groups"] += self._replace_all("season_groups", groups, summary)

    def _replace_all(self, entity: str, items: list[Any], summary: SyncSummary) -> int:
        """A complete listing: write it and drop what it no longer lists."""
        from srm_tui.sync.engine import _quarantine

        now = int(self.engine.clock())
        good, bad = validate(entity, items)
        listed = {records.record_key(entity, i) for i in items}
        with self.cache.transaction(vendor=True) as tx:
            records.upsert(tx, entity, good, now)
            _quarantine(tx, entity, bad, now)
            self.engine._resolve(tx, entity, good, now)
            stale = [
                r[0] for r in tx.execute(f"SELECT id FROM {entity}") if str(r[0]) not in listed
            ]
            if entity == "offers" and stale:
                tx.executemany(
                    "DELETE FROM localizations WHERE offer_id = ?", [(k,) for k in stale]
                )
            records.delete(tx, entity, stale)
        summary.quarantined += len(bad)
        return len(good)

    def _resolve_emails(self, full: bool, summary: SyncSummary) -> None:
        """Emails from `srm import` id lists: find each one's customer (GET /customers?email=).
        An email the API does not know is marked and asked again only by a full sync."""
        conn = self.cache.conn()
        where = "resolved_at IS NULL" + ("" if full else " AND error IS NULL")
        emails = [
            r[0]
            for r in conn.execute(
                f"SELECT email FROM import_pending_emails WHERE {where} ORDER BY added_at, email"
            )
        ]
        unknown = 0
        for email in emails:
            try:
                found = self.find(email=email)
            except errors.BadRequest as exc:  # the API refuses it as an email: say so, go on
                found, error = None, exc.message
            else:
                error = None if found is not None else "no customer with this email at the API"
            now = int(self.engine.clock())
            with self.cache.transaction(vendor=True) as tx:
                tx.execute(
                    "UPDATE import_pending_emails SET customer_id = ?, resolved_at = ?, "
                    "error = ? WHERE email = ?",
                    (found, now if found is not None else None, error, email),
                )
            unknown += found is None
        if emails:
            summary.extra["emails_resolved"] = len(emails) - unknown
            summary.extra["emails_unknown"] = unknown

    def _customers(self, full: bool, summary: SyncSummary) -> None:
        conn = self.cache.conn()
        now = int(self.engine.clock())
        if (
            full
            and not conn.execute(
                "SELECT 1 FROM customer_fetch_state WHERE full_pending = 1 LIMIT 1"
            ).fetchone()
        ):
            with self.cache.transaction(vendor=True) as tx:  # (an unfinished full run is resumed)
                start_full(tx)
        targets = known_customers(conn, stale_before=now - STALE_AFTER)
        progress = self.engine.progress
        started = time.monotonic()
        summary.extra["gone"] = summary.extra["refused"] = 0
        kill = os.environ.get(KILL_AFTER_ENV, "")
        kill_after = int(kill) if kill.isdigit() else None
        for done, customer_id in enumerate(targets, 1):
            if kill_after is not None and done > kill_after:
                os.kill(os.getpid(), signal.SIGKILL)  # customers 1..N are committed
            if self.engine.stopping(summary):
                return  # customers 1..done-1 are committed; the next run resumes here
            try:
                written = self.refresh(customer_id)
            except errors.MalformedResponse as exc:
                self._quarantine_answer(customer_id, exc)
                summary.quarantined += 1
                continue
            except (errors.Unreachable, errors.AuthError):
                raise
            except (errors.ServerError, errors.RateLimited) as exc:
                summary.errors.append(
                    f"customer {customer_id}: {exc.message}; stopped after {done - 1} of "
                    f"{len(targets)} customers (the next srm sync resumes here)"
                )
                return
            except errors.ApiError as exc:  # 400/422: this id is refused, the rest go on
                with self.cache.transaction(vendor=True) as tx:
                    mark(tx, customer_id, "refused", int(self.engine.clock()), exc.message)
                summary.extra["refused"] += 1
                continue
            if written is None:
                summary.extra["gone"] += 1
                continue
            for entity, n in written.items():
                summary.counts[entity] += n
            if progress is not None:
                from srm_tui.sync.engine import Progress

                rate = done / max(time.monotonic() - started, 1e-6)
                progress(Progress("customers", done, len(targets), rate))

    def _quarantine_answer(self, customer_id: int, exc: errors.ApiError) -> None:
        """An unreadable answer about a customer: kept with its reason, the customer marked
        failed (the next run asks again)."""
        body = exc.body
        text = (
            body.decode("utf-8", "replace")
            if isinstance(body, bytes)
            else (body if isinstance(body, str) else json.dumps(body, default=str))
        )
        now = int(self.engine.clock())
        with self.cache.transaction(vendor=True) as tx:
            tx.execute(
                "INSERT INTO quarantine (entity, record_key, source, reason, payload, "
                "received_at) VALUES ('customers', ?, 'page', ?, ?, ?)",
                (str(customer_id), exc.message, text, now),
            )
            mark(tx, customer_id, "failed", now, exc.message)

    def _campaigns(self, summary: SyncSummary) -> None:
        """The campaigns holding the coupon codes seen on subscriptions (the vendor lists
        campaigns only by code)."""
        conn = self.cache.conn()
        codes = sorted(
            {
                r[0]
                for r in conn.execute(
                    "SELECT DISTINCT coupon_code FROM subscriptions WHERE coupon_code IS NOT NULL "
                    "AND coupon_code != '' UNION SELECT code FROM campaign_codes"
                )
            },
            key=str.upper,
        )
        known = {
            r["name"]: (int(r["id"]), _codes(r["raw"]))
            for r in conn.execute("SELECT id, name, raw FROM campaigns")
        }
        learnt: dict[str, dict[str, Any]] = {}
        for code in codes:
            try:
                found = self.client.campaigns(code)
            except errors.BadRequest:
                continue  # a code the API will not look up (e.g. too long): nothing to learn
            for item in found:
                if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                    continue
                name = item["name"]
                record = learnt.get(name)
                if record is None:
                    campaign_id, codes_before = known.get(name, (_campaign_id(name), []))
                    record = dict(item, id=campaign_id, couponCodes=list(codes_before))
                    learnt[name] = record
                if code.upper() not in (c.upper() for c in record["couponCodes"]):
                    record["couponCodes"].append(code)
        if not learnt:
            return
        from srm_tui.sync.engine import _quarantine

        now = int(self.engine.clock())
        good, bad = validate("campaigns", learnt.values())
        with self.cache.transaction(vendor=True) as tx:
            records.upsert(tx, "campaigns", good, now)
            _quarantine(tx, "campaigns", bad, now)
        summary.counts["campaigns"] += len(good)
        summary.quarantined += len(bad)


# The marker an import leaves in a record's raw copy (srm_tui.imports.merge): the API's
# answer replaces it, so the record counts as the API's from now on.
_SOURCE_KEY = "_srm"


def keep_unpublished(tx: sqlite3.Connection, entity: str, items: list[Any]) -> list[Any]:
    """The API's records, each with the keys its answer lacks taken from the cached copy.

    The vendor's SubscriptionResource and PassResource have no nextPaymentPrice,
    nextPaymentCurrency, paymentMethod, period or createdAt: what an import or a webhook
    brought for them stays. Every key the API's answer holds wins, even a null."""
    key_field = "subscriptionId" if entity == "subscriptions" else "passId"
    keys = [k for k in (records.record_key(entity, i) for i in items) if k is not None]
    cached: dict[str, dict[str, Any]] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        for key, raw in tx.execute(
            f"SELECT id, raw FROM {entity} WHERE id IN ({','.join('?' * len(chunk))})", chunk
        ):
            try:
                old = records.decode_raw(raw)
            except ValueError:
                continue
            if isinstance(old, dict):
                cached[str(key)] = old
    out = []
    for item in items:
        old = cached.get(str(item.get(key_field))) if isinstance(item, dict) else None
        if old:
            kept = {k: v for k, v in old.items() if k not in item and k != _SOURCE_KEY}
            if kept:
                item = {**kept, **item}
        out.append(item)
    return out


def _drop_unlisted(
    tx: sqlite3.Connection, entity: str, customer_id: int, listed: set[str | None]
) -> None:
    """The customer's complete list no longer holds these: the API moved or removed them."""
    key = "id"
    gone = [
        r[0]
        for r in tx.execute(f"SELECT {key} FROM {entity} WHERE customer_id = ?", (customer_id,))
        if str(r[0]) not in listed
    ]
    if gone:
        records.delete(tx, entity, gone)


def _owned(items: Iterable[Any], customer_id: int) -> list[Any]:
    """A per-customer answer's records, each naming its customer (the query named it; some
    of the vendor's shapes leave it out)."""
    out = []
    for item in items:
        if isinstance(item, dict) and item.get("customerId") in (None, ""):
            item = dict(item, customerId=customer_id)
        out.append(item)
    return out


def _codes(raw: str | bytes) -> list[str]:
    try:
        codes = records.decode_raw(raw).get("couponCodes") or []
    except (ValueError, AttributeError):
        return []
    return [c for c in codes if isinstance(c, str)]


def _campaign_id(name: str) -> int:
    """A stable id for a campaign the vendor names but does not number (GET /campaigns
    items have no id): derived from its name, so every run finds the same row."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:6], "big")


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None

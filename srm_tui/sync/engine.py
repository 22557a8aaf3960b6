"""The sync engine: full and incremental pulls, on-demand fetches, webhook deliveries.

Every page is written in one transaction together with the checkpoint that follows it, so a
sync killed at any instant resumes where the last committed page ended, and upserts by
primary key make a replayed page harmless: every record lands exactly once.

Over 400 lines: full, incremental, fetch and delivery pulls share the page-and-checkpoint
transaction described above.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from srm_tui.api import errors
from srm_tui.api import profile as api_profile
from srm_tui.api.client import ApiClient, Page, unwrap
from srm_tui.api.profile import SANDBOX, VENDOR, ApiProfile
from srm_tui.domain import models as m
from srm_tui.storage import changes, records, writer
from srm_tui.storage.cache import Cache
from srm_tui.storage.facts import ensure_facts, facts_state, refresh_facts
from srm_tui.sync.parse import is_tombstone, validate

# Parents before children, so a child's customer is usually cached before it arrives.
ORDER = (
    "customers",
    "offers",
    "season_groups",
    "campaigns",
    "subscriptions",
    "passes",
    "transactions",
    "payment_details",
    "emails",
    "notes",
    "history",
)
# Entities whose writes change the customer list's derived columns.
STATS_ENTITIES = ("customers", "transactions")
# WAL pages between checkpoints during a sync (SQLite's default is 1,000 pages).
SYNC_CHECKPOINT_PAGES = 20000
# Customers of quarantined records asked for again per run (an API that keeps sending a bad
# record must not make every sync slower: the rest wait for the next runs).
REFETCH_PER_RUN = 100
# Crash tests: a run SIGKILLs its own process once N pages have committed (point "after",
# the default), or inside the next page's transaction with its rows written but not
# committed (point "inside"), so a test stops a sync at a chosen point, never a timed one.
KILL_AFTER_PAGES_ENV = "SRM_SYNC_KILL_AFTER_PAGES"
KILL_POINT_ENV = "SRM_SYNC_KILL_POINT"
# Signal tests: once N pages have committed, the run waits while the file named by
# SRM_SYNC_HOLD_FILE exists, so a test signals a sync at a known point between pages.
HOLD_AFTER_PAGES_ENV = "SRM_SYNC_HOLD_AFTER_PAGES"
HOLD_FILE_ENV = "SRM_SYNC_HOLD_FILE"


def _kill_plan() -> tuple[int, str] | None:
    raw = os.environ.get(KILL_AFTER_PAGES_ENV, "")
    if not raw.isdigit():
        return None
    return int(raw), os.environ.get(KILL_POINT_ENV, "after")


def _hold_here(pages: int) -> None:
    raw, path = os.environ.get(HOLD_AFTER_PAGES_ENV, ""), os.environ.get(HOLD_FILE_ENV)
    if path and raw.isdigit() and int(raw) == pages:
        while os.path.exists(path):
            time.sleep(0.05)


def _kill_here() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


@dataclass
class Progress:
    entity: str
    done: int  # records written so far in this run, all entities
    total: int | None  # records to write in this run, when the API says
    rate: float  # records per second
    entity_done: int = 0  # this entity's records written so far in this run
    entity_total: int | None = None  # this entity's records to write, when the API says

    def line(self) -> str:
        """The status line's words: how far the run is, or (the other entities' totals are
        asked once the customers are in) how far the customers are until then."""
        if self.total is None and self.entity_total:
            done = f"{self.entity_done:,}/{self.entity_total:,}"
            return f"syncing {self.entity} {done} ({self.rate:,.0f}/s)"
        total = f"/{self.total:,}" if self.total else ""
        return f"syncing {self.done:,}{total} records ({self.rate:,.0f}/s)"


@dataclass
class SyncSummary:
    mode: str
    counts: dict[str, int] = field(default_factory=dict)
    quarantined: int = 0
    resolved: int = 0
    retries: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    profile: str = SANDBOX
    extra: dict[str, int] = field(default_factory=dict)  # e.g. customers gone at the API

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def stopped(self) -> bool:
        """The run was asked to stop (a signal) and ended after a committed page."""
        return bool(self.extra.get("stopped"))

    def as_json(self) -> dict[str, Any]:
        return {
            **self.counts,
            **self.extra,
            "quarantined": self.quarantined,
            "resolved": self.resolved,
            "retries": self.retries,
            "seconds": round(self.seconds, 3),
            "ok": self.ok,
            "errors": self.errors,
            "mode": self.mode,
            "profile": self.profile,
        }


def _quarantine(tx: Any, entity: str, bad: list[tuple[str | None, str, Any]], now: int) -> None:
    """Keep records that failed validation, whole, with the reason (one open entry per
    record: a record that arrives bad again replaces its earlier copy)."""
    for key, reason, payload in bad:
        text = json.dumps(payload, ensure_ascii=False, default=str)
        if (
            key is not None
            and tx.execute(
                "UPDATE quarantine SET reason = ?, payload = ?, received_at = ? WHERE "
                "resolved_at IS NULL AND source = 'record' AND entity = ? AND record_key = ?",
                (reason, text, now, entity, key),
            ).rowcount
        ):
            continue
        tx.execute(
            "INSERT INTO quarantine (entity, record_key, source, reason, payload, received_at) "
            "VALUES (?, ?, 'record', ?, ?, ?)",
            (entity, key, reason, text, now),
        )


def settle_dirty_facts(tx: Any) -> int:
    """Refresh, in the caller's transaction, the facts of every customer the writes so far
    marked stale (the triggers mark them; this clears the marks)."""
    ids = [r[0] for r in tx.execute("SELECT customer_id FROM segment_facts_dirty")]
    return refresh_facts(tx, ids) if ids else 0


def _owner(entity: str, key: str | None, payload: Any) -> int | None:
    """The customer a quarantined record belongs to, when it says."""
    value = (
        key
        if entity == "customers"
        else (payload.get("customerId") if isinstance(payload, dict) else None)
    )
    try:
        owner = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return owner if owner > 0 else None


class SyncEngine:
    """Brings the cache up to date from the API."""

    def __init__(
        self,
        cache: Cache,
        client: ApiClient,
        *,
        page_size: int = 1000,
        progress: Callable[[Progress], None] | None = None,
        clock: Callable[[], float] = time.time,
        profile: ApiProfile | None = None,
        stop: Callable[[], bool] | None = None,
    ):
        """``stop`` is asked after each committed page (or customer): True ends the run
        there, resumable like a kill (``srm sync --watch`` on SIGTERM)."""
        self.cache = cache
        self.client = client
        self.page_size = page_size
        self.progress = progress
        self.clock = clock
        self._profile = profile
        self._stop = stop
        self._kill = _kill_plan()
        self._settle_each_page = False  # set per run on the team store (see run())
        self._pages = 0  # pages committed by this engine (the crash tests' kill hook counts)

    @property
    def profile(self) -> ApiProfile:
        """The connected API's profile: remembered in the cache, detected on first need."""
        if self._profile is None:
            self._profile = api_profile.resolve(self.cache.conn(), self.client)
        return self._profile

    def stopping(self, summary: SyncSummary) -> bool:
        """Whether the run was asked to stop; the first time, the summary says so."""
        if summary.stopped:
            return True
        if self._stop is None or not self._stop():
            return False
        summary.extra["stopped"] = 1
        return True

    @property
    def vendor(self) -> bool:
        """True when only the vendor's published calls may be used."""
        return self.profile.name == VENDOR

    # full / incremental ----------------------------------------------------------------

    def run(self, full: bool = False) -> SyncSummary:
        """Pull every entity from its checkpoint (from the start with ``full``). On the team
        store a run holds the store's sync lock (storage/writer.py) unless this process
        already does (`srm sync` takes it first): ``WriterBusy`` names the one that does."""
        if self._team_store and not writer.held(self.cache, "sync"):
            with writer.WriterLock.acquire(self.cache, "sync"):
                return self._run(full)
        return self._run(full)

    def _run(self, full: bool) -> SyncSummary:
        try:
            vendor = self.vendor
        except errors.MalformedResponse as exc:  # the API answered, but not in JSON
            return self._unreadable_probe(exc, full)
        if vendor:
            return self._run_vendor(full)
        started = time.monotonic()
        now = int(self.clock())
        summary = SyncSummary(mode="full" if full else "incremental")
        conn = self.cache.conn()
        # On the team store the facts are the writer's to keep: page by page once built
        # (a first build is one rebuild at the end, not a refresh per page).
        self._settle_each_page = self._team_store and facts_state(conn)[0]
        if full:
            with self.cache.transaction(vendor=True) as tx:
                for entity in ORDER:
                    tx.execute(
                        "INSERT INTO sync_checkpoints (entity, since, full_since, updated_at) "
                        "VALUES (?, 0, ?, ?) ON CONFLICT(entity) DO UPDATE SET since = 0, "
                        "full_since = excluded.full_since, updated_at = excluded.updated_at",
                        (entity, now, now),
                    )
        summary.resolved += self._retry_quarantine(now)
        checkpoints = {
            r["entity"]: (r["since"], r["full_since"])
            for r in conn.execute("SELECT * FROM sync_checkpoints")
        }
        since = {e: checkpoints.get(e, (0, None))[0] for e in ORDER}
        # The customers' total first, the others once the customers are in: a sandbox still
        # generating its customers (the demo's first start) knows a child entity's total only
        # at the end, and its first customers are on screen before then.
        self._entity_totals = self._totals({ORDER[0]: since[ORDER[0]]})
        self._done = 0
        self._total: int | None = None
        self._t0 = time.monotonic()
        retries_before = self.client.retries
        # Fewer, larger WAL checkpoints while pages stream in: each one syncs the disk
        # (SQLite's own tuning; PostgreSQL's server manages its WAL).
        sqlite = self.cache.dialect.name == "sqlite"
        if sqlite:
            conn.execute(f"PRAGMA wal_autocheckpoint={SYNC_CHECKPOINT_PAGES}")
        try:
            for entity in ORDER:
                full_since = checkpoints.get(entity, (0, None))[1]
                summary.counts[entity] = 0
                if summary.errors or summary.stopped:
                    continue  # an unreadable page stops the run; the next run resumes here
                if entity not in self._entity_totals:
                    self._count_the_rest({e: since[e] for e in ORDER[1:]})
                self._pull(entity, since[entity], summary)
                if full_since is not None and not summary.errors and not summary.stopped:
                    self._prune(entity, full_since)
        finally:
            if sqlite:
                conn.execute("PRAGMA wal_autocheckpoint=1000")
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        self._settle_facts(summary)
        summary.retries = self.client.retries - retries_before
        summary.seconds = time.monotonic() - started
        self._record_run(summary, now)
        return summary

    @property
    def _team_store(self) -> bool:
        return self.cache.dialect.name == "postgres"

    def _settle_facts(self, summary: SyncSummary) -> None:
        """On the team store, leave the segment facts settled after a run (built the first
        time): its readers may not write them. A SQLite cache's readers settle their own."""
        if self._team_store and summary.ok and not summary.stopped:
            summary.extra["facts_settled"] = ensure_facts(self.cache.conn())

    def _run_vendor(self, full: bool) -> SyncSummary:
        """The vendor profile's sync (srm_tui.sync.vendor), recorded as a sync run too."""
        from srm_tui.sync.vendor import VendorSync

        started = time.monotonic()
        now = int(self.clock())
        summary = SyncSummary(mode="full" if full else "incremental", profile=VENDOR)
        for entity in ORDER:
            summary.counts[entity] = 0
        retries_before = self.client.retries
        try:
            summary.resolved += self._retry_quarantine(now)
            VendorSync(self).run(full, summary)
            self._settle_facts(summary)
        except errors.ApiError as exc:  # recorded, then told (exit 3 when unreachable)
            summary.errors.append(exc.message)
            summary.retries = self.client.retries - retries_before
            summary.seconds = time.monotonic() - started
            self._record_run(summary, now)
            raise
        summary.retries = self.client.retries - retries_before
        summary.seconds = time.monotonic() - started
        self._record_run(summary, now)
        return summary

    def _unreadable_probe(self, exc: errors.MalformedResponse, full: bool) -> SyncSummary:
        """The profile probe met an unreadable answer: kept in quarantine like any page,
        the run recorded as failed (the next sync asks again)."""
        now = int(self.clock())
        self._quarantine_page("customers", 0, exc)
        summary = SyncSummary(
            mode="full" if full else "incremental",
            quarantined=1,
            errors=[(f"{exc.message} (kept in quarantine; the next srm sync tries again)")],
        )
        self._record_run(summary, now)
        return summary

    def _record_run(self, summary: SyncSummary, now: int) -> None:
        with self.cache.transaction(vendor=True) as tx:
            tx.execute(
                "INSERT INTO sync_runs (mode, started_at, finished_at, ok, counts, message) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    summary.mode,
                    now,
                    int(self.clock()),
                    int(summary.ok and not summary.stopped),
                    json.dumps(summary.as_json()),
                    "; ".join(summary.errors)
                    or (
                        "stopped between pages; the next sync resumes" if summary.stopped else None
                    ),
                ),
            )
            if summary.ok and not summary.stopped:
                tx.execute(
                    "INSERT INTO meta (key, value) VALUES ('last_sync_at', ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (str(int(self.clock())),),
                )

    def _totals(self, since: dict[str, int]) -> dict[str, int | None]:
        """How many records each entity has to send (one cheap request each)."""
        totals: dict[str, int | None] = {entity: None for entity in since}
        for entity, start in since.items():
            try:
                totals[entity] = self.client.changes(entity, start, limit=1).total
            except errors.MalformedResponse:
                break  # the pull itself will meet it, say so and keep the page
        return totals

    def _count_the_rest(self, since: dict[str, int]) -> None:
        """Every other entity's total, asked once the customers are in; the run's total is
        known from then on when every entity's is."""
        self._entity_totals.update(self._totals(since))
        known = self._entity_totals.values()
        self._total = sum(known) if None not in known else None  # type: ignore[arg-type]

    def _pull(self, entity: str, since: int, summary: SyncSummary) -> None:
        """Fetch pages ahead in a thread while this one validates and writes them."""
        pages: queue.Queue[Page | BaseException | None] = queue.Queue(maxsize=2)
        stop = threading.Event()

        def fetch() -> None:
            cursor = since
            try:
                while not stop.is_set():
                    page = self.client.changes(entity, cursor, self.page_size)
                    pages.put(page)
                    if not page.has_more or page.next_since <= cursor:
                        break
                    cursor = page.next_since
                pages.put(None)
            except BaseException as exc:  # handed to the writer, which decides
                pages.put(exc)

        fetcher = threading.Thread(target=fetch, name=f"sync-fetch-{entity}", daemon=True)
        fetcher.start()
        cursor = since
        entity_done = 0
        try:
            while True:
                page = pages.get()
                if page is None:
                    break
                if isinstance(page, errors.MalformedResponse):
                    self._quarantine_page(entity, cursor, page)
                    summary.errors.append(
                        f"{entity}: {page.message} (kept in quarantine; "
                        "the next srm sync tries again)"
                    )
                    summary.quarantined += 1
                    break
                if isinstance(page, BaseException):
                    raise page
                written, bad = self._write_page(entity, cursor, page)
                summary.counts[entity] += written
                summary.quarantined += bad
                cursor = page.next_since
                self._done += written + bad
                entity_done += written + bad
                if self.progress:
                    elapsed = max(time.monotonic() - self._t0, 1e-6)
                    self.progress(
                        Progress(
                            entity,
                            self._done,
                            self._total,
                            self._done / elapsed,
                            entity_done,
                            self._entity_totals.get(entity),
                        )
                    )
                if self.stopping(summary):
                    break  # this page and its checkpoint are committed: resumed from here
        finally:
            stop.set()
            while fetcher.is_alive():
                try:
                    pages.get(timeout=0.05)
                except queue.Empty:
                    pass
            fetcher.join()

    def _write_page(self, entity: str, since: int, page: Page) -> tuple[int, int]:
        now = int(self.clock())
        good, bad = validate(entity, page.items)
        gone = [records.record_key(entity, i) for i in page.items if is_tombstone(i)]
        with self.cache.transaction(vendor=True) as tx:
            if gone:
                records.delete(tx, entity, [k for k in gone if k is not None])
            touched = records.upsert(tx, entity, good, now)
            if entity in STATS_ENTITIES and touched:
                records.refresh_customer_stats(tx, touched)
            _quarantine(tx, entity, bad, now)
            self._resolve(tx, entity, good, now)
            tx.execute(
                "UPDATE quarantine SET resolved_at = ? WHERE resolved_at IS NULL AND "
                "source = 'page' AND entity = ?",
                (now, entity),
            )
            tx.execute(
                "INSERT INTO sync_checkpoints (entity, since, updated_at) VALUES (?, ?, ?) "
                "ON CONFLICT(entity) DO UPDATE SET since = excluded.since, "
                "updated_at = excluded.updated_at",
                (entity, page.next_since, now),
            )
            if self._settle_each_page:
                # The team store's readers never settle facts (they wait for the writer):
                # the customers this page made stale are settled with it.
                settle_dirty_facts(tx)
            changes.page_written(tx, entity, touched)  # open consoles learn of this page
            if self._kill == (self._pages, "inside"):
                _kill_here()  # this page's rows are written, not committed
        self._pages += 1
        _hold_here(self._pages)
        if self._kill == (self._pages, "after"):
            _kill_here()
        return len(good) + len(gone), len(bad)

    def _resolve(self, tx: Any, entity: str, good: list[m.ApiModel], now: int) -> None:
        """A valid copy of a quarantined record settles its quarantine entry."""
        if (
            not good
            or not tx.execute(
                "SELECT 1 FROM quarantine WHERE resolved_at IS NULL AND entity = ? LIMIT 1",
                (entity,),
            ).fetchone()
        ):
            return
        _, key_field = m.ENTITIES[entity]
        keys = [(now, entity, str(getattr(r, key_field))) for r in good]
        tx.executemany(
            "UPDATE quarantine SET resolved_at = ? WHERE resolved_at IS NULL AND "
            "entity = ? AND record_key = ?",
            keys,
        )

    def _quarantine_page(self, entity: str, since: int, exc: errors.ApiError) -> None:
        payload = exc.body if isinstance(exc.body, (bytes, str)) else b""
        if isinstance(payload, bytes):
            payload = payload.decode("utf-8", "replace")
        with self.cache.transaction(vendor=True) as tx:
            tx.execute(
                "INSERT INTO quarantine (entity, record_key, source, reason, payload, "
                "received_at) VALUES (?, ?, 'page', ?, ?, ?)",
                (entity, f"since={since}", exc.message, payload, int(self.clock())),
            )

    def _retry_quarantine(self, now: int) -> int:
        """Read quarantined records again (a newer srm may read what an older one could
        not), then ask the API again for the customers whose records are still unreadable:
        a bad answer is often passing, and the enumeration will not send them again."""
        conn = self.cache.conn()
        rows = conn.execute(
            "SELECT id, entity, record_key, payload FROM quarantine WHERE "
            "resolved_at IS NULL AND source = 'record'"
        ).fetchall()
        resolved = 0
        owners: set[int] = set()
        for row in rows:
            try:
                payload = json.loads(row["payload"])
            except ValueError:
                payload = None
            good, _ = validate(row["entity"], [payload])
            if good:
                with self.cache.transaction(vendor=True) as tx:
                    touched = records.upsert(tx, row["entity"], good, now)
                    if row["entity"] in STATS_ENTITIES:
                        records.refresh_customer_stats(tx, touched)
                    tx.execute(
                        "UPDATE quarantine SET resolved_at = ? WHERE id = ?", (now, row["id"])
                    )
                resolved += 1
                continue
            owner = _owner(row["entity"], row["record_key"], payload)
            if owner is not None:
                owners.add(owner)
        if not owners:
            return resolved
        still = "SELECT count(*) FROM quarantine WHERE resolved_at IS NULL AND source = 'record'"
        before = conn.execute(still).fetchone()[0]
        for customer_id in sorted(owners)[:REFETCH_PER_RUN]:
            try:
                self.fetch_customer(customer_id=customer_id)
            except errors.ApiError:
                continue  # still out of reach: the next run asks again
        return resolved + max(0, before - conn.execute(still).fetchone()[0])

    def _prune(self, entity: str, full_since: int) -> None:
        """After a full pull, drop what the API no longer has (not written since it began)."""
        with self.cache.transaction(vendor=True) as tx:
            if entity == "customers":
                stale = [
                    r[0]
                    for r in tx.execute(
                        "SELECT id FROM customers WHERE synced_at < ?", (full_since,)
                    )
                ]
                records.delete(tx, "customers", stale)
            if entity == "offers":
                tx.execute(
                    "DELETE FROM localizations WHERE offer_id IN (SELECT id FROM offers "
                    "WHERE synced_at < ?)",
                    (full_since,),
                )
            # Notes srm keeps itself (vendor profile) are not the API's to drop.
            mine = " AND local = 0" if entity == "notes" else ""
            tx.execute(f"DELETE FROM {entity} WHERE synced_at < ?{mine}", (full_since,))
            tx.execute("UPDATE sync_checkpoints SET full_since = NULL WHERE entity = ?", (entity,))

    # on demand -------------------------------------------------------------------------

    def fetch_customer(
        self,
        *,
        customer_id: int | None = None,
        email: str | None = None,
        external_id: str | None = None,
        transaction_id: str | None = None,
    ) -> int | None:
        """Bring one customer and everything of theirs into the cache; their id, or None.

        This is also the refresh an action calls after it succeeds. In the vendor profile only
        published calls are used (the customer, their subscriptions and passes); in the
        sandbox profile the sandbox's extensions add the rest of the account.
        """
        if self.vendor:
            from srm_tui.sync.vendor import VendorSync

            return VendorSync(self).fetch_customer(
                customer_id=customer_id,
                email=email,
                external_id=external_id,
                transaction_id=transaction_id,
            )
        if customer_id is None:
            customer_id = self._find_customer_id(email, external_id, transaction_id)
            if customer_id is None:
                return None
        try:
            customer = self.client.customer(customer_id)
        except errors.NotFound:
            return None
        bundle: dict[str, list[Any]] = {"customers": [customer]}
        # The enumeration's records, as the sync stores them (the published paths answer the
        # vendor's narrower shapes, e.g. a pass without createdAt).
        for entity in (
            "subscriptions",
            "passes",
            "transactions",
            "payment_details",
            "emails",
            "notes",
            "history",
        ):
            items: list[Any] = []
            since = 0
            while True:
                page = self.client.changes(entity, since, 1000, customer_id=customer_id)
                items.extend(page.items)
                if not page.has_more or page.next_since <= since:
                    break
                since = page.next_since
            bundle[entity] = items
        self.store_bundle(bundle, fetched=customer_id)
        return customer_id

    def store_bundle(
        self, bundle: dict[str, list[Any]], fetched: int | None = None
    ) -> dict[str, int]:
        """Validate and write one customer's records in a single transaction (with
        ``fetched``, that customer's fetch state too)."""
        now = int(self.clock())
        written: dict[str, int] = {}
        with self.cache.transaction(vendor=True) as tx:
            touched: list[int] = []
            for entity in ORDER:
                if entity not in bundle:
                    continue
                good, bad = validate(entity, bundle[entity])
                touched += records.upsert(tx, entity, good, now)
                _quarantine(tx, entity, bad, now)
                self._resolve(tx, entity, good, now)
                written[entity] = len(good)
            records.refresh_customer_stats(tx, touched)
            refresh_facts(tx, touched)  # one customer: settle its segment facts now
            changes.page_written(tx, "fetch", touched)  # open consoles show the refresh
            if fetched is not None:
                from srm_tui.sync.vendor import mark

                mark(tx, fetched, "ok", now)
        return written

    def _find_customer_id(
        self, email: str | None, external_id: str | None, transaction_id: str | None
    ) -> int | None:
        if email or external_id:
            found = self.client.customers_by(email=email, external_id=external_id)
            return int(found[0]["id"]) if found else None
        if transaction_id:
            for lookup in (self.client.subscriptions, self.client.passes):
                found = lookup(transactionId=transaction_id)
                if found:
                    return int(found[0]["customerId"])
        return None

    # webhooks --------------------------------------------------------------------------

    def apply_webhook(
        self, topic: str, data: dict[str, Any], received_at: int | None = None
    ) -> str:
        """Bring the records a delivery names into the cache through published calls, and
        say what it did.

        Offer topics refresh the offer (GET /offers/{id}); the other topics srm knows refresh
        the customer they name (by id, else email, external id or transaction id) through
        ``fetch_customer``; ``transactionCreated`` also stores the transaction from the
        payload, since the vendor has no call that lists transactions (a copy the API already
        gave is kept): without a date it takes ``received_at`` (the delivery's receipt time,
        else now), and its ``subscriptionPlanId`` links it to the customer's cached
        subscription of that id. An unknown topic changes nothing: it is recorded, not failed.
        """
        from srm_tui.sync import topics
        from srm_tui.sync.parse import transaction_from_webhook

        if topic in topics.OFFER_TOPICS:
            offer_id = topics.short_offer_id(data.get("offerId"))
            if offer_id is None:
                return "ignored: the delivery names no offerId"
            try:
                offer, _ = self.client.offer(offer_id)
            except errors.NotFound:
                return f"offer {offer_id} not found"
            written = self.store_bundle({"offers": [unwrap(offer)]})
            return f"offer {offer_id} " + ("refreshed" if written.get("offers") else "quarantined")
        if topic not in topics.CUSTOMER_TOPICS:
            return f"topic {topic} is not one srm uses: recorded only"
        customer_id = topics.as_id(data.get("customerId"))
        ways = (
            {"customer_id": customer_id},
            {"email": topics.as_text(data.get("customerEmail"))},
            {"external_id": topics.as_text(data.get("customerExternalId"))},
            {"transaction_id": topics.as_text(data.get("transactionId"), 64)},
        )
        said = []
        for way in ways:
            if next(iter(way.values())) is None:
                continue
            found = self.fetch_customer(**way)
            said.append(
                f"customer {found} refreshed"
                if found is not None
                else f"customer {next(iter(way.values()))} not found"
            )
            break
        else:
            said.append("names no customer")
        if topic == "transactionCreated":
            try:
                record = transaction_from_webhook(
                    data, int(self.clock()) if received_at is None else received_at
                )
            except ValueError as exc:
                said.append(f"transaction not stored: {exc}")
            else:
                key = str(record.get("transactionId"))
                if (
                    self.cache.conn()
                    .execute("SELECT 1 FROM transactions WHERE id = ?", (key,))
                    .fetchone()
                ):
                    said.append(f"transaction {key} already cached")
                else:
                    record = self._link_subscription(record)
                    written = self.store_bundle({"transactions": [record]})
                    said.append(
                        f"transaction {key} "
                        + ("stored" if written.get("transactions") else "quarantined")
                    )
        return "; ".join(said)

    def _link_subscription(self, record: dict[str, Any]) -> dict[str, Any]:
        """A webhook transaction names its subscription as ``subscriptionPlanId``: linked
        when the customer has a cached subscription of that id, else left as sent."""
        from srm_tui.sync import topics

        plan = topics.as_id(record.get("subscriptionPlanId"))
        if record.get("subscriptionId") is not None or plan is None:
            return record
        owner = topics.as_id(record.get("customerId"))
        if (
            self.cache.conn()
            .execute("SELECT 1 FROM subscriptions WHERE id = ? AND customer_id = ?", (plan, owner))
            .fetchone()
            is None
        ):
            return record
        return {**record, "subscriptionId": plan}

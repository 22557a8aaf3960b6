"""The composition root: one ``Session`` per process, built once from the settings.

It owns what more than one part of srm needs and must not build twice: the cache, the API
client (``client()`` is the only place one is made), the connected API's profile, the demo's
in-process sandbox (started at most once, stopped on ``close()``), and the services over them.
The console holds one (``app.session``); each CLI command builds one and passes it down.
Screens and widgets reach data only through it: they never import ``srm_tui.storage``.

Services are made on first use, so a command that only reads the cache never imports httpx,
starts the demo or opens a segment worker pool.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any

from srm_tui import runtime
from srm_tui.config import ConfigError, Settings

if TYPE_CHECKING:
    from srm_tui.actions.outbox import OutboxItem
    from srm_tui.actions.service import ActionService
    from srm_tui.api.client import ApiClient, RetryPolicy
    from srm_tui.api.profile import ApiProfile
    from srm_tui.bulk.service import BulkService
    from srm_tui.offers.service import OfferService
    from srm_tui.playbook.service import PlaybookService
    from srm_tui.segments.engine import SegmentRunner
    from srm_tui.segments.service import SegmentStore
    from srm_tui.storage.cache import Cache
    from srm_tui.storage.reads.customers import CustomerReads
    from srm_tui.storage.reads.offers import OfferReads
    from srm_tui.storage.reads.segments import SegmentReads
    from srm_tui.storage.reads.status import Status, StatusReads
    from srm_tui.sync.engine import SyncEngine
    from srm_tui.team.replicate import ReplicaOf
    from srm_tui.writes import WriteEngine


class Session:
    """Settings, cache, API and services of one srm process."""

    def __init__(
        self,
        settings: Settings,
        cache: Cache | None = None,
        *,
        create: bool = False,
    ) -> None:
        self._settings = settings
        self._cache = cache
        self._create = create
        if cache is not None:
            self._settings = runtime.store_settings(settings, cache)
        self._lock = threading.Lock()
        self.demo_sandbox: runtime.DemoSandbox | None = None
        self._closed = False

    # the cache -----------------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        """The settings as the store allows them: on the team store, the login's standing
        caps the role, so the store is opened (lazily, once) before its settings are read."""
        if self._cache is None and runtime.is_team_store(self._settings):
            self.cache  # noqa: B018  (opening the store reads the login's standing)
        if self.replica is not None and self._settings.api_url:
            # A replica is read offline: its actions are queued, then forwarded to its team
            # store (team/forward.py); nothing in it reaches the vendor's API.
            db = self._settings.db or runtime.cache_path(self._settings)
            self._settings = self._settings.model_copy({"api_url": None, "db": db})
        return self._settings

    @cached_property
    def replica(self) -> ReplicaOf | None:
        """What this cache is a replica of (`srm replicate`), or None for any other cache and
        for the team store."""
        if self._cache is None and runtime.is_team_store(self._settings):
            return None
        from srm_tui.team import replicate

        if self._cache is not None:
            return replicate.replica_of_store(self._cache)
        return replicate.read_replica_of(runtime.cache_path(self._settings))

    @property
    def cache(self) -> Cache:
        """The configured cache (or the team's PostgreSQL store), opened on first use (a
        missing one is exit 2 unless the session was made to create it: sync, import, seed)."""
        if self._cache is None:
            with self._lock:
                if self._cache is None:
                    store = runtime.open_cache(self._settings, create=self._create)
                    self._settings = runtime.store_settings(self._settings, store)
                    self._cache = store
        return self._cache

    # the API -------------------------------------------------------------------------------

    @property
    def is_demo(self) -> bool:
        return self.settings.is_demo

    @property
    def has_api(self) -> bool:
        """An API is configured (the demo's built-in sandbox counts)."""
        return self.is_demo or bool(self.settings.api_url)

    def api_settings(self) -> Settings | None:
        """Settings that reach an API, or None when none is configured. For the demo this
        starts its in-process sandbox once and points the settings at it."""
        if self.is_demo:
            with self._lock:
                if self.demo_sandbox is None:
                    self.demo_sandbox = runtime.start_demo_sandbox()
            return runtime.demo_settings(self.settings, self.demo_sandbox)
        return self.settings if self.settings.api_url else None

    def client(self, retry: RetryPolicy | None = None) -> ApiClient:
        """A new API client for the configured API; the caller closes it (``with``).

        Raises ConfigError when no API is configured."""
        from srm_tui.api.client import ApiClient  # httpx is imported only when the API is used

        settings = self.api_settings()
        if settings is None or not settings.api_url:
            raise self.no_api()
        kwargs: dict[str, Any] = {"timeout": settings.timeout}
        if retry is None and self.demo_sandbox is not None and self.demo_sandbox.generating:
            from srm_tui.api.retry import RetryPolicy

            retry = RetryPolicy(attempts=self.demo_sandbox.GENERATING_ATTEMPTS)
        if retry is not None:
            kwargs["retry"] = retry
        return ApiClient(settings.api_url, settings.key(), **kwargs)

    def no_api(self) -> ConfigError:
        """Why this session reaches no API (exit 2): none is configured, or the cache is a
        replica, which never calls it (asked to sync or fetch into one, it says what it is)."""
        if self.replica is not None:
            return ConfigError(
                f"this cache is a replica of {self.replica.url} ({self.replica.selection}): "
                "it never calls the API; srm replicate refreshes it, srm outbox push forwards "
                "its queued actions"
            )
        return ConfigError("no API URL: give --api-url or set SRM_API_URL")

    def profile(self) -> ApiProfile | None:
        """The connected API's profile as last detected (no network; None before the first
        contact). The demo's sandbox is known without asking."""
        from srm_tui.api.profile import SANDBOX, cached_profile, profile_for

        if self.is_demo:
            return profile_for(SANDBOX)
        if not self.settings.api_url:
            return None
        return cached_profile(self.cache.conn(), self.settings.api_url)

    def sync_engine(self, client: ApiClient, **kwargs: Any) -> SyncEngine:
        """The sync engine over this session's cache and the given client."""
        from srm_tui.sync.engine import SyncEngine

        kwargs.setdefault("page_size", self.settings.page_size)
        return SyncEngine(self.cache, client, **kwargs)

    # services ------------------------------------------------------------------------------

    @cached_property
    def actions(self) -> ActionService:
        """Support actions (through the outbox) for this session's agent."""
        from srm_tui.actions.service import ActionService

        return ActionService(
            self.cache,
            self.api_settings() or self.settings,
            client_factory=self.client,
            push_kind=self._forwarding(),
        )

    def _forwarding(self) -> Callable[[ActionService], Any] | None:
        """On a replica: the kind of write its pushes use (they forward its queued actions
        to its team store's outbox, team/forward.py); None anywhere else."""
        replica = self.replica
        if replica is None:
            return None
        from srm_tui.team.forward import ForwardWrites

        return lambda service: ForwardWrites(service, replica)

    @cached_property
    def offers(self) -> OfferService:
        """The offer catalogue, its drafts and coupons for this session's agent."""
        from srm_tui.offers.service import OfferService

        return OfferService(
            self.cache, self.api_settings() or self.settings, client_factory=self.client
        )

    @cached_property
    def writes(self) -> WriteEngine:
        """Every pending write (support actions, offer edits) behind one push-and-resolve
        engine, sent through this session's API (the outbox's entries by claims with leases,
        so several pushers share it: actions/outbox.py claim)."""
        from srm_tui.writes import WriteEngine

        if self.replica is not None:  # its actions go to the team store; offer edits stay
            return WriteEngine([self.actions.write_kind()])
        return WriteEngine([self.actions.write_kind(), self.offers.write_kind()])

    @cached_property
    def local_writes(self) -> WriteEngine:
        """The pending writes as the cache holds them (lists, counts, discards): never starts
        the demo's sandbox or calls the API."""
        from srm_tui.writes import WriteEngine

        return WriteEngine([self.local_actions.write_kind(), self.local_offers.write_kind()])

    @cached_property
    def segments(self) -> SegmentRunner:
        """The segment runner of this cache: one per session, so counts share its memo and
        (on a large cache) its worker processes."""
        from srm_tui.segments.engine import SegmentRunner

        return SegmentRunner(self.cache)  # a cache (its file) or the team store

    @cached_property
    def playbook(self) -> PlaybookService:
        """The retention playbook: its versions, the offers it makes at a cancel, their
        outcomes and report (offers are planned from the cache, taken through ``actions``)."""
        from srm_tui.playbook.service import PlaybookService

        return PlaybookService(
            self.cache,
            self.settings,
            previews=lambda: self.local_actions,
            actions=lambda: self.actions,
        )

    @cached_property
    def bulk(self) -> BulkService:
        """Bulk actions over a segment: dry runs, frozen runs sent through the outbox in
        batches (through ``actions``'s API), pause, cancel, resume and reports."""
        from srm_tui.bulk.service import BulkService

        return BulkService(
            self.cache,
            self.settings,
            self.actions,
            self.segment_store,
            client_factory=self.client,
        )

    # the offer and segment screens' reads ---------------------------------------------------

    @cached_property
    def offer_reads(self) -> OfferReads:
        """Typed reads of the cached catalogue: offers, their holders, season group names."""
        from srm_tui.storage.reads.offers import OfferReads

        return OfferReads(self.cache)

    @cached_property
    def segment_reads(self) -> SegmentReads:
        """Reads the segment screens need beside the store (customers by id or email)."""
        from srm_tui.storage.reads.segments import SegmentReads

        return SegmentReads(self.cache)

    @cached_property
    def segment_store(self) -> SegmentStore:
        """Saved segments, versions, static members and schedules of this cache."""
        from srm_tui.segments.service import SegmentStore

        return SegmentStore(self.cache)

    @cached_property
    def local_actions(self) -> ActionService:
        """Support actions over the configured settings as they are (previews, availability,
        the remembered profile, the outbox): the console's reads, which never start the
        demo's sandbox (``actions`` sends through it)."""
        from srm_tui.actions.service import ActionService

        return ActionService(self.cache, self.settings, client_factory=self.client)

    @cached_property
    def local_offers(self) -> OfferService:
        """The offer catalogue read from the cache alone (never calls the API)."""
        from srm_tui.offers.service import OfferService

        return OfferService(self.cache, self.settings.model_copy({"api_url": None}))

    # reads for the console -------------------------------------------------------------

    @cached_property
    def customers(self) -> CustomerReads:
        """Typed reads of customers: the list, its search, one account, its history."""
        from srm_tui.storage.reads.customers import CustomerReads

        return CustomerReads(self.cache)

    @cached_property
    def cache_state(self) -> StatusReads:
        """Typed reads of the cache's state: sync runs, quarantine, the outbox's counts."""
        from srm_tui.storage.reads.status import StatusReads

        return StatusReads(self.cache)

    def status(self) -> Status:
        """Last sync and the outbox's counts, for the status line."""
        return self.cache_state.status()

    def outbox_entry(self, outbox_id: int) -> OutboxItem | None:
        """One outbox entry by id (None once it is gone)."""
        from srm_tui.actions import outbox

        return outbox.get(self.cache.conn(), outbox_id)

    @property
    def pulls_from_api(self) -> bool:
        """Whether this session brings the vendor's records into its store: always on a SQLite
        cache; on the team store only for the writer's logins (srm_sync, the owner) — an
        agent's or a viewer's console reads what the team's `srm sync` brings."""
        if self.replica is not None:  # a replica is a copy: the team's sync fills the store
            return False
        return getattr(self.cache, "role", None) not in ("agent", "viewer")

    def waiting_for_writer(self) -> int:
        """How many of this login's requests (refreshes, forgets after its pushes) wait for
        the team's srm sync to serve them (storage/requests.py); 0 off the team store."""
        from srm_tui.storage import requests as store_requests

        if self.pulls_from_api or not store_requests.is_team_store(self.cache):
            return 0
        return store_requests.waiting_count(self.cache, mine=True)

    def fetch_customer(self, **what: Any) -> int | None:
        """Fetch one customer from the API into the cache (by customer_id, email or
        transaction_id); its id, or None when the API has none. Call off the UI thread."""
        if not self.has_api:
            raise RuntimeError("no API configured: the cache is read offline")
        if not self.pulls_from_api:
            from srm_tui.storage.cache import CacheReadOnly

            # The team store's vendor records are its writer's (srm sync), not an agent's.
            raise CacheReadOnly(
                "the team store's records are brought by the team's srm sync; this login "
                "cannot fetch into it"
            )
        with self.client() as client:
            return self.sync_engine(client).fetch_customer(**what)

    def change_feed(self) -> Any:
        """A feed of the changes others commit to the store (storage.changes.ChangeFeed; the
        caller closes it), or None for a SQLite cache, which has none."""
        from srm_tui.storage import changes

        return changes.open_feed(self.cache)

    def token_key_set(self) -> tuple[dict[str, Any] | None, str]:
        """The freshest JWT key set (fetched when an API answers, else the cached one) and
        where it came from. Call off the UI thread."""
        from srm_tui.api import jwks

        try:
            settings = self.api_settings()
        except Exception:  # offline: the cached key set still verifies
            settings = None
        return jwks.key_set(self.cache, settings.api_url if settings else None)

    # lifecycle -----------------------------------------------------------------------------

    def close(self) -> None:
        """Stop what the session started (services' clients, segment workers, the demo's
        sandbox). The cache is left open for whoever passed it in."""
        if self._closed:
            return
        self._closed = True
        for name in ("actions", "offers", "local_actions", "local_offers"):
            service = self.__dict__.get(name)
            if service is not None and hasattr(service, "close"):
                service.close()
        runner = self.__dict__.get("segments")
        if runner is not None:
            runner.close()
        if self.demo_sandbox is not None:
            self.demo_sandbox.stop()
            self.demo_sandbox = None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

"""`srm sync --watch`: the store's writer for as long as it runs (ISSUE15 1(d)).

The command holds the store's sync writer lock for the watch's life (cli/sync.py), so a
second watch or sync exits naming it. Each cycle serves the waiting store requests (an
agent's push asks for a customer's refresh, or for an anonymized customer's values to be
forgotten: storage/requests.py); every ``every`` seconds a cycle also runs an incremental
sync first. Between cycles the watch waits for the next sync or a wake-up: on the team store a
``NOTIFY srm_requests`` (sent by the transaction that queued a request), on a SQLite cache a
look at the table every second. A stop (SIGTERM, SIGINT) is taken between steps: after the
page or customer being written has committed, never inside it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from srm_tui.api import errors as api_errors
from srm_tui.api.profile import SANDBOX
from srm_tui.storage import db
from srm_tui.storage import requests as store_requests
from srm_tui.storage.cache import CacheError
from srm_tui.sync.engine import SyncSummary

# How long a served request is kept (for who wants to see it) before the writer drops it.
KEEP_SERVED_S = 24 * 3600
# Waiting refreshes beyond which a watch over a changes feed (the sandbox profile) runs its sync
# at once instead of fetching each customer: a bulk run's members are asked by the thousand,
# and one incremental sync brings them all.
SYNC_INSTEAD_OVER = 50
# The longest uninterrupted wait: a stop is noticed within it (signals only set a flag).
_SLICE_S = 0.5
# Slices between two looks at the writer lock during a wait (a query on its connection).
_LOCK_EVERY_SLICES = 10


@dataclass
class Cycle:
    """What one cycle of the watch did."""

    number: int
    at: int
    sync: SyncSummary | None = None
    served: store_requests.Served | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def did_something(self) -> bool:
        served = self.served
        return bool(
            self.sync is not None
            or self.errors
            or (served is not None and (served.done or served.errors))
        )

    def as_json(self) -> dict[str, Any]:
        """One JSON line of ``srm sync --watch --json``."""
        return {
            "cycle": self.number,
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.at)),
            "sync": self.sync.as_json() if self.sync is not None else None,
            "requests": self.served.as_json() if self.served is not None else None,
            "errors": self.errors,
        }

    def line(self) -> str:
        """One line for the terminal."""
        parts = []
        if self.sync is not None:
            total = sum(self.sync.counts.values())
            parts.append(
                f"synced {total:,} records in {self.sync.seconds:.1f} s"
                + (" (stopped)" if self.sync.stopped else "")
            )
        served = self.served
        if served is not None and (served.done or served.waiting):
            parts.append(
                f"served {served.done:,} requests ({served.refreshed:,} refreshed, "
                f"{served.forgotten:,} forgotten), {served.waiting:,} waiting"
            )
        said = "; ".join(parts) or "nothing to do"
        problems = (
            (self.sync.errors if self.sync else [])
            + (served.errors if served else [])
            + self.errors
        )
        if problems:
            said += " — " + "; ".join(problems)
        return time.strftime("%H:%M:%S", time.gmtime(self.at)) + " " + said


class Watch:
    """The loop; ``stop()`` (from a signal handler) ends it between steps."""

    def __init__(
        self,
        session: Any,
        client: Any,
        *,
        every: float,
        emit: Callable[[Cycle], None],
        now: Callable[[], int] | None = None,
        lock: Any = None,
    ) -> None:
        """``lock``: the writer lock the caller holds (storage/writer.py), looked at between
        steps and every few seconds of a wait; once lost the watch ends (``lost``)."""
        self.session = session
        self.client = client
        self.every = every
        self.emit = emit
        self.now = now or session.settings.now_ts
        self._stopped = False
        self._lock = lock
        self.lost = False
        self._cycles = 0
        self._feed: bool | None = None  # the API has a changes feed (known after a sync)

    def stop(self) -> None:
        """End the watch after the step in progress (safe from a signal handler)."""
        self._stopped = True

    @property
    def stopped(self) -> bool:
        return self._stopped

    def run(self) -> int:
        """Watch until stopped; the number of cycles run."""
        store = self.session.cache
        waker = store_requests.waker(store)
        waker.start()  # before the first pass reads the table: no request slips between
        next_sync = time.monotonic()
        try:
            while not self._stopped and self._holds_lock():
                self._cycles += 1
                cycle = Cycle(self._cycles, self.now())
                try:
                    if time.monotonic() >= next_sync or self._many_waiting(store):
                        try:
                            cycle.sync = self._sync()
                        finally:  # a failed sync too waits its period (no hammering)
                            next_sync = time.monotonic() + self.every
                        store_requests.prune(store, before=self.now() - KEEP_SERVED_S)
                    if not self._stopped:
                        cycle.served = self._serve()
                except (api_errors.ApiError, CacheError, *db.DB_ERRORS) as exc:
                    # The API or the store is away: said, and the next cycle tries again.
                    message = getattr(exc, "message", None) or str(exc).splitlines()[0]
                    cycle.errors.append(db.redact_url(message))
                if cycle.did_something:
                    self.emit(cycle)
                else:
                    self._cycles -= 1  # a wake-up that found the work done: not a cycle
                waker.start()  # (a cache's waker counts what waits from here)
                self._wait(waker, next_sync)
        finally:
            waker.close()
        return self._cycles

    def _engine(self) -> Any:
        return self.session.sync_engine(self.client, stop=self._ends_here)

    def _ends_here(self) -> bool:
        """Asked between pages and customers: stopped, or the lock lost (another writer may
        hold it now, so not one more page)."""
        return self._stopped or not self._holds_lock()

    def _many_waiting(self, store: Any) -> bool:
        return bool(self._feed) and (
            store_requests.waiting_count(store, kind="refresh") > SYNC_INSTEAD_OVER
        )

    def _sync(self) -> SyncSummary:
        engine = self._engine()
        up_to = store_requests.last_id(self.session.cache)
        try:
            summary = engine.run()
        except api_errors.ApiError as exc:  # the vendor profile records it, then raises
            self._feed = False
            summary = SyncSummary(mode="incremental", profile=engine.profile.name)
            summary.errors.append(exc.message)
            return summary
        # Only a sync that went through may be run early for waiting refreshes: one that
        # failed would be run again at once, and again.
        self._feed = summary.ok and summary.profile == SANDBOX
        settle_refreshes(self.session.cache, summary, up_to, self.now())
        return summary

    def _serve(self) -> store_requests.Served:
        engine = self._engine()
        return store_requests.serve(
            self.session.cache,
            lambda customer_id: engine.fetch_customer(customer_id=customer_id),
            now=self.now,
            stop=self._ends_here,
        )

    def _holds_lock(self) -> bool:
        """False once the writer lock is gone (then nothing more may be written)."""
        if self._lock is not None and not self._lock.alive():
            self.lost = True
            self._stopped = True
        return not self.lost

    def _wait(self, waker: Any, until: float) -> None:
        """Until the next sync is due, a request wakes the watch, it is stopped, or its lock
        is found lost (looked at every few seconds)."""
        slices = 0
        while not self._stopped:
            left = until - time.monotonic()
            if left <= 0:
                return
            if waker.wait(min(left, _SLICE_S)):
                return
            slices += 1
            if slices % _LOCK_EVERY_SLICES == 0 and not self._holds_lock():
                return


def settle_refreshes(store: Any, summary: SyncSummary, up_to: int, now: int) -> None:
    """After a whole incremental run over the sandbox profile's changes feed, the refreshes
    asked before it began are done (storage/requests.py settle_by_sync); the vendor profile
    refreshes only stale customers, so each of its requests is served by a fetch."""
    if summary.ok and not summary.stopped and summary.profile == SANDBOX and up_to:
        settled = store_requests.settle_by_sync(store, up_to, now=now)
        if settled:
            summary.extra["requests_settled"] = settled

"""The two kinds of write srm sends: support actions (the outbox) and offer edits (drafts).

Each adapts its service to the engine: list, send one in a batch, count what waits, decide.
The services keep their own rules, audit and cache follow-up; the engine keeps the order,
the stop and the summary.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from srm_tui.writes.record import OPEN, PENDING, PendingWrite

if TYPE_CHECKING:
    from srm_tui.actions.outbox import Claim
    from srm_tui.actions.service import ActionService
    from srm_tui.offers.service import OfferService

# Entries a push claims at a time (at most one per customer): small, so that several pushers
# share the queue and a killed one holds few rows until its lease runs out.
CLAIM_BATCH = 20


class ActionWrites:
    """Support actions: outbox entries, sent under their keys, watched fields as the base.
    The outbox is shared (the team store, or one cache several `srm outbox push` send): a
    push sends only the entries it claimed."""

    name = "action"

    def __init__(self, service: ActionService, claim: Claim | None = None) -> None:
        self.service = service
        # A claim its caller holds (and keeps the lease of): a run sending what it queued.
        self.claim = claim

    def writes(self, statuses: tuple[str, ...] | None = OPEN) -> list[PendingWrite]:
        from srm_tui.actions import outbox

        return [outbox.as_write(i) for i in self.service.outbox_items(statuses)]

    def get(self, write_id: int) -> PendingWrite | None:
        from srm_tui.actions import outbox

        item = outbox.get(self.service.cache.conn(), write_id)
        return outbox.as_write(item) if item else None

    def pushable(self) -> list[PendingWrite]:
        """The pending entries; a viewer may push nothing, and without an API nothing goes."""
        from srm_tui.api import errors as api_errors

        self.service._require_role()
        if not self.service.online:
            raise api_errors.Unreachable("no API URL is configured (--api-url or SRM_API_URL)")
        return self.writes((PENDING,))

    def pushing(self, writes: list[PendingWrite]) -> contextlib.AbstractContextManager[Any]:
        return self.service.pushing(writes)

    @contextlib.contextmanager
    def claiming(self, ids: list[int] | None) -> Iterator[Callable[[], list[PendingWrite]]]:
        """A push's claim on the outbox: yields the function claiming the next batch (the
        oldest pending entries nobody holds, each its customer's earliest); the lease is
        kept while the push sends, and what is left unsent is given back at the end."""
        from srm_tui.actions import outbox

        if ids is None:
            self.pushable()  # the role and the API, checked before anything is claimed
        service = self.service
        clock = service.settings.now_ts

        def take(mine: outbox.Claim) -> list[PendingWrite]:
            found = outbox.claim(service.cache, mine, now=clock(), limit=CLAIM_BATCH, ids=ids)
            return [outbox.as_write(i) for i in found]

        if self.claim is not None:
            mine = self.claim
            yield lambda: take(mine)
            return
        with outbox.leased(service.cache, outbox.Claim.new(service.settings.agent), clock) as c:
            yield lambda: take(c)

    def remaining(self) -> int:
        conn = self.service.cache.conn()
        return conn.execute("SELECT count(*) FROM outbox WHERE status = 'pending'").fetchone()[0]

    def held_elsewhere(self) -> str | None:
        """Who holds the pending entries this push left (other pushers' live claims), in one
        line; None when nobody does."""
        from srm_tui.actions import outbox

        holders = outbox.holders(self.service.cache.conn(), now=self.service.settings.now_ts())
        if not holders:
            return None
        count = sum(n for _, n in holders)
        names = ", ".join(f"{who} ({n})" for who, n in holders[:3])
        more = f" and {len(holders) - 3} more" if len(holders) > 3 else ""
        return (
            f"{count} pending entr{'y is' if count == 1 else 'ies are'} being sent by "
            f"{names}{more}; they are sent from there (their customers' later ones wait "
            "for them)"
        )

    def discard(self, write_id: int) -> Any:
        return self.service.resolve(write_id, retry=False)

    def retry(self, write_id: int) -> Any:
        return self.service.resolve(write_id, retry=True)


class OfferWrites:
    """Offer edits: drafts, sent with If-Match on the offer's version they were based on."""

    name = "offer"

    def __init__(self, service: OfferService) -> None:
        self.service = service

    def writes(self, statuses: tuple[str, ...] | None = OPEN) -> list[PendingWrite]:
        from srm_tui.offers import drafts

        # A draft is either waiting (pending) or in conflict; sent and discarded ones are gone.
        wanted = {drafts.DRAFT, drafts.CONFLICT} if statuses is None else set()
        if statuses is not None:
            if PENDING in statuses:
                wanted.add(drafts.DRAFT)
            if drafts.CONFLICT in statuses:
                wanted.add(drafts.CONFLICT)
        if not wanted:
            return []
        items = drafts.items(self.service.cache.conn(), statuses=tuple(sorted(wanted)))
        return [drafts.as_write(d) for d in items]

    def get(self, write_id: int) -> PendingWrite | None:
        from srm_tui.offers import drafts

        item = drafts.get(self.service.cache.conn(), write_id)
        return drafts.as_write(item) if item else None

    def pushable(self) -> list[PendingWrite]:
        return self.writes(OPEN)

    @contextlib.contextmanager
    def pushing(self, writes: list[PendingWrite]) -> Iterator[Any]:
        yield self.service.push_one

    def remaining(self) -> int:
        conn = self.service.cache.conn()
        return conn.execute("SELECT count(*) FROM offer_drafts WHERE status = 'draft'").fetchone()[
            0
        ]

    def discard(self, write_id: int) -> Any:
        return self.service.discard(write_id)

    def retry(self, write_id: int) -> Any:
        """Send a draft in conflict again as it is: every field mine."""
        item = self.get(write_id)
        if item is None:
            return self.service.discard(write_id)  # raises: no such draft
        return self.service.resolve(write_id, {c.what: "mine" for c in item.changes})

"""One batch of a run: its waiting members checked by their action's rules and queued in the
outbox, in one transaction (a kill leaves all of the batch waiting, or all of it queued).

A member a rule refuses ends ``refused`` with the rule and its reason (nothing is sent); each
other gets its outbox entry under the key ``bulk-<run token>-<member>``, so the entry of a
member is written once and sent under the same key however often the run is resumed; notes
kept in srm's own store (the vendor's API has no notes) are written at once. Every member
checked gets its audit entry, naming the run ("bulk #N: ..."), which its history shows.

``Killer`` is the test hook that SIGKILLs the process at an arranged point of a run.
"""

from __future__ import annotations

import os
import signal
from typing import TYPE_CHECKING

from srm_tui.actions import audit, local_notes, outbox
from srm_tui.bulk.model import Refused, Run
from srm_tui.storage import bulk as store

if TYPE_CHECKING:
    from srm_tui.bulk.service import BulkService

KILL_AFTER_ENV = "SRM_BULK_KILL_AFTER"  # tests: SIGKILL once N members are committed
KILL_POINT_ENV = "SRM_BULK_KILL_POINT"  # commit (default) | send | queue


def queue_batch(service: BulkService, run: Run) -> bool:
    """Check the next waiting members and queue those no rule refuses, in one
    transaction; False when none was waiting."""
    now = service.settings.now_ts()
    local = service._is_local(run.action)
    with service.cache.transaction() as tx:
        batch = store.waiting(tx, run.id, service.batch)
        for seq, customer_id, subscription_id in batch:
            planned = service.plan(run.action, run.params, customer_id, subscription_id)
            if isinstance(planned, Refused):
                store.settle(
                    tx,
                    run.id,
                    seq,
                    store.REFUSED,
                    now=now,
                    rule=planned.rule,
                    reason=planned.reason,
                )
                audit.record(
                    tx,
                    at=now,
                    agent=run.agent,
                    role=run.role,
                    action=run.action,
                    target=_target(planned),
                    customer_id=customer_id,
                    before=None,
                    after=None,
                    outcome="refused",
                    detail=f"{run.label}: {planned.rule}: {planned.reason}",
                )
                continue
            before, after = audit.sides(planned.changes)
            if local:  # notes kept in srm's own store: nothing to send
                local_notes.apply(tx, run.action, planned.args, agent=run.agent, now=now)
                store.settle(tx, run.id, seq, store.SENT_OK, now=now)
                audit.record(
                    tx,
                    at=now,
                    agent=run.agent,
                    role=run.role,
                    action=run.action,
                    target=planned.target,
                    customer_id=customer_id,
                    before=before,
                    after=after,
                    outcome="applied",
                    detail=f"{run.label}: {local_notes.NOTICE}",
                )
                continue
            planned.title = f"{planned.title} ({run.label})"
            item_id = outbox.enqueue(
                tx,
                key=f"bulk-{run_token(tx, run.id)}-{seq}",
                preview=planned,
                agent=run.agent or service.settings.agent,
                role=run.role or service.settings.role,
                now=now,
            )
            store.mark_queued(tx, run.id, seq, item_id)
            audit.record(
                tx,
                at=now,
                agent=run.agent,
                role=run.role,
                action=run.action,
                target=planned.target,
                customer_id=customer_id,
                before=before,
                after=after,
                outcome="queued",
                detail=f"{run.label}: outbox #{item_id}",
            )
    return bool(batch)


def _target(refused: Refused) -> str:
    if refused.subscription_id is not None:
        return f"subscription {refused.subscription_id}"
    return f"customer {refused.customer_id}"


def run_token(conn, run_id: int) -> str:
    return conn.execute("SELECT token FROM bulk_runs WHERE id = ?", (run_id,)).fetchone()[0]


class Killer:
    """The test hook that SIGKILLs the process at an arranged point (never by timing)."""

    def __init__(self, after: int | None, point: str) -> None:
        self.after = after
        self.point = point

    @classmethod
    def from_env(cls) -> Killer:
        raw = os.environ.get(KILL_AFTER_ENV, "")
        return cls(int(raw) if raw.isdigit() else None, os.environ.get(KILL_POINT_ENV, "commit"))

    def at(self, point: str, committed: int) -> None:
        if self.after is not None and point == self.point and committed >= self.after:
            os.kill(os.getpid(), signal.SIGKILL)

"""Sending a run's queued outbox entries: several at once, within the API's learnt pace.

Every entry goes under its own idempotency key (written with it when it was queued), so one
sent again after a kill or a lost answer is answered by the API without being applied twice.
The calls share one client, so they share its ``Pace`` (learnt from 429s) and its retries;
the answers are written here, on the run's thread, one member per transaction (the entry's
status, the member's end and the audit entry, together).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TYPE_CHECKING, Any

from srm_tui.actions import audit, outbox
from srm_tui.actions.registry import REGISTRY
from srm_tui.api import errors as api_errors
from srm_tui.bulk.model import Progress, Run
from srm_tui.storage import bulk as store

if TYPE_CHECKING:
    from srm_tui.actions.outbox import OutboxItem
    from srm_tui.bulk.service import BulkService

SENDERS = 16  # calls in flight at once (the pace keeps them within the API's rate)
ROUNDS = 5  # tries at the queued entries while the API does not answer, then the run pauses
PROGRESS_EVERY = 0.2  # seconds between progress reports


class Sender:
    """The queued entries of one run, sent and settled."""

    def __init__(self, service: BulkService, run: Run) -> None:
        self.service = service
        self.run = run
        self.committed = 0  # members this process settled from an answer
        self._client: Any = None
        self._pool: ThreadPoolExecutor | None = None
        self._told = 0.0
        self._held: str | None = None  # why a pass could claim none of the queued entries

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        if self._client is not None:
            self._client.close()

    def api(self) -> Any:
        """The run's client (made on first use, closed with the sender)."""
        if self._client is None:
            self._client = self.service.client()
        return self._client

    def send_queued(self, progress: Callable[[Progress], None] | None = None) -> str | None:
        """Send every queued member of the run; None once none is left, else why it
        stopped (the API did not answer after several rounds, or refused the key)."""
        conn = self.service.cache.conn()
        last = None
        for attempt in range(ROUNDS):
            rows = store.queued(conn, self.run.id)
            if not rows:
                return None
            last, final = self._round(rows, progress)
            if final:  # a refused key, or nothing listening at the API's address
                break
            if last is not None or self._held is not None:
                time.sleep(min(8.0, 0.5 * 2**attempt))
        if not store.queued(conn, self.run.id):
            return None
        if last is None and self._held is not None:
            return f"{self._held}; srm bulk resume {self.run.id} continues"
        return (
            f"the API did not answer ({last}); the queued members wait: "
            f"srm bulk resume {self.run.id} continues"
        )

    def _round(
        self, rows: list[Any], progress: Callable[[Progress], None] | None
    ) -> tuple[str | None, bool]:
        """One pass over the queued members: (the last failure worth another try, whether
        it was final). A refused connection ends the pass: the members not sent yet stay
        queued rather than each being refused in turn."""
        conn = self.service.cache.conn()
        self._held = None
        waiting: list[int] = []
        for row in rows:
            item = outbox.get(conn, row["outbox_id"])
            if item is not None and item.status == outbox.PENDING:
                waiting.append(row["seq"])
            else:  # settled by a push meanwhile (srm outbox push sends the same entries)
                self._from_outbox(row["seq"], row["customer_id"], item)
        if not waiting:
            return None, False
        # Only the entries this run claims are sent: another pusher may hold some, and a
        # customer's earlier queued action goes first (they are taken at a later pass).
        clock = self.service.settings.now_ts
        mine = outbox.Claim.new(self.run.agent)
        with outbox.leased(self.service.cache, mine, clock):
            taken = outbox.claim(
                self.service.cache, mine, now=clock(), limit=len(waiting), run_id=self.run.id
            )
            by_id = {item.id: item for item in taken}
            pending = [
                (row["seq"], by_id[row["outbox_id"]]) for row in rows if row["outbox_id"] in by_id
            ]
            if not pending:
                self._held = (
                    f"{len(waiting)} queued member(s) wait for entries another pusher holds "
                    "or for their customer's earlier queued actions"
                )
                return None, False
            return self._send_claimed(pending, progress)

    def _send_claimed(
        self, pending: list[tuple[int, OutboxItem]], progress: Callable[[Progress], None] | None
    ) -> tuple[str | None, bool]:
        """Send the claimed entries at once, settling each answer as it comes."""
        if self._pool is None:
            self._pool = ThreadPoolExecutor(SENDERS, thread_name_prefix="srm-bulk")
        api = self.api()
        away = threading.Event()  # set by the first refused connection of this pass
        futures = {self._pool.submit(_call, api, item, away): (seq, item) for seq, item in pending}
        last: str | None = None
        final = False
        killer = self.service.killer()
        for future in as_completed(futures):
            seq, item = futures[future]
            kind, answer = future.result()
            if kind == "skipped":  # not sent: the API was found away; it stays queued
                continue
            if kind == "sent":
                killer.at("send", self.committed)
                settled = self._sent(seq, item, answer)
            elif kind == "refused":
                settled = self._refused(seq, item, answer)
            else:
                with self.service.cache.transaction() as tx:
                    outbox.attempted(tx, item.id, answer.message, token=item.claim_token)
                last = answer.message
                final = final or kind == "auth" or away.is_set()
                continue
            if not settled:  # its lease ran out: the pusher that took it over settles it
                continue
            self.committed += 1
            killer.at("commit", self.committed)
            self._progress(progress)
        self._progress(progress, force=True)
        return last, final

    def _progress(self, progress: Callable[[Progress], None] | None, force: bool = False) -> None:
        if progress is None:
            return
        now = time.monotonic()
        if force or now - self._told >= PROGRESS_EVERY:
            self._told = now
            counts = store.counts(self.service.cache.conn(), self.run.id)
            progress(Progress(self.run.id, self.run.members, counts))

    def _now(self) -> int:
        return self.service.settings.now_ts()

    def _record(self, tx: Any, item: OutboxItem, outcome: str, detail: str) -> None:
        before, after = audit.sides(item.changes)
        audit.record(
            tx,
            at=self._now(),
            agent=item.agent,
            role=item.role,
            action=item.action,
            target=item.target,
            customer_id=item.customer_id,
            before=before,
            after=after,
            outcome=outcome,
            detail=f"{self.run.label}: {detail}",
        )

    def _sent(self, seq: int, item: OutboxItem, status: int) -> bool:
        """The entry, its member and the audit, together; False (nothing written) when the
        entry's lease ran out and another pusher holds it now."""
        with self.service.cache.transaction() as tx:
            if not outbox.settle(
                tx,
                item.id,
                outbox.SENT,
                now=self._now(),
                response={"status": status},
                token=item.claim_token,
            ):
                return False
            store.settle(tx, self.run.id, seq, store.SENT_OK, now=self._now())
            self._record(tx, item, "sent", f"outbox #{item.id}")
        return True

    def _refused(self, seq: int, item: OutboxItem, exc: api_errors.ApiError) -> bool:
        rule = REGISTRY[item.action].rule_for(exc.message)
        rule_id = rule.id if rule else f"api.{exc.status}"
        reason = f"HTTP {exc.status}: {exc.message}"
        with self.service.cache.transaction() as tx:
            if not outbox.settle(
                tx,
                item.id,
                outbox.REFUSED,
                now=self._now(),
                error=exc.message,
                response={"status": exc.status},
                token=item.claim_token,
            ):
                return False
            store.settle(
                tx, self.run.id, seq, store.FAILED, now=self._now(), rule=rule_id, reason=reason
            )
            self._record(tx, item, "refused", f"outbox #{item.id}: {reason}")
        return True

    def _from_outbox(self, seq: int, customer_id: int, item: OutboxItem | None) -> None:
        """A queued member whose entry someone else settled: it ends as the entry did."""
        if item is not None and item.status == outbox.SENT:
            status, reason = store.SENT_OK, None
        elif item is not None and item.status == outbox.DISCARDED:
            status, reason = store.CANCELLED, f"outbox #{item.id} was discarded"
        elif item is None:
            status, reason = store.FAILED, "its outbox entry is gone"
        else:
            status, reason = store.FAILED, f"outbox #{item.id} {item.status}: {item.last_error}"
        with self.service.cache.transaction() as tx:
            store.settle(tx, self.run.id, seq, status, now=self._now(), reason=reason)


def _call(api: Any, item: OutboxItem, away: threading.Event) -> tuple[str, Any]:
    """Send one entry (its steps first, each under its own key); what became of it.
    Once a call of the pass found the connection refused, the rest are skipped."""
    if away.is_set():
        return "skipped", None
    headers = {"X-Srm-Editor": (item.agent or "srm").encode("utf-8")}  # UTF-8 names
    try:
        for i, step in enumerate(item.request.steps, 1):
            api.request(
                step.method,
                step.path,
                params=step.params,
                json_body=step.body,
                headers=headers,
                idempotency_key=f"{item.key}.{i}",
            )
        response = api.request(
            item.request.method,
            item.request.path,
            params=item.request.params,
            json_body=item.request.body,
            headers=headers,
            idempotency_key=item.key,
        )
    except api_errors.AuthError as exc:
        return "auth", exc
    except api_errors.ApiError as exc:
        if api_errors.is_transient(exc):
            if getattr(exc, "refused", False):
                away.set()
            return "waiting", exc
        return "refused", exc
    return "sent", response.status_code

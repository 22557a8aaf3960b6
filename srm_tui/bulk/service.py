"""Bulk actions over a segment: dry run, freeze, run in batches, pause, cancel, resume, report.

A run is frozen at start: its definition (action, inputs, segment, agent, role) and its
members are written in one transaction. It then goes batch by batch: the batch's members are
checked by their action's rules (``ActionService.preview``, from the cache, before anything is
sent); a refused member ends ``refused`` with its rule; each other member's outbox entry is
written under a key made of the run and the member, in the transaction that marks it
``queued``. The queued entries are then sent (srm_tui.bulk.sender) within the API's learnt
pace. A run killed anywhere resumes from what the cache holds: a member is queued once, and
an entry sent again goes under its own key, which the API answers without applying it twice.

Pause and cancel are asked through the run's row (``control``) and honoured between batches,
so they work from another process too.

Over 400 lines: dry run, start, run, pause, cancel, resume and the report share the run's
frozen definition and its member states; the queue, sender and checks are apart.
"""

from __future__ import annotations

import csv
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from srm_tui.actions import profiles
from srm_tui.actions.rules import ActionInvalid, iso
from srm_tui.bulk import checks, model
from srm_tui.bulk import members as M
from srm_tui.bulk.model import BulkInvalid, DryRun, Progress, Refused, Run
from srm_tui.bulk.queue import KILL_AFTER_ENV, KILL_POINT_ENV, Killer, queue_batch
from srm_tui.bulk.sender import Sender
from srm_tui.storage import bulk as store

if TYPE_CHECKING:
    from srm_tui.actions.service import ActionService
    from srm_tui.api.profile import ApiProfile
    from srm_tui.config import Settings
    from srm_tui.segments.service import SegmentStore
    from srm_tui.storage.cache import Cache

BATCH = 200  # members checked and queued per transaction; control is read between batches
SAMPLE = 5
PRIVILEGED = ("owner", "admin")


class BulkService:
    """Bulk runs over one cache, for the session's agent."""

    def __init__(
        self,
        cache: Cache,
        settings: Settings,
        actions: ActionService,
        segments: SegmentStore,
        *,
        client_factory: Callable[..., Any] | None = None,
        profile: ApiProfile | None = None,
        batch: int = BATCH,
    ) -> None:
        """``actions`` plans each member; ``client_factory`` (the session's ``client``) makes
        the client the run sends through; ``profile`` stands for the connected API's."""
        self.cache = cache
        self.settings = settings
        self.actions = actions
        self.segments = segments
        self._client_factory = client_factory
        self._profile = profile
        self.batch = batch
        self._killer = Killer.from_env()
        # Called between batches on the run's thread (tests hold a run there to pause it).
        self.between_batches: Callable[[int], None] | None = None

    # checks ------------------------------------------------------------------------------

    def profile(self) -> ApiProfile | None:
        return self._profile if self._profile is not None else self.actions.profile()

    def _require_role(self) -> None:
        if self.settings.role == "viewer":
            raise BulkInvalid("role", "the viewer role is read only: it can run no bulk action")

    def check_params(self, action: str, params: dict[str, Any]) -> dict[str, Any]:
        """The run's inputs, checked once for every member (BulkInvalid names the field)."""
        return checks.check_params(action, params, self.cache.conn(), self.profile())

    def _offered(self, action: str) -> None:
        """NotOffered (the vendor's own way in its message) when the API has no call for it."""
        profiles.offered(self.profile(), action)

    # planning -----------------------------------------------------------------------------

    def target(self, segment: str) -> M.Target:
        return M.resolve(self.segments, self.cache.conn(), segment, self.settings.now_ts())

    def member_args(
        self, action: str, params: dict[str, Any], customer_id: int, subscription_id: int | None
    ) -> dict[str, Any] | Refused:
        """One member's action inputs, or why it cannot have any."""
        if model.TARGETS[action] == "customer":
            return {"customer_id": customer_id, **params}
        if subscription_id is None:
            return Refused(customer_id, None, *model.NO_SUBSCRIPTION)
        if action == "extend":
            if "until" in params:
                return {"access_id": subscription_id, "until": params["until"]}
            row = (
                self.cache.conn()
                .execute("SELECT date_to FROM subscriptions WHERE id = ?", (subscription_id,))
                .fetchone()
            )
            if row is None or row[0] is None:
                return Refused(customer_id, subscription_id, *model.NO_END)
            until = row[0] + params["days"] * 86400
            if until <= self.settings.now_ts():
                return Refused(
                    customer_id,
                    subscription_id,
                    model.STILL_ENDED,
                    f"its access ended {iso(row[0])}; {params['days']} days from then is still "
                    "past (extend it with a date instead: until)",
                )
            return {"access_id": subscription_id, "until": iso(until)}
        return {"subscription_id": subscription_id, **params}

    def plan(
        self, action: str, params: dict[str, Any], customer_id: int, subscription_id: int | None
    ) -> Any:
        """A member's preview (its action's rules checked from the cache), or ``Refused``."""
        args = self.member_args(action, params, customer_id, subscription_id)
        if isinstance(args, Refused):
            return args
        try:
            preview = self.actions.preview(action, **args)
        except ActionInvalid as exc:
            return Refused(customer_id, subscription_id, model.INPUT, f"{exc.field}: {exc.message}")
        if preview.blocked is not None:
            return Refused(
                customer_id, subscription_id, preview.blocked.rule, preview.blocked.message
            )
        return preview

    def _require_api(self, action: str) -> None:
        """A run sends through the API: without one it would only fill the outbox."""
        if not self.actions.online and not self._is_local(action):
            raise BulkInvalid(
                "api",
                "no API configured: a bulk run is sent through the API (--api-url or "
                "SRM_API_URL); --dry-run works offline",
            )

    def _gate(self, action: str, params: dict[str, Any], segment: str) -> tuple[dict, M.Target]:
        self._require_role()
        checked = self.check_params(action, params)
        self._offered(action)
        return checked, self.target(segment)

    def dry_run(self, action: str, segment: str, params: dict[str, Any]) -> DryRun:
        """What a run would do; nothing is written (``sample`` holds the first previews)."""
        checked, target = self._gate(action, params, segment)
        rows = M.members(self.cache.conn(), target.compiled)
        sample, refused = [], []
        for customer_id, subscription_id in rows:
            planned = self.plan(action, checked, customer_id, subscription_id)
            if isinstance(planned, Refused):
                refused.append(planned)
            elif len(sample) < SAMPLE:
                sample.append(planned)
        limit = self.settings.bulk_limit
        return DryRun(
            action,
            target.name,
            checked,
            len(rows),
            sample,
            refused,
            model.irreversible(action),
            len(rows) > limit,
            limit,
        )

    def start(
        self,
        action: str,
        segment: str,
        params: dict[str, Any],
        *,
        confirm_count: int | None = None,
    ) -> Run:
        """Freeze a run (definition and members, one transaction) after every check: the
        role, the inputs, the API's offer, the segment, the limit, the count typed back."""
        checked, target = self._gate(action, params, segment)
        self._require_api(action)
        rows = M.members(self.cache.conn(), target.compiled)
        if not rows:
            raise BulkInvalid("segment", f"{target.name}: the segment has no members")
        limit = self.settings.bulk_limit
        if len(rows) > limit and self.settings.role not in PRIVILEGED:
            raise BulkInvalid(
                "role",
                f"a run over {len(rows):,} members (more than bulk_limit {limit:,}) needs the "
                f"owner or admin role, not {self.settings.role}",
            )
        if model.irreversible(action) and confirm_count != len(rows):
            said = "not given" if confirm_count is None else f"{confirm_count:,} is not it"
            raise BulkInvalid(
                "confirm_count",
                f"{action} cannot be undone: type the segment's member count back ({said})",
            )
        now = self.settings.now_ts()
        with self.cache.transaction() as tx:
            run_id = store.create_run(
                tx,
                token=uuid.uuid4().hex,
                action=action,
                params=checked,
                segment_name=target.name,
                definition=target.definition,
                agent=self.settings.agent,
                role=self.settings.role,
                members=rows,
                now=now,
            )
        found = self.get(run_id)
        assert found is not None
        return found

    # reading ------------------------------------------------------------------------------

    def get(self, run_id: int) -> Run | None:
        conn = self.cache.conn()
        row = store.get_run(conn, run_id)
        return None if row is None else _run(row, store.counts(conn, run_id))

    def require(self, run_id: int) -> Run:
        found = self.get(run_id)
        if found is None:
            raise BulkInvalid("run", f"no bulk run {run_id}")
        return found

    def runs(self) -> list[Run]:
        conn = self.cache.conn()
        return [_run(r, store.counts(conn, r["id"])) for r in store.list_runs(conn)]

    def report(self, run_id: int) -> dict[str, Any]:
        """The run and every member's outcome (the JSON report)."""
        run = self.require(run_id)
        conn = self.cache.conn()
        rows = [dict(r) for r in store.members(conn, run_id)]
        for r in rows:
            r["settled_at"] = iso(r["settled_at"])
        return {
            "run": run.to_json(),
            "refused_by_rule": dict(store.refusals(conn, run_id)),
            "members": rows,
        }

    def write_csv(self, run_id: int, path: str, *, replace: bool = False) -> int:
        """The report as CSV, one member a line (never through a link; an existing file only
        with ``replace``; private to the user); how many members."""
        from srm_tui.storage import files

        rows = self.report(run_id)["members"]

        def fill(handle: Any) -> int:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(model.REPORT_COLUMNS)
            for row in rows:
                writer.writerow([_cell(row[c]) for c in model.REPORT_COLUMNS])
            return len(rows)

        return files.write_file(path, fill, replace=replace)

    # control ------------------------------------------------------------------------------

    def pause(self, run_id: int) -> Run:
        """Ask a run to stop after its current batch (resume continues it)."""
        self._require_role()
        run = self.require(run_id)
        if run.status != store.RUNNING:
            raise BulkInvalid("run", f"bulk #{run_id} is {run.status}: only a running run pauses")
        with self.cache.transaction() as tx:
            store.set_control(tx, run_id, "pause", self.settings.now_ts())
        return self.require(run_id)

    def cancel(self, run_id: int) -> Run:
        """Members not queued yet end cancelled; those already queued are still sent (they
        may have reached the API) by whoever runs it, or by ``resume``."""
        self._require_role()
        run = self.require(run_id)
        if not run.open:
            raise BulkInvalid("run", f"bulk #{run_id} is {run.status}: it cannot be cancelled")
        now = self.settings.now_ts()
        with self.cache.transaction() as tx:
            store.cancel_waiting(tx, run_id, now)
            if store.queued(tx, run_id):  # whoever runs it sends those, then ends it
                store.set_control(tx, run_id, "cancel", now)
            else:  # a process running it stops at its next check of control
                store.set_status(
                    tx, run_id, store.CANCELLED, now=now, note="cancelled", control="cancel"
                )
        return self.require(run_id)

    # running ------------------------------------------------------------------------------

    def run(self, run_id: int, progress: Callable[[Progress], None] | None = None) -> Run:
        """Carry a run on until it is done, paused, cancelled or the API stops answering
        (then it is paused, saying why). Resuming is running it again."""
        self._require_role()
        run = self.require(run_id)
        if not run.open:
            return run
        self._require_api(run.action)
        conn = self.cache.conn()
        with self.cache.transaction() as tx:
            control = store.control(tx, run_id)
            status = store.RUNNING if run.status != store.CANCELLED else run.status
            keep = "cancel" if control == "cancel" else None
            store.set_status(tx, run_id, status, now=self.settings.now_ts(), control=keep)
        sender = Sender(self, run)
        try:
            while True:
                stopped = sender.send_queued(progress)  # what a kill or a pause left queued
                if stopped:
                    return self._finish(run_id, store.PAUSED, self._catch_up(sender, stopped))
                self._tell(progress, run)
                if self.between_batches is not None:
                    self.between_batches(run_id)
                control = store.control(conn, run_id)
                if control == "pause":
                    note = self._catch_up(sender, "paused by the agent")
                    return self._finish(run_id, store.PAUSED, note)
                if control == "cancel":
                    with self.cache.transaction() as tx:
                        store.cancel_waiting(tx, run_id, self.settings.now_ts())
                    note = self._catch_up(sender, "cancelled")
                    return self._finish(run_id, store.CANCELLED, note)
                if not self._queue_batch(run):
                    return self._finish(run_id, store.DONE, self._catch_up(sender, None))
                self._killer.at("queue", sender.committed)
        finally:
            sender.close()

    def _tell(self, progress: Callable[[Progress], None] | None, run: Run) -> None:
        if progress is not None:
            progress(Progress(run.id, run.members, store.counts(self.cache.conn(), run.id)))

    def _catch_up(self, sender: Sender, note: str | None) -> str | None:
        """Bring the changes a run made into the cache: one incremental sync where the API
        enumerates changes (the sandbox's); the vendor's API is refreshed by srm sync."""
        if not sender.committed:
            return note
        if getattr(self.cache, "role", None) is not None:
            # The team store's vendor records are its sync's to write (one writer per store).
            told = "the team store shows the changes after the team's next srm sync"
            return f"{note}; {told}" if note else told
        profile = self.profile()
        problem = "the vendor's API is refreshed customer by customer"
        if profile is not None and profile.name == "sandbox":
            from srm_tui.api import errors as api_errors
            from srm_tui.sync.engine import SyncEngine

            try:
                summary = SyncEngine(self.cache, sender.api()).run()
                problem = "; ".join(summary.errors) or ""
            except api_errors.ApiError as exc:
                problem = exc.message
        if not problem:
            return note
        told = f"the cache shows the changes after the next srm sync ({problem})"
        return f"{note}; {told}" if note else told

    def _finish(self, run_id: int, status: str, note: str | None) -> Run:
        with self.cache.transaction() as tx:
            store.set_status(tx, run_id, status, now=self.settings.now_ts(), note=note)
        return self.require(run_id)

    def _queue_batch(self, run: Run) -> bool:
        """Check the next waiting members and queue those no rule refuses (one transaction);
        False when none was waiting."""
        return queue_batch(self, run)

    def _is_local(self, action: str) -> bool:
        feature = profiles.offered(self.profile(), action)
        return feature is not None and feature.local

    def client(self) -> Any:
        """A client for a run: the session's, with a retry policy for long unattended work."""
        from srm_tui.api.client import ApiClient, RetryPolicy

        retry = RetryPolicy(attempts=8, base_delay=0.2, max_delay=2.0, max_retry_after=10.0)
        if self._client_factory is not None:
            return self._client_factory(retry=retry)
        settings = self.actions.settings
        return ApiClient(settings.api_url, settings.key(), timeout=settings.timeout, retry=retry)

    def killer(self) -> Killer:
        return self._killer


def _run(row: dict[str, Any], counts: dict[str, int]) -> Run:
    return Run(
        id=row["id"],
        action=row["action"],
        params=row["params"],
        segment=row["segment_name"],
        definition=row["segment_definition"],
        agent=row["agent"],
        role=row["role"],
        status=row["status"],
        control=row["control"],
        members=row["members"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        finished_at=row["finished_at"],
        note=row["note"],
        counts=counts,
    )


def _cell(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text (never runs it as a formula)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


__all__ = ["BATCH", "BulkService", "KILL_AFTER_ENV", "KILL_POINT_ENV"]

"""The action service: preview, run (write-through or queued), push the outbox, resolve.

The console and the CLI both call this. A run is planned from the cache (rules hold offline
and in a dry run), written to the outbox, then, when the API is configured, sent at once
under its idempotency key. The API's answer decides: applied (the customer is refreshed from
the API so the cache follows it), refused (reported like a local rule), or, when the API
cannot be reached, left queued for ``push``.

Over 400 lines: preview, run, the outbox kind's push step and the API follow-up (refresh,
anonymization, audit) share one service's state; splitting them would pass it all around.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from srm_tui.actions import audit, local_notes, outbox, profiles, team
from srm_tui.actions.outbox import CONFLICT, FAILED, PENDING, REFUSED, SENT, OutboxItem
from srm_tui.actions.registry import REGISTRY
from srm_tui.actions.registry import spec as get_spec
from srm_tui.actions.rules import (
    ActionError,
    ActionInvalid,
    ActionRefused,
    ActionSpec,
    ConfirmationRequired,
    Context,
    Preview,
    Refusal,
    Request,
    Rule,
    dotted,
    same,
    unknown_args,
)
from srm_tui.api import errors as api_errors
from srm_tui.api import profile as api_profile
from srm_tui.api.client import ApiClient
from srm_tui.api.profile import ApiProfile, NotOffered
from srm_tui.config import Settings
from srm_tui.storage import observed as observed_changes
from srm_tui.storage import privacy
from srm_tui.storage import requests as store_requests
from srm_tui.storage.cache import Cache
from srm_tui.sync.engine import SyncEngine
from srm_tui.writes import ClientHolder, PushSummary, Settled, WriteEngine, interactive_retry
from srm_tui.writes.engine import LOST
from srm_tui.writes.record import PendingWrite

ROLE_VIEWER = Rule("role.viewer", "the viewer role is read only: it can run no action")
# An action is interactive: a few quick retries, then the outbox takes over (the one
# policy every write is sent with).
ACTION_RETRY = interactive_retry()
# Tests: a push SIGKILLs its own process once it has sent N entries, the N-th answered by the
# API but not yet settled (the lease and the idempotency key must make that good).
PUSH_KILL_AFTER_ENV = "SRM_PUSH_KILL_AFTER_SENDS"

__all__ = [
    "ActionService",
    "Outcome",
    "PushSummary",
    "ActionError",
    "ActionInvalid",
    "ActionRefused",
    "ConfirmationRequired",
    "NotOffered",
]


@dataclass
class Outcome:
    status: str  # "applied" | "queued"
    message: str
    outbox_id: int | None = None
    preview: Preview | None = None
    # Export files srm wrote earlier that still hold an anonymized customer's data.
    exports: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "message": self.message,
            "outbox_id": self.outbox_id,
            "action": self.preview.action if self.preview else None,
            "target": self.preview.target if self.preview else None,
            "customer_id": self.preview.customer_id if self.preview else None,
            "exports_holding_data": self.exports,
        }


def exports_message(paths: list[str]) -> str:
    """What the agent is told about export files that still hold an anonymized customer."""
    return (
        f"{len(paths)} export file(s) written earlier still hold this customer's data "
        f"(delete or re-export them): {', '.join(paths)}"
    )


class ActionService:
    """Support actions over one cache, for one agent (``settings.agent``, ``settings.role``)."""

    def __init__(
        self,
        cache: Cache,
        settings: Settings,
        *,
        client: ApiClient | None = None,
        after_send: Callable[[OutboxItem], None] | None = None,
        client_factory: Callable[..., ApiClient] | None = None,
        push_kind: Callable[[ActionService], Any] | None = None,
    ):
        """``client_factory`` (the session's ``client``) makes the API client on first use;
        ``client`` is one given outright (tests), closed by whoever made it; ``push_kind``
        makes the kind of write its pushes use instead of the API's (a replica's forward to
        its team store: team/forward.py)."""
        self.cache = cache
        self.settings = settings
        self._clients = ClientHolder(settings, client=client, factory=client_factory)
        self._push_kind = push_kind
        # Called after the API accepted an outbox entry and before its status is written
        # (tests stop the process there to prove a re-sent key applies once).
        self._after_send = after_send
        kill_after = os.environ.get(PUSH_KILL_AFTER_ENV, "")
        self._kill_after = int(kill_after) if kill_after.isdigit() else None
        self._sends = 0  # entries this service's pushes had the API accept
        self._holding: dict[int, list[str]] = {}  # outbox id -> exports holding its data
        self._profile: ApiProfile | None = None  # detected once per service, when online
        # On the team store: the API's records fetched for a push, kept out of the store.
        self._team = team.is_team_store(cache)
        self._api_views = team.ApiViews()

    # registry ------------------------------------------------------------------------------

    REGISTRY_NAMES = frozenset(REGISTRY)

    @staticmethod
    def specs() -> list[ActionSpec]:
        return list(REGISTRY.values())

    @staticmethod
    def spec(name: str) -> ActionSpec:
        return get_spec(name)

    @property
    def online(self) -> bool:
        return bool(self.settings.api_url)

    def client(self) -> ApiClient:
        """The API client of this service's writes (made once; Unreachable without an API)."""
        return self._clients.get()

    # what the API offers ----------------------------------------------------------------

    def known_profile(self) -> ApiProfile | None:
        """The API profile the cache remembers (no network): what a preview goes by."""
        if self._profile is not None:
            return self._profile
        return profiles.remembered(self.cache.conn(), self.settings.api_url)

    def profile(self) -> ApiProfile | None:
        """The connected API's profile: detected (once) and remembered when online; offline,
        or when the API cannot be asked, the one the cache remembers. None: never learnt."""
        if self._profile is not None:
            return self._profile
        conn = self.cache.conn()
        if self.online:
            try:
                self._profile = self._resolve_profile(conn)
            except api_errors.ApiError:
                return profiles.remembered(conn, self.settings.api_url) or profiles.remembered(
                    conn, None
                )
            return self._profile
        return profiles.remembered(conn, None)

    def _resolve_profile(self, conn: Any) -> ApiProfile:
        """Detect the API's profile and remember it in the store; a login that may not write
        the team store's meta (an agent) uses what it detected without remembering it."""
        from srm_tui.storage import db

        if not self._team:
            return api_profile.resolve(conn, self.client())
        known = api_profile.cached_profile(conn, self.client().base_url)
        if known is not None:
            return known
        found = api_profile.detect(self.client())
        try:
            api_profile.remember_profile(conn, self.client().base_url, found)
        except db.DB_ERRORS:
            pass  # not this login's to write: the next detection asks again
        return found

    def availability(self, name: str) -> NotOffered | None:
        """Why an action cannot run against the remembered API, or None (no network)."""
        try:
            profiles.offered(self.known_profile(), name)
        except NotOffered as exc:
            return exc
        return None

    def close(self) -> None:
        self._clients.close()
        self._api_views.close()

    # preview and run -------------------------------------------------------------------------

    def _context(self) -> Context:
        known = self.known_profile()
        return Context(
            self.cache.conn(),
            self.settings.now_ts(),
            self.settings.agent,
            self.settings.role,
            known.name if known else None,
        )

    def preview(self, name: str, **args: Any) -> Preview:
        """What the action would change and which rule blocks it; raises ActionInvalid, or
        NotOffered when the API (as the cache remembers it) has no call for it."""
        spec = get_spec(name)
        feature = profiles.offered(self.known_profile(), name)
        args = {k: v for k, v in args.items() if v is not None}
        unknown_args(spec, args)
        preview = spec.plan(self._context(), args)
        preview.args = args
        preview.destructive = preview.destructive or spec.destructive
        preview.irreversible = spec.irreversible
        profile = self.known_profile()
        if (
            name == "edit"
            and profile is not None
            and profile.name == api_profile.VENDOR
            and "companyName" in (preview.request.body or {})
        ):
            # The vendor's PATCH /customers/{id} has no company: it is a capture answer.
            raise ActionInvalid(
                "company",
                "not offered by this API: the vendor's customer "
                "call has no company field (it is a registration "
                "answer the customer changes in their account)",
            )
        if feature is not None and feature.local:  # nothing is sent: say where it is kept
            preview.request = Request("LOCAL", "srm's own store")
            preview.warnings.append(local_notes.NOTICE)
        if self.settings.role == "viewer":
            preview.blocked = Refusal(ROLE_VIEWER.id, ROLE_VIEWER.text)
        return preview

    def run(self, name: str, confirm: bool = False, **args: Any) -> Outcome:
        """Run an action: applied through the API, or queued in the outbox.

        Raises ActionInvalid (input), ActionRefused (a rule, local or the API's),
        ConfirmationRequired (an irreversible action without ``confirm``), NotOffered (the
        connected API has no call for it: never queued). Notes of an API without a notes call
        are kept in srm's own store.
        """
        spec = get_spec(name)  # an unknown name fails before the API is asked anything
        refused_here = team.refused_here(self.cache, name)
        if refused_here is not None:
            raise ActionRefused("team.store", refused_here)
        feature = profiles.offered(self.profile(), name)
        preview = self.preview(name, **args)
        if preview.blocked:
            self._audit_preview(
                preview, "refused", f"{preview.blocked.rule}: {preview.blocked.message}"
            )
            raise ActionRefused(preview.blocked.rule, preview.blocked.message)
        if spec.irreversible and not confirm:
            raise ConfirmationRequired(name)
        if feature is not None and feature.local:
            return self._local(preview)
        # Sent from here at once: born claimed, so no other pusher takes it meanwhile.
        mine = outbox.Claim.new(self.settings.agent) if self.online else None
        with self.cache.transaction() as tx:
            item_id = outbox.enqueue(
                tx,
                key=uuid.uuid4().hex,
                preview=preview,
                agent=self.settings.agent,
                role=self.settings.role,
                now=self.settings.now_ts(),
                claim=mine,
            )
        if mine is None:
            self._audit_preview(preview, "queued", f"outbox #{item_id}: no API configured")
            return Outcome(
                "queued",
                f"offline: queued as outbox #{item_id}; srm outbox push sends it",
                item_id,
                preview,
            )
        # The lease is kept while it is sent; left pending, it is given back to the pushers.
        with outbox.leased(self.cache, mine, self.settings.now_ts):
            return self._send_queued(spec, preview, item_id, mine)

    def _send_queued(
        self, spec: ActionSpec, preview: Preview, item_id: int, mine: outbox.Claim
    ) -> Outcome:
        """Send the entry a run just queued (claimed by ``mine``): after the customer's
        earlier queued actions, in order, or at once."""
        conn = self.cache.conn()
        item = outbox.get(conn, item_id)
        assert item is not None
        earlier = [
            i
            for i in outbox.items(conn, customer_id=preview.customer_id, statuses=(PENDING,))
            if i.id < item_id
        ]
        if earlier:  # the customer's queued actions go first, in order
            summary = self._push(earlier + [item], mine)
            item = outbox.get(conn, item_id)
            assert item is not None
            if item.status == SENT:
                held = self._holding.pop(item_id, [])
                note = f"; {exports_message(held)}" if held else ""
                return Outcome(
                    "applied",
                    f"{preview.title}: done (after {len(earlier)} "
                    f"queued action(s) of this customer){note}",
                    None,
                    preview,
                    held,
                )
            if item.status == PENDING:
                self._audit_item(item, "queued", f"outbox #{item_id}: {summary.stopped}")
                return Outcome(
                    "queued",
                    f"queued as outbox #{item_id} behind this customer's "
                    f"earlier actions; push {summary.stopped}",
                    item_id,
                    preview,
                )
            raise ActionRefused(
                "outbox.conflict",
                f"{item.last_error} (outbox #{item_id}; srm outbox resolve decides)",
            )
        return self._direct(spec, preview, item)

    def _local(self, preview: Preview) -> Outcome:
        """Carry the action out in srm's own store, with its audit entry, in one transaction."""
        with self.cache.transaction() as tx:
            note = local_notes.apply(
                tx,
                preview.action,
                preview.args,
                agent=self.settings.agent,
                now=self.settings.now_ts(),
            )
            before, after = audit.sides(preview.changes)
            audit.record(
                tx,
                at=self.settings.now_ts(),
                agent=self.settings.agent,
                role=self.settings.role,
                action=preview.action,
                target=f"note {note['id']}",
                customer_id=preview.customer_id,
                before=before,
                after=after,
                outcome="applied",
                detail=local_notes.NOTICE,
            )
        return Outcome(
            "applied",
            f"{preview.title}: done, note {note['id']} ({local_notes.NOTICE})",
            None,
            preview,
        )

    def _direct(self, spec: ActionSpec, preview: Preview, item: OutboxItem) -> Outcome:
        try:
            return self._direct_claimed(spec, preview, item)
        except outbox.LeaseLost as lost:  # held past its lease: another pusher has it now
            return Outcome(
                "queued",
                f"{lost}; it is sent from there under the same key (outbox #{item.id})",
                item.id,
                preview,
            )

    def _direct_claimed(self, spec: ActionSpec, preview: Preview, item: OutboxItem) -> Outcome:
        values = self._personal(item)
        try:
            response = self._send(item)
        except api_errors.ApiError as exc:
            if api_errors.is_transient(exc):
                with self.cache.transaction() as tx:
                    outbox.attempted(tx, item.id, exc.message, token=item.claim_token)
                self._audit_item(item, "queued", f"outbox #{item.id}: {exc.message}")
                return Outcome(
                    "queued",
                    f"the API did not answer ({exc.message}); queued as "
                    f"outbox #{item.id}; srm outbox push sends it",
                    item.id,
                    preview,
                )
            refusal = self._refusal(spec, exc)
            status = FAILED if isinstance(exc, api_errors.AuthError) else REFUSED
            with self.cache.transaction() as tx:
                if not outbox.settle(
                    tx,
                    item.id,
                    status,
                    now=self.settings.now_ts(),
                    error=exc.message,
                    response={"status": exc.status},
                    token=item.claim_token,
                ):
                    raise outbox.LeaseLost(item.id) from None
            self._audit_item(
                item,
                "failed" if status == FAILED else "refused",
                f"HTTP {exc.status}: {exc.message}",
            )
            if isinstance(exc, api_errors.AuthError):
                raise
            self._refresh(item.customer_id)  # the cache follows the API's view
            raise refusal from None
        refreshed = self._applied(item, response, values, "applied")
        note = "" if refreshed else " (the cache catches up at the next sync)"
        if self._team:  # asked of the store's writer with the sent status (storage/requests.py)
            note = " (the team's srm sync brings it into the store)"
        held = self._holding.pop(item.id, [])
        if held:
            note += "; " + exports_message(held)
        return Outcome("applied", f"{preview.title}: done{note}", None, preview, held)

    # the outbox ----------------------------------------------------------------------------

    def pending(self, customer_id: int | None = None) -> list[OutboxItem]:
        """Actions not yet settled (pending, conflict, failed), oldest first."""
        return outbox.items(self.cache.conn(), customer_id=customer_id)

    def outbox_items(self, statuses: tuple[str, ...] | None = outbox.OPEN) -> list[OutboxItem]:
        """The outbox (every status with ``None``), oldest first."""
        return outbox.items(self.cache.conn(), statuses=statuses)

    def observed(self, customer_id: int) -> list[Any]:
        """Changes the API's copies showed in the customer's subscriptions and passes
        (sync, webhooks, refreshes), newest first: the history srm keeps for the vendor."""
        return observed_changes.for_customer(self.cache.conn(), customer_id)

    def audit_log(
        self, customer_id: int | None = None, limit: int = 1000
    ) -> list[audit.AuditEntry]:
        """Audit entries, newest first."""
        return audit.entries(self.cache.conn(), customer_id, limit)

    def push(self) -> PushSummary:
        """Send every pending action this push can claim, oldest first, each under its
        stored key (entries another pusher holds are left to it)."""
        return WriteEngine([self.write_kind()]).push()

    def resolve(self, outbox_id: int, *, retry: bool, replaced_by: str | None = None) -> OutboxItem:
        """Settle an entry: ``retry`` sends it again as it is (at the next push), else discard.

        ``replaced_by`` says what the agent ran instead (an edited copy of the action): the
        entry is discarded and the audit log names its replacement.
        """
        if retry and replaced_by:
            raise ActionInvalid("id", "an entry is either retried or replaced, not both")
        self._require_role()
        item = outbox.get(self.cache.conn(), outbox_id)
        if item is None:
            raise ActionInvalid("id", f"no outbox entry {outbox_id}")
        allowed = (CONFLICT, FAILED) if retry else (PENDING, CONFLICT, FAILED)
        if item.status not in allowed:
            raise ActionInvalid(
                "id",
                f"outbox entry {outbox_id} is {item.status}; only "
                f"{' or '.join(allowed)} entries can be "
                f"{'retried' if retry else 'discarded'}",
            )
        with self.cache.transaction() as tx:
            if retry:
                outbox.requeue(tx, outbox_id, uuid.uuid4().hex)
            else:
                outbox.settle(
                    tx,
                    outbox_id,
                    outbox.DISCARDED,
                    now=self.settings.now_ts(),
                    error=item.last_error,
                )
        detail = (
            f"outbox #{outbox_id} retried after: {item.last_error}"
            if retry
            else f"outbox #{outbox_id} replaced by {replaced_by} ({self.settings.agent})"
            if replaced_by
            else f"outbox #{outbox_id} discarded by {self.settings.agent}"
        )
        self._audit_item(
            item,
            "queued" if retry else "discarded",
            detail,
            agent=self.settings.agent,
            role=self.settings.role,
        )
        found = outbox.get(self.cache.conn(), outbox_id)
        assert found is not None
        return found

    # the write kind --------------------------------------------------------------------------

    def write_kind(self, claim: outbox.Claim | None = None) -> Any:
        """Support actions as a kind of write, for the write engine (``claim``: pushes under
        this claim, which the caller holds)."""
        from srm_tui.writes.kinds import ActionWrites

        if self._push_kind is not None:  # a replica's push goes to its team store, not the API
            return self._push_kind(self)
        return ActionWrites(self, claim)

    def _push(self, items: list[OutboxItem], claim: outbox.Claim) -> PushSummary:
        kind = self.write_kind(claim)
        return WriteEngine([kind]).push(writes=[outbox.as_write(i) for i in items])

    @contextlib.contextmanager
    def pushing(self, writes: list[PendingWrite]) -> Iterator[Any]:
        """A push of outbox entries: yields the function that sends one and says how it
        settled. Customers whose actions were sent are brought from the API once, at the end
        (or before a later action of theirs is checked), not once per action."""
        fresh: set[int | None] = set()
        stale: dict[int | None, None] = {}
        profile = self.profile() if writes else None

        def send(write: PendingWrite) -> Settled:
            try:
                return self._push_one(write.source, profile, fresh, stale)
            except outbox.LeaseLost as lost:  # the other pusher sends it under the same key
                return Settled(LOST, f"#{write.id} {write.title}: {lost}")

        try:
            yield send
        finally:
            for customer_id in stale:
                self._refresh(customer_id)

    def _push_one(
        self,
        item: OutboxItem,
        profile: ApiProfile | None,
        fresh: set[int | None],
        stale: dict[int | None, None],
    ) -> Settled:
        if item.role == "viewer":  # never queued by run(); refused here all the same
            self._settle(item, FAILED, ROLE_VIEWER.text, None)
            self._audit_item(item, "refused", ROLE_VIEWER.id)
            return Settled(FAILED)
        by_profile = self._settled_by_profile(item, profile)
        if by_profile is not None:
            return by_profile
        refused_here = team.refused_here(self.cache, item.action)
        if refused_here is not None:
            return Settled(
                "waiting", stop=f"stopped at #{item.id}: {refused_here}; it stays pending"
            )
        about = f"#{item.id} {item.title} ({item.target})"
        try:
            if item.watches and item.customer_id not in fresh:
                self._fetch(item.customer_id)
                fresh.add(item.customer_id)
                stale.pop(item.customer_id, None)
            server = self._changed_since(item)
            if server is not None:
                message = "the record changed at the API since the action was queued"
                self._settle(item, CONFLICT, message, server)
                versions = "; ".join(
                    f"{v['record']} {v['field']}: base {v['base']!r}, queued "
                    f"{v['queued']!r}, API {v['server']!r}"
                    for v in dataclasses.replace(item, server=server).versions()
                )
                self._audit_item(item, "conflict", f"outbox #{item.id}: {message} ({versions})")
                return Settled(CONFLICT, f"{about}: conflict: {message}")
            values = self._personal(item)
            response = self._send(item)
        except api_errors.ApiError as exc:
            if api_errors.is_transient(exc) or isinstance(exc, api_errors.AuthError):
                with self.cache.transaction() as tx:
                    outbox.attempted(tx, item.id, exc.message, token=item.claim_token)
                return Settled(
                    "waiting",
                    stop=f"stopped at #{item.id}: {exc.message}; it stays pending",
                    unreachable=isinstance(exc, api_errors.Unreachable),
                )
            self._refresh(item.customer_id)
            fresh.add(item.customer_id)
            stale.pop(item.customer_id, None)
            status = FAILED if isinstance(exc, api_errors.BadRequest) else CONFLICT
            self._settle(
                item, status, f"HTTP {exc.status}: {exc.message}", self._server_values(item)
            )
            self._audit_item(
                item,
                "failed" if status == FAILED else "conflict",
                f"outbox #{item.id}: HTTP {exc.status}: {exc.message}",
            )
            return Settled(status, f"{about}: {status}: {exc.message}")
        self._sends += 1
        if self._kill_after is not None and self._sends >= self._kill_after:
            os.kill(os.getpid(), signal.SIGKILL)  # tests: sent, never settled
        if self._after_send is not None:
            self._after_send(item)
        # An anonymization is followed at once (the values must leave the cache now).
        now = item.action == "anonymize"
        if self._applied(item, response, values, "sent", refresh=now) and now:
            fresh.add(item.customer_id)
        else:
            fresh.discard(item.customer_id)
            stale[item.customer_id] = None
        for other in self._others(item):
            fresh.discard(other)
            stale.pop(other, None)
            stale[other] = None  # refreshed after the giver
        held = self._holding.get(item.id)
        return Settled(SENT, f"{about}: " + exports_message(held) if held else None)

    def _settled_by_profile(self, item: OutboxItem, profile: ApiProfile | None) -> Settled | None:
        """An entry queued before the API's profile was known: one the API has no call for
        fails with the vendor's way; a note for an API without notes is kept in srm."""
        try:
            feature = profiles.offered(profile, item.action)
        except NotOffered as exc:
            self._settle(item, FAILED, str(exc), None)
            self._audit_item(item, "failed", f"outbox #{item.id}: {exc}")
            return Settled(FAILED, f"#{item.id} {item.title} ({item.target}): {exc}")
        if feature is None or not feature.local:
            return None
        with self.cache.transaction() as tx:
            local_notes.apply(
                tx,
                item.action,
                item.args,
                agent=item.agent or self.settings.agent,
                now=self.settings.now_ts(),
            )
            if not outbox.settle(
                tx,
                item.id,
                SENT,
                now=self.settings.now_ts(),
                response={"kept": "srm"},
                token=item.claim_token,
            ):
                raise outbox.LeaseLost(item.id)  # rolls the note back with it
            self._audit_item(item, "sent", f"outbox #{item.id}: {local_notes.NOTICE}")
        return Settled(SENT)

    # sending and following the API -----------------------------------------------------------

    def _send(self, item: OutboxItem) -> Any:
        agent = item.agent or self.settings.agent
        headers = {"X-Srm-Editor": agent.encode("utf-8")}  # raw UTF-8: names are not ASCII
        # Calls that go first (the anonymization flow's terminations), each under its own key.
        for i, step in enumerate(self._steps(item), 1):
            self.client().request(
                step.method,
                step.path,
                params=step.params,
                json_body=step.body,
                headers=headers,  # type: ignore[arg-type]
                idempotency_key=f"{item.key}.{i}",
            )
        response = self.client().request(
            item.request.method,
            item.request.path,
            params=item.request.params,
            json_body=item.request.body,
            headers=headers,  # type: ignore[arg-type]
            idempotency_key=item.key,
        )
        return response.status_code

    def _steps(self, item: OutboxItem) -> list[Request]:
        """The calls sent before the action's own. An anonymization that terminates access
        first asks the vendor's entitlements list what is live now (the documented flow),
        adding what the cache did not know of."""
        steps = list(item.request.steps)
        if (
            item.action != "anonymize"
            or not item.args.get("terminate_access")
            or item.customer_id is None
        ):
            return steps
        try:
            body, _ = self.client().get_json(
                "/entitlements",
                {
                    "customerId": item.customer_id,
                    "status": "all",
                    "offerType": "SPAR",
                    "limit": 100,
                },
            )
        except api_errors.ApiError as exc:
            if api_errors.is_transient(exc):
                raise
            return steps  # no entitlements call here: the cache's view stands
        from srm_tui.actions.access import terminate_request

        known = {s.path for s in steps}
        rows = (body.get("items") or body.get("data") or []) if isinstance(body, dict) else body
        for row in rows if isinstance(rows, list) else []:
            if not isinstance(row, dict) or row.get("status") in ("terminated", "expired"):
                continue
            for entity, key in (("subscriptions", "subscriptionId"), ("passes", "passId")):
                if row.get(key) is not None and str(row[key]).isdigit():
                    step = terminate_request(entity, int(row[key]), "userCancel")
                    if step.path not in known:
                        known.add(step.path)
                        steps.append(step)
        return steps

    def _others(self, item: OutboxItem) -> list[int]:
        """Customers besides the action's own whose records it changes (a transfer's
        receiver)."""
        if item.action == "transfer" and item.args.get("to") is not None:
            return [int(item.args["to"])]
        return []

    def _applied(
        self, item: OutboxItem, status: Any, values: set[str], outcome: str, *, refresh: bool = True
    ) -> bool:
        with self.cache.transaction():  # the status and its audit entry: both or neither
            with self.cache.transaction() as tx:
                if not outbox.settle(
                    tx,
                    item.id,
                    SENT,
                    now=self.settings.now_ts(),
                    response={"status": status},
                    token=item.claim_token,
                ):
                    raise outbox.LeaseLost(item.id)  # the other pusher's now: nothing written
            self._audit_item(item, outcome, f"outbox #{item.id}")
            if self._team:  # the writer brings the records: asked with the sent status
                self._ask_writer(item, values)
        if not refresh:
            return False
        refreshed = self._refresh(item.customer_id)
        for other in self._others(item):  # after the giver's: the record ends up the receiver's
            self._refresh(other)
        if item.action == "anonymize" and item.customer_id is not None and self._forgets_here:
            held = privacy.forget_customer(self.cache, item.customer_id, values)
            if held:
                self._holding[item.id] = held
        return refreshed

    def _personal(self, item: OutboxItem) -> set[str]:
        if item.action != "anonymize" or item.customer_id is None:
            return set()
        return privacy.personal_values(self.cache.conn(), item.customer_id)

    def _fetch(self, customer_id: int | None) -> None:
        if customer_id is None:
            return
        if self._team:  # the store's vendor tables are its writer's: read the API aside
            self._api_views.fetch(self.client(), customer_id)
            return
        SyncEngine(self.cache, self.client()).fetch_customer(customer_id=customer_id)

    @property
    def _forgets_here(self) -> bool:
        """Whether an anonymization's values leave the store in this process: a cache's
        always; the team store's for its writer's logins, else its writer's 'forget'."""
        return not self._team or getattr(self.cache, "role", None) in team.TEAM_WRITERS

    def _ask_writer(self, item: OutboxItem, values: set[str]) -> None:
        """On the team store, in the transaction that marks ``item`` sent: ask the store's
        writer (srm sync) to bring the customers it changed from the API and, after an
        anonymization this login may not carry out in the store, to forget the values."""
        now = self.settings.now_ts()
        for customer_id in [item.customer_id, *self._others(item)]:
            if customer_id is not None:
                store_requests.queue(self.cache, "refresh", customer_id, now=now, outbox_id=item.id)
        if item.action == "anonymize" and item.customer_id is not None and not self._forgets_here:
            store_requests.queue(
                self.cache, "forget", item.customer_id, now=now, outbox_id=item.id, personal=values
            )

    def _refresh(self, customer_id: int | None) -> bool:
        """Bring the customer's records from the API; False when that failed (it is kept),
        and on the team store, whose records its writer brings: a refresh is asked of it
        (storage/requests.py) unless one already waits."""
        if self._team:
            if customer_id is not None:
                store_requests.queue(self.cache, "refresh", customer_id, now=self.settings.now_ts())
            return False
        try:
            self._fetch(customer_id)
        except api_errors.ApiError:
            return False
        return True

    def _changed_since(self, item: OutboxItem) -> list[dict[str, Any]] | None:
        """The API's current values when any differs from both base and queued value."""
        current = self._server_values(item)
        for watch, now in zip(item.watches, current):
            if now is None:
                return current
            for name, before in watch.before.items():
                if not (same(now.get(name), before) or same(now.get(name), watch.after.get(name))):
                    return current
        return None

    def _server_values(self, item: OutboxItem) -> list[dict[str, Any] | None]:
        ctx = self._context()
        fetched = self._api_views.holds(item.customer_id)
        out: list[dict[str, Any] | None] = []
        for watch in item.watches:
            if fetched:
                assert item.customer_id is not None
                record = self._api_views.record(item.customer_id, watch.entity, watch.key)
            else:
                record = ctx.record(watch.entity, watch.key)
            out.append(
                None if record is None else {name: dotted(record, name) for name in watch.before}
            )
        return out

    def _settle(
        self, item: OutboxItem, status: str, error: str, server: list[dict[str, Any] | None] | None
    ) -> None:
        with self.cache.transaction() as tx:
            if not outbox.settle(
                tx,
                item.id,
                status,
                now=self.settings.now_ts(),
                error=error,
                response={"server": server} if server is not None else None,
                token=item.claim_token,
            ):
                raise outbox.LeaseLost(item.id)

    @staticmethod
    def _refusal(spec: ActionSpec, exc: api_errors.ApiError) -> ActionError:
        if isinstance(exc, api_errors.BadRequest):
            return ActionInvalid("request", f"the API refused the input: {exc.message}")
        if isinstance(exc, api_errors.NotFound):
            return ActionRefused(
                f"{spec.name}.not-found", f"the API has no such record ({exc.message})"
            )
        rule = spec.rule_for(exc.message)
        return ActionRefused(rule.id if rule else f"api.{exc.status}", exc.message)

    def _require_role(self) -> None:
        if self.settings.role == "viewer":
            raise ActionRefused(ROLE_VIEWER.id, ROLE_VIEWER.text)

    # audit -----------------------------------------------------------------------------------

    def _audit_preview(self, preview: Preview, outcome: str, detail: str) -> None:
        if self.cache.read_only:
            # A store this login cannot write (a viewer's team store, a read-only cache):
            # nothing was changed, and the refusal itself is what the agent is told.
            return
        before, after = audit.sides(preview.changes)
        with self.cache.transaction() as tx:
            audit.record(
                tx,
                at=self.settings.now_ts(),
                agent=self.settings.agent,
                role=self.settings.role,
                action=preview.action,
                target=preview.target,
                customer_id=preview.customer_id,
                before=before,
                after=after,
                outcome=outcome,
                detail=detail,
            )

    def _audit_item(
        self,
        item: OutboxItem,
        outcome: str,
        detail: str,
        *,
        agent: str | None = None,
        role: str | None = None,
    ) -> None:
        before, after = audit.sides(item.changes)
        with self.cache.transaction() as tx:
            audit.record(
                tx,
                at=self.settings.now_ts(),
                agent=agent or item.agent,
                role=role or item.role,
                action=item.action,
                target=item.target,
                customer_id=item.customer_id,
                before=before,
                after=after,
                outcome=outcome,
                detail=detail,
            )

"""The retention playbook service (``session.playbook``): versions, matching, outcomes, report.

- ``current`` / ``save`` / ``versions``: every save is a new version; a save names the version
  it was based on, and one made on an older version is refused (``PlaybookConflict``).
- ``check``: the references a file cannot prove alone (a saved segment's name, a switch's
  offer, a coupon's campaign, in this cache).
- ``proposals``: the first rule whose segment holds the customer, ``subscription.*``
  describing the subscription being cancelled (the segment's selector is not used), with each
  offer planned through its support action's preview (what it changes, or the rule that
  refuses it).
- ``take`` / ``decline``: run the offer's action, or the cancel, through the action service
  (so offline they queue in the outbox like any action); the audit trail holds
  ``retention.offered``, ``retention.taken`` and ``retention.declined``.
- ``report``: offered, taken, declined and save rate per rule and per offer.

Over 400 lines: the matching and the outcomes share one service's state (the cache, the
settings, the previewing and the sending action services); the result types and the report's
tally are already apart, in ``results``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from srm_tui.actions import audit
from srm_tui.actions.rules import ActionError, ActionRefused, iso
from srm_tui.api.profile import VENDOR, NotOffered
from srm_tui.domain.campaigns import read_campaign
from srm_tui.domain.text import visible
from srm_tui.playbook.model import Offer, Playbook, PlaybookInvalid, Rule, inline_segment, parse
from srm_tui.playbook.model import to_json as playbook_json
from srm_tui.playbook.results import (
    OfferStats,
    Proposal,
    Proposals,
    Report,
    RuleStats,
    tally,
)
from srm_tui.storage import playbook as store

if TYPE_CHECKING:
    from srm_tui.actions.service import ActionService, Outcome
    from srm_tui.config import Settings
    from srm_tui.segments.model import Segment
    from srm_tui.storage.cache import Cache

DAY = 86400
# Each offer kind's support action (let-go has none: it is the cancel itself).
ACTIONS = {"coupon": "coupon-apply", "pause": "pause", "switch": "switch", "extend": "extend"}


class PlaybookConflict(Exception):
    """Someone saved the playbook since the version this save was based on."""

    def __init__(self, base: int, current: int):
        self.base = base
        self.current = current
        super().__init__(
            f"the playbook is at version {current}, this was based on version {base}: "
            "open the current version and make the change again"
        )


class PlaybookService:
    """The playbook of one cache, for this session's agent.

    ``previews`` gives the action service that plans from the cache (never starts the demo's
    sandbox); ``actions`` the one that sends (the session's)."""

    def __init__(
        self,
        cache: Cache,
        settings: Settings,
        *,
        previews: Callable[[], ActionService],
        actions: Callable[[], ActionService],
    ) -> None:
        self.cache = cache
        self.settings = settings
        self._previews = previews
        self._actions = actions

    # versions ------------------------------------------------------------------------------

    def current(self) -> Playbook:
        """The newest saved playbook (version 0 with no rules when none was saved)."""
        found = store.get(self.cache.conn())
        if found is None:
            return Playbook(0, ())
        return _stored(found.body, found.version)

    def get(self, version: int) -> Playbook | None:
        """One saved version, or None."""
        found = store.get(self.cache.conn(), version)
        return None if found is None else _stored(found.body, found.version)

    def versions(self) -> list[tuple[int, int, str | None]]:
        """Every saved version, newest first: (version, saved_at, saved_by)."""
        return store.versions(self.cache.conn())

    def save(self, pb: Playbook, *, base_version: int) -> Playbook:
        """Save ``pb`` as the next version; PlaybookConflict when someone saved after
        ``base_version``. The viewer role is read only."""
        self._require_writer()
        with self.cache.transaction() as tx:
            latest = store.latest_version(tx)
            if latest != base_version:
                raise PlaybookConflict(base_version, latest)
            saved = Playbook(latest + 1, pb.rules)
            store.insert(
                tx,
                saved.version,
                playbook_json(saved),
                now=self.settings.now_ts(),
                agent=self.settings.agent,
            )
        return saved

    def _require_writer(self) -> None:
        if self.settings.role == "viewer":
            raise ActionRefused("role.viewer", "the viewer role is read only")

    # references ------------------------------------------------------------------------------

    def check(self, pb: Playbook) -> list[PlaybookInvalid]:
        """What the cache says of the playbook's references: a saved segment that does not
        exist or cannot open, an inline segment that does not compile, a switch to an offer
        the cache does not hold, a coupon no cached campaign holds (the vendor's API lists
        campaigns only by code, so there an uncached one is left to the API), a coupon whose
        cached campaigns are none of them active (expired: every cancel would refuse it)."""
        conn = self.cache.conn()
        known = self._previews().known_profile()
        vendor = known is not None and known.name == VENDOR
        faults: list[PlaybookInvalid] = []
        for i, rule in enumerate(pb.rules):
            path = f"rules[{i}]"
            try:
                self._segment(rule, f"{path}.segment")
            except PlaybookInvalid as exc:
                faults.append(exc)
            for j, offer in enumerate(rule.offers):
                where = f"{path}.offers[{j}]"
                if offer.kind == "switch" and offer.offer:
                    ids = store.offer_localizations(conn, offer.offer.split("_")[0])
                    if ids is None or ("_" in offer.offer and offer.offer not in ids):
                        faults.append(
                            PlaybookInvalid(
                                f"{where}.offer",
                                f"no offer {offer.offer} in the cache (srm sync brings offers)",
                            )
                        )
                if offer.kind == "coupon" and offer.coupon:
                    fault = _coupon_fault(store.coupon_campaigns(conn, offer.coupon), offer.coupon)
                    if fault is not None and (not vendor or fault[0] == "inactive"):
                        faults.append(PlaybookInvalid(f"{where}.coupon", fault[1]))
        return faults

    def _segment(self, rule: Rule, path: str) -> tuple[Segment | None, int | None]:
        """The rule's segment as a tree, or (None, id) for a static saved segment."""
        from srm_tui.segments import store as segments

        if isinstance(rule.segment, dict):
            return inline_segment(rule.segment, path), None
        try:
            saved = segments.get_saved(self.cache.conn(), rule.segment)
        except LookupError:
            raise PlaybookInvalid(path, f"no saved segment {rule.segment!r}") from None
        if saved.static:
            return None, saved.id
        if saved.segment is None:
            raise PlaybookInvalid(
                path, f"saved segment {rule.segment!r} cannot open: {saved.problem}"
            )
        return saved.segment, None

    # matching --------------------------------------------------------------------------------

    def proposals(self, customer_id: int, subscription_id: int) -> Proposals:
        """The first rule whose segment holds the customer (its subscription.* attributes
        describing ``subscription_id``) and its offers, each planned; no rule when none
        matches, the playbook is empty, or the cancel itself is blocked."""
        pb = self.current()
        out = Proposals(customer_id, subscription_id, pb.version)
        if not pb.rules or not self._cancellable(subscription_id):
            return out
        now = self.settings.now_ts()
        self._fresh_facts(customer_id)
        for index, rule in enumerate(pb.rules):
            try:
                held = self._holds(rule, customer_id, subscription_id, now)
            except PlaybookInvalid as exc:
                out.skipped.append(f"{rule.name}: {exc.reason}")
                continue
            except ValueError as exc:  # a saved segment this srm can no longer compile
                out.skipped.append(f"{rule.name}: {exc}")
                continue
            if held:
                out.rule, out.rule_index = rule, index
                out.offers = tuple(
                    self._plan(n, offer, subscription_id) for n, offer in enumerate(rule.offers, 1)
                )
                break
        return out

    def for_subscription(self, subscription_id: int) -> Proposals | None:
        """``proposals`` for a cached subscription's customer (None: not in the cache)."""
        sub = store.subscription_facts(self.cache.conn(), subscription_id)
        if sub is None:
            return None
        return self.proposals(int(sub["customer_id"]), subscription_id)

    def _cancellable(self, subscription_id: int) -> bool:
        """The cancel's own rules let it run (otherwise there is nothing to save)."""
        try:
            preview = self._previews().preview(
                "cancel", subscription_id=subscription_id, reason="retention check"
            )
        except (ActionError, NotOffered):
            return False
        return preview.blocked is None or preview.blocked.rule == "role.viewer"

    def _fresh_facts(self, customer_id: int) -> None:
        """The segment facts of this one customer up to date (the cancel dialog asks on the
        console's thread: a whole cache's waiting refreshes are not settled here, only this
        customer's; a cache never built is built once, as any segment run does)."""
        from srm_tui.storage import facts

        conn = self.cache.conn()
        built, _ = facts.facts_state(conn)
        if not built:
            facts.ensure_facts(conn)
            return
        waiting = conn.execute(
            f"SELECT 1 FROM {facts.DIRTY_TABLE} WHERE customer_id = ?", (customer_id,)
        ).fetchone()
        if waiting is not None and not self.cache.read_only:
            with self.cache.transaction() as tx:
                facts.refresh_facts(tx, [customer_id])

    def _holds(self, rule: Rule, customer_id: int, subscription_id: int, now: int) -> bool:
        from srm_tui.domain.rates import in_force
        from srm_tui.segments.compile import CF, SF, TF, Compiler
        from srm_tui.storage import facts

        segment, static_id = self._segment(rule, "segment")
        conn = self.cache.conn()
        if static_id is not None:
            row = conn.execute(
                "SELECT 1 FROM segment_members WHERE segment_id = ? AND customer_id = ?",
                (static_id, customer_id),
            ).fetchone()
            return row is not None
        assert segment is not None
        facts.prepare(conn)
        # "row": subscription attributes read the row `s`, the subscription being cancelled.
        compiler = Compiler(now, "row", in_force(conn))
        where = compiler.node(segment.where)
        sql = (
            f"SELECT 1 FROM {CF} f LEFT JOIN {TF} t ON t.id = f.id "
            f"LEFT JOIN {SF} s ON s.id = :sid AND s.customer_id = f.id "
            f"WHERE f.id = :cid AND ({where})"
        )
        params = {**compiler.params, "sid": subscription_id, "cid": customer_id}
        return conn.execute(sql, params).fetchone() is not None

    def _plan(self, number: int, offer: Offer, subscription_id: int) -> Proposal:
        action = ACTIONS.get(offer.kind)
        if action is None:
            return Proposal(number, offer, None)
        args = self._args(offer, subscription_id)
        proposal = Proposal(number, offer, action, args)
        try:
            proposal.preview = self._previews().preview(action, **args)
        except NotOffered as exc:
            proposal.refused = str(exc)
        except ActionError as exc:
            proposal.refused = str(exc)
        except Exception as exc:  # one offer that cannot be planned must not hide the others
            import logging

            logging.getLogger("srm_tui").exception("planning retention offer %d", number)
            reason = " ".join(str(exc).split()) or "no detail"
            proposal.refused = f"could not be planned ({type(exc).__name__}: {reason})"
        else:
            blocked = proposal.preview.blocked
            if blocked is not None:
                proposal.refused = f"{blocked.rule}: {blocked.message}"
        return proposal

    def _args(self, offer: Offer, subscription_id: int) -> dict[str, Any]:
        if offer.kind == "coupon":
            return {"subscription_id": subscription_id, "code": offer.coupon}
        if offer.kind == "pause":
            return {"subscription_id": subscription_id, "cycles": offer.cycles}
        sub = store.subscription_facts(self.cache.conn(), subscription_id) or {}
        if offer.kind == "switch":
            return {"subscription_id": subscription_id, "to": self._localized(offer, sub)}
        end = sub.get("date_to")
        start = end if isinstance(end, int) else self.settings.now_ts()
        return {"access_id": subscription_id, "until": iso(start + (offer.days or 0) * DAY)}

    def _localized(self, offer: Offer, sub: dict[str, Any]) -> str:
        """A switch's offer as the localized id the vendor takes: as written, or, for an
        offer named alone, the localization in the subscription's own country suffix, else
        the first in its currency (else the suffix anyway: the preview then says why not)."""
        target = str(offer.offer)
        if "_" in target:
            return target
        suffix = str(sub.get("offer_id") or "_").split("_")[-1]
        ids = store.offer_localizations(self.cache.conn(), target) or []
        if f"{target}_{suffix}" in ids:
            return f"{target}_{suffix}"
        currency = sub.get("currency")
        for loc_id, loc_currency in store.localization_currencies(self.cache.conn(), target):
            if loc_currency == currency:
                return loc_id
        return f"{target}_{suffix}"

    # outcomes --------------------------------------------------------------------------------

    def offered(self, proposals: Proposals) -> bool:
        """Record that the offers were shown (once per showing that got no answer yet);
        True when a new ``retention.offered`` entry was written."""
        if not proposals.matched or self.settings.role == "viewer" or self.cache.read_only:
            return False
        # The check and the entry in one write transaction: the console's showing and a take
        # racing it on another thread record one offer, not two.
        with self.cache.transaction() as tx:
            last = store.last_event(tx, proposals.customer_id, proposals.target)
            if (
                last is not None
                and last.kind == "offered"
                and last.detail.get("rule") == proposals.rule.name  # type: ignore[union-attr]
                and last.detail.get("version") == proposals.version
            ):
                return False
            self._record(proposals, "offered", "offered", {})
        return True

    def take(
        self, proposals: Proposals, index: int, *, service: ActionService | None = None
    ) -> Outcome:
        """Run offer ``index`` (1-based) through the action service; ``retention.taken``.

        Raises PlaybookInvalid (no such offer, or one that lets them go: decline with a
        reason instead), and whatever the action raises (a rule's or the API's refusal)."""
        if not proposals.matched:
            raise PlaybookInvalid("take", "no playbook rule matches this subscription")
        proposal = proposals.offer(index)
        if proposal.action is None:
            raise PlaybookInvalid(
                "take", f"offer {index} lets them go: cancel with a reason instead"
            )
        runner = service or self._actions()
        self.offered(proposals)
        outcome = runner.run(proposal.action, **proposal.args)
        self._record(
            proposals,
            "taken",
            outcome.status,
            {
                "offer": proposal.number,
                "kind": proposal.offer.kind,
                "describe": proposal.offer.describe(),
                "action": proposal.action,
                "outbox_id": outcome.outbox_id,
            },
        )
        return outcome

    def decline(
        self,
        proposals: Proposals,
        reason: str,
        *,
        index: int | None = None,
        service: ActionService | None = None,
    ) -> Outcome:
        """Cancel anyway, with the reason (``index``: the let-go offer chosen, if one was);
        ``retention.declined`` names the reason. Raises what the cancel raises."""
        chosen = proposals.offer(index) if index is not None and proposals.matched else None
        if chosen is not None and not chosen.lets_go:
            raise PlaybookInvalid("take", f"offer {index} is not one that lets them go")
        runner = service or self._actions()
        self.offered(proposals)
        outcome = runner.run("cancel", subscription_id=proposals.subscription_id, reason=reason)
        if proposals.matched:
            self._record(
                proposals,
                "declined",
                outcome.status,
                {
                    "reason": reason,
                    "offer": chosen.number if chosen else None,
                    "kind": chosen.offer.kind if chosen else None,
                    "describe": chosen.offer.describe() if chosen else None,
                    "outbox_id": outcome.outbox_id,
                },
            )
        return outcome

    def _record(self, proposals: Proposals, kind: str, outcome: str, extra: dict) -> None:
        assert proposals.rule is not None
        detail = {
            "rule": proposals.rule.name,
            "version": proposals.version,
            "offers": [p.offer.describe() for p in proposals.offers],
            "kinds": [p.offer.kind for p in proposals.offers],
            **extra,
        }
        text = f"rule {proposals.rule.name!r}, playbook version {proposals.version}"
        if extra.get("describe"):
            text += f", offer {extra['offer']}: {extra['describe']}"
        if extra.get("reason"):
            text += f", reason: {extra['reason']}"
        with self.cache.transaction() as tx:
            audit.record(
                tx,
                at=self.settings.now_ts(),
                agent=self.settings.agent,
                role=self.settings.role,
                action=f"retention.{kind}",
                target=proposals.target,
                customer_id=proposals.customer_id,
                before=None,
                after=detail,
                outcome=outcome,
                detail=text,
            )

    # report ----------------------------------------------------------------------------------

    def report(self, since: int | None) -> Report:
        """Offered / taken / declined / save rate per rule (by name) and per offer, from the
        audit trail (from ``since`` on)."""
        return tally(store.events(self.cache.conn(), since), since)


def _coupon_fault(campaigns: list[Any], code: str) -> tuple[str, str] | None:
    """Why a coupon offer would be refused at every cancel, from its cached campaigns:
    ("unknown", ...) none holds it, ("inactive", ...) none of them is active; None: fine."""
    if not campaigns:
        return "unknown", f"no campaign in the cache holds {code!r} (srm sync brings the campaigns)"
    terms = [read_campaign(c) for c in campaigns]
    if any(t.active for t in terms):
        return None
    said = "; ".join(f"campaign {visible(t.name, 60)!r} is {t.status_text}" for t in terms)
    return "inactive", (
        f"{said}: the coupon {code!r} would be refused at every cancel (coupon.campaign-inactive)"
    )


def _stored(body: dict[str, Any], version: int) -> Playbook:
    """A stored version as a playbook (its number is the row's, whatever the body says)."""
    pb = parse(body)
    return Playbook(version, pb.rules)


__all__ = [
    "OfferStats",
    "PlaybookConflict",
    "PlaybookService",
    "Proposal",
    "Proposals",
    "Report",
    "RuleStats",
]

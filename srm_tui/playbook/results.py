"""What the playbook service answers: the offers proposed at a cancel (``Proposals``, each a
``Proposal`` with its action's preview) and the report of outcomes (``Report``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from srm_tui.actions.rules import Preview, iso
from srm_tui.playbook.model import Offer, PlaybookInvalid, Rule

if TYPE_CHECKING:
    from srm_tui.storage.playbook import RetentionEvent


@dataclass
class Proposal:
    """One offer of the matching rule, planned for this subscription."""

    number: int  # 1-based, as the dialog's keys and `--take N` name it
    offer: Offer
    action: str | None  # the support action that carries it out (None: let them go)
    args: dict[str, Any] = field(default_factory=dict)
    preview: Preview | None = None
    refused: str | None = None  # why it cannot be taken (a rule, the API, the input)

    @property
    def available(self) -> bool:
        return self.refused is None

    @property
    def lets_go(self) -> bool:
        return self.offer.kind == "let-go"

    def changes(self) -> list[str]:
        """What taking it changes, one line each."""
        if self.lets_go:
            return ["the subscription is cancelled (a reason is asked)"]
        if self.preview is None:
            return []
        return [f"{c.what}: {_shown(c.before)} -> {_shown(c.after)}" for c in self.preview.changes]

    def to_json(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "offer": self.offer.to_json(),
            "describe": self.offer.describe(),
            "action": self.action,
            "args": self.args,
            "available": self.available,
            "refused": self.refused,
            "changes": [c.to_json() for c in self.preview.changes] if self.preview else [],
            "warnings": list(self.preview.warnings) if self.preview else [],
        }


@dataclass
class Proposals:
    """What the playbook offers one customer at the cancel of one subscription."""

    customer_id: int
    subscription_id: int
    version: int
    rule: Rule | None = None
    rule_index: int | None = None
    offers: tuple[Proposal, ...] = ()
    skipped: list[str] = field(default_factory=list)  # rules that could not be evaluated

    @property
    def matched(self) -> bool:
        return self.rule is not None

    @property
    def target(self) -> str:
        return f"subscription {self.subscription_id}"

    def offer(self, number: int) -> Proposal:
        """The offer numbered ``number`` (1-based); PlaybookInvalid when there is none."""
        if not 1 <= number <= len(self.offers):
            raise PlaybookInvalid(
                "take", f"no offer {number}: the rule has offers 1..{len(self.offers)}"
            )
        return self.offers[number - 1]

    def to_json(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "subscription_id": self.subscription_id,
            "playbook_version": self.version,
            "rule": self.rule.name if self.rule else None,
            "rule_index": self.rule_index,
            "offers": [p.to_json() for p in self.offers],
            "skipped": self.skipped,
        }


@dataclass
class OfferStats:
    offer: str  # the offer described ("pause 1 cycle")
    kind: str
    offered: int = 0
    taken: int = 0
    declined: int = 0

    @property
    def save_rate(self) -> float | None:
        return round(self.taken / self.offered, 4) if self.offered else None

    def to_json(self) -> dict[str, Any]:
        return {
            "offer": self.offer,
            "kind": self.kind,
            "offered": self.offered,
            "taken": self.taken,
            "declined": self.declined,
            "save_rate": self.save_rate,
        }


@dataclass
class RuleStats:
    rule: str
    offered: int = 0
    taken: int = 0
    declined: int = 0
    offers: dict[str, OfferStats] = field(default_factory=dict)

    @property
    def save_rate(self) -> float | None:
        return round(self.taken / self.offered, 4) if self.offered else None

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "offered": self.offered,
            "taken": self.taken,
            "declined": self.declined,
            "save_rate": self.save_rate,
            "offers": [o.to_json() for o in self.offers.values()],
        }


@dataclass
class Report:
    """Retention outcomes since a moment (None: all), per rule (by name) and per offer."""

    since: int | None
    rules: list[RuleStats]

    @property
    def offered(self) -> int:
        return sum(r.offered for r in self.rules)

    @property
    def taken(self) -> int:
        return sum(r.taken for r in self.rules)

    @property
    def declined(self) -> int:
        return sum(r.declined for r in self.rules)

    def to_json(self) -> dict[str, Any]:
        return {
            "since": iso(self.since),
            "offered": self.offered,
            "taken": self.taken,
            "declined": self.declined,
            "save_rate": round(self.taken / self.offered, 4) if self.offered else None,
            "rules": [r.to_json() for r in self.rules],
        }


def _shown(value: Any) -> str:
    return "—" if value is None or value == "" else str(value)


def tally(events: Iterable[RetentionEvent], since: int | None) -> Report:
    """The report of retention events: per rule (by name) and per offer (as described)."""
    rules: dict[str, RuleStats] = {}
    for event in events:
        name = str(event.detail.get("rule") or "")
        stats = rules.setdefault(name, RuleStats(name))
        described = [str(d) for d in event.detail.get("offers") or []]
        kinds = [str(k) for k in event.detail.get("kinds") or []]
        offers = [
            stats.offers.setdefault(d, OfferStats(d, kinds[i] if i < len(kinds) else ""))
            for i, d in enumerate(described)
        ]
        if event.kind == "offered":
            stats.offered += 1
            for o in offers:
                o.offered += 1
        elif event.kind == "taken":
            stats.taken += 1
            chosen = event.detail.get("describe")
            if chosen in stats.offers:
                stats.offers[chosen].taken += 1
        elif event.kind == "declined":
            stats.declined += 1
            for o in offers:
                o.declined += 1
    return Report(since, sorted(rules.values(), key=lambda r: r.rule.casefold()))

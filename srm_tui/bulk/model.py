"""What a bulk run is: the actions it may run, their inputs, and what it reports.

A bulk action is one of the support actions (srm_tui.actions.registry) run for every member
of a segment: on the customer (a note) or on the subscription the segment's selector picks
(extend, coupon, cancel, pause, resume). Its inputs are the action's own, asked once for the
whole run; extend also takes ``days`` (added to each member's own end date).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from srm_tui.actions.registry import REGISTRY
from srm_tui.actions.rules import ActionInvalid, FieldSpec, Preview, iso

# The actions a run may carry, and what each acts on.
TARGETS: dict[str, str] = {
    "extend": "subscription",
    "coupon-apply": "subscription",
    "cancel": "subscription",
    "pause": "subscription",
    "resume": "subscription",
    "note-add": "customer",
}
ACTIONS = tuple(TARGETS)

DAYS = FieldSpec(
    "days",
    "Days",
    "number",
    help="days added to each member's current end date (1 to 3650)",
)
UNTIL = FieldSpec(
    "until", "Until", "instant", help="or one new end date for every member, ISO 8601"
)
MAX_DAYS = 3650

# Rules of the run itself (beside each action's own).
NO_SUBSCRIPTION = ("bulk.no-subscription", "the customer has no subscription the selector picks")
NO_END = ("extend.never-shorter", "the subscription has no end date to add days to")
# Days added to an access that ended long ago would leave it ended: nothing for the customer.
STILL_ENDED = "extend.still-ended"
INPUT = "bulk.input"


class BulkInvalid(ActionInvalid):
    """A run cannot start: ``field`` names the input at fault (exit 2 on the command line)."""


def fields(action: str) -> tuple[FieldSpec, ...]:
    """The inputs a run of ``action`` asks once (the action's own, without its target)."""
    spec = REGISTRY[action]
    own = tuple(f for f in spec.fields if not f.target)
    if action == "extend":
        return (DAYS, UNTIL)
    return own


def irreversible(action: str) -> bool:
    """A run that cannot be undone asks for the member count typed back."""
    spec = REGISTRY[action]
    return action == "cancel" or spec.destructive or spec.irreversible


@dataclass
class Refused:
    """A member a rule refuses, before anything is sent."""

    customer_id: int
    subscription_id: int | None
    rule: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "subscription_id": self.subscription_id,
            "rule": self.rule,
            "reason": self.reason,
        }


@dataclass
class DryRun:
    """What a run would do: its members, a sample of the changes, who a rule refuses."""

    action: str
    segment: str
    params: dict[str, Any]
    members: int
    sample: list[Preview]
    refused: list[Refused]
    irreversible: bool
    needs_role: bool  # over bulk_limit: only an owner or an admin may start it
    limit: int

    @property
    def allowed(self) -> int:
        return self.members - len(self.refused)

    def by_rule(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.refused:
            out[r.rule] = out.get(r.rule, 0) + 1
        return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "segment": self.segment,
            "params": self.params,
            "members": self.members,
            "allowed": self.allowed,
            "irreversible": self.irreversible,
            "needs_owner_or_admin": self.needs_role,
            "bulk_limit": self.limit,
            "sample": [p.to_json() for p in self.sample],
            "refused_by_rule": self.by_rule(),
            "refused": [r.to_json() for r in self.refused],
        }


@dataclass
class Run:
    """A frozen run: its definition, its state and its members' counts."""

    id: int
    action: str
    params: dict[str, Any]
    segment: str | None
    definition: dict[str, Any]
    agent: str | None
    role: str | None
    status: str
    control: str | None
    members: int
    created_at: int
    updated_at: int
    finished_at: int | None
    note: str | None
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"bulk #{self.id}"

    @property
    def settled(self) -> int:
        c = self.counts
        return sum(c.get(s, 0) for s in ("done", "refused", "failed", "cancelled"))

    @property
    def open(self) -> bool:
        """Not finished: it can be resumed (paused, or killed while it ran)."""
        return self.status in ("running", "paused")

    def summary(self) -> str:
        c = self.counts
        return (
            f"{c.get('done', 0):,} done, {c.get('refused', 0):,} refused, "
            f"{c.get('failed', 0):,} failed, {c.get('cancelled', 0):,} cancelled, "
            f"{c.get('waiting', 0) + c.get('queued', 0):,} to go"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "action": self.action,
            "params": self.params,
            "segment": self.segment,
            "definition": self.definition,
            "agent": self.agent,
            "role": self.role,
            "status": self.status,
            "control": self.control,
            "members": self.members,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
            "finished_at": iso(self.finished_at),
            "note": self.note,
            "counts": self.counts,
        }


@dataclass
class Progress:
    """A run's counts as it goes (the console's and stderr's progress)."""

    run_id: int
    members: int
    counts: dict[str, int]

    @property
    def settled(self) -> int:
        c = self.counts
        return sum(c.get(s, 0) for s in ("done", "refused", "failed", "cancelled"))


REPORT_COLUMNS = (
    "seq",
    "customer_id",
    "subscription_id",
    "status",
    "rule",
    "reason",
    "outbox_id",
    "settled_at",
)

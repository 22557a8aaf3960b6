"""A pending write: one model for every change srm keeps until the API has it.

Whatever its kind (a support action in the outbox, an offer edit kept as a draft), a write has
a target, the version of the record it was based on, its changes, the idempotency key it is
sent under and a status. The kind's own record (``source``) keeps what only that kind needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

# The statuses every kind is seen in.
PENDING, SENT, CONFLICT, FAILED, REFUSED, DISCARDED = (
    "pending",
    "sent",
    "conflict",
    "failed",
    "refused",
    "discarded",
)
OPEN = (PENDING, CONFLICT, FAILED)  # what still needs the API or someone's decision
ACTION = "action"  # the outbox's own kind: its ids stay plain numbers everywhere


def _iso(ts: int | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class FieldChange:
    """One field a write changes: its value before and after."""

    what: str
    before: Any
    after: Any

    def to_json(self) -> dict[str, Any]:
        return {"what": self.what, "before": self.before, "after": self.after}


@dataclass
class PendingWrite:
    """One write on its way to the API (or settled), seen the same way for every kind."""

    kind: str  # "action" | "offer"
    id: int  # the kind's own number (outbox #N, draft #N)
    action: str  # what it does, e.g. "note-add", "offer-update"
    title: str
    target: str
    base_version: int | None  # the record's version it was based on, when the API versions it
    changes: list[FieldChange]
    key: str  # the Idempotency-Key it is sent under
    status: str  # one of the statuses above
    agent: str | None
    created_at: int
    last_error: str | None
    # Field by field, when in conflict: the value it was based on, its own, the API's now.
    versions: list[dict[str, Any]]
    source: Any  # the kind's own record (OutboxItem, Draft)

    @property
    def ref(self) -> str:
        """A name unique across kinds: ``action:12``, ``offer:3``."""
        return f"{self.kind}:{self.id}"

    @property
    def number(self) -> Any:
        """How lists of several kinds name it: an action by its outbox number, as the outbox
        always has; any other kind by its ref."""
        return self.id if self.kind == ACTION else self.ref

    def to_json(self) -> dict[str, Any]:
        """An action's entry exactly as ``srm outbox list --json`` has always printed it;
        another kind's in the same keys, plus ``kind`` and its own record."""
        if self.kind == ACTION and hasattr(self.source, "to_json"):
            return self.source.to_json()
        return {
            "id": self.number,
            "kind": self.kind,
            "action": self.action,
            "title": self.title,
            "target": self.target,
            "status": self.status,
            "agent": self.agent,
            "created_at": _iso(self.created_at),
            "base_version": self.base_version,
            "last_error": self.last_error,
            "changes": [c.to_json() for c in self.changes],
            "versions": self.versions if self.status == CONFLICT else [],
            "record": self.source.to_json() if hasattr(self.source, "to_json") else None,
        }

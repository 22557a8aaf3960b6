"""What one push did: the same record for every kind of write, reported in a face's own keys.

A push sorts each write it met into one list: ``sent``, ``conflicts`` (kept beside the API's
version), ``failed`` (the API or a rule refused it; it will not go as it is) or ``waiting``
(the API did not answer: the push stopped there and the rest wait too). A face (``srm outbox
push``, ``srm offers push``) names these lists as its documented JSON has always named them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# JSON key -> attribute, in output order. The outbox's keys are the CONTRACT's; the offer
# drafts' face calls a write the API refused "refused".
OUTBOX_FIELDS: tuple[tuple[str, str], ...] = (
    ("sent", "sent"),
    ("conflicts", "conflicts"),
    ("failed", "failed"),
    ("remaining", "remaining"),
    ("stopped", "stopped"),
    ("ok", "ok"),
    ("messages", "messages"),
)
OFFER_FIELDS: tuple[tuple[str, str], ...] = (
    ("sent", "sent"),
    ("conflicts", "conflicts"),
    ("refused", "failed"),
    ("waiting", "waiting"),
    ("ok", "ok"),
    ("messages", "messages"),
)


@dataclass
class PushSummary:
    """One push: ids per outcome (an int, or ``kind:id`` for a non-action write in a push of
    several kinds), the writes still pending after it, why it stopped, what to tell."""

    sent: list[Any] = field(default_factory=list)
    conflicts: list[Any] = field(default_factory=list)
    failed: list[Any] = field(default_factory=list)
    waiting: list[Any] = field(default_factory=list)
    remaining: int = 0
    stopped: str | None = None  # why the push stopped early (the API did not answer)
    unreachable: bool = False
    messages: list[str] = field(default_factory=list)
    fields: tuple[tuple[str, str], ...] = field(default=OUTBOX_FIELDS, repr=False)

    @property
    def refused(self) -> list[Any]:
        """The offer face's name for ``failed``."""
        return self.failed

    @property
    def ok(self) -> bool:
        return self.stopped is None and not (self.conflicts or self.failed or self.waiting)

    def to_json(self) -> dict[str, Any]:
        """The summary in its face's keys (the CLI prints exactly this)."""
        return {name: getattr(self, attr) for name, attr in self.fields}

    as_json = to_json  # the outbox's older name

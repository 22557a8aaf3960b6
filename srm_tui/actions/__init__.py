"""Support actions: preconditions from the cache, dry runs, write-through or the outbox, audit.

The console and the CLI call ``ActionService``; forms are built from ``REGISTRY`` (each
``ActionSpec`` lists its ``FieldSpec`` inputs and its rules).
"""

from srm_tui.actions.outbox import OutboxItem
from srm_tui.actions.registry import REGISTRY
from srm_tui.actions.rules import (
    ActionError,
    ActionInvalid,
    ActionRefused,
    ActionSpec,
    Change,
    ConfirmationRequired,
    FieldSpec,
    Preview,
    Refusal,
)
from srm_tui.actions.service import ActionService, Outcome, PushSummary

__all__ = [
    "REGISTRY",
    "ActionService",
    "Outcome",
    "PushSummary",
    "OutboxItem",
    "ActionSpec",
    "FieldSpec",
    "Preview",
    "Change",
    "Refusal",
    "ActionError",
    "ActionInvalid",
    "ActionRefused",
    "ConfirmationRequired",
]

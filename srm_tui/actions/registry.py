"""Every support action by name: what the console lists and the CLI runs.

``REGISTRY`` holds each action's ``ActionSpec`` (its inputs, rules and plan); ``FACES``
(declared in ``srm_tui.faces``) says where each shows: its `srm customer` command and flags
(the CLI generates the commands from them), its key on the customer screen
(``srm_tui.bindings`` makes the bindings from them) and the tabs of the customer screen it
works on (``tabs``, ``names_for_tab``, ``specs_for_tab``).
"""

from __future__ import annotations

from srm_tui.actions import (
    access,
    customer,
    email,
    note,
    payment_details,
    subscription,
    transaction,
)
from srm_tui.actions.coupon import COUPON_APPLY
from srm_tui.actions.rules import ActionInvalid, ActionSpec
from srm_tui.actions.switch import SWITCH

# Where each action shows (its command, key and tabs) is declared in srm_tui.faces, which
# imports nothing heavy so the console's bindings can read it at start-up.
from srm_tui.faces import FACES, Face, Flag, action_tabs, face, names_for_tab, tabs

REGISTRY: dict[str, ActionSpec] = {
    spec.name: spec
    for spec in (
        customer.EDIT,
        customer.ANONYMIZE,
        subscription.EXTEND,
        subscription.CANCEL,
        transaction.REFUND,
        transaction.CANCEL_TRANSACTION,
        payment_details.DELETE_PAYMENT_DETAILS,
        email.RESEND,
        note.NOTE_ADD,
        note.NOTE_EDIT,
        note.NOTE_DELETE,
        COUPON_APPLY,
        subscription.PAUSE,
        subscription.RESUME,
        access.TERMINATE,
        subscription.ACTIVATE,
        access.TRANSFER,
        SWITCH,
    )
}

# The API profile feature (srm_tui.api.profile.FEATURES) each action needs.
FEATURES: dict[str, str] = {
    "edit": "edit",
    "anonymize": "anonymize",
    "extend": "extend",
    "cancel": "cancel",
    "refund": "refund",
    "cancel-transaction": "cancel_transaction",
    "delete-payment-details": "delete_payment_details",
    "resend": "resend_email",
    "note-add": "notes",
    "note-edit": "notes",
    "note-delete": "notes",
    "coupon-apply": "coupon",
    "pause": "pause",
    "resume": "resume",
    "terminate": "terminate",
    "activate": "activate",
    "transfer": "transfer",
    "switch": "switch",
}


def spec(name: str) -> ActionSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ActionInvalid(
            "action", f"no action {name!r} (actions: {', '.join(REGISTRY)})"
        ) from None


def feature(name: str) -> str:
    """The profile feature an action needs."""
    return FEATURES[name]


def specs_for_tab(tab: str) -> list[ActionSpec]:
    """The ActionSpecs of the actions that work on a customer screen tab, in its order."""
    return [REGISTRY[name] for name in names_for_tab(tab)]


__all__ = [
    "FACES",
    "FEATURES",
    "REGISTRY",
    "Face",
    "Flag",
    "action_tabs",
    "face",
    "feature",
    "names_for_tab",
    "spec",
    "specs_for_tab",
    "tabs",
]

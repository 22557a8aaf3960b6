"""Every support action by name: what the console lists and the CLI runs."""

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

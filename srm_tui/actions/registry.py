"""Every support action by name: what the console lists and the CLI runs."""

from __future__ import annotations

from srm_tui.actions import customer, email, note, payment_details, subscription, transaction
from srm_tui.actions.coupon import COUPON_APPLY
from srm_tui.actions.rules import ActionInvalid, ActionSpec

REGISTRY: dict[str, ActionSpec] = {spec.name: spec for spec in (
    customer.EDIT, customer.ANONYMIZE, subscription.EXTEND, subscription.CANCEL,
    transaction.REFUND, transaction.CANCEL_TRANSACTION,
    payment_details.DELETE_PAYMENT_DETAILS, email.RESEND,
    note.NOTE_ADD, note.NOTE_EDIT, note.NOTE_DELETE, COUPON_APPLY,
)}


def spec(name: str) -> ActionSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        raise ActionInvalid("action", f"no action {name!r} (actions: "
                                      f"{', '.join(REGISTRY)})") from None

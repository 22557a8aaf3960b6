"""Payment details actions: delete (deactivate) a card or PayPal account on file."""

from __future__ import annotations

from typing import Any

from srm_tui.actions.rules import (
    ActionInvalid,
    ActionSpec,
    Change,
    Checks,
    Context,
    FieldSpec,
    Preview,
    Request,
    Rule,
    Watch,
    parse_id,
)
from srm_tui.domain.lifecycle import IN_APP_GATEWAYS

DETAILS_INACTIVE = Rule(
    "delete-payment-details.inactive",
    "the payment details are already deleted (inactive)",
    api=("not active",),
)
DETAILS_IN_APP = Rule(
    "delete-payment-details.in-app",
    "payment details bound to an in-app subscription are managed by the store",
    api=("bound to an in-app",),
)


def describe(details: dict[str, Any]) -> str:
    params = details.get("paymentMethodSpecificParams") or {}
    label = f"{details.get('paymentGateway')} {details.get('paymentMethod') or ''}".strip()
    if params.get("lastCardFourDigits"):
        label += f" {params.get('variant') or 'card'} ending {params['lastCardFourDigits']}"
    return label


def plan_delete(ctx: Context, args: dict[str, Any]) -> Preview:
    details_id = parse_id(
        args.get("payment_details_id"), "payment_details_id", "payment details id"
    )
    details = ctx.record("payment_details", details_id)
    if details is None:
        raise ActionInvalid(
            "payment_details_id",
            f"no payment details {details_id} in the cache (srm fetch brings its customer)",
        )
    checks = Checks()
    checks.require(bool(details.get("active")), DETAILS_INACTIVE)
    checks.require(
        not details.get("bound") and details.get("paymentGateway") not in IN_APP_GATEWAYS,
        DETAILS_IN_APP,
    )
    subs = [int(s) for s in details.get("subscriptionIds") or []]
    changes = [Change(f"payment details {details_id} ({describe(details)})", "active", "deleted")]
    for sub in subs:
        changes.append(Change(f"subscription {sub} payment details", details_id, None))
    warnings = ["renewals paid with these details will fail until the customer adds new ones"]
    if subs:
        warnings[0] = (
            f"renewals of subscription {', '.join(map(str, subs))} will fail "
            "until the customer adds new payment details"
        )
    return Preview(
        action="delete-payment-details",
        title="Delete payment details",
        target=f"payment details {details_id}",
        customer_id=details["customerId"],
        changes=changes,
        warnings=warnings,
        blocked=checks.blocked,
        destructive=True,
        irreversible=True,
        request=Request("DELETE", f"/x-srm/payment_details/{details_id}"),
        watches=[Watch("payment_details", details_id, {"active": True}, {"active": False})],
    )


DELETE_PAYMENT_DETAILS = ActionSpec(
    name="delete-payment-details",
    title="Delete payment details",
    fields=(FieldSpec("payment_details_id", "Payment details", "id", required=True, target=True),),
    rules=(DETAILS_INACTIVE, DETAILS_IN_APP),
    plan=plan_delete,
    destructive=True,
    irreversible=True,
)

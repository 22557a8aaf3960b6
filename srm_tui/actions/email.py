"""Email actions: resend an email to the address on file or another one."""

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
    given,
    parse_email,
    parse_id,
)

RESEND_NO_ADDRESS = Rule(
    "resend.no-address",
    "the customer has no email address on file; give another address",
    api=("no email address",),
)


def plan_resend(ctx: Context, args: dict[str, Any]) -> Preview:
    email_id = parse_id(args.get("email_id"), "email_id", "email id")
    to = parse_email(args["to"], "to") if given(args.get("to")) else None
    email = ctx.record("emails", email_id)
    if email is None:
        raise ActionInvalid(
            "email_id", f"no email {email_id} in the cache (srm fetch brings its customer)"
        )
    customer = ctx.record("customers", email["customerId"]) or {}
    address = to or customer.get("email")
    checks = Checks()
    checks.require(address is not None, RESEND_NO_ADDRESS)
    warnings = []
    if to and customer.get("email") and to.casefold() != customer["email"].casefold():
        warnings.append(f"{to} is not the address on file ({customer['email']})")
    return Preview(
        action="resend",
        title="Resend email",
        target=f"email {email_id}",
        customer_id=email["customerId"],
        changes=[Change("emails", None, f"a new copy of “{email.get('subject')}” to {address}")],
        warnings=warnings,
        blocked=checks.blocked,
        request=Request("POST", f"/x-srm/emails/{email_id}/resend", {"to": to} if to else {}),
    )


RESEND = ActionSpec(
    name="resend",
    title="Resend email",
    fields=(
        FieldSpec("email_id", "Email", "id", required=True, target=True),
        FieldSpec("to", "Send to", "email", max_length=254, help="empty: the address on file"),
    ),
    rules=(RESEND_NO_ADDRESS,),
    plan=plan_resend,
)

"""Customer actions: edit the profile, anonymize."""

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
    given,
    parse_bool,
    parse_email,
    parse_id,
    parse_text,
)
from srm_tui.domain.lifecycle import pass_is_active, subscription_state

CUSTOMER_ID = FieldSpec(
    "customer_id", "Customer", "id", required=True, target=True, help="the customer's id"
)

EDIT_ANONYMIZED = Rule("edit.anonymized", "the customer has been anonymized", api=("anonymized",))
EDIT_EMAIL_TAKEN = Rule(
    "edit.email-taken", "another customer already has this email", api=("already exists",)
)

# API field, its place in the record, the label shown.
EDITABLE = (
    ("firstName", "firstName", "first name"),
    ("lastName", "lastName", "last name"),
    ("email", "email", "email"),
    ("companyName", "capture.companyName", "company"),
)


def is_anonymized(customer: dict[str, Any]) -> bool:
    """The API sent the email and both names as null (a bare imported id lacks them: that is
    a customer not yet fetched, not an anonymized one)."""
    return all(
        name in customer and customer[name] is None for name in ("email", "firstName", "lastName")
    )


def _current(customer: dict[str, Any], path: str) -> Any:
    if path.startswith("capture."):
        return (customer.get("capture") or {}).get(path.split(".", 1)[1])
    return customer.get(path)


def plan_edit(ctx: Context, args: dict[str, Any]) -> Preview:
    customer_id = parse_id(args.get("customer_id"), "customer_id", "customer id")
    wanted: dict[str, Any] = {}
    if given(args.get("first_name")):
        wanted["firstName"] = parse_text(args["first_name"], "first_name", 50, min_length=0)
    if given(args.get("last_name")):
        wanted["lastName"] = parse_text(args["last_name"], "last_name", 50, min_length=0)
    if given(args.get("email")):
        wanted["email"] = parse_email(args["email"], "email")
    if given(args.get("company")):
        company = parse_text(args["company"], "company", 100, min_length=0).strip()
        wanted["companyName"] = company or None  # empty clears it
    if not wanted:
        raise ActionInvalid("fields", "give at least one of first name, last name, email, company")
    customer = ctx.customer(customer_id)
    body: dict[str, Any] = {}
    changes, before, after = [], {}, {}
    for api_name, path, label in EDITABLE:
        if api_name in wanted and wanted[api_name] != _current(customer, path):
            old = _current(customer, path)
            body[api_name] = wanted[api_name]
            changes.append(Change(label, old, wanted[api_name]))
            before[path], after[path] = old, wanted[api_name]
    if not body:
        raise ActionInvalid("fields", "nothing would change: these are the current values")
    checks = Checks()
    checks.require(not is_anonymized(customer), EDIT_ANONYMIZED)
    warnings = []
    if "email" in body:
        owner = ctx.conn.execute(
            "SELECT id FROM customers WHERE email_lc = ? AND id != ?",
            (body["email"].casefold(), customer_id),
        ).fetchone()
        checks.require(
            owner is None,
            EDIT_EMAIL_TAKEN,
            f"customer {owner[0]} already has {body['email']}" if owner else None,
        )
        warnings.append("changing the email also changes the customer's login ID")
    return Preview(
        action="edit",
        title="Edit customer",
        target=f"customer {customer_id}",
        customer_id=customer_id,
        changes=changes,
        warnings=warnings,
        blocked=checks.blocked,
        request=Request("PATCH", f"/customers/{customer_id}", body),
        watches=[Watch("customers", customer_id, before, after)],
    )


ANONYMIZE_ALREADY = Rule("anonymize.already", "the customer is already anonymized")
ANONYMIZE_SUBSCRIPTION = Rule(
    "anonymize.active-subscription",
    "the customer has a subscription that is not churned (User has an active subscription)",
    api=("active subscription",),
)
ANONYMIZE_PASS = Rule("anonymize.active-pass", "the customer has an active pass")

PERSONAL = (
    ("email", "email"),
    ("first name", "firstName"),
    ("last name", "lastName"),
    ("last IP address", "lastUserIp"),
    ("external id", "externalId"),
    ("external data", "externalData"),
    ("address", "capture.address"),
    ("city", "capture.city"),
    ("state", "capture.state"),
    ("post code", "capture.postCode"),
    ("birth date", "capture.birthDate"),
    ("company", "capture.companyName"),
)


def plan_anonymize(ctx: Context, args: dict[str, Any]) -> Preview:
    from srm_tui.actions.access import terminate_request

    customer_id = parse_id(args.get("customer_id"), "customer_id", "customer id")
    terminate = parse_bool(args.get("terminate_access"), "terminate_access", False)
    customer = ctx.customer(customer_id)
    checks = Checks()
    checks.require(not is_anonymized(customer), ANONYMIZE_ALREADY)
    live = [
        s
        for s in ctx.records("subscriptions", customer_id)
        if s.get("status") != "terminated"
        and subscription_state(s["status"], s.get("inTrial", False), s.get("dateTo"), ctx.now)
        != "churned"
    ]
    passes = [
        p
        for p in ctx.records("passes", customer_id)
        if pass_is_active(p["status"], p.get("expiresAt"), ctx.now)
    ]
    changes: list[Change] = []
    steps: list[Request] = []
    if terminate:
        # The vendor's documented flow: terminate the live access, then DELETE the customer.
        for s in live:
            steps.append(terminate_request("subscriptions", s["subscriptionId"], "userCancel"))
            changes.append(
                Change(
                    f"subscription {s['subscriptionId']}", s["status"], "terminated (userCancel)"
                )
            )
        for p in passes:
            steps.append(terminate_request("passes", p["passId"], "userCancel"))
            changes.append(Change(f"pass {p['passId']}", p["status"], "terminated"))
    else:
        checks.require(
            not live,
            ANONYMIZE_SUBSCRIPTION,
            f"subscription {', '.join(str(s['subscriptionId']) for s in live)} "
            "is not churned (User has an active subscription; terminate it "
            "first, or anonymize with --terminate-access)"
            if live
            else None,
        )
        checks.require(
            not passes,
            ANONYMIZE_PASS,
            f"pass {', '.join(str(p['passId']) for p in passes)} is active "
            "(terminate it first, or anonymize with --terminate-access)"
            if passes
            else None,
        )
    changes += [
        Change(label, _current(customer, path), None)
        for label, path in PERSONAL
        if _current(customer, path) is not None
    ]
    emails = ctx.conn.execute(
        "SELECT count(*) FROM emails WHERE customer_id = ?", (customer_id,)
    ).fetchone()[0]
    history = ctx.conn.execute(
        "SELECT count(*) FROM history WHERE customer_id = ?", (customer_id,)
    ).fetchone()[0]
    details = ctx.conn.execute(
        "SELECT count(*) FROM payment_details WHERE customer_id = ?", (customer_id,)
    ).fetchone()[0]
    for label, count in (
        ("emails: address and text", emails),
        ("change history: personal values", history),
        ("payment details: holder name", details),
    ):
        if count:
            changes.append(Change(label, f"{count} kept", "removed"))
    return Preview(
        action="anonymize",
        title="Anonymize customer",
        target=f"customer {customer_id}",
        customer_id=customer_id,
        changes=changes,
        blocked=checks.blocked,
        warnings=[
            "every personal value of this customer is removed for good, here and at "
            "the API; notes, transactions and access records stay"
        ]
        + (
            [
                f"{len(steps)} live subscription(s) and pass(es) are terminated first, "
                "as the vendor's anonymization flow requires"
            ]
            if steps
            else []
        ),
        request=Request("DELETE", f"/customers/{customer_id}", steps=tuple(steps)),
        destructive=True,
        irreversible=True,
    )


EDIT = ActionSpec(
    name="edit",
    title="Edit customer",
    fields=(
        CUSTOMER_ID,
        FieldSpec("first_name", "First name", "text", max_length=50),
        FieldSpec("last_name", "Last name", "text", max_length=50),
        FieldSpec(
            "email",
            "Email",
            "email",
            max_length=254,
            help="changing the email also changes the customer's login ID",
        ),
        FieldSpec("company", "Company name", "text", max_length=100, help="empty clears it"),
    ),
    rules=(EDIT_ANONYMIZED, EDIT_EMAIL_TAKEN),
    plan=plan_edit,
)

ANONYMIZE = ActionSpec(
    name="anonymize",
    title="Anonymize customer",
    fields=(
        CUSTOMER_ID,
        FieldSpec(
            "terminate_access",
            "Terminate live access first",
            "bool",
            default=False,
            help="the vendor's anonymization flow: its live subscriptions and "
            "passes are terminated (userCancel), then the customer is deleted",
        ),
    ),
    rules=(ANONYMIZE_ALREADY, ANONYMIZE_SUBSCRIPTION, ANONYMIZE_PASS),
    plan=plan_anonymize,
    destructive=True,
    irreversible=True,
)

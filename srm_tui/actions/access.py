"""Access actions on a subscription or a pass: terminate (with its type), transfer."""

from __future__ import annotations

from typing import Any

from srm_tui.actions.customer import is_anonymized
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
    iso,
    parse_id,
)
from srm_tui.actions.subscription import _access
from srm_tui.domain.lifecycle import IN_APP_GATEWAYS, pass_is_active, subscription_state

# The vendor's termination types: they feed its churn analytics (cleeng-api.md section 4).
TERMINATION_TYPES = ("paymentCancel", "userCancel", "publisherCancel", "policyViolation")

TERMINATE_ALREADY = Rule(
    "terminate.already",
    "the access is already terminated",
    api=("already terminated", "is terminated"),
)
TERMINATE_IN_APP = Rule(
    "terminate.in-app",
    "the subscription is managed by the app store, where it is ended",
    api=("managed by",),
)
TRANSFER_SAME = Rule("transfer.same-customer", "the access already belongs to that customer")
TRANSFER_TARGET = Rule(
    "transfer.target",
    "the receiving customer must exist and not be anonymized",
    api=("customer not found", "does not exist"),
)
TRANSFER_TERMINATED = Rule(
    "transfer.terminated",
    "a terminated access cannot be transferred",
    api=("cannot be transferred",),
)
TRANSFER_IN_APP = Rule(
    "transfer.in-app",
    "the subscription is managed by the app store and stays with its buyer",
    api=("managed by",),
)


def _label(entity: str) -> str:
    return "subscription" if entity == "subscriptions" else "pass"


def _live(entity: str, record: dict[str, Any], now: int) -> str:
    """The access's state in words (a subscription's lifecycle state; a pass's status)."""
    if entity == "subscriptions":
        return subscription_state(
            record["status"], record.get("inTrial", False), record.get("dateTo"), now
        )
    if pass_is_active(record["status"], record.get("expiresAt"), now):
        return "active"
    return record["status"] if record["status"] != "active" else "expired"


def _store(entity: str, record: dict[str, Any]) -> str | None:
    if entity != "subscriptions":
        return None
    if record.get("paymentGateway") in IN_APP_GATEWAYS:
        return record["paymentGateway"]
    return "app" if record.get("isExternallyManaged") else None


def terminate_request(entity: str, key: int, termination_type: str) -> Request:
    """The vendor's terminate call: a subscription's carries its type, a pass's has no body."""
    if entity == "subscriptions":
        return Request(
            "POST", f"/subscriptions/{key}/terminate", {"terminationType": termination_type}
        )
    return Request("POST", f"/passes/{key}/terminate")


def plan_terminate(ctx: Context, args: dict[str, Any]) -> Preview:
    access_id = parse_id(args.get("access_id"), "access_id", "subscription or pass id")
    kind = str(args.get("type") or "").strip()
    if not kind:
        raise ActionInvalid("type", f"required: one of {', '.join(TERMINATION_TYPES)}")
    if kind not in TERMINATION_TYPES:
        raise ActionInvalid("type", f"one of {', '.join(TERMINATION_TYPES)}, not {kind[:40]!r}")
    entity, record = _access(ctx, access_id)
    what = _label(entity)
    checks = Checks()
    checks.require(record["status"] != "terminated", TERMINATE_ALREADY)
    store = _store(entity, record)
    checks.require(
        store is None,
        TERMINATE_IN_APP,
        f"the subscription is managed by the {store} store, where it is ended",
    )
    end_field = "dateTo" if entity == "subscriptions" else "expiresAt"
    end = record.get(end_field)
    changes = [
        Change("status", record["status"], "terminated"),
        Change("access", f"until {iso(end)}" if end else "no end", "ends now"),
        Change("termination type", record.get("terminationType"), kind),
    ]
    warnings = ["access ends at once and nothing is refunded"]
    if entity == "passes":
        warnings.append(
            f"the vendor's pass terminate call takes no type: srm's audit log keeps {kind}"
        )
    return Preview(
        action="terminate",
        title=f"Terminate {what}",
        target=f"{what} {access_id}",
        customer_id=record["customerId"],
        changes=changes,
        warnings=warnings,
        blocked=checks.blocked,
        destructive=True,
        irreversible=True,
        request=terminate_request(entity, access_id, kind),
        watches=[Watch(entity, access_id, {"status": record["status"]}, {"status": "terminated"})],
    )


def plan_transfer(ctx: Context, args: dict[str, Any]) -> Preview:
    access_id = parse_id(args.get("access_id"), "access_id", "subscription or pass id")
    to = parse_id(args.get("to"), "to", "customer id")
    entity, record = _access(ctx, access_id)
    what = _label(entity)
    receiver = ctx.customer(to, "to")
    checks = Checks()
    checks.require(
        int(record["customerId"]) != to,
        TRANSFER_SAME,
        f"the {what} already belongs to customer {to}",
    )
    checks.require(not is_anonymized(receiver), TRANSFER_TARGET, f"customer {to} is anonymized")
    checks.require(
        record["status"] != "terminated", TRANSFER_TERMINATED, f"the {what} is terminated"
    )
    store = _store(entity, record)
    checks.require(
        store is None,
        TRANSFER_IN_APP,
        f"the subscription is managed by the {store} store and stays with its buyer",
    )
    who = receiver.get("email") or f"customer {to}"
    state = _live(entity, record, ctx.now)
    return Preview(
        action="transfer",
        title=f"Transfer {what}",
        target=f"{what} {access_id}",
        customer_id=record["customerId"],
        changes=[
            Change("owner", f"customer {record['customerId']}", f"customer {to} ({who})"),
            Change(f"{what} state", state, f"{state} (unchanged)"),
        ],
        warnings=[
            f"customer {record['customerId']} loses this {what}; its earlier "
            "transactions stay with them"
        ],
        blocked=checks.blocked,
        destructive=True,
        request=Request("POST", f"/{entity}/{access_id}/transfer", {"customerId": to}),
        watches=[
            Watch(entity, access_id, {"customerId": record["customerId"]}, {"customerId": to})
        ],
    )


ACCESS_ID = FieldSpec(
    "access_id",
    "Subscription or pass",
    "id",
    required=True,
    target=True,
    help="a subscription id or a pass id",
)

TERMINATE = ActionSpec(
    name="terminate",
    title="Terminate access",
    fields=(
        ACCESS_ID,
        FieldSpec(
            "type",
            "Termination type",
            "choice",
            required=True,
            default="userCancel",
            choices=TERMINATION_TYPES,
            help="why it ends: " + ", ".join(TERMINATION_TYPES),
        ),
    ),
    rules=(TERMINATE_ALREADY, TERMINATE_IN_APP),
    plan=plan_terminate,
    destructive=True,
    irreversible=True,
)

TRANSFER = ActionSpec(
    name="transfer",
    title="Transfer access",
    fields=(
        ACCESS_ID,
        FieldSpec(
            "to",
            "To customer",
            "id",
            required=True,
            help="the id of the customer who receives it (in the cache)",
        ),
    ),
    rules=(TRANSFER_SAME, TRANSFER_TARGET, TRANSFER_TERMINATED, TRANSFER_IN_APP),
    plan=plan_transfer,
    destructive=True,
)

"""Access actions: extend a subscription or a pass, cancel a subscription."""

from __future__ import annotations

from typing import Any

from srm_tui.actions.rules import (ActionInvalid, ActionSpec, Change, Checks, Context,
                                   FieldSpec, Preview, Request, Rule, Watch, iso, parse_id,
                                   parse_text, parse_when)
from srm_tui.domain.lifecycle import IN_APP_GATEWAYS, subscription_state

EXTEND_TERMINATED = Rule("extend.terminated", "the access is terminated",
                         api=("is terminated",))
EXTEND_SHORTER = Rule("extend.never-shorter",
                      "the new end date must be later than the current one",
                      api=("cannot be earlier",))


def _access(ctx: Context, access_id: int) -> tuple[str, dict[str, Any]]:
    for entity in ("subscriptions", "passes"):
        record = ctx.record(entity, access_id)
        if record is not None:
            return entity, record
    raise ActionInvalid("access_id", f"no subscription or pass {access_id} in the cache "
                                     "(srm sync or srm fetch brings it)")


def plan_extend(ctx: Context, args: dict[str, Any]) -> Preview:
    access_id = parse_id(args.get("access_id"), "access_id", "subscription or pass id")
    until = parse_when(args.get("until"), "until")
    entity, record = _access(ctx, access_id)
    checks = Checks()
    checks.require(record["status"] != "terminated", EXTEND_TERMINATED)
    warnings = []
    if entity == "subscriptions":
        field, current, what = "dateTo", record.get("dateTo"), "subscription"
        request = Request("PATCH", f"/subscriptions/{access_id}", {"expiresAt": until})
        state = subscription_state(record["status"], record.get("inTrial", False), current,
                                   ctx.now)
        if state in ("cancelled", "churned"):
            warnings.append(f"the subscription is {state}: access lasts longer, "
                            "but it does not renew")
    else:
        field, current, what = "expiresAt", record.get("expiresAt"), "pass"
        request = Request("PATCH", f"/passes/{access_id}", {"expiresAt": until})
    if current is None:
        checks.require(False, EXTEND_SHORTER,
                       f"the {what} has no end date; any date would shorten it")
    else:
        checks.require(until > current, EXTEND_SHORTER,
                       f"{iso(until)} is not later than the current end {iso(current)}")
    if until < ctx.now:
        warnings.append(f"the new end date {iso(until)} is in the past")
    return Preview(
        action="extend", title=f"Extend {what}", target=f"{what} {access_id}",
        customer_id=record["customerId"],
        changes=[Change("end date", iso(current) if current else "no end", iso(until))],
        warnings=warnings, blocked=checks.blocked, request=request,
        watches=[Watch(entity, access_id, {field: current}, {field: until})])


CANCEL_IN_APP = Rule("cancel.in-app",
                     "the subscription is managed by the app store and is cancelled there",
                     api=("managed by",))
CANCEL_NOT_ACTIVE = Rule("cancel.not-active", "only an active subscription can be cancelled",
                         api=("only active",))


def plan_cancel(ctx: Context, args: dict[str, Any]) -> Preview:
    subscription_id = parse_id(args.get("subscription_id"), "subscription_id",
                               "subscription id")
    reason = parse_text(args.get("reason"), "reason", 512)
    sub = ctx.record("subscriptions", subscription_id)
    if sub is None:
        raise ActionInvalid("subscription_id", f"no subscription {subscription_id} in the "
                                               "cache (srm sync or srm fetch brings it)")
    checks = Checks()
    store = sub.get("paymentGateway")
    checks.require(not sub.get("isExternallyManaged") and store not in IN_APP_GATEWAYS,
                   CANCEL_IN_APP,
                   f"the subscription is managed by the {store} store: the customer "
                   "cancels it there")
    checks.require(sub["status"] == "active", CANCEL_NOT_ACTIVE,
                   f"the subscription is {sub['status']}, not active")
    end = iso(sub.get("dateTo"))
    return Preview(
        action="cancel", title="Cancel subscription", target=f"subscription {subscription_id}",
        customer_id=sub["customerId"],
        changes=[Change("status", sub["status"], "stopped"),
                 Change("renews", "yes" if sub["status"] == "active" else "no", "no"),
                 Change("access", f"until {end}", f"until {end} (the end of the paid period)"),
                 Change("cancellation reason", sub.get("cancellationReason"), reason)],
        blocked=checks.blocked, destructive=True,
        request=Request("POST", f"/subscriptions/{subscription_id}/cancel",
                        {"cancellationReason": reason}),
        watches=[Watch("subscriptions", subscription_id, {"status": "active"},
                       {"status": "stopped"})])


EXTEND = ActionSpec(
    name="extend", title="Extend access",
    fields=(FieldSpec("access_id", "Subscription or pass", "id", required=True, target=True,
                      help="a subscription id or a pass id"),
            FieldSpec("until", "New end date", "instant", required=True,
                      help="ISO 8601, e.g. 2026-12-31 or 2026-12-31T23:59:59Z; "
                           "never earlier than the current end")),
    rules=(EXTEND_TERMINATED, EXTEND_SHORTER), plan=plan_extend)

CANCEL = ActionSpec(
    name="cancel", title="Cancel subscription",
    fields=(FieldSpec("subscription_id", "Subscription", "id", required=True, target=True),
            FieldSpec("reason", "Reason", "text", required=True, max_length=512,
                      help="why the subscription is cancelled")),
    rules=(CANCEL_IN_APP, CANCEL_NOT_ACTIVE), plan=plan_cancel, destructive=True)

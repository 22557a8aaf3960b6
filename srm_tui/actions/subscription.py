"""Subscription actions: extend (a pass too), cancel, pause, resume, re-activate.

Over 400 lines: the five subscription actions share the target lookup, the in-app and pause
rules and the vendor profile's request plans; apart they would import each other's helpers.
"""

from __future__ import annotations

from typing import Any

from srm_tui.actions.rules import (
    ANY_VALUE,
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
    parse_text,
    parse_when,
)
from srm_tui.domain.lifecycle import IN_APP_GATEWAYS, subscription_state
from srm_tui.domain.text import count

EXTEND_TERMINATED = Rule("extend.terminated", "the access is terminated", api=("is terminated",))
EXTEND_SHORTER = Rule(
    "extend.never-shorter",
    "the new end date must be later than the current one",
    api=("cannot be earlier",),
)


def _access(ctx: Context, access_id: int) -> tuple[str, dict[str, Any]]:
    for entity in ("subscriptions", "passes"):
        record = ctx.record(entity, access_id)
        if record is not None:
            return entity, record
    raise ActionInvalid(
        "access_id",
        f"no subscription or pass {access_id} in the cache (srm sync or srm fetch brings it)",
    )


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
        state = subscription_state(record["status"], record.get("inTrial", False), current, ctx.now)
        if state in ("cancelled", "churned"):
            warnings.append(
                f"the subscription is {state}: access lasts longer, but it does not renew"
            )
    else:
        field, current, what = "expiresAt", record.get("expiresAt"), "pass"
        request = Request("PATCH", f"/passes/{access_id}", {"expiresAt": until})
    if current is None:
        checks.require(
            False, EXTEND_SHORTER, f"the {what} has no end date; any date would shorten it"
        )
    else:
        checks.require(
            until > current,
            EXTEND_SHORTER,
            f"{iso(until)} is not later than the current end {iso(current)}",
        )
    if until < ctx.now:
        warnings.append(f"the new end date {iso(until)} is in the past")
    return Preview(
        action="extend",
        title=f"Extend {what}",
        target=f"{what} {access_id}",
        customer_id=record["customerId"],
        changes=[Change("end date", iso(current) if current else "no end", iso(until))],
        warnings=warnings,
        blocked=checks.blocked,
        request=request,
        watches=[Watch(entity, access_id, {field: current}, {field: until})],
    )


CANCEL_IN_APP = Rule(
    "cancel.in-app",
    "the subscription is managed by the app store and is cancelled there",
    api=("managed by",),
)
CANCEL_NOT_ACTIVE = Rule(
    "cancel.not-active", "only an active subscription can be cancelled", api=("only active",)
)


def plan_cancel(ctx: Context, args: dict[str, Any]) -> Preview:
    subscription_id = parse_id(args.get("subscription_id"), "subscription_id", "subscription id")
    reason = parse_text(args.get("reason"), "reason", 512)
    sub = ctx.record("subscriptions", subscription_id)
    if sub is None:
        raise ActionInvalid(
            "subscription_id",
            f"no subscription {subscription_id} in the cache (srm sync or srm fetch brings it)",
        )
    checks = Checks()
    store = sub.get("paymentGateway")
    checks.require(
        not sub.get("isExternallyManaged") and store not in IN_APP_GATEWAYS,
        CANCEL_IN_APP,
        f"the subscription is managed by the {store} store: the customer cancels it there",
    )
    checks.require(
        sub["status"] == "active",
        CANCEL_NOT_ACTIVE,
        f"the subscription is {sub['status']}, not active",
    )
    end = iso(sub.get("dateTo"))
    return Preview(
        action="cancel",
        title="Cancel subscription",
        target=f"subscription {subscription_id}",
        customer_id=sub["customerId"],
        changes=[
            Change("status", sub["status"], "stopped"),
            Change("renews", "yes" if sub["status"] == "active" else "no", "no"),
            Change("access", f"until {end}", f"until {end} (the end of the paid period)"),
            Change("cancellation reason", sub.get("cancellationReason"), reason),
        ],
        blocked=checks.blocked,
        destructive=True,
        request=Request(
            "POST", f"/subscriptions/{subscription_id}/cancel", {"cancellationReason": reason}
        ),
        watches=[
            Watch("subscriptions", subscription_id, {"status": "active"}, {"status": "stopped"})
        ],
    )


EXTEND = ActionSpec(
    name="extend",
    title="Extend access",
    fields=(
        FieldSpec(
            "access_id",
            "Subscription or pass",
            "id",
            required=True,
            target=True,
            help="a subscription id or a pass id",
        ),
        FieldSpec(
            "until",
            "New end date",
            "instant",
            required=True,
            help="ISO 8601, e.g. 2026-12-31 or 2026-12-31T23:59:59Z; "
            "never earlier than the current end",
        ),
    ),
    rules=(EXTEND_TERMINATED, EXTEND_SHORTER),
    plan=plan_extend,
)

CANCEL = ActionSpec(
    name="cancel",
    title="Cancel subscription",
    fields=(
        FieldSpec("subscription_id", "Subscription", "id", required=True, target=True),
        FieldSpec(
            "reason",
            "Reason",
            "text",
            required=True,
            max_length=512,
            help="why the subscription is cancelled",
        ),
    ),
    rules=(CANCEL_IN_APP, CANCEL_NOT_ACTIVE),
    plan=plan_cancel,
    destructive=True,
)


# -- the vendor's own subscription actions: pause, resume, re-activate ------------------------

PAUSE_STATE = Rule(
    "pause.state",
    "only an active or cancelled subscription can be paused, and not in its trial",
    api=("cannot be paused",),
)
PAUSE_SCHEDULED = Rule(
    "pause.already",
    "the subscription is already paused or has a pause scheduled",
    api=("already paused",),
)
PAUSE_IN_APP = Rule(
    "pause.in-app",
    "the subscription is managed by the app store, which pauses it there",
    api=("managed by",),
)
PAUSE_CYCLES = Rule(
    "pause.max-cycles",
    "more billing cycles than the offer allows",
    api=("maximum limit of allowed billing cycles",),
)
PAUSE_NOT_ENABLED = Rule(
    "pause.not-enabled", "the subscription's offer does not allow pausing", api=("not enabled",)
)
RESUME_NOT_PAUSED = Rule(
    "resume.not-paused",
    "only a paused subscription, or one with a pause scheduled, can be resumed",
    api=("cannot be resumed",),
)
ACTIVATE_NOT_STOPPED = Rule(
    "activate.not-stopped",
    "only a stopped (cancelled) subscription can be re-activated",
    api=("cannot be activated",),
)
ACTIVATE_EXPIRED = Rule(
    "activate.expired",
    "the subscription's access has already ended: it cannot be re-activated",
    api=("expired",),
)
ACTIVATE_IN_APP = Rule(
    "activate.in-app",
    "the subscription is managed by the app store, where the customer re-subscribes",
    api=("managed by",),
)


def _subscription(ctx: Context, args: dict[str, Any]) -> dict[str, Any]:
    subscription_id = parse_id(args.get("subscription_id"), "subscription_id", "subscription id")
    sub = ctx.record("subscriptions", subscription_id)
    if sub is None:
        raise ActionInvalid(
            "subscription_id",
            f"no subscription {subscription_id} in the cache (srm sync or srm fetch brings it)",
        )
    return sub


def _in_app(sub: dict[str, Any]) -> str | None:
    """The store that manages the subscription, when one does."""
    store = sub.get("paymentGateway")
    if store in IN_APP_GATEWAYS:
        return store
    return "app" if sub.get("isExternallyManaged") else None


def _max_pause_cycles(ctx: Context, sub: dict[str, Any]) -> int | None:
    """The most billing cycles the offer allows a pause for: 0 when it allows none, None
    when the offer is not cached (the API decides)."""
    offer = ctx.record("offers", str(sub.get("offerId") or "").split("_")[0])
    if offer is None:
        return None
    value = (offer.get("pause") or {}).get("maxBillingCycles")
    return value if isinstance(value, int) and value > 0 else 0


def plan_pause(ctx: Context, args: dict[str, Any]) -> Preview:
    sub = _subscription(ctx, args)
    cycles = parse_id(args.get("cycles"), "cycles", "number of billing cycles")
    sid = sub["subscriptionId"]
    state = subscription_state(sub["status"], sub.get("inTrial", False), sub.get("dateTo"), ctx.now)
    checks = Checks()
    store = _in_app(sub)
    checks.require(
        store is None,
        PAUSE_IN_APP,
        f"the subscription is managed by the {store} store, which pauses it there",
    )
    checks.require(
        sub["status"] != "paused" and not sub.get("pause"),
        PAUSE_SCHEDULED,
        f"the subscription is {state}"
        if sub["status"] == "paused"
        else "a pause is already scheduled",
    )
    checks.require(
        state in ("active", "cancelled"),
        PAUSE_STATE,
        f"the subscription is {state}; only an active or cancelled one, not in "
        "trial, can be paused",
    )
    limit = _max_pause_cycles(ctx, sub)
    checks.require(
        limit != 0, PAUSE_NOT_ENABLED, f"offer {sub.get('offerId')} does not allow pausing"
    )
    checks.require(
        not limit or cycles <= limit,
        PAUSE_CYCLES,
        f"{cycles} billing cycles is more than the {limit} its offer allows",
    )
    end = iso(sub.get("dateTo"))
    warnings = [
        f"the pause starts at the end of the current billing cycle ({end}) and the "
        f"subscription resumes after {count(cycles, 'billing cycle')}"
    ]
    if limit is None:
        warnings.append("the offer's pause limit is not in the cache: the API checks it")
    return Preview(
        action="pause",
        title="Pause subscription",
        target=f"subscription {sid}",
        customer_id=sub["customerId"],
        changes=[
            Change(
                "pause",
                None,
                f"from {end} (anniversary date), for {count(cycles, 'billing cycle')}",
            ),
            Change(
                "renews",
                "yes" if state == "active" else "no",
                f"no payments while paused; resumes after {count(cycles, 'cycle')}",
            ),
        ],
        warnings=warnings,
        blocked=checks.blocked,
        request=Request(
            "POST",
            f"/subscriptions/{sid}/pause",
            {"pauseDate": "anniversary-date", "resumesAfterBillingCycles": cycles},
        ),
        # A pause shows as its `pause` record (the status may stay until the pause begins).
        watches=[Watch("subscriptions", sid, {"pause": None}, {"pause": ANY_VALUE})],
    )


def plan_resume(ctx: Context, args: dict[str, Any]) -> Preview:
    sub = _subscription(ctx, args)
    sid = sub["subscriptionId"]
    pause = sub.get("pause") if isinstance(sub.get("pause"), dict) else None
    checks = Checks()
    checks.require(
        sub["status"] == "paused" or pause is not None,
        RESUME_NOT_PAUSED,
        f"the subscription is {sub['status']} with no pause scheduled",
    )
    changes = [Change("status", sub["status"], "active")]
    if pause:
        changes.append(
            Change(
                "scheduled pause",
                f"from {iso(pause.get('pauseDate'))} to {iso(pause.get('resumeDate'))}",
                None,
            )
        )
    return Preview(
        action="resume",
        title="Resume subscription",
        target=f"subscription {sid}",
        customer_id=sub["customerId"],
        changes=changes,
        blocked=checks.blocked,
        warnings=["renewals and payments start again at the next billing date"],
        request=Request("POST", f"/subscriptions/{sid}/resume", {}),
        watches=[Watch("subscriptions", sid, {"status": sub["status"]}, {"status": "active"})],
    )


def plan_activate(ctx: Context, args: dict[str, Any]) -> Preview:
    sub = _subscription(ctx, args)
    sid = sub["subscriptionId"]
    checks = Checks()
    store = _in_app(sub)
    checks.require(
        store is None,
        ACTIVATE_IN_APP,
        f"the subscription is managed by the {store} store; the customer re-subscribes there",
    )
    checks.require(
        sub["status"] == "stopped",
        ACTIVATE_NOT_STOPPED,
        f"the subscription is {sub['status']}, not stopped (cancelled)",
    )
    end = sub.get("dateTo")
    checks.require(
        sub["status"] != "stopped" or end is None or end >= ctx.now,
        ACTIVATE_EXPIRED,
        f"its access ended {iso(end)}",
    )
    return Preview(
        action="activate",
        title="Re-activate subscription",
        target=f"subscription {sid}",
        customer_id=sub["customerId"],
        changes=[
            Change("status", sub["status"], "active"),
            Change("renews", "no", f"yes, at {iso(end)}"),
        ],
        warnings=["the customer is charged again at the next renewal"],
        blocked=checks.blocked,
        request=Request("POST", f"/subscriptions/{sid}/activate"),
        watches=[Watch("subscriptions", sid, {"status": "stopped"}, {"status": "active"})],
    )


SUBSCRIPTION_ID = FieldSpec("subscription_id", "Subscription", "id", required=True, target=True)

PAUSE = ActionSpec(
    name="pause",
    title="Pause subscription",
    fields=(
        SUBSCRIPTION_ID,
        FieldSpec(
            "cycles",
            "Billing cycles",
            "number",
            required=True,
            default=1,
            help="how many billing cycles the pause lasts (the offer sets the most)",
        ),
    ),
    rules=(PAUSE_IN_APP, PAUSE_SCHEDULED, PAUSE_STATE, PAUSE_NOT_ENABLED, PAUSE_CYCLES),
    plan=plan_pause,
)

RESUME = ActionSpec(
    name="resume",
    title="Resume subscription",
    fields=(SUBSCRIPTION_ID,),
    rules=(RESUME_NOT_PAUSED,),
    plan=plan_resume,
)

ACTIVATE = ActionSpec(
    name="activate",
    title="Re-activate subscription",
    fields=(SUBSCRIPTION_ID,),
    rules=(ACTIVATE_IN_APP, ACTIVATE_NOT_STOPPED, ACTIVATE_EXPIRED),
    plan=plan_activate,
)

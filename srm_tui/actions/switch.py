"""Switch a subscription to another offer (the vendor's ``POST /subscription_switches``).

The body names the subscription, the offer it moves to (a localized id such as
``S123456789_PL``) and the direction (``upgrade`` or ``downgrade``); the direction is taken
from the two prices when the agent does not give it.
"""

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
    show_money,
)
from srm_tui.actions.subscription import SUBSCRIPTION_ID, _in_app, _subscription
from srm_tui.domain.lifecycle import subscription_state
from srm_tui.domain.text import visible

DIRECTIONS = ("upgrade", "downgrade")
_OFFER_CHARS = set("0123456789_ABCDEFGHIJKLMNOPQRSTUVWXYZ")

SWITCH_IN_APP = Rule(
    "switch.in-app",
    "the subscription is managed by the app store, where the customer changes plan",
    api=("externally managed",),
)
SWITCH_NOT_ACTIVE = Rule(
    "switch.not-active",
    "only an active subscription can be switched",
    api=("only active subscriptions",),
)
SWITCH_UNKNOWN = Rule(
    "switch.unknown-offer", "no such subscription offer in the catalogue", api=("offer not found",)
)
SWITCH_SAME = Rule(
    "switch.same-offer", "the subscription already has this offer", api=("already has this offer",)
)
SWITCH_CURRENCY = Rule(
    "switch.currency",
    "the new offer must be priced in the subscription's currency",
    api=("same currency",),
)


def parse_offer_id(value: Any, field: str) -> str:
    """A subscription offer's localized id (``S123456789_PL``)."""
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise ActionInvalid(field, "required")
    if (
        len(text) != 13
        or text[0] != "S"
        or text[10] != "_"
        or not text[1:10].isdigit()
        or text[1] == "0"
        or not set(text) <= _OFFER_CHARS
    ):
        raise ActionInvalid(
            field,
            f"a subscription offer's localized id, such as S123456789_PL, not {text[:40]!r}",
        )
    return text


def _localization(ctx: Context, offer_id: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    offer = ctx.record("offers", offer_id.split("_")[0])
    if offer is None:
        return None
    loc = next((x for x in offer.get("localizations") or [] if x.get("id") == offer_id), None)
    return None if loc is None else (offer, loc)


def plan_switch(ctx: Context, args: dict[str, Any]) -> Preview:
    sub = _subscription(ctx, args)
    to = parse_offer_id(args.get("to"), "to")
    direction = args.get("direction")
    if direction is not None:
        direction = str(direction).strip().lower()
        if direction not in DIRECTIONS:
            raise ActionInvalid("direction", f"upgrade or downgrade, not {direction[:20]!r}")
    sid = sub["subscriptionId"]
    state = subscription_state(sub["status"], sub.get("inTrial", False), sub.get("dateTo"), ctx.now)
    checks = Checks()
    store = _in_app(sub)
    checks.require(
        store is None,
        SWITCH_IN_APP,
        f"the subscription is managed by the {store} store, where the customer changes plan",
    )
    checks.require(
        sub["status"] == "active",
        SWITCH_NOT_ACTIVE,
        f"the subscription is {state}; only an active one can be switched",
    )
    checks.require(to != sub["offerId"], SWITCH_SAME, f"the subscription is already on {to}")
    found = _localization(ctx, to)
    checks.require(
        found is not None,
        SWITCH_UNKNOWN,
        f"no subscription offer {to} in the cache (srm sync brings the offers)",
    )
    currency, now_price = sub.get("nextPaymentCurrency"), sub.get("nextPaymentPrice")
    if not currency or now_price is None:
        # The vendor's subscription record has no price: its offer's localization has.
        own = _localization(ctx, sub["offerId"])
        price = (own[1].get("price") or {}) if own else {}
        currency = currency or price.get("currency")
        now_price = price.get("amount") if now_price is None else now_price
    currency = currency or ""
    new_price = new_currency = title = None
    if found is not None:
        offer, loc = found
        price = loc.get("price") or {}
        new_price, new_currency = price.get("amount"), price.get("currency")
        title = offer.get("title")
        checks.require(
            new_currency == currency,
            SWITCH_CURRENCY,
            f"{to} is priced in {new_currency}, the subscription in {currency}",
        )
    if direction is None and checks.blocked is None:
        if not isinstance(new_price, (int, float)) or not isinstance(now_price, (int, float)):
            raise ActionInvalid(
                "direction", "required: the prices cannot be compared (upgrade or downgrade)"
            )
        direction = "upgrade" if new_price > now_price else "downgrade"
    changes = [
        Change(
            "offer",
            sub["offerId"],
            f"{to} ({visible(title, 60)})" if title else to,
        ),
    ]
    if isinstance(new_price, (int, float)) and new_currency:
        changes.append(
            Change(
                "next payment",
                show_money(now_price, currency) if isinstance(now_price, (int, float)) else None,
                show_money(new_price, new_currency),
            )
        )
    if direction is not None:
        changes.append(Change("direction", None, direction))
    return Preview(
        action="switch",
        title="Switch offer",
        target=f"subscription {sid}",
        customer_id=sub["customerId"],
        changes=changes,
        warnings=["the vendor applies the switch by its own rules (proration, billing date)"],
        blocked=checks.blocked,
        request=Request(
            "POST",
            "/subscription_switches",
            {"toOfferId": to, "switchDirection": direction or "upgrade", "subscriptionId": sid},
        ),
        watches=[Watch("subscriptions", sid, {"offerId": sub["offerId"]}, {"offerId": to})],
    )


SWITCH = ActionSpec(
    name="switch",
    title="Switch offer",
    fields=(
        SUBSCRIPTION_ID,
        FieldSpec(
            "to",
            "New offer",
            "text",
            required=True,
            max_length=13,
            help="the subscription offer's localized id, e.g. S123456789_PL",
        ),
        FieldSpec(
            "direction",
            "Direction",
            "choice",
            choices=DIRECTIONS,
            help="upgrade or downgrade (default: from the two prices)",
        ),
    ),
    rules=(SWITCH_IN_APP, SWITCH_NOT_ACTIVE, SWITCH_SAME, SWITCH_UNKNOWN, SWITCH_CURRENCY),
    plan=plan_switch,
)

"""Apply a coupon to a customer's subscription, checked against the campaign that holds it."""

from __future__ import annotations

import re
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
    money,
    parse_id,
    show_money,
)
from srm_tui.domain.campaigns import read_campaign
from srm_tui.domain.text import visible
from srm_tui.storage.payload import decode_raw

COUPON_RE = re.compile(r"^[A-Za-z0-9_-]{2,40}$")

COUPON_UNKNOWN = Rule(
    "coupon.unknown", "no campaign holds this coupon code", api=("coupon code is not valid",)
)
COUPON_INACTIVE = Rule("coupon.campaign-inactive", "the coupon's campaign is not active")
COUPON_OFFER_TYPE = Rule("coupon.offer-type", "the campaign's coupons are for other offer types")
COUPON_OFFERS = Rule("coupon.offers", "the campaign's coupons are for other offers")
COUPON_TAGS = Rule("coupon.tags", "the campaign's coupons are for offers with other tags")
COUPON_TERMINATED = Rule(
    "coupon.terminated", "the subscription is terminated", api=("is terminated",)
)


def campaigns_for(ctx: Context, code: str) -> list[dict[str, Any]]:
    rows = ctx.conn.execute(
        "SELECT c.raw FROM campaign_codes k JOIN campaigns c ON c.id = k.campaign_id "
        "WHERE k.code = ? ORDER BY c.id",
        (code,),
    ).fetchall()
    return [decode_raw(row[0]) for row in rows]


def plan_coupon(ctx: Context, args: dict[str, Any]) -> Preview:
    subscription_id = parse_id(args.get("subscription_id"), "subscription_id", "subscription id")
    code = str(args.get("code") or "").strip()
    if not code:
        raise ActionInvalid("code", "required")
    if not COUPON_RE.match(code):
        raise ActionInvalid("code", "a coupon code is 2 to 40 letters, digits, _ or -")
    sub = ctx.record("subscriptions", subscription_id)
    if sub is None:
        raise ActionInvalid(
            "subscription_id",
            f"no subscription {subscription_id} in the cache (srm sync or srm fetch brings it)",
        )
    offer_id = sub["offerId"].split("_")[0]
    offer = ctx.record("offers", offer_id) or {}
    loc = next((x for x in offer.get("localizations") or [] if x.get("id") == sub["offerId"]), None)
    checks = Checks()
    found = campaigns_for(ctx, code)
    warnings = []
    if not found and ctx.api == "vendor":
        # The vendor lists campaigns only by code: one no subscription carries yet is not
        # cached, and the API itself checks the code when the coupon is applied.
        warnings.append(f"no cached campaign holds {code!r}: the API checks the code")
    else:
        checks.require(
            bool(found),
            COUPON_UNKNOWN,
            f"no campaign in the cache holds {code!r} (srm sync brings the campaigns)",
        )
    # The campaign that applies: the first active one whose constraints the offer meets.
    terms = [read_campaign(c) for c in found]
    offer_tags = offer.get("tags")
    campaign = next(
        (t for t in terms if t.active and t.fits(offer_id, sub["offerId"], offer_tags)), None
    )
    if terms and campaign is None:
        first = terms[0]
        name = visible(first.name, 60)
        checks.require(first.active, COUPON_INACTIVE, f"campaign {name!r} is {first.status_text}")
        checks.require(
            first.fits_type(offer_id),
            COUPON_OFFER_TYPE,
            f"campaign {name!r} is for offer types {', '.join(first.offer_types)}, "
            f"not {offer_id[0]}",
        )
        checks.require(
            first.fits_offer(offer_id, sub["offerId"]),
            COUPON_OFFERS,
            f"campaign {name!r} is for {', '.join(first.offers)}",
        )
        checks.require(
            first.fits_tags(offer_tags),
            COUPON_TAGS,
            f"campaign {name!r} is for offers tagged {', '.join(first.tags)}",
        )
    # What srm could not read of the campaign is said; the API still decides on the code.
    said = campaign or (terms[0] if terms else None)
    if said is not None:
        warnings.extend(said.faults())
    checks.require(sub["status"] != "terminated", COUPON_TERMINATED)
    currency = sub.get("nextPaymentCurrency") or ""
    list_price = ((loc or {}).get("price") or {}).get("amount", sub.get("nextPaymentPrice"))
    changes = [Change("coupon code", sub.get("couponCode"), code)]
    after_price = None
    if campaign is not None and campaign.percent is not None and list_price is not None:
        percent = campaign.percent
        after_price = money(list_price * (100 - percent) / 100, currency)
        changes.append(
            Change(
                "next payment",
                show_money(sub.get("nextPaymentPrice") or 0, currency),
                f"{show_money(after_price, currency)} ({percent:g} % off "
                f"{show_money(list_price, currency)}, {campaign.name})",
            )
        )
    if sub.get("couponCode") and sub["couponCode"].casefold() != code.casefold():
        warnings.append(f"it replaces the coupon {sub['couponCode']}")
    return Preview(
        action="coupon-apply",
        title="Apply coupon",
        target=f"subscription {subscription_id}",
        customer_id=sub["customerId"],
        changes=changes,
        warnings=warnings,
        blocked=checks.blocked,
        request=Request("PATCH", f"/subscriptions/{subscription_id}", {"couponCode": code}),
        watches=[
            Watch(
                "subscriptions",
                subscription_id,
                {"couponCode": sub.get("couponCode")},
                {"couponCode": code},
            )
        ],
    )


COUPON_APPLY = ActionSpec(
    name="coupon-apply",
    title="Apply coupon",
    fields=(
        FieldSpec("subscription_id", "Subscription", "id", required=True, target=True),
        FieldSpec(
            "code",
            "Coupon code",
            "text",
            required=True,
            max_length=40,
            help="the campaign's coupon code, e.g. BLACKFRIDAY20",
        ),
    ),
    rules=(
        COUPON_UNKNOWN,
        COUPON_INACTIVE,
        COUPON_OFFER_TYPE,
        COUPON_OFFERS,
        COUPON_TAGS,
        COUPON_TERMINATED,
    ),
    plan=plan_coupon,
)

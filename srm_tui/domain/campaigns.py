"""Reading a coupon campaign, whatever shape it comes in: the one place srm interprets one.

Two shapes reach srm. The vendor's ``GET /campaigns?couponCode=`` item (Core 3.1 OpenAPI,
``ListCampaignsResponse``) gives ``discount`` as a number (the percentage off) and
``usagePerCoupon`` as a string (``"1"``); a vendor-profile sync caches that item. The sandbox's
full campaign (its enumeration and export, what a demo cache holds) gives ``discount`` as
``{"type": "percent", "value": 50}`` and ``usagePerCoupon`` as a number. ``read_campaign`` takes
both, takes missing fields as "not said", and never raises: what it cannot understand is kept
in ``problems``, each said plainly ("discount not understood: 'half'").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from srm_tui.domain.text import count, visible

# A discount object's ``type`` that means a percentage off (absent: the vendor's number is one).
PERCENT_TYPES = (None, "percent", "percentage")


@dataclass(frozen=True, slots=True)
class CampaignTerms:
    """What a campaign grants and to which offers, as srm understood it."""

    name: str
    status: str | None
    percent: float | None  # None: not given, or not understood (see problems)
    uses: int | None  # uses per coupon; None: not given, or not understood
    offer_types: tuple[str, ...]  # empty: any
    offers: tuple[str, ...]  # empty: any
    tags: tuple[str, ...]  # empty: any
    payment_type: str | None  # None: any
    codes: tuple[str, ...]
    problems: tuple[str, ...]

    @property
    def active(self) -> bool:
        """Whether the vendor applies its coupons now."""
        return self.status == "active"

    @property
    def discount_text(self) -> str:
        """The percentage off in words ("50 % off"), or why none can be shown."""
        if self.percent is None:
            return "discount not understood" if self._unread("discount") else "discount not said"
        return f"{self.percent:g} % off"

    @property
    def uses_text(self) -> str:
        """Uses per coupon in words."""
        if self.uses is None:
            return "not understood" if self._unread("uses per coupon") else "not said"
        return str(self.uses)

    @property
    def uses_per_coupon(self) -> str:
        """Uses per coupon as a phrase, singular or plural: "1 use per coupon"."""
        if self.uses is None:
            return f"uses per coupon {self.uses_text}"
        return f"{count(self.uses, 'use')} per coupon"

    @property
    def status_text(self) -> str:
        return self.status if self.status is not None else "of no stated status"

    def faults(self) -> list[str]:
        """Each problem as one plain line naming the campaign."""
        return [f"campaign {visible(self.name, 60)!r}: {p}" for p in self.problems]

    def fits_type(self, offer_id: str) -> bool:
        return not self.offer_types or offer_id[:1] in self.offer_types

    def fits_offer(self, offer_id: str, localized_id: str) -> bool:
        return not self.offers or offer_id in self.offers or localized_id in self.offers

    def fits_tags(self, tags: Any) -> bool:
        return not self.tags or bool(set(self.tags) & set(_strings(tags) or ()))

    def fits(self, offer_id: str, localized_id: str, tags: Any) -> bool:
        """Whether its constraints let an offer (id, localized id, tags) take its coupons."""
        return (
            self.fits_type(offer_id)
            and self.fits_offer(offer_id, localized_id)
            and self.fits_tags(tags)
        )

    def _unread(self, field: str) -> bool:
        return any(p.startswith(f"{field} not understood") for p in self.problems)


def read_campaign(raw: Any) -> CampaignTerms:
    """A campaign (either published shape, fields missing or malformed) as CampaignTerms."""
    problems: list[str] = []
    c = raw if isinstance(raw, dict) else {}
    if not isinstance(raw, dict):
        problems.append(f"campaign not understood: {_shown(raw)}")
    name = c.get("name")
    if not isinstance(name, str) or not name:
        if name is not None:
            problems.append(f"name not understood: {_shown(name)}")
        name = "(unnamed)" if name is None or name == "" else str(name)
    status = c.get("status")
    if status is not None and not isinstance(status, str):
        problems.append(f"status not understood: {_shown(status)}")
        status = None
    constraints = c.get("constraints")
    if constraints is None:
        constraints = {}
    elif not isinstance(constraints, dict):
        problems.append(f"constraints not understood: {_shown(constraints)}")
        constraints = {}
    lists = {}
    for key in ("offerTypes", "offers", "tags"):
        value = constraints.get(key)
        found = _strings(value)
        if found is None:
            problems.append(f"constraints.{key} not understood: {_shown(value)}")
            found = ()
        lists[key] = found
    payment = constraints.get("paymentType")
    if payment is not None and not isinstance(payment, str):
        problems.append(f"constraints.paymentType not understood: {_shown(payment)}")
        payment = None
    codes = _strings(c.get("couponCodes")) or ()
    return CampaignTerms(
        name=name,
        status=status,
        percent=_percent(c.get("discount"), problems),
        uses=_uses(c.get("usagePerCoupon"), problems),
        offer_types=lists["offerTypes"],
        offers=lists["offers"],
        tags=lists["tags"],
        payment_type=payment or None,
        codes=codes,
        problems=tuple(problems),
    )


def _percent(value: Any, problems: list[str]) -> float | None:
    """The percentage off, from a number, a numeric string or a {type, value} object."""
    if value is None:
        problems.append("discount not said")
        return None
    shown = value
    if isinstance(value, dict):
        kind = value.get("type")
        if kind not in PERCENT_TYPES:
            problems.append(f"discount not understood: type {_shown(kind)} is not a percentage")
            return None
        value = value.get("value")
        if value is None:
            problems.append(f"discount not understood: {_shown(shown)} has no value")
            return None
    number = _number(value)
    if number is None:
        problems.append(f"discount not understood: {_shown(shown)}")
        return None
    if not 0 <= number <= 100:
        problems.append(f"discount not understood: {number:g} is not a percentage (0 to 100)")
        return None
    return number


def _uses(value: Any, problems: list[str]) -> int | None:
    """Uses per coupon, from a whole number or its text ("1")."""
    if value is None or value == "":
        return None
    number = _number(value)
    if number is None or number < 0 or number != int(number):
        problems.append(f"uses per coupon not understood: {_shown(value)}")
        return None
    return int(number)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        text = value.strip().removesuffix("%").strip()
        try:
            number = float(text)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _strings(value: Any) -> tuple[str, ...] | None:
    """A list of strings (missing: empty); None when it is something else."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,) if value else ()
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def _shown(value: Any) -> str:
    return repr(visible(value, 40)) if isinstance(value, str) else visible(value, 40) or "null"

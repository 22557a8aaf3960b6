"""The vendor's rules for offers, localizations, season groups and seasons, as pure functions.

Every check here reads only its arguments (values, the current offer, the clock), so the
editor, the CLI and the tests ask the same questions before anything is sent. A check returns
``None`` when the rule holds, else the message that says why it does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from srm_tui.actions.rules import Rule
from srm_tui.domain.text import count
from srm_tui.offers.codes import COUNTRIES, CURRENCIES
from srm_tui.writes.errors import WriteError, WriteInvalid, WriteRefused

DAY = 86_400
MAIN_ID_RE = re.compile(r"^[SPEAR][1-9]\d{8}$")
LONG_ID_RE = re.compile(r"^[SPEAR][1-9]\d{8}_[A-Z]{2}$")
TAG_RE = re.compile(r"^[a-zA-Z0-9_\-: ]+$")
URL_RE = re.compile(r"^$|^(https?|ftp)://[^\s/?#.\-][^\s/?#]*\.[^\s/?.#-]{2,}/?\S*$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)

# Billing periods an agent chooses -> the API's billingCycle.
PERIODS = {
    "day": ("day", 1),
    "week": ("week", 1),
    "month": ("month", 1),
    "3months": ("month", 3),
    "6months": ("month", 6),
    "year": ("year", 1),
    "season": ("season", 1),
}
PERIOD_DAYS = {
    "day": 1,
    "week": 7,
    "month": 30,
    "3months": 91,
    "6months": 182,
    "year": 365,
    "season": 365,
}
PAUSABLE = ("week", "month", "3months")
MIN_TRIAL_DAYS = 4
SEASON_LEAD_DAYS = 31
APP_STORES = ("apple", "amazon", "android", "roku", "samsung", "vizio")

# -- the rules, each with a stable id and the fragments of the API's refusal it matches ----

ID_FORMAT = Rule(
    "offer.id-format",
    "an offer id is S, P, E, A or R and 9 digits "
    "(S123456789); a country version adds _CC (S123456789_PL)",
    api=("invalid offerid",),
)
CURRENCY_ISO = Rule(
    "offer.currency-iso",
    "a currency is an ISO 4217 code such as EUR or PLN",
    api=("currency is invalid",),
)
COUNTRY_ISO = Rule(
    "offer.country-iso",
    "a country is an ISO 3166-1 alpha-2 code such as PL",
    api=("countrycode is invalid", "countries is invalid"),
)
CURRENCY_FIXED = Rule(
    "offer.currency-fixed",
    "the default currency is fixed after the first sale",
    api=("after the first sale",),
)
PAUSE_PERIOD = Rule(
    "offer.pause-period",
    "pausing is offered only for weekly, monthly and 3-month billing periods",
    api=("pausing is offered only",),
)
TRIAL_LENGTH = Rule(
    "offer.trial-length",
    f"a free trial lasts at least {MIN_TRIAL_DAYS} days",
    api=("at least 4 days",),
)
TRIAL_SUBSCRIPTION = Rule(
    "offer.trial-subscriptions-only",
    "only subscriptions have a free trial",
    api=("only subscriptions have a free trial",),
)
SEASON_GROUP = Rule(
    "offer.season-group",
    "a seasonal subscription belongs to an existing season group, and only a seasonal one does",
    api=("season group not found", "only seasonal subscriptions", "needs a seasongroupid"),
)
EVENT_WINDOW = Rule(
    "event.window", "a live event ends after it starts", api=("endsat must be later",)
)
PRICE_RULES = Rule(
    "price.rules",
    "a time-based price ends after it starts, costs more than 0 and does not overlap another",
)
LOC_ONE_PER_COUNTRY = Rule(
    "localization.one-per-country",
    "an offer has one localization per country",
    api=("already exists",),
)
LOC_INACTIVE_OFFER = Rule(
    "localization.inactive-offer",
    "a localization of an inactive offer cannot be activated",
    api=("cannot activate localization of an inactive offer",),
)
LOC_CURRENCY = Rule(
    "localization.currency-fixed",
    "a localization's currency cannot be changed",
    api=("currency of a localization",),
)
SEASON_LEAD = Rule(
    "season.lead",
    f"an upcoming season starts at least {SEASON_LEAD_DAYS} days ahead",
    api=("less than 31 days",),
)
SEASON_FUTURE = Rule(
    "season.future-only", "only dates in the future can be edited", api=("only dates in future",)
)
SEASON_LAST = Rule(
    "season.last-only", "only the last season can be removed", api=("only last season",)
)
SEASON_OVERLAP = Rule(
    "season.no-overlap", "the seasons of a group do not overlap", api=("overlaps",)
)
SEASON_ORDER = Rule(
    "season.end-after-start", "a season ends after it starts", api=("enddate must be later",)
)
GROUP_ACTIVE = Rule(
    "season-group.active-seasons",
    "a season group with active seasons cannot be deleted",
    api=("with active seasons",),
)
GROUP_IN_USE = Rule(
    "season-group.in-use",
    "a season group an offer uses cannot be deleted",
    api=("is used by offer",),
)
GROUP_NAME = Rule(
    "season-group.name-unique",
    "season group names are unique, ignoring case",
    api=("season group '",),
)

ALL_RULES = (
    ID_FORMAT,
    CURRENCY_ISO,
    COUNTRY_ISO,
    CURRENCY_FIXED,
    PAUSE_PERIOD,
    TRIAL_LENGTH,
    TRIAL_SUBSCRIPTION,
    SEASON_GROUP,
    EVENT_WINDOW,
    PRICE_RULES,
    LOC_ONE_PER_COUNTRY,
    LOC_INACTIVE_OFFER,
    LOC_CURRENCY,
    SEASON_LEAD,
    SEASON_FUTURE,
    SEASON_LAST,
    SEASON_OVERLAP,
    SEASON_ORDER,
    GROUP_ACTIVE,
    GROUP_IN_USE,
    GROUP_NAME,
)


def rule_for(message: str) -> Rule | None:
    """The local rule an API refusal corresponds to, if any."""
    return next((r for r in ALL_RULES if r.matches(message)), None)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with what was typed: the field, why, and the vendor rule (if one)."""

    field: str
    message: str
    rule: str | None = None

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" + (f" (rule {self.rule})" if self.rule else "")

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "message": self.message, "rule": self.rule}


class OfferInvalid(WriteInvalid):
    """What was typed cannot be sent; every problem names its field (and rule)."""

    def __init__(self, problems: list[Problem]):
        WriteError.__init__(self, "; ".join(str(p) for p in problems))
        self.problems = problems
        self.message = problems[0].message if problems else ""

    @property  # type: ignore[override]
    def field(self) -> str:
        return self.problems[0].field

    @property
    def refused(self) -> Problem | None:
        """The first problem that is a vendor rule rather than a typing mistake."""
        return next((p for p in self.problems if p.rule), None)


class OfferRefused(WriteRefused):
    """A vendor rule refused the change (checked here, or the API's own refusal)."""


# -- single checks -------------------------------------------------------------------------


def offer_id(value: str) -> str | None:
    if MAIN_ID_RE.match(value or ""):
        return None
    return f"{value[:20]!r} is not an offer id: {ID_FORMAT.text}"


def localization_id(value: str) -> str | None:
    if LONG_ID_RE.match(value or ""):
        return None
    return f"{value[:20]!r} is not a localization id: {ID_FORMAT.text}"


def currency(value: str) -> str | None:
    if value in CURRENCIES:
        return None
    return f"{value[:8]!r} is not an ISO 4217 currency code"


def country(value: str) -> str | None:
    if value in COUNTRIES:
        return None
    return f"{value[:8]!r} is not an ISO 3166-1 alpha-2 country code"


def currency_change(old: str | None, new: str, sold: bool) -> str | None:
    if old is None or old == new or not sold:
        return None
    return f"the offer has sales, so its currency stays {old}"


def pause(period: str | None, max_cycles: int | None) -> str | None:
    if max_cycles is None or period in PAUSABLE:
        return None
    return f"a {period or 'non-recurring'} offer cannot be paused: {PAUSE_PERIOD.text}"


def trial_days(trial: dict[str, Any] | None, period: str | None) -> int | None:
    """How many days a free trial lasts (periods counted by their length)."""
    if not trial:
        return None
    if trial.get("type") == "period":
        return int(trial.get("duration") or 0) * PERIOD_DAYS.get(period or "month", 30)
    return int(trial.get("duration") or 0)


def trial(trial_value: dict[str, Any] | None, period: str | None, letter: str) -> str | None:
    if not trial_value:
        return None
    if letter != "S":
        return TRIAL_SUBSCRIPTION.text
    days = trial_days(trial_value, period) or 0
    if days < MIN_TRIAL_DAYS:
        return f"a free trial of {count(days, 'day')} is too short: at least {MIN_TRIAL_DAYS} days"
    return None


def season_group(
    period: str | None, group_id: str | None, groups: dict[str, dict[str, Any]]
) -> str | None:
    if period == "season" and not group_id:
        return "a seasonal subscription needs a season group"
    if group_id and period != "season":
        return "only a seasonal subscription belongs to a season group"
    if group_id and group_id not in groups:
        return f"no season group {group_id}"
    return None


def event_window(starts: int, ends: int) -> str | None:
    return None if ends > starts else "the event must end after it starts"


def price_rules(rules: list[dict[str, Any]]) -> str | None:
    spans = sorted((r["from"], r["to"], r["name"]) for r in rules)
    for r in rules:
        if r["to"] <= r["from"]:
            return f"{r['name']!r} must end after it starts"
        if r["amount"] <= 0:
            return f"{r['name']!r} must cost more than 0"
    for (_, end, name), (start, _, other) in zip(spans, spans[1:]):
        if start < end:
            return f"{name!r} overlaps {other!r}"
    return None


def localization_new(offer: dict[str, Any], country_code: str) -> str | None:
    if any(loc.get("countryCode") == country_code for loc in offer.get("localizations") or []):
        return f"{offer['id']} already has a localization for {country_code}"
    return None


def localization_activation(offer: dict[str, Any], active: bool) -> str | None:
    if active and not offer.get("active"):
        return f"{offer['id']} is inactive: activate the offer first"
    return None


# -- season groups and seasons -------------------------------------------------------------


def group_name(name: str, groups: list[dict[str, Any]], except_id: str | None = None) -> str | None:
    for group in groups:
        if group["id"] != except_id and group["name"].casefold() == name.casefold():
            return f"a season group named {group['name']!r} exists"
    return None


def group_delete(
    group: dict[str, Any], now: int, offers: list[dict[str, Any]]
) -> tuple[Rule, str] | None:
    active = [s for s in group.get("seasons") or [] if s["endDate"] >= now]
    if active:
        return GROUP_ACTIVE, (
            f"{count(len(active), 'season')} of {group['name']!r} "
            f"{'is' if len(active) == 1 else 'are'} active or upcoming"
        )
    users = [o["id"] for o in offers if o.get("seasonGroupId") == group["id"]]
    if users:
        return GROUP_IN_USE, f"offer {', '.join(users[:3])} uses {group['name']!r}"
    return None


def season_new(group: dict[str, Any], start: int, end: int, now: int) -> tuple[Rule, str] | None:
    if end <= start:
        return SEASON_ORDER, "the season must end after it starts"
    if start < now + SEASON_LEAD_DAYS * DAY:
        return SEASON_LEAD, (
            f"it starts in {count(max(0, (start - now) // DAY), 'day')}; an upcoming "
            f"season starts at least {SEASON_LEAD_DAYS} days ahead"
        )
    return _overlap(group, start, end, None)


def season_edit(
    group: dict[str, Any], season_id: int, start: int, end: int, now: int
) -> tuple[Rule, str] | None:
    season = next(s for s in group["seasons"] if s["id"] == season_id)
    if end <= start:
        return SEASON_ORDER, "the season must end after it starts"
    for label, old, new in (("start", season["startDate"], start), ("end", season["endDate"], end)):
        if old != new and (old <= now or new <= now):
            return SEASON_FUTURE, (f"the {label} date is past or would be: {SEASON_FUTURE.text}")
    return _overlap(group, start, end, season_id)


def season_remove(group: dict[str, Any], season_id: int) -> tuple[Rule, str] | None:
    last = max(group["seasons"], key=lambda s: s["startDate"])
    if last["id"] != season_id:
        return SEASON_LAST, f"season {last['id']} is the last one; remove it first"
    return None


def _overlap(
    group: dict[str, Any], start: int, end: int, except_id: int | None
) -> tuple[Rule, str] | None:
    for season in group.get("seasons") or []:
        if season["id"] != except_id and start < season["endDate"] and end > season["startDate"]:
            return SEASON_OVERLAP, f"it overlaps season {season['id']}"
    return None

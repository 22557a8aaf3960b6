"""The sandbox's offer catalog: offers of every type, season groups and campaigns.

`build_catalog(seed, now)` returns plain dicts in the API's 3.1 shapes. `CatalogIndex` reads
such a catalog back into the lookup tables the customer generator needs, so customers can be
generated against any catalog (a freshly built one or one loaded from a state file).

Over 400 lines: the catalogue's generated data (offer templates per type, season groups,
campaigns) is most of it; the code that builds it is short.
"""

from __future__ import annotations

import bisect
import random
import uuid
from dataclasses import dataclass, field

from .locales import COUNTRIES, COUNTRY_BY_CODE, Country

DAY = 86_400
HOUR = 3_600
YEAR = 365 * DAY

# Renewal period lengths. Calendar months are approximated by fixed lengths so that renewal
# dates are pure arithmetic (fast and obviously consistent).
PERIOD_SECONDS = {
    "day": DAY,
    "week": 7 * DAY,
    "month": 30 * DAY,
    "3months": 91 * DAY,
    "6months": 182 * DAY,
    "year": 365 * DAY,
}
# period -> (billingCycle.periodUnit, billingCycle.amount)
BILLING_CYCLE = {
    "day": ("day", 1),
    "week": ("week", 1),
    "month": ("month", 1),
    "3months": ("month", 3),
    "6months": ("month", 6),
    "year": ("year", 1),
    "season": ("season", 1),
}
CYCLE_PERIOD = {v: k for k, v in BILLING_CYCLE.items()}

OFFER_TYPE = {"S": "subscription", "P": "pass", "E": "live", "A": "vod", "R": "vod"}
APP_STORES = ("apple", "android", "roku", "amazon")

ALL = None  # sold in every market


@dataclass(frozen=True)
class _Sub:
    sku: str
    title: str
    period: str
    usd: float
    trial_days: int
    tags: tuple[str, ...]
    markets: tuple[str, ...] | None
    stores: tuple[str, ...]
    pause_cycles: int | None
    weight: int
    active: bool = True


@dataclass(frozen=True)
class _OneOff:
    sku: str
    letter: str
    title: str
    usd: float
    tags: tuple[str, ...]
    markets: tuple[str, ...] | None
    weight: int
    # P: ("duration", days) or ("fixed", offset from now); R: ("hours", n);
    # E: ("event", start offset from now, length); A: ("lifetime", 0)
    rule: tuple
    stores: tuple[str, ...] = ()
    giftable: bool = False
    active: bool = True


SUBSCRIPTIONS = (
    _Sub("monthly", "Monthly", "month", 9.99, 7, ("svod",), ALL, APP_STORES, 3, 30),
    _Sub("annual", "Annual", "year", 89.99, 14, ("svod",), ALL, APP_STORES, None, 14),
    _Sub(
        "premium-monthly",
        "Premium Monthly",
        "month",
        14.99,
        7,
        ("svod", "premium"),
        ALL,
        APP_STORES,
        3,
        10,
    ),
    _Sub(
        "premium-annual",
        "Premium Annual",
        "year",
        139.99,
        30,
        ("svod", "premium"),
        ALL,
        ("apple", "android"),
        None,
        5,
    ),
    _Sub("weekly", "Weekly", "week", 2.99, 0, ("svod",), ALL, ("apple", "android"), None, 6),
    _Sub(
        "quarterly", "Quarterly", "3months", 26.99, 0, ("svod",), ALL, ("apple", "android"), None, 6
    ),
    _Sub(
        "half-year",
        "6 Months",
        "6months",
        49.99,
        14,
        ("svod",),
        ("US", "GB", "DE", "PL", "NL", "FR", "ES", "NO"),
        ("apple", "android"),
        None,
        4,
    ),
    _Sub(
        "sports-monthly",
        "Sports Monthly",
        "month",
        12.99,
        0,
        ("sport",),
        ("US", "GB", "DE", "PL", "ES", "BR", "NL"),
        APP_STORES,
        2,
        8,
    ),
    _Sub(
        "family",
        "Family Plan",
        "month",
        19.99,
        7,
        ("svod", "family"),
        ("US", "GB", "DE", "FR", "NO", "JP"),
        ("apple", "android"),
        3,
        5,
    ),
    _Sub(
        "student",
        "Student Monthly",
        "month",
        4.99,
        0,
        ("svod", "student"),
        ("US", "GB", "DE", "PL", "NL"),
        (),
        None,
        4,
    ),
    _Sub(
        "day-ticket", "Day Ticket", "day", 0.99, 0, ("svod",), ("US", "GB", "DE", "BR"), (), None, 2
    ),
    _Sub(
        "season",
        "Football Season Ticket",
        "season",
        59.99,
        0,
        ("sport", "season"),
        ("GB", "US", "DE", "NL", "NO", "ES"),
        ("apple", "android"),
        None,
        4,
    ),
    _Sub("free", "Free Basic", "month", 0.0, 0, ("free",), ALL, (), None, 2),
    _Sub(
        "legacy-monthly",
        "Monthly (legacy price)",
        "month",
        7.99,
        0,
        ("svod", "legacy"),
        ("US", "GB", "DE", "PL", "FR"),
        ("apple",),
        None,
        3,
        active=False,
    ),
)

ONE_OFFS = (
    _OneOff(
        "pass-30",
        "P",
        "30-Day Pass",
        14.99,
        ("pass",),
        ALL,
        20,
        ("duration", 30),
        ("apple", "android"),
        giftable=True,
    ),
    _OneOff("pass-7", "P", "7-Day Pass", 4.99, ("pass",), ALL, 14, ("duration", 7)),
    _OneOff(
        "weekend",
        "P",
        "Weekend Pass",
        2.99,
        ("pass",),
        ("US", "GB", "DE", "PL", "BR"),
        8,
        ("duration", 2),
    ),
    _OneOff(
        "festival",
        "P",
        "Festival Pass",
        24.99,
        ("pass", "festival"),
        ("GB", "DE", "NL", "NO", "PL"),
        5,
        ("fixed", 120 * DAY),
        giftable=True,
    ),
    _OneOff(
        "summer",
        "P",
        "Summer Pass",
        19.99,
        ("pass",),
        ("US", "GB", "ES", "FR"),
        4,
        ("fixed", -200 * DAY),
        active=False,
    ),
    _OneOff(
        "final",
        "E",
        "Championship Final (live)",
        19.99,
        ("live", "sport"),
        ALL,
        8,
        ("event", -60 * DAY, 3 * HOUR),
    ),
    _OneOff(
        "concert",
        "E",
        "New Year Concert (live)",
        9.99,
        ("live", "music"),
        ("DE", "NL", "NO", "PL", "FR", "JP"),
        5,
        ("event", -200 * DAY, 2 * HOUR),
    ),
    _OneOff(
        "boxing",
        "E",
        "Boxing Night (live)",
        14.99,
        ("live", "sport"),
        ("US", "GB", "BR", "ES"),
        5,
        ("event", 20 * DAY, 4 * HOUR),
    ),
    _OneOff(
        "marathon",
        "E",
        "City Marathon (live)",
        4.99,
        ("live", "sport"),
        ("NL", "DE", "GB", "US", "JP"),
        3,
        ("event", -2 * HOUR, 6 * HOUR),
    ),
    _OneOff(
        "long-road",
        "A",
        "The Long Road (documentary)",
        7.99,
        ("vod", "documentary"),
        ALL,
        6,
        ("lifetime", 0),
        giftable=True,
    ),
    _OneOff(
        "live-in-oslo",
        "A",
        "Live in Oslo (concert film)",
        9.99,
        ("vod", "music"),
        ("NO", "DE", "GB", "US", "PL", "NL"),
        4,
        ("lifetime", 0),
    ),
    _OneOff(
        "directors-cut",
        "A",
        "Northern Lights: Director's Cut",
        12.99,
        ("vod",),
        ALL,
        3,
        ("lifetime", 0),
    ),
    _OneOff(
        "masterclass",
        "A",
        "Masterclass: Home Cooking",
        19.99,
        ("vod", "learning"),
        ("US", "GB", "FR", "ES", "BR"),
        3,
        ("lifetime", 0),
    ),
    _OneOff(
        "midnight",
        "R",
        "Midnight Express (rental)",
        3.99,
        ("tvod",),
        ALL,
        8,
        ("hours", 48),
        ("apple", "android"),
    ),
    _OneOff("ocean-deep", "R", "Ocean Deep (rental)", 2.99, ("tvod",), ALL, 6, ("hours", 72)),
    _OneOff(
        "city-lights",
        "R",
        "City Lights (rental)",
        1.99,
        ("tvod",),
        ("US", "GB", "DE", "PL", "BR", "JP"),
        5,
        ("hours", 24),
    ),
    _OneOff(
        "skyfall",
        "R",
        "Skyfall Protocol (new release)",
        5.99,
        ("tvod", "new"),
        ALL,
        6,
        ("hours", 48),
    ),
)

TRANSLATED_TITLES = {
    "Monthly": {
        "PL": "Miesięczny",
        "DE": "Monatlich",
        "FR": "Mensuel",
        "ES": "Mensual",
        "NL": "Maandelijks",
        "NO": "Månedlig",
        "JP": "月額プラン",
        "BR": "Mensal",
    },
    "Annual": {
        "PL": "Roczny",
        "DE": "Jährlich",
        "FR": "Annuel",
        "ES": "Anual",
        "NL": "Jaarlijks",
        "NO": "Årlig",
        "JP": "年額プラン",
        "BR": "Anual",
    },
    "Weekly": {
        "PL": "Tygodniowy",
        "DE": "Wöchentlich",
        "FR": "Hebdomadaire",
        "ES": "Semanal",
        "NL": "Wekelijks",
        "NO": "Ukentlig",
        "JP": "週額プラン",
        "BR": "Semanal",
    },
}

DESCRIPTIONS = {
    "S": "Unlimited streaming of the whole library, renewed automatically.",
    "P": "Full access for a limited time. No automatic renewal.",
    "E": "Watch the event live, with replay until the end of the broadcast.",
    "A": "Buy once, watch forever.",
    "R": "Rent it and watch it as often as you like until the rental ends.",
}


def localized_price(usd: float, country: Country) -> float:
    """A list price in `country`'s currency, rounded the way shops round (x.99, JPY ..80)."""
    if usd <= 0:
        return 0.0
    raw = usd * country.fx
    if country.whole_prices:
        return float(max(100, int(round(raw / 100.0)) * 100 - 20))
    return round(int(raw) + 0.99, 2)


def _markets(markets: tuple[str, ...] | None) -> list[Country]:
    if markets is None:
        return list(COUNTRIES)
    return [COUNTRY_BY_CODE[code] for code in markets]


def _new_offer_id(rng: random.Random, letter: str, used: set[str]) -> str:
    while True:
        offer_id = f"{letter}{rng.randrange(100_000_000, 1_000_000_000)}"
        if offer_id not in used:
            used.add(offer_id)
            return offer_id


def _season_groups(rng: random.Random, now: int) -> list[dict]:
    """Three groups: one with a running and an upcoming season, one finished, one empty."""
    anchor = (now - 100 * DAY) // HOUR * HOUR - 3 * YEAR

    def seasons(start: int, count: int, length: int) -> list[dict]:
        return [
            {"id": j + 1, "startDate": start + j * YEAR, "endDate": start + j * YEAR + length}
            for j in range(count)
        ]

    football = seasons(anchor, 5, 280 * DAY)
    cup = seasons(anchor - 2 * YEAR, 2, 120 * DAY)
    names = (("Premier Football", football), ("Champions Cup", cup), ("Winter League", []))
    return [
        {
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "name": name,
            "seasons": seasons,
        }
        for name, seasons in names
    ]


def _price(amount: float, country: Country) -> dict:
    return {"amount": amount, "currency": country.currency, "taxIncluded": country.tax_included}


def _offer(
    rng: random.Random,
    offer_id: str,
    letter: str,
    sku: str,
    title: str,
    usd: float,
    tags: tuple[str, ...],
    markets: list[Country],
    active: bool,
    created: int,
    now: int,
    extra: dict,
) -> dict:
    localizations = []
    for country in markets:
        # A few localizations are switched off, so clients see inactive ones on active offers.
        loc_active = active and rng.random() > 0.06
        localizations.append(
            {
                "id": f"{offer_id}_{country.code}",
                "countryCode": country.code,
                "title": TRANSLATED_TITLES.get(title, {}).get(country.code, title),
                "description": DESCRIPTIONS[letter],
                "active": loc_active,
                "price": _price(localized_price(usd, country), country),
                "geoRestriction": None,
                "freeTrial": extra.get("freeTrial"),
            }
        )
    main = markets[0]
    slug = sku.replace("_", "-")
    updated = min(now, created + int(rng.random() * (now - created)))
    offer = {
        "id": offer_id,
        "longId": f"{offer_id}_{main.code}",
        "type": OFFER_TYPE[letter],
        "active": active,
        "title": title,
        "description": DESCRIPTIONS[letter],
        "url": f"https://watch.example.com/offers/{slug}",
        "imageUrl": f"https://img.example.com/offers/{slug}.jpg",
        "tags": list(tags),
        "price": _price(localized_price(usd, main), main),
        "billingCycle": None,
        "freeTrial": None,
        "entitlement": None,
        "event": None,
        "geoRestriction": None,
        "appStoreProductIds": None,
        "externalProperties": {"sku": sku},
        "giftable": False,
        "hasLandingPage": letter != "S",
        "sessionsLimit": None,
        "seasonGroupId": None,
        "pause": None,
        "createdAt": created,
        "updatedAt": updated,
        "version": 1 + int(rng.random() * 5),
        "localizations": localizations,
    }
    offer.update(extra)
    return offer


def build_catalog(seed: int, now: int) -> dict:
    """Offers of every type with localizations, season groups and campaigns, as of `now`."""
    rng = random.Random(f"{seed}:catalog")
    used: set[str] = set()
    groups = _season_groups(rng, now)
    offers = []
    for plan in SUBSCRIPTIONS:
        offer_id = _new_offer_id(rng, "S", used)
        unit, amount = BILLING_CYCLE[plan.period]
        extra: dict = {"billingCycle": {"periodUnit": unit, "amount": amount}}
        if plan.trial_days:
            extra["freeTrial"] = {"type": "day", "duration": plan.trial_days}
        if plan.pause_cycles:
            extra["pause"] = {"maxBillingCycles": plan.pause_cycles}
        if plan.stores:
            extra["appStoreProductIds"] = {s: f"com.example.tv.{plan.sku}.{s}" for s in plan.stores}
        if plan.period == "season":
            extra["seasonGroupId"] = groups[0]["id"]
        created = now - 6 * YEAR - int(rng.random() * 120) * DAY - (YEAR if not plan.active else 0)
        offers.append(
            _offer(
                rng,
                offer_id,
                "S",
                plan.sku,
                plan.title,
                plan.usd,
                plan.tags,
                _markets(plan.markets),
                plan.active,
                created,
                now,
                extra,
            )
        )
    for plan in ONE_OFFS:
        offer_id = _new_offer_id(rng, plan.letter, used)
        kind = plan.rule[0]
        extra = {"giftable": plan.giftable}
        created = now - 5 * YEAR - int(rng.random() * 200) * DAY
        if kind == "duration":
            extra["entitlement"] = {
                "expirationPolicy": "duration",
                "expiresAt": None,
                "duration": {"amount": plan.rule[1], "periodUnit": "day"},
            }
        elif kind == "fixed":
            expires = (now + plan.rule[1]) // HOUR * HOUR
            extra["entitlement"] = {
                "expirationPolicy": "fixed-date",
                "expiresAt": expires,
                "duration": None,
            }
            created = expires - 400 * DAY
        elif kind == "hours":
            extra["entitlement"] = {
                "expirationPolicy": "duration",
                "expiresAt": None,
                "duration": {"amount": plan.rule[1], "periodUnit": "hour"},
            }
        elif kind == "event":
            starts = (now + plan.rule[1]) // HOUR * HOUR
            extra["event"] = {
                "startsAt": starts,
                "endsAt": starts + plan.rule[2],
                "timezone": "Europe/Amsterdam",
            }
            created = starts - 120 * DAY
        if plan.stores:
            extra["appStoreProductIds"] = {s: f"com.example.tv.{plan.sku}.{s}" for s in plan.stores}
        offers.append(
            _offer(
                rng,
                offer_id,
                plan.letter,
                plan.sku,
                plan.title,
                plan.usd,
                plan.tags,
                _markets(plan.markets),
                plan.active,
                created,
                now,
                extra,
            )
        )
    return {"offers": offers, "season_groups": groups, "campaigns": _campaigns(now)}


def _campaigns(now: int) -> list[dict]:
    import time

    year = time.gmtime(now).tm_year

    def campaign(cid, name, percent, codes, types, status="active", usage=1):
        return {
            "id": cid,
            "name": name,
            "discount": {"type": "percent", "value": percent},
            "usagePerCoupon": usage,
            "status": status,
            "couponCodes": codes,
            "constraints": {"offerTypes": types, "paymentType": None, "offers": [], "tags": []},
        }

    return [
        campaign(1, "Black Friday", 20, [f"BF{year - 1}", "BLACKFRIDAY20"], ["S"]),
        campaign(2, "Win-back", 50, ["COMEBACK50"], ["S"]),
        campaign(3, "Student discount", 30, ["STUDENT30"], ["S"], usage=12),
        campaign(4, "Summer pass promo", 15, ["SUMMER15"], ["P"], status="expired"),
    ]


# ---------------------------------------------------------------------------------------------
# Reading a catalog back for the customer generator


@dataclass(slots=True)
class Loc:
    """One sellable localization of an offer."""

    id: str
    title: str
    price: float
    currency: str


@dataclass(slots=True)
class Plan:
    """An offer as the customer generator sees it."""

    offer_id: str
    letter: str
    sku: str
    active: bool
    period: str | None = None  # subscriptions
    seconds: int = 0  # subscription period, pass/rental duration
    unit: str = ""
    unit_amount: int = 1
    trial_days: int = 0
    pause_cycles: int = 0
    stores: tuple[str, ...] = ()
    giftable: bool = False
    fixed_expiry: int | None = None  # passes with a fixed end date
    event: tuple[int, int] | None = None
    sell_from: int = 0
    sell_to: int = 0
    locs: dict[str, Loc] = field(default_factory=dict)


class WeightedPicker:
    """Weighted choice over a fixed list in O(log n) with one uniform draw."""

    __slots__ = ("items", "cum", "total")

    def __init__(self, weighted: list[tuple[object, float]]):
        self.items = [item for item, _ in weighted]
        self.cum = []
        total = 0.0
        for _, weight in weighted:
            total += weight
            self.cum.append(total)
        self.total = total

    def __bool__(self) -> bool:
        return bool(self.items)

    def pick(self, u: float):
        return self.items[bisect.bisect_right(self.cum, u * self.total)]


SKU_WEIGHTS = {plan.sku: plan.weight for plan in SUBSCRIPTIONS + ONE_OFFS}


class CatalogIndex:
    """Lookup tables over a catalog: which plans each market can buy, by purpose."""

    def __init__(self, catalog: dict, now: int):
        self.now = now
        self.plans: list[Plan] = []
        self.titles: dict[str, str] = {}  # localization id -> its title
        groups = {g["id"]: g for g in catalog.get("season_groups", [])}
        self.season_starts: list[int] = []
        for offer in catalog["offers"]:
            plan = self._plan(offer, now)
            self.plans.append(plan)
            for loc in offer.get("localizations", []):
                self.titles[loc["id"]] = loc["title"]
            if plan.period == "season" and offer.get("seasonGroupId") in groups:
                seasons = groups[offer["seasonGroupId"]]["seasons"]
                self.season_starts = sorted(s["startDate"] for s in seasons)
        self.subs: dict[str, dict[str, WeightedPicker]] = {}
        self.passes: dict[str, dict[str, WeightedPicker]] = {}
        for country in COUNTRIES:
            self.subs[country.code] = self._sub_pickers(country.code)
            self.passes[country.code] = self._pass_pickers(country.code)

    @staticmethod
    def _plan(offer: dict, now: int) -> Plan:
        letter = offer["id"][0]
        sku = (offer.get("externalProperties") or {}).get("sku", offer["id"])
        plan = Plan(
            offer["id"],
            letter,
            sku,
            bool(offer.get("active")),
            stores=tuple((offer.get("appStoreProductIds") or {}).keys()),
            giftable=bool(offer.get("giftable")),
            sell_from=offer["createdAt"],
            sell_to=now,
        )
        for loc in offer.get("localizations", []):
            if loc.get("active") or not plan.active:
                plan.locs[loc["countryCode"]] = Loc(
                    loc["id"], loc["title"], loc["price"]["amount"], loc["price"]["currency"]
                )
        cycle = offer.get("billingCycle")
        if letter == "S" and cycle:
            plan.unit, plan.unit_amount = cycle["periodUnit"], cycle["amount"]
            plan.period = CYCLE_PERIOD.get((plan.unit, plan.unit_amount), "month")
            plan.seconds = PERIOD_SECONDS.get(plan.period, 0)
            trial = offer.get("freeTrial") or {}
            plan.trial_days = trial.get("duration", 0) if trial.get("type") == "day" else 0
            plan.pause_cycles = (offer.get("pause") or {}).get("maxBillingCycles") or 0
        entitlement = offer.get("entitlement") or {}
        if entitlement.get("expirationPolicy") == "fixed-date":
            plan.fixed_expiry = entitlement["expiresAt"]
            plan.sell_to = min(now, plan.fixed_expiry)
        elif entitlement.get("duration"):
            duration = entitlement["duration"]
            unit = {"hour": HOUR, "day": DAY, "week": 7 * DAY, "month": 30 * DAY, "year": YEAR}
            plan.seconds = duration["amount"] * unit[duration["periodUnit"]]
        event = offer.get("event")
        if event:
            plan.event = (event["startsAt"], event["endsAt"])
            plan.sell_to = min(now, event["endsAt"])
        return plan

    def _sub_pickers(self, cc: str) -> dict[str, WeightedPicker]:
        purposes: dict[str, list] = {"current": [], "churned": [], "trial": [], "paused": []}
        for plan in self.plans:
            if plan.letter != "S" or cc not in plan.locs:
                continue
            weight = SKU_WEIGHTS.get(plan.sku, 1)
            purposes["churned"].append((plan, weight))
            if not plan.active:
                continue
            purposes["current"].append((plan, weight))
            if plan.trial_days:
                purposes["trial"].append((plan, weight))
            if plan.pause_cycles and plan.period == "month":
                purposes["paused"].append((plan, weight))
        return {name: WeightedPicker(items) for name, items in purposes.items()}

    def _pass_pickers(self, cc: str) -> dict[str, WeightedPicker]:
        by_letter: dict[str, list] = {"P": [], "E": [], "A": [], "R": []}
        for plan in self.plans:
            if plan.letter in by_letter and cc in plan.locs and plan.sell_to > plan.sell_from:
                by_letter[plan.letter].append((plan, SKU_WEIGHTS.get(plan.sku, 1)))
        return {letter: WeightedPicker(items) for letter, items in by_letter.items()}

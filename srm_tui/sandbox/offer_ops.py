"""Offers, localizations and season groups: the 3.1 Offer API's writes and rules.

Every change to an offer bumps its `version` (served as the ETag); a write carrying a stale
`If-Match` is refused with 412. A write that would change nothing returns None (HTTP 204).

Over 400 lines: the Offer API's writes share the version/ETag check and the offer rules.
"""

from __future__ import annotations

import copy
import re
import time
import uuid

from . import validate
from .catalog import DAY, OFFER_TYPE, YEAR
from .errors import BadRequest, NotFound, PreconditionFailed, Unprocessable
from .store import atomic

MAIN_ID_RE = re.compile(r"^[SPEAR][1-9]\d{8}$")
LONG_ID_RE = re.compile(r"^[SPEAR][1-9]\d{8}_[A-Z0-9]{2}$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
SEASON_LEAD = 31 * DAY

OFFER_PATCH_FIELDS = frozenset(
    {
        "title",
        "description",
        "tags",
        "url",
        "imageUrl",
        "price",
        "geoRestriction",
        "entitlement",
        "event",
        "freeTrial",
        "externalProperties",
        "appStoreProductIds",
        "seasonGroupId",
        "giftable",
    }
)
OFFER_CREATE_FIELDS = OFFER_PATCH_FIELDS | {
    "type",
    "offerType",
    "countryCode",
    "billingCycle",
    "pause",
    "localizations",
    "active",
}
LOCALIZATION_PATCH_FIELDS = frozenset(
    {"title", "description", "price", "geoRestriction", "freeTrial"}
)
LOCALIZATION_CREATE_FIELDS = LOCALIZATION_PATCH_FIELDS | {"countryCode"}
APP_STORE_KEYS = frozenset({"apple", "amazon", "android", "roku", "samsung", "vizio"})
PERIOD_UNITS = ("day", "week", "month", "year", "season")
# Billing cycles a subscriber may pause: weekly, monthly and 3-month ones.
PAUSABLE_CYCLES = (("week", 1), ("month", 1), ("month", 3))
MIN_TRIAL_DAYS = 4
CYCLE_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365, "season": 365}
LETTER_BY_TYPE = {"subscription": "S", "pass": "P", "live": "E"}


def _iso(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


# -- field checks ---------------------------------------------------------------------------


def _rules(value, field: str) -> list[dict]:
    if not isinstance(value, list):
        raise BadRequest(f"{field} must be an array")
    out = []
    for n, rule in enumerate(value):
        where = f"{field}[{n}]"
        validate.mapping(rule, where)
        validate.only(rule, {"from", "to", "name", "amount"})
        out.append(
            {
                "from": validate.integer(rule.get("from"), f"{where}.from"),
                "to": validate.integer(rule.get("to"), f"{where}.to"),
                "name": validate.text(rule.get("name"), f"{where}.name", 255),
                "amount": validate.number(rule.get("amount"), f"{where}.amount", minimum=0),
            }
        )
    return out


def _price(value, field: str, *, with_currency: bool) -> dict:
    validate.mapping(value, field)
    allowed = {"amount", "rules"} | ({"currency", "taxIncluded"} if with_currency else set())
    if "currency" in value and not with_currency:
        raise BadRequest("Currency of a localization cannot be changed")
    validate.only(value, allowed)
    out = {}
    if "amount" in value or with_currency:
        out["amount"] = validate.number(value.get("amount"), f"{field}.amount", minimum=0)
    if with_currency:
        out["currency"] = validate.pattern(
            value.get("currency"), f"{field}.currency", validate.CURRENCY_RE
        )
        out["taxIncluded"] = validate.boolean(
            value.get("taxIncluded", True), f"{field}.taxIncluded"
        )
    if "rules" in value:
        out["rules"] = _rules(value["rules"], f"{field}.rules")
    return out


def _geo(value, field: str = "geoRestriction") -> dict | None:
    if value is None:
        return None
    validate.mapping(value, field)
    validate.only(value, {"type", "countries"})
    if value.get("type") not in ("whitelist", "blacklist"):
        raise BadRequest(f"{field}.type must be whitelist or blacklist")
    countries = value.get("countries")
    if not isinstance(countries, list):
        raise BadRequest(f"{field}.countries must be an array")
    for code in countries:
        validate.pattern(code, f"{field}.countries", validate.COUNTRY_RE)
    return {"type": value["type"], "countries": list(countries)}


def _free_trial(value, field: str = "freeTrial") -> dict | None:
    if value is None:
        return None
    validate.mapping(value, field)
    validate.only(value, {"type", "duration"})
    if value.get("type") not in ("day", "period"):
        raise BadRequest(f"{field}.type must be day or period")
    return {
        "type": value["type"],
        "duration": validate.integer(value.get("duration"), f"{field}.duration", minimum=0),
    }


def _check_trial(offer: dict, trial: dict | None) -> None:
    """The vendor's minimum: a free trial lasts at least 4 days (periods count their length)."""
    if not trial:
        return
    cycle = offer.get("billingCycle") or {}
    days = (
        trial["duration"]
        if trial["type"] == "day"
        else (
            trial["duration"]
            * CYCLE_DAYS.get(cycle.get("periodUnit"), 30)
            * (cycle.get("amount") or 1)
        )
    )
    if days < MIN_TRIAL_DAYS:
        raise Unprocessable(f"Free trial must last at least {MIN_TRIAL_DAYS} days")


def _string_map(value, field: str, keys: frozenset[str] | None = None) -> dict | None:
    if value is None:
        return None
    validate.mapping(value, field)
    if keys is not None:
        validate.only(value, keys)
    for key, item in value.items():
        validate.text(item, f"{field}.{key}", 255, min_len=0)
    return dict(value)


def _tags(value) -> list[str]:
    if not isinstance(value, list) or len(set(value)) != len(value):
        raise BadRequest("tags must be an array of unique strings")
    for tag in value:
        validate.pattern(tag, "tags", validate.TAG_RE)
        validate.text(tag, "tags", 64)
    return list(value)


class OfferOps:
    """Mixin for SandboxState: offer catalog reads and writes."""

    # -- reading ---------------------------------------------------------------------------

    def offer(self, offer_id: str) -> dict:
        """An offer by its short id (a localization's long id finds its offer too)."""
        if not isinstance(offer_id, str) or not (
            MAIN_ID_RE.match(offer_id) or LONG_ID_RE.match(offer_id)
        ):
            raise BadRequest("Invalid OfferId")
        offer = self.get("offers", offer_id.split("_")[0])
        if offer is None:
            raise NotFound("Offer not found")
        return offer

    def localization(self, long_id: str) -> tuple[dict, dict] | None:
        offer = self.get("offers", long_id.split("_")[0])
        if offer is None:
            return None
        for loc in offer["localizations"]:
            if loc["id"] == long_id:
                return offer, loc
        return None

    def offer_title(self, long_id: str) -> str:
        found = self.localization(long_id)
        return found[1]["title"] if found else long_id

    def coupon_discount(self, code: str, letter: str) -> float | None:
        """The percent off of an active campaign's coupon valid for offer type `letter`."""
        for campaign in self.all("campaigns"):
            if (
                campaign["status"] == "active"
                and letter in campaign["constraints"]["offerTypes"]
                and code.upper() in (c.upper() for c in campaign["couponCodes"])
            ):
                return campaign["discount"]["value"]
        return None

    def next_season_start(self, group_id: str | None, after: int) -> int:
        group = self.get("season_groups", group_id) if group_id else None
        starts = [
            s["startDate"] for s in (group or {}).get("seasons", []) if s["startDate"] > after
        ]
        return min(starts) if starts else after + YEAR

    # -- offers ----------------------------------------------------------------------------

    @staticmethod
    def _check_version(offer: dict, if_match: str | None) -> None:
        if if_match is None:
            return
        tags = [t.strip().removeprefix("W/").strip('"') for t in if_match.split(",")]
        if "*" not in tags and str(offer["version"]) not in tags:
            raise PreconditionFailed("Offer version does not match If-Match")

    def _save_offer(self, old: dict, new: dict) -> dict:
        new["version"] = old["version"] + 1
        new["updatedAt"] = self.now()
        self.put("offers", new)
        if new["active"] != old["active"] and not new["active"]:
            self.emit(
                "offerDeactivated", {"offerId": new["id"], "updatedAt": _iso(new["updatedAt"])}
            )
        else:
            self.emit("offerUpdated", {"offerId": new["id"], "updatedAt": _iso(new["updatedAt"])})
        if _prices(new) != _prices(old):
            self.emit(
                "offerPriceChanged", {"offerId": new["id"], "updatedAt": _iso(new["updatedAt"])}
            )
        return new

    def _apply_offer_fields(self, offer: dict, body: dict) -> None:
        """Validate and merge PATCH-able fields into `offer` (a copy)."""
        letter = offer["id"][0]
        for name, value in body.items():
            if name == "title":
                offer[name] = validate.text(value, name, 255)
            elif name == "description":
                offer[name] = validate.text(value, name, 255, min_len=0)
            elif name == "tags":
                offer[name] = _tags(value)
            elif name == "url":
                offer[name] = validate.text(value, name, 200, min_len=0, nullable=True)
            elif name == "imageUrl":
                offer[name] = validate.text(value, name, 255, min_len=0, nullable=True)
            elif name == "price":
                offer[name] = self._offer_price(offer, value)
            elif name == "geoRestriction":
                offer[name] = _geo(value)
            elif name == "freeTrial":
                if letter != "S":
                    raise Unprocessable("Only subscriptions have a free trial")
                offer[name] = _free_trial(value)
                _check_trial(offer, offer[name])
            elif name == "entitlement":
                offer[name] = self._entitlement(offer, value)
            elif name == "event":
                offer[name] = self._event(offer, value)
            elif name == "externalProperties":
                offer[name] = _string_map(value, name)
            elif name == "appStoreProductIds":
                offer[name] = _string_map(value, name, APP_STORE_KEYS)
            elif name == "seasonGroupId":
                if (offer.get("billingCycle") or {}).get("periodUnit") != "season":
                    raise Unprocessable("Only seasonal subscriptions belong to a season group")
                if not isinstance(value, str) or self.get("season_groups", value) is None:
                    raise Unprocessable("Season group not found")
                offer[name] = value
            elif name == "giftable":
                offer[name] = validate.boolean(value, name)

    def _offer_price(self, offer: dict, value) -> dict:
        """An offer's price: amount and rules; the currency (an extension) only until the
        offer's first sale, and the main localization follows it."""
        validate.mapping(value, "price")
        new_currency = value.get("currency") if isinstance(value, dict) else None
        rest = {k: v for k, v in value.items() if k != "currency"}
        price = dict(offer["price"], **_price(rest, "price", with_currency=False))
        if new_currency is not None and new_currency != offer["price"].get("currency"):
            validate.pattern(new_currency, "price.currency", validate.CURRENCY_RE)
            if self._sold(offer["id"]):
                raise Unprocessable("Default currency cannot be changed after the first sale")
            price["currency"] = new_currency
            for loc in offer.get("localizations") or []:
                if loc["id"] == offer.get("longId"):
                    loc["price"] = dict(loc["price"], currency=new_currency)
        return price

    def _sold(self, offer_id: str) -> bool:
        prefix = offer_id + "_"
        return any(
            entry[1]["offerId"].startswith(prefix)
            and entry[1]["status"] in ("captured", "refunded")
            for entry in self.records["transactions"].values()
        )

    @staticmethod
    def _entitlement(offer: dict, value) -> dict:
        if offer["id"][0] not in "PAR":
            raise Unprocessable(f"A {offer['type']} offer has no entitlement")
        validate.mapping(value, "entitlement")
        validate.only(value, {"duration", "expiresAt"})
        merged = dict(
            offer.get("entitlement")
            or {"expirationPolicy": "duration", "expiresAt": None, "duration": None}
        )
        if "duration" in value:
            duration = validate.mapping(value["duration"], "entitlement.duration")
            validate.only(duration, {"amount", "periodUnit"})
            if duration.get("periodUnit") not in ("year", "month", "week", "day", "hour"):
                raise BadRequest("entitlement.duration.periodUnit is invalid")
            merged["duration"] = {
                "amount": validate.integer(
                    duration.get("amount"), "entitlement.duration.amount", minimum=0
                ),
                "periodUnit": duration["periodUnit"],
            }
            merged["expirationPolicy"], merged["expiresAt"] = "duration", None
        if "expiresAt" in value:
            merged["expiresAt"] = validate.integer(
                value["expiresAt"], "entitlement.expiresAt", minimum=1
            )
            merged["expirationPolicy"], merged["duration"] = "fixed-date", None
        return merged

    @staticmethod
    def _event(offer: dict, value) -> dict:
        if offer["id"][0] != "E":
            raise Unprocessable(f"A {offer['type']} offer has no event")
        validate.mapping(value, "event")
        validate.only(value, {"timezone", "startsAt", "endsAt"})
        merged = dict(offer.get("event") or {})
        for name in ("startsAt", "endsAt"):
            if name in value:
                merged[name] = validate.integer(value[name], f"event.{name}", minimum=1)
        if "timezone" in value:
            merged["timezone"] = validate.text(value["timezone"], "event.timezone", 64)
        if not {"startsAt", "endsAt", "timezone"} <= set(merged):
            raise BadRequest("event needs startsAt, endsAt and timezone")
        if merged["endsAt"] <= merged["startsAt"]:
            raise BadRequest("event.endsAt must be later than event.startsAt")
        return merged

    @atomic
    def patch_offer(self, offer_id: str, body: dict, if_match: str | None) -> dict | None:
        """PATCH /offers/{id}."""
        offer = self.offer(offer_id)
        self._check_version(offer, if_match)
        validate.only(body, OFFER_PATCH_FIELDS)
        if not body:
            raise BadRequest("Nothing to update")
        new = copy.deepcopy(offer)
        self._apply_offer_fields(new, body)
        if new == offer:
            return None
        return self._save_offer(offer, new)

    @atomic
    def create_offer(self, body: dict) -> dict:
        """POST /offers: any type; the main localization comes from `countryCode` + `price`."""
        validate.mapping(body, "body")
        validate.only(body, OFFER_CREATE_FIELDS)
        kind = body.get("type")
        if kind not in ("subscription", "pass", "live", "vod"):
            raise BadRequest("type must be subscription, pass, live or vod")
        letter = (
            body.get("offerType")
            or LETTER_BY_TYPE.get(kind)
            or (
                "R"
                if ((body.get("entitlement") or {}).get("duration") or {}).get("periodUnit")
                == "hour"
                else "A"
            )
        )
        if letter not in "SPEAR" or len(letter) != 1 or OFFER_TYPE[letter] != kind:
            raise BadRequest("offerType does not match type")
        title = validate.text(body.get("title"), "title", 255)
        price = _price(body.get("price"), "price", with_currency=True)
        country = validate.pattern(
            body.get("countryCode", "US"), "countryCode", validate.COUNTRY_RE
        )
        now = self.now()
        offer_id = self.new_offer_id(letter)
        offer = {
            "id": offer_id,
            "longId": f"{offer_id}_{country}",
            "type": kind,
            "active": validate.boolean(body.get("active", True), "active"),
            "title": title,
            "description": "",
            "url": None,
            "imageUrl": None,
            "tags": [],
            "price": price,
            "billingCycle": None,
            "freeTrial": None,
            "entitlement": None,
            "event": None,
            "geoRestriction": None,
            "appStoreProductIds": None,
            "externalProperties": {},
            "giftable": False,
            "hasLandingPage": False,
            "sessionsLimit": None,
            "seasonGroupId": None,
            "pause": None,
            "createdAt": now,
            "updatedAt": now,
            "version": 1,
            "localizations": [],
        }
        if letter == "S":
            cycle = validate.mapping(body.get("billingCycle"), "billingCycle")
            validate.only(cycle, {"periodUnit", "amount"})
            if cycle.get("periodUnit") not in PERIOD_UNITS:
                raise BadRequest("billingCycle.periodUnit is invalid")
            offer["billingCycle"] = {
                "periodUnit": cycle["periodUnit"],
                "amount": validate.integer(
                    cycle.get("amount", 1), "billingCycle.amount", minimum=1
                ),
            }
            if body.get("pause") is not None:
                pause = validate.mapping(body["pause"], "pause")
                offer["pause"] = {
                    "maxBillingCycles": validate.integer(
                        pause.get("maxBillingCycles"), "pause.maxBillingCycles", minimum=1
                    )
                }
                cycle = offer["billingCycle"]
                if (cycle["periodUnit"], cycle["amount"]) not in PAUSABLE_CYCLES:
                    raise Unprocessable(
                        "Pausing is offered only for weekly, monthly and 3-month billing periods"
                    )
        elif letter == "E" and "event" not in body:
            raise BadRequest("A live offer needs an event")
        fields = {k: v for k, v in body.items() if k in OFFER_PATCH_FIELDS and k != "price"}
        self._apply_offer_fields(offer, fields)
        if (
            offer["billingCycle"]
            and offer["billingCycle"]["periodUnit"] == "season"
            and not offer["seasonGroupId"]
        ):
            raise BadRequest("A seasonal subscription needs a seasonGroupId")
        _check_trial(offer, offer["freeTrial"])
        main = {
            "title": title,
            "description": offer["description"],
            "countryCode": country,
            "price": {k: v for k, v in price.items()},
        }
        extra = body.get("localizations") or []
        if not isinstance(extra, list):
            raise BadRequest("localizations must be an array")
        for item in [main] + extra:
            loc = self._new_localization(offer, validate.mapping(item, "localizations[]"))
            if any(l["countryCode"] == loc["countryCode"] for l in offer["localizations"]):
                raise BadRequest(f"Duplicate localization for {loc['countryCode']}")
            offer["localizations"].append(loc)
        self.put("offers", offer)
        self.emit("offerCreated", {"offerId": offer_id, "createdAt": _iso(now)})
        return offer

    def _new_localization(self, offer: dict, body: dict) -> dict:
        validate.only(body, LOCALIZATION_CREATE_FIELDS)
        country = validate.pattern(body.get("countryCode"), "countryCode", validate.COUNTRY_RE)
        price = _price(body.get("price"), "price", with_currency=True)
        trial = _free_trial(body.get("freeTrial"))
        if trial and offer["id"][0] != "S":
            raise Unprocessable("Only subscriptions have a free trial")
        _check_trial(offer, trial)
        return {
            "id": f"{offer['id']}_{country}",
            "countryCode": country,
            "title": validate.text(body.get("title"), "title", 255),
            "description": validate.text(
                body.get("description", offer["description"]), "description", 255, min_len=0
            ),
            "active": offer["active"],
            "price": price,
            "geoRestriction": _geo(body.get("geoRestriction")),
            "freeTrial": trial,
        }

    @atomic
    def add_localization(self, offer_id: str, body: dict, if_match: str | None) -> dict:
        """POST /offers/{id}/localizations: one per country."""
        offer = self.offer(offer_id)
        self._check_version(offer, if_match)
        loc = self._new_localization(offer, validate.mapping(body, "body"))
        if any(l["countryCode"] == loc["countryCode"] for l in offer["localizations"]):
            raise Unprocessable(f"Localization for country {loc['countryCode']} already exists")
        new = copy.deepcopy(offer)
        new["localizations"].append(loc)
        return self._save_offer(offer, new)

    def _loc_index(self, offer: dict, country: str) -> int:
        for n, loc in enumerate(offer["localizations"]):
            if loc["countryCode"] == country:
                return n
        raise NotFound("Localization not found")

    @atomic
    def patch_localization(
        self, offer_id: str, country: str, body: dict, if_match: str | None
    ) -> dict | None:
        """PATCH /offers/{id}/localizations/{countryCode} (the currency is fixed)."""
        offer = self.offer(offer_id)
        n = self._loc_index(offer, country)
        self._check_version(offer, if_match)
        validate.only(validate.mapping(body, "body"), LOCALIZATION_PATCH_FIELDS)
        if not body:
            raise BadRequest("Nothing to update")
        new = copy.deepcopy(offer)
        loc = new["localizations"][n]
        for name, value in body.items():
            if name == "title":
                loc[name] = validate.text(value, name, 255)
            elif name == "description":
                loc[name] = validate.text(value, name, 255, min_len=0)
            elif name == "price":
                loc[name] = dict(loc[name], **_price(value, name, with_currency=False))
            elif name == "geoRestriction":
                loc[name] = _geo(value)
            elif name == "freeTrial":
                if offer["id"][0] != "S" and value is not None:
                    raise Unprocessable("Only subscriptions have a free trial")
                loc[name] = _free_trial(value)
                _check_trial(offer, loc[name])
        if new == offer:
            return None
        return self._save_offer(offer, new)

    @atomic
    def set_offer_active(self, offer_id: str, active: bool, if_match: str | None) -> dict | None:
        """POST /offers/{id}/activate | deactivate."""
        offer = self.offer(offer_id)
        self._check_version(offer, if_match)
        if offer["active"] == active:
            return None
        return self._save_offer(offer, dict(offer, active=active))

    @atomic
    def set_localization_active(
        self, offer_id: str, country: str, active: bool, if_match: str | None
    ) -> dict | None:
        """POST /offers/{id}/localizations/{cc}/activate | deactivate."""
        offer = self.offer(offer_id)
        n = self._loc_index(offer, country)
        self._check_version(offer, if_match)
        if offer["localizations"][n]["active"] == active:
            return None
        if active and not offer["active"]:
            raise Unprocessable("Cannot activate localization of an inactive offer")
        new = copy.deepcopy(offer)
        new["localizations"][n]["active"] = active
        return self._save_offer(offer, new)

    # -- season groups ---------------------------------------------------------------------

    def season_group(self, group_id: str) -> dict:
        if not isinstance(group_id, str) or not UUID_RE.match(group_id):
            raise BadRequest("Parameter 'id' has invalid value")
        group = self.get("season_groups", group_id)
        if group is None:
            raise NotFound("Season group not found")
        return group

    def _group_name(self, body: dict, except_id: str | None = None) -> str:
        validate.only(validate.mapping(body, "body"), {"name"})
        name = validate.text(body.get("name"), "name", 100)
        for group in self.all("season_groups"):
            if group["id"] != except_id and group["name"].casefold() == name.casefold():
                raise Unprocessable(f"Season group '{name}' already exists")
        return name

    @atomic
    def create_season_group(self, body: dict) -> dict:
        name = self._group_name(body)
        return self.put("season_groups", {"id": self.new_uuid(), "name": name, "seasons": []})

    @atomic
    def rename_season_group(self, group_id: str, body: dict) -> dict:
        group = self.season_group(group_id)
        name = self._group_name(body, except_id=group_id)
        return group if name == group["name"] else self.put("season_groups", dict(group, name=name))

    @atomic
    def delete_season_group(self, group_id: str) -> None:
        group = self.season_group(group_id)
        if any(season["endDate"] >= self.now() for season in group["seasons"]):
            raise Unprocessable("Cannot delete season group with active seasons")
        for offer in self.all("offers"):
            if offer.get("seasonGroupId") == group_id:
                raise Unprocessable(f"Season group is used by offer {offer['id']}")
        self.delete("season_groups", group_id)

    @staticmethod
    def _season_dates(body: dict) -> tuple[int, int]:
        validate.only(validate.mapping(body, "body"), {"startDate", "endDate"})
        start = validate.integer(body.get("startDate"), "startDate", minimum=1)
        end = validate.integer(body.get("endDate"), "endDate", minimum=1)
        if end <= start:
            raise BadRequest("endDate must be later than startDate")
        return start, end

    @staticmethod
    def _check_overlap(seasons: list[dict], start: int, end: int, except_id: int | None) -> None:
        for season in seasons:
            if (
                season["id"] != except_id
                and start < season["endDate"]
                and end > season["startDate"]
            ):
                raise Unprocessable("Season overlaps with another season of the group")

    @atomic
    def add_season(self, group_id: str, body: dict) -> dict:
        """POST /offers/season-groups/{id}/seasons: at least 31 days ahead."""
        group = self.season_group(group_id)
        start, end = self._season_dates(body)
        if start < self.now() + SEASON_LEAD:
            raise Unprocessable("Upcoming season can't start in less than 31 days")
        self._check_overlap(group["seasons"], start, end, None)
        season = {
            "id": max((s["id"] for s in group["seasons"]), default=0) + 1,
            "startDate": start,
            "endDate": end,
        }
        seasons = sorted(group["seasons"] + [season], key=lambda s: s["startDate"])
        return self.put("season_groups", dict(group, seasons=seasons))

    def _season_index(self, group: dict, season_id: int) -> int:
        for n, season in enumerate(group["seasons"]):
            if season["id"] == season_id:
                return n
        raise NotFound(f"Season with id {season_id} does not exists")

    @atomic
    def update_season(self, group_id: str, season_id: int, body: dict) -> dict:
        """PATCH a season: a date may change only while both its old and new value are ahead."""
        group = self.season_group(group_id)
        n = self._season_index(group, season_id)
        start, end = self._season_dates(body)
        season, now = group["seasons"][n], self.now()
        for old, new in ((season["startDate"], start), (season["endDate"], end)):
            if old != new and (old <= now or new <= now):
                raise Unprocessable("Only dates in future can be edited")
        self._check_overlap(group["seasons"], start, end, season_id)
        seasons = list(group["seasons"])
        seasons[n] = dict(season, startDate=start, endDate=end)
        return self.put("season_groups", dict(group, seasons=seasons))

    @atomic
    def delete_season(self, group_id: str, season_id: int) -> dict:
        """DELETE a season: only the last one (latest start) can go."""
        group = self.season_group(group_id)
        n = self._season_index(group, season_id)
        last = max(group["seasons"], key=lambda s: s["startDate"])
        if group["seasons"][n]["id"] != last["id"]:
            raise Unprocessable("Only last season can be removed")
        seasons = [s for s in group["seasons"] if s["id"] != season_id]
        return self.put("season_groups", dict(group, seasons=seasons))

    def new_uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))


def _prices(offer: dict) -> list:
    return [offer["price"]] + [loc["price"] for loc in offer["localizations"]]

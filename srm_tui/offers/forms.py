"""The offer editor's forms: which fields each offer type has, how typed text becomes the API's
3.1 body, and what an update changes. Pure: no I/O, no UI; the console and the CLI share it.

Typed values arrive as text (and booleans for check boxes). ``build_offer`` and
``build_localization`` check every field as typed, then the vendor's rules (rules.py), and
return the request body together with every problem found, each naming its field.

Over 400 lines: the field table of each offer type and the builders that read it must agree
field for field; the rules they call are apart (rules.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from srm_tui.domain.offers import API_TYPES as TYPE_OF
from srm_tui.domain.time import parse_typed_time, seconds
from srm_tui.offers import rules as r
from srm_tui.offers.codes import ZERO_DECIMAL

LETTERS = {"subscription": "S", "pass": "P", "live": "E", "one-time": "A", "rental": "R"}
PASS_UNITS = {
    "day": "day",
    "days": "day",
    "week": "week",
    "weeks": "week",
    "month": "month",
    "months": "month",
    "year": "year",
    "years": "year",
}


@dataclass(frozen=True)
class FieldDef:
    """One input of the editor."""

    name: str
    label: str
    kind: str = "text"  # text | bool
    help: str = ""
    required: bool = False
    letters: str = "SPEAR"
    create_only: bool = False  # the API cannot change it later: shown, not editable


OFFER_FIELDS: tuple[FieldDef, ...] = (
    FieldDef("title", "Title", required=True, help="1 to 255 characters"),
    FieldDef("description", "Description", help="up to 255 characters"),
    FieldDef("price", "Price", required=True, help="major units, e.g. 9.99"),
    FieldDef(
        "currency", "Currency", required=True, help="ISO 4217, e.g. EUR; fixed after the first sale"
    ),
    FieldDef("tax_included", "Price includes tax", "bool", create_only=True),
    FieldDef(
        "country",
        "Main country",
        required=True,
        create_only=True,
        help="ISO 3166-1 alpha-2, e.g. US: the main localization",
    ),
    FieldDef(
        "period",
        "Billing period",
        required=True,
        letters="S",
        create_only=True,
        help="day, week, month, 3months, 6months, year or season",
    ),
    FieldDef(
        "trial",
        "Free trial",
        letters="S",
        help="e.g. 7 days or 1 period (at least 4 days); empty: none",
    ),
    FieldDef(
        "pause",
        "Pause (max cycles)",
        letters="S",
        create_only=True,
        help="weekly, monthly and 3-month periods only; empty: no pausing",
    ),
    FieldDef(
        "season_group",
        "Season group",
        letters="S",
        help="name or id of the group (seasonal subscriptions only)",
    ),
    FieldDef(
        "duration",
        "Duration",
        required=True,
        letters="P",
        help="days (30 days), a calendar period (1 month, 2 weeks, 1 year) "
        "or a fixed end (until 2027-06-30)",
    ),
    FieldDef(
        "starts",
        "Starts",
        required=True,
        letters="E",
        help="local time in the time zone: 2026-12-20 20:00",
    ),
    FieldDef("ends", "Ends", required=True, letters="E", help="local time: 2026-12-20 23:00"),
    FieldDef("timezone", "Time zone", required=True, letters="E", help="e.g. Europe/Amsterdam"),
    FieldDef(
        "window",
        "Rental window (hours)",
        required=True,
        letters="R",
        help="how long the rental lasts, e.g. 48",
    ),
    FieldDef(
        "early_bird",
        "Time-based prices",
        help="Early Bird: 2026-12-01..2027-01-15 = 5.00; another…",
    ),
    FieldDef("tags", "Tags", help="comma-separated: sport, featured"),
    FieldDef("geo", "Geo restriction", help="whitelist: PL, DE  or  blacklist: US; empty: none"),
    FieldDef("url", "URL", help="https://…"),
    FieldDef("image_url", "Image URL", help="https://…"),
    FieldDef("external", "External properties", help="key=value; key=value"),
    FieldDef(
        "app_store",
        "App store product ids",
        help="apple=…; android=…; amazon, roku, samsung, vizio",
    ),
    FieldDef("giftable", "Giftable", "bool"),
)

LOCALIZATION_FIELDS: tuple[FieldDef, ...] = (
    FieldDef("country", "Country", required=True, create_only=True, help="ISO 3166-1 alpha-2"),
    FieldDef("title", "Title", required=True, help="1 to 255 characters"),
    FieldDef("description", "Description", help="up to 255 characters"),
    FieldDef("price", "Price", required=True, help="major units"),
    FieldDef(
        "currency", "Currency", required=True, create_only=True, help="ISO 4217; fixed once created"
    ),
    FieldDef("trial", "Free trial", letters="S", help="e.g. 7 days; empty: none"),
    FieldDef("early_bird", "Time-based prices", help="Early Bird: 2026-12-01..2027-01-15 = 5"),
    FieldDef("geo", "Geo restriction", help="whitelist: PL, DE  or  blacklist: US"),
)


def offer_fields(letter: str) -> list[FieldDef]:
    return [f for f in OFFER_FIELDS if letter in f.letters]


def localization_fields(letter: str) -> list[FieldDef]:
    return [f for f in LOCALIZATION_FIELDS if letter in f.letters]


@dataclass
class Catalog:
    """What the rules need to know besides the form: the clock, the groups, the sales."""

    now: int
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    sold: bool = False  # the offer being edited has been sold at least once


@dataclass
class Built:
    """A request body built from a form, and everything wrong with it."""

    body: dict[str, Any]
    problems: list[r.Problem]

    @property
    def ok(self) -> bool:
        return not self.problems


class _Form:
    """Reads typed values one field at a time, collecting problems instead of stopping."""

    def __init__(self, values: dict[str, Any]):
        self.values = values
        self.problems: list[r.Problem] = []

    def bad(self, name: str, message: str, rule: r.Rule | None = None) -> None:
        if not any(p.field == name for p in self.problems):
            self.problems.append(r.Problem(name, message, rule.id if rule else None))

    def text(self, name: str, *, required: bool = False, max_len: int = 255) -> str:
        raw = self.values.get(name)
        value = "" if raw is None else str(raw).strip()
        if required and not value:
            self.bad(name, "required")
        elif len(value) > max_len:
            self.bad(name, f"at most {max_len} characters (this is {len(value)})")
        elif any(ord(c) < 32 or ord(c) == 127 for c in value):
            self.bad(name, "must not contain control characters")
        return value

    def flag(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.strip().lower() in ("1", "true", "yes", "y", "on")
        return bool(value)

    def code(self, name: str, check, rule: r.Rule, *, required: bool = True) -> str:
        value = self.text(name, required=required, max_len=8).upper()
        if value:
            message = check(value)
            if message:
                self.bad(name, message, rule)
        return value

    def money(self, name: str, currency: str, *, positive: bool = False) -> float | None:
        text = self.text(name, required=True, max_len=20)
        if not text:
            return None
        return self._amount(name, text, currency, positive)

    def _amount(self, name: str, text: str, currency: str, positive: bool) -> float | None:
        try:
            amount = Decimal(text.replace(",", "."))
        except InvalidOperation:
            self.bad(name, f"not an amount: {text[:20]!r}")
            return None
        if not amount.is_finite() or amount < 0 or (positive and amount == 0):
            self.bad(name, "must be greater than 0" if positive else "must not be negative")
            return None
        places = 0 if currency in ZERO_DECIMAL else 2
        if amount != round(amount, places):
            self.bad(name, f"{currency or 'this currency'} amounts have at most {places} decimals")
            return None
        return float(amount)

    def integer(self, name: str, *, required: bool = False, minimum: int = 0) -> int | None:
        text = self.text(name, required=required, max_len=12)
        if not text:
            return None
        if not text.isdigit():
            self.bad(name, f"a whole number, not {text[:20]!r}")
            return None
        if int(text) < minimum:
            self.bad(name, f"at least {minimum}")
            return None
        return int(text)

    def instant(self, name: str, text: str) -> int | None:
        try:
            return seconds(text)
        except ValueError:
            self.bad(name, f"not a date: {text[:30]!r} (use 2027-06-30 or 2027-06-30T12:00:00Z)")
            return None

    # composite fields ------------------------------------------------------------------

    def tags(self) -> list[str]:
        text = self.text("tags", max_len=2000)
        tags = [t.strip() for t in text.split(",") if t.strip()]
        for tag in tags:
            if len(tag) > 64 or not r.TAG_RE.match(tag):
                self.bad(
                    "tags",
                    f"{tag[:30]!r}: letters, digits, spaces and _-:. only, at most 64 characters",
                )
        if len({t.casefold() for t in tags}) != len(tags):
            self.bad("tags", "each tag once")
        return tags

    def url(self, name: str, max_len: int) -> str | None:
        text = self.text(name, max_len=max_len)
        if text and not r.URL_RE.match(text):
            self.bad(name, f"not a web address: {text[:40]!r}")
        return text or None

    def geo(self) -> dict[str, Any] | None:
        text = self.text("geo", max_len=1000)
        if not text:
            return None
        kind, sep, rest = text.partition(":")
        kind = kind.strip().lower()
        if not sep or kind not in ("whitelist", "blacklist"):
            self.bad("geo", "write whitelist: PL, DE  or  blacklist: US")
            return None
        countries = [c.strip().upper() for c in rest.split(",") if c.strip()]
        if not countries:
            self.bad("geo", "name at least one country")
        for code in countries:
            message = r.country(code)
            if message:
                self.bad("geo", message, r.COUNTRY_ISO)
        return {"type": kind, "countries": countries}

    def pairs(self, name: str, keys: tuple[str, ...] | None = None) -> dict[str, str]:
        text = self.text(name, max_len=4000)
        out: dict[str, str] = {}
        for part in (p.strip() for p in text.split(";")):
            if not part:
                continue
            key, sep, value = part.partition("=")
            key, value = key.strip(), value.strip()
            if not sep or not key:
                self.bad(name, f"{part[:30]!r}: write key=value")
                continue
            if keys is not None and key not in keys:
                self.bad(name, f"{key[:20]!r}: one of {', '.join(keys)}")
                continue
            if len(value) > 255:
                self.bad(name, f"{key}: at most 255 characters")
            out[key] = value
        return out

    def price_rules(self, currency: str) -> list[dict[str, Any]]:
        text = self.text("early_bird", max_len=4000)
        out = []
        for part in (p.strip() for p in text.split(";")):
            if not part:
                continue
            name, colon, rest = part.partition(":")
            span, eq, amount = rest.partition("=")
            start, dots, end = span.partition("..")
            name = name.strip()
            if not (colon and eq and dots and name):
                self.bad("early_bird", f"{part[:40]!r}: write Name: 2026-12-01..2027-01-15 = 5")
                continue
            t0, t1 = (
                self.instant("early_bird", start.strip()),
                self.instant("early_bird", end.strip()),
            )
            value = self._amount("early_bird", amount.strip(), currency, True)
            if t0 is not None and t1 is not None and value is not None:
                out.append({"from": t0, "to": t1, "name": name, "amount": value})
        if out:
            message = r.price_rules(out)
            if message:
                self.bad("early_bird", message, r.PRICE_RULES)
        return out

    def trial(self, period: str | None, letter: str) -> dict[str, Any] | None:
        text = self.text("trial", max_len=40).lower()
        if not text or text in ("0", "none", "no"):
            return None
        number, _, unit = text.partition(" ")
        unit = unit.strip() or "days"
        if not number.isdigit() or unit not in ("day", "days", "period", "periods"):
            self.bad("trial", f"write 7 days or 1 period, not {text[:20]!r}")
            return None
        value = {"type": "day" if unit.startswith("day") else "period", "duration": int(number)}
        message = r.trial(value, period, letter)
        if message:
            self.bad("trial", message, r.TRIAL_LENGTH if letter == "S" else r.TRIAL_SUBSCRIPTION)
        return value

    def duration(self, now: int) -> dict[str, Any] | None:
        text = self.text("duration", required=True, max_len=60)
        if not text:
            return None
        low = text.lower()
        if low.startswith("until "):
            when = self.instant("duration", text[6:].strip())
            if when is not None and when <= now:
                self.bad("duration", "a fixed end date must be in the future")
            return {"expiresAt": when}
        number, _, unit = low.partition(" ")
        unit = PASS_UNITS.get(unit.strip())
        if not number.isdigit() or unit is None or int(number) < 1:
            self.bad("duration", "write 30 days, 1 month, 2 weeks, 1 year or until 2027-06-30")
            return None
        return {"duration": {"amount": int(number), "periodUnit": unit}}

    def event(self) -> dict[str, Any] | None:
        zone_name = self.text("timezone", required=True, max_len=64)
        zone = None
        if zone_name:
            if zone_name not in available_timezones():
                self.bad(
                    "timezone",
                    f"{zone_name[:40]!r} is not an IANA time zone (e.g. Europe/Amsterdam)",
                )
            else:
                zone = ZoneInfo(zone_name)
        times = {}
        for name in ("starts", "ends"):
            text = self.text(name, required=True, max_len=40)
            if not text:
                continue
            try:
                moment = parse_typed_time(text)
            except ValueError:
                self.bad(name, f"not a date and time: {text[:30]!r} (2026-12-20 20:00)")
                continue
            if moment.tzinfo is None:
                if zone is None:
                    continue
                moment = moment.replace(tzinfo=zone)
            times[name] = int(moment.timestamp())
        if len(times) < 2 or zone is None:
            return None
        message = r.event_window(times["starts"], times["ends"])
        if message:
            self.bad("ends", message, r.EVENT_WINDOW)
        return {"startsAt": times["starts"], "endsAt": times["ends"], "timezone": zone_name}


def _group_id(form: _Form, catalog: Catalog) -> str | None:
    text = form.text("season_group", max_len=100)
    if not text:
        return None
    if text in catalog.groups:
        return text
    found = [g["id"] for g in catalog.groups.values() if g["name"].casefold() == text.casefold()]
    if not found:
        form.bad("season_group", f"no season group {text[:40]!r}", r.SEASON_GROUP)
        return None
    return found[0]


def period_of(offer: dict[str, Any]) -> str | None:
    cycle = offer.get("billingCycle") or {}
    key = (cycle.get("periodUnit"), cycle.get("amount") or 1)
    return next((name for name, value in r.PERIODS.items() if value == key), None)


def build_offer(
    letter: str, values: dict[str, Any], catalog: Catalog, offer: dict[str, Any] | None = None
) -> Built:
    """The POST body for a new offer (``offer`` None), or the PATCH body of an update."""
    f = _Form(values)
    creating = offer is None
    title = f.text("title", required=True)
    description = f.text("description")
    if creating:
        cur = f.code("currency", r.currency, r.CURRENCY_ISO)
    else:
        old = (offer.get("price") or {}).get("currency")
        cur = f.code("currency", r.currency, r.CURRENCY_ISO)
        if cur and not any(p.field == "currency" for p in f.problems):
            message = r.currency_change(old, cur, catalog.sold)
            if message:
                f.bad("currency", message, r.CURRENCY_FIXED)
    amount = f.money("price", cur)
    price: dict[str, Any] = {"amount": amount}
    rules = f.price_rules(cur)
    body: dict[str, Any] = {
        "title": title,
        "description": description,
        "tags": f.tags(),
        "url": f.url("url", 200),
        "imageUrl": f.url("image_url", 255),
        "geoRestriction": f.geo(),
        "externalProperties": f.pairs("external"),
        "appStoreProductIds": f.pairs("app_store", r.APP_STORES) or None,
        "giftable": f.flag("giftable"),
    }
    if letter == "S":
        period = f.text("period", required=creating).lower() if creating else period_of(offer)
        if creating and period and period not in r.PERIODS:
            f.bad("period", f"one of {', '.join(r.PERIODS)}")
        body["freeTrial"] = f.trial(period, letter)
        group = _group_id(f, catalog)
        message = r.season_group(period, group, catalog.groups)
        if message and not any(p.field == "season_group" for p in f.problems):
            f.bad("season_group", message, r.SEASON_GROUP)
        body["seasonGroupId"] = group
        if creating:
            cycles = f.integer("pause", minimum=1)
            message = r.pause(period, cycles)
            if message:
                f.bad("pause", message, r.PAUSE_PERIOD)
            if period in r.PERIODS:
                unit, count = r.PERIODS[period]
                body["billingCycle"] = {"periodUnit": unit, "amount": count}
            body["pause"] = {"maxBillingCycles": cycles} if cycles else None
    elif letter == "P":
        body["entitlement"] = f.duration(catalog.now)
    elif letter == "E":
        body["event"] = f.event()
    elif letter == "R":
        hours = f.integer("window", required=True, minimum=1)
        body["entitlement"] = {"duration": {"amount": hours, "periodUnit": "hour"}}
    if creating:
        price.update(currency=cur, taxIncluded=f.flag("tax_included"))
        if rules:
            price["rules"] = rules
        body["price"] = price
        body["countryCode"] = f.code("country", r.country, r.COUNTRY_ISO)
        body["type"] = TYPE_OF[letter]
        if letter in "AR":
            body["offerType"] = letter
        return Built(
            {k: v for k, v in body.items() if v not in (None, [], {}, "") or k == "giftable"},
            f.problems,
        )
    old_price = offer.get("price") or {}
    if amount != old_price.get("amount") or rules != (old_price.get("rules") or []):
        price["rules"] = rules
        body["price"] = price
    if cur and cur != old_price.get("currency"):
        body.setdefault("price", dict(price, rules=rules))["currency"] = cur
    return Built(diff_offer(offer, body), f.problems)


def _normal(name: str, value: Any) -> Any:
    """Values the API treats as the same ("no URL" is null; no properties is {})."""
    if name in ("url", "imageUrl") and value == "":
        return None
    if name == "externalProperties" and not value:
        return {}
    if name in ("appStoreProductIds", "geoRestriction", "freeTrial") and not value:
        return None
    if name == "tags":
        return list(value or [])
    if name == "description":
        return value or ""
    return value


def diff_offer(offer: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
    """The PATCH body: only the fields whose value would change."""
    out = {}
    for name, value in desired.items():
        if name == "price":
            out[name] = value
            continue
        if name == "entitlement" and value is not None:
            current = offer.get("entitlement") or {}
            same = (
                value.get("expiresAt") == current.get("expiresAt")
                if "expiresAt" in value
                else value.get("duration") == current.get("duration")
            )
            if not same:
                out[name] = value
            continue
        if _normal(name, value) != _normal(name, offer.get(name)):
            out[name] = value
    return out


def build_localization(
    offer: dict[str, Any], values: dict[str, Any], loc: dict[str, Any] | None = None
) -> Built:
    """The POST body of a new localization (``loc`` None), or the PATCH body of an update."""
    f = _Form(values)
    letter = offer["id"][0]
    creating = loc is None
    if creating:
        country_code = f.code("country", r.country, r.COUNTRY_ISO)
        if country_code and not f.problems:
            message = r.localization_new(offer, country_code)
            if message:
                f.bad("country", message, r.LOC_ONE_PER_COUNTRY)
        cur = f.code("currency", r.currency, r.CURRENCY_ISO)
    else:
        cur = (loc.get("price") or {}).get("currency") or ""
        typed = str(values.get("currency") or cur).strip().upper()
        if typed != cur:
            f.bad("currency", f"stays {cur}: {r.LOC_CURRENCY.text}", r.LOC_CURRENCY)
    body: dict[str, Any] = {
        "title": f.text("title", required=True),
        "description": f.text("description"),
    }
    amount = f.money("price", cur)
    rules = f.price_rules(cur)
    body["geoRestriction"] = f.geo()
    if letter == "S":
        body["freeTrial"] = f.trial(period_of(offer), letter)
    if creating:
        price: dict[str, Any] = {"amount": amount, "currency": cur}
        if rules:
            price["rules"] = rules
        body.update(countryCode=country_code, price=price)
        return Built({k: v for k, v in body.items() if v is not None}, f.problems)
    old = loc.get("price") or {}
    out = {k: v for k, v in body.items() if _normal(k, v) != _normal(k, loc.get(k))}
    if amount != old.get("amount") or rules != (old.get("rules") or []):
        out["price"] = {"amount": amount, "rules": rules}
    return Built(out, f.problems)


# -- the other way: an offer's values as the editor shows them -----------------------------


def _num(value: Any) -> str:
    """A number as typed (9.99, 5, 1200), never in exponent form; anything else as text,
    so the form's check names it."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return format(Decimal(str(value)).normalize(), "f")


def _tolerant(render):
    """Render a value for the form; a value of the wrong shape becomes its JSON text (the
    field's check then says what is wrong with it, instead of srm failing)."""

    def wrapper(value: Any) -> str:
        try:
            return render(value)
        except (AttributeError, KeyError, TypeError, ValueError, ArithmeticError):
            import json

            return json.dumps(value, ensure_ascii=False)

    return wrapper


def _day(ts: int | None) -> str:
    return "" if ts is None else datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d")


@_tolerant
def _pairs(mapping: dict[str, Any] | None) -> str:
    return "; ".join(f"{k}={v}" for k, v in (mapping or {}).items())


@_tolerant
def _rules_text(rules: list[dict[str, Any]] | None) -> str:
    return "; ".join(
        f"{x['name']}: {_day(x['from'])}..{_day(x['to'])} = {_num(x['amount'])}"
        for x in rules or []
    )


@_tolerant
def _geo_text(geo: dict[str, Any] | None) -> str:
    return f"{geo['type']}: {', '.join(geo.get('countries') or [])}" if geo else ""


@_tolerant
def _trial_text(trial: dict[str, Any] | None) -> str:
    if not trial:
        return ""
    unit = "day" if trial.get("type") == "day" else "period"
    n = trial.get("duration")
    return f"{n} {unit}{'s' if n != 1 else ''}"


OBJECT_FIELDS = (
    "price",
    "entitlement",
    "event",
    "billingCycle",
    "freeTrial",
    "geoRestriction",
    "pause",
    "appStoreProductIds",
    "externalProperties",
)


def shape_problems(body: dict[str, Any]) -> list[r.Problem]:
    """What is of the wrong JSON type in an API-shaped body (a file the CLI reads)."""
    out = [
        r.Problem(name, "must be an object")
        for name in OBJECT_FIELDS
        if body.get(name) is not None and not isinstance(body[name], dict)
    ]
    tags = body.get("tags")
    if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
        out.append(r.Problem("tags", "must be an array of strings"))
    for name in ("title", "description", "url", "imageUrl", "countryCode", "seasonGroupId"):
        if body.get(name) is not None and not isinstance(body[name], str):
            out.append(r.Problem(name, "must be a string"))
    return out


def offer_values(offer: dict[str, Any], groups: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The editor's values for an existing offer."""
    price = offer.get("price") or {}
    main = (offer.get("longId") or "_").split("_")[-1]
    values: dict[str, Any] = {
        "title": offer.get("title") or "",
        "description": offer.get("description") or "",
        "price": _num(price.get("amount")),
        "currency": price.get("currency") or "",
        "tax_included": bool(price.get("taxIncluded")),
        "country": main,
        "early_bird": _rules_text(price.get("rules")),
        "tags": _tolerant(", ".join)(offer.get("tags") or []),
        "geo": _geo_text(offer.get("geoRestriction")),
        "url": offer.get("url") or "",
        "image_url": offer.get("imageUrl") or "",
        "external": _pairs(offer.get("externalProperties")),
        "app_store": _pairs(offer.get("appStoreProductIds")),
        "giftable": bool(offer.get("giftable")),
        "period": period_of(offer) or "",
        "trial": _trial_text(offer.get("freeTrial")),
        "pause": str((offer.get("pause") or {}).get("maxBillingCycles") or ""),
    }
    group = groups.get(offer.get("seasonGroupId") or "")
    values["season_group"] = group["name"] if group else (offer.get("seasonGroupId") or "")
    ent = offer.get("entitlement") or {}
    if ent.get("expirationPolicy") == "fixed-date" or ent.get("expiresAt"):
        values["duration"] = f"until {_day(ent.get('expiresAt'))}"
    elif ent.get("duration"):
        amount, unit = ent["duration"].get("amount"), ent["duration"].get("periodUnit")
        if unit == "hour":
            values["window"] = str(amount)
        else:
            values["duration"] = f"{amount} {unit}{'s' if amount != 1 else ''}"
    event = offer.get("event") or {}
    if event:
        zone = event.get("timezone") or "UTC"
        try:
            tz: Any = ZoneInfo(zone)
        except (KeyError, ValueError):
            tz = timezone.utc
        for name, key in (("starts", "startsAt"), ("ends", "endsAt")):
            if event.get(key):
                values[name] = datetime.fromtimestamp(event[key], tz).strftime("%Y-%m-%d %H:%M")
        values["timezone"] = zone
    return values


def localization_values(loc: dict[str, Any]) -> dict[str, Any]:
    price = loc.get("price") or {}
    return {
        "country": loc.get("countryCode") or "",
        "title": loc.get("title") or "",
        "description": loc.get("description") or "",
        "price": _num(price.get("amount")),
        "currency": price.get("currency") or "",
        "trial": _trial_text(loc.get("freeTrial")),
        "early_bird": _rules_text(price.get("rules")),
        "geo": _geo_text(loc.get("geoRestriction")),
    }

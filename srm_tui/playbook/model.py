"""The retention playbook file: rules (a segment -> offers), first match wins.

A playbook is a JSON document (``{"format": "srm-playbook", "version": N, "rules": [...]}``).
``parse`` checks all of it and names the first fault by its path
(``rules[1].offers[0].days: must be 1..3650``); what it returns is immutable and compares
by value, so ``parse(to_json(pb)) == pb``. References to the cache (a saved segment's name,
an offer id) are checked by the service (``PlaybookService.check``), not here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

FORMAT = "srm-playbook"
OFFER_KINDS = ("coupon", "pause", "switch", "extend", "let-go")
# What each kind takes besides "kind" (let-go takes nothing).
PARAMS = {"coupon": "coupon", "pause": "cycles", "switch": "offer", "extend": "days"}
CYCLES = (1, 12)
DAYS = (1, 3650)
MAX_RULES = 200
MAX_OFFERS = 9  # the retention step takes an offer by its number key, 1 to 9
NAME_MAX = 120
COUPON_RE = re.compile(r"^[A-Za-z0-9_-]{2,40}$")  # the vendor's couponCode pattern
# The vendor's switch takes a subscription offer's localized id (toOfferId); a playbook may
# name the offer alone (S123456789), and the subscription's own localization is taken.
SWITCH_OFFER_RE = re.compile(r"^S[1-9]\d{8}(_[A-Z0-9]{2})?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TOP_KEYS = ("format", "version", "rules")
_RULE_KEYS = ("name", "segment", "offers")


class PlaybookInvalid(ValueError):
    """A playbook (or a reference in it) that cannot be used: ``path`` names the place."""

    def __init__(self, path: str, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}" if path else reason)


@dataclass(frozen=True)
class Offer:
    """One retention offer: its kind and the one parameter the kind takes."""

    kind: str
    coupon: str | None = None
    cycles: int | None = None
    offer: str | None = None
    days: int | None = None

    def describe(self) -> str:
        """The offer in a few words, as the cancel dialog and the report name it."""
        if self.kind == "coupon":
            return f"apply coupon {self.coupon}"
        if self.kind == "pause":
            return f"pause {self.cycles} cycle{'' if self.cycles == 1 else 's'}"
        if self.kind == "switch":
            return f"switch to offer {self.offer}"
        if self.kind == "extend":
            return f"extend access {self.days} day{'' if self.days == 1 else 's'}"
        return "let them go"

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind}
        param = PARAMS.get(self.kind)
        if param is not None:
            out[param] = getattr(self, param)
        return out


@dataclass(frozen=True)
class Rule:
    """A rule: the customers its segment holds (a saved segment's name, or an inline
    definition: ``selector`` and ``where``) get its offers, in order."""

    name: str
    segment: str | dict
    offers: tuple[Offer, ...]

    @property
    def inline(self) -> bool:
        return isinstance(self.segment, dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "segment": self.segment,
            "offers": [o.to_json() for o in self.offers],
        }


@dataclass(frozen=True)
class Playbook:
    """A version of the playbook (0: none saved yet) and its rules, first match wins."""

    version: int
    rules: tuple[Rule, ...] = ()


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(value: Any, path: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PlaybookInvalid(path, "must be non-empty text")
    if len(value) > limit:
        raise PlaybookInvalid(path, f"at most {limit} characters")
    if _CONTROL.search(value):
        raise PlaybookInvalid(path, "must not contain control characters")
    return value.strip()


def _unknown(raw: dict, keys: tuple[str, ...], path: str, what: str) -> None:
    for key in raw:
        if key not in keys:
            where = f"{path}.{key}" if path else str(key)
            raise PlaybookInvalid(where, f"unknown key ({what} has {', '.join(keys)})")


def parse_offer(raw: Any, path: str) -> Offer:
    """One offer from its JSON form; PlaybookInvalid names the field at fault."""
    if not isinstance(raw, dict):
        raise PlaybookInvalid(path, 'must be an object such as {"kind": "pause", "cycles": 1}')
    kind = raw.get("kind")
    if kind not in OFFER_KINDS:
        shown = "missing" if kind is None else f"unknown kind {str(kind)[:40]!r}"
        raise PlaybookInvalid(f"{path}.kind", f"{shown} (one of {', '.join(OFFER_KINDS)})")
    param = PARAMS.get(kind)
    _unknown(raw, ("kind", param) if param else ("kind",), path, f"a {kind} offer")
    if param is None:
        return Offer(kind)
    value = raw.get(param)
    where = f"{path}.{param}"
    if value is None:
        raise PlaybookInvalid(where, f"missing: a {kind} offer names its {param}")
    if kind == "coupon":
        if not isinstance(value, str) or not COUPON_RE.match(value):
            raise PlaybookInvalid(where, "a coupon code is 2 to 40 letters, digits, _ or -")
        return Offer(kind, coupon=value)
    if kind == "switch":
        if not isinstance(value, str) or not SWITCH_OFFER_RE.match(value):
            raise PlaybookInvalid(
                where, "a subscription offer's id, such as S123456789 or S123456789_PL"
            )
        return Offer(kind, offer=value)
    low, high = CYCLES if kind == "pause" else DAYS
    if not _is_int(value) or not low <= value <= high:
        raise PlaybookInvalid(where, f"must be {low}..{high}")
    return Offer(kind, cycles=value) if kind == "pause" else Offer(kind, days=value)


def parse_segment(raw: Any, path: str) -> str | dict:
    """A rule's segment: a saved segment's name, or a checked inline definition."""
    if isinstance(raw, str):
        return _text(raw, path, NAME_MAX)
    if not isinstance(raw, dict):
        raise PlaybookInvalid(
            path, 'a saved segment\'s name, or an inline segment {"selector": …, "where": …}'
        )
    inline_segment(raw, path)
    return raw


def inline_segment(raw: dict, path: str = "segment") -> Any:
    """The segments.Segment an inline definition stands for (checked the way a segment file
    is: CONTRACT section 4); PlaybookInvalid names the first fault under ``path``."""
    from srm_tui.segments.model import SegmentError, from_dict

    try:
        return from_dict({"version": 1, **raw})
    except SegmentError as exc:
        fault = exc.faults[0] if exc.faults else None
        inner = fault.path if fault else ""
        raise PlaybookInvalid(
            f"{path}.{inner}" if inner else path, fault.message if fault else str(exc)
        ) from None


def parse_rule(raw: Any, path: str) -> Rule:
    """One rule from its JSON form."""
    if not isinstance(raw, dict):
        raise PlaybookInvalid(path, 'must be an object {"name", "segment", "offers"}')
    _unknown(raw, _RULE_KEYS, path, "a rule")
    for key in _RULE_KEYS:
        if key not in raw:
            raise PlaybookInvalid(f"{path}.{key}", "missing")
    name = _text(raw["name"], f"{path}.name", NAME_MAX)
    segment = parse_segment(raw["segment"], f"{path}.segment")
    offers = raw["offers"]
    if not isinstance(offers, list) or not offers:
        raise PlaybookInvalid(f"{path}.offers", "must be a list of one or more offers")
    if len(offers) > MAX_OFFERS:
        raise PlaybookInvalid(f"{path}.offers", f"at most {MAX_OFFERS} offers (keys 1 to 9)")
    parsed = tuple(parse_offer(o, f"{path}.offers[{i}]") for i, o in enumerate(offers))
    return Rule(name, segment, parsed)


def parse(data: Any) -> Playbook:
    """A checked playbook from its JSON document; raises PlaybookInvalid (the first fault)."""
    if not isinstance(data, dict):
        raise PlaybookInvalid("", f'a playbook file holds one JSON object ({{"format": "{FORMAT}"')
    _unknown(data, _TOP_KEYS, "", "a playbook")
    if data.get("format") != FORMAT:
        raise PlaybookInvalid("format", f'must be "{FORMAT}"')
    version = data.get("version", 0)
    if not _is_int(version) or version < 0:
        raise PlaybookInvalid("version", "must be a whole number from 0")
    rules = data.get("rules")
    if not isinstance(rules, list):
        raise PlaybookInvalid("rules", "must be a list of rules (empty: no offers at cancel)")
    if len(rules) > MAX_RULES:
        raise PlaybookInvalid("rules", f"at most {MAX_RULES} rules")
    parsed = tuple(parse_rule(r, f"rules[{i}]") for i, r in enumerate(rules))
    seen: dict[str, int] = {}
    for i, rule in enumerate(parsed):
        key = rule.name.casefold()
        if key in seen:
            raise PlaybookInvalid(
                f"rules[{i}].name", f"{rule.name!r} already names rules[{seen[key]}]"
            )
        seen[key] = i
    return Playbook(version, parsed)


_STRING = re.compile(r'"(?:\\.|[^"\\])*"')
_BRACKET = re.compile(r"[\[\]{}]")


def loads(text: str) -> Playbook:
    """A playbook from its JSON text: nesting is checked before it is parsed (a hostile file
    nested thousands deep would exhaust the stack), then ``parse``."""
    import json

    from srm_tui.segments.validate import MAX_DEPTH

    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub('""', text)):
        depth += 1 if match.group() in "[{" else -1
        deepest = max(deepest, depth)
    # A segment's groups (two levels each, as a segment file has them) inside a rule.
    if deepest > 2 * MAX_DEPTH + 8:
        raise PlaybookInvalid("", f"nested too deeply (segment groups at most {MAX_DEPTH} deep)")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlaybookInvalid(
            "", f"not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    return parse(raw)


def to_json(pb: Playbook) -> dict[str, Any]:
    """The playbook's JSON document (what ``parse`` reads back to an equal playbook)."""
    return {"format": FORMAT, "version": pb.version, "rules": [r.to_json() for r in pb.rules]}

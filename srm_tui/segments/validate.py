"""Checking a segment document: every fault with the path that locates it.

Paths read like the JSON they point into: ``where.all[1].any[0].op``, ``selector``,
``where.all[0].value[1]``. The checks are the contract's: unknown attribute, operator not
valid for the attribute's type, wrong value type (``between`` needs ``[a, b]``, ``in`` a
list, the day operators a non-negative number of days, dates ISO 8601), unknown selector.

Over 400 lines: one check per rule of CONTRACT section 4, each with its fault path.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from typing import Any

from srm_tui.domain.time import exact_seconds as parse_date  # a segment file's instants
from srm_tui.segments.catalog import DAYS_VALUE, LIST_VALUE, NO_VALUE, SELECTORS, Attribute, lookup
from srm_tui.segments.model import Fault, Node, conditions

TOP_KEYS = ("version", "name", "tags", "selector", "where", "description")
CONDITION_KEYS = ("attr", "op", "value", "currency")

# Limits: far above any segment a person writes, far below what would exhaust the stack,
# memory or SQLite's bound parameters (a 10 MB file took 98 s and 638 MB, then failed).
MAX_BYTES = 1 << 20  # a segment file or text form
MAX_DEPTH = 64  # groups (all/any/not) inside one another
MAX_CONDITIONS = 1000
MAX_VALUES = 10_000  # list values over all conditions (each is one SQL parameter)
_STRING = re.compile(r'"(?:\\.|[^"\\])*"')
_BRACKET = re.compile(r"[\[\]{}]")


def check_size(size: int, what: str = "the segment") -> list[Fault]:
    """A fault when a segment's text is over MAX_BYTES."""
    if size > MAX_BYTES:
        return [
            Fault(
                "", f"{what} is larger than 1 MB ({MAX_BYTES:,} bytes), the most a segment may be"
            )
        ]
    return []


def check_text_limits(text: str) -> list[Fault]:
    """Size and nesting of a segment's JSON text, checked before it is parsed (parsing a
    5,000-deep document is what overflowed the stack)."""
    faults = check_size(len(text.encode("utf-8", "surrogatepass")))
    if faults:
        return faults
    depth = deepest = 0
    for match in _BRACKET.finditer(_STRING.sub('""', text)):
        depth += 1 if match.group() in "[{" else -1
        deepest = max(deepest, depth)
    # Each group is two JSON levels ({"all": [...]}); the document and "where" add two more.
    if deepest > 2 * MAX_DEPTH + 4:
        return [Fault("where", f"groups are nested more than {MAX_DEPTH} deep")]
    return []


def _check_counts(where: Any) -> list[Fault]:
    """How many conditions and list values the tree holds (walked without recursion)."""
    conditions_seen = values = 0
    stack = [where]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "attr" in node:
                conditions_seen += 1
                if isinstance(node.get("value"), list):
                    values += len(node["value"])
            stack.extend(v for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, (dict, list)))
    if conditions_seen > MAX_CONDITIONS:
        return [
            Fault(
                "where", f"{conditions_seen:,} conditions; a segment has at most {MAX_CONDITIONS:,}"
            )
        ]
    if values > MAX_VALUES:
        return [
            Fault("where", f"{values:,} list values; a segment has at most {MAX_VALUES:,} in all")
        ]
    return []


def validate_document(raw: dict[str, Any]) -> list[Fault]:
    """Faults of a whole (current-version) segment document; empty when it is valid."""
    faults: list[Fault] = _check_counts(raw.get("where"))
    if faults:
        return faults
    for key in raw:
        if key not in TOP_KEYS:
            faults.append(Fault(key, f"unknown key (a segment has {', '.join(TOP_KEYS)})"))
    if "name" in raw and raw["name"] is not None and not isinstance(raw["name"], str):
        faults.append(Fault("name", "must be text"))
    if (
        "description" in raw
        and raw["description"] is not None
        and not isinstance(raw["description"], str)
    ):
        faults.append(Fault("description", "must be text"))
    tags = raw.get("tags")
    if tags is not None:
        if not isinstance(tags, list):
            faults.append(Fault("tags", "must be a list of text"))
        else:
            faults += [
                Fault(f"tags[{i}]", "must be text")
                for i, t in enumerate(tags)
                if not isinstance(t, str)
            ]
    selector = raw.get("selector")
    if selector is not None and selector not in SELECTORS:
        faults.append(
            Fault("selector", f"unknown selector {_show(selector)} (one of {', '.join(SELECTORS)})")
        )
    if "where" not in raw:
        faults.append(Fault("where", 'missing: the condition tree, e.g. {"all": [...]}'))
    else:
        faults += validate_node(raw["where"], "where")
    return faults


def validate_node(raw: Any, path: str) -> list[Fault]:
    """Faults of one node of the tree in its JSON form."""
    if not isinstance(raw, dict):
        return [
            Fault(
                path,
                'expected {"all": [...]}, {"any": [...]}, {"not": {...}} or a '
                'condition {"attr": ..., "op": ..., "value": ...}',
            )
        ]
    for key in ("all", "any"):
        if key in raw:
            faults = [Fault(f"{path}.{k}", f"unknown key beside {key!r}") for k in raw if k != key]
            items = raw[key]
            if not isinstance(items, list):
                return faults + [Fault(f"{path}.{key}", "must be a list of nodes")]
            for i, item in enumerate(items):
                faults += validate_node(item, f"{path}.{key}[{i}]")
            return faults
    if "not" in raw:
        faults = [Fault(f"{path}.{k}", "unknown key beside 'not'") for k in raw if k != "not"]
        return faults + validate_node(raw["not"], f"{path}.not")
    if "attr" not in raw and "op" not in raw:
        return [Fault(path, 'expected "all", "any", "not" or a condition with "attr" and "op"')]
    faults = [
        Fault(f"{path}.{k}", "unknown key in a condition (attr, op, value, currency)")
        for k in raw
        if k not in CONDITION_KEYS
    ]
    return faults + validate_condition(
        raw.get("attr"),
        raw.get("op"),
        raw.get("value"),
        path,
        has_value="value" in raw,
        currency=raw.get("currency"),
        has_currency="currency" in raw,
    )


def validate_condition(
    attr: Any,
    op: Any,
    value: Any,
    path: str,
    has_value: bool = True,
    currency: Any = None,
    has_currency: bool = False,
) -> list[Fault]:
    """Faults of one condition: the attribute, the operator for its type, the value."""
    if not isinstance(attr, str) or not attr:
        return [Fault(f"{path}.attr", "missing: an attribute name such as customer.country")]
    attribute = lookup(attr)
    if attribute is None:
        return [Fault(f"{path}.attr", f"unknown attribute {_show(attr)}{_hint(attr)}")]
    if not isinstance(op, str) or not op:
        return [Fault(f"{path}.op", f"missing: one of {', '.join(attribute.operators)}")]
    if op not in attribute.operators:
        return [
            Fault(
                f"{path}.op",
                f"{_show(op)} is not an operator for {attribute.type} "
                f"attribute {attr} (use {', '.join(attribute.operators)})",
            )
        ]
    faults = value_faults(attribute, op, value if has_value else None, f"{path}.value")
    if has_currency or currency is not None:
        faults += currency_faults(attribute, currency, f"{path}.currency")
    return faults


def currency_faults(attribute: Attribute, currency: Any, path: str) -> list[Fault]:
    """A condition's ``currency``: an ISO 4217 code, and only on a money attribute."""
    if not attribute.money:
        return [
            Fault(path, f"{attribute.name} is not money: only money attributes take a currency")
        ]
    if not isinstance(currency, str) or not re.match(r"^[A-Z]{3}$", currency):
        return [
            Fault(path, f"must be an ISO 4217 code in capitals such as EUR, not {_show(currency)}")
        ]
    return []


def validate_tree(node: Node) -> list[Fault]:
    """Faults of a tree already in memory (the builder edits these directly)."""
    faults: list[Fault] = []
    for path, cond in conditions(node):
        faults += validate_condition(
            cond.attr, cond.op, _thaw(cond.value), path, currency=cond.currency
        )
    return faults


def _thaw(value: Any) -> Any:
    return [_thaw(v) for v in value] if isinstance(value, tuple) else value


# values --------------------------------------------------------------------------------


def value_faults(attribute: Attribute, op: str, value: Any, path: str) -> list[Fault]:
    if op in NO_VALUE:
        return [] if value is None else [Fault(path, f"{op} takes no value")]
    if value is None:
        return [Fault(path, f"missing: {_expected(attribute, op)}")]
    if op in LIST_VALUE:
        if not isinstance(value, list):
            return [Fault(path, f"{op} needs a list, e.g. {_example(attribute, list_=True)}")]
        faults: list[Fault] = []
        for i, item in enumerate(value):
            faults += _scalar_faults(attribute, op, item, f"{path}[{i}]")
        return faults
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            return [Fault(path, f"between needs [a, b], e.g. {_example(attribute, pair=True)}")]
        faults = _scalar_faults(attribute, op, value[0], f"{path}[0]") + _scalar_faults(
            attribute, op, value[1], f"{path}[1]"
        )
        if not faults and _reversed(attribute, value[0], value[1]):
            faults.append(
                Fault(
                    path,
                    f"between needs its first bound <= its second, not "
                    f"{_show(value[0])} and {_show(value[1])} (swap them)",
                )
            )
        return faults
    if op in DAYS_VALUE:
        if not _is_number(value) or not 0 <= value <= MAX_DAYS:
            return [
                Fault(
                    path, f"{op} needs a number of days from 0 to {MAX_DAYS:,}, not {_show(value)}"
                )
            ]
        return []
    return _scalar_faults(attribute, op, value, path)


def _scalar_faults(attribute: Attribute, op: str, value: Any, path: str) -> list[Fault]:
    kind = attribute.type
    if kind == "text":
        return [] if isinstance(value, str) else [Fault(path, f"must be text, not {_show(value)}")]
    if kind == "number":
        if not _is_number(value):
            return [Fault(path, f"must be a number, not {_show(value)}")]
        # Values become SQLite integers (money in micro-units): keep them inside 64 bits.
        limit = MAX_MONEY if attribute.money else MAX_NUMBER
        if abs(value) > limit:
            return [Fault(path, f"{_show(value)} is out of range (at most {limit:,} either way)")]
        return []
    if kind == "bool":
        return (
            []
            if isinstance(value, bool)
            else [Fault(path, f"must be true or false, not {_show(value)}")]
        )
    if kind == "enum":
        if not isinstance(value, str):
            return [Fault(path, f"must be text, not {_show(value)}")]
        if attribute.values is not None and value not in attribute.values:
            return [
                Fault(
                    path,
                    f"{_show(value)} is not a value of {attribute.name} "
                    f"({', '.join(attribute.values)})",
                )
            ]
        if attribute.pattern is not None and not re.match(attribute.pattern, value):
            return [
                Fault(
                    path, f"{_show(value)} is not an ISO code in capitals ({attribute.description})"
                )
            ]
        return []
    # date
    if not isinstance(value, str):
        return [Fault(path, f"must be an ISO 8601 date or instant, not {_show(value)}")]
    if is_relative(value):
        return []
    try:
        parse_date(value)
    except ValueError:
        return [
            Fault(
                path,
                f"not an ISO 8601 date or instant: {_show(value)} "
                "(e.g. 2026-01-31 or 2026-01-31T12:00:00Z), nor a relative date "
                "(now, today, -30d, +2w, -3m, -1y)",
            )
        ]
    return []


# Relative dates (CONTRACT section 4): kept as written in the file, resolved against "now"
# at each evaluation.
RELATIVE = re.compile(r"^(?:now|today|[+-]\d{1,6}[dwmy])$")


def is_relative(value: Any) -> bool:
    """True for ``now``, ``today`` or a signed count and unit (``-30d``, ``+2w``, ``-3m``,
    ``-1y``)."""
    return isinstance(value, str) and bool(RELATIVE.match(value))


def _add_months(moment: datetime, months: int) -> datetime:
    import calendar

    total = moment.year * 12 + (moment.month - 1) + months
    year, month = divmod(total, 12)
    if not 1 <= year <= 9999:
        raise ValueError("out of range")
    last = calendar.monthrange(year, month + 1)[1]
    return moment.replace(year=year, month=month + 1, day=min(moment.day, last))


def resolve_date(value: str, now: int) -> int | float:
    """Unix seconds of a date value at ``now``: relative forms counted from now (``today``:
    00:00:00Z of now's UTC day; months and years are calendar ones, the day clamped to the
    month's end), anything else as ``parse_date`` reads it."""
    if not is_relative(value):
        return parse_date(value)
    if value == "now":
        return now
    if value == "today":
        return (now // 86400) * 86400
    count, unit = int(value[:-1]), value[-1]
    if unit in "dw":
        return now + count * (7 if unit == "w" else 1) * 86400
    moment = datetime.fromtimestamp(now, timezone.utc)
    try:
        moved = _add_months(moment, count * (12 if unit == "y" else 1))
    except (ValueError, OverflowError):
        # Beyond the calendar: earlier or later than every stored date.
        return -(1 << 62) if count < 0 else 1 << 62
    return int(moved.timestamp())


def _offsets(value: str) -> tuple[float, float]:
    """The least and greatest seconds a relative date can lie from now, over every now."""
    if value == "now":
        return 0, 0
    if value == "today":
        return -86399, 0
    count, unit = int(value[:-1]), value[-1]
    if unit in "dw":
        span = count * (7 if unit == "w" else 1) * 86400
        return span, span
    months = count * (12 if unit == "y" else 1)
    low, high = sorted((months * 28 * 86400, months * 31 * 86400))
    return low, high


def _reversed(attribute: Attribute, low: Any, high: Any) -> bool:
    """True when between's bounds are certainly the wrong way round. Numbers and absolute
    dates always tell; two relative dates tell when their order holds for every now; an
    absolute date beside a relative one depends on now and is left to match nothing."""
    if attribute.type == "number":
        return _is_number(low) and _is_number(high) and low > high
    if attribute.type != "date" or not isinstance(low, str) or not isinstance(high, str):
        return False
    rel_low, rel_high = is_relative(low), is_relative(high)
    if rel_low and rel_high:
        return _offsets(low)[0] > _offsets(high)[1]
    if rel_low or rel_high:
        return False
    try:
        return parse_date(low) > parse_date(high)
    except ValueError:
        return False


MAX_MONEY = 10**12
MAX_NUMBER = 10**18
MAX_DAYS = 1_000_000


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _expected(attribute: Attribute, op: str) -> str:
    if op in LIST_VALUE:
        return f"a list, e.g. {_example(attribute, list_=True)}"
    if op == "between":
        return f"[a, b], e.g. {_example(attribute, pair=True)}"
    if op in DAYS_VALUE:
        return "a number of days"
    return f"a value, e.g. {_example(attribute)}"


def _example(attribute: Attribute, list_: bool = False, pair: bool = False) -> str:
    one = {
        "text": '"abc"',
        "number": "20",
        "bool": "true",
        "date": '"2026-01-31"',
        "enum": f'"{attribute.values[0]}"' if attribute.values else '"PL"',
    }[attribute.type]
    two = {"number": "50", "date": '"2026-02-28"'}.get(attribute.type, one)
    if pair:
        return f"[{one}, {two}]"
    if list_:
        return (
            f"[{one}, {two}]"
            if attribute.type != "enum" or not attribute.values
            else "[" + ", ".join(f'"{v}"' for v in attribute.values[:2]) + "]"
        )
    return one


def _show(value: Any) -> str:
    import json

    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _hint(name: str) -> str:
    import difflib

    from srm_tui.segments.catalog import BY_NAME

    close = difflib.get_close_matches(name, list(BY_NAME), n=1)
    if close:
        return f" (did you mean {close[0]}?)"
    if name.startswith(("customer.custom.", "subscription.custom.")):
        return " (KEY must not be empty or hold quotes, backslashes or control characters)"
    return ""


def validate_segment(segment) -> list[Fault]:
    """Faults of a segment held in memory (what the builder screen edits)."""
    faults: list[Fault] = []
    if segment.selector not in SELECTORS:
        faults.append(
            Fault(
                "selector",
                f"unknown selector {_show(segment.selector)} (one of {', '.join(SELECTORS)})",
            )
        )
    return faults + validate_tree(segment.where)

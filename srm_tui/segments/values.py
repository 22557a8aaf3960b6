"""Reading a condition's value as an agent types it, and saying what is wrong with it.

The builder's value box takes plain text, not JSON: ``PL, DE`` for a list, ``10 and 20`` (or
``10, 20``) for between, ``30`` or ``30d`` or ``4w`` for a number of days, ``yes``/``no``
for true and false, and dates as ISO 8601 or in relative forms (``today``, ``now``,
``yesterday``, ``tomorrow``, ``-30d``, ``+2w``, ``-3m``, ``-1y``, ``30 days ago``,
``2 weeks ago``, ``in 7 days``). A relative form stays relative (CONTRACT section 4): it is
saved as ``-2w`` and resolved against "now" at each evaluation; the hint says what it means
today. Money may end with a currency (``500 USD``); the builder fills in the reporting
currency when none is typed.
The final check is the file validator's, so a value the builder accepts is one the file
format accepts, and faults read the same (``value[1]: "DX" is not ...``).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from srm_tui.segments.catalog import DAYS_VALUE, LIST_VALUE, NO_VALUE, Attribute
from srm_tui.segments.model import Condition, Fault
from srm_tui.segments.validate import value_faults

DAY = 86400
_UNIT = r"d|w|m|y|days?|weeks?|months?|years?"
_RELATIVE = re.compile(
    rf"^(?:(?P<sign>[+-])\s*(?P<n1>\d+)\s*(?P<u1>{_UNIT})"
    rf"|(?P<n2>\d+)\s*(?P<u2>{_UNIT})\s+ago"
    rf"|in\s+(?P<n3>\d+)\s*(?P<u3>{_UNIT}))$",
    re.IGNORECASE,
)
_MONEY = re.compile(r"^(?P<amount>.*?)\s*(?:\bin\s+)?(?P<code>[A-Za-z]{3})$")
_DAYS = re.compile(r"^(?P<n>\d+(?:\.\d+)?)\s*(?P<u>d|w|days?|weeks?)?$", re.IGNORECASE)
_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?$")
TRUE_WORDS = {"true", "yes", "y", "1", "on"}
FALSE_WORDS = {"false", "no", "n", "0", "off"}


@dataclass(frozen=True)
class Parsed:
    value: Any  # ready for Condition.value (lists as tuples)
    hint: str = ""  # what the text was read as, when that is not obvious
    currency: str | None = None  # money: the currency typed after the amount, if any


class ValueProblem(ValueError):
    def __init__(self, faults: list[Fault]):
        self.faults = faults
        super().__init__("; ".join(str(f) for f in faults))


def _unit_days(n: str, unit: str | None) -> float:
    days = float(n)
    if unit and unit.lower().startswith("w"):
        days *= 7
    return int(days) if days == int(days) else days


def _iso_day(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d")


def relative_value(text: str) -> str | None:
    """The file form of a relative date as typed (``2 weeks ago`` -> ``-2w``,
    ``yesterday`` -> ``-1d``, ``today``, ``now``), or None when it is not one."""
    word = " ".join(text.strip().lower().split())
    named = {"today": "today", "now": "now", "yesterday": "-1d", "tomorrow": "+1d"}
    if word in named:
        return named[word]
    m = _RELATIVE.match(word)
    if not m:
        return None
    if m.group("n1"):
        sign, n, unit = m.group("sign"), m.group("n1"), m.group("u1")
    elif m.group("n2"):
        sign, n, unit = "-", m.group("n2"), m.group("u2")
    else:
        sign, n, unit = "+", m.group("n3"), m.group("u3")
    if len(n) > 6:
        return None
    return f"{sign}{int(n)}{unit[0].lower()}"


def relative_date(text: str, now: int) -> str | None:
    """The ISO instant a relative form names at ``now`` (what the hint shows), or None."""
    from srm_tui.segments.validate import resolve_date

    form = relative_value(text)
    if form is None:
        return None
    at = int(resolve_date(form, now))
    moment = datetime.fromtimestamp(at, timezone.utc)
    if at % DAY == 0:
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def split_list(text: str) -> list[str]:
    """Comma-separated items; double quotes keep a comma inside one ("a, b", c)."""
    if not text.strip():
        return []
    return [item.strip() for item in next(csv.reader([text], skipinitialspace=True))]


def _scalar(attribute: Attribute, text: str, now: int, hints: list[str]) -> Any:
    kind = attribute.type
    raw = text.strip()
    if kind == "text":
        return text  # as typed: spaces and capitals mean something to a contains
    if kind == "number":
        compact = raw.replace("_", "")
        if _NUMBER.match(compact):
            number = float(compact)
            return (
                int(number)
                if number == int(number) and "." not in compact and "e" not in compact.lower()
                else number
            )
        return raw  # the validator names it
    if kind == "bool":
        if raw.lower() in TRUE_WORDS:
            return True
        if raw.lower() in FALSE_WORDS:
            return False
        return raw
    if kind == "enum":
        if attribute.values:
            for v in attribute.values:
                if v.casefold() == raw.casefold():
                    return v
            return raw
        return raw.upper() if attribute.pattern else raw
    # date
    relative = relative_value(raw)
    if relative is not None:
        hints.append(f"{raw} = {relative}, now {relative_date(relative, now)} (stays relative)")
        return relative
    return raw


def parse_value(attribute: Attribute, op: str, text: str, now: int) -> Parsed:
    """The value for ``attribute op`` from the text in the value box.

    Raises ``ValueProblem`` whose faults name the fault by path (``value``, ``value[1]``).
    """
    hints: list[str] = []
    currency: str | None = None
    if attribute.money and op not in NO_VALUE:
        m = _MONEY.match(text.strip())
        if m and m.group("amount") and m.group("amount")[-1:].isdigit():
            currency, text = m.group("code").upper(), m.group("amount")
    raw = text.strip()
    value: Any
    if op in NO_VALUE:
        value = None
    elif op in LIST_VALUE:
        items = split_list(text)
        if not items or any(item == "" for item in items):
            raise ValueProblem(
                [
                    Fault(
                        "value",
                        "give one or more values separated by commas"
                        + (" (one is empty)" if items else ""),
                    )
                ]
            )
        value = [_scalar(attribute, item, now, hints) for item in items]
    elif op == "between":
        parts = re.split(r"\s+and\s+", raw, flags=re.IGNORECASE)
        if len(parts) != 2:
            parts = split_list(raw)
        if len(parts) != 2 or not all(p.strip() for p in parts):
            raise ValueProblem(
                [Fault("value", "between needs two values: low and high, e.g. 10 and 20")]
            )
        value = [_scalar(attribute, p, now, hints) for p in parts]
    elif op in DAYS_VALUE:
        m = _DAYS.match(raw)
        if not raw:
            raise ValueProblem([Fault("value", "missing: a number of days, e.g. 30 or 4w")])
        if not m:
            raise ValueProblem(
                [
                    Fault(
                        "value",
                        f"{op.replace('_', ' ')} needs a number of "
                        f"days (30, 30d or 4w), not {raw!r}",
                    )
                ]
            )
        value = _unit_days(m.group("n"), m.group("u"))
        if m.group("u") and m.group("u").lower().startswith("w"):
            hints.append(f"{raw} = {value} days")
    else:
        if not raw and attribute.type != "text":
            raise ValueProblem([Fault("value", "missing: type a value")])
        value = _scalar(attribute, text, now, hints)
    faults = value_faults(attribute, op, value, "value")
    if faults:
        raise ValueProblem(faults)
    if isinstance(value, list):
        value = tuple(value)
    return Parsed(value, "; ".join(hints), currency)


def value_text(cond: Condition) -> str:
    """A condition's value as the value box shows it (what ``parse_value`` reads back)."""
    from srm_tui.segments.textform import format_value

    value = cond.value
    if value is None:
        return ""

    def one(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            if "," in v or '"' in v:
                return '"' + v.replace('"', '""') + '"'
            return v
        return format_value(v)

    suffix = f" {cond.currency}" if cond.currency else ""
    if isinstance(value, tuple):
        if cond.op == "between":
            return f"{one(value[0])} and {one(value[1])}{suffix}"
        return ", ".join(one(v) for v in value) + suffix
    if isinstance(value, str):
        return value
    return one(value) + suffix


def days_label(op: str) -> str:
    return {"within_last": "days", "more_than_days_ago": "days ago", "within_next": "days"}.get(
        op, ""
    )


__all__ = ["Parsed", "ValueProblem", "parse_value", "relative_date", "split_list", "value_text"]


# what the cache holds -------------------------------------------------------------------------

# Where the values an agent may type for an attribute can be looked up (the facts hold them
# as compared: codes as they are, text casefolded).
_SUGGEST_SQL = {
    # The customers' own indexes answer these without sorting a million rows.
    "customer.country": "SELECT country, count(*) FROM customers INDEXED BY customers_country "
    "WHERE country IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT :n",
    "customer.currency": "SELECT currency, count(*) FROM customers INDEXED BY "
    "customers_currency WHERE currency IS NOT NULL GROUP BY 1 "
    "ORDER BY 2 DESC LIMIT :n",
    "subscription.currency": "SELECT currency, count(*) FROM segment_sub_facts "
    "WHERE currency IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT :n",
    "customer.last_payment_method": "SELECT lpm_cf, count(*) FROM segment_customer_text "
    "WHERE lpm_cf IS NOT NULL GROUP BY 1 ORDER BY 2 DESC "
    "LIMIT :n",
    "customer.latest_payment_rejection_reason": "SELECT reject_cf, count(*) FROM segment_customer_text WHERE reject_cf IS NOT NULL "
    "GROUP BY 1 ORDER BY 2 DESC LIMIT :n",
    "subscription.payment_method": "SELECT pm_cf, count(*) FROM segment_sub_facts "
    "WHERE pm_cf IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT :n",
    "subscription.offer_id": "SELECT offer_cf, count(*) FROM segment_sub_facts "
    "WHERE offer_cf IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT :n",
    "subscription.offer_title": "SELECT o.title, count(*) FROM segment_sub_facts s JOIN offers o "
    "ON o.id = s.offer_key GROUP BY 1 ORDER BY 2 DESC LIMIT :n",
    "customer.latest_pass_title": "SELECT o.title, count(*) FROM segment_customer_facts f JOIN "
    "offers o ON o.id = f.lp_offer GROUP BY 1 ORDER BY 2 DESC "
    "LIMIT :n",
}
_FIXED_SQL = {
    "subscription.status": "SELECT status, count(*) FROM segment_sub_facts GROUP BY 1",
    "subscription.period": "SELECT period, count(*) FROM segment_sub_facts GROUP BY 1",
    "subscription.channel": "SELECT channel, count(*) FROM segment_sub_facts GROUP BY 1",
}


def suggestions(conn, attribute: Attribute, limit: int = 12) -> list[tuple[str, int | None]]:
    """Values of an attribute worth offering, with how many facts rows hold each (None when
    not counted): an enum's fixed values, or the commonest values in the cache."""
    sql = _SUGGEST_SQL.get(attribute.name)
    if sql is not None:
        return [(str(v), n) for v, n in conn.execute(sql, {"n": limit}) if v is not None]
    if attribute.values:
        counts: dict[str, int] = {}
        if attribute.name in _FIXED_SQL:
            counts = {str(v): n for v, n in conn.execute(_FIXED_SQL[attribute.name])}
        return [(v, counts.get(v) if counts else None) for v in attribute.values]
    return []


def custom_keys(conn, limit: int = 40, sample: int = 5000) -> list[str]:
    """Custom attribute names seen in a sample of the cache (externalData keys, subscription
    externalProperties keys)."""
    out: list[str] = []
    for prefix, sql in (
        (
            "customer.custom.",
            "SELECT DISTINCT j.key FROM (SELECT external_data AS d FROM "
            "segment_customer_text WHERE external_data IS NOT NULL LIMIT "
            ":sample) x, json_each(x.d) j WHERE json_valid(x.d) LIMIT :n",
        ),
        (
            "subscription.custom.",
            "SELECT DISTINCT j.key FROM (SELECT props AS d FROM "
            "segment_sub_facts WHERE props IS NOT NULL LIMIT :sample) "
            "x, json_each(x.d) j WHERE json_valid(x.d) LIMIT :n",
        ),
    ):
        if getattr(getattr(conn, "dialect", None), "name", "") == "postgres":
            # the store's facts keep custom values as flat JSON objects (storage.facts_pg)
            sql = sql.replace(
                ", json_each(x.d) j WHERE json_valid(x.d)",
                ", json_object_keys(CAST(x.d AS json)) j(key)",
            )
        try:
            out += [
                prefix + str(k)
                for (k,) in conn.execute(sql, {"n": limit, "sample": sample})
                if isinstance(k, str)
            ]
        except Exception:  # a malformed JSON value: offer what the other family has
            continue
    from srm_tui.segments.catalog import valid_custom_key

    return [name for name in out if valid_custom_key(name.split(".", 2)[2])]

"""The vocabulary of support actions: field specs, rules, previews, and the errors they raise.

An action is planned from the cache alone (so rules hold offline and in a dry run): its input
is parsed field by field (``ActionInvalid`` names the field at fault), its rules are checked in
order (the first that fails blocks it), and the plan says exactly what will change and which
API request carries it out. Its errors are the write pipeline's family (srm_tui/writes).

Over 400 lines: the parsers every action's fields share live beside the specs they serve.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from srm_tui.config import parse_instant
from srm_tui.domain.models import TRANSACTION_ID
from srm_tui.storage.payload import decode_raw
from srm_tui.writes.errors import WriteError, WriteInvalid, WriteRefused

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
ZERO_DECIMAL_CURRENCIES = frozenset({"JPY"})
# A watched field whose value after the action is "anything but null" (a deletion time).
ANY_VALUE = {"$any": "not null"}


# -- errors ------------------------------------------------------------------------------


class ActionError(WriteError):
    """Base of every refusal an action can meet before or while it runs."""


class ActionInvalid(ActionError, WriteInvalid):
    """The input cannot be used; ``field`` names the input at fault."""


class ActionRefused(ActionError, WriteRefused):
    """A rule refused the action (checked locally, or the API's own refusal)."""


class ConfirmationRequired(ActionError):
    """An irreversible action was run without ``confirm=True``."""

    def __init__(self, action: str):
        super().__init__(f"{action} is irreversible and needs an explicit confirmation")
        self.action = action


# -- specs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """A precondition with a stable id; ``api`` lists fragments of the API's refusal text."""

    id: str
    text: str
    api: tuple[str, ...] = ()

    def matches(self, message: str) -> bool:
        low = message.casefold()
        return any(fragment.casefold() in low for fragment in self.api)


@dataclass(frozen=True)
class FieldSpec:
    """One input of an action, enough for a form: the console builds its dialogs from these.

    ``type`` is one of: ``id`` (a record id), ``text`` (one line), ``longtext`` (multi-line),
    ``email``, ``instant`` (ISO 8601), ``money`` (major units), ``number`` (a whole number
    from 1), ``bool``, ``choice`` (one of ``choices``).
    """

    name: str
    label: str
    type: str
    required: bool = False
    help: str = ""
    max_length: int | None = None
    default: Any = None
    target: bool = False  # the record the action acts on
    choices: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Refusal:
    rule: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"rule": self.rule, "message": self.message}


@dataclass(frozen=True)
class Change:
    what: str
    before: Any
    after: Any

    def to_json(self) -> dict[str, Any]:
        return {"what": self.what, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class Request:
    """The API call that carries an action out; ``steps`` are calls sent before it, in order
    (the vendor's anonymization flow terminates live access before the DELETE)."""

    method: str
    path: str
    body: Any = None
    params: dict[str, Any] | None = None
    steps: tuple[Request, ...] = ()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"method": self.method, "path": self.path}
        if self.params:
            out["params"] = self.params
        if self.body is not None:
            out["body"] = self.body
        if self.steps:
            out["steps"] = [step.to_json() for step in self.steps]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Request:
        return cls(
            data["method"],
            data["path"],
            data.get("body"),
            data.get("params"),
            tuple(cls.from_json(step) for step in data.get("steps") or ()),
        )


@dataclass(frozen=True)
class Watch:
    """Fields of one cached record the action touches: their values before and after it.

    A queued action is sent only while the API's record still shows ``before`` (or already
    shows ``after``: the action was applied and the answer lost); anything else is a conflict.
    """

    entity: str
    key: Any
    before: dict[str, Any]
    after: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"entity": self.entity, "key": self.key, "before": self.before, "after": self.after}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Watch:
        return cls(data["entity"], data["key"], data["before"], data["after"])


@dataclass
class Preview:
    """Exactly what an action will do, and whether a rule blocks it."""

    action: str
    title: str
    target: str
    customer_id: int | None
    changes: list[Change]
    request: Request
    warnings: list[str] = field(default_factory=list)
    blocked: Refusal | None = None
    destructive: bool = False
    irreversible: bool = False
    watches: list[Watch] = field(default_factory=list)
    args: dict[str, Any] = field(default_factory=dict)

    @property
    def allowed(self) -> bool:
        return self.blocked is None

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "title": self.title,
            "target": self.target,
            "customer_id": self.customer_id,
            "allowed": self.allowed,
            "blocked_by": self.blocked.to_json() if self.blocked else None,
            "changes": [c.to_json() for c in self.changes],
            "warnings": self.warnings,
            "destructive": self.destructive,
            "irreversible": self.irreversible,
            "request": self.request.to_json(),
        }


@dataclass(frozen=True)
class ActionSpec:
    """A registered action: its inputs, its rules and how it is planned."""

    name: str
    title: str
    fields: tuple[FieldSpec, ...]
    rules: tuple[Rule, ...]
    plan: Callable[[Context, dict[str, Any]], Preview]
    destructive: bool = False
    irreversible: bool = False

    @property
    def target_field(self) -> FieldSpec:
        return next(f for f in self.fields if f.target)

    def field(self, name: str) -> FieldSpec:
        return next(f for f in self.fields if f.name == name)

    def rule_for(self, message: str) -> Rule | None:
        """The local rule an API refusal corresponds to, if any."""
        return next((r for r in self.rules if r.matches(message)), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "fields": [f.to_json() for f in self.fields],
            "rules": [{"id": r.id, "text": r.text} for r in self.rules],
            "destructive": self.destructive,
            "irreversible": self.irreversible,
        }


# -- reading the cache -------------------------------------------------------------------


@dataclass
class Context:
    """What a plan may read: the cache, the clock, and who acts."""

    conn: sqlite3.Connection
    now: int
    agent: str
    role: str
    api: str | None = None  # the API profile's name, when known ("vendor", "sandbox")

    def record(self, entity: str, key: Any) -> dict[str, Any] | None:
        row = self.conn.execute(f"SELECT raw FROM {entity} WHERE id = ?", (key,)).fetchone()
        return decode_raw(row[0]) if row else None

    def records(self, entity: str, customer_id: int) -> list[dict[str, Any]]:
        cur = self.conn.execute(
            f"SELECT raw FROM {entity} WHERE customer_id = ? ORDER BY id", (customer_id,)
        )
        return [decode_raw(r[0]) for r in cur]

    def customer(self, customer_id: int, field: str = "customer_id") -> dict[str, Any]:
        found = self.record("customers", customer_id)
        if found is None:
            raise ActionInvalid(
                field,
                f"customer {customer_id} is not in the cache (srm fetch {customer_id} brings it)",
            )
        return found


class Checks:
    """Rules checked in order; the first that fails is the one reported."""

    def __init__(self) -> None:
        self.failed: list[Refusal] = []

    def require(self, ok: bool, rule: Rule, message: str | None = None) -> bool:
        if not ok:
            self.failed.append(Refusal(rule.id, message or rule.text))
        return ok

    @property
    def blocked(self) -> Refusal | None:
        return self.failed[0] if self.failed else None


# -- parsing input -----------------------------------------------------------------------


def given(value: Any) -> bool:
    return value is not None


def parse_id(value: Any, field: str, what: str = "id") -> int:
    if isinstance(value, bool):
        raise ActionInvalid(field, f"a {what} is a number")
    if isinstance(value, int) and 0 < value < 2**63:
        return value
    text = str(value).strip() if value is not None else ""
    if not text:
        raise ActionInvalid(field, "required")
    # ASCII digits only ("²".isdigit() holds, int() refuses it), and no wider than SQLite's.
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 2**63:
        raise ActionInvalid(field, f"a {what} is a positive number, not {text[:40]!r}")
    return int(text)


def parse_transaction_id(value: Any, field: str) -> str:
    text = str(value).strip() if value is not None else ""
    if not text:
        raise ActionInvalid(field, "required")
    if not TRANSACTION_ID.match(text):
        raise ActionInvalid(field, f"a transaction id is T and 9 digits, not {text[:40]!r}")
    return text


def parse_text(
    value: Any, field: str, max_length: int, *, min_length: int = 1, multiline: bool = False
) -> str:
    if value is None:
        raise ActionInvalid(field, "required")
    if not isinstance(value, str):
        raise ActionInvalid(field, "must be text")
    if min_length and not value.strip():
        raise ActionInvalid(field, "must not be empty")
    if len(value) > max_length:
        raise ActionInvalid(field, f"at most {max_length:,} characters (this is {len(value):,})")
    if len(value) < min_length:
        raise ActionInvalid(field, f"at least {min_length} characters")
    bad = CONTROL_RE.search(
        value.replace("\n", "").replace("\t", "").replace("\r", "") if multiline else value
    )
    if bad:
        raise ActionInvalid(
            field,
            f"must not contain control characters "
            f"({bad.group().encode('unicode_escape').decode()})",
        )
    return value


def parse_email(value: Any, field: str) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise ActionInvalid(field, "required")
    if len(text) > 254 or not EMAIL_RE.match(text):
        raise ActionInvalid(field, f"not a valid email address: {text[:60]!r}")
    return text


def parse_when(value: Any, field: str) -> int:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return int(moment.timestamp())
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise ActionInvalid(field, "required")
    try:
        return int(parse_instant(text).timestamp())
    except ValueError:
        raise ActionInvalid(field, f"not an ISO 8601 instant: {text[:40]!r}") from None


def parse_money(value: Any, field: str, currency: str) -> float:
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ActionInvalid(field, f"not an amount: {str(value)[:40]!r}") from None
    if not amount.is_finite() or amount <= 0:
        raise ActionInvalid(field, "must be greater than 0")
    if amount >= 10**12:  # beyond any payment (and beyond what rounding can check)
        raise ActionInvalid(field, f"{str(value)[:40]!r} is too large an amount")
    places = 0 if currency in ZERO_DECIMAL_CURRENCIES else 2
    if amount != round(amount, places):
        raise ActionInvalid(field, f"{currency} amounts have at most {places} decimals")
    return float(amount)


def parse_bool(value: Any, field: str, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "y", "on"):
        return True
    if text in ("0", "false", "no", "n", "off"):
        return False
    raise ActionInvalid(field, f"yes or no, not {text[:20]!r}")


def unknown_args(spec: ActionSpec, args: dict[str, Any]) -> None:
    names = {f.name for f in spec.fields}
    for name in args:
        if name not in names:
            raise ActionInvalid(
                name, f"{spec.name} takes no such input (it takes {', '.join(sorted(names))})"
            )


# -- small helpers for plans -------------------------------------------------------------


def money(value: float, currency: str) -> float:
    """Rounded the way the API rounds money (whole units for zero-decimal currencies)."""
    if currency in ZERO_DECIMAL_CURRENCIES:
        return float(round(value))
    return round(value, 2)


def show_money(value: float, currency: str) -> str:
    places = 0 if currency in ZERO_DECIMAL_CURRENCIES else 2
    return f"{value:.{places}f} {currency}"


def iso(ts: int | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def dotted(record: dict[str, Any] | None, path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def same(current: Any, wanted: Any) -> bool:
    if wanted == ANY_VALUE:
        return current is not None
    if (
        isinstance(current, (int, float))
        and isinstance(wanted, (int, float))
        and not isinstance(current, bool)
        and not isinstance(wanted, bool)
    ):
        return abs(current - wanted) < 1e-9
    return current == wanted

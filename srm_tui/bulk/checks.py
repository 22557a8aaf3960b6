"""The inputs of a bulk run, checked once before anything is written (BulkInvalid names the
field): extend's days (1 to 3650, never negative) or one new end date, a coupon code a cached
campaign holds, a pause's cycles, a note's text, a cancel's reason."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

from srm_tui.actions.rules import iso, parse_text, parse_when
from srm_tui.bulk import model
from srm_tui.bulk.model import BulkInvalid

if TYPE_CHECKING:
    from srm_tui.api.profile import ApiProfile


def check_params(
    action: str, params: dict[str, Any], conn: sqlite3.Connection, profile: ApiProfile | None
) -> dict[str, Any]:
    """The run's inputs, checked once for every member (BulkInvalid names the field)."""
    if action not in model.TARGETS:
        raise BulkInvalid("action", f"no bulk action {action!r} ({', '.join(model.ACTIONS)})")
    given = {k: v for k, v in params.items() if v is not None and v != ""}
    known = {f.name for f in model.fields(action)}
    extra = sorted(set(given) - known)
    if extra:
        raise BulkInvalid(extra[0], f"{action} takes no {extra[0]}")
    for f in model.fields(action):  # what the action cannot go without, asked once
        if f.required and f.name not in given:
            raise BulkInvalid(f.name, "required")
    out: dict[str, Any] = {}
    if action == "extend":
        if ("days" in given) == ("until" in given):
            raise BulkInvalid("days", "give either days (added to each end) or until")
        if "days" in given:
            out["days"] = _days(given["days"])
        else:
            out["until"] = iso(parse_when(given["until"], "until"))
    elif action == "coupon-apply":
        out["code"] = _coupon(given.get("code"), conn, profile)
    elif action == "cancel":
        out["reason"] = parse_text(given.get("reason"), "reason", 512)
    elif action == "pause":
        out["cycles"] = _whole(given.get("cycles"), "cycles", 1, 12)
    elif action == "note-add":
        out["text"] = parse_text(given.get("text"), "text", 2500, multiline=True)
    return out


def _coupon(value: Any, conn: sqlite3.Connection, profile: ApiProfile | None) -> str:
    from srm_tui.actions.coupon import COUPON_RE

    code = str(value or "").strip()
    if not code:
        raise BulkInvalid("code", "required")
    if not COUPON_RE.match(code):
        raise BulkInvalid("code", "a coupon code is 2 to 40 letters, digits, _ or -")
    known = conn.execute("SELECT 1 FROM campaign_codes WHERE code = ? LIMIT 1", (code,)).fetchone()
    # The vendor lists campaigns only by code: there the API checks an uncached code.
    if known is None and not (profile is not None and profile.name == "vendor"):
        raise BulkInvalid(
            "code", f"no campaign in the cache holds {code!r} (srm sync brings the campaigns)"
        )
    return code


def _whole(value: Any, field: str, low: int, high: int) -> int:
    text = str(value).strip() if value is not None else ""
    if not text:
        raise BulkInvalid(field, "required")
    try:
        number = int(text)
    except ValueError:
        raise BulkInvalid(field, f"a whole number, not {text[:40]!r}") from None
    if not low <= number <= high:
        raise BulkInvalid(field, f"must be {low}..{high}, not {number}")
    return number


def _days(value: Any) -> int:
    return _whole(value, "days", 1, model.MAX_DAYS)

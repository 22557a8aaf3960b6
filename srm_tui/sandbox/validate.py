"""Small input checks shared by the sandbox operations; each raises BadRequest (400)."""

from __future__ import annotations

import re

from .errors import BadRequest

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
LOCALE_RE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?$")
COUPON_RE = re.compile(r"^[A-Za-z0-9_-]{2,40}$")
TAG_RE = re.compile(r"^[a-zA-Z0-9_\-: ]+$")


def text(
    value, field: str, max_len: int, *, min_len: int = 1, nullable: bool = False
) -> str | None:
    if value is None and nullable:
        return None
    if not isinstance(value, str):
        raise BadRequest(f"{field} must be a string")
    if not min_len <= len(value) <= max_len:
        raise BadRequest(f"{field} must be {min_len} to {max_len} characters long")
    return value


def pattern(value, field: str, regex: re.Pattern, *, nullable: bool = False) -> str | None:
    if value is None and nullable:
        return None
    if not isinstance(value, str) or not regex.match(value):
        raise BadRequest(f"{field} is invalid")
    return value


def email(value, field: str = "email") -> str:
    if not isinstance(value, str) or len(value) > 254 or not EMAIL_RE.match(value):
        raise BadRequest(f"{field} must be a valid email address")
    return value


def integer(
    value,
    field: str,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    nullable: bool = False,
) -> int | None:
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{field} must be an integer")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise BadRequest(f"{field} is out of range")
    return value


def number(value, field: str, *, minimum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadRequest(f"{field} must be a number")
    if minimum is not None and value < minimum:
        raise BadRequest(f"{field} must be at least {minimum}")
    return value


def boolean(value, field: str) -> bool:
    if not isinstance(value, bool):
        raise BadRequest(f"{field} must be true or false")
    return value


def mapping(value, field: str, *, nullable: bool = False) -> dict | None:
    if value is None and nullable:
        return None
    if not isinstance(value, dict):
        raise BadRequest(f"{field} must be an object")
    return value


def only(body: dict, allowed: set[str] | frozenset[str]) -> None:
    """Refuse fields the endpoint does not know (the vendor's additionalProperties: false)."""
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise BadRequest(f"Unknown field: {unknown[0]}")

"""Parsing what the API sends into the cache's models: the one path every record takes
(sync pages, on-demand fetches, webhooks, imports, the sandbox's seeding)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ValidationError

from srm_tui.domain import models as m
from srm_tui.storage import records


def is_tombstone(item: Any) -> bool:
    """The enumeration's mark of a removed record: ``{"id": …, "deleted": true}``."""
    return isinstance(item, dict) and item.get("deleted") is True and len(item) <= 3


def validate(entity: str, items: Iterable[Any]) -> tuple[list[m.ApiModel], list[tuple[str | None, str, Any]]]:
    """Split raw API items into valid models and (key, reason, payload) rejects.

    A record listed twice (a page that repeats an id) is kept once, as its last copy; a
    value the API sent as a string where a number or flag belongs (money as "9.99") is kept
    in its type, and a number that is not finite is refused.
    """
    model, key_field = m.ENTITIES[entity]
    good: dict[Any, m.ApiModel] = {}
    bad: list[tuple[str | None, str, Any]] = []
    for item in items:
        if is_tombstone(item):
            continue
        try:
            if not isinstance(item, dict):
                raise TypeError(f"expected an object, got {type(item).__name__}")
            record = model.from_api(item)
            record._source = _canonical(record, item)
        except (ValidationError, TypeError, ValueError, RecursionError) as exc:
            bad.append((records.record_key(entity, item), _reason(exc), item))
            continue
        key = getattr(record, key_field)
        good.pop(key, None)  # the last copy wins, in its own place
        good[key] = record
    return list(good.values()), bad


def _canonical(model: BaseModel, source: Any) -> Any:
    """``source`` with each value the model read from another JSON type written back in the
    model's type (the cache keeps the API's documented shape); extra fields stay as sent."""
    if not isinstance(source, dict):
        return source
    out = dict(source)
    for name, info in type(model).model_fields.items():
        key = info.alias or name
        if key in source:
            out[key] = _canonical_value(getattr(model, name), source[key], key)
    return out


def _canonical_value(value: Any, raw: Any, key: str) -> Any:
    if isinstance(value, BaseModel):
        return _canonical(value, raw)
    if isinstance(value, list) and isinstance(raw, list) and len(value) == len(raw):
        return [_canonical_value(v, r, key) for v, r in zip(value, raw)]
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{key}: not a finite number ({raw!r})")
    if isinstance(value, (bool, int, float)) and (
            isinstance(raw, str) or (isinstance(raw, float) and not isinstance(value, float))):
        return value
    return raw


def _reason(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = []
        for err in exc.errors()[:5]:
            loc = ".".join(str(p) for p in err["loc"]) or "(record)"
            parts.append(f"{loc}: {err['msg']}")
        return "; ".join(parts)
    return str(exc)

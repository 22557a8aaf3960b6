"""Parsing what the API sends into the cache's models: the one path every record takes
(sync pages, on-demand fetches, webhooks, imports, the sandbox's seeding)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationError

from srm_tui.domain import models as m
from srm_tui.domain.offers import API_TYPES as _TYPE_OF_LETTER  # an id letter -> 3.1 type
from srm_tui.storage import records


def is_tombstone(item: Any) -> bool:
    """The enumeration's mark of a removed record: ``{"id": …, "deleted": true}``."""
    return isinstance(item, dict) and item.get("deleted") is True and len(item) <= 3


# Entities whose records belong to one customer: MediaStore's per-customer answers
# (GET /customers/{id}/subscriptions, .../transactions, ...) leave the customer out of the
# record because it is in the URL.
CUSTOMER_OWNED = (
    "subscriptions",
    "passes",
    "transactions",
    "payment_details",
    "emails",
    "notes",
    "history",
)
# MediaStore and entitlement words for a subscription's status -> Core 3.1's.
_SUBSCRIPTION_STATUS = {"cancelled": "stopped", "expired": "terminated"}


def validate(
    entity: str,
    items: Iterable[Any],
    customer_id: int | str | None = None,
    *,
    generated: bool = False,
) -> tuple[list[m.ApiModel], list[tuple[str | None, str, Any]]]:
    """Split raw API items into valid models and (key, reason, payload) rejects.

    Every shape the vendor publishes is accepted: Core 3.1 resources, MediaStore answers
    (ids as strings, the legacy transaction vocabulary, per-customer items without their
    customer: pass the customer id of the URL as ``customer_id``), webhook payloads (ISO or
    unix dates) and legacy offers; each is first written in srm's shape (``normalise``),
    unknown fields kept. A record listed twice (a page that repeats an id) is kept once, as
    its last copy; a value the API sent as a string where a number or flag belongs (money as
    "9.99") is kept in its type, and a number that is not finite is refused. The payload of a
    reject is the item as it came.

    ``generated`` is only for records srm's own generator made (the sandbox's seeding): their
    values are already in the types the models read, so the canonical copy, which would give
    back the same record, is skipped (a fifth of building a seeded row). Vendor data never
    takes this way.
    """
    model, key_field = m.ENTITIES[entity]
    good: dict[Any, m.ApiModel] = {}
    bad: list[tuple[str | None, str, Any]] = []
    for item in items:
        if is_tombstone(item):
            continue
        shaped = item
        try:
            if not isinstance(item, dict):
                raise TypeError(f"expected an object, got {type(item).__name__}")
            shaped = normalise(entity, item, customer_id)
            record = model.from_api(shaped)
            if not generated:
                record._source = _canonical(record, shaped)
        except (ValidationError, TypeError, ValueError, RecursionError) as exc:
            bad.append(
                (
                    records.record_key(entity, shaped if isinstance(shaped, dict) else item),
                    _reason(exc),
                    item,
                )
            )
            continue
        key = getattr(record, key_field)
        good.pop(key, None)  # the last copy wins, in its own place
        good[key] = record
    return list(good.values()), bad


def normalise(
    entity: str, item: dict[str, Any], customer_id: int | str | None = None
) -> dict[str, Any]:
    """``item`` in srm's shape of ``entity`` (a new dict; the item is not changed).

    Only names srm reads are added, from the vendor's other names for them, and only when
    the record lacks them; every field of the item stays as sent.
    """
    out = dict(item)
    if (
        entity in CUSTOMER_OWNED
        and out.get("customerId") in (None, "")
        and customer_id not in (None, "")
    ):
        out["customerId"] = customer_id
    shaper = _SHAPERS.get(entity)
    return shaper(out) if shaper else out


def record_key(entity: str, item: Any, customer_id: int | str | None = None) -> str | None:
    """The cache key (as text) ``validate`` gives a raw item, whatever vocabulary it came in
    (a legacy offer's key is its offer id, not its numeric ``id``); None when it has none."""
    if not isinstance(item, dict):
        return None
    return records.record_key(entity, normalise(entity, item, customer_id))


def _fill(out: dict[str, Any], key: str, *sources: str) -> None:
    """Set ``out[key]`` from the first of ``sources`` that holds a value, if key has none."""
    if out.get(key) is not None:
        return
    for source in sources:
        if out.get(source) not in (None, ""):
            out[key] = out[source]
            return


def _subscription(out: dict[str, Any]) -> dict[str, Any]:
    _fill(out, "subscriptionId", "id")  # the deprecated 3.1 names
    _fill(out, "customerId", "userId")
    _fill(out, "dateTo", "expiresAt", "expirationDate")  # MediaStore items, webhooks
    _fill(out, "dateFrom", "startedAt")
    status = out.get("status")
    if isinstance(status, str) and status in _SUBSCRIPTION_STATUS:
        out["status"] = _SUBSCRIPTION_STATUS[status]
    elif status is None and out.get("active") is True:
        out["status"] = "active"
    return out


def _pass(out: dict[str, Any]) -> dict[str, Any]:
    _fill(out, "expiresAt", "expirationDate")  # pass webhooks
    if out.get("status") is None and out.get("active") is True:
        out["status"] = "active"
    return out


def _transaction(out: dict[str, Any]) -> dict[str, Any]:
    # MediaStore's list and the transactionCreated webhook use the legacy report names.
    _fill(out, "amount", "transactionPriceInclTax", "totalAmount")
    _fill(out, "currency", "transactionCurrency")
    if isinstance(out.get("transactionExternalData"), str):
        _fill(out, "externalPaymentId", "transactionExternalData")
    if isinstance(out.get("externalData"), str):
        _fill(out, "externalPaymentId", "externalData")
    if out.get("status") is None:
        # Those lists hold completed payments only and carry no status.
        out["status"] = "captured"
    return out


def _offer(out: dict[str, Any]) -> dict[str, Any]:
    if "title" in out and isinstance(out.get("id"), str):
        # The JSON-RPC offer: a per-country id, the price as a bare number, no type.
        long_id = out["id"]
        if "_" in long_id:
            out["id"] = m.short_offer_id(long_id)
            out.setdefault("longId", long_id)
        if out.get("type") is None and long_id[:1] in _TYPE_OF_LETTER:
            out["type"] = _TYPE_OF_LETTER[long_id[:1]]
        if isinstance(out.get("price"), (int, float, str)) and not isinstance(out["price"], bool):
            out["price"] = {"amount": out["price"], "currency": out.get("currency")}
        return out
    if "title" in out or not isinstance(out.get("offerId"), str):
        return out
    # The legacy offer (MediaStore GET /offers/{id}, JSON-RPC): a per-country offer under
    # offer* names; its numeric "id" is not the offer's id, so it moves to "legacyId".
    long_id = out["offerId"]
    if "id" in out:
        out["legacyId"] = out.pop("id")
    out["id"] = m.short_offer_id(long_id)
    out.setdefault("longId", long_id)
    _fill(out, "title", "offerTitle")
    _fill(out, "description", "offerDescription")
    _fill(out, "type", "offerType")
    if out.get("type") is None and long_id[:1] in _TYPE_OF_LETTER:
        out["type"] = _TYPE_OF_LETTER[long_id[:1]]
    if out.get("price") is None and out.get("offerPrice") is not None:
        out["price"] = {"amount": out["offerPrice"], "currency": out.get("offerCurrency")}
    return out


_SHAPERS = {
    "subscriptions": _subscription,
    "passes": _pass,
    "transactions": _transaction,
    "offers": _offer,
}


def transaction_from_webhook(
    data: dict[str, Any], received_at: int | None = None
) -> dict[str, Any]:
    """A ``transactionCreated`` webhook's ``data`` as a transaction record in srm's shape,
    ready for ``validate("transactions", [...])``.

    Tolerant: only ``transactionId`` and ``customerId`` are needed (numbers or strings);
    ``transactionDate`` may be unix seconds or ISO 8601; the amount is
    ``transactionPriceInclTax`` (absent: unknown, never the offer's list price), the currency
    ``transactionCurrency``, the external payment id ``externalData``; status is "captured"
    (the topic fires for payments made). Every field of ``data`` is kept. The vendor's short
    payload has no date: with ``received_at`` (the delivery's receipt time) it becomes the
    transactionDate, marked ``"_srm": {"dateFromReceipt": true}`` (derived, not the
    vendor's); the assumed status is marked ``statusAssumed`` (an export may correct both,
    see ``srm_tui.imports.merge``). Raises ValueError naming the missing id when there is no transaction or
    customer id.
    """
    if not isinstance(data, dict):
        raise ValueError("transactionCreated data: expected an object")  # noqa: TRY004  (one error type for callers)
    for key in ("transactionId", "customerId"):
        if data.get(key) in (None, ""):
            raise ValueError(f"transactionCreated data: {key} is missing")
    assumed = data.get("status") in (None, "")
    out = normalise("transactions", data)
    out.pop("_srm", None)  # srm's own marks are never the sender's to set
    if assumed:  # "captured" is srm's reading of the topic, not the vendor's word
        out["_srm"] = {"statusAssumed": True}
    if out.get("transactionDate") is not None:
        out["transactionDate"] = m.parse_instant(out["transactionDate"])
    elif received_at is not None:
        out["transactionDate"] = int(received_at)
        out["_srm"] = {**out.get("_srm", {}), "dateFromReceipt": True}
    return out


def _canonical(model: BaseModel, source: Any) -> Any:
    """``source`` with each value the model read from another JSON type written back in the
    model's type (the cache keeps the API's documented shape); extra fields stay as sent."""
    if not isinstance(source, dict):
        return source
    out = dict(source)
    for name, key in _field_keys(type(model)):
        if key in source:
            out[key] = _canonical_value(getattr(model, name), source[key], key)
    return out


@cache
def _field_keys(model: type[BaseModel]) -> tuple[tuple[str, str], ...]:
    """A model's fields as (attribute, the API's key) pairs, read once per model class."""
    return tuple((name, info.alias or name) for name, info in model.model_fields.items())


def _canonical_value(value: Any, raw: Any, key: str) -> Any:
    # Most values are text or absent: none of the cases below can apply to them (a fifth of
    # a sync page's validation went to testing each of them).
    if value is None or type(value) is str:
        return raw
    if isinstance(value, BaseModel):
        return _canonical(value, raw)
    if isinstance(value, list) and isinstance(raw, list) and len(value) == len(raw):
        return [_canonical_value(v, r, key) for v, r in zip(value, raw)]
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{key}: not a finite number ({raw!r})")
    if isinstance(value, (bool, int, float)) and (
        isinstance(raw, str) or (isinstance(raw, float) and not isinstance(value, float))
    ):
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

"""Pydantic models of the vendor's records, in the API's own shape.

Each model accepts the API's field names, keeps unknown extra fields (the vendor adds fields
without notice) and dumps back to the same shape with ``to_api()``. Values are validated
strictly enough that malformed data is caught at the edge and quarantined, while the
vendor's documented quirks (customer dates as strings, ids as strings from MediaStore) pass.

Over 400 lines: one model per record shape the vendor documents, sharing the lenient field
types and the extra-field handling; split, each would import the shared validators.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
)

from srm_tui.domain.ids import OFFER_ID, TRANSACTION_ID  # noqa: E402  (re-exported)
from srm_tui.domain.time import DAY_FORMAT, parse_formatted, vendor_seconds

CUSTOMER_DATE_FORMAT = "%Y-%m-%d %H:%M:%S"


class ApiModel(BaseModel):
    """Base for API records: unknown fields kept, API names in and out."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=False)
    # The payload exactly as the API sent it, when the model was read from one.
    _source: dict[str, Any] | None = PrivateAttr(default=None)

    @classmethod
    def from_api(cls, payload: dict[str, Any]):
        """Validate an API payload, remembering it as sent (kept whole in the cache)."""
        model = cls.model_validate(payload)
        model._source = payload
        return model

    def to_api(self) -> dict[str, Any]:
        """The record in the API's shape, extra fields included."""
        if self._source is not None:
            return self._source
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


def parse_customer_date(value: str | int | None) -> int | None:
    """The vendor's customer dates ("2021-04-28 13:03:26", UTC) as unix seconds."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError("a date, not a boolean")
    if isinstance(value, int):
        return value
    return int(parse_formatted(value, CUSTOMER_DATE_FORMAT).timestamp())


def parse_instant(value: Any) -> Any:
    """A vendor date as unix seconds: an integer, digits in a string (webhooks send ids and
    dates either way) or ISO 8601 (``2019-11-07T19:55:41Z``, ``…+02:00``; no zone = UTC).
    Anything else is returned as is for the model to refuse."""
    if isinstance(value, str):
        try:
            return vendor_seconds(value)
        except ValueError:
            return value
    return value


# A unix-seconds date as the vendor sends it in any of its forms (see parse_instant).
Instant = Annotated[int, BeforeValidator(parse_instant)]

# The vendor's words for a billing period in its legacy answers (MediaStore transactions say
# "monthly", JSON-RPC offers "3months", reports "annual") -> the API's words.
PERIOD_WORDS = {
    "day": "day",
    "daily": "day",
    "days": "day",
    "1day": "day",
    "week": "week",
    "weekly": "week",
    "weeks": "week",
    "1week": "week",
    "month": "month",
    "monthly": "month",
    "months": "month",
    "1month": "month",
    "3months": "3months",
    "3-months": "3months",
    "3 months": "3months",
    "quarter": "3months",
    "quarterly": "3months",
    "6months": "6months",
    "6-months": "6months",
    "6 months": "6months",
    "semiannual": "6months",
    "semi-annual": "6months",
    "half-year": "6months",
    "year": "year",
    "yearly": "year",
    "annual": "year",
    "annually": "year",
    "years": "year",
    "12months": "year",
    "12-months": "year",
    "1year": "year",
    "season": "season",
    "seasonal": "season",
}


def period_word(value: Any) -> Any:
    """A billing period in the API's words ("month", "3months", ...) from any of the
    vendor's spellings; unknown words are returned as is (the model then refuses them)."""
    if isinstance(value, str):
        return PERIOD_WORDS.get(value.strip().lower(), value)
    return value


# billingCycle {periodUnit, amount} of a 3.1 offer -> the API's period word.
_CYCLES = {
    ("day", 1): "day",
    ("week", 1): "week",
    ("month", 1): "month",
    ("month", 3): "3months",
    ("month", 6): "6months",
    ("month", 12): "year",
    ("year", 1): "year",
    ("season", 1): "season",
    ("week", 52): "year",
}


def billing_period(offer: dict[str, Any]) -> str | None:
    """An offer's billing period in the API's words: its 3.1 ``billingCycle``, else the
    legacy ``period``; None when neither names a period srm knows (passes, rentals)."""
    cycle = offer.get("billingCycle")
    if isinstance(cycle, dict):
        unit = cycle.get("periodUnit")
        amount = cycle.get("amount") or 1
        if isinstance(unit, str) and isinstance(amount, int) and not isinstance(amount, bool):
            if unit == "season":
                return "season"
            return _CYCLES.get((unit, amount))
    word = period_word(offer.get("period"))
    return word if word in PERIOD_WORDS.values() else None


def short_offer_id(offer_id: str | None) -> str | None:
    """The main offer's id of a per-country offer id (``S123456789_PL`` -> ``S123456789``)."""
    if not offer_id:
        return offer_id
    return offer_id.split("_", 1)[0]


def format_customer_date(ts: int | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).strftime(CUSTOMER_DATE_FORMAT)


class Capture(ApiModel):
    """Capture answers: the only place the vendor keeps address, birth date and company."""

    address: str | None = None
    city: str | None = None
    state: str | None = None
    postCode: str | None = None
    birthDate: str | None = None
    companyName: str | None = None

    @field_validator("birthDate")
    @classmethod
    def _birth_date(cls, v: str | None) -> str | None:
        if v:
            parse_formatted(v, DAY_FORMAT)
        return v


class Customer(ApiModel):
    id: int = Field(ge=1)
    email: str | None = None
    firstName: str | None = None
    lastName: str | None = None
    country: str | None = None
    currency: str | None = None
    locale: str | None = None
    regDate: str | None = None
    lastLoginDate: str | None = None
    lastUserIp: str | None = None
    externalId: str | None = None
    externalData: dict[str, Any] | None = None
    capture: Capture | None = None

    @field_validator("regDate", "lastLoginDate")
    @classmethod
    def _dates(cls, v: str | None) -> str | None:
        parse_customer_date(v)
        return v

    @field_validator("country")
    @classmethod
    def _country(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[A-Z]{2}", v):
            raise ValueError("country must be an ISO 3166 alpha-2 code")
        return v

    @field_validator("currency")
    @classmethod
    def _currency(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[A-Z]{3}", v):
            raise ValueError("currency must be an ISO 4217 code")
        return v

    @property
    def registered_at(self) -> int | None:
        return parse_customer_date(self.regDate)

    @property
    def last_login_at(self) -> int | None:
        return parse_customer_date(self.lastLoginDate)


class RenewalCycle(ApiModel):
    completed: int = 0
    unit: str | None = None
    amount: int | None = None


SubscriptionStatus = Literal["active", "stopped", "terminated", "paused"]
Period = Literal["day", "week", "month", "3months", "6months", "year", "season"]


class Subscription(ApiModel):
    """A subscription: Core 3.1's ``SubscriptionResource`` (no ``createdAt``, no ``period``),
    a MediaStore per-customer item, or the sandbox's record that has both."""

    subscriptionId: int = Field(ge=1)
    customerId: int = Field(ge=1)
    offerId: str
    status: SubscriptionStatus
    dateFrom: Instant | None = None
    dateTo: Instant | None = None
    inTrial: bool = False
    createdAt: Instant | None = None
    period: Annotated[Period | None, BeforeValidator(period_word)] = None
    nextPaymentPrice: float | None = None
    nextPaymentCurrency: str | None = None
    paymentGateway: str | None = None
    paymentMethod: str | None = None
    couponCode: str | None = None
    renewalCycle: RenewalCycle | None = None
    externalProperties: dict[str, Any] | None = None

    @property
    def started_at(self) -> int | None:
        """CONTRACT section 5: ``createdAt`` when present, else ``dateFrom``."""
        return self.createdAt if self.createdAt is not None else self.dateFrom


class Pass(ApiModel):
    """A pass: Core 3.1's ``PassResource`` (no ``createdAt``) or the sandbox's record."""

    passId: int = Field(ge=1)
    customerId: int = Field(ge=1)
    offerId: str
    status: Literal["active", "stopped", "terminated"]
    createdAt: Instant | None = None
    expiresAt: Instant | None = None

    @property
    def offer_type(self) -> str:
        return self.offerId[:1]


class Transaction(ApiModel):
    """A transaction in srm's shape (the sandbox's, which the parse path also makes from
    MediaStore's legacy vocabulary and from ``transactionCreated`` webhooks). Only the ids
    are certain in every source: a webhook may carry no date, amount or currency."""

    transactionId: str
    customerId: int = Field(ge=1)
    transactionDate: Instant | None = None
    offerId: str | None = None
    subscriptionId: int | None = None
    passId: int | None = None
    amount: float | None = None
    currency: str | None = None
    status: Literal["captured", "rejected", "refunded"] = "captured"
    paymentGateway: str | None = None
    paymentMethod: str | None = None
    externalPaymentId: str | None = None
    rejectedReason: str | None = None
    refundedAmount: float | None = 0

    @field_validator("transactionId")
    @classmethod
    def _tid(cls, v: str) -> str:
        if not TRANSACTION_ID.match(v):
            raise ValueError("transactionId must be T followed by 9 digits")
        return v


class PaymentDetails(ApiModel):
    id: int = Field(ge=1)
    customerId: int = Field(ge=1)
    paymentGateway: str
    paymentMethod: str | None = None
    active: bool = True
    bound: bool = False
    subscriptionIds: list[int] = Field(default_factory=list)
    paymentMethodSpecificParams: dict[str, Any] | None = None


class Email(ApiModel):
    id: int = Field(ge=1)
    customerId: int = Field(ge=1)
    type: str
    subject: str | None = None
    to: str | None = None
    status: Literal["sent", "generated"]
    createdAt: int
    transactionId: str | None = None
    body: str | None = None


class NoteRevision(ApiModel):
    text: str
    editedAt: int
    editor: str | None = None


class Note(ApiModel):
    id: int = Field(ge=1)
    customerId: int = Field(ge=1)
    author: str
    text: str
    createdAt: int
    updatedAt: int | None = None
    deletedAt: int | None = None
    revisions: list[NoteRevision] = Field(default_factory=list)


class Change(ApiModel):
    field: str
    # "from" is a Python keyword: keep the API name through the alias.
    from_: Any = Field(default=None, alias="from")
    to: Any = None


class HistoryEntry(ApiModel):
    id: int = Field(ge=1)
    customerId: int = Field(ge=1)
    date: int
    editor: str | None = None
    changes: list[Change] = Field(default_factory=list)


class Price(ApiModel):
    amount: float
    currency: str | None = None
    taxIncluded: bool | None = None
    rules: list[dict[str, Any]] | None = None


class Localization(ApiModel):
    id: str | None = None
    countryCode: str
    title: str | None = None
    description: str | None = None
    active: bool = True
    price: Price | None = None


OfferType = Literal["subscription", "pass", "live", "vod", "rental", "single"]


class Offer(ApiModel):
    id: str
    type: str
    active: bool = True
    title: str
    description: str | None = None
    tags: list[str] | None = None
    price: Price | None = None
    version: int | None = None
    seasonGroupId: str | None = None
    localizations: list[Localization] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not OFFER_ID.match(v):
            raise ValueError("offer id must look like S123456789")
        return v

    @property
    def billing_period(self) -> str | None:
        """The period its subscriptions bill by, in the API's words (None: not recurring
        or not said)."""
        return billing_period(self.to_api())


class Season(ApiModel):
    id: int
    startDate: int
    endDate: int


class SeasonGroup(ApiModel):
    id: str
    name: str
    seasons: list[Season] = Field(default_factory=list)


class Campaign(ApiModel):
    id: int
    name: str
    status: str | None = None
    couponCodes: list[str] = Field(default_factory=list)


# Entity name (as the sync and export call it) -> model and primary-key field.
ENTITIES: dict[str, tuple[type[ApiModel], str]] = {
    "customers": (Customer, "id"),
    "subscriptions": (Subscription, "subscriptionId"),
    "passes": (Pass, "passId"),
    "transactions": (Transaction, "transactionId"),
    "payment_details": (PaymentDetails, "id"),
    "emails": (Email, "id"),
    "notes": (Note, "id"),
    "history": (HistoryEntry, "id"),
    "offers": (Offer, "id"),
    "season_groups": (SeasonGroup, "id"),
    "campaigns": (Campaign, "id"),
}

"""What a record looks like on the vendor's paths, per profile.

The vendor's OpenAPI file forbids extra properties on `PassResource` and `Offer`, and types
some offer fields as non-nullable objects or strings: on the vendor's paths those records are
projected onto the published keys in both profiles (the sandbox's additions stay in
`/sandbox/export` and `/x-srm/`). In the vendor profile every resource is projected onto the
keys the vendor publishes: it adds nothing anywhere.
"""

from __future__ import annotations

VENDOR = "vendor"
SANDBOX = "sandbox"
PROFILES = (SANDBOX, VENDOR)

# The properties of the OpenAPI resources (reference/cleeng-core-3.1.openapi.yml).
CUSTOMER_KEYS = (
    "id",
    "email",
    "country",
    "regDate",
    "lastLoginDate",
    "lastUserIp",
    "currency",
    "locale",
    "firstName",
    "lastName",
    "externalId",
    "externalData",
)
SUBSCRIPTION_KEYS = (
    "subscriptionId",
    "paymentDetailsId",
    "publisherId",
    "customerId",
    "status",
    "dateFrom",
    "dateTo",
    "nextPaymentAction",
    "nextPaymentActionDate",
    "subscriptionExternalId",
    "offerId",
    "paymentCountry",
    "ipAddress",
    "inTrial",
    "couponCode",
    "coupon",
    "pendingSwitchId",
    "externalProperties",
    "paymentMethodId",
    "isExternallyManaged",
    "id",
    "userId",
    "latestPaymentExternalId",
    "paymentGateway",
    "replacedBy",
    "originatedFrom",
    "renewalCycle",
    "source",
    "pause",
)
PASS_KEYS = (
    "passId",
    "customerId",
    "status",
    "expiresAt",
    "offerId",
    "externalId",
    "externalProperties",
    "paymentMethodId",
    "isExternallyManaged",
    "replacedBy",
    "originatedFrom",
    "source",
)
PAYMENT_KEYS = (
    "id",
    "orderId",
    "status",
    "totalAmount",
    "currency",
    "customerId",
    "paymentGateway",
    "paymentMethod",
    "externalPaymentId",
    "couponCodeId",
    "amount",
    "country",
    "offerType",
    "offerId",
    "taxValue",
    "paymentMethodFee",
    "customerServiceFee",
    "rejectedReason",
    "refundedReason",
    "paymentDetailsId",
    "paymentOperation",
    "gatewaySpecificParams",
)
# Offer fields the schema allows to be null; any other null field is left out.
OFFER_NULLABLE = frozenset({"sessionsLimit", "pause", "geoRestriction"})


def _project(record: dict, keys: tuple[str, ...]) -> dict:
    return {k: record[k] for k in keys if k in record}


def customer(record: dict, profile: str) -> dict:
    """A customer on `GET/PATCH /customers...` (vendor: no capture answers)."""
    return _project(record, CUSTOMER_KEYS) if profile == VENDOR else record


def subscription(record: dict, profile: str) -> dict:
    """A SubscriptionResource (the schema allows extras; the vendor profile adds none)."""
    return _project(record, SUBSCRIPTION_KEYS) if profile == VENDOR else record


def pass_(record: dict, profile: str) -> dict:
    """A PassResource: no additional properties, in either profile."""
    return _project(record, PASS_KEYS)


def _drop_nulls(value: dict) -> dict:
    out = {}
    for key, item in value.items():
        if item is None and key not in OFFER_NULLABLE:
            continue
        out[key] = (
            _drop_nulls(item) if isinstance(item, dict) and key != "externalProperties" else item
        )
    return out


def offer(record: dict, profile: str = SANDBOX) -> dict:
    """An Offer: non-nullable fields that are unset are left out (both profiles)."""
    out = _drop_nulls(record)
    out["localizations"] = [_drop_nulls(loc) for loc in record.get("localizations", [])]
    return out


def payment(record: dict, profile: str) -> dict:
    """A PaymentResource (the sandbox profile adds the transaction's id)."""
    return _project(record, PAYMENT_KEYS) if profile == VENDOR else record


DETAILS_KEYS = (
    "id",
    "customerId",
    "token",
    "paymentGateway",
    "paymentMethod",
    "paymentMethodSpecificParams",
    "paymentMethodId",
    "active",
    "bound",
    "subscriptionIds",
    "attemptRestrictions",
)


def payment_details(record: dict) -> dict:
    """Payment details in the PaymentDetailResponse's closed shape (`token` is never kept)."""
    out = _project(dict(record, token=None), DETAILS_KEYS)
    out.setdefault("attemptRestrictions", {"attemptRestrictedTo": None, "attemptRejections": {}})
    return out

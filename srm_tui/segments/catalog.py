"""Every attribute a segment can test (CONTRACT section 5), with its type and operators.

The catalog is data only: the builder screen lists it, the validator checks files against it
and the compiler maps each name to SQL. ``customer.custom.KEY`` and
``subscription.custom.KEY`` are open families: any KEY names an ``externalData`` /
``externalProperties`` entry.
"""

from __future__ import annotations

from dataclasses import dataclass

from srm_tui.domain.lifecycle import CHANNELS, CUSTOMER_STATUSES, SUBSCRIPTION_STATES

TYPES = ("text", "number", "bool", "enum", "date")
GROUPS = ("Customer", "Subscription", "Pass", "Custom")

OPERATORS: dict[str, tuple[str, ...]] = {
    "text": (
        "eq",
        "ne",
        "contains",
        "not_contains",
        "starts_with",
        "ends_with",
        "in",
        "not_in",
        "is_set",
        "is_not_set",
    ),
    "number": (
        "eq",
        "ne",
        "gt",
        "gte",
        "lt",
        "lte",
        "between",
        "in",
        "not_in",
        "is_set",
        "is_not_set",
    ),
    "bool": ("eq", "is_set", "is_not_set"),
    "enum": ("eq", "ne", "in", "not_in", "is_set", "is_not_set"),
    "date": (
        "before",
        "after",
        "between",
        "on",
        "within_last",
        "more_than_days_ago",
        "within_next",
        "is_set",
        "is_not_set",
    ),
}

# Operators that hold on a null value (CONTRACT section 4); every other one fails on null.
TRUE_ON_NULL = frozenset({"ne", "not_in", "not_contains", "is_not_set"})
NO_VALUE = frozenset({"is_set", "is_not_set"})
LIST_VALUE = frozenset({"in", "not_in"})
DAYS_VALUE = frozenset({"within_last", "more_than_days_ago", "within_next"})

SELECTORS = ("latest", "longest", "highest_revenue", "any")
DEFAULT_SELECTOR = "latest"

SUBSCRIPTION_STATUSES = ("active", "stopped", "terminated", "paused")
PERIODS = ("day", "week", "month", "3months", "6months", "year", "season")

CUSTOM_PREFIXES = ("customer.custom.", "subscription.custom.")


@dataclass(frozen=True)
class Attribute:
    name: str
    type: str
    group: str
    label: str
    description: str
    values: tuple[str, ...] | None = None  # the fixed values of an enum, when they are fixed
    money: bool = False  # major units of its own currency, compared to 1e-6
    pattern: str | None = None  # the form an open enum's values take (ISO codes)

    @property
    def operators(self) -> tuple[str, ...]:
        return OPERATORS[self.type]

    @property
    def subscription(self) -> bool:
        """Describes the subscription the selector picks (null when there is none)."""
        return self.name.startswith("subscription.")

    @property
    def custom_key(self) -> str | None:
        for prefix in CUSTOM_PREFIXES:
            if self.name.startswith(prefix):
                return self.name[len(prefix) :]
        return None


def _a(name: str, type_: str, group: str, label: str, description: str, **kw) -> Attribute:
    return Attribute(name, type_, group, label, description, **kw)


_COUNTRY = r"^[A-Z]{2}$"
_CURRENCY = r"^[A-Z]{3}$"

ATTRIBUTES: tuple[Attribute, ...] = (
    _a("customer.id", "number", "Customer", "Customer id", "The customer's id"),
    _a("customer.email", "text", "Customer", "Email", "The customer's email address"),
    _a("customer.first_name", "text", "Customer", "First name", "firstName"),
    _a("customer.last_name", "text", "Customer", "Last name", "lastName"),
    _a("customer.locale", "text", "Customer", "Locale", "locale, e.g. pl_PL"),
    _a("customer.external_id", "text", "Customer", "External id", "externalId"),
    _a(
        "customer.country",
        "enum",
        "Customer",
        "Country",
        "ISO 3166 alpha-2 code, e.g. PL",
        pattern=_COUNTRY,
    ),
    _a(
        "customer.currency",
        "enum",
        "Customer",
        "Currency",
        "ISO 4217 code, e.g. EUR",
        pattern=_CURRENCY,
    ),
    _a("customer.registered_at", "date", "Customer", "Registered", "regDate"),
    _a("customer.last_login_at", "date", "Customer", "Last login", "lastLoginDate"),
    _a(
        "customer.status",
        "enum",
        "Customer",
        "Status",
        "active (a subscription in trial, active, grace or cancelled, or an active pass), "
        "else paused (a paused subscription), else churned (any subscription or pass), "
        "else prospect",
        values=CUSTOMER_STATUSES,
    ),
    _a(
        "customer.mrr",
        "number",
        "Customer",
        "MRR",
        "Sum of subscription MRR over subscriptions in state active or grace",
        money=True,
    ),
    _a(
        "customer.lifetime_revenue",
        "number",
        "Customer",
        "Lifetime revenue",
        "Captured amounts plus what is left of refunded ones, over all transactions",
        money=True,
    ),
    _a(
        "customer.lifetime_transactions",
        "number",
        "Customer",
        "Lifetime transactions",
        "Transactions with status captured or refunded",
    ),
    _a(
        "customer.active_subscriptions",
        "number",
        "Customer",
        "Active subscriptions",
        "Subscriptions in trial, active, grace or cancelled",
    ),
    _a(
        "customer.paid_active_subscriptions",
        "number",
        "Customer",
        "Paid active subscriptions",
        "Subscriptions in active, grace or cancelled",
    ),
    _a(
        "customer.churned_subscriptions",
        "number",
        "Customer",
        "Churned subscriptions",
        "Subscriptions in churned",
    ),
    _a(
        "customer.is_hybrid",
        "bool",
        "Customer",
        "Hybrid",
        "At least one subscription and at least one pass of any type",
    ),
    _a(
        "customer.latest_payment_rejection_reason",
        "text",
        "Customer",
        "Latest rejection reason",
        "rejectedReason of the latest rejected transaction (greatest date, ties greatest id)",
    ),
    _a(
        "customer.last_payment_method",
        "text",
        "Customer",
        "Last payment method",
        "paymentMethod of the latest transaction of any status",
    ),
    _a(
        "customer.has_active_pass",
        "bool",
        "Pass",
        "Has an active pass",
        "An active pass (status active, no end or ending now or later) of offer type P",
    ),
    _a(
        "customer.latest_pass_title",
        "text",
        "Pass",
        "Latest pass title",
        "Title of the main offer of the type-P pass with the greatest createdAt "
        "(ties: greatest passId)",
    ),
    _a("customer.latest_pass_id", "text", "Pass", "Latest pass id", "passId of that pass, as text"),
    _a(
        "customer.latest_pass_end_date", "date", "Pass", "Latest pass end", "expiresAt of that pass"
    ),
    _a("subscription.id", "number", "Subscription", "Subscription id", "subscriptionId"),
    _a("subscription.renewals", "number", "Subscription", "Renewals", "renewalCycle.completed"),
    _a("subscription.offer_id", "text", "Subscription", "Offer id", "offerId"),
    _a(
        "subscription.offer_title",
        "text",
        "Subscription",
        "Offer title",
        "Title of its main offer (not a localization)",
    ),
    _a("subscription.coupon_code", "text", "Subscription", "Coupon code", "couponCode"),
    _a("subscription.payment_method", "text", "Subscription", "Payment method", "paymentMethod"),
    _a(
        "subscription.state",
        "enum",
        "Subscription",
        "State",
        "Lifecycle state from status, inTrial, dateTo and now",
        values=SUBSCRIPTION_STATES,
    ),
    _a(
        "subscription.status",
        "enum",
        "Subscription",
        "Status",
        "The raw status",
        values=SUBSCRIPTION_STATUSES,
    ),
    _a("subscription.period", "enum", "Subscription", "Period", "Billing period", values=PERIODS),
    _a(
        "subscription.currency",
        "enum",
        "Subscription",
        "Currency",
        "nextPaymentCurrency, ISO 4217",
        pattern=_CURRENCY,
    ),
    _a(
        "subscription.channel",
        "enum",
        "Subscription",
        "Channel",
        "web (adyen, paypal, free-offer), apple, android, roku or amazon",
        values=CHANNELS,
    ),
    _a("subscription.in_trial", "bool", "Subscription", "In trial", "inTrial"),
    _a("subscription.in_grace", "bool", "Subscription", "In grace", "State grace"),
    _a("subscription.is_paused", "bool", "Subscription", "Paused", "State paused"),
    _a(
        "subscription.will_renew",
        "bool",
        "Subscription",
        "Will renew",
        "State trial, active or grace",
    ),
    _a("subscription.started_at", "date", "Subscription", "Started", "createdAt"),
    _a("subscription.expires_at", "date", "Subscription", "Expires", "dateTo"),
    _a(
        "subscription.next_payment_at",
        "date",
        "Subscription",
        "Next payment",
        "dateTo when it will renew, else not set",
    ),
    _a("subscription.price", "number", "Subscription", "Price", "nextPaymentPrice", money=True),
    _a(
        "subscription.mrr",
        "number",
        "Subscription",
        "MRR",
        "Price per month: nextPaymentPrice times its period's monthly factor",
        money=True,
    ),
    _a(
        "subscription.lifetime_revenue",
        "number",
        "Subscription",
        "Lifetime revenue",
        "Revenue of its transactions",
        money=True,
    ),
    _a(
        "subscription.duration_days",
        "number",
        "Subscription",
        "Duration (days)",
        "Whole days from started_at to now",
    ),
)

BY_NAME: dict[str, Attribute] = {a.name: a for a in ATTRIBUTES}


def lookup(name: str) -> Attribute | None:
    """The attribute of a name, including the custom families; None when unknown."""
    found = BY_NAME.get(name)
    if found is not None:
        return found
    for prefix, owner in zip(CUSTOM_PREFIXES, ("externalData", "externalProperties")):
        if name.startswith(prefix) and valid_custom_key(name[len(prefix) :]):
            key = name[len(prefix) :]
            return Attribute(name, "text", "Custom", key, f"{owner}[{key!r}]")
    return None


def valid_custom_key(key: str) -> bool:
    """A KEY the JSON path can name: not empty, no quote, backslash or control character."""
    return bool(key) and not any(c in key for c in '"\\') and key.isprintable()


def custom_families() -> tuple[tuple[str, str], ...]:
    """The open families, for the builder: (prefix, description)."""
    return (
        ("customer.custom.", "customer externalData[KEY], as text"),
        ("subscription.custom.", "subscription externalProperties[KEY], as text"),
    )


def as_dicts() -> list[dict]:
    """The catalog as plain data (for `--json` output and the builder's attribute picker)."""
    out = []
    for a in ATTRIBUTES:
        item = {
            "name": a.name,
            "type": a.type,
            "group": a.group,
            "label": a.label,
            "description": a.description,
            "operators": list(a.operators),
        }
        if a.values:
            item["values"] = list(a.values)
        out.append(item)
    for prefix, description in custom_families():
        out.append(
            {
                "name": prefix + "KEY",
                "type": "text",
                "group": "Custom",
                "label": prefix + "KEY",
                "description": description,
                "operators": list(OPERATORS["text"]),
            }
        )
    return out

"""Deterministic sandbox data: a catalog plus customers with their whole history.

Customer `i` is built from its own random stream (`random.Random(f"{seed}:{i}")`), so any
prefix of the customer sequence is the same whatever `n` is, and customers can be streamed
one by one (`iter_customers`) straight into a database. Every record comes out in the API
shapes of docs/sandbox-api.md.

Consistency rules the data keeps (tests/unit/test_sandbox_generator.py checks them):

- nothing is dated after `as_of`; a customer registers before their first purchase;
- a subscription has one captured charge per paid cycle at `start + j * period`, each for the
  localization's price (less the coupon's discount when `couponCode` is set); failed attempts
  are `rejected` with a `rejectedReason`; a trial starts with a 0-amount
  `initial-free-transaction`;
- `renewalCycle.completed` counts the captured `recurring-payment` charges;
- refunds (full or partial) only on card and PayPal payments, never on gifts;
- emails go to the address the customer had when they were sent; in-app purchases get
  `generated` (not sent) emails.

Over 400 lines: one generator whose per-customer stream must stay in one order (the
determinism above), so its steps live together.
"""

from __future__ import annotations

import gc
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone

from .catalog import DAY, HOUR, YEAR, CatalogIndex, Loc, Plan, WeightedPicker, build_catalog
from .locales import COMPANY_WORDS, COUNTRIES, EMAIL_DOMAINS, HOSTILE_NAMES, HOSTILE_TEXT, Country

BROADCASTER_ID = 558186818
HOSTILE_EVERY = 250  # one customer in 250 has hostile text in their name
HOSTILE_OFFSET = 97
MAX_CUSTOMERS = 3_500_000  # bounded by the transaction id space (256 ids per customer)

IN_APP = ("apple", "android", "roku", "amazon")
WEB_GATEWAYS = ("adyen", "paypal")
# (gateway, paymentMethod) -> the publisher's paymentMethodId
PAYMENT_METHOD_IDS = {
    ("adyen", "card"): 194856795,
    ("adyen", "ideal"): 194856796,
    ("adyen", "blik"): 194856797,
    ("adyen", "pix"): 194856798,
    ("adyen", "applepay"): 194856799,
    ("adyen", "googlepay"): 194856800,
    ("paypal", "paypal"): 270413912,
    ("apple", "apple"): 310000001,
    ("android", "android"): 310000002,
    ("roku", "roku"): 310000003,
    ("amazon", "amazon"): 310000004,
    ("free-offer", "free-offer"): 100000001,
}
PAYMENT_METHOD_BY_ID = {v: k for k, v in PAYMENT_METHOD_IDS.items()}

AGENTS = ("anna", "marek", "sofía", "tom", "yuki", "olu")
CARD_VARIANTS = ("visa", "visa", "mc", "mc", "amex", "visacredit", "discover")
REJECTED_REASONS = (
    "Insufficient funds",
    "Card expired",
    "Do not honor",
    "Expired card",
    "Authentication failed (3DS)",
    "Suspected fraud",
    "Card blocked",
    "Transaction not permitted",
)
IN_APP_REJECTED = ("Billing issue reported by the app store", "Payment declined by the store")
PAYPAL_REJECTED = (
    "PayPal account restricted",
    "Insufficient funds",
    "Payer cannot pay for this transaction",
)
CANCELLATION_REASONS = (
    "Too expensive",
    "Not enough content",
    "Technical issues",
    "Switching to another service",
    "Only wanted one season",
    "Temporary break",
    "Moving abroad",
    "No reason given",
)
REFUND_REASONS = (
    "Customer request",
    "Duplicate charge",
    "Goodwill gesture",
    "Service outage compensation",
    "Charged after cancellation",
)
NOTE_TEXTS = (
    "VIP: long-time subscriber, handle with care.",
    "Called about a double charge; explained that the second one was the renewal.",
    "At risk: complained twice about buffering on the TV app.",
    "Prefers contact by email, not phone.",
    "Goodwill refund approved by the team lead.",
    "Asked how to cancel; offered the win-back coupon, customer will think about it.",
    "Chargeback threat. Escalated to billing.",
    "Moved from the web plan to Apple; the old card should not be charged any more.",
    "Password reset did not arrive; resent to the same address.",
    "Student discount verified (ID checked).",
)
EMAIL_SUBJECTS = {
    "welcome": "Welcome to Aurora TV!",
    "access_purchased": "Your purchase: {title}",
    "invoice": "Your invoice for {title}",
    "renewal_reminder": "Your {title} plan renews soon",
    "subscription_renewed": "Your {title} plan has been renewed",
    "access_expired": "Your access to {title} has ended",
    "payment_failed": "We could not process your payment for {title}",
    "password_reset": "Reset your Aurora TV password",
    "card_expiring": "Your card is about to expire",
    "refund_confirmation": "Your refund for {title}",
    "gift": "Your gift: {title}",
    "subscription_switched": "Your plan has changed to {title}",
    "subscription_stopped": "Your {title} plan has been cancelled",
}
EMAIL_BODIES = {
    "welcome": "Hi {name}, welcome aboard! Your account is ready.",
    "access_purchased": "Hi {name}, thank you for buying {title}. Enjoy watching!",
    "invoice": "Hi {name}, please find your invoice for {title} attached.",
    "renewal_reminder": "Hi {name}, {title} renews automatically in 7 days.",
    "subscription_renewed": "Hi {name}, {title} has been renewed. Thank you for staying.",
    "access_expired": "Hi {name}, your access to {title} has ended. We hope to see you again.",
    "payment_failed": "Hi {name}, your last payment for {title} failed. Please update your "
    "payment details.",
    "password_reset": "Hi {name}, use the link below to choose a new password.",
    "card_expiring": "Hi {name}, the card on file expires soon. Please update it.",
    "refund_confirmation": "Hi {name}, we have refunded your payment for {title}.",
    "gift": "Hi {name}, your gift ({title}) is on its way to the lucky recipient.",
    "subscription_switched": "Hi {name}, you are now on {title}.",
    "subscription_stopped": "Hi {name}, {title} will not renew. Access continues until the "
    "end of the paid period.",
}
EMAIL_TYPES = tuple(EMAIL_SUBJECTS)


def _split_template(subject: str, body: str) -> tuple[tuple[str, str], tuple[str, str, str]]:
    """Pre-split "{title}" / "{name}...{title}" templates so filling them is concatenation."""
    before, _, after = subject.partition("{title}")
    head, _, rest = body.partition("{name}")
    middle, has_title, tail = rest.partition("{title}")
    return (before, after), (head, middle if has_title else rest, tail)


EMAIL_TEMPLATES = {
    kind: _split_template(EMAIL_SUBJECTS[kind], EMAIL_BODIES[kind]) for kind in EMAIL_TYPES
}

# Share of subscriptions in each lifecycle state at as_of (cumulative thresholds).
_STATE_THRESHOLDS = (
    ("active", 0.36),
    ("churned", 0.66),
    ("cancelled", 0.75),
    ("grace", 0.83),
    ("trial", 0.91),
    ("paused", 1.0),
)
# Most renewals a generated subscription has. With at most 3 subscriptions (each adding a
# trial, a retry and 3 failed attempts) and 3 passes, a customer stays far below the 256
# transaction ids its slot range holds.
_MAX_CYCLES = {"day": 14, "week": 30, "month": 24, "3months": 10, "6months": 6, "year": 4}
_STORE_WEIGHTS = {"apple": 0.40, "android": 0.35, "roku": 0.12, "amazon": 0.13}
_DATE_FMT = "%Y-%m-%d %H:%M:%S"


def to_unix(as_of: datetime) -> int:
    """Unix seconds of `as_of`; a naive datetime is taken as UTC."""
    if as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=timezone.utc)
    return int(as_of.timestamp())


def format_date(ts: int) -> str:
    """The customer record's date format, "YYYY-MM-DD HH:MM:SS" in UTC."""
    return time.strftime(_DATE_FMT, time.gmtime(ts))


def catalog(seed: int, as_of: datetime) -> dict:
    """Offers (every type, with localizations), season groups and campaigns."""
    return build_catalog(seed, to_unix(as_of))


def iter_customers(
    seed: int, n: int, as_of: datetime, catalog: dict, start: int = 0
) -> Iterator[dict]:
    """Yield customer bundles (customer plus all their records) `start` to `n` - 1, in order.

    Customer i depends only on the seed, i and the catalog, so slices of one run can be built
    apart (in parallel) and give the same bundles as the whole run."""
    if n > MAX_CUSTOMERS:
        raise ValueError(f"at most {MAX_CUSTOMERS} customers can be generated")
    ctx = _Context(seed, to_unix(as_of), catalog)
    for i in range(start, n):
        yield _Builder(ctx, i).build()


@contextmanager
def no_cyclic_gc(collect_first: bool = False):
    """Pause the cyclic garbage collector while building many records, then move what
    survived out of its sight (`gc.freeze`). Generated records hold no reference cycles, so
    the collector would only spend time (half of it when building a large state) re-scanning
    them. Streaming consumers of `iter_customers` can wrap their loop in it too.

    ``collect_first``: other work ran in the process meanwhile (the demo generates beside
    its console): its unreachable cycles are collected before the freeze, not kept for good."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collect_first:
            gc.collect()
        gc.freeze()
        if was_enabled:
            gc.enable()


def generate(seed: int, n: int, as_of: datetime) -> dict:
    """The whole state in the export shape: a list per entity."""
    cat = catalog(seed, as_of)
    out: dict[str, list] = {name: [] for name in ENTITY_LISTS}
    with no_cyclic_gc():
        for bundle in iter_customers(seed, n, as_of, cat):
            out["customers"].append(bundle["customer"])
            for name in CHILD_LISTS:
                out[name].extend(bundle[name])
    out["offers"] = cat["offers"]
    out["season_groups"] = cat["season_groups"]
    out["campaigns"] = cat["campaigns"]
    return out


CHILD_LISTS = (
    "subscriptions",
    "passes",
    "transactions",
    "payment_details",
    "emails",
    "notes",
    "history",
)
ENTITY_LISTS = ("customers",) + CHILD_LISTS + ("offers", "season_groups", "campaigns")


class _IdSpace:
    """A bijective scramble of slot numbers into a fixed range of ids (unique by design)."""

    __slots__ = ("base", "modulus", "mult", "add", "stride")

    def __init__(self, seed: int, salt: int, base: int, modulus: int, mult: int, stride: int):
        self.base, self.modulus, self.mult, self.stride = base, modulus, mult, stride
        self.add = (seed * 2_654_435_761 + salt * 97_531) % modulus

    def __call__(self, i: int, j: int) -> int:
        return self.base + ((i * self.stride + j) * self.mult + self.add) % self.modulus

    def of(self, i: int):
        """The ids of customer `i`'s slots, as a function of the slot number."""
        base, modulus, mult = self.base, self.modulus, self.mult
        start = (i * self.stride * mult + self.add) % modulus
        return lambda j: base + (start + j * mult) % modulus


class _Context:
    """What every customer of one generation run shares."""

    def __init__(self, seed: int, now: int, cat: dict):
        self.seed = seed
        self.now = now
        self.rng = random.Random()
        self.year = time.gmtime(now).tm_year
        self.index = CatalogIndex(cat, now)
        self.countries = WeightedPicker([(c, c.weight) for c in COUNTRIES])
        # Multipliers are coprime with their moduli (not divisible by 2, 3 or 5).
        self.customer_id = _IdSpace(seed, 1, 100_000_000, 900_000_000, 472_882_049, 1)
        self.sub_id = _IdSpace(seed, 2, 100_000_000, 900_000_000, 387_420_491, 8)
        self.pass_id = _IdSpace(seed, 3, 1_000_000_000, 9_000_000_000, 7_046_029_259, 8)
        self.txn_id = _IdSpace(seed, 4, 100_000_000, 900_000_000, 611_953_313, 256)
        self.pd_id = _IdSpace(seed, 5, 100_000_000, 900_000_000, 725_689_717, 8)
        self.coupons = [
            (code, c["discount"]["value"])
            for c in cat.get("campaigns", [])
            if c.get("status") == "active" and "S" in c["constraints"]["offerTypes"]
            for code in c["couponCodes"]
        ]
        self.lower = min((p.sell_from for p in self.index.plans), default=now - 6 * YEAR)


def _scrambled(number: int) -> int:
    return (number * 0x9E3779B97F4A7C15) & 0xFFFF_FFFF_FFFF_FFFF


def _android_order(number: int) -> str:
    digits = f"{(number * 7_919) % 10**17:017d}"
    return f"GPA.{digits[:4]}-{digits[4:8]}-{digits[8:12]}-{digits[12:]}"


# Gateway-looking payment references ("external order ids"), unique per transaction number.
EXTERNAL_IDS = {
    "adyen": lambda n: f"{_scrambled(n):016X}",
    "paypal": lambda n: f"{_scrambled(n):016X}"[:7] + f"{n:09d}H",
    "apple": lambda n: str(1_000_000_000_000_000 + n),
    "android": _android_order,
    "roku": lambda n: f"{_scrambled(n):016x}{n:016x}",
    "amazon": lambda n: f"amzn1.ea.{_scrambled(n):016x}",
    "free-offer": lambda n: f"FREE-{n}",
}


def external_payment_id(gateway: str, number: int) -> str:
    """A gateway-looking payment reference for a transaction number."""
    return EXTERNAL_IDS.get(gateway, EXTERNAL_IDS["free-offer"])(number)


@dataclass(slots=True)
class _Timeline:
    """When a subscription started, was charged and ends, and how it stands at as_of."""

    created: int
    date_to: int
    charges: list[int]
    status: str
    in_trial: bool = False
    had_trial: bool = False
    pause: dict | None = None
    reason: str | None = None
    refund_last: bool = False  # last payment refunded, access revoked
    failed_retries: tuple[int, ...] = ()  # rejected renewals at date_to + each delay


class _Builder:
    """Builds one customer and everything attached to them."""

    def __init__(self, ctx: _Context, i: int):
        self.ctx = ctx
        self.i = i
        ctx.rng.seed(f"{ctx.seed}:{i}")  # same stream as random.Random(f"{seed}:{i}")
        self.rnd = ctx.rng.random
        self.now = ctx.now
        self.cid = ctx.customer_id(i, 0)
        self.txn_ids = ctx.txn_id.of(i)
        self.email_base = 500_000_000 + i * 64
        self.subs: list[dict] = []
        self.passes: list[dict] = []
        self.txns: list[dict] = []
        self.emails: list[dict] = []
        self.pds: dict[tuple, list] = {}  # (gateway, method, old) -> [id, subscriptionIds]
        self.web_method: tuple[str, str] | None = None
        self.company: str | None = None

    # -- helpers ---------------------------------------------------------------------------

    def pick(self, seq):
        return seq[int(self.rnd() * len(seq))]

    def txn(
        self,
        t: int,
        loc: Loc,
        letter: str,
        amount: float,
        status: str,
        gw: str,
        pm: str,
        op: str,
        sub_id: int | None,
        pass_id: int | None,
        reason: str | None = None,
        gift: bool = False,
    ) -> dict:
        number = self.txn_ids(len(self.txns))
        record = {
            "transactionId": f"T{number}",
            "customerId": self.cid,
            "transactionDate": t,
            "offerId": loc.id,
            "offerType": letter,
            "offerTitle": loc.title,
            "subscriptionId": sub_id,
            "passId": pass_id,
            "amount": amount,
            "currency": loc.currency,
            "status": status,
            "paymentGateway": gw,
            "paymentMethod": pm,
            "externalPaymentId": EXTERNAL_IDS[gw](number),
            "rejectedReason": reason,
            "refundedAmount": 0,
            "refundedReason": None,
            "isGift": gift,
            "paymentOperation": op,
        }
        self.txns.append(record)
        return record

    def email(
        self, t: int, kind: str, title: str = "", txn: dict | None = None, in_app: bool = False
    ) -> None:
        """Record an email; in-app purchases get generated (not sent) ones."""
        if t > self.now or len(self.emails) >= 64:
            return
        subject, body = EMAIL_TEMPLATES[kind]
        generated = in_app or (kind == "invoice" and self.rnd() < 0.07)
        self.emails.append(
            {
                "id": self.email_base + len(self.emails),
                "customerId": self.cid,
                "type": kind,
                "subject": subject[0] + title + subject[1],
                "to": self.email_address,
                "status": "generated" if generated else "sent",
                "createdAt": t,
                "transactionId": txn["transactionId"] if txn else None,
                "body": body[0] + self.first + body[1] + title + body[2],
            }
        )

    def rejection(self, gw: str) -> str:
        if gw in IN_APP:
            return self.pick(IN_APP_REJECTED)
        if gw == "paypal":
            return self.pick(PAYPAL_REJECTED)
        return self.pick(REJECTED_REASONS)

    def payment_details(self, gw: str, pm: str, old: bool = False) -> int | None:
        if gw == "free-offer":
            return None
        key = (gw, pm, old)
        entry = self.pds.get(key)
        if entry is None:
            entry = self.pds[key] = [self.ctx.pd_id(self.i, len(self.pds)), []]
        return entry[0]

    def web(self, country: Country) -> tuple[str, str]:
        """The customer's usual web payment method (chosen once)."""
        if self.web_method is None:
            u = self.rnd()
            if u < 0.2:
                self.web_method = ("paypal", "paypal")
            elif country.local_method and u < 0.45:
                self.web_method = ("adyen", country.local_method)
            elif u < 0.5:
                self.web_method = ("adyen", "applepay")
            elif u < 0.54:
                self.web_method = ("adyen", "googlepay")
            else:
                self.web_method = ("adyen", "card")
        if self.rnd() < 0.1:
            return ("paypal", "paypal") if self.web_method[0] == "adyen" else ("adyen", "card")
        return self.web_method

    def gateway(
        self, plan: Plan, loc: Loc, country: Country, allow_in_app: bool
    ) -> tuple[str, str]:
        if loc.price <= 0:
            return "free-offer", "free-offer"
        if allow_in_app and plan.stores and self.rnd() < 0.36:
            u = self.rnd() * sum(_STORE_WEIGHTS.get(s, 0.1) for s in plan.stores)
            for store in plan.stores:
                u -= _STORE_WEIGHTS.get(store, 0.1)
                if u <= 0:
                    return store, store
            return plan.stores[-1], plan.stores[-1]
        return self.web(country)

    # -- the customer ----------------------------------------------------------------------

    def build(self) -> dict:
        rnd = self.rnd
        country: Country = self.ctx.countries.pick(rnd())
        self.country = country
        first, first_ascii = self.pick(country.first_names)
        last, last_ascii = self.pick(country.last_names)
        hostile = self.i % HOSTILE_EVERY == HOSTILE_OFFSET
        if hostile:
            first, last = HOSTILE_NAMES[(self.i // HOSTILE_EVERY) % len(HOSTILE_NAMES)]
            first_ascii, last_ascii = "user", ""
        self.first, self.last = first, last
        u = rnd()
        if u < 0.45:
            local = f"{first_ascii}.{last_ascii}"
        elif u < 0.65:
            local = f"{first_ascii[:1]}{last_ascii}"
        elif u < 0.8:
            local = f"{first_ascii}_{last_ascii}"
        else:
            local = f"{last_ascii}.{first_ascii}" if last_ascii else first_ascii
        local = local.replace(" ", "").strip("._") + str(self.i + 1)
        domain = self.pick(EMAIL_DOMAINS)
        self.email_address = f"{local}@{domain}"

        u = rnd()
        if u < 0.07:  # prospect: registered, never bought anything
            n_subs, n_passes = 0, 0
        elif u < 0.19:  # passes only
            n_subs, n_passes = 0, 1 + (rnd() < 0.35) + (rnd() < 0.15)
        else:  # subscriber, sometimes hybrid
            v = rnd()
            n_subs = 1 if v < 0.62 else 2 if v < 0.88 else 3
            n_passes = (1 + (rnd() < 0.3)) if rnd() < 0.21 else 0
        self.build_subscriptions(n_subs)
        for _ in range(n_passes):
            self.build_pass()

        now = self.now
        dates = [record["transactionDate"] for record in self.txns]
        self.last_activity = max(dates, default=0)
        if dates:
            reg = min(dates) - int(rnd() ** 3 * 60 * DAY) - 60 - int(rnd() * 600)
        else:
            reg = now - int(rnd() * 5 * YEAR) - HOUR
        reg = max(reg, self.ctx.lower)
        self.reg = reg
        if rnd() < 0.97:
            self.email(reg + 5, "welcome")
        if rnd() < 0.1:
            self.email(reg + int(rnd() * (now - reg)), "password_reset")

        history, email_changed = self.build_history(first_ascii, last_ascii, local, domain, hostile)
        customer = self.build_customer(hostile)
        payment_details = self.build_payment_details()
        return {
            "customer": customer,
            "subscriptions": self.subs,
            "passes": self.passes,
            "transactions": self.txns,
            "payment_details": payment_details,
            "emails": self.readdress_emails(email_changed),
            "notes": self.build_notes(hostile),
            "history": history,
        }

    def build_customer(self, hostile: bool) -> dict:
        rnd, now, country = self.rnd, self.now, self.country
        latest = max(self.reg, self.last_activity)
        if not self.txns and rnd() < 0.4:
            login = None
        else:
            login = latest + int(rnd() * (now - latest))
        capture = {
            "address": None,
            "city": None,
            "state": None,
            "postCode": None,
            "birthDate": None,
            "companyName": None,
        }
        if rnd() < 0.82:
            city, state, streets = self.pick(country.places)
            number = 1 + int(rnd() * 180)
            capture["address"] = country.address_format.format(
                s=self.pick(streets), n=number, m=1 + int(rnd() * 40)
            )
            capture["city"], capture["state"] = city, state
            capture["postCode"] = _postcode(country.postcode_format, rnd)
            year = self.ctx.year - 18 - int(rnd() * 62)
            capture["birthDate"] = f"{year}-{1 + int(rnd() * 12):02d}-{1 + int(rnd() * 28):02d}"
        if self.company or (capture["address"] and rnd() < 0.18):
            capture["companyName"] = self.company or self.make_company()
        if hostile:
            capture["companyName"] = self.make_company()
            if capture["address"]:
                capture["address"] = HOSTILE_TEXT[(self.i + 1) % len(HOSTILE_TEXT)]
        u = rnd()
        external_id = None
        if u < 0.45:
            external_id = f"crm-{self.i * 7 + 1_000_003}"
        elif u < 0.55:
            external_id = f"auth0|{(self.i * 2_654_435_761) % 16**12:012x}"
        external_data = None
        if rnd() < 0.25:
            external_data = {"tier": self.pick(("gold", "silver", "bronze"))}
            if rnd() < 0.5:
                external_data["source"] = self.pick(
                    ("tv-campaign", "newsletter", "partner", "organic")
                )
            if rnd() < 0.3:
                external_data["newsletter"] = self.pick(("yes", "no"))
            if hostile:
                external_data["note"] = HOSTILE_TEXT[0]
        ip = None
        if login is not None:
            block = self.pick(("203.0.113.", "198.51.100.", "192.0.2.", None))
            ip = f"{block}{1 + int(rnd() * 254)}" if block else f"2001:db8::{int(rnd() * 65535):x}"
        return {
            "id": self.cid,
            "email": self.email_address,
            "firstName": self.first,
            "lastName": self.last,
            "country": country.code,
            "currency": country.currency,
            "locale": country.locale,
            "regDate": format_date(self.reg),
            "lastLoginDate": format_date(login) if login is not None else None,
            "lastUserIp": ip,
            "externalId": external_id,
            "externalData": external_data,
            "capture": capture,
        }

    def make_company(self) -> str:
        if self.i % HOSTILE_EVERY == HOSTILE_OFFSET:
            return HOSTILE_TEXT[self.i % len(HOSTILE_TEXT)]
        base = self.last if len(self.last) < 40 else self.pick(COMPANY_WORDS)
        return f"{base} {self.pick(COMPANY_WORDS)} {self.country.company_suffix}"

    # -- subscriptions ---------------------------------------------------------------------

    def build_subscriptions(self, n: int) -> None:
        rnd = self.rnd
        states = []
        for _ in range(n):
            u = rnd()
            states.append(next(s for s, limit in _STATE_THRESHOLDS if u < limit))
        # Churned ones last, so one of them can be the plan the customer switched away from.
        states.sort(key=lambda s: s == "churned")
        pickers = self.ctx.index.subs[self.country.code]
        taken: set[str] = set()
        for state in states:
            plan = None
            for _ in range(4):
                picker = pickers[
                    "trial"
                    if state == "trial"
                    else "paused"
                    if state == "paused"
                    else "churned"
                    if state == "churned"
                    else "current"
                ]
                if not picker:
                    picker, state = pickers["current"], "active"
                candidate = picker.pick(rnd())
                if candidate.period == "season" and (
                    state not in ("active", "cancelled", "churned")
                    or not self.ctx.index.season_starts
                ):
                    continue
                if state != "churned" and candidate.offer_id in taken:
                    continue
                if state == "grace" and candidate.locs[self.country.code].price <= 0:
                    continue  # a free plan has no payment that could fail
                plan = candidate
                break
            if plan is None:
                continue
            taken.add(plan.offer_id)
            switch_from = None
            if state == "churned" and self.subs and rnd() < 0.35:
                switch_from = self.subs[0]
            self.subscription(state, plan, switch_from)

    def subscription(self, state: str, plan: Plan, switched_to: dict | None) -> None:
        """One subscription that is in lifecycle `state` at as_of, with its payments and emails."""
        rnd, now, ctx = self.rnd, self.now, self.ctx
        loc = plan.locs[self.country.code]
        gw, pm = self.gateway(plan, loc, self.country, allow_in_app=state != "paused")
        in_app = gw in IN_APP
        sid = ctx.sub_id(self.i, len(self.subs))
        price, coupon = loc.price, None
        if gw in WEB_GATEWAYS and price > 0 and ctx.coupons and rnd() < 0.05:
            coupon, percent = self.pick(ctx.coupons)
            price = discounted(price, percent, self.country.whole_prices)
        if plan.period == "season":
            tl = self.season_timeline(state)
        elif state == "churned":
            end = (
                switched_to["createdAt"]
                if switched_to
                else now - DAY - int(rnd() ** 1.5 * 3 * YEAR)
            )
            tl = self.churned_timeline(plan, end, price > 0 and gw in WEB_GATEWAYS, price > 0)
        else:
            tl = getattr(self, f"{state}_timeline")(plan)
        if tl.status == "stopped":
            tl.reason = self.pick(CANCELLATION_REASONS)

        # A churned card subscription sometimes ran on an older card that was replaced since.
        old_card = state == "churned" and pm == "card" and rnd() < 0.3
        pd_id = self.payment_details(gw, pm, old_card)
        if pd_id is not None:
            self.pds[(gw, pm, old_card)][1].append(sid)
        sub = {
            "subscriptionId": sid,
            "customerId": self.cid,
            "offerId": loc.id,
            "status": tl.status,
            "dateFrom": tl.created,
            "dateTo": tl.date_to,
            "inTrial": tl.in_trial,
            "createdAt": tl.created,
            "period": plan.period,
            "nextPaymentPrice": price,
            "nextPaymentCurrency": loc.currency,
            "paymentGateway": gw,
            "paymentMethod": pm,
            "couponCode": coupon,
            "paymentMethodId": PAYMENT_METHOD_IDS[(gw, pm)],
            "paymentDetailsId": pd_id,
            "renewalCycle": {"completed": 0, "unit": plan.unit, "amount": plan.unit_amount},
            "externalProperties": {},
            "isExternallyManaged": in_app,
            "pause": tl.pause,
            "cancellationReason": tl.reason,
        }
        self.subs.append(sub)
        title = loc.title
        if tl.had_trial:
            free = self.txn(
                tl.created, loc, "S", 0, "captured", gw, pm, "initial-free-transaction", sid, None
            )
            self.email(tl.created, "access_purchased", title, free, in_app)
        self.charges(sub, loc, tl, price, gw, pm, in_app)
        if tl.status == "stopped":
            last = tl.charges[-1] if tl.charges else tl.created
            until = min(now, tl.date_to)
            self.email(
                until - int(rnd() * (until - last)), "subscription_stopped", title, None, in_app
            )
        # Failed renewals: at the due date and on retry days, while they are in the past.
        for delay in tl.failed_retries:
            if tl.date_to + delay <= now - 60:
                self.txn(
                    tl.date_to + delay,
                    loc,
                    "S",
                    price,
                    "rejected",
                    gw,
                    pm,
                    "recurring-payment",
                    sid,
                    None,
                    self.rejection(gw),
                )
                self.email(tl.date_to + delay, "payment_failed", title, self.txns[-1], in_app)
        if state == "churned":
            if not tl.refund_last:
                self.email(tl.date_to, "access_expired", title, None, in_app)
            if switched_to:
                self.email(
                    tl.date_to,
                    "subscription_switched",
                    ctx.index.titles.get(switched_to["offerId"], title),
                    None,
                    in_app,
                )

    def cycles(self, plan: Plan, end: int, trial: int) -> int:
        """Completed renewals: mostly few, fewer when the offer did not exist that long ago."""
        k = int(self.rnd() * self.rnd() * (_MAX_CYCLES[plan.period] + 1))
        room = (end - plan.sell_from - trial - DAY) // plan.seconds - 1
        return max(0, min(k, room))

    def paid_timeline(
        self,
        plan: Plan,
        first_charge: int,
        n: int,
        date_to: int,
        had_trial: bool,
        status: str = "active",
    ) -> _Timeline:
        trial = plan.trial_days * DAY if had_trial else 0
        charges = [first_charge + j * plan.seconds for j in range(n)]
        return _Timeline(first_charge - trial, date_to, charges, status, had_trial=had_trial)

    def trial_timeline(self, plan: Plan) -> _Timeline:
        trial = plan.trial_days * DAY
        created = self.now - 60 - int(self.rnd() * (trial - HOUR))
        return _Timeline(created, created + trial, [], "active", in_trial=True, had_trial=True)

    def active_timeline(self, plan: Plan, status: str = "active") -> _Timeline:
        had_trial = bool(plan.trial_days) and self.rnd() < 0.35
        k = self.cycles(plan, self.now, plan.trial_days * DAY)
        first = self.now - int((k + 0.02 + self.rnd() * 0.96) * plan.seconds)
        return self.paid_timeline(
            plan, first, k + 1, first + (k + 1) * plan.seconds, had_trial, status
        )

    def cancelled_timeline(self, plan: Plan) -> _Timeline:
        return self.active_timeline(plan, "stopped")

    def grace_timeline(self, plan: Plan) -> _Timeline:
        """The last renewal failed less than two weeks (and less than a period) ago."""
        rnd, period = self.rnd, plan.seconds
        had_trial = bool(plan.trial_days) and rnd() < 0.35
        date_to = self.now - 6 * HOUR - int(rnd() * (min(14 * DAY, 0.9 * period) - 6 * HOUR))
        k = self.cycles(plan, date_to, plan.trial_days * DAY)
        tl = self.paid_timeline(plan, date_to - (k + 1) * period, k + 1, date_to, had_trial)
        tl.failed_retries = (0, 3 * DAY)
        return tl

    def paused_timeline(self, plan: Plan) -> _Timeline:
        """Paused at the end of the last paid period, resuming after a few cycles."""
        rnd, now, period = self.rnd, self.now, plan.seconds
        pause_date = now - HOUR - int(rnd() * 50 * DAY)
        k = max(1, self.cycles(plan, pause_date, 0))
        resume = pause_date + (1 + int(rnd() * plan.pause_cycles)) * period
        if resume <= now:
            resume = pause_date + plan.pause_cycles * period
        tl = self.paid_timeline(
            plan, pause_date - (k + 1) * period, k + 1, pause_date, False, "paused"
        )
        tl.pause = {
            "requestedAt": pause_date - HOUR - int(rnd() * 20 * DAY),
            "pauseDate": pause_date,
            "resumeDate": resume,
            "failedResumes": [],
        }
        return tl

    def churned_timeline(self, plan: Plan, end: int, refundable: bool, paid: bool) -> _Timeline:
        """Ended at `end`: stopped by the customer, failed payments, refunded, or lapsed trial."""
        rnd, period, trial = self.rnd, plan.seconds, plan.trial_days * DAY
        u = rnd()
        if u < 0.08 and trial:
            return _Timeline(end - trial, end, [], "terminated", in_trial=True, had_trial=True)
        had_trial = bool(trial) and rnd() < 0.35
        k = self.cycles(plan, end, trial if had_trial else 0)
        if u < 0.2 and refundable:
            # The last payment was refunded and access revoked at once.
            first = end - HOUR - int(rnd() * min(period, 14 * DAY)) - k * period
            tl = self.paid_timeline(plan, first, k + 1, end, had_trial, "terminated")
            tl.refund_last = True
            return tl
        failed = u < 0.45 and paid
        tl = self.paid_timeline(
            plan,
            end - (k + 1) * period,
            k + 1,
            end,
            had_trial,
            "terminated" if failed else "stopped",
        )
        if failed:
            tl.failed_retries = (0, 2 * DAY, 5 * DAY)
        return tl

    def season_timeline(self, state: str) -> _Timeline:
        """One charge per season, each covering until the next season starts."""
        starts = self.ctx.index.season_starts
        now, rnd = self.now, self.rnd
        current = max(j for j, s in enumerate(starts) if s <= now)
        last = current if state != "churned" else int(rnd() * current)
        first = last - int(rnd() * (last + 1))
        times = [starts[j] for j in range(first, last + 1)]
        limit = now if last == current else starts[last + 1]
        times[0] = min(limit - HOUR, times[0] + int(rnd() * 30 * DAY))  # bought mid-season
        date_to = starts[last + 1] if last + 1 < len(starts) else starts[last] + 280 * DAY
        status = "stopped" if state in ("cancelled", "churned") else "active"
        return _Timeline(times[0], date_to, times, status)

    def charges(
        self, sub: dict, loc: Loc, tl: _Timeline, price: float, gw: str, pm: str, in_app: bool
    ) -> None:
        """One captured charge per cycle; a few late retries and refunds on the way."""
        rnd, now, sid, title, times = (
            self.rnd,
            self.now,
            sub["subscriptionId"],
            loc.title,
            tl.charges,
        )
        retry_at = int(rnd() * len(times) * 8) if len(times) > 1 else -1  # ~1 sub in 8
        refund_at = int(rnd() * len(times) * 14) if gw in WEB_GATEWAYS and price > 0 else -1
        completed = 0
        record = None
        for j, t in enumerate(times):
            initial = j == 0 and not tl.had_trial
            op = "initial-payment" if initial else "recurring-payment"
            if j == retry_at and j > 0:
                self.txn(t, loc, "S", price, "rejected", gw, pm, op, sid, None, self.rejection(gw))
                self.email(t, "payment_failed", title, self.txns[-1], in_app)
                gap = times[j] - times[j - 1]
                t = min(now - 60, t + min(gap // 2, DAY + int(rnd() * 2 * DAY)))
            record = self.txn(t, loc, "S", price, "captured", gw, pm, op, sid, None)
            if not initial:
                completed += 1
            if j == 0:
                self.email(
                    t, "invoice" if tl.had_trial else "access_purchased", title, record, in_app
                )
                if not tl.had_trial:
                    self.email(t + 1, "invoice", title, record, in_app)
            if j == refund_at and not (tl.refund_last and j == len(times) - 1):
                self.refund(record, price, rnd() < 0.6, self.pick(REFUND_REASONS), in_app)
        if record is not None and len(times) > 1:
            if times[-1] - times[-2] > 80 * DAY:  # long plans announce their renewal
                self.email(times[-1] - 7 * DAY, "renewal_reminder", title, None, in_app)
            self.email(record["transactionDate"] + 2, "subscription_renewed", title, record, in_app)
            self.email(record["transactionDate"] + 3, "invoice", title, record, in_app)
        if tl.status == "active" and len(times) and tl.date_to - times[-1] > 80 * DAY:
            self.email(tl.date_to - 7 * DAY, "renewal_reminder", title, None, in_app)
        if tl.refund_last and record is not None:
            self.refund(record, price, False, self.pick(REFUND_REASONS), in_app)
        sub["renewalCycle"]["completed"] = completed

    def refund(self, record: dict, price: float, partial: bool, reason: str, in_app: bool) -> None:
        if partial and price > 0:
            whole = self.country.whole_prices
            amount = discounted(price, 50 if self.rnd() < 0.5 else 75, whole)
        else:
            amount = record["amount"]
        record["status"] = "refunded"
        record["refundedAmount"] = amount
        record["refundedReason"] = reason
        self.email(
            min(self.now, record["transactionDate"] + int(self.rnd() * 4 * DAY) + 60),
            "refund_confirmation",
            record["offerTitle"],
            record,
            in_app,
        )

    # -- passes ----------------------------------------------------------------------------

    def build_pass(self) -> None:
        rnd, now = self.rnd, self.now
        pickers = self.ctx.index.passes[self.country.code]
        u = rnd()
        letter = "P" if u < 0.45 else "E" if u < 0.65 else "A" if u < 0.8 else "R"
        picker = pickers[letter] or pickers["P"]
        if not picker:
            return
        plan: Plan = picker.pick(rnd())
        loc = plan.locs[self.country.code]
        start = max(plan.sell_from, now - 4 * YEAR)
        bought = plan.sell_to - 60 - int(rnd() ** 1.6 * (plan.sell_to - start - 60))
        if plan.fixed_expiry is not None:
            expires = plan.fixed_expiry
        elif plan.event is not None:
            expires = plan.event[1]
        elif plan.letter == "A":
            expires = None
        else:
            expires = bought + plan.seconds
        gw, pm = self.gateway(plan, loc, self.country, allow_in_app=rnd() < 0.4)
        in_app = gw in IN_APP
        pid = self.ctx.pass_id(self.i, len(self.passes))
        gift = plan.giftable and gw in WEB_GATEWAYS and rnd() < 0.12
        if rnd() < 0.06:
            self.txn(
                bought - 600,
                loc,
                plan.letter,
                loc.price,
                "rejected",
                gw,
                pm,
                "initial-payment",
                None,
                pid,
                self.rejection(gw),
            )
        record = self.txn(
            bought,
            loc,
            plan.letter,
            loc.price,
            "captured",
            gw,
            pm,
            "initial-payment",
            None,
            pid,
            None,
            gift,
        )
        status = "active"
        if gw in WEB_GATEWAYS and not gift and rnd() < 0.05:
            self.refund(record, loc.price, False, self.pick(REFUND_REASONS), in_app)
            status = "terminated"
        elif expires is not None and expires < now and rnd() < 0.08:
            status = "stopped"
        self.passes.append(
            {
                "passId": pid,
                "customerId": self.cid,
                "offerId": loc.id,
                "status": status,
                "createdAt": bought,
                "expiresAt": expires,
                "externalId": f"{gw}-{pid}" if in_app else None,
                "externalProperties": {},
                "paymentMethodId": PAYMENT_METHOD_IDS[(gw, pm)],
                "isExternallyManaged": in_app,
            }
        )
        self.payment_details(gw, pm)
        self.email(bought, "gift" if gift else "access_purchased", loc.title, record, in_app)
        self.email(bought + 1, "invoice", loc.title, record, in_app)
        if expires is not None and expires < now and status == "active" and rnd() < 0.3:
            self.email(expires, "access_expired", loc.title, None, in_app)

    # -- payment details, emails, notes, history -------------------------------------------

    def build_payment_details(self) -> list[dict]:
        rnd, now = self.rnd, self.now
        holder = f"{self.first} {self.last}"
        year = self.ctx.year
        out = []
        for (gw, pm, old), (pd_id, sub_ids) in self.pds.items():
            in_app = gw in IN_APP
            if in_app:
                params: dict = {}
            elif pm == "card":
                if old:
                    expiry = f"{1 + int(rnd() * 12):02d}/{year - 1 - int(rnd() * 3)}"
                elif rnd() < 0.08:
                    month = time.gmtime(now + 20 * DAY)
                    expiry = f"{month.tm_mon:02d}/{month.tm_year}"
                    self.email(max(self.reg, now - int(rnd() * 10 * DAY)), "card_expiring")
                else:
                    expiry = f"{1 + int(rnd() * 12):02d}/{year + 1 + int(rnd() * 4)}"
                params = {
                    "variant": self.pick(CARD_VARIANTS),
                    "lastCardFourDigits": f"{int(rnd() * 10000):04d}",
                    "holderName": holder,
                    "cardExpirationDate": expiry,
                }
            elif pm == "paypal":
                payer = "".join(
                    chr(65 + int(rnd() * 26)) if rnd() < 0.6 else str(int(rnd() * 10))
                    for _ in range(13)
                )
                params = {"payerId": payer, "holderName": holder}
            else:
                params = {"variant": pm, "holderName": holder}
            out.append(
                {
                    "id": pd_id,
                    "customerId": self.cid,
                    "paymentGateway": gw,
                    "paymentMethod": pm,
                    "paymentMethodId": PAYMENT_METHOD_IDS[(gw, pm)],
                    "active": not old,
                    "bound": in_app,
                    "subscriptionIds": sub_ids,
                    "paymentMethodSpecificParams": params,
                }
            )
        return out

    def readdress_emails(self, email_changed: tuple[int, str] | None) -> list[dict]:
        """Emails sent before an email change went to the old address."""
        if email_changed:
            changed_at, old = email_changed
            for record in self.emails:
                if record["createdAt"] < changed_at:
                    record["to"] = old
        return self.emails

    def build_notes(self, hostile: bool) -> list[dict]:
        rnd, now = self.rnd, self.now
        if rnd() >= 0.15 and not hostile:
            return []
        out = []
        base = 700_000_000 + self.i * 8
        for j in range(1 + (rnd() < 0.35) + (rnd() < 0.15)):
            author = self.pick(AGENTS)
            created = self.reg + int(rnd() * (now - self.reg))
            text = self.pick(NOTE_TEXTS)
            if hostile and j == 0:
                text = f"Name looks odd: {self.first!s} {HOSTILE_TEXT[self.i % len(HOSTILE_TEXT)]}"
            revisions = []
            updated = created
            if rnd() < 0.25:
                older = self.pick(NOTE_TEXTS)
                for _ in range(1 + (rnd() < 0.3)):
                    edited = updated + int(rnd() * (now - updated))
                    revisions.append(
                        {
                            "text": older,
                            "editedAt": edited,
                            "editor": self.pick(AGENTS) if rnd() < 0.3 else author,
                        }
                    )
                    older, updated = older + " (updated)", edited
            deleted, deleted_by = None, None
            if rnd() < 0.06:
                deleted = updated + int(rnd() * (now - updated))
                deleted_by = author if rnd() < 0.7 else self.pick(AGENTS)
            out.append(
                {
                    "id": base + j,
                    "customerId": self.cid,
                    "author": author,
                    "text": text,
                    "createdAt": created,
                    "updatedAt": updated,
                    "deletedAt": deleted,
                    "deletedBy": deleted_by,
                    "revisions": revisions,
                }
            )
        return out

    def build_history(
        self, first_ascii: str, last_ascii: str, local: str, domain: str, hostile: bool
    ) -> tuple[list[dict], tuple[int, str] | None]:
        """Past profile edits that lead to the current values; the old email, if changed."""
        rnd, now = self.rnd, self.now
        if rnd() >= 0.12 and not hostile:
            return [], None
        entries = []
        email_changed = None
        t = self.reg
        for j in range(1 + (rnd() < 0.3) + (rnd() < 0.1)):
            t = t + int(rnd() * (now - t) * 0.5) + 60
            if t > now:
                break
            u = rnd()
            if hostile and j == 0:
                changes = [{"field": "firstName", "from": "Test", "to": self.first}]
            elif u < 0.4 and email_changed is None:
                other = EMAIL_DOMAINS[(EMAIL_DOMAINS.index(domain) + 1) % len(EMAIL_DOMAINS)]
                old = f"{local}@{other}"
                changes = [{"field": "email", "from": old, "to": self.email_address}]
                email_changed = (t, old)
            elif u < 0.65:
                changes = [{"field": "firstName", "from": first_ascii, "to": self.first}]
                if rnd() < 0.3:
                    changes.append({"field": "lastName", "from": last_ascii, "to": self.last})
            elif u < 0.85 and self.company is None:
                self.company = self.make_company()
                changes = [{"field": "companyName", "from": None, "to": self.company}]
            else:
                old_last = self.pick(self.country.last_names)[0]
                changes = [{"field": "lastName", "from": old_last, "to": self.last}]
            editor = "system" if rnd() < 0.5 else self.pick(AGENTS)
            entries.append(
                {
                    "id": 800_000_000 + self.i * 8 + j,
                    "customerId": self.cid,
                    "date": t,
                    "editor": editor,
                    "changes": changes,
                }
            )
        return entries, email_changed


_POSTCODE_PATTERNS: dict[str, tuple[int, int, str]] = {}


def _postcode(fmt: str, rnd) -> str:
    """Fill a postcode format ("#" digit, "A" letter) with two random draws."""
    compiled = _POSTCODE_PATTERNS.get(fmt)
    if compiled is None:
        digits = fmt.count("#")
        slots, d, a = [], 0, digits
        for ch in fmt:
            if ch == "#":
                slots.append("{%d}" % d)
                d += 1
            elif ch == "A":
                slots.append("{%d}" % a)
                a += 1
            else:
                slots.append(ch.replace("{", "{{").replace("}", "}}"))
        compiled = _POSTCODE_PATTERNS[fmt] = (digits, a - digits, "".join(slots))
    n_digits, n_letters, pattern = compiled
    chars = f"{int(rnd() * 10**n_digits):0{n_digits}d}" if n_digits else ""
    if n_letters:
        x = int(rnd() * 26**n_letters)
        for _ in range(n_letters):
            x, r = divmod(x, 26)
            chars += chr(65 + r)
    return pattern.format(*chars)


def discounted(price: float, percent: float, whole: bool) -> float:
    """`price` less `percent` %, in cents (or whole units for currencies without cents)."""
    value = price * (100 - percent) / 100
    return float(round(value)) if whole else round(value, 2)

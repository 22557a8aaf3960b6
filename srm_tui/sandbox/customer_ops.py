"""Writes on customers and what they own, with the vendor's rules (docs/sandbox-api.md).

Every operation validates its whole input (400) and checks its rules (422) before it changes
anything, so a refused request leaves no trace. Records are replaced, never mutated in place.

Over 400 lines: one validated handler per write the vendor documents, sharing the input
checks and the rule helpers; split by record type they would import each other.
"""

from __future__ import annotations

import copy
import time

from . import validate
from .catalog import DAY, PERIOD_SECONDS
from .errors import BadRequest, NotFound, Unprocessable
from .generator import (
    EMAIL_TEMPLATES,
    IN_APP,
    PAYMENT_METHOD_BY_ID,
    WEB_GATEWAYS,
    discounted,
    format_date,
)
from .store import atomic

REFUND_WINDOW = 30 * DAY
REFUNDABLE_GATEWAYS = WEB_GATEWAYS
PERSONAL_FIELDS = frozenset(
    {
        "email",
        "firstName",
        "lastName",
        "lastUserIp",
        "externalId",
        "externalData",
        "companyName",
        "address",
        "city",
        "state",
        "postCode",
        "birthDate",
    }
)
CUSTOMER_FIELDS = frozenset(
    {
        "id",
        "firstName",
        "lastName",
        "email",
        "country",
        "currency",
        "locale",
        "externalId",
        "externalData",
        "companyName",
        "lastUserIp",
        "lastLoginDate",
    }
)


def subscription_state(sub: dict, now: int) -> str:
    """Lifecycle state of CONTRACT section 5: paused, churned, cancelled, grace, trial, active."""
    status = sub["status"]
    if status == "paused":
        return "paused"
    if status == "terminated" or (status == "stopped" and sub["dateTo"] < now):
        return "churned"
    if status == "stopped":
        return "cancelled"
    if sub["dateTo"] < now:
        return "grace"
    return "trial" if sub["inTrial"] else "active"


def _money(value: float, currency: str) -> float:
    return float(round(value)) if currency == "JPY" else round(value, 2)


class CustomerOps:
    """Mixin for SandboxState: customer, access, payment, email and note operations."""

    # -- lookups ---------------------------------------------------------------------------

    def _customer(self, customer_id, message: str = "Customer not found") -> dict:
        customer = self.get("customers", customer_id)
        if customer is None:
            raise NotFound(message)
        return customer

    def _customer_event(self, customer: dict, entities: list[str]) -> None:
        self.emit(
            "customerUpdated",
            {
                "customerId": customer["id"],
                "customerEmail": customer["email"],
                "customerExternalId": customer["externalId"],
                "entities": entities,
            },
        )

    def _add_email(
        self,
        customer: dict,
        kind: str,
        title: str,
        txn_id: str | None,
        in_app: bool,
        to: str | None = None,
    ) -> dict:
        subject, body = EMAIL_TEMPLATES[kind]
        return self.put(
            "emails",
            {
                "id": self.new_id("emails"),
                "customerId": customer["id"],
                "type": kind,
                "subject": subject[0] + title + subject[1],
                "to": to or customer["email"],
                "status": "generated" if in_app else "sent",
                "createdAt": self.now(),
                "transactionId": txn_id,
                "body": body[0] + (customer["firstName"] or "") + body[1] + title + body[2],
            },
        )

    # -- customers -------------------------------------------------------------------------

    @atomic
    def register_customer(self, body: dict) -> dict:
        """POST /customers: a new customer, a welcome email, `customerRegistered`."""
        validate.only(
            body,
            {
                "email",
                "country",
                "currency",
                "locale",
                "firstName",
                "lastName",
                "externalId",
                "password",
            },
        )
        email = validate.email(body.get("email"))
        country = validate.pattern(body.get("country"), "country", validate.COUNTRY_RE)
        currency = validate.pattern(body.get("currency"), "currency", validate.CURRENCY_RE)
        locale = validate.pattern(body.get("locale"), "locale", validate.LOCALE_RE)
        first = validate.text(body.get("firstName"), "firstName", 50, min_len=0, nullable=True)
        last = validate.text(body.get("lastName"), "lastName", 50, min_len=0, nullable=True)
        external = validate.text(body.get("externalId"), "externalId", 120, nullable=True)
        if email.lower() in self.email_index:
            raise Unprocessable("Customer with this email already exists")
        now = self.now()
        customer = self.put(
            "customers",
            {
                "id": self.new_id("customers"),
                "email": email,
                "firstName": first,
                "lastName": last,
                "country": country,
                "currency": currency,
                "locale": locale,
                "regDate": format_date(now),
                "lastLoginDate": None,
                "lastUserIp": None,
                "externalId": external,
                "externalData": None,
                "capture": {
                    "address": None,
                    "city": None,
                    "state": None,
                    "postCode": None,
                    "birthDate": None,
                    "companyName": None,
                },
            },
        )
        self._add_email(customer, "welcome", "", None, False)
        self.emit(
            "customerRegistered",
            {"customerId": customer["id"], "customerEmail": email, "customerExternalId": external},
        )
        return customer

    @atomic
    def edit_customer(self, customer_id, body: dict, editor: str = "system") -> dict:
        """PATCH /customers/{id}: one history entry listing every field that changed."""
        validate.only(body, CUSTOMER_FIELDS)
        customer = self._customer(customer_id)
        if "id" in body and body["id"] != customer["id"]:
            raise BadRequest("id does not match the customer")
        values = {
            name: self._customer_value(name, value, customer["id"])
            for name, value in body.items()
            if name != "id"
        }
        if customer["email"] is None:
            raise Unprocessable("Customer has been anonymized")
        new = copy.deepcopy(customer)
        changes = []
        for name, value in values.items():
            target = new["capture"] if name == "companyName" else new
            if target[name] != value:
                changes.append({"field": name, "from": target[name], "to": value})
                target[name] = value
        if not changes:
            return customer
        self.put("customers", new)
        self.put(
            "history",
            {
                "id": self.new_id("history"),
                "customerId": new["id"],
                "date": self.now(),
                "editor": editor or "system",
                "changes": changes,
            },
        )
        self._customer_event(new, ["customers", "history"])
        return new

    def _customer_value(self, name: str, value, customer_id: int):
        if name in ("firstName", "lastName"):
            return validate.text(value, name, 50, min_len=0)
        if name == "email":
            email = validate.email(value)
            owner = self.email_index.get(email.lower())
            if owner is not None and owner != customer_id:
                raise Unprocessable("Customer with this email already exists")
            return email
        if name == "country":
            return validate.pattern(value, name, validate.COUNTRY_RE)
        if name == "currency":
            return validate.pattern(value, name, validate.CURRENCY_RE)
        if name == "locale":
            return validate.pattern(value, name, validate.LOCALE_RE)
        if name == "externalId":
            return validate.text(value, name, 120)
        if name == "externalData":
            return validate.mapping(value, name)
        if name == "companyName":
            return validate.text(value, name, 100, nullable=True)
        if name == "lastUserIp":
            return validate.text(value, name, 45)
        return format_date(validate.integer(value, name, minimum=0))  # lastLoginDate

    @atomic
    def anonymize_customer(self, customer_id) -> None:
        """DELETE /customers/{id}: wipe personal data; refused while any access is not churned."""
        customer = self._customer(
            customer_id, "User does not exist or is also associated with other broadcasters"
        )
        now = self.now()
        for sub in self.of_customer("subscriptions", customer["id"]):
            if subscription_state(sub, now) != "churned":
                raise Unprocessable("User has an active subscription")
        if customer["email"] is None:
            return
        new = dict(
            customer,
            email=None,
            firstName=None,
            lastName=None,
            lastUserIp=None,
            externalId=None,
            externalData=None,
            capture={name: None for name in customer["capture"]},
        )
        self.put("customers", new)
        for email in self.of_customer("emails", customer["id"]):
            if email["to"] is not None or email["body"] is not None:
                self.put("emails", dict(email, to=None, body=None))
        for entry in self.of_customer("history", customer["id"]):
            if any(c["field"] in PERSONAL_FIELDS for c in entry["changes"]):
                changes = [
                    dict(c, **{"from": None, "to": None}) if c["field"] in PERSONAL_FIELDS else c
                    for c in entry["changes"]
                ]
                self.put("history", dict(entry, changes=changes))
        for details in self.of_customer("payment_details", customer["id"]):
            params = details["paymentMethodSpecificParams"]
            if params.get("holderName") is not None:
                self.put(
                    "payment_details",
                    dict(details, paymentMethodSpecificParams=dict(params, holderName=None)),
                )
        self._customer_event(new, ["customers", "emails", "history", "payment_details"])

    # -- subscriptions and passes ----------------------------------------------------------

    @atomic
    def patch_subscription(self, subscription_id, body: dict) -> dict:
        """PATCH /subscriptions/{id}: extend (`expiresAt`), `couponCode`, `externalProperties`."""
        validate.only(body, {"expiresAt", "couponCode", "externalProperties"})
        if not body:
            raise BadRequest("Nothing to update")
        sub = self.get("subscriptions", subscription_id)
        if sub is None:
            raise NotFound(f"Subscription with id {subscription_id} does not exists")
        new = copy.deepcopy(sub)
        if "expiresAt" in body:
            expires = validate.integer(
                body["expiresAt"], "expiresAt", minimum=1, maximum=99_999_999_999
            )
            if sub["status"] == "terminated":
                raise Unprocessable("Subscription is terminated")
            if expires < sub["dateTo"]:
                raise Unprocessable("New expiration date cannot be earlier than the current one")
            new["dateTo"] = expires
        if "couponCode" in body:
            code = validate.pattern(body["couponCode"], "couponCode", validate.COUPON_RE)
            percent = self.coupon_discount(code, "S")
            if percent is None:
                raise Unprocessable("Coupon code is not valid")
            if sub["status"] == "terminated":
                raise Unprocessable("Subscription is terminated")
            found = self.localization(sub["offerId"])
            price = found[1]["price"]["amount"] if found else sub["nextPaymentPrice"]
            new["couponCode"] = code
            new["nextPaymentPrice"] = discounted(
                price, percent, sub["nextPaymentCurrency"] == "JPY"
            )
        if "externalProperties" in body:
            new["externalProperties"] = validate.mapping(
                body["externalProperties"], "externalProperties"
            )
        if new == sub:
            return sub
        self.put("subscriptions", new)
        self._customer_event(self._customer(sub["customerId"]), ["subscriptions"])
        return new

    @atomic
    def cancel_subscription(self, subscription_id, body: dict) -> dict:
        """POST /subscriptions/{id}/cancel: active -> stopped; access stays until dateTo."""
        validate.only(body, {"cancellationReason"})
        reason = validate.text(body.get("cancellationReason"), "cancellationReason", 512)
        sub = self.get("subscriptions", subscription_id)
        if sub is None:
            raise NotFound(f"Subscription with id: {subscription_id} not found")
        if sub["status"] != "active":
            raise Unprocessable("Only active subscriptions can be cancelled")
        if sub["isExternallyManaged"]:
            raise Unprocessable(
                f"Subscription is managed by the {sub['paymentGateway']} store "
                "and can only be cancelled there"
            )
        new = dict(sub, status="stopped", cancellationReason=reason)
        self.put("subscriptions", new)
        customer = self._customer(sub["customerId"])
        if customer["email"]:
            title = self.offer_title(sub["offerId"])
            self._add_email(customer, "subscription_stopped", title, None, False)
        self._customer_event(customer, ["subscriptions", "emails"])
        return new

    @atomic
    def patch_pass(self, pass_id, body: dict) -> dict:
        """PATCH /passes/{id}: `expiresAt` (null = no end) may only move later."""
        validate.only(body, {"expiresAt", "externalProperties"})
        if not body:
            raise BadRequest("Nothing to update")
        record = self.get("passes", pass_id)
        if record is None:
            raise NotFound("Pass not found")
        new = copy.deepcopy(record)
        if "expiresAt" in body:
            expires = validate.integer(
                body["expiresAt"], "expiresAt", minimum=1, maximum=99_999_999_999, nullable=True
            )
            if record["status"] == "terminated":
                raise Unprocessable("Pass is terminated")
            current = record["expiresAt"]
            if expires is not None and (current is None or expires < current):
                raise Unprocessable("New expiration date cannot be earlier than the current one")
            new["expiresAt"] = expires
        if "externalProperties" in body:
            new["externalProperties"] = validate.mapping(
                body["externalProperties"], "externalProperties"
            )
        if new == record:
            return record
        self.put("passes", new)
        if new["expiresAt"] != record["expiresAt"]:
            self.emit(
                "passExpirationChanged",
                dict(
                    self._pass_event(new), previousExpirationDate=_iso_or_none(record["expiresAt"])
                ),
            )
        return new

    def _pass_event(self, record: dict) -> dict:
        customer = self.get("customers", record["customerId"]) or {}
        now = self.now()
        return {
            "passId": record["passId"],
            "offerId": record["offerId"],
            "customerId": record["customerId"],
            "customerEmail": customer.get("email"),
            "customerExternalId": customer.get("externalId"),
            "active": record["status"] == "active"
            and (record["expiresAt"] is None or record["expiresAt"] >= now),
            "expirationDate": _iso_or_none(record["expiresAt"]),
        }

    # -- payments and transactions ---------------------------------------------------------

    @atomic
    def record_payment(self, body: dict) -> dict:
        """POST /payments: a captured payment grants or renews access; a rejected one is kept."""
        validate.only(
            body,
            {
                "customerId",
                "status",
                "offerId",
                "paymentMethodId",
                "netAmount",
                "taxAmount",
                "currency",
                "country",
                "externalPaymentId",
                "rejectedReason",
                "subscriptionId",
            },
        )
        for field in (
            "customerId",
            "status",
            "offerId",
            "paymentMethodId",
            "netAmount",
            "taxAmount",
            "currency",
            "externalPaymentId",
        ):
            if field not in body:
                raise BadRequest(f"{field} is required")
        status = body["status"]
        if status not in ("captured", "rejected"):
            raise BadRequest("status must be captured or rejected")
        net = validate.number(body["netAmount"], "netAmount", minimum=0)
        tax = validate.number(body["taxAmount"] or 0, "taxAmount", minimum=0)
        currency = validate.pattern(body["currency"], "currency", validate.CURRENCY_RE)
        external = validate.text(body["externalPaymentId"], "externalPaymentId", 255)
        reason = validate.text(body.get("rejectedReason"), "rejectedReason", 512, nullable=True)
        method = PAYMENT_METHOD_BY_ID.get(body["paymentMethodId"])
        customer = self.get("customers", body["customerId"])
        found = self.localization(body["offerId"]) if isinstance(body["offerId"], str) else None
        if customer is None:
            raise BadRequest("Customer not found")
        if found is None:
            raise BadRequest("Offer not found")
        if method is None:
            raise BadRequest("Unknown paymentMethodId")
        offer, loc = found
        if currency != loc["price"]["currency"]:
            raise BadRequest(f"Offer {loc['id']} is sold in {loc['price']['currency']}")
        sub = None
        if body.get("subscriptionId") is not None:
            sub = self.get("subscriptions", body["subscriptionId"])
            if sub is None or sub["customerId"] != customer["id"] or sub["offerId"] != loc["id"]:
                raise BadRequest("Subscription not found for this customer and offer")
            if sub["status"] == "terminated" and status == "captured":
                raise BadRequest("Subscription is terminated")
        letter = offer["id"][0]
        gateway, pm = method
        in_app = gateway in IN_APP
        amount = _money(net + tax, currency)
        txn = {
            "transactionId": self.new_id("transactions"),
            "customerId": customer["id"],
            "transactionDate": self.now(),
            "offerId": loc["id"],
            "offerType": letter,
            "offerTitle": loc["title"],
            "subscriptionId": None,
            "passId": None,
            "amount": amount,
            "currency": currency,
            "status": status,
            "paymentGateway": gateway,
            "paymentMethod": pm,
            "externalPaymentId": external,
            "rejectedReason": (reason or "Unknown") if status == "rejected" else None,
            "refundedAmount": 0,
            "refundedReason": None,
            "isGift": False,
            "paymentOperation": "recurring-payment" if sub else "initial-payment",
        }
        created_pass = None
        if sub is not None:
            txn["subscriptionId"] = sub["subscriptionId"]
            if status == "captured":
                self._renew(sub, offer)
        elif status == "captured" and letter == "S":
            txn["subscriptionId"] = self._new_subscription(
                customer, offer, loc, amount, method, body["paymentMethodId"]
            )
        elif status == "captured":
            created_pass = self._new_pass(customer, offer, loc, method, body["paymentMethodId"])
            txn["passId"] = created_pass["passId"]
        self.put("transactions", txn)
        if customer["email"]:
            kind = (
                "payment_failed"
                if status == "rejected"
                else "subscription_renewed"
                if sub
                else "access_purchased"
            )
            self._add_email(customer, kind, loc["title"], txn["transactionId"], in_app)
        self.emit("transactionCreated", self._transaction_event(txn, customer, loc, net, tax))
        if created_pass is not None:
            self.emit("passCreated", self._pass_event(created_pass))
        payment = {
            "id": int(txn["transactionId"][1:]),
            "orderId": None,
            "status": status,
            "totalAmount": amount,
            "amount": net,
            "currency": currency,
            "country": body.get("country") or customer["country"],
            "customerId": customer["id"],
            "offerId": loc["id"],
            "offerType": letter,
            "paymentGateway": gateway,
            "paymentMethod": pm,
            "externalPaymentId": external,
            "couponCodeId": None,
            "taxValue": tax,
            "paymentMethodFee": 0,
            "customerServiceFee": 0,
            "rejectedReason": txn["rejectedReason"],
            "refundedReason": None,
            "paymentDetailsId": None,
            "paymentOperation": txn["paymentOperation"],
            "gatewaySpecificParams": {},
            "transactionId": txn["transactionId"],
        }
        return {"success": True, "message": "Payment created successfully", "payment": payment}

    def _transaction_event(
        self, txn: dict, customer: dict, loc: dict, net: float, tax: float
    ) -> dict:
        return {
            "offerId": txn["offerId"],
            "transactionId": txn["transactionId"],
            "transactionDate": txn["transactionDate"],
            "transactionCountry": customer["country"],
            "transactionCurrency": txn["currency"],
            "taxRate": round(tax / net, 4) if net else 0,
            "transactionPriceExclTax": f"{net:.4f}",
            "transactionPriceInclTax": f"{net + tax:.4f}",
            "applicableTax": f"{tax:.4f}",
            "appliedExchangeRate": 1,
            # The gateway's reference, as in the vendor's example (cleeng-exports.md 9), not
            # the customer's externalData (personal, and not what the topic describes).
            "externalData": txn["externalPaymentId"],
            "customerId": customer["id"],
            "customerEmail": customer["email"],
            "customerExternalId": customer["externalId"],
            "paymentId": int(txn["transactionId"][1:]),
            "offerPrice": loc["price"]["amount"],
            "offerCurrency": loc["price"]["currency"],
            "discountRate": 0,
            "subscriptionId": txn["subscriptionId"],
            "passId": txn["passId"],
            "status": txn["status"],
            "paymentGateway": txn["paymentGateway"],
        }

    def _period_end(self, offer: dict, start: int) -> int:
        cycle = offer.get("billingCycle") or {"periodUnit": "month", "amount": 1}
        if cycle["periodUnit"] == "season":
            return self.next_season_start(offer.get("seasonGroupId"), start)
        unit = {"day": "day", "week": "week", "month": "month", "year": "year"}[cycle["periodUnit"]]
        return start + PERIOD_SECONDS[unit] * cycle["amount"]

    def _renew(self, sub: dict, offer: dict) -> None:
        start = max(sub["dateTo"], self.now())
        renewal = dict(sub["renewalCycle"], completed=sub["renewalCycle"]["completed"] + 1)
        status = "active" if sub["status"] in ("active", "stopped") else sub["status"]
        self.put(
            "subscriptions",
            dict(
                sub,
                dateTo=self._period_end(offer, start),
                inTrial=False,
                status=status,
                renewalCycle=renewal,
            ),
        )

    def _new_subscription(
        self,
        customer: dict,
        offer: dict,
        loc: dict,
        amount: float,
        method: tuple[str, str],
        method_id: int,
    ) -> int:
        now = self.now()
        cycle = offer.get("billingCycle") or {"periodUnit": "month", "amount": 1}
        unit, count = cycle["periodUnit"], cycle["amount"]
        period = (
            "season"
            if unit == "season"
            else {("month", 3): "3months", ("month", 6): "6months"}.get((unit, count), unit)
        )
        gateway, pm = method
        details = next(
            (
                d["id"]
                for d in self.of_customer("payment_details", customer["id"])
                if d["active"] and (d["paymentGateway"], d["paymentMethod"]) == method
            ),
            None,
        )
        sub = self.put(
            "subscriptions",
            {
                "subscriptionId": self.new_id("subscriptions"),
                "customerId": customer["id"],
                "offerId": loc["id"],
                "status": "active",
                "dateFrom": now,
                "dateTo": self._period_end(offer, now),
                "inTrial": False,
                "createdAt": now,
                "period": period,
                "nextPaymentPrice": amount,
                "nextPaymentCurrency": loc["price"]["currency"],
                "paymentGateway": gateway,
                "paymentMethod": pm,
                "couponCode": None,
                "paymentMethodId": method_id,
                "paymentDetailsId": details,
                "renewalCycle": {"completed": 0, "unit": unit, "amount": count},
                "externalProperties": {},
                "isExternallyManaged": gateway in IN_APP,
                "pause": None,
                "cancellationReason": None,
            },
        )
        return sub["subscriptionId"]

    def _new_pass(
        self, customer: dict, offer: dict, loc: dict, method: tuple[str, str], method_id: int
    ) -> dict:
        now = self.now()
        entitlement = offer.get("entitlement") or {}
        if offer.get("event"):
            expires = offer["event"]["endsAt"]
        elif entitlement.get("expirationPolicy") == "fixed-date":
            expires = entitlement.get("expiresAt")
        elif entitlement.get("duration"):
            duration = entitlement["duration"]
            unit = {
                "hour": 3600,
                "day": DAY,
                "week": 7 * DAY,
                "month": 30 * DAY,
                "year": 365 * DAY,
            }[duration["periodUnit"]]
            expires = now + duration["amount"] * unit
        else:
            expires = None
        pass_id = self.new_id("passes")
        return self.put(
            "passes",
            {
                "passId": pass_id,
                "customerId": customer["id"],
                "offerId": loc["id"],
                "status": "active",
                "createdAt": now,
                "expiresAt": expires,
                "externalId": f"{method[0]}-{pass_id}" if method[0] in IN_APP else None,
                "externalProperties": {},
                "paymentMethodId": method_id,
                "isExternallyManaged": method[0] in IN_APP,
            },
        )

    def _transaction(self, transaction_id) -> dict:
        txn = self.get("transactions", transaction_id)
        if txn is None:
            raise NotFound("Transaction not found")
        return txn

    def _check_refund(self, txn: dict, amount: float | None) -> float:
        """The amount to refund, or the rule that forbids it."""
        if txn["status"] not in ("captured", "refunded"):
            raise Unprocessable("Only captured transactions can be refunded")
        remaining = _money(txn["amount"] - (txn["refundedAmount"] or 0), txn["currency"])
        if remaining <= 0:
            raise Unprocessable(
                "Transaction is already fully refunded"
                if txn["amount"] > 0
                else "Transaction has no amount to refund"
            )
        if txn["paymentGateway"] not in REFUNDABLE_GATEWAYS:
            raise Unprocessable(
                "Only card and PayPal payments can be refunded; in-app purchases "
                "are refunded by the app store"
            )
        if txn["isGift"]:
            raise Unprocessable("Gift purchases cannot be refunded")
        if txn["transactionDate"] < self.now() - REFUND_WINDOW:
            raise Unprocessable("Transactions older than 30 days cannot be refunded")
        if amount is None:
            return remaining
        if amount > remaining + 1e-9:
            raise Unprocessable(f"Refund amount exceeds the refundable amount ({remaining})")
        return amount

    def _apply_refund(self, txn: dict, amount: float, reason: str) -> dict:
        refunded = _money((txn["refundedAmount"] or 0) + amount, txn["currency"])
        return dict(txn, status="refunded", refundedAmount=refunded, refundedReason=reason)

    def _terminate_access(self, txn: dict) -> list[str]:
        """Revoke what the transaction bought; the entity names that changed."""
        now = self.now()
        if txn["subscriptionId"] is not None:
            sub = self.get("subscriptions", txn["subscriptionId"])
            if sub and sub["status"] != "terminated":
                self.put(
                    "subscriptions", dict(sub, status="terminated", dateTo=min(sub["dateTo"], now))
                )
                return ["subscriptions"]
        if txn["passId"] is not None:
            record = self.get("passes", txn["passId"])
            if record and record["status"] != "terminated":
                new = self.put("passes", dict(record, status="terminated"))
                self.emit("passTerminated", self._pass_event(new))
                return ["passes"]
        return []

    def _access_terminated(self, txn: dict) -> bool:
        if txn["subscriptionId"] is not None:
            sub = self.get("subscriptions", txn["subscriptionId"])
            return sub is None or sub["status"] == "terminated"
        if txn["passId"] is not None:
            record = self.get("passes", txn["passId"])
            return record is None or record["status"] == "terminated"
        return True

    @atomic
    def refund_transaction(self, transaction_id, body: dict) -> dict:
        """POST x-srm/transactions/{id}/refund: full or partial; optionally revoke access."""
        validate.only(body, {"amount", "reason", "keepAccess"})
        reason = validate.text(body.get("reason"), "reason", 512)
        amount = body.get("amount")
        if amount is not None and validate.number(amount, "amount") <= 0:
            raise BadRequest("amount must be greater than 0")
        keep_access = validate.boolean(body.get("keepAccess", True), "keepAccess")
        txn = self._transaction(transaction_id)
        amount = self._check_refund(txn, amount)
        new = self.put("transactions", self._apply_refund(txn, amount, reason))
        changed = ["transactions", "emails"]
        if not keep_access:
            changed += self._terminate_access(txn)
        customer = self._customer(txn["customerId"])
        if customer["email"]:
            self._add_email(
                customer, "refund_confirmation", txn["offerTitle"], txn["transactionId"], False
            )
        self._customer_event(customer, changed)
        return new

    @atomic
    def cancel_transaction(self, transaction_id, body: dict) -> dict:
        """POST x-srm/transactions/{id}/cancel: revoke the access it bought; refund if asked."""
        validate.only(body, {"refund"})
        refund = validate.boolean(body.get("refund", False), "refund")
        txn = self._transaction(transaction_id)
        if txn["status"] not in ("captured", "refunded"):
            raise Unprocessable("Only captured transactions can be cancelled")
        if txn["subscriptionId"] is None and txn["passId"] is None:
            raise Unprocessable("Transaction did not buy any access")
        amount = self._check_refund(txn, None) if refund else None
        if amount is None and self._access_terminated(txn):
            raise Unprocessable("Access bought with this transaction is already terminated")
        changed = self._terminate_access(txn)
        new = txn
        if amount is not None:
            new = self.put("transactions", self._apply_refund(txn, amount, "Transaction cancelled"))
            changed.append("transactions")
        customer = self._customer(txn["customerId"])
        if amount is not None and customer["email"]:
            self._add_email(
                customer, "refund_confirmation", txn["offerTitle"], txn["transactionId"], False
            )
            changed.append("emails")
        self._customer_event(customer, changed)
        return new

    # -- payment details, emails, notes ----------------------------------------------------

    @atomic
    def delete_payment_details(self, details_id) -> dict:
        """DELETE x-srm/payment_details/{id}: deactivated and detached from subscriptions."""
        details = self.get("payment_details", details_id)
        if details is None:
            raise NotFound("Payment details not found")
        if not details["active"]:
            raise Unprocessable("Payment details are not active")
        if details["bound"]:
            raise Unprocessable("Payment details bound to an in-app subscription cannot be deleted")
        new = self.put("payment_details", dict(details, active=False, subscriptionIds=[]))
        for sub in self.of_customer("subscriptions", details["customerId"]):
            if sub["paymentDetailsId"] == details["id"]:
                self.put("subscriptions", dict(sub, paymentDetailsId=None))
        self._customer_event(
            self._customer(details["customerId"]), ["payment_details", "subscriptions"]
        )
        return new

    @atomic
    def resend_email(self, email_id, body: dict) -> dict:
        """POST x-srm/emails/{id}/resend: a new `sent` copy, to `to` or the current address."""
        validate.only(body, {"to"})
        to = validate.email(body["to"], "to") if body.get("to") is not None else None
        email = self.get("emails", email_id)
        if email is None:
            raise NotFound("Email not found")
        customer = self._customer(email["customerId"])
        to = to or customer["email"]
        if to is None:
            raise Unprocessable("Customer has no email address")
        new = self.put(
            "emails",
            dict(email, id=self.new_id("emails"), to=to, status="sent", createdAt=self.now()),
        )
        self._customer_event(customer, ["emails"])
        return new

    @atomic
    def add_note(self, body: dict) -> dict:
        """POST x-srm/notes: up to 2,500 characters by an agent."""
        validate.only(body, {"customerId", "author", "text"})
        author = validate.text(body.get("author"), "author", 100)
        text = validate.text(body.get("text"), "text", 2500)
        customer = self._customer(body.get("customerId"))
        now = self.now()
        note = self.put(
            "notes",
            {
                "id": self.new_id("notes"),
                "customerId": customer["id"],
                "author": author,
                "text": text,
                "createdAt": now,
                "updatedAt": now,
                "deletedAt": None,
                "deletedBy": None,
                "revisions": [],
            },
        )
        self._customer_event(customer, ["notes"])
        return note

    def _live_note(self, note_id) -> dict:
        note = self.get("notes", note_id)
        if note is None:
            raise NotFound("Note not found")
        if note["deletedAt"] is not None:
            raise Unprocessable("Note has been deleted")
        return note

    @atomic
    def edit_note(self, note_id, body: dict) -> dict:
        """PATCH x-srm/notes/{id}: the old text is kept as a revision."""
        validate.only(body, {"text", "editor"})
        text = validate.text(body.get("text"), "text", 2500)
        editor = validate.text(body.get("editor"), "editor", 100)
        note = self._live_note(note_id)
        if text == note["text"]:
            return note
        now = self.now()
        revisions = note["revisions"] + [{"text": note["text"], "editedAt": now, "editor": editor}]
        new = self.put("notes", dict(note, text=text, updatedAt=now, revisions=revisions))
        self._customer_event(self._customer(note["customerId"]), ["notes"])
        return new

    @atomic
    def delete_note(self, note_id, editor: str | None) -> dict:
        """DELETE x-srm/notes/{id}: soft delete (`deletedAt`, `deletedBy`)."""
        editor = validate.text(editor, "editor", 100, nullable=True)
        note = self._live_note(note_id)
        new = self.put("notes", dict(note, deletedAt=self.now(), deletedBy=editor))
        self._customer_event(self._customer(note["customerId"]), ["notes"])
        return new


def _iso_or_none(ts: int | None) -> str | None:
    return None if ts is None else time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))

"""The vendor's published subscription and pass calls the sandbox answered 404 before the
vendor profile: terminate, pause, resume, activate, transfer, renew, revive, switches, the
externally-managed creates, password resets, payment-method configs and attempt restrictions.

Like customer_ops.py: the whole input is checked (400), then the rules (422), then records
are replaced (never mutated in place), so a refusal leaves no trace.

Over 400 lines: one handler per published call, each short; they share the record
replacement and rule helpers below.
"""

from __future__ import annotations

import copy
import uuid

from . import validate
from .catalog import PERIOD_SECONDS
from .errors import BadRequest, NotFound, Unprocessable
from .generator import IN_APP, PAYMENT_METHOD_BY_ID, PAYMENT_METHOD_IDS
from .offer_ops import LONG_ID_RE
from .store import atomic

TERMINATION_TYPES = ("paymentCancel", "userCancel", "publisherCancel", "policyViolation")
MAX_TIMESTAMP = 99_999_999_999


class AccessOps:
    """Mixin for SandboxState: the vendor's subscription, pass and connector calls."""

    # -- lookups ---------------------------------------------------------------------------

    def _subscription(self, subscription_id) -> dict:
        sub = self.get("subscriptions", subscription_id)
        if sub is None:
            raise NotFound(f"Subscription with id {subscription_id} does not exists")
        return sub

    def _pass(self, pass_id) -> dict:
        record = self.get("passes", pass_id)
        if record is None:
            raise NotFound("Pass not found")
        return record

    def _target_customer(self, body: dict, current: int) -> dict:
        validate.only(body, {"customerId"})
        customer_id = validate.integer(
            body.get("customerId"), "customerId", minimum=100_000_000, maximum=9_999_999_999
        )
        customer = self.get("customers", customer_id)
        if customer is None:
            raise NotFound("Customer not found")
        if customer_id == current:
            raise Unprocessable("Access already belongs to this customer")
        if customer["email"] is None:
            raise Unprocessable("Customer is anonymized")
        return customer

    def _move(self, entity: str, key, old_customer: int, new_customer: int) -> None:
        """Keep the per-customer index right when a record changes hands."""
        keys = self.children[entity].get(old_customer, [])
        if key in keys:
            keys.remove(key)
        self.children[entity].setdefault(new_customer, []).append(key)

    def _period_of(self, sub: dict) -> int:
        return PERIOD_SECONDS.get(sub.get("period") or "month", PERIOD_SECONDS["month"])

    def _touch(self, customer_id: int, entities: list[str]) -> None:
        customer = self.get("customers", customer_id)
        if customer is not None:
            self._customer_event(customer, entities)

    # -- subscriptions ---------------------------------------------------------------------

    @atomic
    def terminate_subscription(self, subscription_id, body: dict) -> dict:
        """POST /subscriptions/{id}/terminate: access ends now; the type is kept."""
        validate.only(body, {"terminationType"})
        kind = body.get("terminationType")
        if kind not in TERMINATION_TYPES:
            raise BadRequest("terminationType must be one of " + ", ".join(TERMINATION_TYPES))
        sub = self._subscription(subscription_id)
        if sub["status"] == "terminated":
            raise Unprocessable("Subscription is already terminated")
        new = dict(
            sub,
            status="terminated",
            dateTo=min(sub["dateTo"], self.now()),
            pause=None,
            terminationType=kind,
        )
        self.put("subscriptions", new)
        self._touch(sub["customerId"], ["subscriptions"])
        return new

    @atomic
    def pause_subscription(self, subscription_id, body: dict) -> dict:
        """POST /subscriptions/{id}/pause: from the end of the paid period, N cycles."""
        validate.only(body, {"pauseDate", "resumesAfterBillingCycles"})
        if body.get("pauseDate") != "anniversary-date":
            raise BadRequest("pauseDate must be anniversary-date")
        cycles = validate.integer(
            body.get("resumesAfterBillingCycles"), "resumesAfterBillingCycles", minimum=1
        )
        sub = self._subscription(subscription_id)
        if sub["status"] not in ("active", "stopped"):
            raise Unprocessable("Only active or cancelled subscriptions can be paused")
        if sub["inTrial"]:
            raise Unprocessable("Subscription in trial cannot be paused")
        if sub["isExternallyManaged"]:
            raise Unprocessable("Externally managed subscription cannot be paused")
        found = self.localization(sub["offerId"])
        allowed = ((found[0].get("pause") or {}).get("maxBillingCycles") or 0) if found else 0
        if not allowed:
            raise Unprocessable("Pausing is not enabled for this offer")
        if cycles > allowed:
            raise BadRequest("Maximum limit of allowed billing cycles exceeded")
        now = self.now()
        pause = {
            "requestedAt": now,
            "pauseDate": sub["dateTo"],
            "resumeDate": sub["dateTo"] + cycles * self._period_of(sub),
            "failedResumes": [],
        }
        new = dict(sub, status="paused", pause=pause)
        self.put("subscriptions", new)
        self._touch(sub["customerId"], ["subscriptions"])
        return new

    @atomic
    def resume_subscription(self, subscription_id, body: dict) -> dict:
        """POST /subscriptions/{id}/resume: a paused subscription renews again."""
        validate.only(body, set())
        sub = self._subscription(subscription_id)
        if sub["status"] != "paused":
            raise Unprocessable("Only paused subscriptions can be resumed")
        new = dict(sub, status="active", pause=None)
        self.put("subscriptions", new)
        self._touch(sub["customerId"], ["subscriptions"])
        return new

    @atomic
    def activate_subscription(self, subscription_id, body: dict) -> dict:
        """POST /subscriptions/{id}/activate: a cancelled (stopped) one renews again."""
        validate.only(body, set())
        sub = self._subscription(subscription_id)
        if sub["status"] != "stopped":
            raise Unprocessable("Only cancelled subscriptions can be activated")
        if sub["dateTo"] < self.now():
            raise Unprocessable("Subscription has expired")
        new = dict(sub, status="active", cancellationReason=None)
        self.put("subscriptions", new)
        self._touch(sub["customerId"], ["subscriptions"])
        return new

    @atomic
    def transfer_subscription(self, subscription_id, body: dict) -> dict:
        """POST /subscriptions/{id}/transfer: the subscription moves to another customer."""
        sub = self._subscription(subscription_id)
        target = self._target_customer(body, sub["customerId"])
        if sub["status"] == "terminated":
            raise Unprocessable("Terminated subscription cannot be transferred")
        new = dict(sub, customerId=target["id"], paymentDetailsId=None)
        self._move("subscriptions", sub["subscriptionId"], sub["customerId"], target["id"])
        self.put("subscriptions", new)
        self._touch(sub["customerId"], ["subscriptions"])
        self._touch(target["id"], ["subscriptions"])
        return new

    @atomic
    def renew_subscription(self, subscription_id, body: dict) -> dict:
        """POST /subscriptions/{id}/renew (externally managed): a new paid period."""
        validate.only(body, {"expiresAt", "paymentId", "convertTrial"})
        sub = self._subscription(subscription_id)
        expires = validate.integer(
            body.get("expiresAt", sub["dateTo"] + self._period_of(sub)),
            "expiresAt",
            minimum=1,
            maximum=MAX_TIMESTAMP,
        )
        if "paymentId" in body:
            validate.integer(body["paymentId"], "paymentId", minimum=1)
        convert = validate.boolean(body.get("convertTrial", False), "convertTrial")
        if not sub["isExternallyManaged"]:
            raise Unprocessable("Only externally managed subscriptions can be renewed")
        if sub["status"] == "terminated":
            raise Unprocessable("Subscription is terminated")
        if expires <= sub["dateTo"]:
            raise Unprocessable("New expiration date must be later than the current one")
        renewal = dict(sub["renewalCycle"], completed=sub["renewalCycle"]["completed"] + 1)
        new = dict(
            sub,
            dateTo=expires,
            status="active",
            renewalCycle=renewal,
            inTrial=False if convert else sub["inTrial"],
        )
        self.put("subscriptions", new)
        self._touch(sub["customerId"], ["subscriptions"])
        return new

    @atomic
    def revive_subscription(self, subscription_id, body: dict) -> dict:
        """POST /subscriptions/{id}/revive (externally managed): a terminated one lives again."""
        validate.only(body, {"expirationDate"})
        expires = validate.integer(
            body.get("expirationDate"), "expirationDate", minimum=1, maximum=MAX_TIMESTAMP
        )
        sub = self._subscription(subscription_id)
        if not sub["isExternallyManaged"]:
            raise Unprocessable("Only externally managed subscriptions can be revived")
        if sub["status"] != "terminated":
            raise Unprocessable("Only terminated subscriptions can be revived")
        if expires <= self.now():
            raise Unprocessable("Expiration date must be in the future")
        new = dict(sub, status="active", dateTo=expires)
        new.pop("terminationType", None)
        self.put("subscriptions", new)
        self._touch(sub["customerId"], ["subscriptions"])
        return new

    def _ems_input(self, body: dict, letters: str) -> tuple[dict, dict, dict, tuple, int]:
        """Checks shared by the externally-managed creates: customer, offer, method."""
        for name in ("customerId", "offerId", "paymentMethodId", "externalId"):
            if name not in body:
                raise BadRequest(f"{name} is required")
        customer_id = validate.integer(
            body["customerId"], "customerId", minimum=100_000_000, maximum=999_999_999
        )
        offer_id = validate.pattern(body["offerId"], "offerId", LONG_ID_RE)
        method_id = validate.integer(body["paymentMethodId"], "paymentMethodId")
        validate.text(body["externalId"], "externalId", 120)
        if "paymentId" in body:
            validate.integer(body["paymentId"], "paymentId")
        validate.mapping(body.get("externalProperties"), "externalProperties", nullable=True)
        customer = self.get("customers", customer_id)
        if customer is None:
            raise Unprocessable("Customer not found")
        found = self.localization(offer_id)
        if found is None or found[0]["id"][0] not in letters:
            raise Unprocessable("Offer not found")
        method = PAYMENT_METHOD_BY_ID.get(method_id)
        if method is None:
            raise Unprocessable("Payment method not found")
        return customer, found[0], found[1], method, method_id

    @atomic
    def create_subscription(self, body: dict) -> dict:
        """POST /subscriptions: an externally managed subscription (201)."""
        validate.only(
            body,
            {
                "customerId",
                "offerId",
                "expiresAt",
                "paymentMethodId",
                "externalId",
                "inTrial",
                "paymentId",
                "externalProperties",
            },
        )
        customer, offer, loc, method, method_id = self._ems_input(body, "S")
        in_trial = validate.boolean(body.get("inTrial", False), "inTrial")
        expires = validate.integer(
            body.get("expiresAt"), "expiresAt", minimum=1, maximum=MAX_TIMESTAMP, nullable=True
        )
        sub_id = self._new_subscription(
            customer, offer, loc, loc["price"]["amount"], method, method_id
        )
        sub = self.get("subscriptions", sub_id)
        new = dict(
            sub,
            isExternallyManaged=True,
            inTrial=in_trial,
            externalProperties=body.get("externalProperties") or {},
            subscriptionExternalId=body["externalId"],
            dateTo=expires if expires is not None else sub["dateTo"],
        )
        self.put("subscriptions", new)
        self._touch(customer["id"], ["subscriptions"])
        return new

    @atomic
    def create_pass(self, body: dict) -> dict:
        """POST /passes: an externally managed pass (201); `passCreated`."""
        validate.only(
            body,
            {
                "customerId",
                "offerId",
                "expiresAt",
                "paymentMethodId",
                "externalId",
                "paymentId",
                "externalProperties",
            },
        )
        customer, offer, loc, method, method_id = self._ems_input(body, "PEAR")
        expires = body.get("expiresAt")
        validate.integer(expires, "expiresAt", minimum=1, maximum=MAX_TIMESTAMP, nullable=True)
        record = self._new_pass(customer, offer, loc, method, method_id)
        new = dict(
            record,
            isExternallyManaged=True,
            externalId=body["externalId"],
            externalProperties=body.get("externalProperties") or {},
        )
        if "expiresAt" in body:
            new["expiresAt"] = expires
        self.put("passes", new)
        self.emit("passCreated", self._pass_event(new))
        self._touch(customer["id"], ["passes"])
        return new

    @atomic
    def switch_subscription(self, body: dict) -> dict:
        """POST /subscription_switches: done at once in the sandbox (status finished)."""
        validate.only(
            body,
            {
                "toOfferId",
                "switchDirection",
                "algorithm",
                "subscriptionId",
                "customerId",
                "fromOfferId",
            },
        )
        to_offer = validate.pattern(body.get("toOfferId"), "toOfferId", LONG_ID_RE)
        direction = body.get("switchDirection")
        if direction not in ("upgrade", "downgrade"):
            raise BadRequest("switchDirection must be upgrade or downgrade")
        algorithm = body.get("algorithm")
        if algorithm not in (None, "DEFERRED", "IMMEDIATE_WITHOUT_PRORATION"):
            raise BadRequest("algorithm is invalid")
        sub_id = validate.integer(body.get("subscriptionId"), "subscriptionId", minimum=1)
        sub = self.get("subscriptions", sub_id)
        if sub is None:
            raise Unprocessable(f"Subscription with id {sub_id} does not exists")
        if sub["status"] != "active":
            raise Unprocessable("Only active subscriptions can be switched")
        found = self.localization(to_offer)
        if found is None or found[0]["id"][0] != "S":
            raise Unprocessable("Offer not found")
        if to_offer == sub["offerId"]:
            raise Unprocessable("Subscription already has this offer")
        if found[1]["price"]["currency"] != sub["nextPaymentCurrency"]:
            raise Unprocessable("Offers must have the same currency")
        if algorithm is not None and not sub["isExternallyManaged"]:
            raise BadRequest("algorithm is allowed only for externally managed subscriptions")
        now = self.now()
        new = dict(sub, offerId=to_offer, nextPaymentPrice=found[1]["price"]["amount"])
        self.put("subscriptions", new)
        self._touch(sub["customerId"], ["subscriptions"])
        return {
            "id": str(uuid.UUID(int=self.rng.getrandbits(128), version=4)),
            "customerId": sub["customerId"],
            "direction": direction,
            "algorithm": algorithm or "IMMEDIATE_WITHOUT_PRORATION",
            "fromOfferId": sub["offerId"],
            "toOfferId": to_offer,
            "subscriptionId": sub["subscriptionId"],
            "status": "finished",
            "createdAt": now,
            "updatedAt": now,
        }

    # -- passes ----------------------------------------------------------------------------

    @atomic
    def terminate_pass(self, pass_id, body: dict) -> dict:
        """POST /passes/{id}/terminate: access ends now; `passTerminated`."""
        validate.only(body, set())
        record = self._pass(pass_id)
        if record["status"] == "terminated":
            raise Unprocessable("Pass is already terminated")
        new = dict(record, status="terminated")
        self.put("passes", new)
        self.emit("passTerminated", self._pass_event(new))
        self._touch(record["customerId"], ["passes"])
        return new

    @atomic
    def transfer_pass(self, pass_id, body: dict) -> dict:
        """POST /passes/{id}/transfer: the pass moves to another customer."""
        record = self._pass(pass_id)
        target = self._target_customer(body, record["customerId"])
        if record["status"] == "terminated":
            raise Unprocessable("Terminated pass cannot be transferred")
        new = dict(record, customerId=target["id"])
        self._move("passes", record["passId"], record["customerId"], target["id"])
        self.put("passes", new)
        self._touch(record["customerId"], ["passes"])
        self._touch(target["id"], ["passes"])
        return new

    # -- customers and connector configuration ----------------------------------------------

    @atomic
    def request_password_reset(self, body: dict) -> None:
        """POST /customers/request_password_reset: a password_reset email (not sent in-app)."""
        validate.only(body, {"customerId", "customerEmail", "resetUrl"})
        url = validate.text(body.get("resetUrl"), "resetUrl", 2048)
        if not url.startswith(("http://", "https://")):
            raise BadRequest("resetUrl must be a URL")
        if ("customerId" in body) == ("customerEmail" in body):
            raise BadRequest("Give customerId or customerEmail")
        if "customerId" in body:
            customer = self.get("customers", validate.integer(body["customerId"], "customerId"))
        else:
            email = validate.email(body["customerEmail"], "customerEmail")
            customer_id = self.email_index.get(email.lower())
            customer = self.get("customers", customer_id) if customer_id else None
        if customer is None or customer["email"] is None:
            raise NotFound("Customer not found")
        self._add_email(customer, "password_reset", "", None, False)
        self._customer_event(customer, ["emails"])

    @atomic
    def create_payment_method(self, body: dict) -> dict:
        """POST /payment_methods: a publisher's payment-method configuration."""
        validate.only(
            body,
            {
                "source",
                "methodName",
                "paymentGateway",
                "feeRate",
                "isExternalPayment",
                "handler",
                "gatewayParameters",
                "paymentSupport",
                "paymentAmountAccuracy",
                "autoTerminate",
            },
        )
        record = {
            "source": validate.text(body.get("source"), "source", 255),
            "methodName": validate.text(body.get("methodName"), "methodName", 255),
            "paymentGateway": validate.text(body.get("paymentGateway"), "paymentGateway", 255),
            "feeRate": validate.number(body.get("feeRate", 0.0), "feeRate", minimum=0),
            "isExternalPayment": validate.boolean(
                body.get("isExternalPayment", body.get("paymentGateway") in IN_APP),
                "isExternalPayment",
            ),
            "handler": validate.text(body.get("handler", "external"), "handler", 255),
            "gatewayParameters": validate.mapping(
                body.get("gatewayParameters"), "gatewayParameters", nullable=True
            ),
            "paymentSupport": validate.boolean(body.get("paymentSupport", True), "paymentSupport"),
            "paymentAmountAccuracy": validate.boolean(
                body.get("paymentAmountAccuracy", False), "paymentAmountAccuracy"
            ),
            "autoTerminate": validate.boolean(body.get("autoTerminate", False), "autoTerminate"),
        }
        method_id = 400_000_000 + len(self.payment_methods) + 1
        # The published answer types gatewayParameters as an array (the request as an object).
        params = record["gatewayParameters"]
        record = {
            "id": method_id,
            **record,
            "gatewayParameters": None if params is None else [params],
        }
        self.payment_methods[str(method_id)] = record
        self.changed()
        return record

    @atomic
    def restrict_attempts(self, details_id, body: dict) -> dict:
        """PATCH /payment_details/{id}/attemptRestrictions."""
        validate.only(body, {"attemptRestrictedTo", "attemptRejections"})
        if len(body) != 1:
            raise BadRequest("Give attemptRestrictedTo or attemptRejections")
        new_values = {}
        if "attemptRestrictedTo" in body:
            new_values["attemptRestrictedTo"] = validate.integer(
                body["attemptRestrictedTo"], "attemptRestrictedTo", minimum=0, nullable=True
            )
        else:
            rejections = validate.mapping(body["attemptRejections"], "attemptRejections")
            for month, count in rejections.items():
                if not isinstance(month, str) or len(month) != 7 or month[4] != "-":
                    raise BadRequest("attemptRejections keys must be YYYY-MM")
                validate.integer(count, "attemptRejections", minimum=0)
            new_values["attemptRejections"] = dict(rejections)
        record = self.get("payment_details", details_id)
        if record is None:
            raise Unprocessable("Payment details not found")
        new = copy.deepcopy(record)
        restrictions = new.get("attemptRestrictions") or {
            "attemptRestrictedTo": None,
            "attemptRejections": {},
        }
        new["attemptRestrictions"] = {**restrictions, **new_values}
        self.put("payment_details", new)
        return new

    # -- admin -----------------------------------------------------------------------------

    def simulate_transaction(self, customer_id: int, offer_id: str | None = None) -> dict:
        """POST /sandbox/simulate/transaction: the vendor charges the customer once more.

        Renews the customer's first active web subscription (or buys `offer_id`, else an
        offer sold in the customer's currency) through `record_payment`, so the transaction,
        its email and the `transactionCreated` delivery happen as for any payment.
        """
        with self.lock:
            customer = self._customer(customer_id)
            if customer["email"] is None:
                raise Unprocessable("Customer is anonymized")
            sub = (
                None
                if offer_id
                else next(
                    (
                        s
                        for s in self.of_customer("subscriptions", customer_id)
                        if s["status"] == "active" and not s["isExternallyManaged"]
                    ),
                    None,
                )
            )
            if sub is not None:
                found = self.localization(sub["offerId"])
            elif offer_id:
                found = self.localization(offer_id) if isinstance(offer_id, str) else None
            else:
                found = next(
                    (
                        (o, loc)
                        for o in self.all("offers")
                        if o["id"][0] == "S"
                        for loc in o["localizations"]
                        if loc["price"]["currency"] == customer["currency"]
                    ),
                    None,
                )
            if found is None:
                raise Unprocessable("No offer to charge this customer for")
            loc = found[1]
            method_id = sub["paymentMethodId"] if sub else PAYMENT_METHOD_IDS[("adyen", "card")]
            answer = self.record_payment(
                {
                    "customerId": customer_id,
                    "status": "captured",
                    "offerId": loc["id"],
                    "paymentMethodId": method_id,
                    "netAmount": loc["price"]["amount"],
                    "taxAmount": 0,
                    "currency": loc["price"]["currency"],
                    "externalPaymentId": f"SIM{self.seq + 1:012d}",
                    "subscriptionId": sub["subscriptionId"] if sub else None,
                }
            )
            return self.get("transactions", answer["payment"]["transactionId"])

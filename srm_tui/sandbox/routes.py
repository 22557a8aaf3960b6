"""The sandbox's API routes: vendor Core 3.1 paths plus the `/x-srm/` extensions.

Each handler takes a `Call` and returns an `Answer`, or raises a `Refusal`; server.py wraps
them with auth, faults, idempotency and the error envelope named next to each route.

Over 400 lines: one short handler per route plus the route table; the writes themselves
are in customer_ops, access_ops and offer_ops.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from . import shapes, validate
from .errors import BadRequest, NotFound
from .offer_ops import LONG_ID_RE
from .state import VENDOR_TOPICS, WEBHOOK_TOPICS, SandboxState
from .store import CHILD_ENTITIES, ENTITIES

TRANSACTION_ID_RE = re.compile(r"^T[1-9]\d{8}$")
SUBSCRIPTION_STATUSES = ("active", "stopped", "terminated", "paused")

# Error envelopes (see docs/sandbox-api.md): which body a refusal gets on each route.
CUSTOMER = "customer"  # {"success": false, "message": m, "data": null}
SUBSCRIPTION_LIST = "subscription_list"  # {"success": false, "data": null, "message": m}
SUBSCRIPTION_PATCH = "subscription_patch"  # {"success": false, "subscription": null, ...}
BARE = "bare"  # {"message": m}


@dataclass
class Call:
    """One API call as the handlers see it."""

    state: SandboxState
    request: Request
    body: Any
    profile: str = shapes.SANDBOX

    @property
    def vendor(self) -> bool:
        return self.profile == shapes.VENDOR

    def path(self, name: str) -> str:
        return self.request.path_params[name]

    def query(self, name: str) -> str | None:
        return self.request.query_params.get(name)

    def int_query(self, name: str, default: int | None, minimum: int, maximum: int | None = None):
        raw = self.query(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise BadRequest(f"{name} must be an integer") from None
        if value < minimum or (maximum is not None and value > maximum):
            raise BadRequest(f"{name} is out of range")
        return value

    def object_body(self) -> dict:
        if not isinstance(self.body, dict):
            raise BadRequest("Request body must be a JSON object")
        return self.body


@dataclass
class Answer:
    status: int
    payload: Any = None  # None with 204
    headers: dict = field(default_factory=dict)


def _path_int(value: str, message: str) -> int:
    if not value.isdigit():
        raise BadRequest(message)
    return int(value)


def _page(items: list, call: Call, default_limit: int, max_limit: int) -> tuple[list, dict]:
    offset = call.int_query("offset", 0, 0)
    limit = call.int_query("limit", default_limit, 1, max_limit)
    return items[offset : offset + limit], {"X-Total-Count": str(len(items))}


def _etag(offer: dict) -> dict:
    return {"ETag": f'"{offer["version"]}"'}


def _offer_answer(offer: dict | None, status: int = 200) -> Answer:
    return Answer(204) if offer is None else Answer(status, shapes.offer(offer), _etag(offer))


# -- customers ------------------------------------------------------------------------------


def list_customers(call: Call) -> Answer:
    state, email, external = call.state, call.query("email"), call.query("externalId")
    if email is None and external is None:
        raise BadRequest("email or externalId is required")
    with state.lock:
        if email is not None:
            ids = [state.email_index[email.lower()]] if email.lower() in state.email_index else []
        else:
            ids = sorted(state.external_index.get(external, ()))
        customers = [shapes.customer(state.get("customers", cid), call.profile) for cid in ids]
    page, headers = _page(customers, call, 20, 100)
    return Answer(200, {"success": True, "message": "", "data": page}, headers)


def _customer_id(call: Call) -> int:
    return _path_int(call.path("customerId"), "Invalid customerId format")


def get_customer(call: Call) -> Answer:
    customer = call.state.read("customers", _customer_id(call))
    if customer is None:
        raise NotFound("Customer not found")
    return Answer(
        200, {"success": True, "message": "", "data": shapes.customer(customer, call.profile)}
    )


def register_customer(call: Call) -> Answer:
    customer = call.state.register_customer(call.object_body())
    return Answer(
        201, {"success": True, "message": "", "data": shapes.customer(customer, call.profile)}
    )


def edit_customer(call: Call) -> Answer:
    editor = call.request.headers.get("x-srm-editor") or "system"
    try:  # header bytes arrive as latin-1; agents' names are sent as UTF-8
        editor = editor.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    body = call.object_body()
    if call.vendor:  # the extension's capture field is not the vendor's
        validate.only(body, shapes.CUSTOMER_KEYS)
    customer = call.state.edit_customer(_customer_id(call), body, editor)
    return Answer(
        200, {"success": True, "message": "", "data": shapes.customer(customer, call.profile)}
    )


def anonymize_customer(call: Call) -> Answer:
    call.state.anonymize_customer(_customer_id(call))
    return Answer(200, {"data": [], "success": True, "message": "User deleted successfully"})


# -- subscriptions and passes ---------------------------------------------------------------


def _by_transaction(state: SandboxState, transaction_id: str, field_name: str, entity: str) -> list:
    if not TRANSACTION_ID_RE.match(transaction_id):
        raise BadRequest("transactionId is invalid")
    txn = state.read("transactions", transaction_id)
    record = state.read(entity, txn[field_name]) if txn and txn[field_name] is not None else None
    return [record] if record else []


def _access_filter(call: Call, entity: str, txn_field: str) -> list[dict] | None:
    """Records matching the list filters, or None when no filter was given."""
    state = call.state
    transaction_id, customer = call.query("transactionId"), call.query("customerId")
    offer_id, method = call.query("offerId"), call.query("paymentMethodId")
    if transaction_id:
        return _by_transaction(state, transaction_id, txn_field, entity)
    if offer_id and not customer:
        raise BadRequest("offerId can only be used together with customerId")
    if not (customer or method) or (call.vendor and not customer):
        return None
    if customer:
        with state.lock:
            records = state.of_customer(entity, _path_int(customer, "customerId is invalid"))
    else:
        with state.lock:
            records = state.all(entity)
    if offer_id:
        if not LONG_ID_RE.match(offer_id):
            raise BadRequest("offerId is invalid")
        records = [r for r in records if r["offerId"] == offer_id]
    if method:
        method_id = _path_int(method, "paymentMethodId is invalid")
        records = [r for r in records if r["paymentMethodId"] == method_id]
    return records


def list_subscriptions(call: Call) -> Answer:
    records = _access_filter(call, "subscriptions", "subscriptionId")
    statuses = call.request.query_params.getlist("status[]") + call.request.query_params.getlist(
        "status"
    )
    for status in statuses:
        if status not in SUBSCRIPTION_STATUSES:
            raise BadRequest(f"status value {status} is invalid")
    if records is None:
        records = []
    if statuses:
        records = [r for r in records if r["status"] in statuses]
    page, headers = _page(records, call, 20, 100)
    page = [shapes.subscription(r, call.profile) for r in page]
    return Answer(200, {"success": True, "data": page, "message": ""}, headers)


def _subscription_id(call: Call) -> int:
    return _path_int(call.path("subscriptionId"), "Invalid subscriptionId")


def get_subscription(call: Call) -> Answer:
    sub = call.state.read("subscriptions", _subscription_id(call))
    if sub is None:
        raise NotFound("Subscription not found")
    return Answer(200, shapes.subscription(sub, call.profile))


def patch_subscription(call: Call) -> Answer:
    sub = call.state.patch_subscription(_subscription_id(call), call.object_body())
    return Answer(
        200,
        {"success": True, "subscription": shapes.subscription(sub, call.profile), "message": ""},
    )


def cancel_subscription(call: Call) -> Answer:
    sub = call.state.cancel_subscription(_subscription_id(call), call.object_body())
    return Answer(200, shapes.subscription(sub, call.profile))


def list_passes(call: Call) -> Answer:
    records = _access_filter(call, "passes", "passId") or []
    page, headers = _page(records, call, 100, 100)
    return Answer(200, [shapes.pass_(r, call.profile) for r in page], headers)


def _pass_id(call: Call) -> int:
    return _path_int(call.path("passId"), "Invalid passId")


def get_pass(call: Call) -> Answer:
    record = call.state.read("passes", _pass_id(call))
    if record is None:
        raise NotFound("Pass not found")
    return Answer(200, shapes.pass_(record, call.profile))


def patch_pass(call: Call) -> Answer:
    record = call.state.patch_pass(_pass_id(call), call.object_body())
    return Answer(200, shapes.pass_(record, call.profile))


def record_payment(call: Call) -> Answer:
    answer = call.state.record_payment(call.object_body())
    return Answer(200, dict(answer, payment=shapes.payment(answer["payment"], call.profile)))


# -- offers, season groups, campaigns -------------------------------------------------------


def list_offers(call: Call) -> Answer:
    kind = call.query("type")
    with call.state.lock:
        offers = sorted(call.state.all("offers"), key=lambda o: (o["createdAt"], o["id"]))
    if kind:
        offers = [o for o in offers if kind in (o["type"], o["id"][0])]
    page, headers = _page(offers, call, 100, 100)
    return Answer(200, [shapes.offer(o) for o in page], headers)


def get_offer(call: Call) -> Answer:
    with call.state.lock:
        offer = call.state.offer(call.path("offerId"))
    return Answer(200, shapes.offer(offer), _etag(offer))


def _if_match(call: Call) -> str | None:
    return call.request.headers.get("if-match")


def create_offer(call: Call) -> Answer:
    return _offer_answer(call.state.create_offer(call.object_body()), 201)


def patch_offer(call: Call) -> Answer:
    return _offer_answer(
        call.state.patch_offer(call.path("offerId"), call.object_body(), _if_match(call))
    )


def add_localization(call: Call) -> Answer:
    return _offer_answer(
        call.state.add_localization(call.path("offerId"), call.object_body(), _if_match(call))
    )


def patch_localization(call: Call) -> Answer:
    return _offer_answer(
        call.state.patch_localization(
            call.path("offerId"), call.path("countryCode"), call.object_body(), _if_match(call)
        )
    )


def _activation(active: bool, localization: bool) -> Callable[[Call], Answer]:
    def handler(call: Call) -> Answer:
        if localization:
            offer = call.state.set_localization_active(
                call.path("offerId"), call.path("countryCode"), active, _if_match(call)
            )
        else:
            offer = call.state.set_offer_active(call.path("offerId"), active, _if_match(call))
        return _offer_answer(offer)

    return handler


def list_season_groups(call: Call) -> Answer:
    with call.state.lock:
        return Answer(200, call.state.all("season_groups"))


def create_season_group(call: Call) -> Answer:
    return Answer(200, call.state.create_season_group(call.object_body()))


def get_season_group(call: Call) -> Answer:
    with call.state.lock:
        return Answer(200, call.state.season_group(call.path("groupId")))


def rename_season_group(call: Call) -> Answer:
    return Answer(200, call.state.rename_season_group(call.path("groupId"), call.object_body()))


def delete_season_group(call: Call) -> Answer:
    call.state.delete_season_group(call.path("groupId"))
    return Answer(200, {"message": "Season group deleted"})


def _season_id(call: Call) -> int:
    return _path_int(call.path("seasonId"), "Input validation failed")


def add_season(call: Call) -> Answer:
    return Answer(200, call.state.add_season(call.path("groupId"), call.object_body()))


def update_season(call: Call) -> Answer:
    return Answer(
        200, call.state.update_season(call.path("groupId"), _season_id(call), call.object_body())
    )


def delete_season(call: Call) -> Answer:
    return Answer(200, call.state.delete_season(call.path("groupId"), _season_id(call)))


def list_campaigns(call: Call) -> Answer:
    code = call.query("couponCode")
    if not code or len(code) > 40:
        raise BadRequest("couponCode is required")
    with call.state.lock:
        campaigns = [
            c
            for c in call.state.all("campaigns")
            if code.upper() in (k.upper() for k in c["couponCodes"])
        ]
    # The OpenAPI item (additionalProperties: false): discount is the percentage as a number,
    # usagePerCoupon a string. Enumeration and export carry the full campaign.
    items = [
        {
            "name": c["name"],
            "discount": c["discount"]["value"],
            "usagePerCoupon": str(c["usagePerCoupon"]),
            "status": c["status"],
            # paymentType is a required string there: "" when the campaign sets none
            "constraints": dict(
                c["constraints"], paymentType=c["constraints"]["paymentType"] or ""
            ),
        }
        for c in campaigns
    ]
    return Answer(200, {"message": "", "data": items})


# -- webhook subscriptions ------------------------------------------------------------------


def _endpoints(value) -> list[dict]:
    if not isinstance(value, list):
        raise BadRequest("Body must be an array of endpoints")
    for endpoint in value:
        validate.mapping(endpoint, "endpoint")
        url = endpoint.get("url")
        if not isinstance(url, str) or not re.match(r"^https?://\S+$", url):
            raise BadRequest("Each endpoint needs an http(s) url")
        if endpoint.get("verification") is not None:
            _verification(endpoint["verification"])
    return value


def _verification(value) -> None:
    """The vendor's endpoint verification: HMAC with SHA256 and a 16..64-byte secret."""
    validate.mapping(value, "verification")
    options = value.get("options")
    if (
        value.get("name") != "HMAC"
        or not isinstance(options, dict)
        or options.get("hashAlg") != "SHA256"
    ):
        raise BadRequest(
            "verification must be {name: HMAC, options: {hashAlg: SHA256, sharedSecret}}"
        )
    secret = options.get("sharedSecret")
    if not isinstance(secret, str) or not 16 <= len(secret.encode("utf-8")) <= 64:
        raise BadRequest("sharedSecret must be 16 to 64 bytes long")


def _topics(call: Call) -> tuple[str, ...]:
    return VENDOR_TOPICS if call.vendor else WEBHOOK_TOPICS


def _topic(call: Call) -> str:
    topic = call.path("topic")
    if topic not in _topics(call):
        raise NotFound(f"Unknown topic {topic}")
    return topic


def list_webhooks(call: Call) -> Answer:
    with call.state.lock:
        return Answer(200, {t: list(call.state.webhooks.get(t, [])) for t in _topics(call)})


def replace_webhooks(call: Call) -> Answer:
    body = call.object_body()
    for topic, endpoints in body.items():
        if topic not in WEBHOOK_TOPICS:
            raise BadRequest(f"Unknown topic {topic}")
        _endpoints(endpoints)
    for topic, endpoints in body.items():
        call.state.set_webhooks(topic, endpoints)
    return list_webhooks(call)


def get_webhook_topic(call: Call) -> Answer:
    with call.state.lock:
        return Answer(200, list(call.state.webhooks.get(_topic(call), [])))


def put_webhook_topic(call: Call) -> Answer:
    topic = _topic(call)
    return Answer(200, call.state.set_webhooks(topic, _endpoints(call.body)))


# -- extensions -----------------------------------------------------------------------------


def enumerate_entity(call: Call) -> Answer:
    entity = call.path("entity")
    if entity not in ENTITIES:
        raise NotFound(f"Unknown entity {entity}")
    since = call.int_query("since", 0, 0)
    limit = call.int_query("limit", 100, 1, 1000)
    customer = call.query("customerId")
    customer_id = None
    if customer:
        if entity != "customers" and entity not in CHILD_ENTITIES:
            raise BadRequest(f"customerId cannot filter {entity}")
        customer_id = _path_int(customer, "customerId is invalid")
    items, next_since, has_more, total = call.state.since(entity, since, limit, customer_id)
    return Answer(
        200,
        {"items": items, "nextSince": next_since, "hasMore": has_more},
        {"X-Total-Count": str(total)},
    )


def delete_payment_details(call: Call) -> Answer:
    details_id = _path_int(call.path("detailsId"), "Invalid payment details id")
    return Answer(200, call.state.delete_payment_details(details_id))


def refund_transaction(call: Call) -> Answer:
    return Answer(
        200, call.state.refund_transaction(call.path("transactionId"), call.object_body())
    )


def cancel_transaction(call: Call) -> Answer:
    return Answer(
        200, call.state.cancel_transaction(call.path("transactionId"), call.object_body())
    )


def resend_email(call: Call) -> Answer:
    email_id = _path_int(call.path("emailId"), "Invalid email id")
    return Answer(201, call.state.resend_email(email_id, call.object_body()))


def add_note(call: Call) -> Answer:
    return Answer(201, call.state.add_note(call.object_body()))


def _note_id(call: Call) -> int:
    return _path_int(call.path("noteId"), "Invalid note id")


def edit_note(call: Call) -> Answer:
    return Answer(200, call.state.edit_note(_note_id(call), call.object_body()))


def delete_note(call: Call) -> Answer:
    return Answer(200, call.state.delete_note(_note_id(call), call.query("editor")))


# Path -> {method: (handler, error envelope)}. Order matters where paths overlap.
ROUTES: list[tuple[str, dict[str, tuple[Callable[[Call], Answer], str]]]] = [
    ("/customers", {"GET": (list_customers, CUSTOMER), "POST": (register_customer, CUSTOMER)}),
    (
        "/customers/{customerId}",
        {
            "GET": (get_customer, CUSTOMER),
            "PATCH": (edit_customer, CUSTOMER),
            "DELETE": (anonymize_customer, CUSTOMER),
        },
    ),
    ("/subscriptions", {"GET": (list_subscriptions, SUBSCRIPTION_LIST)}),
    (
        "/subscriptions/{subscriptionId}",
        {"GET": (get_subscription, BARE), "PATCH": (patch_subscription, SUBSCRIPTION_PATCH)},
    ),
    ("/subscriptions/{subscriptionId}/cancel", {"POST": (cancel_subscription, BARE)}),
    ("/passes", {"GET": (list_passes, BARE)}),
    ("/passes/{passId}", {"GET": (get_pass, BARE), "PATCH": (patch_pass, BARE)}),
    ("/payments", {"POST": (record_payment, BARE)}),
    ("/offers", {"GET": (list_offers, BARE), "POST": (create_offer, BARE)}),
    (
        "/offers/season-groups",
        {"GET": (list_season_groups, BARE), "POST": (create_season_group, BARE)},
    ),
    (
        "/offers/season-groups/{groupId}",
        {
            "GET": (get_season_group, BARE),
            "PATCH": (rename_season_group, BARE),
            "DELETE": (delete_season_group, BARE),
        },
    ),
    ("/offers/season-groups/{groupId}/seasons", {"POST": (add_season, BARE)}),
    (
        "/offers/season-groups/{groupId}/seasons/{seasonId}",
        {"PATCH": (update_season, BARE), "DELETE": (delete_season, BARE)},
    ),
    ("/offers/{offerId}", {"GET": (get_offer, BARE), "PATCH": (patch_offer, BARE)}),
    ("/offers/{offerId}/activate", {"POST": (_activation(True, False), BARE)}),
    ("/offers/{offerId}/deactivate", {"POST": (_activation(False, False), BARE)}),
    ("/offers/{offerId}/localizations", {"POST": (add_localization, BARE)}),
    ("/offers/{offerId}/localizations/{countryCode}", {"PATCH": (patch_localization, BARE)}),
    (
        "/offers/{offerId}/localizations/{countryCode}/activate",
        {"POST": (_activation(True, True), BARE)},
    ),
    (
        "/offers/{offerId}/localizations/{countryCode}/deactivate",
        {"POST": (_activation(False, True), BARE)},
    ),
    ("/campaigns", {"GET": (list_campaigns, BARE)}),
    ("/webhook_subscriptions", {"GET": (list_webhooks, BARE), "PUT": (replace_webhooks, BARE)}),
    (
        "/webhook_subscriptions/{topic}",
        {"GET": (get_webhook_topic, BARE), "PUT": (put_webhook_topic, BARE)},
    ),
    ("/x-srm/payment_details/{detailsId}", {"DELETE": (delete_payment_details, BARE)}),
    ("/x-srm/transactions/{transactionId}/refund", {"POST": (refund_transaction, BARE)}),
    ("/x-srm/transactions/{transactionId}/cancel", {"POST": (cancel_transaction, BARE)}),
    ("/x-srm/emails/{emailId}/resend", {"POST": (resend_email, BARE)}),
    ("/x-srm/notes", {"POST": (add_note, BARE)}),
    ("/x-srm/notes/{noteId}", {"PATCH": (edit_note, BARE), "DELETE": (delete_note, BARE)}),
    ("/x-srm/{entity}", {"GET": (enumerate_entity, BARE)}),
]

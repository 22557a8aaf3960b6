"""The rest of the vendor's published surface, and the route table of each profile.

routes.py has the calls the sandbox answered first; this module adds the OpenAPI file's other
operations (subscription and pass actions, the externally-managed creates, switches, gifts,
password resets, payment-method configs, attempt restrictions) and `GET /entitlements`
(cleeng-api.md "Entitlements"; its answer shape is a guess, see docs/sandbox-api.md).
`routes_for(profile)` lists what each profile serves: the vendor profile only the published
paths and methods, the sandbox profile those plus the `/x-srm/` extensions.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from . import shapes
from .errors import BadRequest, NotFound
from .routes import (
    BARE,
    CUSTOMER,
    ROUTES,
    Answer,
    Call,
    _page,
    _pass_id,
    _path_int,
    _subscription_id,
)

GIFT_CODE_RE = re.compile(r"^[A-Za-z0-9]{4}-[A-Za-z0-9]{4}$")
ENTITLEMENT_STATUSES = ("active", "cancelled", "terminated", "all")
OFFER_TYPES = ("S", "P", "SP", "PS", "A", "R", "SPAR")


def _sub_action(method: str, status: int = 200) -> Callable[[Call], Answer]:
    def handler(call: Call) -> Answer:
        sub = getattr(call.state, method)(_subscription_id(call), call.object_body())
        return Answer(status, shapes.subscription(sub, call.profile))

    return handler


def _pass_action(method: str) -> Callable[[Call], Answer]:
    def handler(call: Call) -> Answer:
        record = getattr(call.state, method)(_pass_id(call), call.object_body())
        return Answer(200, shapes.pass_(record, call.profile))

    return handler


def create_subscription(call: Call) -> Answer:
    sub = call.state.create_subscription(call.object_body())
    return Answer(201, shapes.subscription(sub, call.profile))


def create_pass(call: Call) -> Answer:
    return Answer(201, shapes.pass_(call.state.create_pass(call.object_body()), call.profile))


def switch_subscription(call: Call) -> Answer:
    return Answer(200, call.state.switch_subscription(call.object_body()))


def request_password_reset(call: Call) -> Answer:
    call.state.request_password_reset(call.object_body())
    return Answer(200, {"success": True, "message": "", "data": []})


def create_payment_method(call: Call) -> Answer:
    return Answer(200, call.state.create_payment_method(call.object_body()))


def restrict_attempts(call: Call) -> Answer:
    details_id = _path_int(call.path("paymentDetailsId"), "Invalid paymentDetailsId")
    record = call.state.restrict_attempts(details_id, call.object_body())
    return Answer(200, {"success": True, "message": "", "data": shapes.payment_details(record)})


# The sandbox sells no gifts: every gift id and code is unknown (after its format is checked).


def get_gift(call: Call) -> Answer:
    raise NotFound("Gift not found")


def patch_gift(call: Call) -> Answer:
    _path_int(call.path("giftId"), "Invalid giftId")
    call.object_body()
    raise NotFound("Gift not found")


def _gift_code(call: Call) -> None:
    if not GIFT_CODE_RE.match(call.path("code")):
        raise BadRequest("Invalid gift code")


def verify_gift(call: Call) -> Answer:
    _gift_code(call)
    raise NotFound("Gift not found")


def redeem_gift(call: Call) -> Answer:
    _gift_code(call)
    call.object_body()
    raise NotFound("Gift not found")


# -- entitlements ---------------------------------------------------------------------------


def _entitlement_status(record: dict, now: int) -> tuple[str, bool]:
    """(status in the entitlements vocabulary, accessGranted) of a subscription or pass."""
    if "subscriptionId" in record:
        status = record["status"]
        if status in ("active", "paused"):
            return "active", status == "active"
        if status == "stopped" and record["dateTo"] >= now:
            return "cancelled", True
        return "terminated", False
    live = record["status"] == "active" and (
        record["expiresAt"] is None or record["expiresAt"] >= now
    )
    return ("active" if live else "terminated"), live


def list_entitlements(call: Call) -> Answer:
    """GET /entitlements: one row per subscription or pass of one customer."""
    state = call.state
    customer_id, email = call.query("customerId"), call.query("customerEmail")
    if customer_id:
        customer = state.read("customers", _path_int(customer_id, "customerId is invalid"))
    elif email:
        with state.lock:
            found = state.email_index.get(email.lower())
        customer = state.read("customers", found) if found else None
    else:
        raise BadRequest("customerId or customerEmail is required")
    status = call.query("status") or "active"
    if status not in ENTITLEMENT_STATUSES:
        raise BadRequest(f"status value {status} is invalid")
    kinds = call.query("offerType") or "SP"
    if kinds not in OFFER_TYPES:
        raise BadRequest(f"offerType value {kinds} is invalid")
    if customer is None:
        raise NotFound("Customer not found")
    letters = set(kinds) | ({"E"} if "P" in kinds else set())  # a live event is a pass
    now = state.now()
    rows = []
    with state.lock:
        records = state.of_customer("subscriptions", customer["id"]) + state.of_customer(
            "passes", customer["id"]
        )
    for record in records:
        if record["offerId"][0] not in letters:
            continue
        row_status, granted = _entitlement_status(record, now)
        if status != "all" and row_status != status:
            continue
        sub = "subscriptionId" in record
        rows.append(
            {
                "customerId": record["customerId"],
                "offerId": record["offerId"],
                "offerType": record["offerId"][0],
                "status": row_status,
                "accessGranted": granted,
                "expiresAt": record["dateTo"] if sub else record["expiresAt"],
                "subscriptionId": record["subscriptionId"] if sub else None,
                "passId": None if sub else record["passId"],
            }
        )
    page, headers = _page(rows, call, 20, 100)
    return Answer(200, {"success": True, "message": "", "data": page}, headers)


VENDOR_EXTRA: list[tuple[str, dict]] = [
    ("/customers/request_password_reset", {"POST": (request_password_reset, BARE)}),
    ("/entitlements", {"GET": (list_entitlements, CUSTOMER)}),
    ("/subscriptions", {"POST": (create_subscription, BARE)}),
    ("/subscription_switches", {"POST": (switch_subscription, BARE)}),
    (
        "/subscriptions/{subscriptionId}/terminate",
        {"POST": (_sub_action("terminate_subscription"), BARE)},
    ),
    ("/subscriptions/{subscriptionId}/pause", {"POST": (_sub_action("pause_subscription"), BARE)}),
    (
        "/subscriptions/{subscriptionId}/resume",
        {"POST": (_sub_action("resume_subscription", 202), BARE)},
    ),
    (
        "/subscriptions/{subscriptionId}/activate",
        {"POST": (_sub_action("activate_subscription"), BARE)},
    ),
    (
        "/subscriptions/{subscriptionId}/transfer",
        {"POST": (_sub_action("transfer_subscription"), BARE)},
    ),
    ("/subscriptions/{subscriptionId}/renew", {"POST": (_sub_action("renew_subscription"), BARE)}),
    (
        "/subscriptions/{subscriptionId}/revive",
        {"POST": (_sub_action("revive_subscription"), BARE)},
    ),
    ("/passes", {"POST": (create_pass, BARE)}),
    ("/passes/{passId}/terminate", {"POST": (_pass_action("terminate_pass"), BARE)}),
    ("/passes/{passId}/transfer", {"POST": (_pass_action("transfer_pass"), BARE)}),
    ("/gifts/{giftId}", {"GET": (get_gift, BARE), "PATCH": (patch_gift, BARE)}),
    ("/gifts/{code}/verification", {"GET": (verify_gift, BARE)}),
    ("/gifts/{code}/redeem", {"POST": (redeem_gift, BARE)}),
    ("/payment_methods", {"POST": (create_payment_method, BARE)}),
    (
        "/payment_details/{paymentDetailsId}/attemptRestrictions",
        {"PATCH": (restrict_attempts, BARE)},
    ),
]
# Sandbox conveniences on vendor paths that the vendor does not publish.
_NOT_VENDOR = {
    ("/webhook_subscriptions", "PUT"),
    ("/webhook_subscriptions/{topic}", "GET"),
    ("/customers", "POST"),
}


def routes_for(profile: str) -> list[tuple[str, dict]]:
    """(path, {method: (handler, error style)}) served in `profile`, in matching order."""
    if profile not in shapes.PROFILES:
        raise ValueError(f"unknown profile {profile!r} (known: {', '.join(shapes.PROFILES)})")
    table: dict[str, dict] = {}
    order: list[str] = []
    for path, methods in VENDOR_EXTRA + ROUTES:
        if profile == shapes.VENDOR and path.startswith("/x-srm/"):
            continue
        for method, entry in methods.items():
            if profile == shapes.VENDOR and (path, method) in _NOT_VENDOR:
                continue
            if path not in table:
                table[path] = {}
                order.append(path)
            table[path].setdefault(method, entry)
    # Literal paths before templated ones of the same depth, so `/offers/season-groups`
    # never reaches `/offers/{offerId}` and `/x-srm/notes` never `/x-srm/{entity}`.
    return [
        (path, table[path])
        for path in sorted(
            order, key=lambda p: [(seg.startswith("{"), seg) for seg in p.split("/")]
        )
    ]

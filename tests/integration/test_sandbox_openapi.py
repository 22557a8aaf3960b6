"""The sandbox's answers on the vendor's paths conform to the vendor's OpenAPI file, in both
profiles; the vendor profile serves exactly the published surface and adds nothing.

Every answer below (success and error, reads and writes, over real loopback HTTP) is validated
against the response schema the OpenAPI file gives for its path, method and status, with the
OAS 3.0 validator of openapi-schema-validator. The calls the vendor documents outside the file
(cleeng-api.md: `GET /customers`, offers, entitlements, webhook subscriptions) are checked
against the shapes docs/sandbox-api.md states for them. In the vendor profile, successful
answers are also checked with every described object closed (no property the vendor does not
publish).
"""

from __future__ import annotations

import copy
import re
import uuid
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest
import yaml
from openapi_schema_validator import OAS30Validator

from srm_tui.sandbox.runner import start_sandbox
from srm_tui.sandbox.state import SandboxState

AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)
NOW = int(AS_OF.timestamp())
KEY = {"X-Publisher-Token": "sandbox-key"}
# The vendor's description, kept with the tests (its source: tests/data/openapi/README.md).
SPEC_PATH = Path(__file__).resolve().parents[1] / "data" / "openapi" / "cleeng-core-3.1.openapi.yml"
DOC = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
ERROR = {"type": "object", "required": ["message"], "properties": {"message": {"type": "string"}}}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _envelope(items: dict) -> dict:
    return {
        "type": "object",
        "required": ["success", "message", "data"],
        "properties": {
            "success": {"type": "boolean"},
            "message": {"type": "string"},
            "data": {"type": "array", "items": items},
        },
    }


ENTITLEMENT = {  # docs/sandbox-api.md: the sandbox's guess at the vendor's item
    "type": "object",
    "required": ["customerId", "offerId", "offerType", "status", "accessGranted", "expiresAt"],
    "properties": {
        "customerId": {"type": "integer"},
        "offerId": _ref("offerId"),
        "offerType": {"type": "string", "enum": list("SPEAR")},
        "status": {"type": "string", "enum": ["active", "cancelled", "terminated"]},
        "accessGranted": {"type": "boolean"},
        "expiresAt": {"type": "integer", "nullable": True},
        "subscriptionId": {"type": "integer", "nullable": True},
        "passId": {"type": "integer", "nullable": True},
    },
}
ENDPOINTS = {
    "type": "array",
    "items": {"type": "object", "required": ["url"], "properties": {"url": {"type": "string"}}},
}
# The documented calls outside the OpenAPI file: (method, path) -> {status: schema}.
EXTRA = {
    ("GET", "/customers"): {200: _envelope(_ref("CustomerResource")), 400: ERROR},
    ("GET", "/offers"): {200: {"type": "array", "items": _ref("Offer")}, 400: ERROR},
    ("POST", "/offers"): {201: _ref("Offer"), 400: ERROR, 422: ERROR},
    ("GET", "/offers/{offerId}"): {200: _ref("Offer"), 400: ERROR, 404: ERROR},
    ("GET", "/entitlements"): {200: _envelope(ENTITLEMENT), 400: ERROR, 404: ERROR},
    ("GET", "/webhook_subscriptions"): {200: {"type": "object", "additionalProperties": ENDPOINTS}},
    ("PUT", "/webhook_subscriptions/{topic}"): {200: ENDPOINTS, 400: ERROR, 404: ERROR},
}


def _template_re(template: str) -> re.Pattern:
    return re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$")


OPERATIONS = [
    (method.upper(), template, _template_re(template), op)
    for template, ops in DOC["paths"].items()
    for method, op in ops.items()
    if method in ("get", "post", "put", "patch", "delete")
]
OPERATIONS += [
    (method, template, _template_re(template), {"x-extra": schemas})
    for (method, template), schemas in EXTRA.items()
]
# The vendor's published surface: one entry per path template and method.
SURFACE = {(method, template) for method, template, _, _ in OPERATIONS}


def operation(method: str, path: str):
    """The documented operation for a concrete path (literal segments win over templates)."""
    found = [o for o in OPERATIONS if o[0] == method and o[2].match(path)]
    found.sort(key=lambda o: o[1].count("{"))
    return found[0] if found else None


def response_schema(method: str, path: str, status: int):
    """(schema or None when the file describes no body, or an error text)."""
    op = operation(method, path)
    if op is None:
        return None, f"{method} {path} is not a documented call"
    if "x-extra" in op[3]:
        if status not in op[3]["x-extra"]:
            return None, f"status {status} is not documented for {method} {op[1]}"
        return op[3]["x-extra"][status], None
    responses = op[3]["responses"]
    answer = responses.get(status, responses.get(str(status)))
    if answer is None:
        return None, f"status {status} is not documented for {method} {op[1]}"
    content = (answer.get("content") or {}).get("application/json")
    return (content or {}).get("schema"), None


def _closed(schema):
    """`schema` with every object that lists its properties closed to others."""
    if isinstance(schema, dict):
        out = {k: _closed(v) for k, v in schema.items()}
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_closed(v) for v in schema]
    return schema


CLOSED_COMPONENTS = _closed(copy.deepcopy(DOC["components"]))


def problems(method: str, path: str, status: int, body, strict: bool) -> list[str]:
    """What is wrong with one answer, per the vendor's description of that call."""
    schema, error = response_schema(method, path, status)
    if error:
        return [error]
    if schema is None:
        return []
    closed = strict and 200 <= status < 300
    root = {
        **(_closed(schema) if closed else schema),
        "components": CLOSED_COMPONENTS if closed else DOC["components"],
    }
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {e.message[:160]}"
        for e in OAS30Validator(root).iter_errors(body)
    ]


def test_the_spec_is_read_whole():
    assert DOC["openapi"].startswith("3.0")
    assert len([o for o in OPERATIONS if "x-extra" not in o[3]]) == 46
    assert len(SURFACE) == 53


# -- the sampled answers --------------------------------------------------------------------


def _pick(export: dict, entity: str, predicate, taken: set):
    for record in export[entity]:
        key = record.get("subscriptionId") or record.get("passId") or record.get("id")
        if key not in taken and predicate(record):
            taken.add(key)
            return record
    raise AssertionError(f"no {entity} for the sample")


def _calls(state: SandboxState) -> list[tuple[str, str, object]]:
    """Calls that reach every vendor path, each with success and error answers."""
    export = state.export()
    taken: set = set()
    offers = {o["id"]: o for o in export["offers"]}

    def pausable(s):
        offer = offers[s["offerId"].split("_")[0]]
        return (
            s["status"] == "active"
            and not s["isExternallyManaged"]
            and not s["inTrial"]
            and (offer.get("pause") or {}).get("maxBillingCycles")
        )

    def web_active(s):
        return s["status"] == "active" and not s["isExternallyManaged"] and s["dateTo"] > NOW

    customers = export["customers"]
    cust = _pick(export, "customers", lambda c: c["email"] and c["externalId"], taken)
    other = _pick(export, "customers", lambda c: c["email"], taken)
    by_customer = {}
    for sub in export["subscriptions"]:
        by_customer.setdefault(sub["customerId"], []).append(sub)
    no_subs = _pick(export, "customers", lambda c: c["email"] and c["id"] not in by_customer, taken)
    holder = _pick(
        export,
        "customers",
        lambda c: any(s["status"] == "active" for s in by_customer.get(c["id"], [])),
        taken,
    )
    cancel = _pick(export, "subscriptions", web_active, taken)
    pause = _pick(export, "subscriptions", pausable, taken)
    term = _pick(export, "subscriptions", web_active, taken)
    move = _pick(export, "subscriptions", web_active, taken)
    switch = _pick(
        export,
        "subscriptions",
        lambda s: (
            web_active(s)
            and any(
                loc["price"]["currency"] == s["nextPaymentCurrency"] and loc["id"] != s["offerId"]
                for o in export["offers"]
                if o["id"][0] == "S"
                for loc in o["localizations"]
            )
        ),
        taken,
    )
    to_offer = next(
        loc["id"]
        for o in export["offers"]
        if o["id"][0] == "S"
        for loc in o["localizations"]
        if loc["price"]["currency"] == switch["nextPaymentCurrency"]
        and loc["id"] != switch["offerId"]
    )
    in_app = _pick(
        export,
        "subscriptions",
        lambda s: s["isExternallyManaged"] and s["status"] == "active",
        taken,
    )
    gone = _pick(export, "subscriptions", lambda s: s["status"] == "terminated", taken)
    web_gone = _pick(
        export,
        "subscriptions",
        lambda s: s["status"] == "terminated" and not s["isExternallyManaged"],
        taken,
    )
    app_gone = _pick(
        export,
        "subscriptions",
        lambda s: s["status"] == "terminated" and s["isExternallyManaged"],
        taken,
    )
    live_pass = _pick(export, "passes", lambda p: p["status"] == "active", taken)
    moved_pass = _pick(export, "passes", lambda p: p["status"] == "active", taken)
    pass_offer = next(p["offerId"] for p in export["passes"] if p["offerId"][0] == "P")
    txn = next(t for t in export["transactions"] if t["subscriptionId"])
    details = export["payment_details"][0]
    offer = next(o for o in export["offers"] if o["id"][0] == "S" and o["active"])
    loc = offer["localizations"][0]
    group = next(g for g in export["season_groups"] if len(g["seasons"]) > 1)
    first_season = group["seasons"][0]["id"]
    new_season = max(season["id"] for season in group["seasons"]) + 1
    campaign = export["campaigns"][0]
    sub_id, pass_id = cancel["subscriptionId"], live_pass["passId"]
    taken_email = other["email"]
    return [
        # customers
        ("GET", f"/customers/{cust['id']}", None),
        ("GET", "/customers/abc", None),
        ("GET", "/customers/123456789", None),
        ("GET", f"/customers?email={cust['email']}&offset=0&limit=1", None),
        ("GET", f"/customers?externalId={cust['externalId']}", None),
        ("GET", "/customers?offset=0&limit=5", None),
        ("PATCH", f"/customers/{cust['id']}", {"firstName": "Zofia", "locale": "pl_PL"}),
        ("PATCH", f"/customers/{cust['id']}", {"nickname": "z"}),
        ("PATCH", f"/customers/{cust['id']}", {"email": taken_email}),
        ("DELETE", f"/customers/{holder['id']}", None),
        ("DELETE", f"/customers/{no_subs['id']}", None),
        ("DELETE", "/customers/123456789", None),
        ("DELETE", "/customers/abc", None),
        (
            "POST",
            "/customers/request_password_reset",
            {"customerId": cust["id"], "resetUrl": "https://example.com/reset"},
        ),
        ("POST", "/customers/request_password_reset", {"customerId": cust["id"]}),
        (
            "POST",
            "/customers/request_password_reset",
            {"customerEmail": "nobody@example.invalid", "resetUrl": "https://example.com/reset"},
        ),
        # subscriptions
        ("GET", f"/subscriptions?customerId={cancel['customerId']}", None),
        ("GET", "/subscriptions", None),
        ("GET", f"/subscriptions?transactionId={txn['transactionId']}", None),
        ("GET", "/subscriptions?customerId=1&status[]=gone", None),
        ("GET", f"/subscriptions/{sub_id}", None),
        ("GET", "/subscriptions/123456789", None),
        ("GET", "/subscriptions/x", None),
        ("PATCH", f"/subscriptions/{sub_id}", {"externalProperties": {"crm": "42"}}),
        ("PATCH", f"/subscriptions/{sub_id}", {"nickname": 1}),
        ("PATCH", "/subscriptions/123456789", {"expiresAt": NOW + 86_400}),
        ("PATCH", f"/subscriptions/{gone['subscriptionId']}", {"expiresAt": NOW + 86_400}),
        ("POST", f"/subscriptions/{sub_id}/cancel", {"cancellationReason": "moving abroad"}),
        ("POST", f"/subscriptions/{sub_id}/cancel", {"cancellationReason": "twice"}),
        ("POST", "/subscriptions/123456789/cancel", {"cancellationReason": "x"}),
        ("POST", f"/subscriptions/{sub_id}/activate", None),
        ("POST", f"/subscriptions/{gone['subscriptionId']}/activate", None),
        ("POST", "/subscriptions/123456789/activate", None),
        (
            "POST",
            f"/subscriptions/{pause['subscriptionId']}/pause",
            {"pauseDate": "anniversary-date", "resumesAfterBillingCycles": 1},
        ),
        ("POST", f"/subscriptions/{pause['subscriptionId']}/pause", {"pauseDate": "tomorrow"}),
        ("POST", f"/subscriptions/{pause['subscriptionId']}/resume", None),
        ("POST", f"/subscriptions/{pause['subscriptionId']}/resume", None),
        (
            "POST",
            f"/subscriptions/{term['subscriptionId']}/terminate",
            {"terminationType": "userCancel"},
        ),
        (
            "POST",
            f"/subscriptions/{term['subscriptionId']}/terminate",
            {"terminationType": "userCancel"},
        ),
        ("POST", "/subscriptions/123456789/terminate", {"terminationType": "userCancel"}),
        ("POST", f"/subscriptions/{move['subscriptionId']}/transfer", {"customerId": other["id"]}),
        ("POST", f"/subscriptions/{move['subscriptionId']}/transfer", {}),
        ("POST", "/subscriptions/123456789/transfer", {"customerId": other["id"]}),
        (
            "POST",
            f"/subscriptions/{in_app['subscriptionId']}/renew",
            {"expiresAt": in_app["dateTo"] + 30 * 86_400, "paymentId": 5},
        ),
        ("POST", f"/subscriptions/{sub_id}/renew", {}),
        (
            "POST",
            f"/subscriptions/{web_gone['subscriptionId']}/revive",
            {"expirationDate": NOW + 86_400},
        ),
        (
            "POST",
            f"/subscriptions/{app_gone['subscriptionId']}/revive",
            {"expirationDate": NOW + 86_400},
        ),
        ("POST", f"/subscriptions/{sub_id}/revive", {}),
        (
            "POST",
            "/subscriptions",
            {
                "customerId": other["id"],
                "offerId": loc["id"],
                "paymentMethodId": 310000001,
                "externalId": "apple-0001",
                "expiresAt": NOW + 30 * 86_400,
            },
        ),
        ("POST", "/subscriptions", {"customerId": other["id"]}),
        (
            "POST",
            "/subscription_switches",
            {
                "subscriptionId": switch["subscriptionId"],
                "toOfferId": to_offer,
                "switchDirection": "upgrade",
            },
        ),
        (
            "POST",
            "/subscription_switches",
            {
                "subscriptionId": switch["subscriptionId"],
                "toOfferId": to_offer,
                "switchDirection": "sideways",
            },
        ),
        # passes
        ("GET", f"/passes?customerId={live_pass['customerId']}", None),
        ("GET", f"/passes?offerId={live_pass['offerId']}", None),
        ("GET", f"/passes/{pass_id}", None),
        ("GET", "/passes/1234567890", None),
        ("GET", "/passes/x", None),
        ("PATCH", f"/passes/{pass_id}", {"externalProperties": {"crm": "7"}}),
        ("PATCH", f"/passes/{pass_id}", {"expiresAt": "soon"}),
        ("PATCH", "/passes/1234567890", {"expiresAt": None}),
        ("POST", f"/passes/{pass_id}/terminate", None),
        ("PATCH", f"/passes/{pass_id}", {"expiresAt": None}),
        ("POST", f"/passes/{pass_id}/terminate", None),
        ("POST", "/passes/1234567890/terminate", None),
        ("POST", f"/passes/{moved_pass['passId']}/transfer", {"customerId": other["id"]}),
        ("POST", f"/passes/{moved_pass['passId']}/transfer", {"customerId": "x"}),
        (
            "POST",
            "/passes",
            {
                "customerId": other["id"],
                "offerId": pass_offer,
                "paymentMethodId": 310000002,
                "externalId": "play-0001",
            },
        ),
        ("POST", "/passes", {"offerId": pass_offer}),
        # payments, payment details, payment methods
        (
            "POST",
            "/payments",
            {
                "customerId": other["id"],
                "status": "captured",
                "offerId": loc["id"],
                "paymentMethodId": 194856795,
                "netAmount": loc["price"]["amount"],
                "taxAmount": 0,
                "currency": loc["price"]["currency"],
                "externalPaymentId": "PSP-1",
            },
        ),
        ("POST", "/payments", {"customerId": other["id"]}),
        (
            "PATCH",
            f"/payment_details/{details['id']}/attemptRestrictions",
            {"attemptRestrictedTo": NOW + 86_400},
        ),
        ("PATCH", f"/payment_details/{details['id']}/attemptRestrictions", {}),
        ("PATCH", "/payment_details/999999999/attemptRestrictions", {"attemptRestrictedTo": 0}),
        (
            "POST",
            "/payment_methods",
            {"source": "partner", "methodName": "card", "paymentGateway": "partner-psp"},
        ),
        ("POST", "/payment_methods", {"source": ""}),
        # campaigns and gifts
        ("GET", f"/campaigns?couponCode={campaign['couponCodes'][0]}", None),
        ("GET", "/campaigns", None),
        ("GET", "/gifts/123456789", None),
        (
            "PATCH",
            "/gifts/123456789",
            {
                "deliveryDetails": {
                    "recipientEmail": "a@b.co",
                    "personalNote": "hi",
                    "deliveryDate": NOW,
                }
            },
        ),
        ("GET", "/gifts/ABCD-1234/verification?redeemerId=123456789", None),
        ("GET", "/gifts/nope/verification", None),
        ("POST", "/gifts/ABCD-1234/redeem", {"redeemerId": 123456789}),
        ("POST", "/gifts/nope/redeem", {}),
        # entitlements
        ("GET", f"/entitlements?customerId={holder['id']}&offset=0&limit=10", None),
        (
            "GET",
            f"/entitlements?customerEmail={customers[0]['email']}&status=all&offerType=SPAR",
            None,
        ),
        ("GET", "/entitlements?offset=0&limit=10", None),
        ("GET", f"/entitlements?customerId={holder['id']}&status=expired", None),
        ("GET", "/entitlements?customerId=123456789", None),
        # offers, localizations, season groups
        ("GET", "/offers?offset=0&limit=100", None),
        ("GET", f"/offers/{offer['id']}", None),
        ("GET", f"/offers/{loc['id']}", None),
        ("GET", "/offers/X1", None),
        ("GET", "/offers/S999999999", None),
        ("PATCH", f"/offers/{offer['id']}", {"title": "Monthly premium"}),
        ("PATCH", f"/offers/{offer['id']}", {"title": "Monthly premium"}),
        ("PATCH", f"/offers/{offer['id']}", {"colour": "red"}),
        ("PATCH", "/offers/S999999999", {"title": "x"}),
        ("POST", f"/offers/{offer['id']}/deactivate", None),
        ("POST", f"/offers/{offer['id']}/deactivate", None),
        ("POST", f"/offers/{offer['id']}/localizations/{loc['countryCode']}/activate", None),
        ("POST", f"/offers/{offer['id']}/activate", None),
        ("POST", f"/offers/{offer['id']}/localizations/{loc['countryCode']}/deactivate", None),
        ("POST", f"/offers/{offer['id']}/localizations/{loc['countryCode']}/activate", None),
        (
            "POST",
            f"/offers/{offer['id']}/localizations",
            {
                "title": "Miesięczny",
                "countryCode": "ZW",
                "price": {"amount": 9.5, "currency": "USD"},
            },
        ),
        (
            "POST",
            f"/offers/{offer['id']}/localizations",
            {
                "title": "again",
                "countryCode": loc["countryCode"],
                "price": {"amount": 1, "currency": loc["price"]["currency"]},
            },
        ),
        (
            "PATCH",
            f"/offers/{offer['id']}/localizations/{loc['countryCode']}",
            {"title": "Renamed"},
        ),
        ("PATCH", f"/offers/{offer['id']}/localizations/QQ", {"title": "x"}),
        (
            "POST",
            "/offers",
            {
                "type": "pass",
                "title": "Day pass",
                "countryCode": "US",
                "price": {"amount": 3, "currency": "USD"},
                "entitlement": {"duration": {"amount": 1, "periodUnit": "day"}},
            },
        ),
        ("POST", "/offers", {"type": "pass"}),
        ("GET", "/offers/season-groups", None),
        ("GET", f"/offers/season-groups/{group['id']}", None),
        ("GET", "/offers/season-groups/not-a-uuid", None),
        ("GET", f"/offers/season-groups/{uuid.UUID(int=7)}", None),
        ("POST", "/offers/season-groups", {"name": "Rugby"}),
        ("POST", "/offers/season-groups", {"name": group["name"]}),
        ("PATCH", f"/offers/season-groups/{group['id']}", {"name": group["name"] + " League"}),
        (
            "POST",
            f"/offers/season-groups/{group['id']}/seasons",
            {"startDate": NOW + 4000 * 86_400, "endDate": NOW + 4100 * 86_400},
        ),
        (
            "POST",
            f"/offers/season-groups/{group['id']}/seasons",
            {"startDate": NOW + 86_400, "endDate": NOW + 2 * 86_400},
        ),
        (
            "PATCH",
            f"/offers/season-groups/{group['id']}/seasons/{new_season}",
            {"startDate": NOW + 4010 * 86_400, "endDate": NOW + 4110 * 86_400},
        ),
        (
            "PATCH",
            f"/offers/season-groups/{group['id']}/seasons/{first_season}",
            {"startDate": NOW - 900 * 86_400, "endDate": NOW + 510 * 86_400},
        ),
        (
            "PATCH",
            f"/offers/season-groups/{group['id']}/seasons/999",
            {"startDate": NOW + 410 * 86_400, "endDate": NOW + 510 * 86_400},
        ),
        ("DELETE", f"/offers/season-groups/{group['id']}/seasons/{first_season}", None),
        ("DELETE", f"/offers/season-groups/{group['id']}/seasons/{new_season}", None),
        ("DELETE", f"/offers/season-groups/{group['id']}", None),
        # webhook subscriptions
        ("GET", "/webhook_subscriptions", None),
        ("PUT", "/webhook_subscriptions/customerRegistered", [{"url": "http://127.0.0.1:9/hook"}]),
        ("PUT", "/webhook_subscriptions/customerRegistered", [{"url": "ftp://x"}]),
        ("PUT", "/webhook_subscriptions/noSuchTopic", [{"url": "http://127.0.0.1:9/hook"}]),
    ]


@pytest.fixture(scope="module", params=["sandbox", "vendor"])
def served(request):
    state = SandboxState.generate(150, 1, AS_OF, advance_clock=False)
    running = start_sandbox(state, profile=request.param)
    yield request.param, state, running
    running.stop()


def test_every_sampled_answer_conforms_to_the_openapi_file(served):
    profile, state, running = served
    calls = _calls(state)
    failures, statuses, templates = [], {}, set()
    with httpx.Client(base_url=running.url, headers=KEY, timeout=10) as client:
        for method, path, body in calls:
            answer = client.request(method, path, json=body)
            status = answer.status_code
            payload = answer.json() if answer.content else None
            bare = path.split("?")[0]
            statuses[status] = statuses.get(status, 0) + 1
            templates.add((method, operation(method, bare)[1] if operation(method, bare) else bare))
            for problem in problems(method, bare, status, payload, strict=profile == "vendor"):
                failures.append(f"{method} {path} -> {status}: {problem}")
    assert not failures, "\n".join(failures)
    assert len(calls) >= 56
    assert {400, 404, 422} <= set(statuses) and statuses.get(200, 0) >= 40
    assert templates == SURFACE, SURFACE - templates  # every vendor path was sampled


def test_the_vendor_profile_serves_only_the_published_surface():
    state = SandboxState.generate(40, 2, AS_OF, advance_clock=False)
    running = start_sandbox(state, profile="vendor")
    try:
        with httpx.Client(base_url=running.url, headers=KEY, timeout=10) as api:
            customer = state.export()["customers"][0]
            for path in (
                "/x-srm/customers?since=0",
                "/x-srm/transactions",
                "/x-srm/notes",
                "/transactions",
                "/customers/1/notes",
            ):
                answer = api.get(path)
                assert (answer.status_code, answer.json()) == (404, {"message": "Not found"}), path
            for method, path in (
                ("POST", "/x-srm/notes"),
                ("POST", "/customers"),
                ("PUT", "/webhook_subscriptions"),
                ("GET", "/webhook_subscriptions/passCreated"),
                ("POST", "/x-srm/transactions/T123456789/refund"),
                ("DELETE", "/subscriptions/123456789"),
            ):
                answer = api.request(method, path, json={})
                assert (answer.status_code, answer.json()) == (404, {"message": "Not found"}), path
            # No list of everyone's subscriptions: only customerId or transactionId filters.
            method_only = api.get("/subscriptions", params={"paymentMethodId": 194856795})
            assert method_only.json()["data"] == []
            assert api.get("/passes", params={"paymentMethodId": 194856795}).json() == []
            # The extension field of PATCH /customers is refused there.
            assert (
                api.patch(f"/customers/{customer['id']}", json={"companyName": "ACME"}).status_code
                == 400
            )
            # The vendor's documented topics only.
            assert "customerUpdated" not in api.get("/webhook_subscriptions").json()
        root = running.url.removesuffix("/3.1")
        assert httpx.get(f"{root}/sandbox/export").json()["customers"]
    finally:
        running.stop()


def test_the_sandbox_profile_keeps_its_extensions_off_the_vendors_closed_resources():
    state = SandboxState.generate(40, 2, AS_OF, advance_clock=False)
    running = start_sandbox(state)
    try:
        with httpx.Client(base_url=running.url, headers=KEY, timeout=10) as api:
            record = state.export()["passes"][0]
            enumerated = api.get("/x-srm/passes", params={"since": 0, "limit": 1000}).json()
            assert record in enumerated["items"] and "createdAt" in record
            published = api.get(f"/passes/{record['passId']}").json()
            assert published == {k: v for k, v in record.items() if k != "createdAt"}
            sub = state.export()["subscriptions"][0]
            # SubscriptionResource is open: the sandbox profile keeps createdAt and period there.
            assert api.get(f"/subscriptions/{sub['subscriptionId']}").json() == sub
    finally:
        running.stop()

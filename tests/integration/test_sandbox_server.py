"""The sandbox API over real loopback HTTP: envelopes, enumeration, every write rule,
idempotency, faults, rate limits, webhooks and persistence."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from srm_tui.sandbox.customer_ops import subscription_state
from srm_tui.sandbox.runner import start_in_thread
from srm_tui.sandbox.server import create_app
from srm_tui.sandbox.state import SandboxState

AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)
NOW = int(AS_OF.timestamp())
DAY = 86_400
KEY = {"X-Publisher-Token": "sandbox-key"}
SECRET = "webhook-test-secret"


@pytest.fixture(scope="module")
def sandbox():
    state = SandboxState.generate(400, 1, AS_OF, advance_clock=False)
    running = start_in_thread(create_app(state, webhook_secret=SECRET))
    yield state, running
    running.stop()


@pytest.fixture(scope="module")
def state(sandbox):
    return sandbox[0]


@pytest.fixture(scope="module")
def api(sandbox):
    with httpx.Client(base_url=sandbox[1].url, headers=KEY, timeout=10) as client:
        yield client


@pytest.fixture(scope="module")
def root(sandbox):
    return sandbox[1].url.removesuffix("/3.1")


def first(state, entity, predicate):
    """The first record of `entity` that satisfies `predicate` (test data is generated)."""
    return next(r for r in state.export()[entity] if predicate(r))


def subs_of(state, customer_id):
    return state.of_customer("subscriptions", customer_id)


# -- conventions ----------------------------------------------------------------------------


def test_auth_is_required_with_the_route_family_envelope(sandbox, root):
    url = sandbox[1].url
    bare = httpx.get(f"{url}/offers")
    assert bare.status_code == 401 and bare.json() == {"message": "Invalid publisher token"}
    wrong = httpx.get(f"{url}/customers/123456789", headers={"X-Publisher-Token": "nope"})
    assert wrong.status_code == 401
    assert wrong.json() == {"success": False, "message": "Invalid publisher token", "data": None}
    assert httpx.get(f"{root}/sandbox/health").json() == {"ok": True}


def test_customer_envelopes_and_lookups(api, state):
    customer = first(state, "customers", lambda c: c["externalId"] and c["email"])
    got = api.get(f"/customers/{customer['id']}")
    assert got.json() == {"success": True, "message": "", "data": customer}
    by_email = api.get(
        "/customers", params={"email": customer["email"].upper(), "offset": 0, "limit": 10}
    )
    assert by_email.json()["data"] == [customer] and by_email.headers["X-Total-Count"] == "1"
    by_ext = api.get("/customers", params={"externalId": customer["externalId"]})
    assert by_ext.json()["data"] == [customer]
    assert api.get("/customers").status_code == 400
    missing = api.get("/customers/999999999")
    assert missing.status_code == 404
    assert missing.json() == {"success": False, "message": "Customer not found", "data": None}
    assert api.get("/customers/abc").json()["message"] == "Invalid customerId format"


def test_subscription_pass_offer_and_campaign_reads(api, state):
    sub = first(state, "subscriptions", lambda s: True)
    listed = api.get("/subscriptions", params={"customerId": sub["customerId"]})
    body = listed.json()
    assert body["success"] is True and body["message"] == "" and sub in body["data"]
    assert listed.headers["X-Total-Count"] == str(len(subs_of(state, sub["customerId"])))
    assert api.get("/subscriptions").json() == {"success": True, "data": [], "message": ""}
    txn = first(state, "transactions", lambda t: t["subscriptionId"] == sub["subscriptionId"])
    by_txn = api.get("/subscriptions", params={"transactionId": txn["transactionId"]})
    assert by_txn.json()["data"] == [sub]
    assert api.get(f"/subscriptions/{sub['subscriptionId']}").json() == sub
    assert api.get("/subscriptions/123456789").json() == {"message": "Subscription not found"}
    assert (
        api.get("/subscriptions", params={"status[]": "gone", "customerId": 1}).status_code == 400
    )

    record = first(state, "passes", lambda p: True)
    passes = api.get("/passes", params={"customerId": record["customerId"]})
    # PassResource forbids additional properties: the sandbox's createdAt is export-only.
    published = {k: v for k, v in record.items() if k != "createdAt"}
    assert "createdAt" in record
    assert published in passes.json() and passes.headers["X-Total-Count"]
    assert api.get(f"/passes/{record['passId']}").json() == published

    offers = api.get("/offers", params={"offset": 0, "limit": 5})
    assert len(offers.json()) == 5 and int(offers.headers["X-Total-Count"]) == len(
        state.all("offers")
    )
    offer = offers.json()[0]
    one = api.get(f"/offers/{offer['id']}")
    assert one.json() == offer and one.headers["ETag"] == f'"{offer["version"]}"'
    assert api.get(f"/offers/{offer['localizations'][0]['id']}").json()["id"] == offer["id"]
    assert api.get("/offers/X1").status_code == 400
    campaigns = api.get("/campaigns", params={"couponCode": "comeback50"}).json()
    assert campaigns["message"] == "" and campaigns["data"][0]["name"] == "Win-back"
    assert campaigns["data"][0]["discount"] == 50
    assert api.get("/campaigns").status_code == 400


def test_enumeration_pages_everything_then_follows_changes(api, state):
    seen, since, pages = [], 0, 0
    while True:
        page = api.get("/x-srm/customers", params={"since": since, "limit": 150})
        body = page.json()
        assert int(page.headers["X-Total-Count"]) == len(state.all("customers")) - len(seen)
        seen += body["items"]
        since, pages = body["nextSince"], pages + 1
        if not body["hasMore"]:
            break
    assert pages == 3
    assert sorted(c["id"] for c in seen) == sorted(c["id"] for c in state.all("customers"))
    empty = api.get("/x-srm/customers", params={"since": since}).json()
    assert empty == {"items": [], "nextSince": since, "hasMore": False}

    target = seen[7]
    api.patch(f"/customers/{target['id']}", json={"lastName": "Changed"}).raise_for_status()
    changed = api.get("/x-srm/customers", params={"since": since}).json()
    assert [c["id"] for c in changed["items"]] == [target["id"]] and changed["nextSince"] > since
    history = api.get("/x-srm/history", params={"since": since}).json()["items"]
    assert history[-1]["customerId"] == target["id"]
    mine = api.get("/x-srm/transactions", params={"customerId": target["id"], "since": 0}).json()
    assert {t["customerId"] for t in mine["items"]} <= {target["id"]}
    assert api.get("/x-srm/unknown").status_code == 404
    assert api.get("/x-srm/customers", params={"limit": 1001}).status_code == 400


# -- customer writes ------------------------------------------------------------------------


def test_edit_customer_writes_history_and_checks_fields(api, state):
    customer, other = [c for c in state.all("customers") if c["email"]][20:22]
    answer = api.patch(
        f"/customers/{customer['id']}",
        headers={"X-Srm-Editor": "anna"},
        json={"firstName": "Zoë", "companyName": "Acme B.V."},
    )
    assert answer.status_code == 200 and answer.json()["data"]["firstName"] == "Zoë"
    assert answer.json()["data"]["capture"]["companyName"] == "Acme B.V."
    entry = state.of_customer("history", customer["id"])[-1]
    assert entry["editor"] == "anna"
    assert {c["field"] for c in entry["changes"]} == {"firstName", "companyName"}
    taken = api.patch(f"/customers/{customer['id']}", json={"email": other["email"]})
    assert taken.status_code == 422 and taken.json()["success"] is False
    assert (
        api.patch(f"/customers/{customer['id']}", json={"firstName": "x" * 51}).status_code == 400
    )
    assert api.patch(f"/customers/{customer['id']}", json={"shoeSize": 44}).status_code == 400


def test_anonymize_is_refused_while_a_subscription_is_not_churned(api, state):
    busy = first(
        state,
        "customers",
        lambda c: any(
            subscription_state(s, NOW) in ("paused", "grace") for s in subs_of(state, c["id"])
        ),
    )
    refused = api.delete(f"/customers/{busy['id']}")
    assert refused.status_code == 422
    assert refused.json() == {
        "data": None,
        "success": False,
        "message": "User has an active subscription",
    }
    churned = first(
        state,
        "customers",
        lambda c: (
            subs_of(state, c["id"])
            and all(subscription_state(s, NOW) == "churned" for s in subs_of(state, c["id"]))
        ),
    )
    done = api.delete(f"/customers/{churned['id']}")
    assert done.json() == {"data": [], "success": True, "message": "User deleted successfully"}
    after = api.get(f"/customers/{churned['id']}").json()["data"]
    assert after["email"] is None and after["firstName"] is None and after["externalId"] is None
    assert set(after["capture"].values()) == {None}
    assert (after["country"], after["regDate"]) == (churned["country"], churned["regDate"])
    assert all(e["to"] is None for e in state.of_customer("emails", churned["id"]))
    assert api.patch(f"/customers/{churned['id']}", json={"firstName": "A"}).status_code == 422


def test_register_customer(api):
    answer = api.post(
        "/customers",
        json={
            "email": "new.person@example.com",
            "country": "PL",
            "currency": "PLN",
            "locale": "pl_PL",
            "firstName": "Łucja",
        },
    )
    assert answer.status_code == 201 and answer.json()["data"]["firstName"] == "Łucja"
    again = api.post(
        "/customers",
        json={
            "email": "NEW.person@example.com",
            "country": "PL",
            "currency": "PLN",
            "locale": "pl_PL",
        },
    )
    assert again.status_code == 422
    assert (
        api.post(
            "/customers",
            json={"email": "nope", "country": "PL", "currency": "PLN", "locale": "pl_PL"},
        ).status_code
        == 400
    )


# -- access writes --------------------------------------------------------------------------


def test_extend_and_cancel_subscription(api, state):
    sub = first(
        state,
        "subscriptions",
        lambda s: subscription_state(s, NOW) == "active" and not s["isExternallyManaged"],
    )
    shorter = api.patch(
        f"/subscriptions/{sub['subscriptionId']}", json={"expiresAt": sub["dateTo"] - DAY}
    )
    assert shorter.status_code == 422
    assert shorter.json()["success"] is False and shorter.json()["subscription"] is None
    longer = api.patch(
        f"/subscriptions/{sub['subscriptionId']}", json={"expiresAt": sub["dateTo"] + 10 * DAY}
    )
    assert longer.json()["success"] is True
    assert longer.json()["subscription"]["dateTo"] == sub["dateTo"] + 10 * DAY
    missing = api.patch("/subscriptions/123456789", json={"expiresAt": NOW})
    assert missing.status_code == 404 and missing.json()["subscription"] is None
    coupon = api.patch(f"/subscriptions/{sub['subscriptionId']}", json={"couponCode": "COMEBACK50"})
    assert (
        coupon.json()["subscription"]["nextPaymentPrice"] < sub["nextPaymentPrice"]
        or sub["nextPaymentPrice"] == 0
    )
    assert (
        api.patch(
            f"/subscriptions/{sub['subscriptionId']}", json={"couponCode": "NOSUCHCODE"}
        ).status_code
        == 422
    )

    cancelled = api.post(
        f"/subscriptions/{sub['subscriptionId']}/cancel",
        json={"cancellationReason": "Too expensive"},
    )
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "stopped"
    assert cancelled.json()["cancellationReason"] == "Too expensive"
    assert cancelled.json()["dateTo"] == sub["dateTo"] + 10 * DAY
    again = api.post(
        f"/subscriptions/{sub['subscriptionId']}/cancel", json={"cancellationReason": "Again"}
    )
    assert again.status_code == 422 and "message" in again.json()
    in_app = first(
        state, "subscriptions", lambda s: s["status"] == "active" and s["isExternallyManaged"]
    )
    assert (
        api.post(
            f"/subscriptions/{in_app['subscriptionId']}/cancel", json={"cancellationReason": "x"}
        ).status_code
        == 422
    )
    assert api.post(f"/subscriptions/{in_app['subscriptionId']}/cancel", json={}).status_code == 400


def test_extend_pass(api, state):
    record = first(state, "passes", lambda p: p["status"] == "active" and p["expiresAt"])
    url = f"/passes/{record['passId']}"
    assert api.patch(url, json={"expiresAt": record["expiresAt"] - 60}).status_code == 422
    assert (
        api.patch(url, json={"expiresAt": record["expiresAt"] + DAY}).json()["expiresAt"]
        == record["expiresAt"] + DAY
    )
    assert api.patch(url, json={"expiresAt": None}).json()["expiresAt"] is None
    assert api.patch(url, json={"expiresAt": NOW + 400 * DAY}).status_code == 422
    assert api.get("/passes/1234567890").status_code == 404


def test_refund_rules(api, state):
    def txn_where(**rules):
        return first(
            state,
            "transactions",
            lambda t: all((t[k] == v if not callable(v) else v(t[k])) for k, v in rules.items()),
        )

    recent = lambda d: d >= NOW - 25 * DAY  # noqa: E731
    old = txn_where(
        status="captured",
        paymentGateway="adyen",
        amount=lambda a: a > 0,
        transactionDate=lambda d: d < NOW - 40 * DAY,
        isGift=False,
    )
    assert (
        "30 days"
        in api.post(
            f"/x-srm/transactions/{old['transactionId']}/refund", json={"reason": "x"}
        ).json()["message"]
    )
    in_app = txn_where(
        status="captured", paymentGateway="apple", transactionDate=recent, amount=lambda a: a > 0
    )
    assert (
        api.post(
            f"/x-srm/transactions/{in_app['transactionId']}/refund", json={"reason": "x"}
        ).status_code
        == 422
    )
    rejected = txn_where(status="rejected")
    assert (
        api.post(
            f"/x-srm/transactions/{rejected['transactionId']}/refund", json={"reason": "x"}
        ).status_code
        == 422
    )

    txn = txn_where(
        status="captured",
        paymentGateway="adyen",
        transactionDate=recent,
        amount=lambda a: a >= 2,
        isGift=False,
        subscriptionId=lambda s: s is not None,
    )
    url = f"/x-srm/transactions/{txn['transactionId']}/refund"
    too_much = api.post(url, json={"amount": txn["amount"] + 1, "reason": "x"})
    assert too_much.status_code == 422 and "exceeds" in too_much.json()["message"]
    partial = api.post(url, json={"amount": 1, "reason": "Goodwill", "keepAccess": True}).json()
    assert partial["status"] == "refunded" and partial["refundedAmount"] == 1
    assert state.get("subscriptions", txn["subscriptionId"])["status"] != "terminated"
    rest = api.post(url, json={"reason": "Customer request", "keepAccess": False}).json()
    assert rest["refundedAmount"] == txn["amount"]
    assert state.get("subscriptions", txn["subscriptionId"])["status"] == "terminated"
    assert "fully refunded" in api.post(url, json={"reason": "x"}).json()["message"]
    assert api.post(url, json={"amount": -1, "reason": "x"}).status_code == 400


def test_cancel_transaction_terminates_access(api, state):
    txn = first(
        state,
        "transactions",
        lambda t: (
            t["status"] == "captured"
            and t["passId"]
            and state.get("passes", t["passId"])["status"] == "active"
        ),
    )
    url = f"/x-srm/transactions/{txn['transactionId']}/cancel"
    answer = api.post(url, json={"refund": False})
    assert answer.status_code == 200 and answer.json()["status"] == "captured"
    assert state.get("passes", txn["passId"])["status"] == "terminated"
    assert api.post(url, json={}).status_code == 422


def test_delete_payment_details(api, state):
    details = first(
        state, "payment_details", lambda d: d["active"] and not d["bound"] and d["subscriptionIds"]
    )
    answer = api.delete(f"/x-srm/payment_details/{details['id']}")
    assert answer.json()["active"] is False and answer.json()["subscriptionIds"] == []
    for sub_id in details["subscriptionIds"]:
        assert state.get("subscriptions", sub_id)["paymentDetailsId"] is None
    assert api.delete(f"/x-srm/payment_details/{details['id']}").status_code == 422
    bound = first(state, "payment_details", lambda d: d["bound"])
    assert api.delete(f"/x-srm/payment_details/{bound['id']}").status_code == 422


def test_resend_email_and_notes(api, state):
    email = first(state, "emails", lambda e: e["to"] and e["type"] == "invoice")
    resent = api.post(f"/x-srm/emails/{email['id']}/resend", json={"to": "other@example.org"})
    assert resent.status_code == 201
    assert resent.json()["id"] != email["id"] and resent.json()["status"] == "sent"
    assert resent.json()["to"] == "other@example.org" and resent.json()["type"] == "invoice"

    note = api.post(
        "/x-srm/notes",
        json={"customerId": email["customerId"], "author": "tom", "text": "[b]VIP[/b]"},
    )
    assert note.status_code == 201
    note_id = note.json()["id"]
    edited = api.patch(f"/x-srm/notes/{note_id}", json={"text": "VIP", "editor": "anna"}).json()
    assert edited["text"] == "VIP" and edited["revisions"][0]["text"] == "[b]VIP[/b]"
    assert edited["revisions"][0]["editor"] == "anna"
    deleted = api.delete(f"/x-srm/notes/{note_id}", params={"editor": "tom"}).json()
    assert deleted["deletedAt"] == NOW and deleted["deletedBy"] == "tom"
    assert (
        api.patch(f"/x-srm/notes/{note_id}", json={"text": "x", "editor": "tom"}).status_code == 422
    )
    assert (
        api.post(
            "/x-srm/notes",
            json={"customerId": email["customerId"], "author": "tom", "text": "x" * 2501},
        ).status_code
        == 400
    )


def test_record_payment_creates_access(api, state):
    customer = first(state, "customers", lambda c: c["country"] == "US" and c["email"])
    offer = first(state, "offers", lambda o: o["id"][0] == "R")
    loc = next(l for l in offer["localizations"] if l["countryCode"] == "US")
    body = {
        "customerId": customer["id"],
        "status": "captured",
        "offerId": loc["id"],
        "paymentMethodId": 194856795,
        "netAmount": 3.0,
        "taxAmount": 0.99,
        "currency": "USD",
        "externalPaymentId": "PSP-1",
    }
    answer = api.post("/payments", json=body).json()
    assert answer["success"] is True and answer["payment"]["totalAmount"] == 3.99
    txn = state.get("transactions", answer["payment"]["transactionId"])
    record = state.get("passes", txn["passId"])
    assert record["expiresAt"] == NOW + 48 * 3600 and record["customerId"] == customer["id"]
    assert api.post("/payments", json=dict(body, currency="EUR")).status_code == 400


# -- offers and season groups ---------------------------------------------------------------


def test_offer_versions_and_activation_rules(api, state):
    offer = first(state, "offers", lambda o: o["active"] and o["id"][0] == "S")
    url = f"/offers/{offer['id']}"
    stale = api.patch(
        url, json={"title": "Stale"}, headers={"If-Match": f'"{offer["version"] - 1}"'}
    )
    assert stale.status_code == 412
    fresh = api.patch(url, json={"title": "Fresh"}, headers={"If-Match": f'"{offer["version"]}"'})
    assert fresh.status_code == 200 and fresh.json()["version"] == offer["version"] + 1
    assert fresh.headers["ETag"] == f'"{offer["version"] + 1}"'
    assert api.patch(url, json={"title": "Fresh"}).status_code == 204
    assert api.patch(url, json={"bogus": 1}).status_code == 400
    assert api.patch(url, json={"event": {"timezone": "UTC"}}).status_code == 422

    cc = offer["localizations"][0]["countryCode"]
    assert api.post(f"{url}/deactivate").json()["active"] is False
    assert api.post(f"{url}/deactivate").status_code == 204
    assert api.post(f"{url}/localizations/{cc}/deactivate").status_code == 200
    refused = api.post(f"{url}/localizations/{cc}/activate")
    assert refused.status_code == 422
    assert refused.json() == {"message": "Cannot activate localization of an inactive offer"}
    assert api.post(f"{url}/activate").status_code == 200
    assert api.post(f"{url}/localizations/{cc}/activate").json()["active"] is True
    dup = api.post(
        f"{url}/localizations",
        json={"title": "Again", "countryCode": cc, "price": {"amount": 1, "currency": "USD"}},
    )
    assert dup.status_code == 422
    added = api.post(
        f"{url}/localizations",
        json={"title": "Szwecja", "countryCode": "SE", "price": {"amount": 99, "currency": "SEK"}},
    )
    assert any(l["id"] == f"{offer['id']}_SE" for l in added.json()["localizations"])
    price = api.patch(f"{url}/localizations/SE", json={"price": {"amount": 89}})
    assert price.json()["localizations"][-1]["price"] == {
        "amount": 89,
        "currency": "SEK",
        "taxIncluded": True,
    }
    assert (
        api.patch(
            f"{url}/localizations/SE", json={"price": {"amount": 1, "currency": "EUR"}}
        ).status_code
        == 400
    )

    created = api.post(
        "/offers",
        json={
            "type": "pass",
            "title": "Day Pass",
            "price": {"amount": 1.99, "currency": "EUR"},
            "countryCode": "NL",
            "entitlement": {"duration": {"amount": 1, "periodUnit": "day"}},
        },
    )
    assert created.status_code == 201 and created.json()["id"].startswith("P")
    assert created.json()["localizations"][0]["id"] == created.json()["longId"]


def test_season_group_rules(api, state):
    groups = api.get("/offers/season-groups").json()
    football = next(g for g in groups if g["name"] == "Premier Football")
    assert api.post("/offers/season-groups", json={"name": "premier football"}).status_code == 422
    assert api.delete(f"/offers/season-groups/{football['id']}").json() == {
        "message": "Cannot delete season group with active seasons"
    }
    created = api.post("/offers/season-groups", json={"name": "Basketball"}).json()
    url = f"/offers/season-groups/{created['id']}"
    soon = api.post(f"{url}/seasons", json={"startDate": NOW + 10 * DAY, "endDate": NOW + 90 * DAY})
    assert soon.json() == {"message": "Upcoming season can't start in less than 31 days"}
    one = api.post(f"{url}/seasons", json={"startDate": NOW + 40 * DAY, "endDate": NOW + 100 * DAY})
    two = api.post(
        f"{url}/seasons", json={"startDate": NOW + 200 * DAY, "endDate": NOW + 300 * DAY}
    )
    assert [s["id"] for s in two.json()["seasons"]] == [1, 2]
    assert api.delete(f"{url}/seasons/1").json() == {"message": "Only last season can be removed"}
    moved = api.patch(
        f"{url}/seasons/1", json={"startDate": NOW + 45 * DAY, "endDate": NOW + 100 * DAY}
    )
    assert moved.json()["seasons"][0]["startDate"] == NOW + 45 * DAY
    running = football["seasons"][3]
    past = api.patch(
        f"/offers/season-groups/{football['id']}/seasons/{running['id']}",
        json={"startDate": running["startDate"] + DAY, "endDate": running["endDate"]},
    )
    assert past.json() == {"message": "Only dates in future can be edited"}
    assert one.status_code == 200
    assert api.delete(f"{url}/seasons/2").json()["seasons"][-1]["id"] == 1
    before = state.seq
    assert api.delete(f"{url}/seasons/1").status_code == 200
    assert api.delete(url).json() == {"message": "Season group deleted"}
    assert api.get(url).status_code == 404
    stones = api.get("/x-srm/season_groups", params={"since": before}).json()["items"]
    assert {"id": created["id"], "deleted": True} in stones
    assert api.get("/offers/season-groups/not-a-uuid").status_code == 400


# -- cross-cutting --------------------------------------------------------------------------


def test_idempotency_key_replays_the_first_answer(api, state):
    customer = first(state, "customers", lambda c: c["email"])
    headers = {"Idempotency-Key": "note-once-1"}
    body = {"customerId": customer["id"], "author": "yuki", "text": "only once"}
    before = len(state.of_customer("notes", customer["id"]))
    first_answer = api.post("/x-srm/notes", json=body, headers=headers)
    replay = api.post("/x-srm/notes", json=body, headers=headers)
    assert (replay.status_code, replay.content) == (first_answer.status_code, first_answer.content)
    assert len(state.of_customer("notes", customer["id"])) == before + 1
    refused = api.patch(
        "/subscriptions/123456789", json={"expiresAt": 1}, headers={"Idempotency-Key": "k-404"}
    )
    again = api.patch(
        "/subscriptions/123456789", json={"expiresAt": 1}, headers={"Idempotency-Key": "k-404"}
    )
    assert refused.status_code == again.status_code == 404 and refused.content == again.content


def _fault_run(state, seed):
    running = start_in_thread(create_app(state, faults=0.5, seed=seed, stall_seconds=0.3))
    outcomes = []
    try:
        root = running.url.removesuffix("/3.1")
        with httpx.Client(base_url=running.url, headers=KEY, timeout=5) as client:

            def drawn() -> dict[str, int]:  # the faults the sandbox drew so far, by kind
                return client.get(f"{root}/sandbox/stats").json()["faults"]

            for _ in range(60):
                before = drawn()
                started = time.monotonic()
                answer = client.get("/offers", params={"limit": 3})
                took = time.monotonic() - started
                after = drawn()
                # Which fault this answer had, as the sandbox drew it: telling a stall by the
                # time it took also called any answer slowed by a busy machine a stall.
                kinds = [k for k in after if after[k] != before.get(k, 0)]
                assert len(kinds) <= 1, kinds
                if answer.status_code == 200:
                    try:
                        answer.json()
                        assert kinds == []
                        outcomes.append("ok")
                    except ValueError:
                        assert int(answer.headers["Content-Length"]) == len(answer.content)
                        assert kinds == ["truncate"]
                        outcomes.append("truncated")
                else:
                    if answer.status_code in (429, 503):
                        assert answer.headers["Retry-After"] == "1"
                    if kinds == ["stall"]:
                        assert answer.status_code == 503 and took >= 0.3  # it waited first
                        outcomes.append("stall")
                    else:
                        assert kinds == [str(answer.status_code)], (kinds, answer.status_code)
                        outcomes.append(str(answer.status_code))
            assert all(client.get(f"{root}/sandbox/health").status_code == 200 for _ in range(20))
            notes_before = len(state.all("notes"))
            created = sum(
                client.post(
                    "/x-srm/notes",
                    json={
                        "customerId": state.all("customers")[0]["id"],
                        "author": "olu",
                        "text": "fault test",
                    },
                ).status_code
                == 201
                for _ in range(20)
            )
            assert len(state.all("notes")) - notes_before == created
    finally:
        running.stop()
    return outcomes


def test_faults_are_deterministic_and_of_every_kind():
    state = SandboxState.generate(20, 1, AS_OF, advance_clock=False)
    outcomes = _fault_run(state, seed=42)
    assert set(outcomes) == {"ok", "500", "503", "429", "stall", "truncated"}
    assert _fault_run(state, seed=42)[:60] == outcomes
    assert _fault_run(state, seed=43)[:60] != outcomes


def test_rate_limit_answers_429_with_retry_after():
    state = SandboxState.generate(5, 1, AS_OF)
    running = start_in_thread(create_app(state, rate_limit=2))
    answers = []
    try:
        with httpx.Client(base_url=running.url, headers=KEY) as client:
            # Calls until the bucket (2 calls, 2 more a second) runs dry: a small answer, so a
            # busy machine still calls faster than the bucket refills.
            while len(answers) < 100 and (not answers or answers[-1].status_code != 429):
                answers.append(client.get("/customers/123456789"))
    finally:
        running.stop()
    assert answers[0].status_code == 404 and answers[-1].status_code == 429
    assert int(answers[-1].headers["Retry-After"]) >= 1
    assert answers[-1].json() == {"message": "Too Many Requests"}


def test_the_limit_refuses_the_next_calls_it_is_told_to():
    """A test meets the limit at the call it chooses (PUT /sandbox/limit), not by sending
    faster than a busy machine may manage; without --rate-limit there is no limit to set."""
    state = SandboxState.generate(5, 1, AS_OF)
    limited = start_in_thread(create_app(state, rate_limit=1000))
    plain = start_in_thread(create_app(state))
    try:
        with httpx.Client(base_url=limited.url.removesuffix("/3.1")) as client:
            for bad in ({}, {"refuse": "2"}, {"refuse": True}, {"refuse": -1}, {"refuse": 1001}):
                assert client.put("/sandbox/limit", json=bad).status_code == 400, bad
            assert client.put("/sandbox/limit", json={"refuse": 2}).json() == {"refuse": 2}
            codes = [
                client.get("/3.1/customers/123456789", headers=KEY).status_code for _ in range(3)
            ]
            stats = client.get("/sandbox/stats").json()
        with httpx.Client(base_url=plain.url.removesuffix("/3.1")) as client:
            unlimited = client.put("/sandbox/limit", json={"refuse": 1})
    finally:
        limited.stop()
        plain.stop()
    assert codes[:2] == [429, 429] and codes[2] != 429, codes
    assert stats["rate_limited"] == 2
    assert unlimited.status_code == 409


class _Receiver(BaseHTTPRequestHandler):
    deliveries: list = []

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).deliveries.append((dict(self.headers), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_webhook_delivery_is_signed(api, sandbox):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        put = api.put("/webhook_subscriptions/customerRegistered", json=[{"url": url}])
        assert put.json() == [{"url": url}]
        assert api.get("/webhook_subscriptions").json()["customerRegistered"] == [{"url": url}]
        assert api.put("/webhook_subscriptions/noSuchTopic", json=[]).status_code == 404
        api.post(
            "/customers",
            json={
                "email": "hook@example.com",
                "country": "NL",
                "currency": "EUR",
                "locale": "nl_NL",
            },
        ).raise_for_status()
        app_state = sandbox[1].server.config.app.state
        assert app_state.webhooks.wait_idle(10)
        headers, body = _Receiver.deliveries[-1]
        expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-Srm-Signature"] == f"sha256={expected}"
        payload = json.loads(body)
        assert payload["topic"] == "customerRegistered" and payload["broadcasterId"] == 558186818
        assert payload["data"]["customerEmail"] == "hook@example.com"
    finally:
        api.put("/webhook_subscriptions/customerRegistered", json=[])
        server.shutdown()


def test_state_file_keeps_writes_across_restarts(tmp_path):
    path = tmp_path / "state.json"
    state = SandboxState.open(path, customers=30, seed=5, as_of=AS_OF)
    customer = state.all("customers")[3]
    state.edit_customer(customer["id"], {"firstName": "Saved"})
    state.close()
    loaded = SandboxState.load(path, autosave=False)
    assert loaded.get("customers", customer["id"])["firstName"] == "Saved"
    assert loaded.seq == state.seq
    assert loaded.since("customers", state.seq - 2, 10)[0][-1]["id"] == customer["id"]
    assert loaded.export() == state.export()


SERVE_SCRIPT = """
import sys
from datetime import datetime, timezone
from srm_tui.sandbox.runner import serve
from srm_tui.sandbox.server import create_app
from srm_tui.sandbox.state import SandboxState
state = SandboxState.generate(10, 1, datetime(2026, 11, 1, tzinfo=timezone.utc))
state.save(sys.argv[1])
serve(create_app(state), "127.0.0.1", 0, lambda url: print("listening on", url, flush=True))
"""


def test_serve_reports_the_real_port_and_stops_on_sigterm(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVE_SCRIPT, str(tmp_path / "s.json")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        url = line.split("listening on ", 1)[1].strip()
        assert not url.endswith(":0/3.1")
        created = httpx.post(
            f"{url}/x-srm/notes",
            headers=KEY,
            json={
                "customerId": SandboxState.load(tmp_path / "s.json", autosave=False).all(
                    "customers"
                )[0]["id"],
                "author": "anna",
                "text": "flushed on exit",
            },
        )
        assert created.status_code == 201
        proc.terminate()
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    notes = SandboxState.load(tmp_path / "s.json", autosave=False).all("notes")
    assert any(n["text"] == "flushed on exit" for n in notes)


# -- the clock ------------------------------------------------------------------------------


def test_without_as_of_the_data_is_as_of_now_and_writes_are_dated_by_the_real_clock(tmp_path):
    from srm_tui import runtime
    from tests.helpers import SandboxProcess

    before = int(time.time())
    as_of = runtime.demo_as_of()
    assert as_of.second == 0 and before - 60 <= as_of.timestamp() <= time.time()
    # Deterministic per seed and as-of instant.
    assert (
        SandboxState.generate(30, 9, as_of).export() == SandboxState.generate(30, 9, as_of).export()
    )
    state = SandboxState.generate(30, 9, as_of, real_clock=True)
    customer = state.export()["customers"][0]
    note = state.add_note({"customerId": customer["id"], "author": "anna", "text": "hi"})
    assert before <= note["createdAt"] <= time.time()
    # A saved state keeps running on the real clock when loaded again.
    state.save(tmp_path / "state.json")
    state.close()
    again = SandboxState.load(tmp_path / "state.json", autosave=False)
    assert again.real_clock and before <= again.now() <= time.time()

    sandbox = SandboxProcess("--customers", "20")
    try:
        export = sandbox.export()
        newest = max(t["transactionDate"] for t in export["transactions"])
        assert newest <= time.time()  # generated relative to now, nothing in the future
        owner = export["customers"][0]["id"]
        started = int(time.time())
        made = httpx.post(
            f"{sandbox.url}/x-srm/notes",
            headers=KEY,
            json={"customerId": owner, "author": "anna", "text": "now"},
        )
        assert made.status_code == 201
        assert started <= made.json()["createdAt"] <= time.time()
    finally:
        sandbox.stop()


# -- the vendor's subscription and pass actions -----------------------------------------------


def test_vendor_actions_change_the_records_as_documented():
    state = SandboxState.generate(150, 6, AS_OF, advance_clock=False)
    running = start_in_thread(create_app(state))
    try:
        api = httpx.Client(base_url=running.url, headers=KEY, timeout=10)
        export = state.export()
        offers = {o["id"]: o for o in export["offers"]}
        web = [
            s
            for s in export["subscriptions"]
            if s["status"] == "active"
            and not s["isExternallyManaged"]
            and not s["inTrial"]
            and s["dateTo"] > NOW
        ]
        pausable = next(
            s for s in web if (offers[s["offerId"][:10]].get("pause") or {}).get("maxBillingCycles")
        )
        ending = next(s for s in web if s is not pausable)
        moving = next(s for s in web if s not in (pausable, ending))
        limit = offers[pausable["offerId"][:10]]["pause"]["maxBillingCycles"]
        url = f"/subscriptions/{pausable['subscriptionId']}"

        too_long = api.post(
            f"{url}/pause",
            json={"pauseDate": "anniversary-date", "resumesAfterBillingCycles": limit + 1},
        )
        assert too_long.status_code == 400
        assert too_long.json() == {"message": "Maximum limit of allowed billing cycles exceeded"}
        paused = api.post(
            f"{url}/pause", json={"pauseDate": "anniversary-date", "resumesAfterBillingCycles": 1}
        ).json()
        assert paused["status"] == "paused"
        assert paused["pause"]["pauseDate"] == pausable["dateTo"] < paused["pause"]["resumeDate"]
        assert (
            subscription_state(state.get("subscriptions", pausable["subscriptionId"]), NOW)
            == "paused"
        )
        resumed = api.post(f"{url}/resume")
        assert resumed.status_code == 202 and resumed.json()["status"] == "active"
        assert resumed.json()["pause"] is None

        stopped = api.post(f"{url}/cancel", json={"cancellationReason": "price"}).json()
        assert stopped["status"] == "stopped"
        again = api.post(f"{url}/activate").json()
        assert again["status"] == "active" and again["cancellationReason"] is None

        ended = api.post(
            f"/subscriptions/{ending['subscriptionId']}/terminate",
            json={"terminationType": "policyViolation"},
        ).json()
        assert ended["status"] == "terminated" and ended["dateTo"] == NOW
        assert ended["terminationType"] == "policyViolation"
        assert (
            api.post(
                f"/subscriptions/{ending['subscriptionId']}/terminate",
                json={"terminationType": "nope"},
            ).status_code
            == 400
        )

        other = next(
            c for c in export["customers"] if c["email"] and c["id"] != moving["customerId"]
        )
        moved = api.post(
            f"/subscriptions/{moving['subscriptionId']}/transfer", json={"customerId": other["id"]}
        ).json()
        assert moved["customerId"] == other["id"] and moved["paymentDetailsId"] is None
        mine = api.get("/subscriptions", params={"customerId": other["id"]}).json()["data"]
        assert moving["subscriptionId"] in [s["subscriptionId"] for s in mine]
        theirs = api.get("/subscriptions", params={"customerId": moving["customerId"]}).json()
        assert moving["subscriptionId"] not in [s["subscriptionId"] for s in theirs["data"]]

        record = next(p for p in export["passes"] if p["status"] == "active")
        done = api.post(f"/passes/{record['passId']}/terminate").json()
        assert done["status"] == "terminated" and "createdAt" not in done
        assert state.get("passes", record["passId"])["createdAt"] == record["createdAt"]
    finally:
        running.stop()

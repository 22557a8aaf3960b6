"""Support actions against the real sandbox over loopback HTTP, through `srm` and the service.

One small sandbox and one synced cache serve the module; each test acts on customers no other
test touches (``Picker``), so the tests stay independent of their order.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

from srm_tui.actions import ActionInvalid, ActionRefused, ActionService, ConfirmationRequired
from srm_tui.config import Settings, load_settings
from srm_tui.domain.lifecycle import IN_APP_GATEWAYS, pass_is_active, subscription_state
from srm_tui.storage.cache import Cache
from tests.helpers import Picker, run_srm, srm_env

AS_OF = "2026-11-01T00:00:00Z"
NOW = int(datetime(2026, 11, 1, tzinfo=timezone.utc).timestamp())
KEY = "k3y-for-actions-7f3a91"
DAY = 86400


def sub_state(s: dict) -> str:
    return subscription_state(s["status"], s["inTrial"], s["dateTo"], NOW)


@pytest.fixture(scope="module")
def sandbox(sandbox_process):
    return sandbox_process("--customers", "200", "--seed", "5", "--as-of", AS_OF, "--api-key", KEY)


@pytest.fixture(scope="module")
def db(sandbox, tmp_path_factory):
    path = tmp_path_factory.mktemp("actions") / "c.db"
    result = run_srm("sync", env=srm_env(sandbox, path, SRM_API_KEY=KEY))
    assert result.returncode == 0, result.stderr
    return path


@pytest.fixture(scope="module")
def picker(sandbox, db):
    return Picker(sandbox.export())


@pytest.fixture
def env(sandbox, db):
    return srm_env(sandbox, db, SRM_API_KEY=KEY, SRM_NOW=AS_OF, SRM_AGENT="anna")


def settings(sandbox, db, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        api_url=sandbox.url, api_key=KEY, db=db, agent="anna", role="agent", now=AS_OF
    )
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture
def service(sandbox, db):
    cache = Cache(db)
    svc = ActionService(cache, settings(sandbox, db))
    yield svc
    svc.close()
    cache.close()


def show(env: dict[str, str], customer_id: int) -> dict[str, Any]:
    result = run_srm("customer", "show", str(customer_id), "--json", env=env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def api_customer(sandbox, customer_id: int) -> dict[str, Any]:
    return next(c for c in sandbox.export()["customers"] if c["id"] == customer_id)


# -- edit, and what every action shares -------------------------------------------------


def test_edit_dry_run_then_apply(sandbox, env, picker):
    customer = picker.pick("customers", lambda c: c["email"] and c["capture"]["companyName"])
    cid = str(customer["id"])
    dry = run_srm(
        "customer",
        "edit",
        cid,
        "--first-name",
        "Zoë",
        "--email",
        "zoe.new@example.org",
        "--company",
        "Acme Sp. z o.o.",
        "--dry-run",
        env=env,
    )
    assert dry.returncode == 0, dry.stderr
    assert "first name" in dry.stdout and "Zoë" in dry.stdout and "allowed" in dry.stdout
    assert "login ID" in dry.stdout
    assert api_customer(sandbox, customer["id"]) == customer  # a dry run changes nothing
    assert show(env, customer["id"])["customer"] == customer

    result = run_srm(
        "customer",
        "edit",
        cid,
        "--first-name",
        "Zoë",
        "--email",
        "zoe.new@example.org",
        "--company",
        "Acme Sp. z o.o.",
        "--json",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "applied"
    shown = show(env, customer["id"])
    assert shown["customer"]["firstName"] == "Zoë"
    assert shown["customer"]["email"] == "zoe.new@example.org"
    assert shown["customer"]["capture"]["companyName"] == "Acme Sp. z o.o."
    assert shown["customer"] == api_customer(sandbox, customer["id"])
    # The merged history carries the vendor's change record, and srm's audit of the edit.
    entry = max((h["record"] for h in shown["history"] if "record" in h), key=lambda h: h["id"])
    assert entry["editor"] == "anna"
    assert any(h["kind"] == "agent" and "anna" in h["text"] for h in shown["history"])
    assert {c["field"] for c in entry["changes"]} == {"firstName", "email", "companyName"}


def test_invalid_input_exits_2_naming_the_field(env, picker):
    customer = picker.pick("customers", lambda c: c["email"])
    cid = str(customer["id"])
    cases = [
        (["customer", "edit", cid, "--email", "not-an-email"], "--email:"),
        (["customer", "edit", cid], "--first-name/--last-name/--email/--company:"),
        (["customer", "edit", "12ab", "--first-name", "X"], "ID:"),
        (["customer", "edit", cid, "--last-name", "x" * 51], "--last-name:"),
        (["customer", "extend", "123", "--until", "soon"], "--until:"),
        (["customer", "refund", "T12", "--reason", "r", "--yes"], "TRANSACTION_ID:"),
        (["customer", "resend", "500000001", "--to", "nobody"], "--to:"),
        (["customer", "note", "add", cid, ""], "TEXT:"),
    ]
    for args, field in cases:
        result = run_srm(*args, env=env)
        assert result.returncode == 2, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"srm: {field}"), (args, result.stderr)
        assert not result.stdout


def test_viewer_can_run_nothing(sandbox, env, db, picker):
    customer = picker.pick("customers", lambda c: c["email"])
    result = run_srm(
        "customer",
        "edit",
        str(customer["id"]),
        "--first-name",
        "Nope",
        env={**env, "SRM_ROLE": "viewer"},
    )
    assert result.returncode == 1
    assert "role.viewer" in result.stderr and "read only" in result.stderr
    assert api_customer(sandbox, customer["id"]) == customer
    push = run_srm("outbox", "push", env={**env, "SRM_ROLE": "viewer"})
    assert push.returncode == 1 and "role.viewer" in push.stderr
    cache = Cache(db)
    try:
        row = (
            cache.conn()
            .execute(
                "SELECT role, outcome, detail FROM audit WHERE customer_id = ? ORDER BY id DESC",
                (customer["id"],),
            )
            .fetchone()
        )
        assert (row["role"], row["outcome"]) == ("viewer", "refused")
        assert row["detail"].startswith("role.viewer")
    finally:
        cache.close()


def anonymizable(picker: Picker):
    """A test for customers with nothing live: no subscription but churned, no active pass."""
    return lambda c: (
        c["email"]
        and all(sub_state(s) == "churned" for s in picker.of("subscriptions", c["id"]))
        and not any(
            pass_is_active(p["status"], p["expiresAt"], NOW) for p in picker.of("passes", c["id"])
        )
    )


def test_irreversible_actions_need_yes_without_a_terminal(sandbox, env, service, picker):
    customer = picker.pick("customers", anonymizable(picker))
    txn = picker.pick(
        "transactions",
        lambda t: (
            t["status"] == "captured"
            and t["paymentGateway"] in ("adyen", "paypal")
            and t["amount"] > 0
            and t["transactionDate"] > NOW - 20 * DAY
            and not t["isGift"]
        ),
    )
    details = picker.pick("payment_details", lambda p: p["active"] and not p["bound"])
    before = sandbox.export()
    for args in (
        ["anonymize", str(customer["id"])],
        ["refund", txn["transactionId"], "--reason", "Goodwill"],
        ["cancel-transaction", txn["transactionId"]],
        ["delete-payment-details", str(details["id"])],
    ):
        result = run_srm("customer", *args, env=env, input="")
        assert result.returncode == 2, (args, result.stderr)
        assert "--yes" in result.stderr and "irreversible" in result.stderr
    with pytest.raises(ConfirmationRequired):
        service.run("delete-payment-details", payment_details_id=details["id"])
    assert sandbox.export() == before


def test_api_key_is_written_nowhere(env, db, picker):
    customer = picker.pick("customers", lambda c: c["email"])
    result = run_srm("customer", "note", "add", str(customer["id"]), "key check", env=env)
    assert result.returncode == 0, result.stderr
    assert KEY not in result.stdout + result.stderr
    failed = run_srm(
        "customer",
        "note",
        "add",
        str(customer["id"]),
        "bad key",
        env={**env, "SRM_API_KEY": "wrong-" + KEY},
    )
    assert failed.returncode == 1 and KEY not in failed.stdout + failed.stderr
    for path in (db, db.with_name(db.name + "-wal")):
        if path.exists():
            assert KEY.encode() not in path.read_bytes()


# -- access -------------------------------------------------------------------------------


def test_extend_subscription_and_pass(service, env, picker):
    sub = picker.pick("subscriptions", lambda s: s["status"] == "active")
    until = "2027-03-01T00:00:00Z"
    outcome = service.run("extend", access_id=sub["subscriptionId"], until=until)
    assert outcome.status == "applied"
    shown = show(env, sub["customerId"])
    mine = next(s for s in shown["subscriptions"] if s["subscriptionId"] == sub["subscriptionId"])
    assert mine["dateTo"] == int(datetime(2027, 3, 1, tzinfo=timezone.utc).timestamp())

    shorter = run_srm(
        "customer", "extend", str(sub["subscriptionId"]), "--until", "2027-01-01", env=env
    )
    assert shorter.returncode == 1 and "extend.never-shorter" in shorter.stderr

    pass_ = picker.pick("passes", lambda p: p["status"] == "active" and p["expiresAt"])
    later = pass_["expiresAt"] + 30 * DAY
    result = run_srm(
        "customer",
        "extend",
        str(pass_["passId"]),
        "--until",
        datetime.fromtimestamp(later, timezone.utc).isoformat(),
        env=env,
    )
    assert result.returncode == 0, result.stderr
    shown = show(env, pass_["customerId"])
    assert next(p for p in shown["passes"] if p["passId"] == pass_["passId"])["expiresAt"] == later

    endless = picker.pick("passes", lambda p: p["status"] == "active" and p["expiresAt"] is None)
    with pytest.raises(ActionRefused) as refused:
        service.run("extend", access_id=endless["passId"], until="2030-01-01")
    assert refused.value.rule == "extend.never-shorter"
    with pytest.raises(ActionInvalid) as invalid:
        service.run("extend", access_id=999, until="2030-01-01")
    assert invalid.value.field == "access_id"


def test_cancel_subscription(service, env, picker):
    sub = picker.pick(
        "subscriptions",
        lambda s: s["status"] == "active" and s["paymentGateway"] in ("adyen", "paypal"),
    )
    dry = run_srm(
        "customer",
        "cancel",
        str(sub["subscriptionId"]),
        "--reason",
        "Too expensive",
        "--dry-run",
        "--json",
        env=env,
    )
    preview = json.loads(dry.stdout)
    assert dry.returncode == 0 and preview["allowed"] and not preview["irreversible"]
    assert any(
        c["what"] == "access" and "end of the paid period" in c["after"] for c in preview["changes"]
    )
    result = run_srm(
        "customer", "cancel", str(sub["subscriptionId"]), "--reason", "Too expensive", env=env
    )
    assert result.returncode == 0, result.stderr
    mine = next(
        s
        for s in show(env, sub["customerId"])["subscriptions"]
        if s["subscriptionId"] == sub["subscriptionId"]
    )
    assert mine["status"] == "stopped" and mine["dateTo"] == sub["dateTo"]
    assert mine["cancellationReason"] == "Too expensive"

    again = run_srm("customer", "cancel", str(sub["subscriptionId"]), "--reason", "x", env=env)
    assert again.returncode == 1 and "cancel.not-active" in again.stderr

    in_app = picker.pick(
        "subscriptions",
        lambda s: s["status"] == "active" and s["paymentGateway"] in IN_APP_GATEWAYS,
    )
    with pytest.raises(ActionRefused) as refused:
        service.run("cancel", subscription_id=in_app["subscriptionId"], reason="x")
    assert refused.value.rule == "cancel.in-app"
    assert in_app["paymentGateway"] in refused.value.message


# -- money --------------------------------------------------------------------------------


def _refundable(t: dict) -> bool:
    return (
        t["status"] == "captured"
        and t["paymentGateway"] in ("adyen", "paypal")
        and t["amount"] >= 2
        and not t["isGift"]
        and t["transactionDate"] > NOW - 20 * DAY
        and t["subscriptionId"] is not None
    )


def test_refund_partial_then_the_rest(sandbox, service, env, picker):
    txn = picker.pick("transactions", _refundable)
    tid = txn["transactionId"]
    part = round(txn["amount"] / 2, 2)
    dry = run_srm(
        "customer",
        "refund",
        tid,
        "--amount",
        str(part),
        "--reason",
        "Goodwill",
        "--keep-access",
        "--dry-run",
        env=env,
    )
    assert dry.returncode == 0, dry.stderr
    assert "partial refund" in dry.stdout and "keeps the access" in dry.stdout
    assert "irreversible" in dry.stdout

    result = run_srm(
        "customer",
        "refund",
        tid,
        "--amount",
        str(part),
        "--reason",
        "Goodwill",
        "--keep-access",
        "--yes",
        env=env,
    )
    assert result.returncode == 0, result.stderr
    shown = show(env, txn["customerId"])
    mine = next(t for t in shown["transactions"] if t["transactionId"] == tid)
    assert mine["status"] == "refunded" and mine["refundedAmount"] == part
    sub = next(s for s in shown["subscriptions"] if s["subscriptionId"] == txn["subscriptionId"])
    assert sub["status"] != "terminated"
    assert any(
        e["type"] == "refund_confirmation" and e["transactionId"] == tid for e in shown["emails"]
    )

    too_much = run_srm(
        "customer", "refund", tid, "--amount", str(txn["amount"]), "--reason", "x", "--yes", env=env
    )
    assert too_much.returncode == 1 and "refund.amount" in too_much.stderr

    rest = service.run("refund", confirm=True, transaction_id=tid, reason="Rest", keep_access=False)
    assert rest.status == "applied"
    shown = show(env, txn["customerId"])
    assert (
        next(t for t in shown["transactions"] if t["transactionId"] == tid)["refundedAmount"]
        == txn["amount"]
    )
    sub = next(s for s in shown["subscriptions"] if s["subscriptionId"] == txn["subscriptionId"])
    assert sub["status"] == "terminated"
    with pytest.raises(ActionRefused) as refused:
        service.run("refund", confirm=True, transaction_id=tid, reason="again")
    assert refused.value.rule == "refund.nothing-left"


@pytest.mark.parametrize(
    "rule,test",
    [
        (
            "refund.30-days",
            lambda t: (
                t["status"] == "captured"
                and t["amount"] > 0
                and t["paymentGateway"] in ("adyen", "paypal")
                and not t["isGift"]
                and t["transactionDate"] < NOW - 60 * DAY
            ),
        ),
        (
            "refund.gateway",
            lambda t: (
                t["status"] == "captured"
                and t["amount"] > 0
                and t["paymentGateway"] in IN_APP_GATEWAYS
            ),
        ),
        ("refund.gift", lambda t: t["isGift"] and t["status"] == "captured"),
        ("refund.captured-only", lambda t: t["status"] == "rejected"),
    ],
)
def test_refund_rules(sandbox, service, picker, rule, test):
    txn = picker.pick("transactions", test)
    preview = service.preview("refund", transaction_id=txn["transactionId"], reason="r")
    assert preview.blocked and preview.blocked.rule == rule
    with pytest.raises(ActionRefused) as refused:
        service.run("refund", confirm=True, transaction_id=txn["transactionId"], reason="r")
    assert refused.value.rule == rule
    after = next(
        t for t in sandbox.export()["transactions"] if t["transactionId"] == txn["transactionId"]
    )
    assert after == txn


def test_cancel_transaction_with_refund(env, service, picker):
    txn = picker.pick("transactions", lambda t: _refundable(t) and t["refundedAmount"] == 0)
    tid = txn["transactionId"]
    result = run_srm("customer", "cancel-transaction", tid, "--refund", "--yes", "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "applied"
    shown = show(env, txn["customerId"])
    sub = next(s for s in shown["subscriptions"] if s["subscriptionId"] == txn["subscriptionId"])
    assert sub["status"] == "terminated"
    mine = next(t for t in shown["transactions"] if t["transactionId"] == tid)
    assert mine["status"] == "refunded" and mine["refundedAmount"] == txn["amount"]
    with pytest.raises(ActionRefused) as refused:
        service.run("cancel-transaction", confirm=True, transaction_id=tid)
    assert refused.value.rule == "cancel-transaction.already-terminated"
    rejected = picker.pick("transactions", lambda t: t["status"] == "rejected")
    with pytest.raises(ActionRefused) as refused:
        service.run("cancel-transaction", confirm=True, transaction_id=rejected["transactionId"])
    assert refused.value.rule == "cancel-transaction.captured-only"


def test_delete_payment_details(env, service, picker):
    details = picker.pick(
        "payment_details", lambda p: p["active"] and not p["bound"] and p["subscriptionIds"]
    )
    dry = run_srm("customer", "delete-payment-details", str(details["id"]), "--dry-run", env=env)
    assert dry.returncode == 0 and "renewals" in dry.stdout and "will fail" in dry.stdout
    result = run_srm("customer", "delete-payment-details", str(details["id"]), "--yes", env=env)
    assert result.returncode == 0, result.stderr
    shown = show(env, details["customerId"])
    mine = next(p for p in shown["payment_details"] if p["id"] == details["id"])
    assert mine["active"] is False and mine["subscriptionIds"] == []
    assert all(s["paymentDetailsId"] != details["id"] for s in shown["subscriptions"])
    with pytest.raises(ActionRefused) as refused:
        service.run("delete-payment-details", confirm=True, payment_details_id=details["id"])
    assert refused.value.rule == "delete-payment-details.inactive"
    bound = picker.pick("payment_details", lambda p: p["active"] and p["bound"])
    with pytest.raises(ActionRefused) as refused:
        service.run("delete-payment-details", confirm=True, payment_details_id=bound["id"])
    assert refused.value.rule == "delete-payment-details.in-app"


def test_resend_email(env, picker):
    email = picker.pick("emails", lambda e: e["status"] == "sent")
    result = run_srm("customer", "resend", str(email["id"]), env=env)
    assert result.returncode == 0, result.stderr
    other = run_srm("customer", "resend", str(email["id"]), "--to", "desk@example.net", env=env)
    assert other.returncode == 0, other.stderr
    shown = show(env, email["customerId"])
    copies = [
        e
        for e in shown["emails"]
        if e["id"] > email["id"]
        and e["type"] == email["type"]
        and e["subject"] == email["subject"]
        and e["status"] == "sent"
    ]
    assert {e["to"] for e in copies} >= {shown["customer"]["email"], "desk@example.net"}


# -- notes ----------------------------------------------------------------------------------


def test_note_of_2500_kept_whole_and_2501_refused(env, db, picker):
    customer = picker.pick("customers", lambda c: c["email"])
    cid = str(customer["id"])
    before = len(show(env, customer["id"])["notes"])
    long_text = ("Długa notatka — " * 200)[:2501]
    refused = run_srm("customer", "note", "add", cid, "-", env=env, input=long_text + "\n")
    assert refused.returncode == 2
    assert refused.stderr.startswith("srm: TEXT:") and "2,500" in refused.stderr
    assert len(show(env, customer["id"])["notes"]) == before
    cache = Cache(db)
    try:
        assert (
            cache.conn()
            .execute("SELECT count(*) FROM outbox WHERE customer_id = ?", (customer["id"],))
            .fetchone()[0]
            == 0
        )
    finally:
        cache.close()
    kept = run_srm("customer", "note", "add", cid, "-", env=env, input=long_text[:2500] + "\n")
    assert kept.returncode == 0, kept.stderr
    notes = show(env, customer["id"])["notes"]
    assert len(notes) == before + 1
    assert max(notes, key=lambda n: n["id"])["text"] == long_text[:2500]


def test_note_edit_and_delete_author_or_owner(sandbox, env, service, picker):
    customer = picker.pick("customers", lambda c: c["email"])
    service.run("note-add", customer_id=customer["id"], text="First version")
    note = max(show(env, customer["id"])["notes"], key=lambda n: n["id"])
    assert note["author"] == "anna"

    edited = run_srm("customer", "note", "edit", str(note["id"]), "Second version", env=env)
    assert edited.returncode == 0, edited.stderr
    note = next(n for n in show(env, customer["id"])["notes"] if n["id"] == note["id"])
    assert note["text"] == "Second version"
    assert [r["text"] for r in note["revisions"]] == ["First version"]

    other = run_srm(
        "customer", "note", "edit", str(note["id"]), "Hijack", env={**env, "SRM_AGENT": "tom"}
    )
    assert other.returncode == 1 and "note.author-or-owner" in other.stderr
    owner = run_srm(
        "customer",
        "note",
        "edit",
        str(note["id"]),
        "Owner's word",
        env={**env, "SRM_AGENT": "tom", "SRM_ROLE": "owner"},
    )
    assert owner.returncode == 0, owner.stderr

    deleted = run_srm("customer", "note", "delete", str(note["id"]), env=env)
    assert deleted.returncode == 0, deleted.stderr
    note = next(n for n in show(env, customer["id"])["notes"] if n["id"] == note["id"])
    assert note["deletedAt"] is not None and note["deletedBy"] == "anna"
    assert [r["text"] for r in note["revisions"]] == ["First version", "Second version"]
    with pytest.raises(ActionRefused) as refused:
        service.run("note-edit", note_id=note["id"], text="after delete")
    assert refused.value.rule == "note.deleted"


# -- the API's own refusals are reported like local rules -----------------------------------


def test_api_refusals_name_the_rule(sandbox, env, db, picker):
    headers = {"X-Publisher-Token": KEY}
    sub = picker.pick(
        "subscriptions",
        lambda s: s["status"] == "active" and s["paymentGateway"] in ("adyen", "paypal"),
    )
    # The cache still says active; the API has stopped it meanwhile.
    r = httpx.post(
        f"{sandbox.url}/subscriptions/{sub['subscriptionId']}/cancel",
        json={"cancellationReason": "elsewhere"},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    result = run_srm("customer", "cancel", str(sub["subscriptionId"]), "--reason", "x", env=env)
    assert result.returncode == 1
    assert "cancel.not-active" in result.stderr and "Only active" in result.stderr
    # The refusal brought the customer up to date.
    mine = next(
        s
        for s in show(env, sub["customerId"])["subscriptions"]
        if s["subscriptionId"] == sub["subscriptionId"]
    )
    assert mine["status"] == "stopped"

    # A customer with nothing live in the cache buys a subscription at the API.
    export = sandbox.export()
    customer = picker.pick("customers", anonymizable(picker))
    offer = next(o for o in export["offers"] if o["id"].startswith("S") and o["active"])
    loc = next(x for x in offer["localizations"] if x["active"])
    bought = httpx.post(
        f"{sandbox.url}/payments",
        headers=headers,
        json={
            "customerId": customer["id"],
            "status": "captured",
            "offerId": loc["id"],
            "paymentMethodId": 194856795,
            "netAmount": loc["price"]["amount"],
            "taxAmount": 0,
            "currency": loc["price"]["currency"],
            "externalPaymentId": "ext-actions-1",
        },
    )
    assert bought.status_code in (200, 201), bought.text
    result = run_srm("customer", "anonymize", str(customer["id"]), "--yes", env=env)
    assert result.returncode == 1, result.stderr
    assert "anonymize.active-subscription" in result.stderr
    assert "User has an active subscription" in result.stderr
    assert api_customer(sandbox, customer["id"])["email"] == customer["email"]
    cache = Cache(db)
    try:
        row = (
            cache.conn()
            .execute(
                "SELECT outcome, detail FROM audit WHERE customer_id = ? ORDER BY id DESC",
                (customer["id"],),
            )
            .fetchone()
        )
        assert row["outcome"] == "refused" and "422" in row["detail"]
    finally:
        cache.close()


def test_dry_run_changes_nothing_anywhere(sandbox, env, db, picker):
    sub = picker.pick(
        "subscriptions",
        lambda s: s["status"] == "active" and s["paymentGateway"] in ("adyen", "paypal"),
    )
    before = sandbox.export()
    cache = Cache(db)
    try:
        counts = [
            cache.conn().execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("outbox", "audit", "history", "notes")
        ]
    finally:
        cache.close()
    for args in (
        ["cancel", str(sub["subscriptionId"]), "--reason", "x"],
        ["extend", str(sub["subscriptionId"]), "--until", "2030-01-01"],
        ["note", "add", str(sub["customerId"]), "dry"],
        ["anonymize", str(sub["customerId"])],
    ):
        result = run_srm("customer", *args, "--dry-run", env=env)
        assert result.returncode in (0, 1), (args, result.stderr)
        assert (
            result.stdout.strip()
            .splitlines()[-1]
            .startswith("allowed" if result.returncode == 0 else "blocked by rule")
        )
    blocked = run_srm(
        "customer", "anonymize", str(sub["customerId"]), "--dry-run", "--json", env=env
    )
    assert blocked.returncode == 1
    assert json.loads(blocked.stdout)["blocked_by"]["rule"] == "anonymize.active-subscription"
    assert sandbox.export() == before
    cache = Cache(db)
    try:
        assert counts == [
            cache.conn().execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("outbox", "audit", "history", "notes")
        ]
    finally:
        cache.close()

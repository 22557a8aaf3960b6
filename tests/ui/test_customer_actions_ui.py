"""Every support action of the customer screen, by keys, against the real sandbox.

One sandbox (in-process, over loopback HTTP) and one synced cache serve the module; each test
acts on customers no other test touches (``Picker``). Each rule that refuses an action is
shown in the dialog before anything runs; what runs is checked at the sandbox.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import httpx
import pytest
from textual import events

from srm_tui.api.client import ApiClient
from srm_tui.domain.lifecycle import IN_APP_GATEWAYS, pass_is_active, subscription_state
from srm_tui.sandbox.runner import start_in_thread
from srm_tui.sandbox.server import create_app
from srm_tui.sandbox.state import SandboxState
from srm_tui.storage.cache import Cache
from srm_tui.sync.engine import SyncEngine
from tests.helpers import screen_text
from tests.ui_keys import (
    Picker,
    dialog_text,
    make_app,
    name,
    open_customer,
    preview,
    run_confirmed,
    settle,
    to_row,
    type_text,
)

AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)
NOW = int(AS_OF.timestamp())
DAY = 86400
WEB = ("adyen", "paypal")


def state(s: dict) -> str:
    return subscription_state(s["status"], s["inTrial"], s["dateTo"], NOW)


def day(ts: int) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d")


class World:
    def __init__(self, running, db):
        self.running = running
        self.url = running.url
        self.db = db
        self.picker = Picker(self.export())

    def export(self) -> dict[str, Any]:
        root = self.url.rsplit("/3.1", 1)[0]
        return httpx.get(f"{root}/sandbox/export", timeout=30).json()

    def record(self, entity: str, key_field: str, key: Any) -> dict[str, Any]:
        return next(r for r in self.export()[entity] if r[key_field] == key)

    def app(self, **kw: Any):
        return make_app(self.db, self.url, **kw)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    running = start_in_thread(create_app(SandboxState.generate(200, 5, AS_OF, advance_clock=False)))
    db = tmp_path_factory.mktemp("actions-ui") / "c.db"
    cache = Cache(db)
    with ApiClient(running.url, "sandbox-key") as client:
        SyncEngine(cache, client).run()
    cache.close()
    yield World(running, db)
    running.stop()


def refundable(t: dict) -> bool:
    return (
        t["status"] == "captured"
        and t["paymentGateway"] in WEB
        and not t["isGift"]
        and t["amount"] >= 2
        and t["refundedAmount"] == 0
        and t["transactionDate"] >= NOW - 25 * DAY
    )


# -- summary: edit, change history, anonymize ---------------------------------------------


async def test_edit_email_says_it_changes_the_login_then_change_history(world):
    c = world.picker.pick("customers", lambda c: c["email"] and c["firstName"])
    new = f"x{c['id']}@example.net"
    app = world.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, c["id"])
        await pilot.press("e")
        await pilot.pause()
        assert name(app) == "ActionScreen"
        await pilot.press("tab", "tab")  # first name, last name, then email: typed over
        await type_text(pilot, new)
        text = await preview(pilot)
        assert "changing the email also changes the customer's login ID" in text
        assert c["email"] in text and new in text  # before and after
        await run_confirmed(pilot)
        assert name(app) == "CustomerScreen"
        assert f"Customers › {new}" in screen_text(app)
        await pilot.press("h")
        await pilot.pause()
        assert name(app) == "ChangeHistoryScreen"
        line = next(ln for ln in screen_text(app).splitlines() if new in ln)
        assert "anna" in line and "email" in line and c["email"] in line and "done" in line
    assert world.record("customers", "id", c["id"])["email"] == new


async def test_anonymize_refused_while_subscribed_then_gone_from_list_and_search(world):
    p = world.picker
    live = p.pick(
        "customers",
        lambda c: c["email"] and any(state(s) == "active" for s in p.of("subscriptions", c["id"])),
    )
    gone = p.pick(
        "customers",
        lambda c: (
            c["email"]
            and c["lastName"]
            and p.of("subscriptions", c["id"])
            and all(state(s) == "churned" for s in p.of("subscriptions", c["id"]))
            and not any(
                pass_is_active(x["status"], x["expiresAt"], NOW) for x in p.of("passes", c["id"])
            )
        ),
    )
    app = world.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, live["id"])
        await pilot.press("A")
        text = await preview(pilot)
        assert "Blocked by rule anonymize.active-subscription" in text
        await pilot.press("ctrl+s")
        await settle(pilot, 0.1)
        assert name(app) == "ActionScreen"  # nothing ran
        await pilot.press("escape")

        await open_customer(pilot, gone["id"])
        await pilot.press("A")
        text = await preview(pilot)
        assert "cannot be undone" in text and gone["email"] in text
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "Press y to confirm" in screen_text(app)
        await pilot.press("y")
        await settle(pilot)
        assert name(app) == "CustomerScreen"
        text = screen_text(app)
        assert "(anonymized)" in text and gone["email"] not in text
        await pilot.press("escape")
        await pilot.press("slash")
        await type_text(pilot, gone["email"])
        await pilot.press("enter")
        await settle(pilot, 0.1)
        assert app.screen.query_one("CustomerTable").count == 0
        await pilot.press("slash")
        await type_text(pilot, str(gone["id"]))
        await pilot.press("enter")
        await settle(pilot, 0.1)
        text = screen_text(app)
        assert str(gone["id"]) in text
        for value in (gone["email"], gone["firstName"], gone["lastName"]):
            assert value not in text
    after = world.record("customers", "id", gone["id"])
    assert after["email"] is None and after["lastName"] is None
    assert world.record("customers", "id", live["id"])["email"] == live["email"]


# -- payments: extend, cancel subscription, delete payment details ------------------------


async def test_extend_access_is_never_shorter(world):
    sub = world.picker.pick("subscriptions", lambda s: state(s) == "active")
    later = day(sub["dateTo"] + 40 * DAY)
    app = world.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, sub["customerId"])
        await pilot.press("2")
        await to_row(pilot, "access-table", f"S{sub['subscriptionId']}")
        await pilot.press("x")
        await type_text(pilot, day(sub["dateTo"] - DAY))  # over the suggested date
        text = await preview(pilot)
        assert "Blocked by rule extend.never-shorter" in text
        await pilot.press("ctrl+s")
        await settle(pilot, 0.1)
        assert name(app) == "ActionScreen"
        await pilot.press("ctrl+u")
        await type_text(pilot, later)
        assert "✔ Allowed" in await preview(pilot)
        await run_confirmed(pilot)
        assert name(app) == "CustomerScreen"
        row = next(ln for ln in screen_text(app).splitlines() if str(sub["subscriptionId"]) in ln)
        assert later in row
    assert (
        day(world.record("subscriptions", "subscriptionId", sub["subscriptionId"])["dateTo"])
        == later
    )


async def test_cancel_subscription_needs_a_reason_and_keeps_access_to_the_end(world):
    p = world.picker
    sub = p.pick(
        "subscriptions",
        lambda s: s["status"] == "active" and state(s) == "active" and s["paymentGateway"] in WEB,
    )
    store = p.pick(
        "subscriptions",
        lambda s: s["status"] == "active" and s["paymentGateway"] in IN_APP_GATEWAYS,
    )
    app = world.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, sub["customerId"])
        await pilot.press("2")
        await to_row(pilot, "access-table", f"S{sub['subscriptionId']}")
        await pilot.press("c")
        await pilot.press("ctrl+s")
        await settle(pilot, 0.1)
        text = screen_text(app)
        assert name(app) == "ActionScreen" and "reason: required" in text
        await type_text(pilot, "Too dear")
        text = await preview(pilot)
        assert f"until {day(sub['dateTo'])}" in text and "(the end of the" in text
        await run_confirmed(pilot)
        row = next(ln for ln in screen_text(app).splitlines() if str(sub["subscriptionId"]) in ln)
        assert "cancelled" in row and day(sub["dateTo"]) in row

        await open_customer(pilot, store["customerId"])
        await pilot.press("2")
        await to_row(pilot, "access-table", f"S{store['subscriptionId']}")
        await pilot.press("c")
        # The rule no reason can lift is said at once, not only "reason: required".
        await pilot.pause()
        text = screen_text(app)
        assert "Blocked by rule cancel.in-app" in text and "reason: required" in text
        await pilot.press("x")
        assert "Blocked by rule cancel.in-app" in await preview(pilot)
        await pilot.press("escape")
    after = world.record("subscriptions", "subscriptionId", sub["subscriptionId"])
    assert after["status"] == "stopped" and after["dateTo"] == sub["dateTo"]
    assert after["cancellationReason"] == "Too dear"
    assert world.record("subscriptions", "subscriptionId", store["subscriptionId"]) == store


async def test_delete_payment_details_warns_and_store_details_stay_with_the_store(world):
    p = world.picker
    pd = p.pick(
        "payment_details",
        lambda d: (
            d["active"]
            and d["paymentGateway"] in WEB
            and not d["bound"]
            and d["subscriptionIds"]
            and any(
                x["paymentGateway"] in IN_APP_GATEWAYS
                for x in p.of("payment_details", d["customerId"])
            )
        ),
    )
    store = next(
        x
        for x in p.of("payment_details", pd["customerId"])
        if x["paymentGateway"] in IN_APP_GATEWAYS
    )
    app = world.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, pd["customerId"])
        await pilot.press("2")
        await to_row(pilot, "pd-table", str(store["id"]))
        assert "managed by" in next(
            ln for ln in screen_text(app).splitlines() if str(store["id"]) in ln
        )
        await pilot.press("D")
        assert "Blocked by rule delete-payment-details.in-app" in await preview(pilot)
        await pilot.press("escape")
        await to_row(pilot, "pd-table", str(pd["id"]))
        await pilot.press("D")
        text = await preview(pilot)
        assert "will fail until the customer adds new payment details" in text
        await run_confirmed(pilot)
        row = next(ln for ln in screen_text(app).splitlines() if str(pd["id"]) in ln)
        assert "inactive" in row
    assert world.record("payment_details", "id", pd["id"])["active"] is False
    assert world.record("payment_details", "id", store["id"])["active"] == store["active"]


# -- transactions: refund, cancel transaction ---------------------------------------------


async def test_refund_partial_asks_about_access_then_the_rest(world):
    txn = world.picker.pick("transactions", lambda t: refundable(t) and t["subscriptionId"])
    tid, cur = txn["transactionId"], txn["currency"]
    app = world.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, txn["customerId"])
        await pilot.press("3")
        await to_row(pilot, "transactions-table", tid)
        await pilot.press("r", "1", "tab")
        await type_text(pilot, "Goodwill")
        text = await preview(pilot)
        assert f"a partial refund of 1.00 {cur}; the customer keeps the access" in text
        await pilot.press("tab", "space")  # Keep access: off
        assert "the customer loses the access" in await preview(pilot)
        await pilot.press("space")
        assert "the customer keeps the access" in await preview(pilot)
        await run_confirmed(pilot)
        assert name(app) == "CustomerScreen"
        row = next(ln for ln in screen_text(app).splitlines() if tid in ln)
        assert "refunded" in row
        assert world.record("transactions", "transactionId", tid)["refundedAmount"] == 1
        await pilot.press("r", "tab")  # no amount: all that is left
        await type_text(pilot, "Rest")
        left = f"{txn['amount'] - 1:.2f} {cur}"
        assert left in await preview(pilot)
        await run_confirmed(pilot)
    after = world.record("transactions", "transactionId", tid)
    assert after["status"] == "refunded" and after["refundedAmount"] == txn["amount"]
    assert (
        world.record("subscriptions", "subscriptionId", txn["subscriptionId"])["status"]
        != "terminated"
    )


async def test_refund_refused_for_stores_after_30_days_and_for_gifts(world):
    p = world.picker
    cases = [
        (
            "refund.gateway",
            p.pick(
                "transactions",
                lambda t: (
                    t["status"] == "captured"
                    and t["amount"] > 0
                    and t["paymentGateway"] in IN_APP_GATEWAYS
                ),
            ),
        ),
        (
            "refund.30-days",
            p.pick(
                "transactions",
                lambda t: (
                    t["status"] == "captured"
                    and t["amount"] > 0
                    and t["paymentGateway"] in WEB
                    and not t["isGift"]
                    and t["transactionDate"] < NOW - 40 * DAY
                ),
            ),
        ),
        (
            "refund.gift",
            p.pick("transactions", lambda t: t["isGift"] and t["status"] == "captured"),
        ),
    ]
    app = world.app()
    async with app.run_test(size=(120, 40)) as pilot:
        for rule, txn in cases:
            await open_customer(pilot, txn["customerId"])
            await pilot.press("3")
            await to_row(pilot, "transactions-table", txn["transactionId"])
            await pilot.press("r", "tab", "x")
            assert f"Blocked by rule {rule}" in await preview(pilot), rule
            await pilot.press("ctrl+s")
            await settle(pilot, 0.1)
            assert name(app) == "ActionScreen"
            await pilot.press("escape", "y")  # typed work: leaving asks
    export = world.export()
    for _, txn in cases:
        assert (
            next(t for t in export["transactions"] if t["transactionId"] == txn["transactionId"])
            == txn
        )


def _dialog_words(screen: str) -> str:
    """The words inside the dialog's box (between its side borders), in reading order with
    line ends taken out: a message the dialog wraps reads as one sentence, one cut does not."""
    inside = [
        ln[ln.index("│") + 1 : ln.rindex("│")] for ln in screen.splitlines() if ln.count("│") >= 2
    ]
    return " ".join(" ".join(inside).split())


async def test_refund_dialog_shows_its_blocking_rule_whole_at_80x24(world):
    """Issue 12: at 80x24 the refund dialog cut its blocking rule. The longest rule text (an
    in-app purchase) must be on the terminal whole, wrapped at word boundaries, with the
    dialog's Esc key still shown."""
    txn = world.picker.pick(
        "transactions",
        lambda t: (
            t["status"] == "captured" and t["amount"] > 0 and t["paymentGateway"] in IN_APP_GATEWAYS
        ),
    )
    message = (
        f"paid with {txn['paymentGateway']}: only card and PayPal payments (adyen, paypal) can "
        "be refunded; in-app purchases are refunded by the app store"
    )
    app = world.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_customer(pilot, txn["customerId"])
        await pilot.press("3")
        await to_row(pilot, "transactions-table", txn["transactionId"])
        await pilot.press("r")
        await preview(pilot)
        shown = screen_text(app)
        assert name(app) == "ActionScreen"
        assert "refund.gateway" in shown
        assert message in _dialog_words(shown), shown
        assert all(len(line) <= 80 for line in shown.splitlines())
        assert "esc" in shown.lower()
        await pilot.press("escape")
        await settle(pilot, 0.1)
        assert name(app) == "CustomerScreen"
    assert world.record("transactions", "transactionId", txn["transactionId"]) == txn


async def test_cancel_transaction_with_the_optional_refund(world):
    p = world.picker
    txn = p.pick(
        "transactions",
        lambda t: (
            refundable(t)
            and t["subscriptionId"]
            and any(
                s["subscriptionId"] == t["subscriptionId"] and s["status"] == "active"
                for s in p.of("subscriptions", t["customerId"])
            )
        ),
    )
    tid = txn["transactionId"]
    app = world.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, txn["customerId"])
        await pilot.press("3")
        await to_row(pilot, "transactions-table", tid)
        await pilot.press("X")
        text = await preview(pilot)
        assert "no money is returned" in text and "ends now" in text
        await pilot.press("space")  # Refund too
        text = await preview(pilot)
        assert "no money is returned" not in text and "refunded" in text
        await run_confirmed(pilot)
        assert name(app) == "CustomerScreen"
    after = world.record("transactions", "transactionId", tid)
    assert after["status"] == "refunded" and after["refundedAmount"] == txn["amount"]
    assert (
        world.record("subscriptions", "subscriptionId", txn["subscriptionId"])["status"]
        == "terminated"
    )


# -- emails: resend -----------------------------------------------------------------------


async def test_resend_to_the_address_on_file_or_another(world):
    p = world.picker
    email = p.pick(
        "emails",
        lambda e: (
            e["type"] == "invoice"
            and any(c["id"] == e["customerId"] and c["email"] for c in p.export["customers"])
        ),
    )
    on_file = next(c["email"] for c in p.export["customers"] if c["id"] == email["customerId"])
    other = "ops@example.net"
    app = world.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, email["customerId"])
        await pilot.press("4")
        await to_row(pilot, "emails-table", str(email["id"]))
        await pilot.press("R")
        assert f"to {on_file}" in await preview(pilot)
        await run_confirmed(pilot)
        assert name(app) == "CustomerScreen"
        await to_row(pilot, "emails-table", str(email["id"]))
        await pilot.press("R")
        await type_text(pilot, other)
        text = await preview(pilot)
        assert f"{other} is not the address on file" in text
        await run_confirmed(pilot)
        assert name(app) == "CustomerScreen"
    copies = [
        e
        for e in world.export()["emails"]
        if e["customerId"] == email["customerId"]
        and e["subject"] == email["subject"]
        and e["createdAt"] >= NOW
    ]
    assert sorted(e["to"] for e in copies) == sorted([on_file, other])
    assert all(e["status"] == "sent" for e in copies)


# -- notes ------------------------------------------------------------------------------


async def test_notes_counted_as_typed_edited_with_history_and_only_by_author_or_owner(world):
    p = world.picker
    theirs = p.pick(
        "notes", lambda n: n["author"] not in ("anna", "boss") and n["deletedAt"] is None
    )
    cid = theirs["customerId"]
    app = world.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, cid)
        await pilot.press("5", "n")
        await type_text(pilot, "VIP")
        assert "3 / 2,500 characters" in await preview(pilot)
        await pilot.press("!")
        assert "4 / 2,500 characters" in await preview(pilot)
        await run_confirmed(pilot)
        assert name(app) == "CustomerScreen" and "VIP!" in screen_text(app)
        mine = next(n for n in app.screen.account.records["notes"] if n["text"] == "VIP!")
        for suffix in (" v2", " v3"):  # two edits: each earlier text kept
            await to_row(pilot, "notes-table", str(mine["id"]))
            await pilot.press("E", "end")
            await type_text(pilot, suffix)
            assert "the old text stays in the note's history" in await preview(pilot)
            await run_confirmed(pilot)
        await to_row(pilot, "notes-table", str(mine["id"]))
        text = screen_text(app)
        assert "VIP! v2 v3" in text
        earlier = text.split("Earlier versions", 1)[1].splitlines()
        assert "2, newest first" in earlier[0]
        assert "VIP! v2 — replaced by anna" in earlier[1]
        assert "VIP! — replaced by anna" in earlier[2]

        await to_row(pilot, "notes-table", str(theirs["id"]))
        for key in ("E", "d"):  # someone else's note: neither edit nor delete
            await pilot.press(key)
            assert "Blocked by rule note.author-or-owner" in await preview(pilot), key
            await pilot.press("escape")
        await to_row(pilot, "notes-table", str(mine["id"]))
        await pilot.press("d")
        await run_confirmed(pilot)
        assert "VIP! v2 v3" not in screen_text(app)
    owner = make_app(world.db, world.url, role="owner", agent="boss")
    async with owner.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, cid)
        await pilot.press("5")
        await to_row(pilot, "notes-table", str(theirs["id"]))
        await pilot.press("E", "end", "+")
        assert "✔ Allowed" in await preview(pilot)
        await run_confirmed(pilot)
    notes = {n["id"]: n for n in world.export()["notes"]}
    assert [r["text"] for r in notes[mine["id"]]["revisions"]] == ["VIP!", "VIP! v2"]
    assert notes[mine["id"]]["deletedAt"] is not None
    assert notes[theirs["id"]]["text"] == theirs["text"] + "+"
    assert notes[theirs["id"]]["revisions"][-1]["editor"] == "boss"


async def test_the_dialog_says_running_until_the_action_ends(world):
    """Keys typed just before ctrl+s planned a preview that said "Allowed — ctrl+s runs it"
    over "Running…" while the note was being sent (tmux, busy host): the agent pressed ctrl+s
    again. Here the send is held by a write lock another connection keeps (arranged), keys
    arrive meanwhile, and the dialog keeps saying it is running; once the lock goes, the one
    note is sent and the dialog closes."""
    import sqlite3

    cid = world.picker.pick("customers", lambda c: c["email"])["id"]
    app = world.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, cid)
        await pilot.press("5", "n")
        await pilot.pause()
        await type_text(pilot, "Held while sending")
        await preview(pilot)
        blocker = sqlite3.connect(world.db, isolation_level=None, timeout=30)
        try:
            blocker.execute("BEGIN IMMEDIATE")  # the outbox write waits behind it
            await pilot.press("ctrl+s", "space", "x")
            await pilot.pause(0.6)  # three times the preview's delay: it would have come
            shown = screen_text(app)
            assert name(app) == "ActionScreen"
            assert "Running…" in shown and "ctrl+s runs it" not in shown, shown
            await pilot.press("ctrl+s")  # a second ctrl+s while running sends nothing more
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        for _ in range(600):
            if name(app) == "CustomerScreen":
                break
            await pilot.pause(0.05)
        assert name(app) == "CustomerScreen", screen_text(app)
    sent = [
        n
        for n in world.export()["notes"]
        if n["customerId"] == cid and n["text"].startswith("Held while sending")
    ]
    assert [n["text"] for n in sent] == ["Held while sending"]


async def test_note_of_2501_characters_refused_2500_kept_whole(world):
    cid = world.picker.pick("customers", lambda c: c["email"])["id"]
    text = "Ticket 4711: " + "abcdefghij" * 248 + "xyzxyzx"
    assert len(text) == 2500
    app = world.app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_customer(pilot, cid)
        await pilot.press("5", "n")
        await pilot.pause()
        app.post_message(events.Paste(text + "!"))  # what the terminal sends on a paste
        shown = await preview(pilot)
        assert "2,501 / 2,500 characters — too long" in shown
        assert "at most 2,500 characters (this is 2,501)" in shown
        await pilot.press("ctrl+s")
        await settle(pilot, 0.1)
        assert name(app) == "ActionScreen"
        assert (
            not app.cache.conn()
            .execute("SELECT count(*) FROM outbox WHERE customer_id = ?", (cid,))
            .fetchone()[0]
        )
        assert not [
            n
            for n in world.export()["notes"]
            if n["customerId"] == cid and n["text"].startswith("Ticket 4711")
        ]
        await pilot.press("backspace")
        assert "2,500 / 2,500 characters" in await preview(pilot)
        await run_confirmed(pilot)
        assert name(app) == "CustomerScreen"
    saved = [
        n
        for n in world.export()["notes"]
        if n["customerId"] == cid and n["text"].startswith("Ticket 4711")
    ]
    assert [n["text"] for n in saved] == [text]
    cached = Cache(world.db)
    try:
        row = (
            cached.conn()
            .execute("SELECT raw FROM notes WHERE id = ?", (saved[0]["id"],))
            .fetchone()
        )
        from srm_tui.storage.payload import decode_raw

        assert decode_raw(row[0])["text"] == text
    finally:
        cached.close()


# -- the vendor's own subscription actions: pause, resume, re-activate, terminate, transfer --


def access_state(app, key: str) -> str:
    """The State cell of a row of the Payments tab's subscriptions and passes."""
    return str(app.screen.query_one("#access-table").get_row(key)[3])


def pausable(world):
    offers = {o["id"]: o for o in world.picker.export["offers"]}
    return lambda s: (
        s["status"] == "active"
        and state(s) == "active"
        and s["paymentGateway"] in WEB
        and ((offers.get(s["offerId"].split("_")[0]) or {}).get("pause") or {}).get(
            "maxBillingCycles"
        )
    )


async def test_pause_then_resume_by_keys(world):
    sub = world.picker.pick("subscriptions", pausable(world))
    sid = sub["subscriptionId"]
    app = world.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, sub["customerId"])
        await pilot.press("2")
        await to_row(pilot, "access-table", f"S{sid}")
        await pilot.press("P")
        await pilot.pause()
        assert name(app) == "ActionScreen"
        text = await preview(pilot)
        assert "Pause subscription" in text and "for 1 billing cycle" in text
        assert "(s)" not in text  # one billing cycle, said in the singular
        assert "✔ Allowed" in text
        await run_confirmed(pilot)
        assert name(app) == "CustomerScreen"
        assert access_state(app, f"S{sid}") == "paused"
        assert world.record("subscriptions", "subscriptionId", sid)["status"] == "paused"

        await pilot.press("U")
        text = await preview(pilot)
        assert "Resume subscription" in text and "✔ Allowed" in text
        await run_confirmed(pilot)
        assert access_state(app, f"S{sid}") == "active"
        await pilot.press("6")  # the history: srm's audit and what the API's copies showed
        await pilot.pause()
        text = screen_text(app)
        assert f"Subscription {sid} status: active → paused (seen at the API)" in text
        assert f"Subscription {sid} status: paused → active (seen at the API)" in text
        assert f"anna pause subscription {sid}: applied" in text
    assert world.record("subscriptions", "subscriptionId", sid)["status"] == "active"


async def test_activate_only_a_cancelled_subscription(world):
    p = world.picker
    sub = p.pick("subscriptions", lambda s: state(s) == "cancelled" and s["paymentGateway"] in WEB)
    sid = sub["subscriptionId"]
    app = world.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, sub["customerId"])
        await pilot.press("2")
        await to_row(pilot, "access-table", f"S{sid}")
        await pilot.press("a")
        text = await preview(pilot)
        assert "Re-activate subscription" in text and "✔ Allowed" in text
        await run_confirmed(pilot)
        assert name(app) == "CustomerScreen"
        await pilot.press("a")  # now active: the rule says why not
        assert "Blocked by rule activate.not-stopped" in await preview(pilot)
        await pilot.press("escape")
    assert world.record("subscriptions", "subscriptionId", sid)["status"] == "active"


async def test_terminate_with_its_type_asks_for_confirmation(world):
    sub = world.picker.pick(
        "subscriptions", lambda s: state(s) == "active" and s["paymentGateway"] in WEB
    )
    sid = sub["subscriptionId"]
    app = world.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, sub["customerId"])
        await pilot.press("2")
        await to_row(pilot, "access-table", f"S{sid}")
        await pilot.press("T")
        await pilot.press("ctrl+u")
        await type_text(pilot, "whim")
        assert "type: one of paymentCancel" in await preview(pilot)
        await pilot.press("ctrl+u")
        await type_text(pilot, "policyViolation")
        text = await preview(pilot)
        assert "cannot be undone" in text and "policyViolation" in text
        await run_confirmed(pilot)
        assert name(app) == "CustomerScreen"
        assert access_state(app, f"S{sid}") == "churned"
    after = world.record("subscriptions", "subscriptionId", sid)
    assert after["status"] == "terminated" and after["terminationType"] == "policyViolation"


async def test_transfer_to_another_customer_by_keys(world):
    p = world.picker
    sub = p.pick("subscriptions", lambda s: state(s) == "active" and s["paymentGateway"] in WEB)
    receiver = p.pick("customers", lambda c: c["email"] is not None)
    sid = sub["subscriptionId"]
    app = world.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, sub["customerId"])
        await pilot.press("2")
        await to_row(pilot, "access-table", f"S{sid}")
        await pilot.press("t")
        await type_text(pilot, str(sub["customerId"]))
        assert "Blocked by rule transfer.same-customer" in await preview(pilot)
        await pilot.press("ctrl+u")
        await type_text(pilot, str(receiver["id"]))
        text = await preview(pilot)
        assert f"customer {receiver['id']}" in text and receiver["email"] in text
        await run_confirmed(pilot)
        assert name(app) == "CustomerScreen"
        table = app.screen.query_one("#access-table")
        assert f"S{sid}" not in [k.value for k in table.rows]  # gone from the giver
    assert world.record("subscriptions", "subscriptionId", sid)["customerId"] == receiver["id"]


# -- the vendor profile: what it does not offer, and notes kept in srm ----------------------


@pytest.fixture(scope="module")
def vendor_world(tmp_path_factory):
    from srm_tui.sandbox.runner import start_sandbox

    running = start_sandbox(
        SandboxState.generate(60, 9, AS_OF, advance_clock=False), profile="vendor"
    )
    db = tmp_path_factory.mktemp("actions-ui-vendor") / "c.db"
    world = World.__new__(World)
    world.running, world.url, world.db = running, running.url, db
    world.picker = Picker(world.export())
    cache = Cache(db)
    with ApiClient(running.url, "sandbox-key") as client:
        engine = SyncEngine(cache, client)
        for c in world.picker.export["customers"][:12]:
            engine.fetch_customer(customer_id=c["id"])
    cache.close()
    yield world
    running.stop()


async def test_vendor_profile_marks_what_it_does_not_offer_and_the_key_says_why(vendor_world):
    customer = vendor_world.picker.export["customers"][1]
    app = vendor_world.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, customer["id"])
        await pilot.press("3")
        await pilot.pause()
        text = " ".join(screen_text(app).split())  # wrapped lines, read as one
        # one line for the two actions of one dashboard page, its way said once
        assert (
            "Unavailable — Refund, Cancel transaction: not offered by this API. Refunds and "
            "transaction cancellations are made in the Cleeng dashboard"
        ) in text
        assert text.count("'Cancel transaction and refund'") == 1
        await pilot.press("r")
        await pilot.pause()
        assert name(app) == "CustomerScreen"  # a notice, never a form
        notices = [n.message for n in app._notifications]
        assert any(
            "Refund: not offered by this API. Refunds and transaction cancellations are made "
            "in the Cleeng dashboard" in m
            for m in notices
        )
        await pilot.press("4")
        await pilot.pause()
        text = " ".join((screen_text(app) + dialog_text(app)).split())
        assert "Emails: not offered by this API." in text and "email templates" in text
        assert "Resend email: not offered by this API (see below)." in text
        shown = " ".join(screen_text(app).split())
        assert shown.count("email templates") == 1  # the body's way, not said twice
        await pilot.press("2")
        await pilot.pause()
        text = " ".join(screen_text(app).split())
        # the body says the vendor's way; the banner names the action and points to it
        assert "Unavailable — Delete payment details: not offered by this API (see below)." in text
        assert text.count("managed in the Cleeng dashboard") == 1


async def test_vendor_profile_notes_are_kept_in_srm(vendor_world):
    customer = vendor_world.picker.export["customers"][2]
    stats = vendor_world.url.rsplit("/3.1", 1)[0] + "/sandbox/stats"
    writes = httpx.get(stats).json()["writes_applied"]
    app = vendor_world.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, customer["id"])
        await pilot.press("n")
        await type_text(pilot, "Asked about the family plan")
        await run_confirmed(pilot)
        assert name(app) == "CustomerScreen"
        await pilot.press("5")
        await pilot.pause()
        row = next(ln for ln in screen_text(app).splitlines() if "family plan" in ln)
        assert "kept in srm" in row
    assert httpx.get(stats).json()["writes_applied"] == writes
    assert not [
        n
        for n in vendor_world.export()["notes"]
        if n["customerId"] == customer["id"] and "family plan" in n["text"]
    ]


async def test_a_note_kept_in_srm_says_nothing_about_the_api_being_back(vendor_world):
    """Offline, a note kept in srm's own store sends nothing: the status line must keep saying
    offline (it said "online" until the next real call)."""
    customer = vendor_world.picker.export["customers"][4]
    app = vendor_world.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, customer["id"])
        app.online = False
        app.refresh_status()
        await pilot.press("n")
        await type_text(pilot, "Called while the API was down")
        await run_confirmed(pilot)
        assert name(app) == "CustomerScreen"
        assert app.online is False
        assert "online" not in app.status_text.replace("offline", "")


async def test_vendor_profile_change_history_comes_from_srms_audit(vendor_world):
    customer = vendor_world.picker.export["customers"][3]
    app = vendor_world.app()
    async with app.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, customer["id"])
        await pilot.press("e")
        await pilot.press("ctrl+u")
        await type_text(pilot, "Wanda")
        await run_confirmed(pilot)
        assert name(app) == "CustomerScreen"
        await pilot.press("h")
        await pilot.pause()
        assert name(app) == "ChangeHistoryScreen"
        line = next(ln for ln in screen_text(app).splitlines() if "Wanda" in ln)
        assert "anna" in line and "first name" in line and "done (srm's audit)" in line
    assert vendor_world.record("customers", "id", customer["id"])["firstName"] == "Wanda"

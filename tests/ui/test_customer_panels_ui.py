"""Every panel of the customer screen, read by keys through the real console.

One small sandbox (in-process, over loopback HTTP) is synced into one cache for the module;
the console then reads that cache. Figures are checked against the sandbox's own export.
"""

from __future__ import annotations

from datetime import datetime, timezone

import httpx
import pytest

from srm_tui.api.client import ApiClient
from srm_tui.domain.account import IN_APP
from srm_tui.domain.lifecycle import IN_APP_GATEWAYS, MRR_FACTOR, subscription_state
from srm_tui.sandbox.runner import start_in_thread
from srm_tui.sandbox.server import create_app
from srm_tui.sandbox.state import SandboxState
from srm_tui.storage.cache import Cache
from srm_tui.sync.engine import SyncEngine
from tests.helpers import screen_text
from tests.ui_keys import Picker, dialog_text, make_app, name, open_customer, settle, to_row
from tests.ui_keys import footer as footer_row

AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)
NOW = int(AS_OF.timestamp())


def day(ts: int) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%d")


def state(s: dict) -> str:
    return subscription_state(s["status"], s["inTrial"], s["dateTo"], NOW)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    running = start_in_thread(create_app(SandboxState.generate(200, 5, AS_OF, advance_clock=False)))
    db = tmp_path_factory.mktemp("panels") / "c.db"
    cache = Cache(db)
    with ApiClient(running.url, "sandbox-key") as client:
        SyncEngine(cache, client).run()
    export = httpx.get(running.url.rsplit("/3.1", 1)[0] + "/sandbox/export", timeout=30).json()
    cache.close()
    yield db, Picker(export)
    running.stop()


def money(amount: float, currency: str) -> str:
    # Each currency's own minor units (the sandbox's currencies: yen has none).
    digits = 0 if currency == "JPY" else 2
    return f"{amount:,.{digits}f} {currency}"


async def test_summary_shows_the_whole_profile(world):
    db, picker = world
    c = picker.pick(
        "customers",
        lambda c: (
            c["email"]
            and c["externalId"]
            and c["externalData"]
            and any(
                state(s) == "active" and s["period"] == "month"
                for s in picker.of("subscriptions", c["id"])
            )
            and len({t["currency"] for t in picker.of("transactions", c["id"])}) == 1
        ),
    )
    txns = picker.of("transactions", c["id"])
    currency = txns[0]["currency"]
    revenue = sum(
        t["amount"]
        if t["status"] == "captured"
        else t["amount"] - t["refundedAmount"]
        if t["status"] == "refunded"
        else 0
        for t in txns
    )
    mrr = sum(
        s["nextPaymentPrice"] * MRR_FACTOR[s["period"]]
        for s in picker.of("subscriptions", c["id"])
        if state(s) in ("active", "grace")
    )
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, c["id"])
        text = screen_text(app)
    for label, value in (
        ("Name", f"{c['firstName']} {c['lastName']}"),
        ("Email (login)", c["email"]),
        ("Customer ID", str(c["id"])),
        ("External ID", c["externalId"]),
        ("Country", c["country"]),
        ("Language (locale)", c["locale"]),
        ("Currency", c["currency"]),
        ("Status", "active · active subscription: yes"),
        ("Lifetime revenue", money(revenue, currency)),
        ("MRR", money(mrr, currency)),
        ("Paid transactions", str(sum(t["status"] in ("captured", "refunded") for t in txns))),
        ("Registered", c["regDate"]),
        ("Custom data", next(iter(c["externalData"]))),
    ):
        line = next((ln for ln in text.splitlines() if ln.strip().startswith(label)), "")
        assert value in line, (label, value, line)
    synced = next(ln for ln in text.splitlines() if "Last synced" in ln)
    assert datetime.now(timezone.utc).strftime("%Y-%m-%d") in synced
    assert "e Edit" in text and "A Anonymize" in text and "h Change history" in text


async def test_payments_show_details_in_app_stores_and_the_next_payment(world):
    db, picker = world

    def fits(pd: dict) -> bool:
        cid = pd["customerId"]
        details = picker.of("payment_details", cid)
        return (
            any(p["paymentGateway"] in IN_APP_GATEWAYS for p in details)
            and any(
                (p["paymentMethodSpecificParams"] or {}).get("lastCardFourDigits") for p in details
            )
            and any(state(s) in ("trial", "active") for s in picker.of("subscriptions", cid))
        )

    cid = picker.pick("payment_details", fits)["customerId"]
    details = picker.of("payment_details", cid)
    card = next(
        p for p in details if (p["paymentMethodSpecificParams"] or {}).get("lastCardFourDigits")
    )
    store = next(p for p in details if p["paymentGateway"] in IN_APP_GATEWAYS)
    renewing = min(
        (s for s in picker.of("subscriptions", cid) if state(s) in ("trial", "active")),
        key=lambda s: s["dateTo"],
    )
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, cid)
        await pilot.press("2")
        await pilot.pause()
        text = screen_text(app)
        params = card["paymentMethodSpecificParams"]
        assert f"{params['variant']} •••• {params['lastCardFourDigits']}" in text
        assert params["cardExpirationDate"] in text
        store_line = next(ln for ln in text.splitlines() if str(store["id"]) in ln)
        assert f"managed by {IN_APP[store['paymentGateway']]}" in store_line
        nxt = next(ln for ln in text.splitlines() if "Next scheduled payment" in ln)
        assert day(renewing["dateTo"]) in nxt and renewing["offerId"] in nxt
        assert f"{renewing['nextPaymentPrice']} {renewing['nextPaymentCurrency']}" in nxt
        assert "D Delete payment details" in text and "c Cancel subscription" in text


async def test_transactions_show_refunds_order_ids_and_details(world):
    db, picker = world
    refunded = picker.pick(
        "transactions",
        lambda t: t["status"] == "refunded" and 0 < t["refundedAmount"] < t["amount"],
    )
    rejected = next(
        (t for t in picker.of("transactions", refunded["customerId"]) if t["status"] == "rejected"),
        None,
    )
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, refunded["customerId"])
        await pilot.press("3")
        await to_row(pilot, "transactions-table", refunded["transactionId"])
        text = screen_text(app)
        row = next(
            ln for ln in text.splitlines() if refunded["transactionId"] in ln and "refunded" in ln
        )
        assert refunded["externalPaymentId"][:12] in row
        assert str(refunded["refundedAmount"]) in row
        detail = text.split("Transaction ", 1)[1]
        assert f"Refunded          {refunded['refundedAmount']} {refunded['currency']}" in detail
        assert f"{refunded['paymentGateway']} / {refunded['paymentMethod']}" in detail
        assert "Offer URL" in detail
        if rejected is not None:
            await to_row(pilot, "transactions-table", rejected["transactionId"])
            assert rejected["rejectedReason"] in screen_text(app)


async def test_emails_show_both_statuses_and_a_preview(world):
    db, picker = world
    cid = picker.pick(
        "emails",
        lambda e: (
            {x["status"] for x in picker.of("emails", e["customerId"])} == {"sent", "generated"}
        ),
    )["customerId"]
    emails = sorted(picker.of("emails", cid), key=lambda e: e["createdAt"], reverse=True)
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, cid)
        await pilot.press("4")
        await pilot.pause()
        text = screen_text(app)
        assert "Sent" in text and "Generated (Not Sent)" in text
        last = emails[-1]
        await to_row(pilot, "emails-table", str(last["id"]))
        text = screen_text(app)
        assert f"Subject  {last['subject']}" in text
        assert last["body"][:50] in text
        assert "R Resend email" in text


async def test_notes_show_author_time_text_and_earlier_versions(world):
    db, picker = world
    note = picker.pick("notes", lambda n: n["revisions"] and n["deletedAt"] is None)
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, note["customerId"])
        await pilot.press("5")
        await to_row(pilot, "notes-table", str(note["id"]))
        text = screen_text(app)
        author = next(ln for ln in text.splitlines() if ln.strip().startswith("Author"))
        assert author.split() == ["Author", note["author"]]
        assert note["text"][:40] in text
        rev = note["revisions"][-1]
        assert "Earlier versions" in text and rev["text"][:40] in text
        assert f"replaced by {rev['editor']}" in dialog_text(app)  # wraps on screen
        assert "n Add note" in text and "E Edit note" in text and "d Delete note" in text


async def test_history_is_one_timeline_filtered_by_kind(world):
    db, picker = world
    cid = picker.pick(
        "notes",
        lambda n: (
            len(picker.of("transactions", n["customerId"])) > 2
            and picker.of("emails", n["customerId"])
        ),
    )["customerId"]
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, cid)
        await pilot.press("6")
        await pilot.pause()
        table = app.screen.query_one("#history-table")
        await pilot.press("j", "j", "k")  # lists move with j/k here too
        assert table.cursor_row == 1
        kinds_all = {str(table.get_row_at(i)[1]) for i in range(table.row_count)}
        assert {"payment", "email", "note", "subscription"} <= kinds_all
        total = table.row_count
        seen = {}
        for _ in range(8):  # f cycles through every kind, then back to all
            await pilot.press("f")
            await pilot.pause()
            shown = app.screen.history_filter
            kinds = {str(table.get_row_at(i)[1]) for i in range(table.row_count)}
            assert kinds <= {shown}
            assert f"Showing {shown} ({table.row_count} of {total})" in screen_text(app)
            seen[shown] = table.row_count
        assert seen["payment"] == len(picker.of("transactions", cid))
        assert sum(seen.values()) == total
        await pilot.press("f")
        assert app.screen.history_filter is None and table.row_count == total


async def test_view_offer_and_copy_its_url(world):
    db, picker = world
    txn = picker.pick("transactions", lambda t: t["offerId"].startswith("S"))
    offer_id = txn["offerId"].split("_")[0]
    offer = next(o for o in picker.export["offers"] if o["id"] == offer_id)
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_customer(pilot, txn["customerId"])
        await pilot.press("3")
        await to_row(pilot, "transactions-table", txn["transactionId"])
        await pilot.press("o")
        await settle(pilot, 0.2)
        assert name(app) == "OfferScreen"
        assert offer_id in screen_text(app)
        text = dialog_text(app)  # the whole offer, also what is scrolled below at 80x24
        assert offer["url"] in text and "Holders" in text
        await pilot.press("escape")
        await pilot.pause()
        assert name(app) == "CustomerScreen"
        await pilot.press("u")
        await pilot.pause()
        assert app.clipboard == offer["url"]


async def test_viewer_sees_no_action_anywhere(world):
    db, picker = world
    cid = picker.pick("notes", lambda n: n["author"] == "anna")["customerId"]
    app = make_app(db, role="viewer", agent="anna")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, cid)
        # On each tab, the keys of that tab's actions (the footer would list them).
        for tab, keys in (("1", "eAn"), ("2", "xcD"), ("3", "rXx"), ("4", "R"), ("5", "nEd")):
            await pilot.press(tab)
            await pilot.pause()
            footer = await footer_row(pilot)
            for label in (
                "Edit",
                "Anonymize",
                "Extend",
                "Cancel",
                "Refund",
                "Delete",
                "Resend",
                "Add note",
            ):
                assert label not in footer, (tab, footer)
            await pilot.press(*keys)
            await pilot.pause()
            assert name(app) == "CustomerScreen", (tab, keys)
        assert "anna (viewer)" in screen_text(app)

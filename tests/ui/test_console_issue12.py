"""What new users hit in the console (issue 12): risks asked about, work kept, keys that
reach where they are aimed, state in the text. Keys pressed in the real app, against the
sandbox over loopback."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from srm_tui.api.client import ApiClient
from srm_tui.storage import queries
from srm_tui.storage.cache import Cache
from srm_tui.sync.engine import SyncEngine
from tests.helpers import screen_text
from tests.ui_keys import footer as footer_row
from tests.ui_keys import make_app, name, settle, type_text, until

AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)
T0 = int(AS_OF.timestamp())


def _offer(running, offer_id: str) -> dict:
    with ApiClient(running.url, "sandbox-key") as client:
        offer, _ = client.offer(offer_id)
    return offer


async def _open_offer(pilot, offer_id: str) -> None:
    await pilot.press("f4")
    await settle(pilot)
    await pilot.press("slash")
    await type_text(pilot, offer_id)
    await pilot.press("enter", "enter")
    await settle(pilot)
    assert name(pilot.app) == "OfferScreen"


async def test_switching_off_an_offer_asks_first_naming_its_holders(synced):
    running, state, db, cache = synced
    holders = queries.offer_holders(cache.conn(), T0)
    offer_id, n = max(
        ((o["id"], holders.get(o["id"], 0)) for o in state.all("offers") if o["active"]),
        key=lambda x: x[1],
    )
    assert n > 1
    app = make_app(db, running.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await _open_offer(pilot, offer_id)
        await pilot.press("a")
        await pilot.pause()
        assert name(app) == "ConfirmDialog"
        assert f"{n:,} customers hold it" in screen_text(app)
        await pilot.press("n")
        await settle(pilot)
        assert name(app) == "OfferScreen"
        assert _offer(running, offer_id)["active"] is True  # nothing sent on "no"
        await pilot.press("a")
        await pilot.pause()
        await pilot.press("y")
        await settle(pilot)
    assert _offer(running, offer_id)["active"] is False


async def test_j_k_g_G_move_the_offers_catalogue_and_season_groups(synced):
    running, state, db, cache = synced
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f4")
        await settle(pilot)
        table = app.screen.query_one("DataTable")
        assert table.row_count > 3 and table.cursor_row == 0
        await pilot.press("j", "j")
        assert table.cursor_row == 2
        await pilot.press("k")
        assert table.cursor_row == 1
        await pilot.press("G")
        assert table.cursor_row == table.row_count - 1
        await pilot.press("g")
        assert table.cursor_row == 0
        # In the filter box the same letters are text.
        await pilot.press("slash")
        await type_text(pilot, "jk")
        assert app.screen.query_one("#filter").value == "jk"
        await pilot.press("escape")
        await pilot.press("S")
        await settle(pilot)
        assert name(app) == "SeasonGroupsScreen"
        groups = app.screen.query_one("DataTable")
        if groups.row_count > 1:
            await pilot.press("G")
            assert groups.cursor_row == groups.row_count - 1
            await pilot.press("g")
            assert groups.cursor_row == 0
            await pilot.press("j")
            assert groups.cursor_row == 1


async def test_note_editor_esc_asks_and_a_long_draft_survives(synced):
    from textual import events

    from tests.ui_keys import open_customer

    running, state, db, cache = synced
    note = next(n for n in state.all("notes") if n["author"] == "anna" and not n["deletedAt"])
    cid = note["customerId"]
    draft = "Called about the invoice. " * 100  # 2,600 characters
    assert len(draft) == 2600
    app = make_app(db, running.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, cid)
        await pilot.press("5", "n")
        await pilot.pause()
        assert name(app) == "ActionScreen"
        await pilot.press("escape")  # nothing typed: esc just leaves
        await pilot.pause()
        assert name(app) == "CustomerScreen"
        await pilot.press("n")
        await pilot.pause()
        app.post_message(events.Paste(draft))
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert name(app) == "ConfirmDialog"
        assert "thrown away" in screen_text(app)
        await pilot.press("n")
        await pilot.pause()
        assert name(app) == "ActionScreen"
        assert app.screen.query_one("TextArea").text == draft
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert name(app) == "CustomerScreen"


async def test_editing_a_note_types_after_the_old_text(synced):
    from tests.ui_keys import open_customer, to_row

    running, state, db, cache = synced
    note = next(
        n for n in state.all("notes") if n["author"] == "anna" and not n["deletedAt"] and n["text"]
    )
    app = make_app(db, running.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, note["customerId"])
        await pilot.press("5")
        await to_row(pilot, "notes-table", str(note["id"]))
        await pilot.press("E")
        await pilot.pause()
        await type_text(pilot, " +1")
        assert app.screen.query_one("TextArea").text == note["text"] + " +1"


async def test_offer_form_esc_asks_only_when_something_was_typed(synced):
    running, state, db, cache = synced
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f4")
        await settle(pilot)
        await pilot.press("n", "1")
        await pilot.pause()
        assert name(app) == "OfferEditorScreen"
        await pilot.press("escape")  # untouched: leaves at once
        await pilot.pause()
        assert name(app) == "OffersScreen"
        await pilot.press("n", "1")
        await type_text(pilot, "Keys Monthly")
        await pilot.press("escape")
        await pilot.pause()
        assert name(app) == "ConfirmDialog"
        await pilot.press("escape")  # no: the form and its text stay
        await pilot.pause()
        assert name(app) == "OfferEditorScreen"
        assert app.screen.query_one("#f-title").value == "Keys Monthly"
        await pilot.press("escape", "y")
        await pilot.pause()
        assert name(app) == "OffersScreen"


async def test_keys_typed_right_after_opening_the_new_offer_form_reach_its_first_field(synced):
    from tests.ui.test_offers_ui import _keys

    running, state, db, cache = synced
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f4")
        await settle(pilot)
        # One read from the terminal: the choice and the title typed straight after it.
        await _keys(pilot, "n", "1", chars="Quick Title")
        await settle(pilot)
        assert name(app) == "OfferEditorScreen"
        assert app.screen.query_one("#f-title").value == "Quick Title"


async def test_checkboxes_and_the_columns_dialog_say_their_state_in_text(synced, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    running, state, db, cache = synced
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("c")  # the customer list's columns dialog
        await pilot.pause()
        assert name(app) == "ColumnsScreen"
        text = screen_text(app)
        assert "[x] " in text and "[ ] " in text and "▐X▌" not in text
        before = text.count("[x] ")
        await pilot.press("space")
        assert screen_text(app).count("[x] ") == before - 1
        await pilot.press("escape")
        await pilot.press("f4")
        await settle(pilot)
        await pilot.press("n", "1")
        await pilot.pause()
        box = app.screen.query_one("#f-giftable")
        assert "[ ] yes" in screen_text(app)
        while app.focused is not box:
            await pilot.press("tab")
        assert "[ ] yes" in screen_text(app)  # focused: still the state, not a border
        await pilot.press("space")
        await pilot.pause()
        assert box.value is True
        assert "[x] yes" in screen_text(app)


async def test_segment_condition_dialog_esc_asks_only_with_changes(synced):
    running, state, db, cache = synced
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f3")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert name(app) == "SegmentBuilderScreen"
        app.screen.query_one("ConditionTree").focus()
        await pilot.press("a")
        await pilot.pause()
        assert name(app) == "ConditionScreen"
        await pilot.press("escape")  # nothing typed: leaves
        await pilot.pause()
        assert name(app) == "SegmentBuilderScreen"
        await pilot.press("a")
        await pilot.pause()
        await type_text(pilot, "country")
        await pilot.press("escape")
        await pilot.pause()
        assert name(app) == "ConfirmDialog"
        await pilot.press("n")
        await pilot.pause()
        assert name(app) == "ConditionScreen"
        assert app.screen.query_one("#attr").value == "country"
        await pilot.press("escape", "y")
        await pilot.pause()
        assert name(app) == "SegmentBuilderScreen"


async def test_state_shown_is_the_state_now_after_a_push_from_elsewhere(tmp_path):
    from tests.helpers import SandboxProcess
    from tests.ui_keys import open_customer, run_confirmed

    state_file, db = tmp_path / "state.json", tmp_path / "c.db"
    args = (
        "--customers",
        "40",
        "--seed",
        "12",
        "--as-of",
        "2026-11-01T00:00:00Z",
        "--state",
        str(state_file),
    )
    sandbox = SandboxProcess(*args)
    port, url = sandbox.port, sandbox.url
    try:
        cache = Cache(db)
        with ApiClient(url, "sandbox-key") as client:
            SyncEngine(cache, client).run()
        cache.close()
        customer = next(c for c in sandbox.export()["customers"] if c["email"])
    finally:
        sandbox.stop()
    app = make_app(db, url)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, customer["id"])
        await pilot.press("5", "n")
        await type_text(pilot, "Queued while away")
        await run_confirmed(pilot)
        assert "Outbox #1 pending" in screen_text(app)
        await pilot.press("ctrl+r")  # the API is still away: the sync fails
        # Waited for as an outcome (a busy host once showed "sending queued actions…" 0.5 s on)
        await until(pilot, lambda: "sync failed" in app.status_text, "the sync fails")
        back = SandboxProcess("--port", str(port), *args)

        def settled() -> bool:
            line = app.status_text
            return not any(
                w in line for w in ("sync failed", "offline", "sending", "syncing", "connecting")
            )

        try:
            await pilot.press("f5")  # the push happens while another screen is shown
            await settle(pilot)
            await pilot.press("ctrl+r")
            await until(pilot, settled, "the push and the sync end with the API back")
            await pilot.press("f2")
            await until(pilot, lambda: name(app) == "CustomerScreen", "back on the customer")
            await until(pilot, lambda: "Outbox #1" not in screen_text(app), "the banner goes")
            assert "sync failed" not in app.status_text and "offline" not in app.status_text
            # An action the API takes at once clears any earlier failure from the line too.
            app.sync_state = "sync failed: earlier"
            app.online = False
            await pilot.press("n")
            await type_text(pilot, "Sent at once")
            await run_confirmed(pilot)
            await until(pilot, settled, "the note is sent and the line clears")
        finally:
            back.stop()


def _notes(app) -> str:
    return " ".join(str(n.message) for n in app._notifications)


async def test_action_keys_on_the_wrong_tab_or_table_say_where_they_act(synced):
    from tests.ui_keys import open_customer, to_row

    running, state, db, cache = synced
    pd_owners = {p["customerId"] for p in state.all("payment_details")}
    sub = next(s for s in state.all("subscriptions") if s["customerId"] in pd_owners)
    app = make_app(db, running.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, sub["customerId"])
        await pilot.press("1", "r")  # refund on Summary
        await pilot.pause()
        assert name(app) == "CustomerScreen"
        assert "Refund works on the Transactions (3) tab" in _notes(app)
        await pilot.press("2")
        pd = app.screen.query_one("#pd-table")
        await to_row(pilot, "pd-table", str(pd.coordinate_to_cell_key((0, 0)).row_key.value))
        await pilot.press("c")  # cancel acts on a subscription, not on payment details
        await pilot.pause()
        assert name(app) == "CustomerScreen"
        assert "the payment details table has the focus" in _notes(app)
        await to_row(pilot, "access-table", f"S{sub['subscriptionId']}")
        await pilot.press("c")
        await pilot.pause()
        assert name(app) == "ActionScreen"
        title = next(ln for ln in screen_text(app).splitlines() if "Cancel subscription" in ln)
        assert str(sub["subscriptionId"]) in title  # says which row it acts on
        await pilot.press("escape")
        await pilot.pause()
        # `p` with nothing of this customer in the outbox (its binding is off, so hidden from
        # the footer) says so instead of doing nothing.
        await pilot.press("p")
        await pilot.pause()
        assert name(app) == "CustomerScreen"
        assert "Nothing of this customer waits in the outbox." in _notes(app)


async def _palette(pilot, text: str) -> str:
    await pilot.press("ctrl+p")
    await pilot.pause()
    await type_text(pilot, text)
    await pilot.pause(0.5)
    return screen_text(pilot.app)


async def test_palette_finds_actions_by_name_where_they_are_available(synced):
    running, state, db, cache = synced
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        shown = await _palette(pilot, "back")  # the customer list has no "Back"
        assert "Back" not in shown.split("back", 1)[1]
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("f4")
        await settle(pilot)
        assert "Coupons" in await _palette(pilot, "coupon")
        await pilot.press("escape")
        await pilot.pause()
        assert "Season groups" in await _palette(pilot, "season")
        await pilot.press("enter")
        await settle(pilot)
        assert name(app) == "SeasonGroupsScreen"


async def test_builder_explains_why_a_customer_is_out_and_the_list_filters_by_tag(synced):
    from srm_tui.segments import store
    from srm_tui.segments.model import All, Condition, Segment

    running, state, db, cache = synced
    conn = cache.conn()
    out = conn.execute("SELECT id FROM customers WHERE country IS NOT 'PL' LIMIT 1").fetchone()[0]
    store.save(
        conn,
        Segment(
            where=All((Condition("customer.country", "eq", "PL"),)), name="Polish UX", tags=("ux",)
        ),
        now=T0,
        agent="anna",
    )
    store.save(
        conn,
        Segment(
            where=All((Condition("customer.country", "eq", "DE"),)),
            name="German",
            tags=("billing",),
        ),
        now=T0,
        agent="anna",
    )
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f3")
        await settle(pilot)
        await pilot.press("slash")
        await type_text(pilot, "tag:ux")
        await pilot.pause()
        table = app.screen.query_one("DataTable")
        assert table.row_count == 1 and "Polish UX" in screen_text(app)
        await pilot.press("escape")
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("ctrl+l")
        app.screen.query_one("#text").value = "customer.country = P"
        await pilot.press("end", "L", "enter")
        await settle(pilot)
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert name(app) == "PromptScreen"
        await type_text(pilot, str(out))
        await pilot.press("enter")
        await settle(pilot)
        assert name(app) == "SegmentBuilderScreen"
        text = str(app.screen.query_one("#explain").render())
        assert f"customer {out}: NOT IN the segment" in text and "FAIL" in text


async def test_schedules_are_listed_and_removed_in_the_console(synced, tmp_path):
    from srm_tui.segments import schedules as S
    from srm_tui.segments import store
    from srm_tui.segments.model import All, Condition, Segment

    running, state, db, cache = synced
    conn = cache.conn()
    store.save(
        conn,
        Segment(where=All((Condition("customer.country", "eq", "PL"),)), name="Polish"),
        now=T0,
        agent="anna",
    )
    first = S.add(
        conn,
        "Polish",
        fmt="csv",
        columns=["id"],
        directory=str(tmp_path),
        every="6h",
        now=T0,
        agent="anna",
    )
    second = S.add(
        conn,
        "Polish",
        fmt="json",
        columns=["id"],
        directory=str(tmp_path),
        at="07:00",
        tz="Europe/Warsaw",
        now=T0,
        agent="anna",
    )
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f3")
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)
        assert name(app) == "SchedulesScreen"
        text = screen_text(app)
        assert "2 schedules" in text and "every 6h" in text and "Europe/Warsaw" in text
        await pilot.press("G", "x")
        await pilot.pause()
        assert f"Remove schedule {second.id}" in screen_text(app)
        await pilot.press("y")
        await settle(pilot)
        assert "1 schedule" in screen_text(app)
    assert [s.id for s in S.list_schedules(cache.conn())] == [first.id]


def test_counts_read_as_english_everywhere(synced, tmp_path):
    from srm_tui.domain.text import count, plural
    from srm_tui.segments import schedules as S
    from srm_tui.segments import store
    from srm_tui.segments.model import All, Condition, Segment
    from tests.helpers import run_srm

    assert [count(1, "customer"), count(2, "customer"), count(1176, "row")] == [
        "1 customer",
        "2 customers",
        "1,176 rows",
    ]
    assert [plural("pass", 2), plural("entry", 3), plural("day", 2)] == [
        "passes",
        "entries",
        "days",
    ]
    running, state, db, cache = synced
    conn = cache.conn()
    one = conn.execute(
        "SELECT id, country FROM customers WHERE country IS NOT NULL "
        "GROUP BY country HAVING count(*) = 1 LIMIT 1"
    ).fetchone()
    store.save(
        conn,
        Segment(where=All((Condition("customer.id", "eq", one[0]),)), name="Just one"),
        now=T0,
        agent="anna",
    )
    S.add(
        conn,
        "Just one",
        fmt="csv",
        columns=["id"],
        directory=str(tmp_path),
        every="1d",
        now=T0,
        agent="anna",
    )
    env = {"SRM_DB": str(db), "SRM_NOW": "2026-11-02T01:00:00Z"}
    deleted = run_srm("segment", "delete", "Just one", env=env)
    assert deleted.returncode != 0 and "exports it" in deleted.stderr, deleted.stderr
    ran = run_srm("schedules", "run", env=env)
    assert ran.returncode == 0, ran.stderr
    assert "wrote 1 row to" in ran.stdout, ran.stdout
    listed = run_srm("segment", "list", env=env)
    assert "1 customer " in listed.stdout or listed.stdout.rstrip().endswith("1 customer"), (
        listed.stdout
    )


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_offers_catalogue_and_footers_fit_the_terminal(synced, size):
    from srm_tui.domain import offers as od

    running, state, db, cache = synced
    app = make_app(db)
    async with app.run_test(size=size) as pilot:
        await pilot.press("f4")
        await settle(pilot)
        lines = screen_text(app).splitlines()
        header = next(ln for ln in lines if ln.lstrip().startswith("ID "))
        assert "Period / duration" in header and "Price" in header
        if size[0] >= 120:
            assert header.rstrip().endswith("Tags")
        table = app.screen.query_one("DataTable")
        for row in range(min(table.row_count, size[1] - 8)):
            offer_id = str(table.get_row_at(row)[0])
            offer = next(o for o in queries.offers(cache.conn()) if o["id"] == offer_id)
            period = od.period(offer).split(" Europe/")[0]
            line = next(ln for ln in lines if ln.lstrip().startswith(offer_id))
            assert period in line, (period, line)
        footer = await footer_row(pilot)
        for key in ("Filter", "New offer", "Drafts", "Quit", "Help"):
            assert key in footer, footer
        await pilot.press("f3")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert "Save" in await footer_row(pilot)  # ^s Save first, never cut


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_sync_tables_and_transactions_show_whole_key_cells(synced, size):
    from srm_tui.domain.time import utc
    from tests.ui_keys import open_customer

    running, state, db, cache = synced
    conn = cache.conn()
    with conn:
        conn.execute(
            "INSERT INTO sync_runs (mode, started_at, finished_at, ok, counts, message)"
            " VALUES ('full', ?, ?, 0, '{}', ?)",
            (T0, T0 + 5, "the API answered 503 Service Unavailable " * 4),
        )
        conn.execute(
            "INSERT INTO quarantine (entity, record_key, source, reason, payload, "
            "received_at) VALUES ('transactions', 'T1', 'sync', ?, '{}', ?)",
            ("amount: not a number " * 8, T0),
        )
        payload = {
            "title": "Edit note",
            "args": {},
            "role": "agent",
            "changes": [],
            "request": {"method": "PATCH", "path": "/notes/4242"},
        }
        conn.execute(
            "INSERT INTO outbox (idempotency_key, action, target, payload, status, "
            "attempts, last_error, created_at) VALUES ('k1', 'note-edit', "
            "'note 4242', ?, 'failed', 3, ?, ?)",
            (json.dumps(payload), "HTTP 409 conflict " * 6, T0),
        )
    customer = next(
        t["customerId"] for t in state.all("transactions") if t.get("externalPaymentId")
    )
    app = make_app(db)
    async with app.run_test(size=size) as pilot:
        await pilot.press("f5")
        await settle(pilot)
        text = screen_text(app)
        assert text.count(utc(T0)) >= 3, text  # whole dates, not "2026-1"
        assert "note-edit" in text and "Last error" in text and "Reason" in text
        await pilot.press("f2")
        await settle(pilot)
        await open_customer(pilot, customer)
        await pilot.press("3")
        await settle(pilot)
        header = next(
            ln for ln in screen_text(app).splitlines() if "Transaction" in ln and "Date" in ln
        )
        assert "Order ID" in header and header.rstrip().endswith("Refunded"), header


async def test_hostile_titles_keep_their_row_in_its_columns(synced):
    from rich.cells import cell_len

    from srm_tui.domain import offers as od
    from srm_tui.domain.text import visible

    assert visible("a\u200bb") == "a\\u200bb"  # zero-width: shown, so its width is known
    assert cell_len(visible("東京都千代田区東京都千代田区", 10)) <= 10
    running, state, db, cache = synced
    conn = cache.conn()
    offers = [o["id"] for o in queries.offers(conn)]
    hostile = "東京\u200b😀 Ｗｉｄｅ\u200d title " * 3
    from srm_tui.storage.payload import decode_raw, encode

    stored = conn.execute("SELECT raw FROM offers WHERE id = ?", (offers[0],)).fetchone()[0]
    with conn:
        conn.execute(
            "UPDATE offers SET raw = ? WHERE id = ?",
            (encode("offers", {**decode_raw(stored), "title": hostile}), offers[0]),
        )
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f4")
        await settle(pilot)
        lines = screen_text(app).splitlines()
        header = next(ln for ln in lines if ln.lstrip().startswith("ID "))
        column = cell_len(header[: header.index("Price")])
        by_id = {o["id"]: o for o in queries.offers(conn)}
        table = app.screen.query_one("DataTable")
        seen = 0
        for ln in lines:
            offer_id = ln.lstrip()[:10]
            if offer_id not in by_id:
                continue
            price = od.price(by_id[offer_id].get("price"))
            # The price starts where its header does on every row, the hostile one too.
            assert cell_len(ln[: ln.index(price)]) == column, (ln, header)
            assert cell_len(ln.rstrip()) <= 120
            seen += 1
        assert seen >= min(table.row_count, 20)
        assert any(ln.lstrip().startswith(offers[0]) for ln in lines)


async def test_j_k_g_G_move_the_condition_tree(synced):
    running, state, db, cache = synced
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f3")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("ctrl+l")
        app.screen.query_one(
            "#text"
        ).value = "customer.country = PL and customer.country = DE and customer.country = F"
        await pilot.press("end", "R", "enter")
        await settle(pilot)
        tree = app.screen.query_one("ConditionTree")
        tree.focus()
        await pilot.pause()
        assert tree.option_count == 4
        await pilot.press("G")
        assert tree.highlighted == 3
        await pilot.press("g")
        assert tree.highlighted == 0
        await pilot.press("j", "j")
        assert tree.highlighted == 2
        await pilot.press("k")
        assert tree.highlighted == 1


async def test_palette_opens_a_customer_found_by_their_email(synced):
    """The palette searches customers through the session's reads (it imports no storage)."""
    running, state, db, cache = synced
    customer = next(c for c in state.export()["customers"] if c["email"])
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        shown = await _palette(pilot, customer["email"])
        assert f"Open customer {customer['id']}" in shown
        await pilot.press("enter")
        await settle(pilot)
        assert name(app) == "CustomerScreen" and app.screen.customer_id == customer["id"]

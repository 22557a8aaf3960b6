"""The offer editor by keys only, against the real sandbox over loopback: one offer of each
type, a localization, a season group with seasons, every vendor rule's refusal, coupons,
and a draft whose offer changed on the server (412, merge view, both versions kept)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from srm_tui.api.client import ApiClient
from srm_tui.app import SrmApp
from srm_tui.config import load_settings
from srm_tui.offers import forms
from srm_tui.storage.cache import Cache
from srm_tui.storage.payload import decode_raw
from tests.helpers import screen_text

AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)
NOW = "2026-11-01T00:00:00Z"
T0 = int(AS_OF.timestamp())
DAY = 86_400


def _app(db, url=None) -> SrmApp:
    settings = load_settings(
        db=str(db),
        api_url=url,
        api_key="sandbox-key" if url else None,
        agent="anna",
        role="agent",
        now=NOW,
    )
    return SrmApp(settings, Cache(db), sync_on_start=False)


def _name(app) -> str:
    return type(app.screen).__name__


async def _keys(pilot, *keys: str, chars: str | None = None) -> None:
    """Send keys as a terminal does, in order, then wait once (typing stays quick)."""
    from textual.app import _character_to_key
    from textual.events import Key

    app = pilot.app
    events = [Key(k, None) for k in keys]
    for char in chars or "":
        events.append(Key(char if char.isalnum() else _character_to_key(char), char))
    for event in events:
        event.set_sender(app)
        app._driver.send_message(event)
    await pilot.pause()
    await pilot.pause()


async def _type(pilot, text: str) -> None:
    await _keys(pilot, chars=text)


async def _settle(pilot, delay: float = 0.15) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause(delay)


async def _goto(pilot, field: str) -> None:
    """Tab through the form to the field (keys only): as many tabs as the focus chain says."""
    chain = pilot.app.screen.focus_chain
    ids = [w.id for w in chain]
    target = ids.index(f"f-{field}")
    current = ids.index(pilot.app.focused.id) if pilot.app.focused in chain else -1
    steps = (target - current) % len(ids)
    if steps:
        await _keys(pilot, *["tab"] * steps)
    assert pilot.app.focused.id == f"f-{field}"


async def _fill(pilot, values: dict[str, str]) -> None:
    """Each field: reach it with tab, clear it (end, ctrl+u), type."""
    for field, text in values.items():
        await _goto(pilot, field)
        await pilot.press("end", "ctrl+u")
        await _type(pilot, text)


async def _catalogue(pilot) -> None:
    await pilot.press("f4")
    await _settle(pilot)
    assert _name(pilot.app) == "OffersScreen"


async def _open_offer(pilot, offer_id: str) -> None:
    await pilot.press("slash")
    await _type(pilot, offer_id)
    await pilot.press("enter", "enter")
    await _settle(pilot)
    assert _name(pilot.app) == "OfferScreen"


def _export_offer(running, offer_id: str) -> dict:
    with ApiClient(running.url, "sandbox-key") as client:
        offer, _ = client.offer(offer_id)
    return offer


NEW_OFFERS = {
    "1": (
        "S",
        {
            "title": "Keys Monthly",
            "price": "11.99",
            "currency": "EUR",
            "country": "NL",
            "period": "month",
            "trial": "7 days",
            "pause": "2",
            "tags": "svod, keys",
            "early_bird": "Early Bird: 2026-11-10..2026-12-01 = 8.99",
            "geo": "whitelist: NL, BE",
            "external": "sku=keys-monthly",
            "app_store": "apple=com.example.keys",
            "url": "https://example.com/keys",
        },
    ),
    "2": (
        "P",
        {
            "title": "Keys 10-Day Pass",
            "price": "5",
            "currency": "USD",
            "country": "US",
            "duration": "10 days",
        },
    ),
    "3": (
        "E",
        {
            "title": "Keys Live Final",
            "price": "19.99",
            "currency": "GBP",
            "country": "GB",
            "starts": "2026-12-20 20:00",
            "ends": "2026-12-20 23:00",
            "timezone": "Europe/London",
        },
    ),
    "4": ("A", {"title": "Keys Documentary", "price": "7.99", "currency": "USD", "country": "US"}),
    "5": (
        "R",
        {
            "title": "Keys Rental",
            "price": "3.99",
            "currency": "USD",
            "country": "US",
            "window": "48",
        },
    ),
}


async def test_create_one_offer_of_each_type_by_keys(synced):
    running, state, db, cache = synced
    app = _app(db, running.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await _catalogue(pilot)
        for digit, (letter, values) in NEW_OFFERS.items():
            await pilot.press("n", digit)
            await pilot.pause()
            assert _name(app) == "OfferEditorScreen"
            await _fill(pilot, values)
            if letter == "S":
                await _goto(pilot, "giftable")
                await pilot.press("space")
            await pilot.pause(0.25)
            assert "✔ Ready" in screen_text(app), screen_text(app)
            await pilot.press("ctrl+s")
            await _settle(pilot)
            assert _name(app) == "OffersScreen", screen_text(app)
    offers = {o["title"]: o for o in state.all("offers")}
    monthly = offers["Keys Monthly"]
    assert monthly["id"][0] == "S" and monthly["billingCycle"] == {
        "periodUnit": "month",
        "amount": 1,
    }
    assert monthly["freeTrial"] == {"type": "day", "duration": 7}
    assert monthly["pause"] == {"maxBillingCycles": 2}
    assert monthly["price"]["rules"] == [
        {"from": T0 + 9 * DAY, "to": T0 + 30 * DAY, "name": "Early Bird", "amount": 8.99}
    ]
    assert monthly["geoRestriction"] == {"type": "whitelist", "countries": ["NL", "BE"]}
    assert monthly["giftable"] is True and monthly["tags"] == ["svod", "keys"]
    assert monthly["localizations"][0]["id"] == f"{monthly['id']}_NL"
    assert offers["Keys 10-Day Pass"]["entitlement"]["duration"] == {
        "amount": 10,
        "periodUnit": "day",
    }
    assert offers["Keys Live Final"]["id"][0] == "E"
    assert offers["Keys Live Final"]["event"]["timezone"] == "Europe/London"
    assert (
        offers["Keys Live Final"]["event"]["endsAt"]
        - offers["Keys Live Final"]["event"]["startsAt"]
        == 3 * 3600
    )
    assert offers["Keys Documentary"]["id"][0] == "A"
    assert offers["Keys Rental"]["id"][0] == "R"
    assert offers["Keys Rental"]["entitlement"]["duration"] == {"amount": 48, "periodUnit": "hour"}
    # The cache follows the API: every new offer is there, as the API answered it.
    cached = {
        o["title"]
        for o in (decode_raw(r[0]) for r in cache.conn().execute("SELECT raw FROM offers"))
    }
    assert set(o for o in offers if o.startswith("Keys ")) <= cached


async def _expect_problem(pilot, field: str, text: str, rule: str | None) -> None:
    await pilot.pause(0.25)
    shown = screen_text(pilot.app)
    assert text in shown, shown
    if rule:
        assert f"rule {rule}" in shown, shown
    await pilot.press("ctrl+s")  # refused in place: nothing is sent
    await _settle(pilot, 0.1)
    assert _name(pilot.app) == "OfferEditorScreen"


async def test_each_rule_refuses_before_sending(synced):
    running, state, db, cache = synced
    before = len(state.all("offers"))
    app = _app(db, running.url)
    base = {
        "title": "Rules",
        "price": "9.99",
        "currency": "EUR",
        "country": "NL",
        "period": "month",
    }
    async with app.run_test(size=(120, 40)) as pilot:
        await _catalogue(pilot)
        await pilot.press("n", "1")
        await _fill(pilot, base)
        await _fill(pilot, {"period": "year", "pause": "2"})
        await _expect_problem(pilot, "pause", "cannot be paused", "offer.pause-period")
        await _fill(pilot, {"period": "3months"})
        await pilot.pause(0.25)
        assert "offer.pause-period" not in screen_text(app)  # 3-month periods may pause
        await _fill(pilot, {"trial": "3 days"})
        await _expect_problem(pilot, "trial", "too short", "offer.trial-length")
        await _fill(pilot, {"trial": "4 days", "currency": "XXX"})
        await _expect_problem(pilot, "currency", "not an ISO 4217", "offer.currency-iso")
        await _fill(pilot, {"currency": "EUR", "country": "ZZ"})
        await _expect_problem(pilot, "country", "not an ISO 3166-1", "offer.country-iso")
        await _fill(pilot, {"country": "NL", "period": "season"})
        await _expect_problem(pilot, "season_group", "needs a season group", "offer.season-group")
        await _fill(pilot, {"period": "month", "price": "9.999"})
        await _expect_problem(pilot, "price", "at most 2 decimals", None)
        await _fill(pilot, {"price": "9.99", "early_bird": "Early: 2026-12-01..2026-11-20 = 5"})
        await _expect_problem(pilot, "early_bird", "must end after it starts", "price.rules")
        await pilot.press("escape", "y")  # typed work: leaving asks
        await pilot.pause()
        await pilot.press("n", "3")
        await _fill(
            pilot,
            {
                "title": "Event",
                "price": "5",
                "currency": "EUR",
                "starts": "2026-12-20 20:00",
                "ends": "2026-12-20 19:00",
                "timezone": "Europe/Amsterdam",
            },
        )
        await _expect_problem(pilot, "ends", "must end after it starts", "event.window")
        await _fill(pilot, {"timezone": "Mars/Olympus"})
        await _expect_problem(pilot, "timezone", "not an IANA time zone", None)
        await pilot.press("escape", "y")  # typed work: leaving asks
        await pilot.pause()
        # An offer with sales keeps its currency.
        sold = (
            cache.conn()
            .execute(
                "SELECT substr(offer_id, 1, 10) FROM transactions WHERE status = 'captured' AND "
                "offer_id LIKE 'S%' LIMIT 1"
            )
            .fetchone()[0]
        )
        await _open_offer(pilot, sold)
        await pilot.press("e")
        await pilot.pause()
        old = _export_offer(running, sold)["price"]["currency"]
        await _fill(pilot, {"currency": "CHF" if old != "CHF" else "EUR"})
        await _expect_problem(pilot, "currency", f"currency stays {old}", "offer.currency-fixed")
    assert len(state.all("offers")) == before
    assert _export_offer(running, sold)["price"]["currency"] == old


async def test_localization_grid_create_update_and_activation(synced):
    running, state, db, cache = synced
    offer_id = next(
        o["id"]
        for o in state.all("offers")
        if o["id"][0] == "P"
        and o["active"]
        and all(loc["countryCode"] != "IS" for loc in o["localizations"])
    )
    app = _app(db, running.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await _catalogue(pilot)
        await _open_offer(pilot, offer_id)
        await pilot.press("l")
        await pilot.pause()
        assert _name(app) == "LocalizationEditorScreen"
        await _fill(pilot, {"country": "IS", "title": "Passi", "price": "1990", "currency": "ISK"})
        await pilot.pause(0.25)
        assert "at most 0 decimals" not in screen_text(app)
        await pilot.press("ctrl+s")
        await _settle(pilot)
        assert _name(app) == "OfferScreen"
        text = screen_text(app)
        assert f"{offer_id}_IS" in text and "Passi" in text
        # A second localization for the same country is refused before sending.
        await pilot.press("l")
        await _fill(pilot, {"country": "IS", "title": "Again", "price": "1", "currency": "ISK"})
        await pilot.pause(0.25)
        assert "localization.one-per-country" in screen_text(app)
        await pilot.press("escape", "y")  # typed work: leaving asks
        await pilot.pause()
        # Update its title: enter on its row opens it.
        table = app.screen.query_one("DataTable")
        row = [str(table.get_row_at(i)[0]) for i in range(table.row_count)].index("IS")
        await pilot.press("ctrl+home")
        for _ in range(row):
            await pilot.press("down")
        await pilot.press("enter")
        await pilot.pause()
        assert _name(app) == "LocalizationEditorScreen"
        await _fill(pilot, {"title": "Passi (IS)"})
        await pilot.press("ctrl+s")
        await _settle(pilot)
        assert "Passi (IS)" in screen_text(app)
        # Deactivate the localization (t), then the offer (a); activating it again is refused.
        await pilot.press("t")
        await _settle(pilot)
        loc = next(
            x for x in _export_offer(running, offer_id)["localizations"] if x["countryCode"] == "IS"
        )
        assert loc["active"] is False and loc["title"] == "Passi (IS)"
        await pilot.press("a")
        await pilot.pause()
        if _name(app) == "ConfirmDialog":  # switching off asks when anyone holds the offer
            await pilot.press("y")
        await _settle(pilot)
        assert _export_offer(running, offer_id)["active"] is False
        await pilot.press("t")
        await _settle(pilot)
        notes = " ".join(str(n.message) for n in app._notifications)
        assert "localization.inactive-offer" in notes
        assert not next(
            x for x in _export_offer(running, offer_id)["localizations"] if x["countryCode"] == "IS"
        )["active"]
        await pilot.press("a")  # the offer back on; then its localization
        await _settle(pilot)
        await pilot.press("t")
        await _settle(pilot)
    offer = _export_offer(running, offer_id)
    assert (
        offer["active"]
        and next(x for x in offer["localizations"] if x["countryCode"] == "IS")["active"]
    )


async def _dialog(pilot, values: list[str]) -> None:
    """Type each field of a dialog, enter moving on (and submitting after the last)."""
    for text in values:
        await _type(pilot, text)
        await pilot.press("enter")
    await _settle(pilot)


async def test_season_group_with_seasons_and_its_rules(synced):
    running, state, db, cache = synced
    app = _app(db, running.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await _catalogue(pilot)
        await pilot.press("S")
        await pilot.pause()
        assert _name(app) == "SeasonGroupsScreen"
        await pilot.press("n")
        await _dialog(pilot, ["Keys League"])
        assert _name(app) == "SeasonGroupsScreen"
        assert "Keys League" in screen_text(app)
        await pilot.press("n")  # the same name again (any case) is refused in the dialog
        await _dialog(pilot, ["keys league"])
        assert "season-group.name-unique" in screen_text(app)
        await pilot.press("escape", "y")  # typed work: leaving asks
        await pilot.pause()
        table = app.screen.query_one("DataTable")
        names = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        await pilot.press("ctrl+home")
        for _ in range(names.index("Keys League")):
            await pilot.press("down")
        await pilot.press("r")
        await pilot.press("end", "ctrl+u")
        await _dialog(pilot, ["Keys League 2027"])
        assert "Keys League 2027" in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        assert _name(app) == "SeasonGroupScreen"
        await pilot.press("a")
        await _dialog(pilot, ["2026-11-20", "2027-03-01"])  # only 19 days ahead
        assert "season.lead" in screen_text(app)
        await pilot.press("escape", "y")  # typed work: leaving asks
        await pilot.press("a")
        await _dialog(pilot, ["2027-01-01", "2027-05-31"])
        await pilot.press("a")
        await _dialog(pilot, ["2027-04-01", "2027-09-30"])  # overlaps the first
        assert "season.no-overlap" in screen_text(app)
        await pilot.press("escape", "y")  # typed work: leaving asks
        await pilot.press("a")
        await _dialog(pilot, ["2027-08-01", "2028-05-31"])
        text = screen_text(app)
        assert "2027-01-01" in text and "2027-08-01" in text
        await pilot.press("ctrl+home", "x")  # the first season is not the last one
        await pilot.press("y")
        await _settle(pilot)
        assert "season.last-only" in screen_text(app)
        await pilot.press("ctrl+home", "e")  # edit the first season's end (a future date)
        await pilot.press("tab", "end", "ctrl+u")
        await _dialog(pilot, ["2027-06-15"])
        assert "2027-06-15" in screen_text(app)
        await pilot.press("ctrl+end", "x", "y")  # the last one may go
        await _settle(pilot)
        assert "2027-08-01" not in screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert _name(app) == "SeasonGroupsScreen"
        await pilot.press("d", "y")  # an upcoming season is active: refused
        await _settle(pilot)
        assert "season-group.active-seasons" in screen_text(app)
    group = next(g for g in state.all("season_groups") if g["name"] == "Keys League 2027")
    assert [(s["startDate"], s["endDate"]) for s in group["seasons"]] == [
        (
            int(datetime(2027, 1, 1, tzinfo=timezone.utc).timestamp()),
            int(datetime(2027, 6, 15, tzinfo=timezone.utc).timestamp()),
        )
    ]
    # Past dates cannot change: a running season of the generated data.
    from srm_tui.offers.rules import SEASON_FUTURE, season_edit

    running_group = next(
        g
        for g in state.all("season_groups")
        if any(s["startDate"] < T0 < s["endDate"] for s in g["seasons"])
    )
    season = next(s for s in running_group["seasons"] if s["startDate"] < T0 < s["endDate"])
    refused = season_edit(
        running_group, season["id"], season["startDate"] - DAY, season["endDate"], T0
    )
    assert refused is not None and refused[0] is SEASON_FUTURE


async def test_an_edit_the_api_cannot_take_says_offline_on_the_status_line(synced):
    """The API was reached before, then is gone: the edit is kept as a draft and the status
    line says offline, not the "online" of the last contact."""
    from tests.helpers import free_port

    running, state, db, cache = synced
    offer_id = next(o["id"] for o in state.all("offers") if o["id"][0] == "A")
    app = _app(db, f"http://127.0.0.1:{free_port()}/3.1")
    async with app.run_test(size=(120, 40)) as pilot:
        app.online = True  # as after an earlier answer
        app.refresh_status()
        assert "online" in app.status_text
        await _catalogue(pilot)
        await _open_offer(pilot, offer_id)
        await pilot.press("e")
        await pilot.pause()
        await _fill(pilot, {"title": "Kept while away"})
        await pilot.press("ctrl+s")
        await _settle(pilot, 0.5)
        await app.workers.wait_for_complete()
        await _settle(pilot)
        assert "kept as draft" in screen_text(app) or "draft #" in screen_text(app)
        assert "offline" in app.status_text and "online" not in app.status_text


async def test_draft_offline_then_412_merge_keeps_both(synced):
    running, state, db, cache = synced
    offer_id = next(o["id"] for o in state.all("offers") if o["id"][0] == "A")
    before = _export_offer(running, offer_id)
    # Offline: the edit is kept as a draft, based on the cached version.
    app = _app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await _catalogue(pilot)
        await _open_offer(pilot, offer_id)
        await pilot.press("e")
        await pilot.pause()
        await _fill(pilot, {"title": "Mine: offline title", "description": "mine too"})
        await pilot.press("ctrl+s")
        await _settle(pilot)
        assert _name(app) == "OfferScreen"
        assert "draft #" in screen_text(app)
    assert _export_offer(running, offer_id)["title"] == before["title"]
    # Meanwhile someone changes the offer on the server.
    with ApiClient(running.url, "sandbox-key") as client:
        client.update_offer(offer_id, {"title": "Theirs: server title", "tags": ["changed"]}, None)
    theirs = _export_offer(running, offer_id)
    assert theirs["version"] == before["version"] + 1
    app = _app(db, running.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await _catalogue(pilot)
        assert "✎draft" in screen_text(app)
        await pilot.press("D")
        await pilot.pause()
        assert _name(app) == "DraftsScreen"
        await pilot.press("p")
        await _settle(pilot)
        assert "CONFLICT" in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        assert _name(app) == "MergeScreen"
        text = screen_text(app)
        assert "Theirs: server title" in text and "Mine: offline title" in text
        assert f"version {before['version']}" in text
        await pilot.press("escape")  # leave: nothing is lost
        await pilot.pause()
    conn = cache.conn()
    row = conn.execute("SELECT status, changes, server FROM offer_drafts").fetchone()
    assert row["status"] == "conflict"
    assert "Mine: offline title" in row["changes"] and "Theirs: server title" in row["server"]
    cached_title = decode_raw(
        conn.execute("SELECT raw FROM offers WHERE id = ?", (offer_id,)).fetchone()[0]
    )["title"]
    assert cached_title == "Theirs: server title"  # the cache follows the server meanwhile
    assert _export_offer(running, offer_id)["title"] == "Theirs: server title"
    # The agent takes theirs for the title and mine for the description.
    app = _app(db, running.url)
    async with app.run_test(size=(120, 40)) as pilot:
        await _catalogue(pilot)
        await pilot.press("D", "enter")
        await pilot.pause()
        table = app.screen.query_one("DataTable")
        fields = [str(table.get_row_at(i)[0]) for i in range(table.row_count)]
        assert set(fields) == {"title", "description"}
        assert "Draft (mine)" in screen_text(app)  # every column within 120 cells
        await pilot.press("ctrl+home")
        for _ in range(fields.index("title")):
            await pilot.press("down")
        await pilot.press("t")
        await pilot.pause()
        assert "1 field from the draft, 1 from the server" in screen_text(app)
        # The Take column says which side each field takes (it showed empty: read as markup).
        takes = {str(table.get_row_at(i)[0]): str(table.get_row_at(i)[-1]) for i in range(2)}
        assert takes == {"title": "[theirs]", "description": "[mine]"}
        assert "[theirs]" in screen_text(app) and "[mine]" in screen_text(app)
        await pilot.press("ctrl+s")
        await _settle(pilot)
    after = _export_offer(running, offer_id)
    assert after["title"] == "Theirs: server title" and after["description"] == "mine too"
    assert after["tags"] == ["changed"] and after["version"] == theirs["version"] + 1
    assert not conn.execute("SELECT count(*) FROM offer_drafts").fetchone()[0]


async def test_coupon_lookup_and_apply_to_a_subscription(synced):
    running, state, db, cache = synced
    app = _app(db, running.url)
    sub = next(
        s
        for s in state.all("subscriptions")
        if s["status"] == "active"
        and s["offerId"][0] == "S"
        and not s["couponCode"]
        and not s["isExternallyManaged"]
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await _catalogue(pilot)
        await pilot.press("C")
        await pilot.pause()
        await _type(pilot, "comeback50")
        await pilot.press("enter")
        await _settle(pilot)
        text = screen_text(app)
        assert "Win-back" in text and "50 % off" in text and "Offer types" in text
        await pilot.press("escape")
        await pilot.press("f2")
        app.open_customer(sub["customerId"])
        await _settle(pilot)
        await pilot.press("2")
        await pilot.pause()
        table = app.screen.query_one("#access-table")
        keys = [str(k.value) for k in table.rows]
        while app.focused is not table:  # an action acts on the focused table's row
            await pilot.press("tab")
        await pilot.press("ctrl+home")
        for _ in range(keys.index(f"S{sub['subscriptionId']}")):
            await pilot.press("down")
        await pilot.press("C")
        await pilot.pause()
        assert _name(app) == "ActionScreen"
        await _type(pilot, "SUMMER15")  # an expired campaign for passes
        await pilot.pause(0.25)
        assert "coupon.campaign-inactive" in screen_text(app)
        await pilot.press("ctrl+u")
        await _type(pilot, "COMEBACK50")
        await pilot.pause(0.25)
        assert "50 % off" in screen_text(app)
        await pilot.press("ctrl+s")
        await _settle(pilot)
        assert _name(app) == "CustomerScreen"
    applied = state.get("subscriptions", sub["subscriptionId"])
    assert applied["couponCode"] == "COMEBACK50"
    row = (
        cache.conn()
        .execute("SELECT coupon_code FROM subscriptions WHERE id = ?", (sub["subscriptionId"],))
        .fetchone()
    )
    assert row[0] == "COMEBACK50"


async def test_holders_list_and_segment_file(synced, tmp_path):
    running, state, db, cache = synced
    import json

    from srm_tui.segments.engine import members
    from srm_tui.segments.model import load
    from srm_tui.storage import queries

    counts = queries.offer_holders(cache.conn(), T0)
    offer_id = max((k for k in counts if k[0] == "S"), key=lambda k: counts[k])
    app = _app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await _catalogue(pilot)
        await _open_offer(pilot, offer_id)
        await pilot.press("h")
        await _settle(pilot)
        assert _name(app) == "HoldersScreen"
        assert f"holders · {counts[offer_id]}" in screen_text(app)
        await pilot.press("w")
        await pilot.pause()
        path = app.clipboard
    ids = queries.offer_holder_ids(cache.conn(), offer_id, T0)
    assert len(ids) == counts[offer_id]
    segment = load(path)
    assert json.loads(open(path).read())["selector"] == "any"
    assert members(cache.conn(), segment, T0) == ids


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_holders_headings_name_the_columns_shown(synced, size):
    """The holders table fits its columns to its width (some give way at 80 columns): the
    headings above it are written again then, so each names the column under it."""
    from srm_tui.storage import queries
    from srm_tui.widgets.customer_table import CustomerTable

    running, state, db, cache = synced
    counts = queries.offer_holders(cache.conn(), T0)
    offer_id = max((k for k in counts if k[0] == "S"), key=lambda k: counts[k])
    app = _app(db)
    async with app.run_test(size=size) as pilot:
        await _catalogue(pilot)
        await _open_offer(pilot, offer_id)
        await pilot.press("h")
        await _settle(pilot, 0.3)
        assert _name(app) == "HoldersScreen"
        table = app.screen.query_one(CustomerTable)
        shown = str(app.screen.query_one("#columns").render())
        assert shown == table.header_text()
        titles = [c.title for c in table.shown_columns()]
        assert shown.split() == " ".join(titles).split()


def test_forms_round_trip_every_generated_offer(synced):
    """Every generated offer reads back into the editor and builds no change."""
    running, state, db, cache = synced
    from srm_tui.offers.service import OfferService

    settings = load_settings(db=str(db), now=NOW, agent="anna")
    service = OfferService(cache, settings)
    groups = service.groups()
    for offer in service.offers():
        built = forms.build_offer(
            offer["id"][0],
            forms.offer_values(offer, groups),
            forms.Catalog(T0, groups, True),
            offer,
        )
        assert built.body == {} and not [
            p for p in built.problems if p.field not in ("duration", "starts")
        ], (offer["id"], built)

"""The segment screens, driven by keys through the real app on a seeded cache: build a nested
segment, watch the count follow, save, edit, diff, export; the text form; inline faults;
the overview's bars; static segments from a customer's screen; the schedule warning."""

from __future__ import annotations

import csv
import json

import pytest

from srm_tui.app import SrmApp
from srm_tui.config import load_settings
from srm_tui.domain import rates
from srm_tui.domain.money import money
from srm_tui.segments import count, store
from srm_tui.segments.model import All, AnyOf, Condition, Not, Segment
from srm_tui.storage.cache import Cache
from tests.conftest import AS_OF
from tests.helpers import screen_text

NOW = "2026-11-01T00:10:00Z"
NOW_TS = int(AS_OF.timestamp()) + 600
GRACE = Condition("subscription.state", "in", ("grace", "cancelled"))
PL_DE = Condition("customer.country", "in", ("PL", "DE"))
NOT_CHEAP = Not(Condition("customer.mrr", "lt", 20))
# The builder always names the currency of a money condition: the reporting one by default.
BUILT_NOT_CHEAP = Not(Condition("customer.mrr", "lt", 20, "EUR"))


@pytest.fixture
def db(seeded_cache):
    return seeded_cache(300, 2)


def _app(db, **settings):
    values = dict(db=str(db), now=NOW, agent="anna") | settings
    return SrmApp(load_settings(**values), Cache(db), sync_on_start=False)


async def settle(pilot, rounds: int = 2) -> None:
    for _ in range(rounds):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def truth(db, segment: Segment) -> int:
    cache = Cache(db)
    try:
        return count(cache.conn(), segment, NOW_TS)
    finally:
        cache.close()


async def add_condition(pilot, search: str, downs: int, value: str | None) -> None:
    """a, search the catalog, pick the first match, move to the operator, type the value."""
    await pilot.press("a", *search, "enter", *(["down"] * downs), "enter")
    if value is not None:
        await pilot.press(*value, "enter")
    await settle(pilot)


async def test_build_nested_by_keys_count_save_edit_diff_export(db, tmp_path):
    app = _app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f3")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        builder = app.screen
        everyone = builder.count_result.customers
        assert everyone == 300

        await add_condition(pilot, "state", 2, "grace, cancelled")  # in: one of a list
        one = All((GRACE,))
        assert builder.count_result.customers == truth(db, Segment(where=one)) < everyone
        await pilot.press("o")  # an "any of" group after the condition
        await add_condition(pilot, "country", 2, "pl, de")  # in
        await add_condition(pilot, "mrr", 4, "20")  # lt
        await pilot.press("n")  # not
        await settle(pilot)
        nested = All((GRACE, AnyOf((PL_DE, BUILT_NOT_CHEAP))))
        assert builder.where == nested
        assert builder.count_result.customers == truth(db, Segment(where=nested))
        assert builder.query_one("#text").value == (
            "subscription.state in (grace, cancelled) and (customer.country in (PL, DE) or "
            "not customer.mrr < 20 in EUR)"
        )
        shown = screen_text(app)
        assert f"{builder.count_result.customers} customers" in shown
        assert "cache synced 10 min ago" in shown and "ms" in shown

        await pilot.press("ctrl+s")  # no name yet: said inline, nothing saved
        await settle(pilot)
        assert "⚠ name: required" in screen_text(app)
        assert app.focused.id == "name"
        await pilot.press(*"Grace, PL or DE", "ctrl+s")
        await settle(pilot)
        assert "Save Grace, PL or DE as version 1?" in screen_text(app)
        await pilot.press("y")
        await settle(pilot)
        conn = app.cache.conn()
        saved = store.get_saved(conn, "grace, pl or de")
        assert saved.version == 1 and saved.segment.where == nested

        # Edit: widen the country list; the count follows, the save shows the diff.
        before = builder.count_result.customers
        builder.query_one("#tree").focus()
        await pilot.press("home", "j", "j", "j", "e")  # the country row
        await pilot.pause()
        value = app.screen.query_one("#value")
        value.value = ""
        await pilot.press(*"pl,de,fr,us", "enter")
        await settle(pilot)
        widened = All(
            (
                GRACE,
                AnyOf(
                    (Condition("customer.country", "in", ("PL", "DE", "FR", "US")), BUILT_NOT_CHEAP)
                ),
            )
        )
        assert builder.where == widened
        after = builder.count_result.customers
        assert after == truth(db, Segment(where=widened)) > before
        assert "unsaved changes" in screen_text(app)
        await pilot.press("ctrl+s")
        await settle(pilot)
        dialog = screen_text(app)
        assert "as version 2?" in dialog
        assert "-     customer.country in (PL, DE)" in dialog
        assert "+     customer.country in (PL, DE, FR, US)" in dialog
        assert f"+{after - before} gained, −0 lost since version 1" in dialog
        await pilot.press("y")
        await settle(pilot)
        assert store.get_saved(conn, saved.id).version == 2

        # Versions: the newest with its definition and member diff.
        await pilot.press("ctrl+g")
        await settle(pilot)
        history = screen_text(app)
        assert "v2 against version 1" in history and f"{after - before} customers gained" in history
        await pilot.press("escape")
        await settle(pilot)

        # Export now, with chosen columns; the definition goes beside the file.
        await pilot.press("ctrl+t")
        await settle(pilot)
        dialog = app.screen
        dialog.query_one("#columns").value = "id, email, customer.status, subscription.state"
        dialog.query_one("#directory").value = str(tmp_path / "out")
        await pilot.press("ctrl+s")
        await settle(pilot)
        files = list((tmp_path / "out").glob("*.csv"))
        assert len(files) == 1
        rows = list(csv.DictReader(files[0].open(encoding="utf-8")))
        assert len(rows) == after
        assert {r["subscription.state"] for r in rows} <= {"grace", "cancelled"}
        about = json.loads(files[0].with_name(files[0].name + ".segment.json").read_text())
        assert about["segment_version"] == 2 and about["rows"] == after
        assert about["segment"]["where"]["all"][1]["any"][0]["value"] == ["PL", "DE", "FR", "US"]


async def test_text_form_round_trips_and_faults_are_named_inline(db):
    app = _app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f3", "n")
        await settle(pilot)
        builder = app.screen
        await pilot.press("ctrl+l")
        text = (
            "subscription.state = grace and (customer.country in (PL, DE) or not customer.mrr < 20)"
        )
        builder.query_one("#text").value = text[:-4]
        await pilot.press("end", *text[-4:], "enter")
        await settle(pilot)
        expected = All((Condition("subscription.state", "eq", "grace"), AnyOf((PL_DE, NOT_CHEAP))))
        assert builder.where == expected
        assert builder.count_result.customers == truth(db, Segment(where=expected))
        rows = builder.query_one("#tree").rows
        assert [r.depth for r in rows] == [0, 1, 1, 2, 2]

        box = builder.query_one("#text")
        assert app.focused is builder.query_one("#tree")  # enter went back to the tree
        await pilot.press("ctrl+l")
        box.value = "customer.country in (PL, DE"
        await pilot.press("enter")
        await settle(pilot)
        assert "⚠ text, column" in screen_text(app) and builder.where == expected
        box.value = "customer.country = pl"
        await pilot.press("enter")
        await settle(pilot)
        shown = screen_text(app)
        assert 'where.all[0].value: "pl" is not an ISO code' in shown, shown
        assert builder.where == expected  # a bad text changes nothing


async def test_condition_values_are_checked_as_typed(db):
    app = _app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f3", "n")
        await settle(pilot)
        await pilot.press("a", *"country", "enter", "down", "down", "enter")
        await settle(pilot)
        editor = app.screen
        await pilot.press(*"PL, DXX")
        assert 'value[1]: "DXX" is not an ISO code' in str(editor.query_one("#verdict").render())
        await pilot.press("enter")  # refused: the dialog stays
        assert app.screen is editor
        assert "in the cache: US" in str(editor.query_one("#hint").render())
        await pilot.press("backspace", "backspace", "backspace", *"DE", "enter")
        await settle(pilot)
        assert app.screen is not editor
        assert app.screen.where == All((PL_DE,))


async def test_a_stale_count_is_never_shown(db):
    app = _app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f3", "n")
        await settle(pilot)
        builder = app.screen
        builder._apply(All((GRACE,)))
        await settle(pilot)
        shown = builder.count_result
        from srm_tui.segments.engine import CountResult

        builder._counted(Segment(where=All((PL_DE,))), CountResult(12345, 1.0))
        assert builder.count_result is shown and "12,345" not in screen_text(app)


async def test_explain_and_open_a_member(db):
    app = _app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f3", "n")
        await settle(pilot)
        builder = app.screen
        builder._apply(All((GRACE, PL_DE)))
        await settle(pilot)
        await pilot.pause(0.3)
        await settle(pilot)
        members = builder.query_one("#members")
        first = members.selected()["id"]
        explained = str(builder.query_one("#explain").render())
        assert f"customer {first}: IN the segment" in explained
        assert "PASS    customer.country in (PL, DE)" in explained
        members.focus()
        await pilot.press("enter")
        await settle(pilot)
        assert type(app.screen).__name__ == "CustomerScreen" and app.screen.customer_id == first


async def test_overview_bar_opens_the_builder_narrowed(db):
    app = _app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f3")
        await settle(pilot)
        await pilot.press("O")
        await settle(pilot)
        overview = app.screen
        assert overview.result.customers == 300
        assert "MRR" in screen_text(app) and "Churn (30 days)" in screen_text(app)
        # Totals in the reporting currency with the rates' date; each currency's own beside.
        reported = overview.result.reported(rates.shipped(), "EUR")
        head = next(ln for ln in screen_text(app).splitlines() if "rates of" in ln)
        assert f"MRR {money(reported.mrr, 'EUR')} · CLV" in head and "(rates of 2026-02-06)" in head
        assert "MRR by currency" in screen_text(app)
        await pilot.press("tab", "tab")  # status -> stability -> channel
        chart = app.focused
        assert chart.key == "channel"
        await pilot.press("j")
        bar = chart.selected()
        await pilot.press("enter")
        await settle(pilot)
        builder = app.screen
        assert builder.where == All((bar.node,))
        assert builder.count_result.customers == bar.count


async def test_static_segment_from_the_customer_screen(db):
    app = _app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("j", "enter")  # the second customer of the list
        await settle(pilot)
        customer_id = app.screen.customer_id
        await pilot.press("m")
        await settle(pilot)
        await pilot.press(*"Call back", "enter")  # a new static segment, ticked
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        conn = app.cache.conn()
        saved = store.get_saved(conn, "call back")
        assert saved.static and [
            s.name for s, on in store.static_memberships(conn, customer_id) if on
        ] == ["Call back"]
        assert store.version_change(conn, saved.id, saved.version).gained_ids == [customer_id]

        await pilot.press("escape", "f3")
        await settle(pilot)
        await pilot.press("enter")  # the only segment: the static one
        await settle(pilot)
        assert "static" in screen_text(app) and "1 customer ·" in screen_text(app)
        await pilot.press("x")
        await settle(pilot)
        assert store.get_saved(conn, saved.id).members == 0


async def test_editing_a_scheduled_segment_warns_first(db, tmp_path):
    from srm_tui.segments import schedules as S

    cache = Cache(db)
    store.save(cache.conn(), Segment(where=All((GRACE,)), name="Nightly"), now=NOW_TS, agent="anna")
    S.add(
        cache.conn(),
        "Nightly",
        fmt="csv",
        columns=["id"],
        directory=str(tmp_path),
        at="02:00",
        now=NOW_TS,
        agent="anna",
    )
    cache.close()
    app = _app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f3")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert "⚠ Used by schedule 1 (csv at 02:00)" in screen_text(app)
        app.screen._apply(All((GRACE, PL_DE)))
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "⚠ Schedule 1 (csv) exports this segment" in screen_text(app)


async def test_viewer_cannot_save(db):
    app = _app(db, role="viewer")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f3", "n")
        await settle(pilot)
        app.screen.query_one("#name").value = "Nope"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert store.list_saved(app.cache.conn()) == []


async def test_builder_keeps_relative_dates_relative_and_names_the_reporting_currency(db):
    app = _app(db, currency="USD")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f3", "n")
        await settle(pilot)
        builder = app.screen
        await add_condition(pilot, "registered", 1, "2 weeks ago")  # after
        await add_condition(pilot, "lifetime revenue", 2, "100")  # gt
        assert builder.where == All(
            (
                Condition("customer.registered_at", "after", "-2w"),
                Condition("customer.lifetime_revenue", "gt", 100, "USD"),
            )
        )
        assert builder.count_result.customers == truth(db, Segment(where=builder.where))
        await pilot.press("ctrl+s", *"recent", "ctrl+s")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        saved = store.get_saved(app.cache.conn(), "recent")
        where = saved.segment.to_dict()["where"]
        # Saved as typed: relative, resolved again at every evaluation.
        assert where["all"][0]["value"] == "-2w"
        assert where["all"][1] == {
            "attr": "customer.lifetime_revenue",
            "op": "gt",
            "value": 100,
            "currency": "USD",
        }

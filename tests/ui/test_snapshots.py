"""SVG snapshots of the console at 80x24 and 120x40, with fixed data and a fixed clock."""

from __future__ import annotations

import pytest

from srm_tui.app import SrmApp
from srm_tui.config import load_settings
from srm_tui.storage.cache import Cache
from tests.conftest import AS_OF

SIZES = [(80, 24), (120, 40)]


@pytest.fixture(scope="module")
def snapshot_db(seeded_cache):
    return seeded_cache(300, 2)


@pytest.fixture(autouse=True)
def _no_cursor_blink(monkeypatch):
    """A text cursor blinks every half second: a picture taken a moment later under load
    would differ. Here it stays lit wherever a field has the focus."""
    from textual.widgets import Input, TextArea

    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)
    monkeypatch.setattr(TextArea, "_toggle_cursor_blink_visible", lambda self: None)


def _app(db):
    settings = load_settings(
        db=str(db), now="2026-11-01T00:10:00Z", agent="anna", theme="textual-dark"
    )
    return SrmApp(settings, Cache(db), sync_on_start=False)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_customer_list(snap_compare, snapshot_db, size):
    assert snap_compare(_app(snapshot_db), terminal_size=size, press=["j", "j"])


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_search_results(snap_compare, snapshot_db, size):
    async def type_query(pilot):
        await pilot.press("slash", *"anna")
        await pilot.press("down")  # runs the search now and walks into the results
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        screen = pilot.app.screen
        screen.search_ms = 1.0  # the measured time varies run to run; the layout must not
        screen._update_headings()
        await pilot.pause()

    assert snap_compare(_app(snapshot_db), terminal_size=size, run_before=type_query)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_help(snap_compare, snapshot_db, size):
    assert snap_compare(_app(snapshot_db), terminal_size=size, press=["question_mark"])


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("tab", ["1", "2", "3"])
def test_customer_screen(snap_compare, snapshot_db, size, tab):
    async def open_customer(pilot):
        await pilot.press("j", "j", "enter")
        await pilot.pause()
        await pilot.press(tab)
        await pilot.pause()

    assert snap_compare(_app(snapshot_db), terminal_size=size, run_before=open_customer)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("tab", ["4", "5", "6"])
def test_customer_screen_more_tabs(snap_compare, snapshot_db, size, tab):
    """Emails (both statuses, a preview), notes (author, text, earlier versions), history."""

    async def open_customer(pilot):
        # A customer with notes edited before, emails of both statuses and payments.
        await pilot.press("slash", *"649829989", "enter")  # one Enter opens the result
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press(tab)
        await pilot.pause()

    assert snap_compare(_app(snapshot_db), terminal_size=size, run_before=open_customer)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_action_dialog(snap_compare, snapshot_db, size):
    """Cancel subscription: the reason typed, the preview of what changes, the verdict."""

    async def cancel(pilot):
        await pilot.press("j", "j", "enter")
        await pilot.pause()
        await pilot.press("2", "tab", "c", *"Moving abroad")
        await pilot.pause(0.4)  # the preview follows the typing after a short delay

    assert snap_compare(_app(snapshot_db), terminal_size=size, run_before=cancel)


@pytest.fixture(scope="module")
def conflict_db(seeded_cache):
    """A cache with one queued edit that met a changed record at the API: both versions."""
    from srm_tui.actions import ActionService, outbox

    db = seeded_cache(50, 2)
    cache = Cache(db)
    customer = (
        cache.conn()
        .execute("SELECT id, first_name FROM customers WHERE email IS NOT NULL ORDER BY id LIMIT 1")
        .fetchone()
    )
    settings = load_settings(db=str(db), now="2026-11-01T00:10:00Z", agent="anna")
    service = ActionService(cache, settings)
    queued = service.run("edit", customer_id=customer["id"], first_name="Queued")
    with cache.transaction() as tx:  # what a push records when the API's value moved on
        outbox.attempted(tx, queued.outbox_id, None)
        outbox.settle(
            tx,
            queued.outbox_id,
            outbox.CONFLICT,
            now=settings.now_ts(),
            error="the record changed at the API since the action was queued",
            response={"server": [{"firstName": "Changed-at-API"}]},
        )
    cache.close()
    return db


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_conflict_view(snap_compare, conflict_db, size):
    """Sync & outbox › the conflicting entry: what the agent wanted, the API's version, the
    choices."""
    assert snap_compare(_app(conflict_db), terminal_size=size, press=["f5", "enter"])


# -- offers (catalogue, editor, localization grid) ------------------------------------------


async def _first_subscription(pilot):
    await pilot.press("f4")
    await pilot.app.workers.wait_for_complete()
    await pilot.press("slash", *"type:sub state:active tag:premium", "enter")
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_offers_catalogue(snap_compare, snapshot_db, size):
    """Offers › catalogue: type, state, title, price, period, localizations, holders."""

    async def catalogue(pilot):
        await pilot.press("f4")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(_app(snapshot_db), terminal_size=size, run_before=catalogue)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_offer_editor(snap_compare, snapshot_db, size):
    """Offers › a subscription › edit: its fields, a typo in the trial caught by the rules."""

    async def edit(pilot):
        await _first_subscription(pilot)
        await pilot.press("enter")
        await pilot.app.workers.wait_for_complete()
        await pilot.press("e")
        await pilot.pause()
        for _ in range(4):  # past title, description, price and currency: the trial
            await pilot.press("tab")
        await pilot.press("end", "ctrl+u", *"2 days")
        await pilot.pause(0.4)

    assert snap_compare(_app(snapshot_db), terminal_size=size, run_before=edit)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_offer_localizations(snap_compare, snapshot_db, size):
    """Offers › one offer: every country version in one grid (country, title, price, state)."""

    async def grid(pilot):
        await _first_subscription(pilot)
        await pilot.press("enter")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()

    assert snap_compare(_app(snapshot_db), terminal_size=size, run_before=grid)


# -- segments (builder, overview) --------------------------------------------------------------


@pytest.fixture(scope="module")
def segment_db(snapshot_db, tmp_path_factory):
    """The snapshot cache with one saved segment: nested groups, a negation."""
    import shutil

    from srm_tui.segments import store
    from srm_tui.segments.model import All, AnyOf, Condition, Not, Segment

    db = tmp_path_factory.mktemp("segsnap") / "c.db"
    shutil.copy(snapshot_db, db)
    cache = Cache(db)
    where = All(
        (
            Condition("subscription.state", "in", ("grace", "cancelled")),
            AnyOf(
                (
                    Condition("customer.country", "in", ("PL", "DE")),
                    Not(Condition("customer.mrr", "lt", 20)),
                )
            ),
        )
    )
    store.save(
        cache.conn(),
        Segment(where=where, name="Grace, PL or DE", tags=("dunning",)),
        now=int(AS_OF.timestamp()),
        agent="anna",
    )
    cache.close()
    return db


async def _settled(pilot) -> None:
    for _ in range(3):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_segment_builder(snap_compare, segment_db, size):
    """Segments › a saved segment: the tree, its text form, the count, members, explain."""

    async def open_builder(pilot):
        await pilot.press("f3")
        await _settled(pilot)
        await pilot.press("enter")
        await _settled(pilot)
        await pilot.pause(0.3)  # explain follows the highlighted member after a short delay
        await _settled(pilot)
        screen = pilot.app.screen
        screen.count_ms = 1.0  # the measured time varies run to run; the layout must not
        screen._show_count()
        await pilot.pause()

    assert snap_compare(_app(segment_db), terminal_size=size, run_before=open_builder)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_segment_overview(snap_compare, segment_db, size):
    """Segments › overview of a saved segment: MRR, CLV, churn, and its composition."""

    async def open_overview(pilot):
        await pilot.press("f3")
        await _settled(pilot)
        await pilot.press("o")
        await _settled(pilot)
        screen = pilot.app.screen
        screen.result.elapsed_ms = 1.0
        screen._crumbs()
        await pilot.pause()

    assert snap_compare(_app(segment_db), terminal_size=size, run_before=open_overview)

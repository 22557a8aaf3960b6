"""The retention playbook's editor, driven by keys through the real app on a seeded cache:
reach it from Segments (P) and the palette, add a rule with a saved segment and two offers,
reorder, save a new version; a bad number said beside its field with nothing kept or saved;
leaving with changes asks; a save over someone else's version offers to reload; the viewer
reads only; a playbook the cache cannot read is said, and the console stays."""

from __future__ import annotations

import pytest

from srm_tui.config import load_settings
from srm_tui.playbook.model import Offer, Playbook, Rule
from srm_tui.screens.playbook_offers import PARAMS
from srm_tui.segments.model import All, Condition, Segment
from srm_tui.segments.service import SegmentStore
from srm_tui.session import Session
from srm_tui.storage.cache import Cache
from tests.helpers import screen_text
from tests.ui_keys import NOW, make_app, name, settle, type_text, until
from tests.ui_keys import footer as footer_row

EVERYONE = Rule("Everyone else", {"where": {"all": []}}, (Offer("let-go"),))


def other_agent(db, cache: Cache) -> Session:
    """Another agent's session over the same cache file (bob, the agent role)."""
    return Session(load_settings(db=str(db), agent="bob", role="agent", now=NOW), cache)


def _setup(db) -> str:
    """Two saved segments and a first playbook version (one catch-all rule), as another
    agent left them; returns a campaign code the cache holds."""
    cache = Cache(db)
    try:
        segments = SegmentStore(cache)
        grace = All((Condition("subscription.state", "eq", "grace"),))
        segments.save(Segment(name="In grace", where=grace), now=1, agent="bob")
        rich = All((Condition("customer.mrr", "gt", 20, "EUR"),))
        segments.save(Segment(name="High value", where=rich), now=1, agent="bob")
        with other_agent(db, cache) as session:
            session.playbook.save(Playbook(0, (EVERYONE,)), base_version=0)
        return cache.conn().execute("SELECT code FROM campaign_codes ORDER BY code").fetchone()[0]
    finally:
        cache.close()


@pytest.fixture
def db(seeded_cache):
    return seeded_cache(300, 2)


def current(app) -> Playbook:
    return app.session.playbook.current()


async def open_playbook(pilot) -> None:
    await pilot.press("f3")
    await settle(pilot)
    await pilot.press("P")
    await until(pilot, lambda: name(pilot.app) == "PlaybookScreen", "the playbook opened")
    await until(pilot, lambda: pilot.app.screen.base is not None, "the playbook was read")


def line_with(app, needle: str) -> str:
    """The screen line holding ``needle`` (what is beside it on the screen)."""
    return next((ln for ln in screen_text(app).splitlines() if needle in ln), "")


def under(app, needle: str) -> str:
    """The screen line holding ``needle`` and the line under it (a field's fault)."""
    lines = screen_text(app).splitlines()
    at = next((i for i, ln in enumerate(lines) if needle in ln), None)
    return "" if at is None else "\n".join(lines[at : at + 2])


async def test_add_a_rule_with_a_saved_segment_and_two_offers_reorder_and_save(db):
    code = _setup(db)
    app = make_app(db)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_playbook(pilot)
        shown = screen_text(app)
        assert "version 1 · saved" in shown and "by bob" in shown
        assert "Everyone else" in shown and "inline: 0 conditions" in shown
        assert "let them go" in shown

        await pilot.press("a")
        await until(pilot, lambda: name(app) == "RuleScreen", "the rule editor opened")
        await type_text(pilot, "Grace, keep them")
        await pilot.press("tab")  # the saved segments: the first (High value) is chosen
        await pilot.press("down")  # In grace
        await pilot.press("tab", "tab")  # past the JSON box (read only here), the offers
        await pilot.press("a")  # a coupon, its code next
        await pilot.press("tab")
        await type_text(pilot, code)
        await pilot.press("enter")  # back to the offers
        await pilot.press("a", "right")  # a pause
        await pilot.press("tab")
        await type_text(pilot, "1")
        await pilot.press("enter")
        assert "(•) In grace" in screen_text(app)
        assert f"apply coupon {code}" in line_with(app, "1  ")
        await pilot.press("K")  # the pause first
        await pilot.pause()
        rows = screen_text(app)
        assert rows.index("pause 1 cycle") < rows.index(f"apply coupon {code}")
        await pilot.press("ctrl+s")  # keep the rule
        await until(pilot, lambda: name(app) == "PlaybookScreen", "back on the playbook")

        screen = app.screen
        assert [r.name for r in screen.rules] == ["Everyone else", "Grace, keep them"]
        assert "unsaved changes" in screen_text(app)
        assert current(app).version == 1  # nothing saved before ctrl+s
        await pilot.press("K")  # first match wins: the new rule goes before the catch-all
        await pilot.pause()
        assert [r.name for r in screen.rules] == ["Grace, keep them", "Everyone else"]
        await pilot.press("ctrl+s")
        await until(pilot, lambda: screen.base.version == 2, "the save")

        saved = current(app)
        assert saved.version == 2
        assert saved.rules == (
            Rule("Grace, keep them", "In grace", (Offer("pause", cycles=1), Offer("coupon", code))),
            EVERYONE,
        )
        assert app.session.playbook.versions()[0][2] == "anna"
        shown = screen_text(app)
        assert "version 2 · saved" in shown and "by anna" in shown
        assert "unsaved changes" not in shown


async def test_the_palette_opens_the_playbook_from_anywhere(db):
    _setup(db)
    app = make_app(db)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("ctrl+p")
        await type_text(pilot, "retention playbook")
        await pilot.press("enter")
        await until(pilot, lambda: name(app) == "PlaybookScreen", "the playbook opened")
        assert app.current_mode == "segments"
        await pilot.press("escape")  # untouched: back to the segments at once
        await until(pilot, lambda: name(app) == "SegmentsScreen", "back on the segments")


async def test_bad_days_and_inline_segment_said_in_place_and_nothing_is_saved(db):
    _setup(db)
    app = make_app(db)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_playbook(pilot)
        await pilot.press("a")
        await until(pilot, lambda: name(app) == "RuleScreen", "the rule editor opened")
        await type_text(pilot, "Long extension")
        await pilot.press("tab", "end")  # inline, the last choice
        await pilot.pause()
        await pilot.press("tab")
        await type_text(pilot, '{"where": {"attr": "subscription.state", "op": "bigger"}}')
        await pilot.pause()
        inline_fault = line_with(app, "✘ segment.where")
        assert "segment.where.op" in inline_fault, screen_text(app)
        await pilot.press("tab", "a", "right", "right", "right")  # extend
        await pilot.press("tab")
        await type_text(pilot, "5000")
        assert "✘ must be 1..3650" in under(app, "Days"), screen_text(app)
        assert "✘ extend 5000: must be 1..3650" in screen_text(app)  # the offer's row too

        await pilot.press("ctrl+s")  # not kept: said, the editor stays, nothing changes
        await pilot.pause()
        assert name(app) == "RuleScreen"
        assert "Not kept yet" in screen_text(app)
        assert app.focused.id == "inline"  # the first field at fault

        # The inline definition fixed, the days still wrong: still not kept.
        app.focused.load_text(
            '{"where": {"attr": "subscription.state", "op": "eq", "value": "grace"}}'
        )
        await pilot.pause()
        assert "✘ segment" not in screen_text(app)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert name(app) == "RuleScreen" and app.focused.id == "param"

        await pilot.press("escape")  # typed work: asks
        await until(pilot, lambda: name(app) == "ConfirmDialog", "asked before leaving")
        await pilot.press("y")
        await until(pilot, lambda: name(app) == "PlaybookScreen", "back on the playbook")
        assert [r.name for r in app.screen.rules] == ["Everyone else"]
        await pilot.press("ctrl+s")  # nothing to save
        await pilot.pause()
        assert current(app).version == 1
        assert app.session.playbook.versions()[0][0] == 1


async def test_leaving_with_changes_asks_first(db):
    _setup(db)
    app = make_app(db)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_playbook(pilot)
        # The rule editor: a name typed, esc asks; n goes back to it with the name kept.
        await pilot.press("e")
        await until(pilot, lambda: name(app) == "RuleScreen", "the rule editor opened")
        await pilot.press("end")  # the name was selected whole on focus
        await type_text(pilot, " (renamed)")
        await pilot.press("escape")
        await until(pilot, lambda: name(app) == "ConfirmDialog", "asked before leaving")
        await pilot.press("n")
        await until(pilot, lambda: name(app) == "RuleScreen", "back in the editor")
        assert app.screen.query_one("#name").value == "Everyone else (renamed)"
        await pilot.press("escape", "y")
        await until(pilot, lambda: name(app) == "PlaybookScreen", "back on the playbook")
        assert not app.screen.dirty

        # The playbook: a rule deleted (asked first), then esc asks before throwing it away.
        await pilot.press("d")
        await until(pilot, lambda: name(app) == "ConfirmScreen", "asked before deleting")
        await pilot.press("y")
        await until(pilot, lambda: name(app) == "PlaybookScreen", "back on the playbook")
        assert app.screen.rules == [] and app.screen.dirty
        await pilot.press("escape")
        await until(pilot, lambda: name(app) == "ConfirmDialog", "asked before leaving")
        assert "unsaved changes" in screen_text(app)
        await pilot.press("n")
        await until(pilot, lambda: name(app) == "PlaybookScreen", "stayed")
        await pilot.press("escape")
        await until(pilot, lambda: name(app) == "ConfirmDialog", "asked again")
        await pilot.press("y")
        await until(pilot, lambda: name(app) == "SegmentsScreen", "left")
        assert current(app).rules == (EVERYONE,)  # nothing saved


async def test_a_save_over_a_newer_version_is_refused_and_offers_to_reload(db):
    _setup(db)
    app = make_app(db)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_playbook(pilot)
        # Someone else saves version 2 while this screen holds version 1.
        theirs = Rule("Theirs", "High value", (Offer("extend", days=14),))
        cache = Cache(db)
        with other_agent(db, cache) as other:
            other.playbook.save(Playbook(1, (theirs, EVERYONE)), base_version=1)
        cache.close()
        await pilot.press("d", "y")
        await until(pilot, lambda: app.screen.dirty, "a rule deleted")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: name(app) == "ConfirmDialog", "the conflict said")
        shown = screen_text(app)
        assert "Not saved: bob saved version 2 at 2026-11-01 00:00 UTC" in shown
        assert "after the version 1 you opened" in shown and "y reloads version 2" in shown
        assert current(app).version == 2 and current(app).rules[0] == theirs  # not replaced
        await pilot.press("y")
        await until(
            pilot,
            lambda: name(app) == "PlaybookScreen" and getattr(app.screen.base, "version", 0) == 2,
            "their version reloaded",
        )
        assert [r.name for r in app.screen.rules] == ["Theirs", "Everyone else"]
        assert "by bob" in screen_text(app)


async def test_the_viewer_reads_the_playbook_only(db):
    _setup(db)
    app = make_app(db, role="viewer")
    async with app.run_test(size=(100, 30)) as pilot:
        await open_playbook(pilot)
        shown = screen_text(app)
        assert "Read only: the viewer role cannot change the playbook." in shown
        assert "Everyone else" in shown and "let them go" in shown
        footer = await footer_row(pilot)
        assert "Add rule" not in footer and "Save" not in footer and "Delete" not in footer
        for key in ("a", "e", "enter", "d", "K", "ctrl+s"):
            await pilot.press(key)
            await pilot.pause()
            assert name(app) == "PlaybookScreen", key
        assert any("viewer role is read only" in str(n.message) for n in app._notifications)
        assert current(app).version == 1 and current(app).rules == (EVERYONE,)


async def test_a_playbook_the_cache_cannot_read_is_said_and_the_console_stays(db):
    _setup(db)
    cache = Cache(db)
    cache.conn().execute(
        "INSERT INTO playbook_versions(version, body, saved_at, saved_by) VALUES (2, ?, 2, ?)",
        ('{"format": "not-a-playbook"}', "mallory"),
    )
    cache.conn().commit()
    cache.close()
    app = make_app(db)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f3")
        await settle(pilot)
        await pilot.press("P")
        await until(pilot, lambda: "Could not read the playbook" in screen_text(app), "said")
        assert "format" in screen_text(app)
        await pilot.press("a")  # nothing to edit from: said, nothing opens
        await pilot.pause()
        assert name(app) == "PlaybookScreen"
        await pilot.press("escape")
        await until(pilot, lambda: name(app) == "SegmentsScreen", "the console goes on")


async def test_help_lists_the_playbook_keys(db):
    _setup(db)
    app = make_app(db)
    async with app.run_test(size=(100, 40)) as pilot:
        await open_playbook(pilot)
        await pilot.press("question_mark")
        await until(pilot, lambda: name(app) == "HelpScreen", "help opened")
        box = app.screen.query_one("#help-filter")
        for needle, words in (
            ("playbook.", ("Retention playbook", "Add rule", "Move up", "playbook.save")),
            ("playbook_rule", ("A playbook rule", "Keep rule", "Add offer", "Pick offer")),
        ):
            await pilot.press("slash")
            box.value = ""
            await type_text(pilot, needle)
            shown = screen_text(app)
            for word in words:
                assert word in shown, (needle, word)


async def test_a_switch_picks_a_cached_offer_and_state_reads_without_colour(db, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    _setup(db)
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_playbook(pilot)
        await pilot.press("e")  # Everyone else: inline, let them go
        await until(pilot, lambda: name(app) == "RuleScreen", "the rule editor opened")
        shown = screen_text(app)
        assert "(•) inline definition" in shown and "( ) In grace" in shown
        assert "›1  let them go" in shown
        await pilot.press("tab", "tab", "tab")  # segments, the inline text, the offers
        assert app.focused.id == "offers"
        await pilot.press("a", "right", "right")  # a switch, its offer not chosen yet
        await pilot.pause()
        assert "✘ switch" in screen_text(app) and "›2" in screen_text(app)
        await pilot.press("ctrl+o")
        await until(pilot, lambda: name(app) == "OfferPickScreen", "the cached offers")
        first = app.screen.offers[0][0]
        await type_text(pilot, first)
        await pilot.press("enter")
        await until(pilot, lambda: name(app) == "RuleScreen", "picked")
        assert app.screen.query_one("#param").value == first
        assert f"›2  switch to offer {first}" in screen_text(app)
        assert "✘" not in screen_text(app)
        await pilot.press("shift+tab", "a")  # in the list: a third offer, x takes it out
        await pilot.pause()
        assert "›3" in screen_text(app) and len(app.screen.drafts) == 3
        await pilot.press("x")  # the focus went to the new offer's kind: x does nothing there
        await pilot.pause()
        assert len(app.screen.drafts) == 3
        await pilot.press("shift+tab", "x")
        await pilot.pause()
        assert len(app.screen.drafts) == 2 and "›2" in screen_text(app)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: name(app) == "PlaybookScreen", "kept")
        assert app.screen.rules[0].offers == (Offer("let-go"), Offer("switch", offer=first))
        assert "unsaved changes" in screen_text(app)


async def test_a_coupon_no_cached_campaign_holds_is_said_and_not_saved(db):
    _setup(db)
    app = make_app(db)
    async with app.run_test(size=(100, 30)) as pilot:
        await open_playbook(pilot)
        await pilot.press("a")
        await until(pilot, lambda: name(app) == "RuleScreen", "the rule editor opened")
        await type_text(pilot, "Win back")
        # a saved segment (the JSON box read only), a coupon, its code
        await pilot.press("tab", "tab", "tab", "a", "tab")
        await type_text(pilot, "NO-SUCH-CAMPAIGN")
        # Well formed, but the cache knows no such campaign: said beside the code (⚠, the
        # cache's word) once the typing stops, and in the offer's row.
        said = "⚠ no campaign in the cache holds"
        await until(pilot, lambda: said in under(app, "Coupon code"), "the cache's check")
        # said whole (the line wraps, nothing is cut)
        assert "(srm sync brings the campaigns)" in screen_text(app).replace("\n", " ")
        # the offer's row is redrawn by the same check, a frame or two later on a busy machine
        row = "›1  apply coupon NO-SUCH-CAMPAIGN ⚠ no campaign"
        await until(pilot, lambda: row in screen_text(app), "the offer's row says it")
        await pilot.press("ctrl+s")  # the rule is kept in the playbook all the same
        await until(pilot, lambda: name(app) == "PlaybookScreen", "kept")
        warning = "rule 2, offer 1: no campaign in the cache holds 'NO-SUCH-CAMPAIGN'"
        await until(pilot, lambda: f"⚠ {warning}" in screen_text(app), "the cache's check")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: f"✘ Not saved: {warning}" in screen_text(app), "refused")
        assert current(app).version == 1 and current(app).rules == (EVERYONE,)


# Where the keys go: the focused field is marked in text, Tab visits fixed stops, and letters
# typed into a field only type (issue: "K" typed for a coupon code moved an offer up).

TAB_STOPS = ("name", "segment", "inline", "offers", "kind", "param")


def marked(app) -> list[str]:
    """The screen's lines holding the focus mark."""
    return [ln for ln in screen_text(app).splitlines() if "▸" in ln]


async def tab_round(pilot, labels: dict[str, str]) -> None:
    """Tab once round the form from the name: each stop's label marked, and only it."""
    app = pilot.app
    for stop in TAB_STOPS[1:] + TAB_STOPS[:1]:
        await pilot.press("tab")
        await pilot.pause()
        assert app.focused.id == stop, (stop, app.focused)
        lines = marked(app)
        assert len(lines) == 1 and f"▸ {labels[stop]}" in lines[0], (stop, screen_text(app))


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_the_focused_field_is_marked_without_colour_and_tab_has_fixed_stops(
    db, monkeypatch, size
):
    monkeypatch.setenv("NO_COLOR", "1")
    _setup(db)
    app = make_app(db)
    async with app.run_test(size=size) as pilot:
        await open_playbook(pilot)
        await pilot.press("a")  # a new rule: a saved segment, no offer yet
        await until(pilot, lambda: name(app) == "RuleScreen", "the rule editor opened")
        assert app.focused.id == "name" and "▸ Name" in marked(app)[0]
        labels = {
            "name": "Name",
            "segment": "Segment",
            "inline": "JSON",
            "offers": "Offers",
            "kind": "Kind",
            "param": "Parameter",
        }
        await tab_round(pilot, labels)
        # An offer added (a coupon): the same stops, the parameter's own label marked, and
        # what to type there shown whole.
        await pilot.press("tab", "tab", "tab", "a")
        await pilot.pause()
        assert app.focused.id == "kind" and "▸ Kind" in marked(app)[0]
        assert "e.g. SAVE20" in screen_text(app)
        await pilot.press("shift+tab", "shift+tab", "shift+tab", "shift+tab")
        assert app.focused.id == "name"
        await tab_round(pilot, {**labels, "param": "Coupon code"})
        # let go (no parameter) and the inline segment chosen: still the same stops.
        await pilot.press("tab", "end", "tab", "tab", "tab")
        for _ in range(4):  # each kind's "what to type" shown whole, at either size
            await pilot.press("right")
            await pilot.pause()
            kind = app.screen.drafts[0].kind
            assert PARAMS[kind][2] in line_with(app, "Kind"), (kind, screen_text(app))
        assert app.screen.drafts[0].kind == "let-go"
        await pilot.press("shift+tab", "shift+tab", "shift+tab", "shift+tab")
        assert app.focused.id == "name"
        await tab_round(pilot, {**labels, "param": "No parameter"})


async def test_letters_typed_in_a_field_only_type_and_never_move_an_offer(db, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    _setup(db)
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_playbook(pilot)
        await pilot.press("e")  # Everyone else: its name kept whole, the cursor at its end
        await until(pilot, lambda: name(app) == "RuleScreen", "the rule editor opened")
        await type_text(pilot, " Kaxj")
        assert app.screen.query_one("#name").value == "Everyone else Kaxj"
        await pilot.press("tab", "tab", "tab")  # the offers: a adds a coupon
        await pilot.press("a")
        await pilot.press("tab")
        assert app.focused.id == "param"
        await type_text(pilot, "COMEBACK50")
        await pilot.press("shift+tab")  # the kind: letters do nothing there either
        await type_text(pilot, "KJax")
        await pilot.press("tab")
        await type_text(pilot, "JaxK")
        await pilot.pause()
        drafts = app.screen.drafts
        assert [d.key() for d in drafts] == [("let-go", ""), ("coupon", "COMEBACK50JaxK")]
        assert app.screen.query_one("#param").value == "COMEBACK50JaxK"
        # Tabbed out of and back into the field: its text kept, typing goes on at its end.
        await pilot.press("tab", "shift+tab")
        await pilot.pause()
        await type_text(pilot, "!")
        assert app.screen.query_one("#param").value == "COMEBACK50JaxK!"
        # In the list, the same letters are the list's keys.
        await pilot.press("enter")
        assert app.focused.id == "offers"
        await pilot.press("K")
        await pilot.pause()
        assert [d.kind for d in app.screen.drafts] == ["coupon", "let-go"]


async def test_the_not_kept_line_says_what_is_still_wrong_after_every_change(db, monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    _setup(db)
    app = make_app(db)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_playbook(pilot)
        await pilot.press("a")
        await until(pilot, lambda: name(app) == "RuleScreen", "the rule editor opened")
        await pilot.press("ctrl+s")  # no name, no offer: both said
        await pilot.pause()
        verdict = line_with(app, "Not kept yet")
        assert "the name" in verdict and "the offers" in verdict, screen_text(app)
        assert app.focused.id == "name"
        await type_text(pilot, "Win back")
        verdict = line_with(app, "Not kept yet")
        assert "the name" not in verdict and "the offers" in verdict, screen_text(app)
        await pilot.press("tab", "tab", "tab", "a")  # a coupon, its code not typed yet
        await pilot.pause()
        verdict = line_with(app, "Not kept yet")
        assert "the offers" not in verdict and "1 offer marked ✘" in verdict, screen_text(app)
        await pilot.press("tab")
        await type_text(pilot, "ANY")
        assert "Not kept yet" not in screen_text(app)
        assert "ctrl+s keeps the rule" in screen_text(app)

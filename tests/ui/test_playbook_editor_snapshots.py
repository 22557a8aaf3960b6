"""SVG snapshots of the retention playbook's list and its rule editor at 80x24 and 120x40,
with fixed data (a seeded cache, two saved segments, a saved three-rule playbook) and a fixed
clock."""

from __future__ import annotations

import pytest

from srm_tui.app import SrmApp
from srm_tui.config import load_settings
from srm_tui.playbook.model import Offer, Playbook, Rule
from srm_tui.segments.model import All, Condition, Segment
from srm_tui.segments.service import SegmentStore
from srm_tui.session import Session
from srm_tui.storage.cache import Cache

SIZES = [(80, 24), (120, 40)]
NOW = "2026-11-01T00:10:00Z"
GRACE = {
    "selector": "latest",
    "where": {"all": [{"attr": "subscription.state", "op": "eq", "value": "grace"}]},
}


@pytest.fixture(scope="module")
def playbook_db(seeded_cache):
    db = seeded_cache(300, 2)
    cache = Cache(db)
    segments = SegmentStore(cache)
    rich = All((Condition("customer.mrr", "gt", 20, "EUR"),))
    segments.save(Segment(name="High value", where=rich), now=1, agent="bob")
    settings = load_settings(db=str(db), now=NOW, agent="bob")
    with Session(settings, cache) as session:
        session.playbook.save(
            Playbook(
                0,
                (
                    Rule(
                        "High value, annual",
                        "High value",
                        (Offer("coupon", coupon="COMEBACK50"), Offer("pause", cycles=1)),
                    ),
                    Rule(
                        "Monthly in grace",
                        GRACE,
                        (Offer("extend", days=14), Offer("switch", offer="S138156547_PL")),
                    ),
                    Rule("Everyone else", {"where": {"all": []}}, (Offer("let-go"),)),
                ),
            ),
            base_version=0,
        )
    cache.close()
    return db


@pytest.fixture(autouse=True)
def _no_cursor_blink(monkeypatch):
    """A text cursor blinks every half second: here it stays lit wherever a field has the
    focus, so a picture taken a moment later under load is the same."""
    from textual.widgets import Input, TextArea

    monkeypatch.setattr(Input, "_toggle_cursor", lambda self: None)
    monkeypatch.setattr(TextArea, "_toggle_cursor_blink_visible", lambda self: None)


def _app(db):
    settings = load_settings(db=str(db), now=NOW, agent="anna", theme="textual-dark")
    return SrmApp(settings, Cache(db), sync_on_start=False)


async def _settle(pilot) -> None:
    """Workers done, and the rule editor's check of the cache (asked 0.3 s after the last
    change) answered, whatever the machine's speed: the picture is of the settled screen."""
    from srm_tui.screens.playbook_refs import DELAY

    for _ in range(3):
        await pilot.pause(DELAY + 0.1)
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_playbook_list(snap_compare, playbook_db, size):
    async def open_list(pilot):
        await pilot.press("f3")
        await _settle(pilot)
        await pilot.press("P")
        await _settle(pilot)
        await pilot.press("j")  # the inline rule: its definition below the list
        await _settle(pilot)

    assert snap_compare(_app(playbook_db), terminal_size=size, run_before=open_list)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_playbook_rule_editor(snap_compare, playbook_db, size):
    async def open_rule(pilot):
        await pilot.press("f3")
        await _settle(pilot)
        await pilot.press("P")
        await _settle(pilot)
        await pilot.press("j", "e")  # the inline rule, its JSON and two offers
        await _settle(pilot)
        for key in ("tab", "tab", "tab", "down", "tab", "tab"):  # the switch's offer id
            await pilot.press(key)
        await pilot.press("end", "backspace", "backspace", "X", "X")  # not a cached offer
        await _settle(pilot)

    assert snap_compare(_app(playbook_db), terminal_size=size, run_before=open_rule)

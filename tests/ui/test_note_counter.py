"""A long text field's counter keeps up with the text itself: a paste is counted at once,
while the dialog's preview (validation, what will change) waits for a pause in the typing.
Keys and a bracketed paste in the real app, on a seeded cache; the preview's delay is made
longer than the test, so only the counter can have moved."""

from __future__ import annotations

import pytest
from textual import events
from textual.widgets import Static, TextArea

from srm_tui.app import SrmApp
from srm_tui.config import load_settings
from srm_tui.screens import action
from srm_tui.storage.cache import Cache
from tests.helpers import screen_text
from tests.ui_keys import name, until

NOW = "2026-11-01T00:00:00Z"
NOTE = ("Called about a double charge; refund agreed, see ticket 4471. Café owner. " * 40)[:2600]


@pytest.fixture
def db(seeded_cache):
    return seeded_cache(150, 7)


async def test_a_pasted_note_is_counted_before_the_preview_runs(db, monkeypatch):
    monkeypatch.setattr(action, "PREVIEW_DELAY", 3600.0)
    settings = load_settings(db=str(db), agent="anna", role="agent", now=NOW)
    app = SrmApp(settings, Cache(db), sync_on_start=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: "@" in screen_text(app), "the list's customers")
        await pilot.press("enter")
        await until(pilot, lambda: name(app) == "CustomerScreen", "a customer")
        await pilot.press("5", "n")
        await until(pilot, lambda: isinstance(app.focused, TextArea), "the note's text")
        counter = app.screen.query_one("#count-text", Static)
        assert str(counter.content).startswith("0 / 2,500 characters")
        previews = []
        monkeypatch.setattr(type(app.screen), "_refresh_preview", lambda self: previews.append(1))
        app.post_message(events.Paste(NOTE))
        await until(pilot, lambda: app.focused.text == NOTE, "the paste in the field")
        assert str(counter.content).startswith("2,600 / 2,500 characters — too long")
        assert previews == []  # counted without the preview

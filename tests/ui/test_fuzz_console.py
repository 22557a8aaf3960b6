"""What reaches the screen: hostile customer data and hostile typing or pasting in the console.

Every frame is checked segment by segment (what Textual would write to the terminal): no
control byte (ESC, C1, BEL, backspace, NUL...) may be in it, and markup in the data must show
as the text it is ("[b]x[/b]" on screen, not a bold "x").
"""

from __future__ import annotations

import re
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textual import events
from textual.widgets import Input, TextArea

from srm_tui.app import SrmApp
from srm_tui.config import load_settings
from srm_tui.screens.customer import CustomerScreen
from srm_tui.storage.cache import Cache
from srm_tui.sync.engine import SyncEngine
from tests.unit.test_fuzz import PIECES, hostile_text
from tools.console_session import type_keys, until

AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)
NOW = int(AS_OF.timestamp())
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
HOSTILE_ID = 987654321
FIRST = "[b]Bold[/b]\x1b[31mRed\x07"
LAST = "\u202eLiam\x9b2J"
COMPANY = "[link=https://evil.example]click me[/link] & [@click=app.quit]quit[/]"
NOTE = "Call back\x1b]52;c;aGVsbG8=\x07 [red]urgent[/red]\r\nover\x08write"


def hostile_bundle() -> dict:
    customer = {
        "id": HOSTILE_ID,
        "email": "esc\x1b[2J@evil.example",
        "firstName": FIRST,
        "lastName": LAST,
        "country": "PL",
        "currency": "PLN",
        "locale": "pl_PL",
        "regDate": "2024-01-01 00:00:00",
        "lastLoginDate": "2026-10-01 10:00:00",
        "lastUserIp": None,
        "externalId": "ext-[i]x[/i]",
        "externalData": {"[b]tier[/b]": "\x1b[5mgold"},
        "capture": {
            "address": "Ulica 1\x1b[1A",
            "city": "Łódź\u202e",
            "state": None,
            "postCode": "00-950",
            "birthDate": None,
            "companyName": COMPANY,
        },
    }
    note = {
        "id": 700999001,
        "customerId": HOSTILE_ID,
        "author": "[b]mallory[/b]\x1b[7m",
        "text": NOTE,
        "createdAt": NOW - 86400,
        "updatedAt": NOW - 86400,
        "deletedAt": None,
        "revisions": [],
    }
    email = {
        "id": 500999001,
        "customerId": HOSTILE_ID,
        "type": "welcome",
        "subject": "Welcome [b]friend[/b]\x1b[31m",
        "to": customer["email"],
        "status": "sent",
        "createdAt": NOW - 3600,
        "transactionId": None,
        "body": "Hi \x1b[2Jthere",
    }
    history = {
        "id": 800999001,
        "customerId": HOSTILE_ID,
        "date": NOW - 7200,
        "editor": "sys\x1b[0m",
        "changes": [{"field": "firstName", "from": "Old\x1b", "to": FIRST}],
    }
    return {"customers": [customer], "notes": [note], "emails": [email], "history": [history]}


@pytest.fixture(scope="module")
def db(seeded_cache) -> Path:
    path = seeded_cache(60, 5)
    cache = Cache(path)
    SyncEngine(cache, client=None).store_bundle(hostile_bundle())  # type: ignore[arg-type]
    cache.close()
    return path


def frame_faults(app) -> list[str]:
    """Control bytes in what the terminal would be sent now."""
    update = app.screen._compositor.render_full_update()
    faults = []
    for line in update.strips:
        for strip in line:
            for segment in strip:
                found = CONTROL.search(segment.text)
                if found:
                    faults.append(f"{found.group()!r} in {segment.text!r}")
    return faults


def screen_text(app) -> str:
    update = app.screen._compositor.render_full_update()
    return "\n".join("".join(seg.text for strip in line for seg in strip) for line in update.strips)


def make_app(db: Path, role: str = "agent") -> SrmApp:
    settings = load_settings(db=str(db), agent="anna", role=role, now="2026-11-01T00:00:00Z")
    return SrmApp(settings, Cache(db), sync_on_start=False)


async def _open_hostile(app) -> None:
    await type_keys(app, "slash")
    await until(
        app, lambda: isinstance(app.focused, Input), "the search box or a field has the focus"
    )
    await type_keys(app, *str(HOSTILE_ID), "enter")  # one Enter opens the highlighted result
    await until(app, lambda: type(app.screen).__name__ == "CustomerScreen", "CustomerScreen on top")


async def test_hostile_customer_data_reaches_the_screen_as_plain_text(db):
    app = make_app(db)
    async with app.run_test(size=(160, 50)) as pilot:
        await until(
            app, lambda: type(app.screen).__name__ == "CustomersScreen", "CustomersScreen on top"
        )
        await _open_hostile(app)
        await pilot.pause(0.3)
        seen = ""
        for tab in "123456":
            await pilot.press(tab)
            await pilot.pause(0.2)
            assert frame_faults(app) == [], f"tab {tab}"
            seen += screen_text(app)
        # Markup shows as written; nothing of it was interpreted.
        for literal in (
            "[b]Bold[/b]",
            "[link=https://evil.example]click me[/link]",
            "[red]urgent[/red]",
            "Welcome [b]friend[/b]",
        ):
            assert literal in seen, literal
        # Control bytes show as visible escapes.
        assert "\\x1b" in seen
        # The edit dialog, filled with the customer's current (hostile) values.
        await pilot.press("1")
        await pilot.pause(0.2)
        await pilot.press("e")
        await until(app, lambda: type(app.screen).__name__ == "ActionScreen", "ActionScreen on top")
        await pilot.pause(0.4)
        assert frame_faults(app) == [], "the edit dialog"
        await pilot.press("escape")
        await pilot.pause(0.2)


PASTES = st.lists(
    st.one_of(st.sampled_from(PIECES), st.text(max_size=8)), min_size=1, max_size=8
).map("".join)


@pytest.mark.parametrize("where", ["search", "note"])
def test_pasted_and_typed_hostile_text_never_reaches_the_screen(db, tmp_path, where):
    """Paste hostile text into the search box, or into a note's text field, then type more:
    the frame holds no control byte, nothing crashes, an unusable query gets a clear line,
    and a note is queued or refused with a reason. One console session takes every case."""
    import asyncio

    local = tmp_path / "c.db"
    shutil.copy(db, local)

    @settings(max_examples=1, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(cases=st.lists(st.tuples(PASTES, hostile_text(3)), min_size=12, max_size=12))
    def check(cases):
        async def run():
            app = make_app(local)
            async with app.run_test(size=(100, 30)) as pilot:
                await until(
                    app,
                    lambda: type(app.screen).__name__ == "CustomersScreen",
                    "CustomersScreen on top",
                )
                if where == "note":
                    await _open_hostile(app)
                for pasted, typed in cases:
                    if where == "note":
                        await type_keys(app, "n")
                        await until(
                            app,
                            lambda: isinstance(app.focused, TextArea),
                            "the note editor has the focus",
                        )
                    else:
                        await type_keys(app, "slash")
                        await until(
                            app,
                            lambda: isinstance(app.focused, Input),
                            "the search box or a field has the focus",
                        )
                        app.focused.value = ""
                    app.post_message(events.Paste(pasted))
                    await pilot.pause(0.02)
                    await type_keys(app, *[c for c in typed if c.isprintable()][:40])
                    await pilot.pause(0.3)  # the search or the preview has run
                    assert frame_faults(app) == [], (pasted, typed)
                    if where == "note":
                        await type_keys(app, "ctrl+s")  # offline: queued, or refused
                        await pilot.pause(0.3)
                        assert frame_faults(app) == [], (pasted, typed)
                        if type(app.screen).__name__ == "ActionScreen":
                            await type_keys(app, "escape")
                        await until(
                            app,
                            lambda: type(app.screen).__name__ == "CustomerScreen",
                            "back on the CustomerScreen",
                        )

        asyncio.run(run())

    check()


async def test_notifications_show_the_apis_words_as_plain_text(db):
    """A message built from the API's text, a path or what the agent typed is never markup:
    "[@click=app.quit]" is not a button, "[/]" is not an error, ESC is shown escaped."""
    app = make_app(db)
    async with app.run_test(size=(100, 30)) as pilot:
        hostile = "refused: [@click=app.quit]quit[/] [/] \x1b]52;c;aGk=\x07 /tmp/[x]/a.csv"
        app.screen.notify(hostile, title="[b]API[/b]\x1b[2J", severity="error")
        await pilot.pause(0.2)
        shown = list(app._notifications)[-1]
        assert shown.markup is False
        assert "[@click=app.quit]quit[/] [/]" in shown.message and "/tmp/[x]/a.csv" in shown.message
        assert not CONTROL.search(shown.message) and not CONTROL.search(shown.title)
        assert "\\x1b" in shown.message


# Keys an agent types in a hurry: every screen's letters, digits, the moves, Esc, Enter, Tab,
# the save keys. Not ctrl+q (it quits), ctrl+e ($EDITOR) or ctrl+z (suspend): those leave
# the console by design.
STORM_KEYS = (
    list("abcdefghijklmnoprstuvwxyz0123456789/:<>[]?=+-")
    + ["escape"] * 8
    + ["enter"] * 6
    + [
        "tab",
        "shift+tab",
        "up",
        "down",
        "left",
        "right",
        "pageup",
        "pagedown",
        "home",
        "end",
        "backspace",
        "space",
        "ctrl+s",
        "ctrl+r",
        "ctrl+p",
        "ctrl+o",
        "ctrl+t",
        "f1",
        "f2",
        "f3",
        "f4",
        "f5",
    ]
)


@pytest.mark.slow
async def test_thousands_of_fast_random_keys_never_close_the_console(db, tmp_path):
    """Issue 13: 2,000 random keys in about 4 s ended the console with ScreenStackError
    ("Can't pop screen", from action_pop_screen). Keys from a fixed seed go in through the
    driver as a terminal sends them, without waiting for the screen to settle."""
    import random

    local = tmp_path / "c.db"
    shutil.copy(db, local)
    rng = random.Random(13)
    keys = [rng.choice(STORM_KEYS) for _ in range(2000)]
    app = make_app(local)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(
            app, lambda: type(app.screen).__name__ == "CustomersScreen", "CustomersScreen on top"
        )
        for start in range(0, len(keys), 50):
            await type_keys(app, *keys[start : start + 50], gap=0.0005)
            assert app.is_running and app._exception is None, (start, app._exception)
        await pilot.pause(0.5)
        assert app.is_running and app._exception is None, app._exception
        assert app.return_code is None


async def test_a_customer_screen_popped_before_it_mounts_does_not_close_the_console(db, tmp_path):
    """Found by the storm above on a loaded machine (issue 12 proof, run B-1): Enter then Esc
    faster than frames popped the customer screen between its compose and its Mount handler;
    the mount's reload then queried '#summary-body' on a screen whose widgets were already
    removed (NoMatches: the console closed). Arranged here, not timed: the screen is opened,
    popped and its widgets removed, then the late Mount's handler runs."""
    local = tmp_path / "c.db"
    shutil.copy(db, local)
    customer_id = Cache(local).conn().execute("SELECT MIN(id) FROM customers").fetchone()[0]
    app = make_app(local)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(
            app, lambda: type(app.screen).__name__ == "CustomersScreen", "CustomersScreen on top"
        )
        # A screen of its own (open_customer's kept screen is never removed when popped).
        app.push_screen(CustomerScreen(customer_id))
        await until(app, lambda: type(app.screen).__name__ == "CustomerScreen", "opened")
        screen = app.screen
        await app.pop_screen()
        await pilot.pause()
        assert not screen.query("#summary-body")  # its widgets are gone
        screen.on_mount()  # the Mount that was still queued when the pop came
        screen.on_screen_resume()
        await pilot.pause()
        assert app.is_running and app._exception is None, app._exception
        assert type(app.screen).__name__ == "CustomersScreen"

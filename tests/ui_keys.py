"""Driving the console by keys in pilot tests of the customer screen and the outbox."""

from __future__ import annotations

from srm_tui.app import SrmApp
from srm_tui.config import load_settings
from srm_tui.storage.cache import Cache
from tests.helpers import Picker, screen_text  # noqa: F401 (Picker: the UI tests import it here)

NOW = "2026-11-01T00:00:00Z"


def make_app(db, url: str | None = None, *, role: str = "agent", agent: str = "anna") -> SrmApp:
    settings = load_settings(
        db=str(db),
        api_url=url,
        api_key="sandbox-key" if url else None,
        agent=agent,
        role=role,
        now=NOW,
    )
    return SrmApp(settings, Cache(db), sync_on_start=False)


def name(app) -> str:
    return type(app.screen).__name__


async def type_text(pilot, text: str) -> None:
    """Type ``text`` key by key, as the terminal sends it, waiting once at the end.

    The same Key events ``pilot.press`` sends (in order, through the driver), without its
    wait for idle after every key: typing a sentence stays quick.
    """
    from textual._wait import wait_for_idle
    from textual.app import _character_to_key
    from textual.events import Key

    app = pilot.app
    for char in text:
        key = char if char.isalnum() else _character_to_key(char)
        event = Key(key, char)
        event.set_sender(app)
        app._driver.send_message(event)
    await wait_for_idle(0)
    await pilot.pause()


async def settle(pilot, delay: float = 0.3) -> None:
    """Let workers finish and the screen repaint."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause(delay)


async def open_customer(pilot, customer_id: int) -> None:
    """Back to the list, search the id, open the row: what an agent types."""
    app = pilot.app
    for _ in range(6):
        if name(app) == "CustomersScreen":
            break
        # A form with typed work asks before it is left: yes, leave it.
        await pilot.press("y" if name(app) == "ConfirmDialog" else "escape")
        await pilot.pause()
    # The box keeps the last search (and its focus) after a customer opened from it: esc
    # clears it first, as an agent does, so the new id is not typed after the old one.
    await pilot.press("escape")
    await pilot.press("slash")
    await type_text(pilot, str(customer_id))
    await pilot.press("enter")  # one Enter opens the highlighted result
    await settle(pilot, 0.1)
    assert name(app) == "CustomerScreen", screen_text(app)
    assert app.screen.customer_id == customer_id


async def to_row(pilot, table_id: str, key: str) -> None:
    """Focus a table with tab and move its cursor onto the row ``key`` with the arrows."""
    app = pilot.app
    for _ in range(8):
        if app.focused is not None and app.focused.id == table_id:
            break
        await pilot.press("tab")
    table = app.screen.query_one(f"#{table_id}")
    assert app.focused is table, f"could not tab to {table_id}"
    target = table.get_row_index(key)
    for _ in range(table.row_count):
        if table.cursor_row == target:
            break
        await pilot.press("down" if table.cursor_row < target else "up")
    assert table.cursor_row == target
    await pilot.pause()


def dialog_text(app) -> str:
    """Every Static of the screen on top, unwrapped: what it says, whatever the layout."""
    import io

    from rich.console import Console

    console = Console(width=400, file=io.StringIO(), color_system=None)
    with console.capture() as capture:
        for widget in app.screen.query("Static"):
            if isinstance(widget.content, str):
                console.print(widget.content, markup=False)
            else:
                console.print(widget.content)
    return capture.get()


async def preview(pilot) -> str:
    """The dialog's text once the live preview has caught up with the typing: as shown on
    the screen, then the same unwrapped."""
    await pilot.pause(0.35)
    return screen_text(pilot.app) + "\n" + dialog_text(pilot.app)


async def run_confirmed(pilot) -> None:
    """ctrl+s, y (when the dialog asks), then wait for the API's answer."""
    await pilot.press("ctrl+s")
    await pilot.pause()
    if name(pilot.app) == "ActionScreen" and "Press y to confirm" in screen_text(pilot.app):
        await pilot.press("y")
    await settle(pilot)


async def until(pilot, condition, what: str) -> None:
    """Let the app run until ``condition()`` holds (timers fire, workers end). The bound on
    the waiting only turns a hang into a failure that names what never happened."""
    for _ in range(600):
        if condition():
            await pilot.pause()
            return
        await pilot.pause(0.05)
    raise AssertionError(f"never happened: {what}\n{screen_text(pilot.app)}")


async def footer(pilot) -> str:
    """The footer row once drawn: Textual recomposes it after a screen, tab or focus change
    (blank for a frame or two meanwhile), and every footer offers Help."""
    last = lambda: screen_text(pilot.app).split("\n")[-1]  # noqa: E731
    await until(pilot, lambda: "Help" in last(), "the footer drawn")
    return last()


def searched(app, query: str):
    """The console has shown the answer (results or error) to ``query``."""
    return lambda: (
        type(app.screen).__name__ == "CustomersScreen"
        and app.screen.query_text == query
        and not app.screen.searching
    )

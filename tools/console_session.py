"""One agent's session in the console, by keys: the crash harness kills it anywhere.

The real App starts as ``srm`` does (its background push and sync included); then, as an
agent would, it searches a customer by id, opens them, adds a note, edits their first name
and (with ``sync_again``) asks for a sync with ctrl+r; the session ends once no sync runs.
Keys go in through the driver, as a terminal's would, at typing speed; each step waits for
the screen it needs, not for a fixed time, so the steps happen in order while the background
work runs on.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

NOW = "2026-11-01T00:00:00Z"


class Stuck(RuntimeError):
    """A step's condition never held: what the screen showed is in the message."""


async def until(
    app, predicate, what: str | None = None, timeout: float | None = None, step: float = 0.005
) -> bool:
    """Wait for a state the app reports; True once it holds.

    Named (``what``), a state that never comes raises ``Stuck`` naming the step and what the
    screen showed; the timeout (120 s) only guards against a hung session — a busy machine
    slows each step, it changes none. Unnamed, it answers False after ``timeout`` (15 s), for
    callers that decide themselves what a missing state means."""
    limit = timeout if timeout is not None else (120.0 if what else 15.0)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(step)
    if what is None:
        return False
    raise Stuck(
        f"{what}: still on {screen_name(app)} (stack "
        f"{[type(s).__name__ for s in app.screen_stack]}, focus {app.focused!r})\n"
        f"{_text(app)}"
    )


async def type_keys(app, *keys: str, gap: float = 0.002) -> None:
    """Send keys as a terminal would (through the driver), without waiting for idle."""
    from textual import events
    from textual.keys import _character_to_key

    for key in keys:
        if len(key) == 1 and not key.isalnum():
            key = _character_to_key(key)
        char = key if len(key) == 1 else None
        event = events.Key(key, char)
        event.set_sender(app)
        app._driver.send_message(event)
        await asyncio.sleep(gap)


def _text(app) -> str:
    update = app.screen._compositor.render_full_update()
    return "\n".join(
        "".join(seg.text for strip in line for seg in strip).rstrip() for line in update.strips
    )


def screen_name(app) -> str:
    return type(app.screen).__name__


def _syncs(app) -> list:
    """The app's sync workers still running or being wound up (the one on start, one per
    ctrl+r); Textual drops each from ``app.workers`` once it has ended."""
    return [w for w in app.workers if w.group == "sync"]


async def session(plan: dict[str, Any], log=print) -> dict[str, Any]:
    from textual.widgets import Input, TextArea

    from srm_tui.app import SrmApp
    from srm_tui.config import load_settings
    from srm_tui.storage.cache import Cache

    settings = load_settings(
        db=plan["db"],
        api_url=plan["api_url"],
        api_key="sandbox-key",
        agent=plan.get("agent", "kim"),
        role="agent",
        now=NOW,
    )
    app = SrmApp(settings, Cache(plan["db"]), sync_on_start=True)
    done: dict[str, Any] = {}
    async with app.run_test(size=(120, 40)):
        log("started")
        await until(app, lambda: screen_name(app) == "CustomersScreen", "the list")
        customer = str(plan["customer_id"])
        await type_keys(app, "slash")
        await until(app, lambda: isinstance(app.focused, Input), "the search box")
        # One Enter opens the highlighted result, at once or as soon as the results of what
        # was typed are shown (the screen holds it until they are): typed with the id, it
        # opens the customer; no second Enter.
        await type_keys(app, *customer, "enter")
        await until(
            app,
            lambda: (
                screen_name(app) == "CustomerScreen" and str(app.screen.customer_id) == customer
            ),
            f"opening {customer}",
        )
        log("opened")
        for key, field in (("n", "note"), ("e", "first_name")):
            if not plan.get(field):
                continue
            await type_keys(app, key)
            await until(
                app,
                lambda: (
                    screen_name(app) == "ActionScreen"
                    and isinstance(app.focused, (TextArea, Input))
                ),
                f"the {field} dialog",
            )
            await type_keys(app, *plan[field])
            await type_keys(app, "ctrl+s")
            await until(
                app, lambda: screen_name(app) == "CustomerScreen", f"the {field} dialog closing"
            )
            done[field] = plan[field]
            log(f"{field} done")
        if plan.get("sync_again"):
            # A sync worker is dropped from app.workers once it ends, so "it started" is
            # seen as the key's action having run (the worker starts within that call).
            asked: list[bool] = []
            sync_now = app.action_sync_now

            def counted() -> None:
                asked.append(True)
                sync_now()

            app.action_sync_now = counted
            await type_keys(app, "ctrl+r")
            await until(app, lambda: bool(asked), "ctrl+r reaching the app")
        # The session ends once no sync runs (its worker finished, however it ended).
        await until(app, lambda: all(w.is_finished for w in _syncs(app)), "the syncs ending")
        log("synced")
    return done


def run(args: list[Any], phase=None) -> int:
    """Entry point in a forked child: ``args`` is ``[plan]``; each step is printed and told
    to ``phase`` (the fork server's, so a kill can aim at the steps after one)."""
    plan = args[0]

    def log(step: str) -> None:
        print(step, flush=True)
        if phase is not None:
            phase(step)

    asyncio.run(session(plan, log=log))
    return 0

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


async def until(app, predicate, timeout: float = 15.0, step: float = 0.005) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(step)
    return False


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
    return "\n".join("".join(seg.text for strip in line for seg in strip).rstrip()
                     for line in update.strips)


def screen_name(app) -> str:
    return type(app.screen).__name__


async def session(plan: dict[str, Any], log=print) -> dict[str, Any]:
    from textual.widgets import Input, TextArea

    from srm_tui.app import SrmApp
    from srm_tui.config import load_settings
    from srm_tui.storage.cache import Cache

    settings = load_settings(db=plan["db"], api_url=plan["api_url"], api_key="sandbox-key",
                             agent=plan.get("agent", "kim"), role="agent", now=NOW)
    app = SrmApp(settings, Cache(plan["db"]), sync_on_start=True)
    done: dict[str, Any] = {}
    async with app.run_test(size=(120, 40)):
        log("started")
        await until(app, lambda: screen_name(app) == "CustomersScreen")
        customer = str(plan["customer_id"])
        await type_keys(app, "slash")
        await until(app, lambda: isinstance(app.focused, Input))
        await type_keys(app, *customer, "enter")

        def found() -> bool:
            results = getattr(app.screen, "results", None)
            return bool(results) and str(results[0]["id"]) == customer

        if not await until(app, found):
            raise RuntimeError(f"search did not find {customer}")
        await asyncio.sleep(0.05)
        await type_keys(app, "enter")
        if not await until(app, lambda: screen_name(app) == "CustomerScreen"):
            raise RuntimeError(f"customer {customer} did not open ({screen_name(app)})")
        log("opened")
        for key, field in (("n", "note"), ("e", "first_name")):
            if not plan.get(field):
                continue
            await type_keys(app, key)
            await until(app, lambda: screen_name(app) == "ActionScreen" and
                        isinstance(app.focused, (TextArea, Input)))
            await type_keys(app, *plan[field])
            await type_keys(app, "ctrl+s")
            if not await until(app, lambda: screen_name(app) == "CustomerScreen"):
                raise RuntimeError(f"the {field} dialog did not close:\n{_text(app)}")
            done[field] = plan[field]
            log(f"{field} done")
        if plan.get("sync_again"):
            await type_keys(app, "ctrl+r")
            await asyncio.sleep(0.05)
        await until(app, lambda: not app.sync_state)
        log("synced")
    return done


def run(args: list[Any]) -> int:
    """Entry point in a forked child: ``args`` is ``[plan]``."""
    plan = args[0]
    asyncio.run(session(plan, log=lambda step: print(step, flush=True)))
    return 0

"""Starting the console from the command line."""

from __future__ import annotations

from srm_tui import runtime
from srm_tui.config import Settings


def launch_console(settings: Settings) -> None:
    from srm_tui.app import SrmApp

    cache = runtime.open_cache(settings)
    SrmApp(settings, cache).run()

"""Starting the console from the command line."""

from __future__ import annotations

from srm_tui import runtime
from srm_tui.config import Settings


def launch_console(settings: Settings) -> None:
    from srm_tui.app import SrmApp

    # The console syncs on start when an API is configured: then it may make the cache.
    settings, cache = runtime.open_console_store(settings)
    app = SrmApp(settings, cache)
    app.run()
    if app.crashed is not None:
        # Re-raised so srm_tui.exits reports it: one line, a crash log, a non-zero status.
        raise app.crashed
    if app.return_code:
        raise SystemExit(app.return_code)

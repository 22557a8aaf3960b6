"""The `srm` executable.

Plain `srm` (no arguments) is what an agent types dozens of times a day, so it opens the
console without loading the command-line parser and its ~40 commands; anything else goes
to click (srm_tui.cli). Both paths map failures to the same one-line messages and exit codes
(srm_tui.exits).
"""

from __future__ import annotations

import os
import sys


def _key_out_of_argv() -> None:
    """``--api-key K`` would stay in the process title (``ps``, /proc/PID/cmdline, readable
    by every user) for as long as srm runs: move it to the environment, which only this user
    can read, and start again without it. The flag still wins over SRM_API_KEY and the
    config file, as before. (``sandbox serve --api-key`` is the stand-in API's own token.)"""
    args = sys.argv[1:]
    if not args or args[0] == "sandbox" or os.environ.get("_SRM_KEY_MOVED"):
        return
    rest, key = [], None
    i = 0
    while i < len(args):
        if args[i] == "--":
            rest += args[i:]
            break
        if args[i] == "--api-key" and i + 1 < len(args):
            key = args[i + 1]
            i += 2
            continue
        if args[i].startswith("--api-key="):
            key = args[i].split("=", 1)[1]
            i += 1
            continue
        rest.append(args[i])
        i += 1
    if key is None:
        return
    os.environ.update(SRM_API_KEY=key, _SRM_KEY_MOVED="1")
    os.execv(sys.executable, [sys.executable, "-m", "srm_tui", *rest])


def main() -> None:
    _key_out_of_argv()
    if len(sys.argv) == 1:
        from srm_tui.exits import run_reporting_failures
        from srm_tui.launch import launch_console

        def console() -> None:
            from srm_tui.config import load_settings

            launch_console(load_settings())

        sys.exit(run_reporting_failures(console, debug=False))
    from srm_tui.cli import main as cli_main

    cli_main()

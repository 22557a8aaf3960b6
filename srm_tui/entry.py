"""The `srm` executable.

Plain `srm` (no arguments) is what an agent types dozens of times a day, so it opens the
console without loading the command-line parser and its ~40 commands; anything else goes
to click (srm_tui.cli). Both paths map failures to the same one-line messages and exit codes
(srm_tui.exits).
"""

from __future__ import annotations

import sys


def main() -> None:
    if len(sys.argv) == 1:
        from srm_tui.exits import run_reporting_failures
        from srm_tui.launch import launch_console

        def console() -> None:
            from srm_tui.config import load_settings

            launch_console(load_settings())

        sys.exit(run_reporting_failures(console, debug=False))
    from srm_tui.cli import main as cli_main

    cli_main()

"""The `srm` command: a thin face over the same services the console uses.

One module per command group; what they share (the common options, the command's Session,
the mapping of failures to exit codes, the progress bar) is in ``common``. The customer
action commands are generated from the action registry (``actions``). A group's further
modules (``segments_saved``, ``offer_files``, ``offer_groups``, ``actions``, ``retention``)
add their commands to it when imported. The top-level commands are listed in ``root.COMMANDS``
and imported only when used, so a command starts without loading every other one.
"""

from __future__ import annotations

from srm_tui.cli.root import main

__all__ = ["main"]

"""How a failure becomes one line on stderr and the contract's exit status (CONTRACT §1).

0 success; 2 bad usage or input; 3 the API is unreachable; 1 anything else; 130 interrupted.
Shared by the click commands (srm_tui.cli) and the fast path of plain `srm` (srm_tui.entry).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from srm_tui.api import errors as api_errors
from srm_tui.config import ConfigError
from srm_tui.storage.cache import CacheError

EXIT_FAILURE, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_INTERRUPTED = 1, 2, 3, 130


class UsageProblem(Exception):
    """Bad input: exit 2 with one line naming the field at fault."""


def classify(exc: BaseException) -> tuple[int, str]:
    """The exit status and the message for a failure that reached the top."""
    if isinstance(exc, (UsageProblem, ConfigError)):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, api_errors.Unreachable):
        return EXIT_UNREACHABLE, f"API unreachable: {exc.message}"
    if isinstance(exc, api_errors.AuthError):
        return EXIT_FAILURE, (f"the API refused the key (HTTP {exc.status}: {exc.message}); "
                              "check SRM_API_KEY")
    if isinstance(exc, api_errors.ApiError):
        return EXIT_FAILURE, f"API error: {exc.message}"
    if isinstance(exc, CacheError):
        return EXIT_FAILURE, str(exc)
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED, "interrupted"
    return EXIT_FAILURE, f"{type(exc).__name__}: {exc}"


def report(exc: BaseException, debug: bool) -> int:
    """Print the one line (and the traceback with --debug / SRM_DEBUG); the exit status."""
    code, message = classify(exc)
    if debug or os.environ.get("SRM_DEBUG"):
        import traceback

        traceback.print_exception(exc)
    print(f"srm: {message}", file=sys.stderr)
    return code


def run_reporting_failures(f: Callable[[], object], *, debug: bool) -> int:
    try:
        f()
    except (Exception, KeyboardInterrupt) as exc:
        return report(exc, debug)
    return 0

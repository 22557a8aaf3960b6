"""How a failure becomes one line on stderr and the contract's exit status (CONTRACT §1).

0 success; 2 bad usage or input; 3 the API is unreachable; 1 anything else; 130 interrupted.
Shared by the click commands (srm_tui.cli) and the fast path of plain `srm` (srm_tui.entry).

A failure srm did not foresee (a bug) is still one line and a non-zero status, never a
traceback on the terminal nor exit 0: the traceback goes to a crash log in srm's data folder
(``crash-<time>-<pid>.log``, mode 0600) and the line says where.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path

from srm_tui.api import errors as api_errors
from srm_tui.config import ConfigError
from srm_tui.storage.cache import CacheError, CacheMissing, CacheReadOnly
from srm_tui.storage.files import FileRefused

EXIT_FAILURE, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_INTERRUPTED = 1, 2, 3, 130


class UsageProblem(Exception):
    """Bad input: exit 2 with one line naming the field at fault."""


def classify(exc: BaseException) -> tuple[int, str]:
    """The exit status and the message for a failure that reached the top."""
    if isinstance(exc, (UsageProblem, ConfigError, CacheMissing, FileRefused)):
        return EXIT_USAGE, str(exc)
    if isinstance(exc, OverflowError) and "SQLite INTEGER" in str(exc):
        # A number typed for an id that no id can be (SQLite stores 64-bit integers).
        return EXIT_USAGE, (f"a number given is too large to be an id (at most {(1 << 63) - 1})")
    if isinstance(exc, api_errors.Unreachable):
        return EXIT_UNREACHABLE, f"API unreachable: {exc.message}"
    if isinstance(exc, api_errors.AuthError):
        return EXIT_FAILURE, (
            f"the API refused the key (HTTP {exc.status}: {exc.message}); check SRM_API_KEY"
        )
    if isinstance(exc, api_errors.ApiError):
        return EXIT_FAILURE, f"API error: {exc.message}"
    if isinstance(exc, CacheError):
        return EXIT_FAILURE, str(exc)
    if isinstance(exc, sqlite3.OperationalError) and "readonly" in str(exc):
        return EXIT_FAILURE, f"refused: {exc}; the cache is read only"
    if _store_refused(exc):
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return EXIT_FAILURE, (
            f"the team store refused: {reason} (this login's srm role may not do it; the "
            "store's owner grants roles)"
        )
    if isinstance(exc, KeyboardInterrupt):
        return EXIT_INTERRUPTED, "interrupted"
    return EXIT_FAILURE, f"{type(exc).__name__}: {exc}"


def _store_refused(exc: BaseException) -> bool:
    """A statement the team store refused for the login's privileges (its roles are the
    database's: a hand-made path to a table the role may not write ends here)."""
    psycopg = sys.modules.get("psycopg")  # loaded only when the team store was opened
    return psycopg is not None and isinstance(exc, psycopg.errors.InsufficientPrivilege)


def foreseen(exc: BaseException) -> bool:
    """Whether the failure is one srm expects (bad input, the API, the cache, ^C)."""
    if isinstance(exc, OverflowError) and "SQLite INTEGER" in str(exc):
        return True
    if _store_refused(exc):
        return True
    return isinstance(
        exc,
        (
            UsageProblem,
            ConfigError,
            CacheError,
            FileRefused,
            api_errors.ApiError,
            api_errors.Unreachable,
            KeyboardInterrupt,
            CacheReadOnly,
        ),
    ) or (isinstance(exc, sqlite3.OperationalError) and "readonly" in str(exc))


def write_crash_log(exc: BaseException) -> Path | None:
    """The traceback in a new file of srm's data folder (0600, never through a link); its
    path, or None when even that cannot be written."""
    import traceback

    from srm_tui.config import data_dir
    from srm_tui.storage.files import write_text

    folder = data_dir()
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    path = folder / f"crash-{stamp}-{os.getpid()}-{id(exc) % 100000}.log"
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)  # srm's own folder
        write_text(path, "".join(traceback.format_exception(exc)))
    except (OSError, FileRefused):
        return None
    return path


def report(exc: BaseException, debug: bool) -> int:
    """Print the one line (and the traceback with --debug / SRM_DEBUG); the exit status.
    An unforeseen failure's traceback also goes to a crash log, named in the line."""
    if isinstance(exc, BrokenPipeError):
        return quiet_broken_pipe()
    code, message = classify(exc)
    if debug or os.environ.get("SRM_DEBUG"):
        import traceback

        traceback.print_exception(exc)
    if not foreseen(exc):
        log = write_crash_log(exc)
        message = f"internal error: {message}" + (f" (traceback in {log})" if log else "")
    print(f"srm: {message}", file=sys.stderr)
    return code


def quiet_broken_pipe() -> int:
    """The reader went away (``srm search x | head``): stop as every Unix filter does, by
    SIGPIPE, with no message; nothing more can reach it. stdout goes to /dev/null first, so
    flushing it at exit raises nothing."""
    import signal

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    try:
        sys.stderr.flush()
    except OSError:
        pass
    if hasattr(signal, "SIGPIPE") and sys.stdout is sys.__stdout__:
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGPIPE)
    return 128 + 13


def run_reporting_failures(f: Callable[[], object], *, debug: bool) -> int:
    try:
        f()
    except (Exception, KeyboardInterrupt) as exc:
        return report(exc, debug)
    return 0

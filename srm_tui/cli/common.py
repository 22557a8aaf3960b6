"""What every `srm` command shares: the global options (declared once), the settings they
make, the command's ``Session``, the one mapping of failures to exit codes, and the progress
bar on stderr.

Exit status: 0 success; 2 bad usage or input; 3 the API is unreachable; 1 anything else.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

import click

from srm_tui import runtime
from srm_tui.config import Settings, load_settings
from srm_tui.domain.text import json_text, visible
from srm_tui.exits import EXIT_FAILURE, UsageProblem, classify, report
from srm_tui.session import Session
from srm_tui.storage.cache import CacheError

# The options every command takes (also accepted before the command name).
COMMON_OPTIONS = (
    click.option(
        "--api-url", default=None, help="API base URL, e.g. https://api.sandbox.cleeng.com/3.1"
    ),
    click.option("--api-key", default=None, help="publisher token (prefer SRM_API_KEY)"),
    click.option(
        "--db",
        default=None,
        type=click.Path(dir_okay=False),
        help="SQLite cache file or postgresql:// URL",
    ),
    click.option("--agent", default=None, help="your name, for notes and the audit log"),
    click.option("--role", default=None, type=click.Choice(["owner", "admin", "agent", "viewer"])),
    click.option("--now", "now_", default=None, help="ISO 8601 instant used as now"),
    click.option("--currency", default=None, help="reporting currency (ISO 4217), e.g. EUR"),
    click.option("--debug", is_flag=True, default=None, help="show tracebacks"),
)


def options(*decorators: Callable) -> Callable[[Callable], Callable]:
    """Apply click option decorators in the order they are listed (top first)."""

    def apply(f: Callable) -> Callable:
        for decorator in reversed(decorators):
            f = decorator(f)
        return f

    return apply


common = options(*COMMON_OPTIONS)

json_option = click.option("--json", "as_json", is_flag=True)


def command_options(f: Callable) -> Callable:
    """The stack most commands carry: the common options, the context, the failure mapping
    (the command function takes ``ctx`` first and the common flags as ``**flags``)."""
    return common(click.pass_context(handled(f)))


def settings(ctx: click.Context, **local: Any) -> Settings:
    """The settings of a command: its own flags over those given before its name."""
    flags = dict(ctx.find_root().obj or {})
    flags.update({k: v for k, v in local.items() if v is not None})
    flags.pop("debug", None)
    if "now_" in flags:
        flags["now"] = flags.pop("now_")
    made = load_settings(**flags)
    if runtime.is_team_store(made):
        from srm_tui.storage.db import pg_not_yet

        refused = pg_not_yet(srm_command_path(ctx))
        if refused is not None:  # before the store is opened: nothing is touched
            raise NotOnTeamStore(refused)
    return made


def srm_command_path(ctx: click.Context) -> str:
    """The command's path as a user types it ('srm customer show'), however srm was started
    (click names the root after the program: 'python -m srm_tui' under the tests)."""
    names: list[str] = []
    while ctx.parent is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    return " ".join(["srm", *reversed(names)])


class NotOnTeamStore(CacheError):
    """A command whose code runs on a SQLite cache only, asked of the team store: exit 1,
    one line (storage.db.PG_NOT_YET)."""


class CommandSession(Session):
    """A command's session: it opened the cache itself, so closing it closes the cache too."""

    def close(self) -> None:
        super().close()
        if self._cache is not None:
            self._cache.close()


@contextlib.contextmanager
def session(
    ctx: click.Context, flags: dict[str, Any], *, create: bool = False
) -> Iterator[Session]:
    """The one Session of a command, closed when the command ends (however it ends).
    ``create``: the command may make the cache (sync, fetch, import, the webhook receiver)."""
    made = CommandSession(settings(ctx, **flags), create=create)
    try:
        yield made
    finally:
        made.close()


def command_session(ctx: click.Context, flags: dict[str, Any], *, create: bool = False) -> Session:
    """The command's Session, closed by click when the command's context ends."""
    return ctx.with_resource(session(ctx, flags, create=create))


def configured_api(s: Session) -> None:
    """Commands that only work against an API the user configured (fetch, the webhook
    receiver and subscription) do not fall back to the demo's sandbox: exit 2 as without an
    API, as they always have."""
    if not s.settings.api_url:
        raise s.no_api()  # a replica says it is one


def _debug(ctx: click.Context, local: dict[str, Any]) -> bool:
    return bool(
        local.get("debug")
        or (ctx.find_root().obj or {}).get("debug")
        or os.environ.get("SRM_DEBUG")
    )


def handled(f: Callable) -> Callable:
    """Turn known failures into one-line messages and the contract's exit codes."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        try:
            return f(*args, **kwargs)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except (Exception, KeyboardInterrupt) as exc:  # one line; a traceback only with --debug
            if kwargs.get("as_json") and not isinstance(exc, BrokenPipeError):
                # With --json an error is a JSON object on stdout too (beside the line on
                # stderr), so a script reading stdout is never left with nothing.
                code, message = classify(exc)
                click.echo(json_text({"error": {"exit": code, "message": message}}))
            sys.exit(report(exc, _debug(ctx, kwargs)))

    return wrapper


MAX_ID = (1 << 63) - 1  # SQLite's largest integer; a longer id cannot name a record


def check_id(value: str, field: str) -> None:
    """A customer id on the command line: digits, and small enough to be one (exit 2)."""
    if not value.isascii() or not value.isdigit():
        raise UsageProblem(f"{field}: a customer id is digits, not {visible(value, 40)!r}")
    if len(value) > 19 or int(value) > MAX_ID:
        raise UsageProblem(
            f"{field}: {value[:24]}{'…' if len(value) > 24 else ''} is too "
            f"large to be a customer id (at most {MAX_ID})"
        )


def not_cached(customer_id: str) -> None:
    """A customer the cache does not hold: exit 1, saying how to fetch it."""
    click.echo(
        f"srm: customer {customer_id} is not in the cache (try: srm fetch {customer_id})",
        err=True,
    )
    sys.exit(EXIT_FAILURE)


def shown(value: Any) -> str:
    """A before/after value on one line, as plain text."""
    if value is None:
        return "(none)"
    if isinstance(value, (dict, list)):
        value = json_text(value)
    return visible(value, 200)


@contextlib.contextmanager
def action_errors(names: dict[str, str] | None = None, as_json: bool = False) -> Iterator[None]:
    """Invalid input: exit 2 naming the field; a refusal: exit 1 naming the rule; an action
    the API does not offer: exit 1 with the vendor's own way."""
    from srm_tui.actions import ActionInvalid, ActionRefused, ConfirmationRequired
    from srm_tui.api.profile import NotOffered

    try:
        yield
    except NotOffered as exc:
        if as_json:
            click.echo(
                json_text(
                    {"status": "not-offered", "feature": exc.feature.name, "message": str(exc)}
                )
            )
        click.echo(f"srm: {exc}", err=True)
        sys.exit(EXIT_FAILURE)
    except ActionInvalid as exc:
        raise UsageProblem(f"{(names or {}).get(exc.field, exc.field)}: {exc.message}") from None
    except ConfirmationRequired as exc:
        raise UsageProblem(f"--yes: {exc}") from None
    except ActionRefused as exc:
        if as_json:
            click.echo(json_text({"status": "refused", "rule": exc.rule, "message": exc.message}))
        click.echo(f"srm: refused by rule {exc.rule}: {visible(exc.message, 500)}", err=True)
        sys.exit(EXIT_FAILURE)


class ProgressBar:
    """A progress bar on stderr (rich): what it counts, done/total, percent and rate.

    Made only when stderr is a terminal (``for_terminal``), so stdout is left to the
    command's output and ``--json`` stays one clean document; it shows from the first
    update (work that finds nothing to do draws nothing).
    """

    def __init__(self, label: str):
        self.label = label
        self._progress: Any = None
        self._task: Any = None

    @classmethod
    def for_terminal(cls, label: str, *, quiet: bool = False) -> ProgressBar | None:
        """A bar when stderr is a terminal (and the command is not quiet), else None."""
        return cls(label) if sys.stderr.isatty() and not quiet else None

    def _start(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
        )
        from rich.table import Column

        self._progress = Progress(
            TextColumn("{task.description}", table_column=Column(no_wrap=True)),
            BarColumn(bar_width=30),
            MofNCompleteColumn(table_column=Column(no_wrap=True)),
            TaskProgressColumn(table_column=Column(no_wrap=True)),
            TextColumn("{task.fields[rate]}", table_column=Column(no_wrap=True)),
            # What is being counted gives way first on a narrow terminal (a long file name).
            TextColumn(
                "{task.fields[entity]}",
                table_column=Column(overflow="ellipsis"),
            ),
            console=Console(file=sys.stderr),
            refresh_per_second=10,
        )
        self._task = self._progress.add_task(self.label, total=None, rate="", entity="")
        self._progress.start()

    def update(self, entity: str, done: int, total: int | None, rate: float | None = None) -> None:
        """Show ``done`` of ``total`` (None: unknown) ``entity`` at ``rate`` per second."""
        if self._progress is None:
            self._start()
        self._progress.update(
            self._task,
            completed=done,
            total=total or None,
            rate="" if rate is None else f"{rate:,.0f}/s",
            entity=os.path.basename(entity) or entity,  # a file by its name
        )

    def close(self) -> None:
        """Draw the last state and leave the line on the terminal."""
        if self._progress is not None:
            self._progress.stop()


__all__ = [
    "MAX_ID",
    "ProgressBar",
    "Session",
    "UsageProblem",
    "action_errors",
    "check_id",
    "command_options",
    "command_session",
    "configured_api",
    "common",
    "handled",
    "json_option",
    "not_cached",
    "options",
    "session",
    "settings",
    "shown",
]

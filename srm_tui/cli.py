"""The `srm` command: a thin face over the same services the console uses.

Exit status: 0 success; 2 bad usage or input; 3 the API is unreachable; 1 anything else.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

import click

from srm_tui import runtime
from srm_tui.api import errors as api_errors
from srm_tui.config import ConfigError, Settings, load_settings, parse_instant
from srm_tui.storage.cache import CacheError

EXIT_FAILURE, EXIT_USAGE, EXIT_UNREACHABLE = 1, 2, 3


class UsageProblem(Exception):
    """Bad input: exit 2 with one line naming the field at fault."""


def _common(f: Callable) -> Callable:
    """Options every command takes (also accepted before the command name)."""
    options = [
        click.option("--api-url", default=None, help="API base URL, e.g. https://api.sandbox.cleeng.com/3.1"),
        click.option("--api-key", default=None, help="publisher token (prefer SRM_API_KEY)"),
        click.option("--db", default=None, type=click.Path(dir_okay=False), help="SQLite cache file"),
        click.option("--agent", default=None, help="your name, for notes and the audit log"),
        click.option("--role", default=None, type=click.Choice(["owner", "admin", "agent", "viewer"])),
        click.option("--now", "now_", default=None, help="ISO 8601 instant used as now"),
        click.option("--debug", is_flag=True, default=None, help="show tracebacks"),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _settings(ctx: click.Context, **local: Any) -> Settings:
    flags = dict(ctx.find_root().obj or {})
    flags.update({k: v for k, v in local.items() if v is not None})
    flags.pop("debug", None)
    if "now_" in flags:
        flags["now"] = flags.pop("now_")
    return load_settings(**flags)


def _debug(ctx: click.Context, local: dict[str, Any]) -> bool:
    return bool(local.get("debug") or (ctx.find_root().obj or {}).get("debug")
                or os.environ.get("SRM_DEBUG"))


def handled(f: Callable) -> Callable:
    """Turn known failures into one-line messages and the contract's exit codes."""

    @functools.wraps(f)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        try:
            return f(*args, **kwargs)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except (UsageProblem, ConfigError) as exc:
            _fail(EXIT_USAGE, str(exc), ctx, kwargs)
        except api_errors.Unreachable as exc:
            _fail(EXIT_UNREACHABLE, f"API unreachable: {exc.message}", ctx, kwargs)
        except api_errors.AuthError as exc:
            _fail(EXIT_FAILURE, f"the API refused the key (HTTP {exc.status}: {exc.message}); "
                                "check SRM_API_KEY", ctx, kwargs)
        except api_errors.ApiError as exc:
            _fail(EXIT_FAILURE, f"API error: {exc.message}", ctx, kwargs)
        except CacheError as exc:
            _fail(EXIT_FAILURE, str(exc), ctx, kwargs)
        except KeyboardInterrupt:
            _fail(130, "interrupted", ctx, kwargs)
        except Exception as exc:  # the last resort: a message, a traceback only with --debug
            _fail(EXIT_FAILURE, f"{type(exc).__name__}: {exc}", ctx, kwargs)

    return wrapper


def _fail(code: int, message: str, ctx: click.Context, local: dict[str, Any]) -> None:
    if _debug(ctx, local):
        import traceback

        traceback.print_exc()
    click.echo(f"srm: {message}", err=True)
    sys.exit(code)


@click.group(invoke_without_command=True)
@_common
@click.version_option(package_name="srm-tui")
@click.pass_context
def main(ctx: click.Context, **flags: Any) -> None:
    """srm: find a customer in a second, read the whole account, act on it."""
    ctx.obj = {k: v for k, v in flags.items() if v is not None}
    if ctx.invoked_subcommand is None:
        ctx.invoke(console)


@main.command(hidden=True)
@click.pass_context
@handled
def console(ctx: click.Context) -> None:
    """Open the console (the default command)."""
    from srm_tui.launch import launch_console

    launch_console(_settings(ctx))


# sandbox -------------------------------------------------------------------------------


@main.group()
def sandbox() -> None:
    """The built-in stand-in for the vendor API."""


def _as_of(value: str | None, field: str = "--as-of"):
    if value is None:
        return runtime.demo_as_of()
    try:
        return parse_instant(value)
    except ValueError as exc:
        raise UsageProblem(f"{field}: not an ISO 8601 instant: {value!r}") from exc


@sandbox.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True, type=int)
@click.option("--customers", default=5000, show_default=True, type=click.IntRange(0))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--as-of", default=None, help="generate data as of this instant (default today 00:00Z)")
@click.option("--api-key", default="sandbox-key", show_default=True)
@click.option("--faults", default=0.0, type=click.FloatRange(0, 1), help="failure rate per call")
@click.option("--state", "state_file", default=None, type=click.Path(dir_okay=False),
              help="keep the state in this file across restarts")
@click.option("--stall-seconds", default=5.0, type=float, show_default=True)
@click.option("--rate-limit", default=None, type=float, help="requests per second before 429")
@click.option("--debug", is_flag=True)
@handled
def sandbox_serve(host: str, port: int, customers: int, seed: int, as_of: str | None,
                  api_key: str, faults: float, state_file: str | None, stall_seconds: float,
                  rate_limit: float | None, debug: bool) -> None:
    """Run the sandbox API over HTTP until SIGINT/SIGTERM."""
    from pathlib import Path

    from srm_tui.sandbox.runner import serve
    from srm_tui.sandbox.server import create_app
    from srm_tui.sandbox.state import SandboxState

    as_of_dt = _as_of(as_of)
    if state_file and Path(state_file).exists():
        state = SandboxState.load(Path(state_file))
    else:
        state = SandboxState.generate(customers, seed, as_of_dt)
        if state_file:
            state.save(Path(state_file))
    secret = os.environ.get("SRM_WEBHOOK_SECRET")
    app = create_app(state, api_key=api_key, faults=faults, seed=seed,
                     stall_seconds=stall_seconds, rate_limit=rate_limit, webhook_secret=secret)

    def ready(url: str) -> None:
        print(f"listening on {url}", flush=True)

    serve(app, host, port, on_ready=ready)


@sandbox.command("seed-db")
@click.option("--customers", required=True, type=click.IntRange(0))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--as-of", default=None)
@click.option("--db", "db_path", required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
@click.option("--debug", is_flag=True)
@handled
def sandbox_seed_db(customers: int, seed: int, as_of: str | None, db_path: str,
                    as_json: bool, debug: bool) -> None:
    """Write a ready cache for N generated customers straight to SQLite."""
    from srm_tui.sandbox.seed import seed_cache
    from srm_tui.storage.cache import Cache

    started = time.monotonic()
    cache = Cache(db_path)
    bar = _ProgressBar("seed") if sys.stderr.isatty() and not as_json else None
    counts = seed_cache(cache, customers, seed, _as_of(as_of),
                        progress=(lambda done: bar.update("customers", done, customers))
                        if bar else None)
    if bar:
        bar.close()
    summary = {**counts, "seconds": round(time.monotonic() - started, 3)}
    click.echo(json.dumps(summary) if as_json else
               f"wrote {counts['customers']:,} customers to {db_path} in {summary['seconds']} s")


# sync ----------------------------------------------------------------------------------


class _ProgressBar:
    """A one-line progress bar on stderr: counts, percent and rate."""

    def __init__(self, label: str):
        self.label = label
        self._last = 0.0

    def update(self, entity: str, done: int, total: int | None, rate: float | None = None,
               force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last < 0.1:
            return
        self._last = now
        width = 30
        if total:
            frac = min(1.0, done / total)
            bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
            text = f"{self.label} [{bar}] {done:,}/{total:,} {frac:4.0%}"
        else:
            text = f"{self.label} {done:,}"
        if rate is not None:
            text += f"  {rate:,.0f}/s"
        text += f"  {entity}"
        sys.stderr.write("\r" + text[:119].ljust(80))
        sys.stderr.flush()

    def close(self) -> None:
        sys.stderr.write("\n")
        sys.stderr.flush()


@main.command()
@click.option("--full", is_flag=True, help="pull everything again and drop what the API no longer has")
@click.option("--json", "as_json", is_flag=True, help="print a JSON summary on stdout")
@_common
@click.pass_context
@handled
def sync(ctx: click.Context, full: bool, as_json: bool, **flags: Any) -> None:
    """Bring the cache up to date from the API (resumable after a crash or kill)."""
    settings = _settings(ctx, **flags)
    demo = None
    if settings.is_demo:
        demo = runtime.start_demo_sandbox()
        settings = runtime.demo_settings(settings, demo)
    try:
        cache = runtime.open_cache(settings)
        bar = _ProgressBar("sync") if sys.stderr.isatty() else None
        progress = (lambda p: bar.update(p.entity, p.done, p.total, p.rate)) if bar else None
        summary = runtime.sync_now(settings, cache, full=full, progress=progress)
        if bar:
            bar.close()
    finally:
        if demo:
            demo.stop()
    if as_json:
        click.echo(json.dumps(summary.as_json()))
    else:
        total = sum(summary.counts.values())
        click.echo(f"synced {total:,} records in {summary.seconds:.1f} s "
                   f"({summary.quarantined} quarantined, {summary.retries} retries)", err=True)
    if not summary.ok:
        for error in summary.errors:
            click.echo(f"srm: {error}", err=True)
        sys.exit(EXIT_FAILURE)


@main.command("fetch")
@click.argument("what")
@click.option("--json", "as_json", is_flag=True)
@_common
@click.pass_context
@handled
def fetch(ctx: click.Context, what: str, as_json: bool, **flags: Any) -> None:
    """Fetch one customer from the API by email, customer id, external id or transaction id."""
    from srm_tui.sync.engine import SyncEngine
    from srm_tui.sync.lookup import classify

    settings = _settings(ctx, **flags)
    cache = runtime.open_cache(settings)
    kind, value = classify(what)
    with runtime.make_client(settings) as client:
        engine = SyncEngine(cache, client)
        found = engine.fetch_customer(**{kind: value})
    if found is None:
        click.echo(f"srm: no customer matches {what!r} at the API", err=True)
        sys.exit(EXIT_FAILURE)
    click.echo(json.dumps({"customer_id": found}) if as_json else f"fetched customer {found}")


# search and customers ------------------------------------------------------------------


@main.command()
@click.argument("query")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000))
@click.option("--json", "as_json", is_flag=True)
@click.option("--stats", is_flag=True, help='print {"elapsed_ms", "rows"} on stderr')
@_common
@click.pass_context
@handled
def search(ctx: click.Context, query: str, limit: int, as_json: bool, stats: bool,
           **flags: Any) -> None:
    """Search the cache: terms ANDed, fields like email: name: txn: card: narrow them."""
    from srm_tui.domain.text import visible
    from srm_tui.storage.queries import summary
    from srm_tui.storage.search import SearchError
    from srm_tui.storage.search import search as run_search

    settings = _settings(ctx, **flags)
    cache = runtime.open_cache(settings)
    try:
        result = run_search(cache.conn(), query, limit=limit)
    except SearchError as exc:
        raise UsageProblem(f"query: {exc}") from exc
    rows = [summary(r) for r in result.rows]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False))
    else:
        for r in rows:
            name = " ".join(visible(p, 30) for p in (r["first_name"], r["last_name"]) if p)
            click.echo(f"{r['id']:>10}  {visible(r['email'], 40):40}  {name}")
        if not rows:
            click.echo("no customer matches", err=True)
    if stats:
        click.echo(json.dumps({"elapsed_ms": round(result.elapsed_ms, 3), "rows": len(rows)}),
                   err=True)


@main.group()
def customer() -> None:
    """Read and act on one customer."""


@customer.command("show")
@click.argument("customer_id")
@click.option("--json", "as_json", is_flag=True)
@_common
@click.pass_context
@handled
def customer_show(ctx: click.Context, customer_id: str, as_json: bool, **flags: Any) -> None:
    """The whole cached record of a customer."""
    from srm_tui.storage.queries import customer_record

    if not customer_id.isdigit():
        raise UsageProblem(f"ID: a customer id is digits, not {customer_id!r}")
    settings = _settings(ctx, **flags)
    cache = runtime.open_cache(settings)
    record = customer_record(cache.conn(), int(customer_id))
    if record is None:
        click.echo(f"srm: customer {customer_id} is not in the cache (try: srm fetch {customer_id})",
                   err=True)
        sys.exit(EXIT_FAILURE)
    if as_json:
        click.echo(json.dumps(record, ensure_ascii=False))
    else:
        click.echo(runtime.dumps(record))


# webhooks ------------------------------------------------------------------------------


@main.group()
def webhooks() -> None:
    """Receive the vendor's webhook deliveries."""


@webhooks.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8766, show_default=True, type=int)
@_common
@click.pass_context
@handled
def webhooks_serve(ctx: click.Context, host: str, port: int, **flags: Any) -> None:
    """Receive deliveries and bring the records they name into the cache."""
    from srm_tui.sandbox.runner import serve
    from srm_tui.sync.webhooks import create_receiver

    settings = _settings(ctx, **flags)
    cache = runtime.open_cache(settings)
    client = runtime.make_client(settings)
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    app = create_receiver(cache, client, secret=secret)
    serve(app, host, port, on_ready=lambda url: print(
        f"listening on {url.removesuffix('/3.1')}/", flush=True))


if __name__ == "__main__":  # pragma: no cover
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    main()

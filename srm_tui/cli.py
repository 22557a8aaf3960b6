"""The `srm` command: a thin face over the same services the console uses.

Exit status: 0 success; 2 bad usage or input; 3 the API is unreachable; 1 anything else.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import click

from srm_tui import runtime
from srm_tui.config import Settings, load_settings, parse_instant
from srm_tui.domain.text import count, json_text, visible
from srm_tui.exits import (  # one mapping of failures for every path
    EXIT_FAILURE,
    EXIT_UNREACHABLE,
    UsageProblem,
    classify,
    report,
)


def _common(f: Callable) -> Callable:
    """Options every command takes (also accepted before the command name)."""
    options = [
        click.option(
            "--api-url", default=None, help="API base URL, e.g. https://api.sandbox.cleeng.com/3.1"
        ),
        click.option("--api-key", default=None, help="publisher token (prefer SRM_API_KEY)"),
        click.option(
            "--db", default=None, type=click.Path(dir_okay=False), help="SQLite cache file"
        ),
        click.option("--agent", default=None, help="your name, for notes and the audit log"),
        click.option(
            "--role", default=None, type=click.Choice(["owner", "admin", "agent", "viewer"])
        ),
        click.option("--now", "now_", default=None, help="ISO 8601 instant used as now"),
        click.option("--currency", default=None, help="reporting currency (ISO 4217), e.g. EUR"),
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
@click.option(
    "--as-of",
    default=None,
    help="generate data as of this instant and run the clock from it (tests); "
    "default: now, on the real clock",
)
@click.option("--api-key", default="sandbox-key", show_default=True)
@click.option(
    "--profile",
    default="sandbox",
    show_default=True,
    type=click.Choice(["sandbox", "vendor"]),
    help="vendor: only the vendor's published calls; sandbox: plus srm's extensions",
)
@click.option(
    "--webhook-signature-header",
    default="X-Signature",
    show_default=True,
    help="header carrying the HMAC-SHA256 of deliveries to endpoints that ask for it",
)
@click.option("--faults", default=0.0, type=click.FloatRange(0, 1), help="failure rate per call")
@click.option(
    "--state",
    "state_file",
    default=None,
    type=click.Path(dir_okay=False),
    help="keep the state in this file across restarts",
)
@click.option("--stall-seconds", default=5.0, type=float, show_default=True)
@click.option("--rate-limit", default=None, type=float, help="requests per second before 429")
@click.option(
    "--hostile",
    is_flag=True,
    help="faults also include slow answers, dropped connections, wrong content "
    "types, huge bodies, repeated ids, bad dates and money as strings",
)
@click.option("--slow-seconds", default=2.0, type=float, show_default=True)
@click.option(
    "--fault-kinds",
    default=None,
    help="only these fault kinds, comma-separated (e.g. dates,money,dupes)",
)
@click.option("--debug", is_flag=True)
@handled
def sandbox_serve(
    host: str,
    port: int,
    customers: int,
    seed: int,
    as_of: str | None,
    api_key: str,
    profile: str,
    webhook_signature_header: str,
    faults: float,
    state_file: str | None,
    stall_seconds: float,
    rate_limit: float | None,
    hostile: bool,
    slow_seconds: float,
    fault_kinds: str | None,
    debug: bool,
) -> None:
    """Run the sandbox API over HTTP until SIGINT/SIGTERM."""
    from pathlib import Path

    from srm_tui.sandbox.runner import serve
    from srm_tui.sandbox.server import check_fault_kinds, create_app
    from srm_tui.sandbox.state import SandboxState

    kinds = tuple(k.strip() for k in fault_kinds.split(",") if k.strip()) if fault_kinds else None
    try:
        check_fault_kinds(kinds)
    except ValueError as exc:
        raise UsageProblem(f"--fault-kinds: {exc}") from None
    if not webhook_signature_header.strip() or ":" in webhook_signature_header:
        raise UsageProblem("--webhook-signature-header: not a header name")
    as_of_dt = _as_of(as_of)
    real_clock = as_of is None  # without --as-of the data is as of now and time is real
    if state_file and Path(state_file).exists():
        state = SandboxState.load(Path(state_file))
        state.real_clock = state.real_clock or real_clock
    else:
        state = SandboxState.generate(customers, seed, as_of_dt, real_clock=real_clock)
        if state_file:
            state.save(Path(state_file))
    secret = os.environ.get("SRM_WEBHOOK_SECRET")
    app = create_app(
        state,
        api_key=api_key,
        faults=faults,
        seed=seed,
        stall_seconds=stall_seconds,
        rate_limit=rate_limit,
        webhook_secret=secret,
        hostile=hostile,
        slow_seconds=slow_seconds,
        fault_kinds=kinds,
        profile=profile,
        webhook_signature_header=webhook_signature_header.strip(),
    )

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
def sandbox_seed_db(
    customers: int, seed: int, as_of: str | None, db_path: str, as_json: bool, debug: bool
) -> None:
    """Write a ready cache for N generated customers straight to SQLite."""
    from srm_tui.sandbox.seed import seed_cache
    from srm_tui.storage.cache import Cache

    started = time.monotonic()
    cache = Cache(db_path)
    bar = _ProgressBar("seed") if sys.stderr.isatty() and not as_json else None
    counts = seed_cache(
        cache,
        customers,
        seed,
        _as_of(as_of),
        progress=(lambda done: bar.update("customers", done, customers)) if bar else None,
    )
    if bar:
        bar.close()
    summary = {**counts, "seconds": round(time.monotonic() - started, 3)}
    click.echo(
        json.dumps(summary)
        if as_json
        else f"wrote {counts['customers']:,} customers to {db_path} in {summary['seconds']} s"
    )


# sync ----------------------------------------------------------------------------------


class _ProgressBar:
    """A one-line progress bar on stderr: counts, percent and rate."""

    def __init__(self, label: str):
        self.label = label
        self._last = 0.0

    def update(
        self,
        entity: str,
        done: int,
        total: int | None,
        rate: float | None = None,
        force: bool = False,
    ) -> None:
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
@click.option(
    "--full", is_flag=True, help="pull everything again and drop what the API no longer has"
)
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
        cache = runtime.open_cache(settings, create=True)
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
        click.echo(
            f"synced {total:,} records in {summary.seconds:.1f} s "
            f"({summary.quarantined} quarantined, {summary.retries} retries)",
            err=True,
        )
        if summary.profile == "vendor":
            click.echo(_vendor_note(summary), err=True)
    if not summary.ok:
        for error in summary.errors:
            click.echo(f"srm: {error}", err=True)
        sys.exit(EXIT_FAILURE)


def _vendor_note(summary: Any) -> str:
    """What a vendor-profile sync did and could not do, in one line."""
    extra = summary.extra
    said = f"vendor API: {count(summary.counts.get('customers', 0), 'customer')} refreshed"
    if extra.get("gone"):
        said += f", {extra['gone']:,} gone at the API (marked; asked again by --full)"
    if extra.get("refused"):
        said += f", {extra['refused']:,} ids refused by the API"
    if extra.get("emails_unknown"):
        said += f", {extra['emails_unknown']:,} imported emails unknown to the API"
    return (
        said + "; transactions, payment details and emails are not offered by this API "
        "(import the ChurnIQ exports with srm import)"
    )


@main.command("fetch")
@click.argument("what")
@click.option("--json", "as_json", is_flag=True)
@_common
@click.pass_context
@handled
def fetch(ctx: click.Context, what: str, as_json: bool, **flags: Any) -> None:
    """Fetch one customer from the API by email, customer id, external id or transaction id."""
    from srm_tui.sync.engine import SyncEngine
    from srm_tui.sync.lookup import classify, not_fetched

    settings = _settings(ctx, **flags)
    # A fetch fills the cache as a sync does (the vendor's first step may be one customer).
    cache = runtime.open_cache(settings, create=True)
    kind, value = classify(what)
    with runtime.make_client(settings) as client:
        engine = SyncEngine(cache, client)
        found = engine.fetch_customer(**{kind: value})
        skipped = not_fetched(engine.profile)
    if found is None:
        click.echo(f"srm: no customer matches {what!r} at the API", err=True)
        sys.exit(EXIT_FAILURE)
    if as_json:  # the vendor profile adds what it could not fetch, with the reasons
        extra = {"profile": engine.profile.name, "not_offered": skipped} if skipped else {}
        click.echo(json.dumps({"customer_id": found, **extra}))
        return
    click.echo(f"fetched customer {found}")
    if skipped:
        click.echo(
            "not fetched (not offered by this API): "
            + "; ".join(f"{n.replace('_', ' ')}: {why}" for n, why in skipped.items()),
            err=True,
        )


# search and customers ------------------------------------------------------------------


@main.command()
@click.argument("query")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000))
@click.option("--json", "as_json", is_flag=True)
@click.option("--stats", is_flag=True, help='print {"elapsed_ms", "rows"} on stderr')
@_common
@click.pass_context
@handled
def search(
    ctx: click.Context, query: str, limit: int, as_json: bool, stats: bool, **flags: Any
) -> None:
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
        click.echo(json_text(rows))
    else:
        for r in rows:
            name = " ".join(visible(p, 30) for p in (r["first_name"], r["last_name"]) if p)
            click.echo(f"{r['id']:>10}  {visible(r['email'], 40):40}  {name}")
        if not rows:
            click.echo("no customer matches", err=True)
    if stats:
        click.echo(
            json.dumps({"elapsed_ms": round(result.elapsed_ms, 3), "rows": len(rows)}), err=True
        )


MAX_ID = (1 << 63) - 1  # SQLite's largest integer; a longer id cannot name a record


def _check_id(value: str, field: str) -> None:
    """A customer id on the command line: digits, and small enough to be one (exit 2)."""
    if not value.isascii() or not value.isdigit():
        raise UsageProblem(f"{field}: a customer id is digits, not {visible(value, 40)!r}")
    if len(value) > 19 or int(value) > MAX_ID:
        raise UsageProblem(
            f"{field}: {value[:24]}{'…' if len(value) > 24 else ''} is too "
            f"large to be a customer id (at most {MAX_ID})"
        )


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

    _check_id(customer_id, "ID")
    settings = _settings(ctx, **flags)
    cache = runtime.open_cache(settings)
    record = customer_record(cache.conn(), int(customer_id), settings.now_ts())
    if record is None:
        click.echo(
            f"srm: customer {customer_id} is not in the cache (try: srm fetch {customer_id})",
            err=True,
        )
        sys.exit(EXIT_FAILURE)
    if as_json:
        click.echo(json_text(record))
    else:
        from srm_tui.domain.money import readable_record

        click.echo(runtime.dumps(readable_record(record)))


# customer actions ----------------------------------------------------------------------


def _action_options(f: Callable) -> Callable:
    """--dry-run, --yes and --json, which every customer action takes."""
    options = [
        click.option(
            "--dry-run",
            is_flag=True,
            help="print what would change and which rule blocks it; change nothing",
        ),
        click.option(
            "--yes",
            is_flag=True,
            help="confirm an irreversible action (needed when stdin is not a terminal)",
        ),
        click.option("--json", "as_json", is_flag=True, help="print the result as JSON"),
    ]
    for option in reversed(options):
        f = option(f)
    return f


@contextlib.contextmanager
def _action_errors(names: dict[str, str] | None = None, as_json: bool = False) -> Iterator[None]:
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


@contextlib.contextmanager
def _action_service(
    ctx: click.Context, flags: dict[str, Any], *, online: bool = True
) -> Iterator[Any]:
    """The action service over the configured cache (the demo's sandbox when unconfigured)."""
    from srm_tui.actions import ActionService

    settings = _settings(ctx, **flags)
    demo = None
    if settings.is_demo and online:
        demo = runtime.start_demo_sandbox()
        settings = runtime.demo_settings(settings, demo)
    service = ActionService(runtime.open_cache(settings), settings)
    try:
        yield service
    finally:
        service.close()
        service.cache.close()
        if demo:
            demo.stop()


def _shown(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, (dict, list)):
        value = json_text(value)
    return visible(value, 200)


def _preview_text(preview: Any) -> str:
    head = f"{preview.title}: {preview.target}"
    if preview.customer_id is not None and not preview.target.startswith("customer "):
        head += f" (customer {preview.customer_id})"
    lines = [head]
    lines += [
        f"  {visible(c.what, 80)}: {_shown(c.before)} -> {_shown(c.after)}" for c in preview.changes
    ]
    lines += [f"  warning: {visible(w, 300)}" for w in preview.warnings]
    if preview.irreversible:
        lines.append("  irreversible: it cannot be undone")
    lines.append(f"  request: {preview.request.method} {preview.request.path}")
    if preview.allowed:
        lines.append("allowed")
    else:
        lines.append(
            f"blocked by rule {preview.blocked.rule}: {visible(preview.blocked.message, 500)}"
        )
    return "\n".join(lines)


def _stdin_text(text: str) -> str:
    """TEXT `-` reads stdin (its final line break dropped)."""
    if text != "-":
        return text
    raw = click.get_binary_stream("stdin").read()
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageProblem(
            f"TEXT: standard input is not UTF-8 text (byte 0x{raw[exc.start]:02x} "
            f"at offset {exc.start})"
        ) from None
    return decoded.rstrip("\r\n")


def _run_action(
    ctx: click.Context,
    name: str,
    args: dict[str, Any],
    flags: dict[str, Any],
    *,
    dry_run: bool,
    yes: bool,
    as_json: bool,
    names: dict[str, str],
) -> None:
    with _action_errors(names, as_json), _action_service(ctx, flags, online=not dry_run) as service:
        if dry_run:
            service.profile()  # learn what the API offers (remembered in the cache)
        preview = service.preview(name, **args)
        if dry_run:
            click.echo(
                json_text(preview.to_json(), default=str) if as_json else _preview_text(preview)
            )
            sys.exit(0 if preview.allowed else EXIT_FAILURE)
        if preview.allowed and preview.irreversible and not yes:
            if not sys.stdin.isatty():
                raise UsageProblem(
                    f"--yes: {name} is irreversible and stdin is not a terminal;"
                    " confirm it with --yes"
                )
            click.echo(_preview_text(preview), err=True)
            if not click.confirm(f"{preview.title} cannot be undone. Go ahead?", err=True):
                click.echo("srm: not confirmed; nothing changed", err=True)
                sys.exit(EXIT_FAILURE)
            yes = True
        outcome = service.run(name, confirm=yes, **args)
    if as_json:
        click.echo(json_text(outcome.to_json()))
    else:
        # Long enough for the export files an anonymization names.
        click.echo(visible(outcome.message, 4000))


def _names(target: str, **options: str) -> dict[str, str]:
    """Input field -> how the command line calls it, for error messages."""
    return {
        "customer_id": target,
        "access_id": target,
        "subscription_id": target,
        "transaction_id": target,
        "payment_details_id": target,
        "email_id": target,
        "note_id": target,
        "fields": "options",
        **options,
    }


@customer.command("edit")
@click.argument("customer_id")
@click.option("--first-name", default=None)
@click.option("--last-name", default=None)
@click.option("--email", default=None, help="also changes the customer's login ID")
@click.option("--company", default=None, help="company name ('' clears it)")
@_action_options
@_common
@click.pass_context
@handled
def customer_edit(
    ctx: click.Context,
    customer_id: str,
    first_name: str | None,
    last_name: str | None,
    email: str | None,
    company: str | None,
    dry_run: bool,
    yes: bool,
    as_json: bool,
    **flags: Any,
) -> None:
    """Edit first name, last name, email or company name."""
    _run_action(
        ctx,
        "edit",
        {
            "customer_id": customer_id,
            "first_name": first_name,
            "last_name": last_name,
            "email": email,
            "company": company,
        },
        flags,
        dry_run=dry_run,
        yes=yes,
        as_json=as_json,
        names=_names(
            "ID",
            first_name="--first-name",
            last_name="--last-name",
            email="--email",
            company="--company",
            fields="--first-name/--last-name/--email/--company",
        ),
    )


@customer.command("anonymize")
@click.argument("customer_id")
@click.option(
    "--terminate-access",
    is_flag=True,
    default=None,
    help="terminate live subscriptions and passes first (the vendor's flow)",
)
@_action_options
@_common
@click.pass_context
@handled
def customer_anonymize(
    ctx: click.Context,
    customer_id: str,
    terminate_access: bool | None,
    dry_run: bool,
    yes: bool,
    as_json: bool,
    **flags: Any,
) -> None:
    """Remove every personal value of a customer for good (irreversible)."""
    _run_action(
        ctx,
        "anonymize",
        {"customer_id": customer_id, "terminate_access": terminate_access},
        flags,
        dry_run=dry_run,
        yes=yes,
        as_json=as_json,
        names=_names("ID", terminate_access="--terminate-access"),
    )


@customer.command("extend")
@click.argument("access_id")
@click.option("--until", required=True, help="the new end, ISO 8601 (never earlier)")
@_action_options
@_common
@click.pass_context
@handled
def customer_extend(
    ctx: click.Context,
    access_id: str,
    until: str,
    dry_run: bool,
    yes: bool,
    as_json: bool,
    **flags: Any,
) -> None:
    """Extend a subscription or a pass until a later date."""
    _run_action(
        ctx,
        "extend",
        {"access_id": access_id, "until": until},
        flags,
        dry_run=dry_run,
        yes=yes,
        as_json=as_json,
        names=_names("ACCESS_ID", until="--until"),
    )


@customer.command("cancel")
@click.argument("subscription_id")
@click.option("--reason", required=True)
@_action_options
@_common
@click.pass_context
@handled
def customer_cancel(
    ctx: click.Context,
    subscription_id: str,
    reason: str,
    dry_run: bool,
    yes: bool,
    as_json: bool,
    **flags: Any,
) -> None:
    """Cancel a subscription: no renewal, access continues to the end of the period."""
    _run_action(
        ctx,
        "cancel",
        {"subscription_id": subscription_id, "reason": reason},
        flags,
        dry_run=dry_run,
        yes=yes,
        as_json=as_json,
        names=_names("SUBSCRIPTION_ID", reason="--reason"),
    )


@customer.command("refund")
@click.argument("transaction_id")
@click.option("--amount", default=None, help="partial amount (default: all that is left)")
@click.option("--reason", required=True)
@click.option(
    "--keep-access/--revoke-access",
    "keep_access",
    default=None,
    help="whether the customer keeps what it bought (default: keep)",
)
@_action_options
@_common
@click.pass_context
@handled
def customer_refund(
    ctx: click.Context,
    transaction_id: str,
    amount: str | None,
    reason: str,
    keep_access: bool | None,
    dry_run: bool,
    yes: bool,
    as_json: bool,
    **flags: Any,
) -> None:
    """Refund a card or PayPal transaction, in full or in part (irreversible)."""
    _run_action(
        ctx,
        "refund",
        {
            "transaction_id": transaction_id,
            "amount": amount,
            "reason": reason,
            "keep_access": keep_access,
        },
        flags,
        dry_run=dry_run,
        yes=yes,
        as_json=as_json,
        names=_names(
            "TRANSACTION_ID", amount="--amount", reason="--reason", keep_access="--keep-access"
        ),
    )


@customer.command("cancel-transaction")
@click.argument("transaction_id")
@click.option("--refund", is_flag=True, default=False, help="also refund what is left")
@_action_options
@_common
@click.pass_context
@handled
def customer_cancel_transaction(
    ctx: click.Context,
    transaction_id: str,
    refund: bool,
    dry_run: bool,
    yes: bool,
    as_json: bool,
    **flags: Any,
) -> None:
    """End the access a transaction bought, optionally refunding it (irreversible)."""
    _run_action(
        ctx,
        "cancel-transaction",
        {"transaction_id": transaction_id, "refund": refund},
        flags,
        dry_run=dry_run,
        yes=yes,
        as_json=as_json,
        names=_names("TRANSACTION_ID", refund="--refund"),
    )


@customer.command("delete-payment-details")
@click.argument("payment_details_id")
@_action_options
@_common
@click.pass_context
@handled
def customer_delete_payment_details(
    ctx: click.Context,
    payment_details_id: str,
    dry_run: bool,
    yes: bool,
    as_json: bool,
    **flags: Any,
) -> None:
    """Delete payment details on file; renewals paid with them fail (irreversible)."""
    _run_action(
        ctx,
        "delete-payment-details",
        {"payment_details_id": payment_details_id},
        flags,
        dry_run=dry_run,
        yes=yes,
        as_json=as_json,
        names=_names("ID"),
    )


@customer.command("resend")
@click.argument("email_id")
@click.option("--to", default=None, help="another address (default: the one on file)")
@_action_options
@_common
@click.pass_context
@handled
def customer_resend(
    ctx: click.Context,
    email_id: str,
    to: str | None,
    dry_run: bool,
    yes: bool,
    as_json: bool,
    **flags: Any,
) -> None:
    """Send an email again."""
    _run_action(
        ctx,
        "resend",
        {"email_id": email_id, "to": to},
        flags,
        dry_run=dry_run,
        yes=yes,
        as_json=as_json,
        names=_names("EMAIL_ID", to="--to"),
    )


@customer.group("note")
def customer_note() -> None:
    """Internal notes on a customer (1 to 2,500 characters)."""


@customer_note.command("add")
@click.argument("customer_id")
@click.argument("text")
@_action_options
@_common
@click.pass_context
@handled
def note_add(
    ctx: click.Context,
    customer_id: str,
    text: str,
    dry_run: bool,
    yes: bool,
    as_json: bool,
    **flags: Any,
) -> None:
    """Add a note (TEXT `-` reads stdin)."""
    _run_action(
        ctx,
        "note-add",
        {"customer_id": customer_id, "text": _stdin_text(text)},
        flags,
        dry_run=dry_run,
        yes=yes,
        as_json=as_json,
        names=_names("CUSTOMER_ID", text="TEXT"),
    )


@customer_note.command("edit")
@click.argument("note_id")
@click.argument("text")
@_action_options
@_common
@click.pass_context
@handled
def note_edit(
    ctx: click.Context,
    note_id: str,
    text: str,
    dry_run: bool,
    yes: bool,
    as_json: bool,
    **flags: Any,
) -> None:
    """Replace a note's text; the old text stays in its history (TEXT `-` reads stdin)."""
    _run_action(
        ctx,
        "note-edit",
        {"note_id": note_id, "text": _stdin_text(text)},
        flags,
        dry_run=dry_run,
        yes=yes,
        as_json=as_json,
        names=_names("NOTE_ID", text="TEXT"),
    )


@customer_note.command("delete")
@click.argument("note_id")
@_action_options
@_common
@click.pass_context
@handled
def note_delete(
    ctx: click.Context, note_id: str, dry_run: bool, yes: bool, as_json: bool, **flags: Any
) -> None:
    """Delete a note (only its author or an owner)."""
    _run_action(
        ctx,
        "note-delete",
        {"note_id": note_id},
        flags,
        dry_run=dry_run,
        yes=yes,
        as_json=as_json,
        names=_names("NOTE_ID"),
    )


# outbox --------------------------------------------------------------------------------


@main.group("outbox")
def outbox_group() -> None:
    """Actions waiting for the API."""


def _push_report(summary: Any, as_json: bool) -> None:
    if as_json:
        click.echo(json_text(summary.as_json()))
    else:
        click.echo(
            f"sent {len(summary.sent)}, conflicts {len(summary.conflicts)}, "
            f"failed {len(summary.failed)}, still pending {summary.remaining}"
        )
        for message in summary.messages:
            click.echo(f"  {visible(message, 4000)}")
    if summary.stopped:
        click.echo(f"srm: push {visible(summary.stopped, 300)}", err=True)
        sys.exit(EXIT_UNREACHABLE if summary.unreachable else EXIT_FAILURE)
    if summary.conflicts or summary.failed:
        click.echo(
            "srm: some actions were not applied; see srm outbox list, then "
            "srm outbox resolve ID --retry|--discard",
            err=True,
        )
        sys.exit(EXIT_FAILURE)


@outbox_group.command("list")
@click.option("--all", "show_all", is_flag=True, help="also sent, refused and discarded entries")
@click.option("--json", "as_json", is_flag=True)
@_common
@click.pass_context
@handled
def outbox_list(ctx: click.Context, show_all: bool, as_json: bool, **flags: Any) -> None:
    """Pending actions, conflicts (with both versions) and failures, oldest first."""
    from srm_tui.actions.outbox import OPEN

    with _action_errors(), _action_service(ctx, flags, online=False) as service:
        items = service.outbox_items(None if show_all else OPEN)
    if as_json:
        click.echo(json_text([i.to_json() for i in items]))
        return
    if not items:
        click.echo("the outbox is empty", err=True)
    for item in items:
        data = item.to_json()
        click.echo(
            f"#{item.id:<5} {item.status:9} {data['created_at']}  {item.agent or '-'}  "
            f"{item.title}: {item.target}"
        )
        for change in item.changes:
            click.echo(
                f"        {visible(change.what, 60)}: {_shown(change.before)} -> "
                f"{_shown(change.after)}"
            )
        for version in data["versions"]:
            click.echo(
                f"        {version['record']} {version['field']}: base "
                f"{_shown(version['base'])}, queued {_shown(version['queued'])}, "
                f"API now {_shown(version['server'])}"
            )
        if item.last_error and item.status != "sent":
            click.echo(f"        {visible(item.last_error, 300)}")


@outbox_group.command("push")
@click.option("--json", "as_json", is_flag=True)
@_common
@click.pass_context
@handled
def outbox_push(ctx: click.Context, as_json: bool, **flags: Any) -> None:
    """Send the pending actions now, oldest first, each exactly once."""
    with _action_errors(as_json=as_json), _action_service(ctx, flags) as service:
        summary = service.push()
    _push_report(summary, as_json)


@outbox_group.command("resolve")
@click.argument("outbox_id", type=int)
@click.option("--retry", is_flag=True, help="send it again as it is (over the API's version)")
@click.option("--discard", is_flag=True, help="drop it (recorded in the audit log)")
@click.option("--json", "as_json", is_flag=True)
@_common
@click.pass_context
@handled
def outbox_resolve(
    ctx: click.Context, outbox_id: int, retry: bool, discard: bool, as_json: bool, **flags: Any
) -> None:
    """Settle a conflict or a failure: --retry sends it again, --discard drops it."""
    if retry == discard:
        raise UsageProblem("--retry/--discard: give exactly one")
    with _action_errors({"id": "ID"}, as_json), _action_service(ctx, flags) as service:
        item = service.resolve(outbox_id, retry=retry)
        summary = service.push() if retry and service.online else None
        if summary is not None:
            item = next(i for i in service.outbox_items(None) if i.id == outbox_id)
    if summary is not None:
        _push_report(summary, as_json)
        return
    if as_json:
        click.echo(json_text(item.to_json()))
    else:
        click.echo(f"#{item.id} {item.title} ({item.target}): {item.status}")


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
    from srm_tui.sync.webhook_server import serve_receiver
    from srm_tui.sync.webhooks import Limits, create_receiver

    settings = _settings(ctx, **flags)
    cache = runtime.open_cache(settings, create=True)
    client = runtime.make_client(settings)
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    limits = Limits.from_settings(settings)
    if secret is None and host not in ("127.0.0.1", "::1", "localhost"):
        click.echo(
            f"warning: no SRM_WEBHOOK_SECRET: anyone who can reach {host}:{port} can "
            "post deliveries (set it, and subscribe with it, to have them signed)",
            err=True,
        )
    app = create_receiver(cache, client, secret=secret, limits=limits)
    serve_receiver(
        app,
        host,
        port,
        limits,
        app.ledger,
        on_ready=lambda url: print(f"listening on {url}", flush=True),
    )


@webhooks.command("subscribe")
@click.argument("url")
@click.option("--topics", default=None, help="comma-separated topics (default: those srm uses)")
@click.option("--json", "as_json", is_flag=True, help="print {url, topics: {topic: outcome}}")
@_common
@click.pass_context
@handled
def webhooks_subscribe(
    ctx: click.Context, url: str, topics: str | None, as_json: bool, **flags: Any
) -> None:
    """Register URL for webhook topics through the vendor's webhook-subscription call."""
    from srm_tui.sync.topics import SUBSCRIBE_TOPICS
    from srm_tui.sync.webhook_admin import TOPIC, URL, subscribe

    if not URL.match(url):
        raise UsageProblem(f"URL: not an http(s) URL: {url!r}")
    chosen = (
        list(SUBSCRIBE_TOPICS)
        if topics is None
        else [t.strip() for t in topics.split(",") if t.strip()]
    )
    bad = [t for t in chosen if not TOPIC.match(t)]
    if not chosen or bad:
        raise UsageProblem(f"--topics: not a topic name: {(bad or [topics])[0]!r}")
    settings = _settings(ctx, **flags)
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    with runtime.make_client(settings) as client:
        outcome = subscribe(client, url, list(dict.fromkeys(chosen)), secret)
    if as_json:
        click.echo(json.dumps({"url": url, "topics": outcome}))
    else:
        for topic, said in outcome.items():
            click.echo(f"{topic}: {said}")
    failed = [t for t, said in outcome.items() if said not in ("added", "updated", "unchanged")]
    if failed:
        click.echo(f"not subscribed: {', '.join(failed)}", err=True)
        sys.exit(EXIT_FAILURE)


@webhooks.command("status")
@click.option("--json", "as_json", is_flag=True)
@_common
@click.pass_context
@handled
def webhooks_status(ctx: click.Context, as_json: bool, **flags: Any) -> None:
    """What the receiver took in: received, processed, replayed, refused by reason."""
    from srm_tui.sync.webhook_admin import status

    cache = runtime.open_cache(_settings(ctx, **flags))
    seen = status(cache.conn())
    if as_json:
        click.echo(json.dumps(seen))
        return
    click.echo(
        f"received {seen['received']}: accepted {seen['accepted']}, replayed "
        f"{seen['replayed']}, refused {seen['refused_total']}"
    )
    click.echo(f"processed {seen['processed']}, failed {seen['failed']}, pending {seen['pending']}")
    for reason, n in seen["refused"].items():
        click.echo(f"  refused {reason}: {n}")
    click.echo(f"last delivery: {seen['last_delivery_at'] or 'never'}")


# segments ------------------------------------------------------------------------------


@main.group("segment")
def segment_group() -> None:
    """Segments: saved condition trees over the cached customers."""


def _segment_file(path: str):
    """The checked segment of a file; any fault is bad input (exit 2) naming its path."""
    from srm_tui.segments import SegmentError, load

    try:
        return load(path)
    except SegmentError as exc:
        raise UsageProblem(f"{path}: {exc.faults[0]}") from None


def _segment_cache(ctx: click.Context, flags: dict[str, Any]):
    """Settings and the cache, with the segment facts settled (a bar when it takes a while)."""
    from srm_tui.segments import ensure_facts

    settings = _settings(ctx, **flags)
    cache = runtime.open_cache(settings)
    bar = _ProgressBar("segment facts") if sys.stderr.isatty() else None
    done = ensure_facts(
        cache.conn(), progress=(lambda d, t: bar.update("customers", d, t)) if bar else None
    )
    if bar and done:
        bar.close()
    return settings, cache


@segment_group.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
@_common
@handled
def segment_check(file: str, as_json: bool, **flags: Any) -> None:
    """Validate a segment file; prints its tree in text form."""
    from srm_tui.segments import format_tree
    from srm_tui.segments.model import conditions

    segment = _segment_file(file)
    text = format_tree(segment.where)
    if as_json:
        click.echo(
            json_text(
                {
                    "valid": True,
                    "name": segment.name,
                    "selector": segment.selector,
                    "conditions": len(conditions(segment.where)),
                    "text": text,
                }
            )
        )
    else:
        click.echo(
            f"{file}: valid ({len(conditions(segment.where))} conditions, selector "
            f"{segment.selector})"
        )
        click.echo(visible(text))


@segment_group.command("count")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
@_common
@click.pass_context
@handled
def segment_count(ctx: click.Context, file: str, as_json: bool, **flags: Any) -> None:
    """How many cached customers are in the segment now."""
    from srm_tui.segments import SegmentRunner

    segment = _segment_file(file)
    settings, cache = _segment_cache(ctx, flags)
    with SegmentRunner(cache.path, processes=1) as runner:
        result = runner.count(segment, settings.now_ts())
    if as_json:
        click.echo(json.dumps({"customers": result.customers}))
    else:
        click.echo(count(result.customers, "customer"))


@segment_group.command("members")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
@_common
@click.pass_context
@handled
def segment_members(ctx: click.Context, file: str, as_json: bool, **flags: Any) -> None:
    """The ids of the segment's customers, ascending."""
    from srm_tui.segments import iter_members

    segment = _segment_file(file)
    settings, cache = _segment_cache(ctx, flags)
    ids = iter_members(cache.conn(), segment, settings.now_ts())
    if as_json:
        click.echo(json.dumps({"customers": list(ids)}))
    else:
        for customer_id in ids:
            click.echo(customer_id)


@segment_group.command("explain")
@click.argument("file", type=click.Path(dir_okay=False))
@click.argument("customer_id")
@click.option("--json", "as_json", is_flag=True)
@_common
@click.pass_context
@handled
def segment_explain(
    ctx: click.Context, file: str, customer_id: str, as_json: bool, **flags: Any
) -> None:
    """Each condition with its value for one customer, and pass or fail."""
    from srm_tui.segments import explain

    _check_id(customer_id, "CUSTOMER_ID")
    segment = _segment_file(file)
    settings, cache = _segment_cache(ctx, flags)
    try:
        result = explain(cache.conn(), segment, int(customer_id), settings.now_ts())
    except LookupError:
        click.echo(
            f"srm: customer {customer_id} is not in the cache (try: srm fetch {customer_id})",
            err=True,
        )
        sys.exit(EXIT_FAILURE)
    if as_json:
        click.echo(json_text(result.as_json()))
    else:
        click.echo(result.text())


@segment_group.command("export")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", required=True, type=click.Choice(["csv", "json"]))
@click.option("--out", "out", required=True, help="file to write ('-': standard output)")
@click.option("--force", is_flag=True, help="replace --out if it exists (a regular file only)")
@_common
@click.pass_context
@handled
def segment_export(
    ctx: click.Context, file: str, fmt: str, out: str, force: bool, **flags: Any
) -> None:
    """Write the segment's customers with the list columns, as CSV or JSON."""
    from srm_tui.segments import export
    from srm_tui.storage.files import FileRefused, check_target

    segment = _segment_file(file)
    if out != "-":
        try:  # refused before the cache is even opened: nothing is written
            check_target(out, replace=force)
        except FileRefused as exc:
            raise UsageProblem(f"--out: {exc}") from None
    settings, cache = _segment_cache(ctx, flags)
    try:
        n = export(cache.conn(), segment, settings.now_ts(), fmt, out, force=force)
    except FileRefused as exc:
        raise UsageProblem(f"--out: {exc}") from None
    except OSError as exc:
        if out == "-":
            raise
        raise UsageProblem(f"--out: cannot write {out}: {exc.strerror or exc}") from None
    if out != "-":
        click.echo(f"wrote {count(n, 'customer')} to {out}", err=True)


if __name__ == "__main__":  # pragma: no cover
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    main()
from srm_tui import (  # noqa: E402
    cli_actions,  # noqa: E402,F401
    cli_api,  # noqa: E402,F401
    cli_import,  # noqa: E402,F401
    cli_offers,  # noqa: E402,F401
    cli_rates,  # noqa: E402,F401
    cli_segments,  # noqa: E402,F401
)

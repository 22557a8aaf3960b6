"""`srm sandbox serve|seed-db`: the built-in stand-in for the vendor API, and a ready cache
written straight to SQLite (demos, benchmarks)."""

from __future__ import annotations

import json
import os
import time

import click

from srm_tui import runtime
from srm_tui.cli.common import ProgressBar, handled
from srm_tui.config import parse_instant
from srm_tui.exits import UsageProblem


@click.group()
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
    bar = ProgressBar.for_terminal("seed", quiet=as_json)
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

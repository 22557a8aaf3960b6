"""`srm sync` (the cache brought up to date from the API, resumable) and `srm fetch` (one
customer from the API)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from srm_tui.cli.common import ProgressBar, command_options, configured_api, session
from srm_tui.domain.text import count
from srm_tui.exits import EXIT_FAILURE


@click.command()
@click.option(
    "--full", is_flag=True, help="pull everything again and drop what the API no longer has"
)
@click.option("--json", "as_json", is_flag=True, help="print a JSON summary on stdout")
@click.option(
    "--watch",
    is_flag=True,
    help="keep the store up to date until stopped (SIGTERM, Ctrl-C): serve the team's "
    "requests as they come and sync every --every seconds",
)
@click.option(
    "--every",
    type=click.IntRange(min=1),
    default=30,
    show_default=True,
    help="seconds between the incremental syncs of --watch",
)
@command_options
def sync(
    ctx: click.Context, full: bool, as_json: bool, watch: bool, every: int, **flags: Any
) -> None:
    """Bring the cache up to date from the API (resumable after a crash or kill)."""
    if watch and full:
        raise click.UsageError("--full pulls everything once; --watch keeps up incrementally")
    if ctx.get_parameter_source("every") is click.core.ParameterSource.COMMANDLINE and not watch:
        raise click.UsageError("--every is the period of --watch")
    if watch:
        watch_store(ctx, flags, every, as_json)
        return
    with session(ctx, flags, create=True) as s, writer_lock(s, "sync"):
        bar = ProgressBar.for_terminal("sync")
        progress = (lambda p: bar.update(p.entity, *_counts(p), p.rate)) if bar else None
        try:
            with s.client() as client:
                up_to = requests_asked(s)
                summary = s.sync_engine(client, progress=progress).run(full=full)
                serve_requests(s, client, summary, up_to)
        finally:
            if bar:
                bar.close()
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
            click.echo(vendor_note(summary), err=True)
    if not summary.ok:
        for error in summary.errors:
            click.echo(f"srm: {error}", err=True)
        sys.exit(EXIT_FAILURE)


def requests_asked(s: Any) -> int:
    """The newest store request before a one-shot sync starts (its run may settle them)."""
    from srm_tui.storage import requests as store_requests

    return store_requests.last_id(s.cache)


def serve_requests(s: Any, client: Any, summary: Any, up_to: int) -> None:
    """After a one-shot sync: serve what the team's pushes asked of the writer (refreshes,
    forgets) when no `srm sync --watch` did (storage/requests.py); refreshes asked before a
    run over the sandbox's changes feed were brought by it."""
    from srm_tui.storage import requests as store_requests
    from srm_tui.sync.watch import settle_refreshes

    if not summary.ok or summary.stopped:
        return
    settle_refreshes(s.cache, summary, up_to, s.settings.now_ts())
    done = summary.extra.pop("requests_settled", 0)
    if store_requests.waiting_count(s.cache):
        engine = s.sync_engine(client)
        served = store_requests.serve(
            s.cache,
            lambda customer_id: engine.fetch_customer(customer_id=customer_id),
            now=s.settings.now_ts,
        )
        done += served.done
        summary.errors.extend(served.errors)
    if done:
        summary.extra["requests_served"] = done


def watch_store(ctx: click.Context, flags: dict[str, Any], every: int, as_json: bool) -> None:
    """`srm sync --watch`: hold the writer lock and keep the store up to date until a
    SIGTERM or SIGINT, which end it between steps with exit 0."""
    import signal

    from srm_tui.sync.watch import Watch

    def emit(cycle: Any) -> None:
        if as_json:
            click.echo(json.dumps(cycle.as_json()))
        else:
            click.echo(cycle.line(), err=True)

    with session(ctx, flags, create=True) as s, writer_lock(s, "sync") as lock:
        with s.client() as client:
            watch = Watch(s, client, every=every, emit=emit, lock=lock)
            previous = {
                sig: signal.signal(sig, lambda *_: watch.stop())
                for sig in (signal.SIGTERM, signal.SIGINT)
            }
            try:
                watch.run()
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
    if watch.lost:
        click.echo(
            "srm sync --watch: the store's writer lock was lost (the server restarted or ended "
            "its connection); nothing more was written. Start srm sync --watch again",
            err=True,
        )
        sys.exit(EXIT_FAILURE)
    if not as_json:
        click.echo("srm sync --watch: stopped; the store's writer lock is released", err=True)


@contextmanager
def writer_lock(s: Any, what: str) -> Iterator[Any]:
    """Hold the store's writer lock for ``what`` (storage/writer.py) while the block runs; a
    second writer of that kind exits 1 naming the process that holds it."""
    from srm_tui.storage.writer import LABELS, WriterBusy, WriterLock

    try:
        lock = WriterLock.acquire(s.cache, what)
    except WriterBusy as busy:
        click.echo(f"{LABELS[what]}: {busy}", err=True)
        sys.exit(EXIT_FAILURE)
    with lock:
        yield lock


def vendor_note(summary: Any) -> str:
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


@click.command("fetch")
@click.argument("what")
@click.option("--json", "as_json", is_flag=True)
@command_options
def fetch(ctx: click.Context, what: str, as_json: bool, **flags: Any) -> None:
    """Fetch one customer from the API by email, customer id, external id or transaction id."""
    from srm_tui.sync.lookup import classify, not_fetched

    # A fetch fills the cache as a sync does (the vendor's first step may be one customer).
    with session(ctx, flags, create=True) as s:
        configured_api(s)
        kind, value = classify(what)
        with s.client() as client:
            engine = s.sync_engine(client)
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


def _counts(p) -> tuple[int, int | None]:
    """(done, total) for the bar: the run's, or (the other entities' totals are asked once
    the customers are in) the customers' until then, as the console's status line says."""
    if p.total is None and p.entity_total:
        return p.entity_done, p.entity_total
    return p.done, p.total

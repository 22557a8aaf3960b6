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
@command_options
def sync(ctx: click.Context, full: bool, as_json: bool, **flags: Any) -> None:
    """Bring the cache up to date from the API (resumable after a crash or kill)."""
    with session(ctx, flags, create=True) as s, writer_lock(s, "sync"):
        bar = ProgressBar.for_terminal("sync")
        progress = (lambda p: bar.update(p.entity, p.done, p.total, p.rate)) if bar else None
        try:
            with s.client() as client:
                summary = s.sync_engine(client, progress=progress).run(full=full)
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


@contextmanager
def writer_lock(s: Any, what: str) -> Iterator[None]:
    """Hold the store's writer lock for ``what`` (storage/writer.py) while the block runs; a
    second writer of that kind exits 1 naming the process that holds it."""
    from srm_tui.storage.writer import LABELS, WriterBusy, WriterLock

    try:
        lock = WriterLock.acquire(s.cache, what)
    except WriterBusy as busy:
        click.echo(f"{LABELS[what]}: {busy}", err=True)
        sys.exit(EXIT_FAILURE)
    with lock:
        yield


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

"""`srm import FILE...`: the vendor's ChurnIQ report exports and lists of customer ids or
emails into the cache (CONTRACT section 8; srm_tui.imports does the work).

Bad input (a missing file, a file of unknown shape, a missing required column, non-UTF-8
text) exits 2 with one line naming the file and what is wrong, before anything is written;
a bad row is quarantined with FILE:LINE and the rest continue.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from srm_tui.cli.common import ProgressBar, command_options, session
from srm_tui.domain.text import count
from srm_tui.exits import EXIT_FAILURE


@contextmanager
def vendor_writer(s: Any, command: str) -> Iterator[None]:
    """On the team store, writing its vendor records is its writer's: only the sync login or
    the owner may (exit 1, one line, for an agent or a viewer), and only while no srm sync
    writes (the import holds the sync's writer lock, so the two never interleave). A cache
    file is written as it always was."""
    standing = getattr(s.cache, "role", None)
    if standing is None:
        yield
        return
    if standing not in ("owner", "sync"):
        click.echo(
            f"srm: {command}: the team store's vendor records are written by its srm_sync "
            f"login or its owner, not an {standing} login",
            err=True,
        )
        sys.exit(EXIT_FAILURE)
    from srm_tui.storage.writer import WriterBusy, WriterLock

    try:
        lock = WriterLock.acquire(s.cache, "sync")
    except WriterBusy as busy:
        click.echo(f"srm: {command}: {busy}", err=True)
        sys.exit(EXIT_FAILURE)
    with lock:
        yield


@click.command("import")
@click.argument("files", nargs=-1, required=True)
@click.option(
    "--format",
    "fmt",
    default="auto",
    show_default=True,
    type=click.Choice(
        ["auto", "churniq-transactions", "churniq-subscriptions", "churniq-passes", "ids"]
    ),
    help="what the files are (auto: recognised by their headers)",
)
@click.option(
    "--tz",
    default="CET",
    show_default=True,
    help="zone of the exports' times: CET (fixed UTC+01:00), UTC or an IANA name",
)
@click.option("--json", "as_json", is_flag=True, help="print a JSON summary on stdout")
@command_options
def import_(
    ctx: click.Context, files: tuple[str, ...], fmt: str, tz: str, as_json: bool, **flags: Any
) -> None:
    """Import ChurnIQ reports (Transactions, Subscription, Pass) or id/email lists.

    Re-importing a file changes nothing; a killed import resumes where it stopped.
    """
    from srm_tui.imports.runner import Importer, plan

    plans = plan(list(files), fmt, tz)  # every file checked before anything is written
    with session(ctx, flags, create=True) as s, vendor_writer(s, "srm import"):
        settings = s.settings
        clock = (lambda: settings.now.timestamp()) if settings.now is not None else time.time
        bar = ProgressBar.for_terminal("import")
        progress = (lambda name, done, total: bar.update(name, done, total)) if bar else None
        try:
            summary = Importer(s.cache, tz=tz, clock=clock, progress=progress).run(plans)
        finally:
            if bar:
                bar.close()
    for warning in summary.warnings:
        click.echo(f"srm: warning: {warning}", err=True)
    if as_json:
        click.echo(json.dumps(summary.as_json(), ensure_ascii=False))
        return
    written = ", ".join(f"{n:,} {k.replace('_', ' ')}" for k, n in summary.counts.items() if n)
    for f in summary.files:
        if f["status"] == "already imported":
            click.echo(f"{f['file']}: already imported (nothing to do)", err=True)
    click.echo(
        f"imported {written or 'nothing new'} in {summary.seconds:.1f} s "
        f"({count(summary.quarantined, 'row')} quarantined)",
        err=True,
    )

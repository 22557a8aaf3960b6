"""`srm import FILE...`: the vendor's ChurnIQ report exports and lists of customer ids or
emails into the cache (CONTRACT section 8; srm_tui.imports does the work).

Bad input (a missing file, a file of unknown shape, a missing required column, non-UTF-8
text) exits 2 with one line naming the file and what is wrong, before anything is written;
a bad row is quarantined with FILE:LINE and the rest continue.
"""

from __future__ import annotations

import json
import time
from typing import Any

import click

from srm_tui.cli.common import ProgressBar, command_options, session
from srm_tui.cli.team_writes import vendor_writer
from srm_tui.domain.text import count


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

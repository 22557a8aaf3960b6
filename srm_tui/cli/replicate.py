"""`srm replicate (--segment NAME | --customers FILE) --to FILE`: a subset of the team store in a
local SQLite cache for offline review (srm_tui/team/replicate.py). What an agent queues there
is forwarded to the team's outbox by `srm outbox push --db FILE` (srm_tui/team/forward.py). A
URL is shown without its password, always."""

from __future__ import annotations

import os
from typing import Any

import click

from srm_tui.cli.common import command_options, settings
from srm_tui.domain.text import json_text, visible


@click.command("replicate")
@click.option("--segment", default=None, metavar="NAME", help="A saved segment of the store.")
@click.option(
    "--customers",
    default=None,
    metavar="FILE",
    type=click.Path(dir_okay=False),
    help="A file of customer ids or emails, one a line.",
)
@click.option(
    "--to", "to", required=True, type=click.Path(dir_okay=False), help="The replica's file."
)
@click.option(
    "--store",
    default=None,
    metavar="URL",
    help="The team store (postgresql://; else SRM_TEAM_DB, else --db).",
)
@click.option("--json", "as_json", is_flag=True)
@command_options
def replicate(
    ctx: click.Context,
    segment: str | None,
    customers: str | None,
    to: str,
    store: str | None,
    as_json: bool,
    **flags: Any,
) -> None:
    """Copy the customers of a saved segment (or those a file names) from the team store into
    a new SQLite cache FILE for offline review: the catalogue, their records, search, saved
    segments, the playbook and rates. Run again on the same FILE to refresh it. Actions
    queued on it are forwarded to the team's outbox by srm outbox push --db FILE."""
    from srm_tui.exits import UsageProblem
    from srm_tui.storage.db import is_postgres_url
    from srm_tui.team.forward import TEAM_DB_ENV
    from srm_tui.team.replicate import replicate as make_replica

    if (segment is None) == (customers is None):
        raise UsageProblem("--segment/--customers: give exactly one")
    made = settings(ctx, **flags)
    url = store or os.environ.get(TEAM_DB_ENV, "").strip()
    if not url and isinstance(made.db, str) and is_postgres_url(made.db):
        url = made.db
    if not url:
        raise UsageProblem(
            "--store: srm replicate copies from the team store: give --store postgresql://… "
            f"(or set {TEAM_DB_ENV}, or --db the store's URL)"
        )
    report = make_replica(
        url,
        to,
        segment=segment,
        customers=customers,
        now=made.now_ts(),
        say=lambda line: click.echo(line, err=True),
    )
    if as_json:
        click.echo(json_text(report.to_dict()))
        return
    done = "refreshed" if report.refreshed else "made"
    click.echo(
        f"{done} {report.to}: {report.members:,} customers ({visible(report.selection, 200)}) "
        f"from {visible(report.store, 200)} in {report.seconds:.1f} s"
    )
    for entry in report.not_found:
        click.echo(f"  not in the store: {visible(entry, 200)}")
    click.echo(
        f"actions queued on it go to the team's outbox with: srm outbox push --db {report.to}"
    )

"""`srm team migrate --from FILE --to URL`: move a local cache into the team's PostgreSQL store
(resumable: run it again after an interruption and it goes on where it stopped). Joins the
`team` group when imported (srm_tui/cli/team.py imports it). A URL is shown without its
password, always."""

from __future__ import annotations

import click

from srm_tui.cli.common import handled
from srm_tui.cli.team import team_group
from srm_tui.domain.text import json_text


@team_group.command("migrate")
@click.option("--from", "source", required=True, metavar="FILE", help="The srm cache to copy.")
@click.option("--to", "url", required=True, metavar="URL", help="The team store (postgresql://).")
@click.option("--json", "as_json", is_flag=True)
@click.option("--debug", is_flag=True)
@handled
def team_migrate(source: str, url: str, as_json: bool, debug: bool) -> None:
    """Copy the cache FILE into the team store at URL: an empty database gets the srm schema
    and roles first; a store holding another cache's data is refused. Progress goes to
    stderr; killed or stopped, run it again to resume. Segment facts are not copied: the first
    srm sync on the store rebuilds them; search documents are made from the customers."""
    from srm_tui.team.migrate import migrate

    report = migrate(source, url, say=lambda line: click.echo(line, err=True))
    if as_json:
        click.echo(json_text(report.to_dict()))
        return
    if report.already_done:
        click.echo(f"nothing to do: {report.target} was already migrated from {report.source}")
        return
    if report.schema_created:
        click.echo(f"schema and roles created on {report.target} (version {report.schema_version})")
    if report.resumed:
        click.echo("resumed an earlier run: rows it committed were kept")
    empty = 0
    for table in report.tables:
        if not table.total:
            empty += 1
            continue
        extra = f", {table.already_there:,} already there" if table.already_there else ""
        before = f", {table.done_before:,} by an earlier run" if table.done_before else ""
        click.echo(f"{table.table}: {table.copied:,} of {table.total:,} rows copied{before}{extra}")
    if empty:
        click.echo(f"({empty} tables empty in the cache)")
    click.echo(
        f"migrated {report.source} to {report.target}: {len(report.tables)} tables, "
        f"{report.rows:,} rows in {report.seconds:.1f} s"
    )
    click.echo(f"note: {report.note}")

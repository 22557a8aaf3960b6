"""`srm team init URL` / `srm team status URL`: make a PostgreSQL database the team's shared
store (schema and roles), and say what a store holds and who you are in it (CONTRACT
section 9). A URL is shown without its password, always."""

from __future__ import annotations

import click

from srm_tui.cli.common import handled
from srm_tui.domain.text import json_text


@click.group("team")
def team_group() -> None:
    """The team's shared store on PostgreSQL."""


@team_group.command("init")
@click.argument("url")
@click.option("--json", "as_json", is_flag=True)
@click.option("--debug", is_flag=True)
@handled
def team_init(url: str, as_json: bool, debug: bool) -> None:
    """Create (or upgrade) the srm schema and the roles srm_viewer, srm_agent and srm_sync on
    the database at URL; run it as the database's owner. Running it again creates nothing."""
    from srm_tui.team.init import init_store

    report = init_store(url)
    if as_json:
        click.echo(json_text(report.to_dict()))
        return
    click.echo(f"team store {report.location}")
    if report.previous_version == 0:
        click.echo(
            f"schema: created (version {report.schema_version}, "
            f"{len(report.tables_created)} tables)"
        )
    elif report.previous_version != report.schema_version:
        click.echo(
            f"schema: upgraded from version {report.previous_version} to "
            f"{report.schema_version}"
            + (f" ({len(report.tables_created)} new tables)" if report.tables_created else "")
        )
    else:
        click.echo(f"schema: version {report.schema_version}, up to date")
    click.echo(
        "roles: "
        + "; ".join(
            part
            for part in (
                "created " + ", ".join(report.roles_created) if report.roles_created else "",
                "already there " + ", ".join(report.roles_found) if report.roles_found else "",
            )
            if part
        )
    )
    click.echo(
        f"row-level security: {len(report.policies_created)} policies created, "
        f"{len(report.policies_found)} already in place"
    )
    if report.owners_changed:
        click.echo(f"tables handed to srm_sync: {len(report.owners_changed)}")
    click.echo(
        "nothing else to do: the store was already set up"
        if not report.created
        else "next: CREATE ROLE alice LOGIN IN ROLE srm_agent (or srm_viewer, srm_sync), "
        "then run srm with --db URL or SRM_DB"
    )


@team_group.command("status")
@click.argument("url")
@click.option("--json", "as_json", is_flag=True)
@click.option("--debug", is_flag=True)
@handled
def team_status(url: str, as_json: bool, debug: bool) -> None:
    """The store's schema version, the team roles, who you are in it and a few row counts."""
    from srm_tui.team.init import store_status

    report = store_status(url)
    if as_json:
        click.echo(json_text(report.to_dict()))
        return
    click.echo(f"team store {report.location}")
    if report.schema_version is None:
        click.echo("schema: not readable by you (your login has no srm role)")
    elif report.schema_version == 0:
        click.echo("schema: none (not a team store yet: srm team init URL makes it one)")
    elif report.schema_version > report.known_version:
        click.echo(
            f"schema: version {report.schema_version}, newer than this srm "
            f"({report.known_version}): upgrade srm"
        )
    elif report.schema_version < report.known_version:
        click.echo(
            f"schema: version {report.schema_version}, older than this srm "
            f"({report.known_version}): srm team init URL upgrades it"
        )
    else:
        click.echo(f"schema: version {report.schema_version}, up to date")
    missing = [name for name, present in report.roles.items() if not present]
    click.echo("roles: " + ("all present" if not missing else "missing " + ", ".join(missing)))
    click.echo(f"you: {report.user}, role {report.role}")
    for table, n in report.counts.items():
        click.echo(f"{table}: " + ("not readable by you" if n is None else f"{n:,}"))


from srm_tui.cli import team_migrate  # noqa: E402, F401  (adds `srm team migrate` to the group)

"""`srm offers groups …` (season groups and their seasons) and `srm offers coupon` (the
campaigns holding a coupon code)."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from srm_tui.cli.common import command_options
from srm_tui.cli.offers import offer_service, offers
from srm_tui.domain import offers as od
from srm_tui.domain.campaigns import read_campaign
from srm_tui.domain.text import visible
from srm_tui.exits import EXIT_FAILURE, UsageProblem


def _instant(value: str, name: str) -> int:
    from srm_tui.config import parse_instant

    try:
        return int(parse_instant(value).timestamp())
    except ValueError:
        raise UsageProblem(f"{name}: not an ISO 8601 instant: {value[:40]!r}") from None


@offers.group("groups")
def groups() -> None:
    """Season groups and their seasons."""


@groups.command("list")
@click.option("--json", "as_json", is_flag=True)
@command_options
def groups_list(ctx: click.Context, as_json: bool, **flags: Any) -> None:
    """Cached season groups with their seasons."""
    with offer_service(ctx, flags, online=False) as service:
        found = list(service.groups().values())
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False))
        return
    for g in found:
        click.echo(f"{g['id']}  {visible(g['name'], 60)}  {len(g['seasons'])} season(s)")
        for s in g["seasons"]:
            click.echo(f"    {s['id']}: {od._date(s['startDate'])} .. {od._date(s['endDate'])}")


def _group_id(service: Any, value: str) -> str:
    found = service.groups()
    if value in found:
        return value
    named = [g["id"] for g in found.values() if g["name"].casefold() == value.casefold()]
    if not named:
        raise UsageProblem(f"GROUP: no season group {value!r} in the cache")
    return named[0]


@groups.command("create")
@click.argument("name")
@command_options
def groups_create(ctx: click.Context, name: str, **flags: Any) -> None:
    """Create a season group."""
    with offer_service(ctx, flags) as service:
        group = service.create_group(name)
    click.echo(json.dumps(group, ensure_ascii=False))


@groups.command("rename")
@click.argument("group")
@click.argument("name")
@command_options
def groups_rename(ctx: click.Context, group: str, name: str, **flags: Any) -> None:
    """Rename a season group (by id or name)."""
    with offer_service(ctx, flags) as service:
        found = service.rename_group(_group_id(service, group), name)
    click.echo(json.dumps(found, ensure_ascii=False))


@groups.command("delete")
@click.argument("group")
@command_options
def groups_delete(ctx: click.Context, group: str, **flags: Any) -> None:
    """Delete a season group (refused while it has active seasons or an offer uses it)."""
    with offer_service(ctx, flags) as service:
        service.delete_group(_group_id(service, group))
    click.echo("season group deleted")


@groups.command("add-season")
@click.argument("group")
@click.option("--start", required=True, help="ISO 8601; at least 31 days ahead")
@click.option("--end", required=True, help="ISO 8601; after the start")
@command_options
def groups_add_season(ctx: click.Context, group: str, start: str, end: str, **flags: Any) -> None:
    """Add a season to a group."""
    t0, t1 = _instant(start, "--start"), _instant(end, "--end")
    with offer_service(ctx, flags) as service:
        found = service.add_season(_group_id(service, group), t0, t1)
    click.echo(json.dumps(found, ensure_ascii=False))


@groups.command("edit-season")
@click.argument("group")
@click.argument("season_id", type=int)
@click.option("--start", required=True)
@click.option("--end", required=True)
@command_options
def groups_edit_season(
    ctx: click.Context, group: str, season_id: int, start: str, end: str, **flags: Any
) -> None:
    """Change a season's dates (only dates in the future)."""
    t0, t1 = _instant(start, "--start"), _instant(end, "--end")
    with offer_service(ctx, flags) as service:
        found = service.edit_season(_group_id(service, group), season_id, t0, t1)
    click.echo(json.dumps(found, ensure_ascii=False))


@groups.command("remove-season")
@click.argument("group")
@click.argument("season_id", type=int)
@command_options
def groups_remove_season(ctx: click.Context, group: str, season_id: int, **flags: Any) -> None:
    """Remove a group's last season."""
    with offer_service(ctx, flags) as service:
        found = service.remove_season(_group_id(service, group), season_id)
    click.echo(json.dumps(found, ensure_ascii=False))


# coupons ---------------------------------------------------------------------------------


@offers.command("coupon")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True)
@command_options
def offers_coupon(ctx: click.Context, code: str, as_json: bool, **flags: Any) -> None:
    """The campaigns holding a coupon code: discount, uses, status and constraints."""
    with offer_service(ctx, flags, online=None) as service:
        found = service.lookup_coupon(code)
    if as_json:
        click.echo(json.dumps(found.to_json(), ensure_ascii=False))
    else:
        # The cache's campaigns, else the API's answer (the vendor lists them only by code).
        for c in map(read_campaign, found.cached or found.api or []):
            click.echo(
                f"{visible(c.name, 60)}: "
                + visible(
                    f"{c.discount_text}, {c.uses_per_coupon}, "
                    f"{c.status_text}; offer types {', '.join(c.offer_types) or 'any'}, "
                    f"offers {', '.join(c.offers) or 'any'}, tags {', '.join(c.tags) or 'any'}"
                )
            )
            for fault in c.faults():
                click.echo(f"srm: {fault}", err=True)
        if found.api_error:
            click.echo(f"srm: the API did not answer: {found.api_error}", err=True)
    if not found.cached and not found.api:
        click.echo(f"srm: no campaign holds {code!r}", err=True)
        sys.exit(EXIT_FAILURE)

"""`srm rates import FILE` / `srm rates show [--json]`: the exchange rates behind the
reporting currency (CONTRACT sections 2 and 3)."""

from __future__ import annotations

import json
from typing import Any

import click

from srm_tui import runtime
from srm_tui.cli.common import command_options, command_session
from srm_tui.cli.team_writes import require_team_writer
from srm_tui.exits import UsageProblem


@click.group("rates")
def rates_group() -> None:
    """Exchange rates (ECB reference rates, units per EUR) for the reporting currency."""


@rates_group.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
@command_options
def rates_import(ctx: click.Context, file: str, as_json: bool, **flags: Any) -> None:
    """Replace the rates in force with an ECB CSV file (its latest date)."""
    from srm_tui.domain import rates

    s = command_session(ctx, flags)
    settings = s.settings
    require_team_writer(s, "srm rates import", "the team's exchange rates are")
    try:  # checked whole before the cache is touched: a bad file changes nothing
        table = rates.read_file(file)
    except rates.RatesError as exc:
        raise UsageProblem(f"{file}: {exc}") from None
    with s.cache.transaction() as conn:
        rates.store(conn, table, settings.now_ts())
    if as_json:
        click.echo(
            json.dumps({"imported": len(table.per_eur), "date": table.date, "source": table.source})
        )
    else:
        click.echo(
            f"rates of {table.date} in force: {len(table.per_eur)} currencies per EUR "
            f"from {table.source}"
        )
        _warn_reporting(table, settings.currency)


def _warn_reporting(table, currency: str) -> None:
    if not table.has(currency):
        click.echo(
            f"srm: the reporting currency {currency} has no rate in this table; "
            "totals across currencies will show as not available",
            err=True,
        )


@rates_group.command("show")
@click.option("--json", "as_json", is_flag=True)
@command_options
def rates_show(ctx: click.Context, as_json: bool, **flags: Any) -> None:
    """The rates in force, their date and where they came from."""
    from srm_tui.domain import rates

    s = command_session(ctx, flags)
    settings = s.settings
    # Without --db, a cache not made yet has no imported rates: the shipped table is in
    # force, and showing it creates nothing.
    has_cache = bool(settings.db) or runtime.cache_path(settings).exists()
    table = rates.in_force(s.cache.conn() if has_cache else None)
    if as_json:
        click.echo(
            json.dumps(
                {
                    **table.to_dict(),
                    "reporting_currency": settings.currency,
                    "reporting_rate": table.rate(settings.currency),
                }
            )
        )
        return
    click.echo(
        f"rates of {table.date} ({table.source}), units per 1 EUR; reporting "
        f"currency {settings.currency}"
    )
    for code in sorted(table.per_eur):
        click.echo(f"{code}  {table.per_eur[code]:g}")
    _warn_reporting(table, settings.currency)

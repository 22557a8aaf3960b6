"""`srm` itself: the root group (its options are every command's common options) and the
console, its default command."""

from __future__ import annotations

from typing import Any

import click

from srm_tui.cli.common import common, handled, settings


@click.group(invoke_without_command=True)
@common
@click.version_option(package_name="srm-tui")
@click.pass_context
def main(ctx: click.Context, **flags: Any) -> None:
    """srm: find a customer in a second, read the whole account, act on it."""
    ctx.obj = {k: v for k, v in flags.items() if v is not None}
    if ctx.invoked_subcommand is None:
        ctx.invoke(console)


@main.command(hidden=True)
@click.pass_context
@handled
def console(ctx: click.Context) -> None:
    """Open the console (the default command)."""
    from srm_tui.launch import launch_console

    launch_console(settings(ctx))

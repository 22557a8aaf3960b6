"""`srm` itself: the root group (its options are every command's common options) and the
console, its default command."""

from __future__ import annotations

import importlib
from typing import Any

import click

from srm_tui.cli.common import common, handled, settings

# Each top-level command and the module that defines it (a group's further modules add their
# commands to it when imported: actions and retention to `customer`, offer_files and
# offer_groups to `offers`, segments_saved to `segments`, team_migrate to `team`). A command's
# module is imported only when that command runs (or --help lists them all): `srm search`
# does not load the action rules, the bulk engine or the sandbox, which were most of every
# command's start (0.7 s CPU before, for `srm --version` too).
COMMANDS: dict[str, tuple[str, ...]] = {
    "sandbox": ("sandbox:sandbox",),
    "sync": ("sync:sync",),
    "fetch": ("sync:fetch",),
    "search": ("customers:search",),
    "customer": ("customers:customer", "actions", "retention"),
    "outbox": ("outbox:outbox_group",),
    "webhooks": ("webhooks:webhooks",),
    "segment": ("segments:segment_group", "segments_saved"),
    "schedules": ("schedules:schedules_group",),
    "offers": ("offers:offers", "offer_files", "offer_groups"),
    "api": ("api:api_group",),
    "import": ("imports:import_",),
    "rates": ("rates:rates_group",),
    "playbook": ("playbook:playbook_group",),
    "bulk": ("bulk:bulk_group",),
    "team": ("team:team_group",),
    "replicate": ("replicate:replicate",),
}


class LazyGroup(click.Group):
    """A group whose commands are imported on first use (see COMMANDS)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            load(cmd_name)
        return super().get_command(ctx, cmd_name)


def load(name: str) -> click.Command:
    """Import the command ``name`` (and the modules that complete it) and attach it."""
    first, *rest = COMMANDS[name]
    module, attr = first.split(":")
    command = getattr(importlib.import_module(f"srm_tui.cli.{module}"), attr)
    for extra in rest:
        importlib.import_module(f"srm_tui.cli.{extra}")
    main.add_command(command, name)
    return command


def load_all() -> None:
    """Every command attached (the command tree's tests and docs walk it whole)."""
    for name in COMMANDS:
        if name not in main.commands:
            load(name)


@click.group(cls=LazyGroup, invoke_without_command=True)
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

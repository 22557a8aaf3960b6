"""`srm customer pause|resume|terminate|activate|transfer`: the vendor's own subscription
and pass actions, run like every customer action (``--dry-run``, ``--yes``, ``--json``)."""

from __future__ import annotations

from typing import Any

import click

from srm_tui.actions.access import TERMINATION_TYPES
from srm_tui.cli import _action_options, _common, _names, _run_action, customer, handled


@customer.command("pause")
@click.argument("subscription_id")
@click.option(
    "--cycles", required=True, help="billing cycles the pause lasts (from the next billing date)"
)
@_action_options
@_common
@click.pass_context
@handled
def customer_pause(
    ctx: click.Context,
    subscription_id: str,
    cycles: str,
    dry_run: bool,
    yes: bool,
    as_json: bool,
    **flags: Any,
) -> None:
    """Pause a subscription from its next billing date for N billing cycles."""
    _run_action(
        ctx,
        "pause",
        {"subscription_id": subscription_id, "cycles": cycles},
        flags,
        dry_run=dry_run,
        yes=yes,
        as_json=as_json,
        names=_names("SUBSCRIPTION_ID", cycles="--cycles"),
    )


@customer.command("resume")
@click.argument("subscription_id")
@_action_options
@_common
@click.pass_context
@handled
def customer_resume(
    ctx: click.Context, subscription_id: str, dry_run: bool, yes: bool, as_json: bool, **flags: Any
) -> None:
    """Resume a paused subscription (or call off its scheduled pause)."""
    _run_action(
        ctx,
        "resume",
        {"subscription_id": subscription_id},
        flags,
        dry_run=dry_run,
        yes=yes,
        as_json=as_json,
        names=_names("SUBSCRIPTION_ID"),
    )


@customer.command("terminate")
@click.argument("access_id")
@click.option(
    "--type", "termination_type", required=True, help="why it ends: " + "|".join(TERMINATION_TYPES)
)
@_action_options
@_common
@click.pass_context
@handled
def customer_terminate(
    ctx: click.Context,
    access_id: str,
    termination_type: str,
    dry_run: bool,
    yes: bool,
    as_json: bool,
    **flags: Any,
) -> None:
    """End a subscription's or a pass's access now, with its type (irreversible)."""
    _run_action(
        ctx,
        "terminate",
        {"access_id": access_id, "type": termination_type},
        flags,
        dry_run=dry_run,
        yes=yes,
        as_json=as_json,
        names=_names("ACCESS_ID", type="--type"),
    )


@customer.command("activate")
@click.argument("subscription_id")
@_action_options
@_common
@click.pass_context
@handled
def customer_activate(
    ctx: click.Context, subscription_id: str, dry_run: bool, yes: bool, as_json: bool, **flags: Any
) -> None:
    """Re-activate a cancelled (stopped) subscription: it renews again."""
    _run_action(
        ctx,
        "activate",
        {"subscription_id": subscription_id},
        flags,
        dry_run=dry_run,
        yes=yes,
        as_json=as_json,
        names=_names("SUBSCRIPTION_ID"),
    )


@customer.command("transfer")
@click.argument("access_id")
@click.option("--to", "to", required=True, help="the id of the customer who receives it")
@_action_options
@_common
@click.pass_context
@handled
def customer_transfer(
    ctx: click.Context,
    access_id: str,
    to: str,
    dry_run: bool,
    yes: bool,
    as_json: bool,
    **flags: Any,
) -> None:
    """Move a subscription or a pass to another customer."""
    _run_action(
        ctx,
        "transfer",
        {"access_id": access_id, "to": to},
        flags,
        dry_run=dry_run,
        yes=yes,
        as_json=as_json,
        names=_names("ACCESS_ID", to="--to"),
    )

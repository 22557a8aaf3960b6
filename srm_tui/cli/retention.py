"""`srm customer cancel` with the retention playbook.

When a playbook rule matches the customer and the subscription, the cancel needs a decision:
``--take N`` runs offer N instead (a let-go offer, with ``--reason``, cancels), ``--reason``
cancels anyway; without either it exits 2 naming ``--take/--reason`` and listing the offers.
With no matching rule (or no playbook) it is the generated cancel command, unchanged.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from srm_tui.cli.actions import ACTION_OPTIONS, COMMANDS, preview_text, run_action
from srm_tui.cli.common import action_errors, command_options, options, session
from srm_tui.cli.customers import customer
from srm_tui.domain.text import json_text, visible
from srm_tui.exits import EXIT_FAILURE, EXIT_USAGE, UsageProblem
from srm_tui.faces import face

FACE = face("cancel")
NAMES = {**FACE.names(), "take": "--take"}


def proposals_text(p: Any) -> str:
    """The matching rule and its offers, as the command lists them."""
    lines = [
        f"playbook rule {visible(p.rule.name, 120)!r} (version {p.version}) offers, for "
        f"subscription {p.subscription_id} (customer {p.customer_id}):"
    ]
    for offer in p.offers:
        state = "" if offer.available else f"  [refused: {visible(offer.refused, 300)}]"
        lines.append(f"  {offer.number}) {offer.offer.describe()}{state}")
        lines += [f"       {visible(change, 200)}" for change in offer.changes()]
    lines += [f"  (rule skipped: {visible(s, 300)})" for s in p.skipped]
    return "\n".join(lines)


def _take_number(text: str | None, count: int) -> int | None:
    if text is None:
        return None
    value = text.strip()
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= count:
        raise UsageProblem(f"--take: an offer number 1..{count}, not {visible(text, 20)!r}")
    return int(value)


def _matching(ctx: click.Context, flags: dict[str, Any], subscription_id: str) -> Any:
    """The playbook's proposals for the subscription, or None (no rule, not cached, not an
    id: the plain cancel then says what it always said)."""
    text = subscription_id.strip()
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 2**63:
        return None
    with session(ctx, flags) as s:
        found = s.playbook.for_subscription(int(text))
    return found if found is not None and found.matched else None


@click.command("cancel", help=FACE.help)
@options(
    click.argument("subscription_id"),
    click.option(
        "--reason",
        "reason",
        default=None,
        help="why it is cancelled (with a playbook rule: cancel anyway)",
    ),
    click.option(
        "--take",
        "take",
        default=None,
        help="run the playbook's offer N instead of cancelling (N as listed)",
    ),
    *ACTION_OPTIONS,
)
@command_options
def customer_cancel(
    ctx: click.Context,
    subscription_id: str,
    reason: str | None,
    take: str | None,
    dry_run: bool,
    yes: bool,
    as_json: bool,
    **flags: Any,
) -> None:
    proposals = _matching(ctx, flags, subscription_id)
    if proposals is None:
        if take is not None:
            raise UsageProblem(
                f"--take: no playbook rule matches subscription {visible(subscription_id, 30)}; "
                "cancel it with --reason"
            )
        if reason is None:
            raise click.MissingParameter(ctx=ctx, param_hint="'--reason'", param_type="option")
        run_action(
            ctx,
            "cancel",
            {"subscription_id": subscription_id, "reason": reason},
            flags,
            dry_run=dry_run,
            yes=yes,
            as_json=as_json,
            names=FACE.names(),
        )
        return
    _retention(ctx, flags, proposals, reason, take, dry_run=dry_run, as_json=as_json)


def _retention(
    ctx: click.Context,
    flags: dict[str, Any],
    proposals: Any,
    reason: str | None,
    take: str | None,
    *,
    dry_run: bool,
    as_json: bool,
) -> None:
    from srm_tui.playbook.model import PlaybookInvalid

    number = _take_number(take, len(proposals.offers))
    chosen = proposals.offer(number) if number is not None else None
    if chosen is not None and not chosen.lets_go and reason is not None:
        raise UsageProblem(
            "--take/--reason: give one: --take N runs an offer, --reason cancels anyway"
        )
    if chosen is not None and chosen.lets_go and reason is None:
        raise UsageProblem(f"--reason: offer {number} lets them go: give the cancel's reason")
    if number is None and reason is None:
        with session(ctx, flags) as s:
            if not dry_run:
                s.playbook.offered(proposals)
        if as_json:
            click.echo(json_text({"status": "retention", "proposals": proposals.to_json()}))
        click.echo(proposals_text(proposals), err=True)
        click.echo(
            "srm: --take/--reason: a playbook rule matches: take an offer with --take N, or "
            "cancel anyway with --reason TEXT",
            err=True,
        )
        sys.exit(EXIT_USAGE)
    with action_errors(NAMES, as_json), session(ctx, flags) as s:
        try:
            if dry_run:
                _dry_run(s, proposals, chosen, reason, as_json)
            if chosen is not None and not chosen.lets_go:
                outcome = s.playbook.take(proposals, chosen.number)
                taken: dict[str, Any] = {"retention": "taken", "offer": chosen.number}
            else:
                outcome = s.playbook.decline(proposals, reason or "", index=number)
                taken = {"retention": "declined", "offer": number}
        except PlaybookInvalid as exc:
            raise UsageProblem(f"--take: {exc.reason}") from None
    if as_json:
        click.echo(json_text({**outcome.to_json(), **taken, "proposals": proposals.to_json()}))
    else:
        what = (
            f"took offer {chosen.number} ({chosen.offer.describe()})"
            if taken["retention"] == "taken" and chosen is not None
            else "cancelled anyway"
        )
        click.echo(f"retention: {what}; rule {visible(proposals.rule.name, 120)!r}")
        click.echo(visible(outcome.message, 4000))


def _dry_run(s: Any, proposals: Any, chosen: Any, reason: str | None, as_json: bool) -> None:
    """What the decision would do (the offer's preview, or the cancel's); exits."""
    if chosen is not None and not chosen.lets_go:
        preview = chosen.preview
        if preview is None:
            click.echo(f"srm: offer {chosen.number}: {chosen.refused}", err=True)
            sys.exit(EXIT_FAILURE)
    else:
        preview = s.local_actions.preview(
            "cancel", subscription_id=proposals.subscription_id, reason=reason
        )
    if as_json:
        click.echo(
            json_text(
                {**preview.to_json(), "proposals": proposals.to_json()},
                default=str,
            )
        )
    else:
        click.echo(proposals_text(proposals))
        click.echo(preview_text(preview))
    sys.exit(0 if preview.allowed else EXIT_FAILURE)


def install(group: click.Group) -> None:
    """Put this cancel in place of the generated one in the `srm customer` group."""
    COMMANDS["cancel"] = customer_cancel
    group.add_command(customer_cancel)


# The cancel with the retention playbook's step takes the generated cancel's place.
install(customer)

__all__ = ["customer_cancel", "install", "proposals_text"]

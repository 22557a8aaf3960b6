"""`srm outbox list|push|resolve`: the writes waiting for the API (support actions and offer
drafts, through the session's write engine), sent now, or settled after a conflict or a
failure."""

from __future__ import annotations

import sys
from typing import Any

import click

from srm_tui.cli.common import action_errors, command_options, session, shown
from srm_tui.domain.text import json_text, visible
from srm_tui.exits import EXIT_FAILURE, EXIT_UNREACHABLE, UsageProblem


@click.group("outbox")
def outbox_group() -> None:
    """Actions waiting for the API."""


def _push_report(summary: Any, as_json: bool) -> None:
    if as_json:
        click.echo(json_text(summary.as_json()))
    else:
        click.echo(
            f"sent {len(summary.sent)}, conflicts {len(summary.conflicts)}, "
            f"failed {len(summary.failed)}, still pending {summary.remaining}"
        )
        for message in summary.messages:
            click.echo(f"  {visible(message, 4000)}")
    if summary.stopped:
        click.echo(f"srm: push {visible(summary.stopped, 300)}", err=True)
        sys.exit(EXIT_UNREACHABLE if summary.unreachable else EXIT_FAILURE)
    if summary.conflicts or summary.failed:
        click.echo(
            "srm: some actions were not applied; see srm outbox list, then "
            "srm outbox resolve ID --retry|--discard",
            err=True,
        )
        if any(isinstance(i, str) for i in summary.conflicts + summary.failed):
            click.echo(
                "srm: offer drafts (offer:ID) are merged with srm offers resolve ID "
                "--mine/--theirs, or dropped with srm offers discard ID",
                err=True,
            )
        sys.exit(EXIT_FAILURE)


@outbox_group.command("list")
@click.option("--all", "show_all", is_flag=True, help="also sent, refused and discarded entries")
@click.option("--json", "as_json", is_flag=True)
@command_options
def outbox_list(ctx: click.Context, show_all: bool, as_json: bool, **flags: Any) -> None:
    """Pending actions and offer drafts, conflicts (with both versions) and failures, oldest
    first."""
    from srm_tui.writes.record import OPEN

    with action_errors(), session(ctx, flags) as s:
        items = s.local_writes.writes(None if show_all else OPEN)
    if as_json:
        click.echo(json_text([i.to_json() for i in items]))
        return
    if not items:
        click.echo("the outbox is empty", err=True)
    for item in items:
        data = item.to_json()
        click.echo(
            f"#{item.number!s:<5} {item.status:9} {data['created_at']}  {item.agent or '-'}  "
            + (f"{item.title}: {item.target}" if item.kind == "action" else item.title)
        )
        for change in item.changes:
            click.echo(
                f"        {visible(change.what, 60)}: {shown(change.before)} -> "
                f"{shown(change.after)}"
            )
        for version in data["versions"]:
            click.echo(
                f"        {version['record']} {version['field']}: base "
                f"{shown(version['base'])}, queued {shown(version['queued'])}, "
                f"API now {shown(version['server'])}"
            )
        if item.last_error and item.status != "sent":
            click.echo(f"        {visible(item.last_error, 300)}")


@outbox_group.command("push")
@click.option("--json", "as_json", is_flag=True)
@command_options
def outbox_push(ctx: click.Context, as_json: bool, **flags: Any) -> None:
    """Send the pending actions, then the offer drafts, oldest first, each exactly once."""
    with action_errors(as_json=as_json), session(ctx, flags) as s:
        summary = s.writes.push()
    _push_report(summary, as_json)


class WriteId(click.ParamType):
    """An outbox entry's number, or ``offer:N`` for an offer draft."""

    name = "integer"

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if isinstance(value, int):
            return value
        text = str(value).strip()
        if text.startswith("offer:") and text[len("offer:") :].isdigit():
            return text
        try:
            return int(text)
        except ValueError:
            self.fail(
                f"{value!r} is not a valid integer (or offer:N for an offer draft)", param, ctx
            )


@outbox_group.command("resolve")
@click.argument("outbox_id", type=WriteId())
@click.option("--retry", is_flag=True, help="send it again as it is (over the API's version)")
@click.option("--discard", is_flag=True, help="drop it (recorded in the audit log)")
@click.option("--json", "as_json", is_flag=True)
@command_options
def outbox_resolve(
    ctx: click.Context, outbox_id: Any, retry: bool, discard: bool, as_json: bool, **flags: Any
) -> None:
    """Settle a conflict or a failure: --retry sends it again, --discard drops it (offer:N: an
    offer draft; --retry keeps every field of the draft over the server's)."""
    if retry == discard:
        raise UsageProblem("--retry/--discard: give exactly one")
    if isinstance(outbox_id, str):  # an offer draft, settled as `srm offers resolve|discard`
        from srm_tui.cli.offers import offer_service, show_result

        number = int(outbox_id.split(":", 1)[1])
        with offer_service(ctx, flags, online=None if retry else False) as service:
            kind = service.write_kind()
            result = kind.retry(number) if retry else kind.discard(number)
        show_result(result, as_json)
        return
    with action_errors({"id": "ID"}, as_json), session(ctx, flags) as s:
        service = s.actions
        item = service.resolve(outbox_id, retry=retry)
        summary = service.push() if retry and service.online else None
        if summary is not None:
            item = next(i for i in service.outbox_items(None) if i.id == outbox_id)
    if summary is not None:
        _push_report(summary, as_json)
        return
    if as_json:
        click.echo(json_text(item.to_json()))
    else:
        click.echo(f"#{item.id} {item.title} ({item.target}): {item.status}")

"""`srm bulk ACTION --segment NAME|FILE …`: a support action for every member of a segment;
`srm bulk list|show|resume|pause|cancel RUN`: the runs.

The action commands take the action's own flags (srm_tui.faces: the same as `srm customer
ACTION`), ``--dry-run`` (the member count, a sample of what changes, who a rule refuses and
why; nothing written), ``--yes`` (needed when stdin is not a terminal) and, for a run that
cannot be undone, ``--confirm-count N`` (the member count typed back). ``cancel``, ``pause``
and ``resume`` are both actions (with ``--segment``) and run controls (with RUN).

Exit status: 0 the run ended (done, paused or cancelled as asked); 2 bad input, a role that
may not, an action the API does not offer (nothing sent); 3 the API stopped answering (the
run is paused; `srm bulk resume RUN` continues it); 1 anything else.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from srm_tui.bulk.model import ACTIONS, DryRun, Run
from srm_tui.cli.actions import preview_text, stdin_text
from srm_tui.cli.common import ProgressBar, Session, action_errors, command_options, session
from srm_tui.domain.text import count, json_text, visible
from srm_tui.exits import EXIT_UNREACHABLE, UsageProblem
from srm_tui.faces import face

NAMES = {
    "days": "--days",
    "until": "--until",
    "code": "--code",
    "reason": "--reason",
    "cycles": "--cycles",
    "text": "TEXT",
    "segment": "--segment",
    "confirm_count": "--confirm-count",
    "role": "--role",
    "run": "RUN",
    "action": "ACTION",
    "api": "--api-url",
    "access_id": "member",
    "subscription_id": "member",
    "customer_id": "member",
}
SHOWN_REFUSALS = 20
HELP = {
    "extend": "Extend each member's subscription: --days from its own end, or --until.",
    "coupon-apply": "Apply a coupon (--code) to each member's subscription.",
    "cancel": "Cancel each member's subscription (cannot be undone: --confirm-count).",
    "pause": "Pause each member's subscription for --cycles billing cycles.",
    "resume": "Resume each member's paused subscription.",
    "note-add": "Add a note (TEXT; - reads stdin) to each member.",
}


@click.group("bulk")
def bulk_group() -> None:
    """Bulk actions over a segment: one action for every member, resumable, with a report."""


@contextmanager
def bulk_session(ctx: click.Context, flags: dict[str, Any], as_json: bool) -> Iterator[Session]:
    """The command's session; viewers may do none of it; bad input and an action the API
    does not offer are exit 2 before anything is sent."""
    from srm_tui.api.profile import NotOffered

    with action_errors(NAMES, as_json), session(ctx, flags) as s:
        if s.settings.role == "viewer":
            raise UsageProblem("--role: the viewer role is read only: it can run no bulk action")
        try:
            yield s
        except NotOffered as exc:
            raise UsageProblem(f"ACTION: {exc}") from None


def dry_run_text(dry: DryRun) -> str:
    """A dry run as the lines it prints."""
    lines = [
        f"bulk {dry.action} over segment {visible(dry.segment, 80)!r}: "
        f"{count(dry.members, 'member')}",
        f"  {dry.allowed:,} would change; {dry.members - dry.allowed:,} refused by a rule",
    ]
    if dry.sample:
        lines.append(f"sample (the first {len(dry.sample)}):")
        for preview in dry.sample:
            lines += ["  " + line for line in preview_text(preview).splitlines()]
    if dry.refused:
        lines.append("refused by rule:")
        lines += [f"  {rule}: {n:,}" for rule, n in dry.by_rule().items()]
        for r in dry.refused[:SHOWN_REFUSALS]:
            on = f" subscription {r.subscription_id}" if r.subscription_id else ""
            lines.append(f"  customer {r.customer_id}{on}: {r.rule}: {visible(r.reason, 200)}")
        if len(dry.refused) > SHOWN_REFUSALS:
            lines.append(f"  … and {len(dry.refused) - SHOWN_REFUSALS:,} more (--json lists all)")
    if dry.irreversible:
        lines.append("irreversible: type the member count back to run it (--confirm-count)")
    if dry.needs_role:
        lines.append(f"over bulk_limit {dry.limit:,}: only an owner or an admin may run it")
    lines.append("dry run: nothing was written")
    return "\n".join(lines)


def run_text(run: Run) -> str:
    return f"{run.label} {run.action} over {run.segment!r}: {run.status}; {run.summary()}"


def _progress_bar(run_id: int) -> tuple[Any, Any]:
    bar = ProgressBar.for_terminal(f"bulk #{run_id}")
    if bar is None:
        return None, None

    def tell(p: Any) -> None:
        c = p.counts
        bar.update(
            f"{c['done']:,} done, {c['refused']:,} refused, {c['failed']:,} failed",
            p.settled,
            p.members,
        )

    return bar, tell


def carry_on(s: Session, run_id: int, as_json: bool) -> None:
    """Run (or resume) a run to its end with a progress bar on a terminal; print its end."""
    bar, tell = _progress_bar(run_id)
    try:
        run = s.bulk.run(run_id, tell)
    finally:
        if bar:
            bar.close()
    if as_json:
        click.echo(json_text(run.to_json()))
    else:
        click.echo(run_text(run))
    if run.status == "paused" and run.note and "did not answer" in run.note:
        click.echo(f"srm: {visible(run.note, 500)}", err=True)
        sys.exit(EXIT_UNREACHABLE)
    if run.note and run.status != "done":
        click.echo(f"srm: {visible(run.note, 500)}", err=True)


def start(
    ctx: click.Context,
    action: str,
    segment: str,
    params: dict[str, Any],
    *,
    dry_run: bool,
    yes: bool,
    confirm_count: int | None,
    as_json: bool,
    flags: dict[str, Any],
) -> None:
    """A bulk action: dry run, or confirm, freeze and run it."""
    with bulk_session(ctx, flags, as_json) as s:
        if dry_run:
            dry = s.bulk.dry_run(action, segment, params)
            click.echo(json_text(dry.to_json(), default=str) if as_json else dry_run_text(dry))
            return
        if not yes:
            if not sys.stdin.isatty():
                raise UsageProblem(
                    f"--yes: a bulk {action} changes every member of the segment and stdin "
                    "is not a terminal; confirm it with --yes"
                )
            dry = s.bulk.dry_run(action, segment, params)
            click.echo(dry_run_text(dry).rsplit("\n", 1)[0], err=True)
            if dry.irreversible and confirm_count is None:
                confirm_count = click.prompt(
                    f"{action} cannot be undone. Type the member count to go ahead",
                    type=int,
                    err=True,
                )
            elif not click.confirm(f"Run it for {count(dry.members, 'member')}?", err=True):
                click.echo("srm: not confirmed; nothing changed", err=True)
                sys.exit(1)
        run = s.bulk.start(action, segment, params, confirm_count=confirm_count)
        if not as_json:
            click.echo(f"{run.label}: {count(run.members, 'member')} frozen", err=True)
        carry_on(s, run.id, as_json)


def _action_command(action: str) -> click.Command:
    """`srm bulk ACTION` with the action's flags (and the run control of the same name)."""
    own = face(action)
    control = action in ("cancel", "pause", "resume")

    def command(ctx: click.Context, **given: Any) -> None:
        run_ref = given.pop("run", None)
        segment = given.pop("segment")
        dry_run, yes, as_json = given.pop("dry_run"), given.pop("yes"), given.pop("as_json")
        confirm_count = given.pop("confirm_count")
        params = {f.field: given.pop(f.field) for f in own.flags}
        if action == "extend":
            params["days"] = given.pop("days")
        if own.text:
            text = given.pop(own.text)
            params[own.text] = None if text is None else stdin_text(text)
        if control and run_ref is not None:
            if segment is not None:
                raise UsageProblem("RUN: give a run or --segment, not both")
            control_run(ctx, action, run_ref, as_json, given)
            return
        if segment is None:
            what = "--segment: required (a saved segment's name or a segment file)"
            raise UsageProblem(what + (", or a RUN to " + action if control else ""))
        start(
            ctx,
            action,
            segment,
            params,
            dry_run=dry_run,
            yes=yes,
            confirm_count=confirm_count,
            as_json=as_json,
            flags=given,
        )

    command.__name__ = "bulk_" + action.replace("-", "_")
    decorators: list[Any] = []
    if control:
        decorators.append(click.argument("run", required=False, type=int))
    if own.text:
        decorators.append(click.argument(own.text, required=False))
    decorators.append(
        click.option("--segment", default=None, help="a saved segment's name, or a segment file")
    )
    if action == "extend":
        decorators.append(
            click.option(
                "--days", default=None, help="days added to each member's own end date (1-3650)"
            )
        )
    for flag in own.flags:
        decorators.append(click.option(flag.decl, flag.field, default=None, help=flag.help or None))
    decorators += [
        click.option(
            "--dry-run", is_flag=True, help="print the count, a sample and the refusals; no change"
        ),
        click.option("--yes", is_flag=True, help="go ahead (needed when stdin is not a terminal)"),
        click.option(
            "--confirm-count",
            type=int,
            default=None,
            help="the member count typed back (an action that cannot be undone)",
        ),
        click.option("--json", "as_json", is_flag=True, help="print the result as JSON"),
    ]
    f: Any = command_options(command)
    for decorator in reversed(decorators):
        f = decorator(f)
    what = HELP[action]
    if control:
        what += f" With RUN instead: {action} that bulk run."
    return click.command(action, help=what)(f)


def control_run(
    ctx: click.Context, what: str, run_id: int, as_json: bool, flags: dict[str, Any]
) -> None:
    """Pause, cancel or resume a run."""
    with bulk_session(ctx, flags, as_json) as s:
        if what == "resume":
            found = s.bulk.require(run_id)
            if not found.open and not found.counts.get("queued"):
                raise UsageProblem(f"RUN: bulk #{run_id} is {found.status}: nothing to resume")
            carry_on(s, run_id, as_json)
            return
        run = s.bulk.pause(run_id) if what == "pause" else s.bulk.cancel(run_id)
    if as_json:
        click.echo(json_text(run.to_json()))
    elif what == "pause":
        click.echo(f"{run.label}: pause asked; it stops after its current batch")
    else:
        click.echo(run_text(run))


for _action in ACTIONS:
    bulk_group.add_command(_action_command(_action))


@bulk_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@command_options
def bulk_list(ctx: click.Context, as_json: bool, **flags: Any) -> None:
    """The bulk runs, newest first."""
    with bulk_session(ctx, flags, as_json) as s:
        runs = s.bulk.runs()
    if as_json:
        click.echo(json_text([r.to_json() for r in runs]))
        return
    if not runs:
        click.echo("no bulk runs")
        return
    for run in runs:
        click.echo(run_text(run))


@bulk_group.command("show")
@click.argument("run", type=int)
@click.option("--csv", "csv_path", default=None, type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="replace the CSV file if it exists")
@click.option("--json", "as_json", is_flag=True, help="the whole report, every member")
@command_options
def bulk_show(
    ctx: click.Context, run: int, csv_path: str | None, force: bool, as_json: bool, **flags: Any
) -> None:
    """A run's report: its definition, its counts, who a rule refused and who failed."""
    with bulk_session(ctx, flags, as_json) as s:
        report = s.bulk.report(run)
        if csv_path:
            written = s.bulk.write_csv(run, csv_path, replace=force)
            click.echo(f"wrote {count(written, 'member')} to {csv_path}", err=True)
        found = s.bulk.require(run)
    if as_json:
        click.echo(json_text(report))
        return
    if csv_path:
        return
    click.echo(run_text(found))
    click.echo(f"  params: {visible(json.dumps(found.params, ensure_ascii=False), 300)}")
    click.echo(f"  by {found.agent} ({found.role}); {found.note or ''}".rstrip("; "))
    for rule, n in report["refused_by_rule"].items():
        click.echo(f"  refused by {rule}: {n:,}")
    failed = [m for m in report["members"] if m["status"] == "failed"]
    for m in failed[:SHOWN_REFUSALS]:
        click.echo(
            f"  failed: customer {m['customer_id']}: {m['rule']}: {visible(m['reason'], 200)}"
        )

"""`srm customer ACTION …`: one command per support action, generated from the action
registry (``srm_tui.actions.registry``: the ActionSpec's inputs and the Face saying how the
command line takes them). Each takes its target id (and TEXT for notes) as arguments, its
inputs as flags, and ``--dry-run``, ``--yes``, ``--json``.

A dry run prints what would change and which rule blocks it; an irreversible action asks
for confirmation on a terminal and needs ``--yes`` otherwise; a refusal exits 1 naming the
rule; offline, the action is queued in the outbox and the command says so.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from srm_tui.actions.registry import FACES, Face
from srm_tui.cli.common import action_errors, command_options, options, session, shown
from srm_tui.cli.customers import customer
from srm_tui.domain.text import json_text, visible
from srm_tui.exits import EXIT_FAILURE, UsageProblem

ACTION_OPTIONS = (
    click.option(
        "--dry-run",
        is_flag=True,
        help="print what would change and which rule blocks it; change nothing",
    ),
    click.option(
        "--yes",
        is_flag=True,
        help="confirm an irreversible action (needed when stdin is not a terminal)",
    ),
    click.option("--json", "as_json", is_flag=True, help="print the result as JSON"),
)


def preview_text(preview: Any) -> str:
    """A preview as the lines a dry run prints."""
    head = f"{preview.title}: {preview.target}"
    if preview.customer_id is not None and not preview.target.startswith("customer "):
        head += f" (customer {preview.customer_id})"
    lines = [head]
    lines += [
        f"  {visible(c.what, 80)}: {shown(c.before)} -> {shown(c.after)}" for c in preview.changes
    ]
    lines += [f"  warning: {visible(w, 300)}" for w in preview.warnings]
    if preview.irreversible:
        lines.append("  irreversible: it cannot be undone")
    lines.append(f"  request: {preview.request.method} {preview.request.path}")
    if preview.allowed:
        lines.append("allowed")
    else:
        lines.append(
            f"blocked by rule {preview.blocked.rule}: {visible(preview.blocked.message, 500)}"
        )
    return "\n".join(lines)


def stdin_text(text: str) -> str:
    """TEXT `-` reads stdin (its final line break dropped)."""
    if text != "-":
        return text
    raw = click.get_binary_stream("stdin").read()
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageProblem(
            f"TEXT: standard input is not UTF-8 text (byte 0x{raw[exc.start]:02x} "
            f"at offset {exc.start})"
        ) from None
    return decoded.rstrip("\r\n")


def run_action(
    ctx: click.Context,
    name: str,
    args: dict[str, Any],
    flags: dict[str, Any],
    *,
    dry_run: bool,
    yes: bool,
    as_json: bool,
    names: dict[str, str],
) -> None:
    """Preview an action (a dry run prints it), confirm it if irreversible, run it."""
    with action_errors(names, as_json), session(ctx, flags) as s:
        # A dry run plans from the cache alone: it never starts the demo's sandbox.
        service = s.local_actions if dry_run else s.actions
        if dry_run:
            service.profile()  # learn what the API offers (remembered in the cache)
        preview = service.preview(name, **args)
        if dry_run:
            click.echo(
                json_text(preview.to_json(), default=str) if as_json else preview_text(preview)
            )
            sys.exit(0 if preview.allowed else EXIT_FAILURE)
        if preview.allowed and preview.irreversible and not yes:
            if not sys.stdin.isatty():
                raise UsageProblem(
                    f"--yes: {name} is irreversible and stdin is not a terminal;"
                    " confirm it with --yes"
                )
            click.echo(preview_text(preview), err=True)
            if not click.confirm(f"{preview.title} cannot be undone. Go ahead?", err=True):
                click.echo("srm: not confirmed; nothing changed", err=True)
                sys.exit(EXIT_FAILURE)
            yes = True
        outcome = service.run(name, confirm=yes, **args)
    if as_json:
        click.echo(json_text(outcome.to_json()))
    else:
        # Long enough for the export files an anonymization names.
        click.echo(visible(outcome.message, 4000))


def _flag_option(face: Face, flag: Any) -> Any:
    """The click option of one of an action's inputs."""
    field = face.spec.field(flag.field)
    help_text = field.help if flag.help is None else flag.help
    if "/" in flag.decl:  # a yes/no pair: not given leaves the action's default
        return click.option(flag.decl, flag.field, default=None, help=help_text)
    if field.type == "bool":
        return click.option(
            flag.decl, flag.field, is_flag=True, default=flag.default, help=help_text
        )
    return click.option(
        flag.decl, flag.field, required=field.required, default=None, help=help_text
    )


def make_command(face: Face) -> click.Command:
    """The `srm customer …` command of one action, drawn from its spec and face."""
    target = face.spec.target_field.name
    inputs = [f.field for f in face.flags]

    def command(ctx: click.Context, **given: Any) -> None:
        args = {target: given.pop(target)}
        if face.text:
            args[face.text] = stdin_text(given.pop(face.text))
        args.update({name: given.pop(name) for name in inputs})
        dry_run, yes, as_json = given.pop("dry_run"), given.pop("yes"), given.pop("as_json")
        run_action(
            ctx,
            face.action,
            args,
            given,
            dry_run=dry_run,
            yes=yes,
            as_json=as_json,
            names=face.names(),
        )

    command.__name__ = "customer_" + face.action.replace("-", "_")
    arguments = [click.argument(target)] + ([click.argument(face.text)] if face.text else [])
    decorate = options(
        *arguments,
        *(_flag_option(face, flag) for flag in face.flags),
        *ACTION_OPTIONS,
    )
    return click.command(face.command[-1], help=face.help)(decorate(command_options(command)))


@customer.group("note")
def customer_note() -> None:
    """Internal notes on a customer (1 to 2,500 characters)."""


GROUPS = {("note",): customer_note}

COMMANDS = {face.action: make_command(face) for face in FACES}
for _face in FACES:
    GROUPS.get(_face.command[:-1], customer).add_command(COMMANDS[_face.action])

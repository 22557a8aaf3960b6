"""Every `srm` command keeps its name, its arguments and its flags (CONTRACT section 3).

The whole command tree is walked through click's own objects and written one line per
command, argument and option; the result must equal tests/data/cli-commands.txt, which was
written from the command line as it was before it moved into the ``srm_tui.cli`` package
(commit 55a2fc4). One real `srm --help` (and `srm customer --help`) in a child process shows
the same commands to a user.

A deliberate change to the command line regenerates the list:
``python -m tests.integration.test_cli_help > tests/data/cli-commands.txt``.
"""

from __future__ import annotations

from pathlib import Path

import click

from tests.helpers import run_srm

LIST = Path(__file__).resolve().parent.parent / "data" / "cli-commands.txt"


def _param(param: click.Parameter) -> str:
    """One parameter as a line: kind, names, and whether it takes a value."""
    if isinstance(param, click.Argument):
        line = f"argument {param.human_readable_name}"
        if param.nargs != 1:
            line += f" nargs={param.nargs}"
        line += " required" if param.required else " optional"
    else:
        assert isinstance(param, click.Option)
        names = "/".join(sorted(param.opts))
        if param.secondary_opts:
            names += " | " + "/".join(sorted(param.secondary_opts))
        line = f"option {names} " + ("flag" if param.is_flag else "value")
        if param.required:
            line += " required"
        if param.multiple:
            line += " multiple"
    if isinstance(param.type, click.Choice):
        line += " choice=" + ",".join(param.type.choices)
    return line


def walk(command: click.Command, path: tuple[str, ...] = ("srm",)) -> list[str]:
    """Every command path of the tree, each with its parameters, sorted by path."""
    kind = "group" if isinstance(command, click.Group) else "command"
    if command.hidden:
        kind += " hidden"
    head = " ".join(path)
    lines = [f"{head}: {kind}"]
    # Arguments in their order (it is their meaning), options sorted (theirs is not).
    lines += [f"{head}: {_param(p)}" for p in command.params if isinstance(p, click.Argument)]
    lines += sorted(
        f"{head}: {_param(p)}" for p in command.params if not isinstance(p, click.Argument)
    )
    if isinstance(command, click.Group):
        for name in sorted(command.commands):
            lines += walk(command.commands[name], (*path, name))
    return lines


def current() -> list[str]:
    from srm_tui.cli.root import load_all, main

    load_all()  # the commands are imported on first use: the whole tree is walked here
    return walk(main)


def _listed() -> list[str]:
    return [
        line
        for line in LIST.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    ]


def test_every_command_keeps_its_name_arguments_and_flags():
    listed, now = _listed(), current()
    missing = [line for line in listed if line not in now]
    added = [line for line in now if line not in listed]
    assert not missing and not added, (
        f"gone from the command line: {missing}\nnew on the command line: {added}"
    )
    assert now == listed  # the same order too: nothing renamed into another's place


def test_the_list_is_the_whole_contract_command_table():
    """The list holds every command CONTRACT section 3 names, with its flags (so the list
    itself cannot have been written from a command line that had lost one)."""
    listed = set(_listed())
    for line in (
        "srm sync: option --full flag",
        "srm sync: option --json flag",
        "srm search: argument QUERY required",
        "srm search: option --limit value",
        "srm search: option --stats flag",
        "srm customer show: argument CUSTOMER_ID required",
        "srm segment export: option --format value required choice=csv,json",
        "srm segment export: option --force flag",
        "srm offers list: option --json flag",
        "srm outbox push: option --json flag",
        "srm api check: option --json flag",
        "srm import: argument FILES nargs=-1 required",
        "srm rates import: argument FILE required",
        "srm webhooks subscribe: option --topics value",
        "srm sandbox seed-db: option --customers value required",
        "srm sandbox serve: option --faults value",
        "srm customer refund: option --keep-access | --revoke-access flag",
        "srm customer refund: option --reason value required",
        "srm customer terminate: option --type value required",
        "srm customer transfer: option --to value required",
        "srm customer pause: option --cycles value required",
        "srm customer note add: argument TEXT required",
        "srm customer cancel-transaction: option --refund flag",
    ):
        assert line in listed, line
    actions = [
        "edit",
        "anonymize",
        "extend",
        "cancel",
        "refund",
        "cancel-transaction",
        "delete-payment-details",
        "resend",
        "note add",
        "note edit",
        "note delete",
        "coupon-apply",
        "pause",
        "resume",
        "terminate",
        "activate",
        "transfer",
    ]
    for action in actions:
        for flag in ("--dry-run", "--yes", "--json"):
            assert f"srm customer {action}: option {flag} flag" in listed, (action, flag)


def test_srm_help_shows_the_commands_to_a_user():
    """The installed entry point (python -m srm_tui) answers --help with every visible
    top-level command, and `srm customer --help` with every customer action."""
    from srm_tui.cli.root import load_all, main

    load_all()
    done = run_srm("--help", timeout=120)
    assert done.returncode == 0, done.stderr
    shown = {line.split()[0] for line in done.stdout.splitlines() if line.startswith("  ")}
    visible = {name for name, cmd in main.commands.items() if not cmd.hidden}
    assert visible <= shown, visible - shown
    assert {"sync", "search", "customer", "outbox", "offers", "segment", "api"} <= visible
    done = run_srm("customer", "--help", timeout=120)
    assert done.returncode == 0, done.stderr
    for action in ("refund", "extend", "cancel", "pause", "resume", "terminate", "transfer"):
        assert f"  {action} " in done.stdout, action


if __name__ == "__main__":
    print(
        "# srm's command tree: one line per command, argument and option "
        "(tests/integration/test_cli_help.py)"
    )
    print("\n".join(current()))

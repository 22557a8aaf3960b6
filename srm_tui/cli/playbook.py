"""`srm playbook …`: the retention playbook (rules of offers made when a customer cancels).

``import FILE`` saves a checked file as the next version; ``export`` prints or writes the
current one; ``check FILE`` checks a file against this cache without saving; ``show`` prints
the current version; ``report`` counts offered / taken / declined and the save rate per rule
and per offer from the audit trail.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from srm_tui.cli.common import (
    action_errors,
    command_options,
    json_option,
    options,
    session,
    settings,
)
from srm_tui.cli.team_writes import require_team_writer
from srm_tui.domain.text import count, json_text, visible
from srm_tui.exits import EXIT_USAGE, UsageProblem

MAX_BYTES = 1 << 20  # a playbook is a few rules; anything larger is not one


@click.group("playbook")
def playbook_group() -> None:
    """The retention playbook: offers made when a customer cancels."""


def read_playbook(path: str) -> Any:
    """A playbook file, parsed and checked on its own (exit 2 naming the file and the path)."""
    from srm_tui.playbook.model import PlaybookInvalid, loads

    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise UsageProblem(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if len(data) > MAX_BYTES:
        raise UsageProblem(f"{path}: larger than {MAX_BYTES:,} bytes; not a playbook")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageProblem(f"{path}: not UTF-8 text") from None
    try:
        return loads(text)
    except PlaybookInvalid as exc:
        raise UsageProblem(f"{path}: {visible(str(exc), 500)}") from None


def _refuse(path: str, faults: list[Any], as_json: bool) -> None:
    """The cache's faults of a playbook: each on stderr, exit 2."""
    if as_json:
        click.echo(json_text({"ok": False, "faults": [str(f) for f in faults]}))
    for fault in faults:
        click.echo(f"srm: {path}: {visible(str(fault), 500)}", err=True)
    sys.exit(EXIT_USAGE)


@playbook_group.command("import")
@options(
    click.argument("file"),
    click.option(
        "--force", is_flag=True, help="save even if the playbook changed since the file's version"
    ),
    json_option,
)
@command_options
def import_playbook(
    ctx: click.Context, file: str, force: bool, as_json: bool, **flags: Any
) -> None:
    """Check FILE and save it as the playbook's next version."""
    from srm_tui.playbook.service import PlaybookConflict

    pb = read_playbook(file)
    with action_errors(None, as_json), session(ctx, flags) as s:
        require_team_writer(s, "srm playbook import", "the team's playbook is")
        faults = s.playbook.check(pb)
        if faults:
            _refuse(file, faults, as_json)
        current = s.playbook.current().version
        # A file exported at version N and edited is based on N: a save made since then by
        # someone else is not overwritten without --force.
        base = current if force or pb.version >= current else pb.version
        try:
            saved = s.playbook.save(pb, base_version=base)
        except PlaybookConflict as exc:
            raise UsageProblem(f"{file}: {exc} (or give --force)") from None
    if as_json:
        click.echo(json_text({"version": saved.version, "rules": len(saved.rules)}))
    else:
        click.echo(f"playbook version {saved.version} saved ({count(len(saved.rules), 'rule')})")


@playbook_group.command("check")
@options(click.argument("file"), json_option)
@command_options
def check_playbook(ctx: click.Context, file: str, as_json: bool, **flags: Any) -> None:
    """Check FILE against this cache (segments, offers, coupons); save nothing."""
    pb = read_playbook(file)
    with session(ctx, flags) as s:
        faults = s.playbook.check(pb)
    if faults:
        _refuse(file, faults, as_json)
    if as_json:
        click.echo(json_text({"ok": True, "faults": [], "rules": len(pb.rules)}))
    else:
        click.echo(f"{file}: ok ({count(len(pb.rules), 'rule')})")


@playbook_group.command("export")
@options(
    click.option("--out", default=None, type=click.Path(dir_okay=False), help="write to FILE"),
    click.option("--force", is_flag=True, help="replace FILE if it exists"),
)
@command_options
def export_playbook(ctx: click.Context, out: str | None, force: bool, **flags: Any) -> None:
    """Print the current playbook as JSON, or write it to --out FILE (never through a link;
    an existing FILE only with --force)."""
    from srm_tui.playbook.model import to_json
    from srm_tui.storage.files import write_text

    with session(ctx, flags) as s:
        pb = s.playbook.current()
    text = json.dumps(to_json(pb), indent=2, ensure_ascii=False) + "\n"
    if out is None:
        click.echo(text, nl=False)
        return
    write_text(Path(out), text, replace=force)
    click.echo(f"playbook version {pb.version} written to {out}", err=True)


def _segment_text(segment: Any) -> str:
    if isinstance(segment, str):
        return f"saved segment {visible(segment, 120)!r}"
    return f"inline {json.dumps(segment, ensure_ascii=False)}"


@playbook_group.command("show")
@options(json_option)
@command_options
def show_playbook(ctx: click.Context, as_json: bool, **flags: Any) -> None:
    """The current playbook: its version and rules, first match wins."""
    from srm_tui.actions.rules import iso
    from srm_tui.playbook.model import to_json

    with session(ctx, flags) as s:
        pb = s.playbook.current()
        saved = next((v for v in s.playbook.versions() if v[0] == pb.version), None)
    if as_json:
        doc = to_json(pb)
        doc["saved_at"] = iso(saved[1]) if saved else None
        doc["saved_by"] = saved[2] if saved else None
        click.echo(json_text(doc))
        return
    if not pb.rules:
        click.echo(f"playbook version {pb.version}: no rules (a cancel offers nothing)")
        return
    by = f" by {visible(saved[2], 60)}" if saved and saved[2] else ""
    click.echo(f"playbook version {pb.version}, saved {iso(saved[1]) if saved else '?'}{by}")
    for i, rule in enumerate(pb.rules, 1):
        click.echo(f"{i}. {visible(rule.name, 120)}: {visible(_segment_text(rule.segment), 300)}")
        for n, offer in enumerate(rule.offers, 1):
            click.echo(f"   {n}) {offer.describe()}")


def parse_since(text: str | None, now: int) -> int | None:
    """--since as an instant: an ISO date or instant, or a relative form (-30d, -2w,
    yesterday) as segment values take it."""
    from srm_tui.segments.validate import parse_date, resolve_date
    from srm_tui.segments.values import relative_value

    if text is None:
        return None
    form = relative_value(text)
    try:
        return int(resolve_date(form, now) if form else parse_date(text))
    except (ValueError, OverflowError):
        raise UsageProblem(
            f"--since: a date (2026-10-01), an instant or a relative date (-30d), "
            f"not {visible(text, 40)!r}"
        ) from None


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f} %"


@playbook_group.command("report")
@options(
    click.option("--since", default=None, help="from this date on (2026-10-01, -30d, -2w)"),
    json_option,
)
@command_options
def report_playbook(ctx: click.Context, since: str | None, as_json: bool, **flags: Any) -> None:
    """Offered, taken, declined and the save rate (taken / offered), per rule and offer."""
    from_ts = parse_since(since, settings(ctx, **flags).now_ts())
    with session(ctx, flags) as s:
        report = s.playbook.report(from_ts)
    if as_json:
        click.echo(json_text(report.to_json()))
        return
    doc = report.to_json()
    head = f"since {doc['since']}" if doc["since"] else "all time"
    click.echo(
        f"retention ({head}): offered {report.offered}, taken {report.taken}, declined "
        f"{report.declined}, save rate {_rate(doc['save_rate'])}"
    )
    for rule in report.rules:
        click.echo(
            f"{visible(rule.rule, 120)}: offered {rule.offered}, taken {rule.taken}, "
            f"declined {rule.declined}, save rate {_rate(rule.save_rate)}"
        )
        for o in rule.offers.values():
            click.echo(
                f"   {o.offer}: offered {o.offered}, taken {o.taken}, declined {o.declined}, "
                f"save rate {_rate(o.save_rate)}"
            )


__all__ = ["parse_since", "playbook_group", "read_playbook"]

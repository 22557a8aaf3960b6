"""`srm segment check|count|members|explain|export`: segment files (CONTRACT section 4)
over the cached customers. The saved segments' commands are in ``segments_saved``."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import click

from srm_tui.cli.common import (
    ProgressBar,
    Session,
    check_id,
    command_options,
    not_cached,
    session,
)
from srm_tui.domain.text import count, json_text, visible
from srm_tui.exits import UsageProblem


@click.group("segment")
def segment_group() -> None:
    """Segments: saved condition trees over the cached customers."""


def segment_file(path: str):
    """The checked segment of a file; any fault is bad input (exit 2) naming its path."""
    from srm_tui.segments import SegmentError, load

    try:
        return load(path)
    except SegmentError as exc:
        raise UsageProblem(f"{path}: {exc.faults[0]}") from None


def settle_facts(s: Session) -> None:
    """The segment facts of the session's cache brought up to date (a bar on a terminal)."""
    from srm_tui.segments import ensure_facts

    bar = ProgressBar.for_terminal("segment facts")
    try:
        ensure_facts(
            s.cache.conn(), progress=(lambda d, t: bar.update("customers", d, t)) if bar else None
        )
    finally:
        if bar:
            bar.close()


@contextlib.contextmanager
def segment_session(ctx: click.Context, flags: dict[str, Any]) -> Iterator[Session]:
    """The command's session, with the segment facts settled."""
    with session(ctx, flags) as s:
        settle_facts(s)
        yield s


def segment_cache(ctx: click.Context, flags: dict[str, Any]) -> tuple[Any, Any]:
    """Settings and the cache of the command's session (closed with the command), with the
    segment facts settled."""
    s = ctx.with_resource(segment_session(ctx, flags))
    return s.settings, s.cache


@segment_group.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
@command_options
def segment_check(ctx: click.Context, file: str, as_json: bool, **flags: Any) -> None:
    """Validate a segment file; prints its tree in text form."""
    from srm_tui.segments import format_tree
    from srm_tui.segments.model import conditions

    segment = segment_file(file)
    text = format_tree(segment.where)
    if as_json:
        click.echo(
            json_text(
                {
                    "valid": True,
                    "name": segment.name,
                    "selector": segment.selector,
                    "conditions": len(conditions(segment.where)),
                    "text": text,
                }
            )
        )
    else:
        click.echo(
            f"{file}: valid ({len(conditions(segment.where))} conditions, selector "
            f"{segment.selector})"
        )
        click.echo(visible(text))


@segment_group.command("count")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
@command_options
def segment_count(ctx: click.Context, file: str, as_json: bool, **flags: Any) -> None:
    """How many cached customers are in the segment now."""
    from srm_tui.segments import SegmentRunner

    segment = segment_file(file)
    with segment_session(ctx, flags) as s, SegmentRunner(s.cache, processes=1) as runner:
        result = runner.count(segment, s.settings.now_ts())
    if as_json:
        click.echo(json.dumps({"customers": result.customers}))
    else:
        click.echo(count(result.customers, "customer"))


@segment_group.command("members")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
@command_options
def segment_members(ctx: click.Context, file: str, as_json: bool, **flags: Any) -> None:
    """The ids of the segment's customers, ascending."""
    from srm_tui.segments import iter_members

    segment = segment_file(file)
    with segment_session(ctx, flags) as s:
        ids = iter_members(s.cache.conn(), segment, s.settings.now_ts())
        if as_json:
            click.echo(json.dumps({"customers": list(ids)}))
        else:
            for customer_id in ids:
                click.echo(customer_id)


@segment_group.command("explain")
@click.argument("file", type=click.Path(dir_okay=False))
@click.argument("customer_id")
@click.option("--json", "as_json", is_flag=True)
@command_options
def segment_explain(
    ctx: click.Context, file: str, customer_id: str, as_json: bool, **flags: Any
) -> None:
    """Each condition with its value for one customer, and pass or fail."""
    from srm_tui.segments import explain

    check_id(customer_id, "CUSTOMER_ID")
    segment = segment_file(file)
    with segment_session(ctx, flags) as s:
        try:
            result = explain(s.cache.conn(), segment, int(customer_id), s.settings.now_ts())
        except LookupError:
            not_cached(customer_id)
    if as_json:
        click.echo(json_text(result.as_json()))
    else:
        click.echo(result.text())


@segment_group.command("export")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", required=True, type=click.Choice(["csv", "json"]))
@click.option("--out", "out", required=True, help="file to write ('-': standard output)")
@click.option("--force", is_flag=True, help="replace --out if it exists (a regular file only)")
@command_options
def segment_export(
    ctx: click.Context, file: str, fmt: str, out: str, force: bool, **flags: Any
) -> None:
    """Write the segment's customers with the list columns, as CSV or JSON."""
    from srm_tui.segments import export
    from srm_tui.storage.files import FileRefused, check_target

    segment = segment_file(file)
    if out != "-":
        try:  # refused before the cache is even opened: nothing is written
            check_target(out, replace=force)
        except FileRefused as exc:
            raise UsageProblem(f"--out: {exc}") from None
    with segment_session(ctx, flags) as s:
        try:
            n = export(s.cache.conn(), segment, s.settings.now_ts(), fmt, out, force=force)
        except FileRefused as exc:
            raise UsageProblem(f"--out: {exc}") from None
        except OSError as exc:
            if out == "-":
                raise
            raise UsageProblem(f"--out: cannot write {out}: {exc.strerror or exc}") from None
    if out != "-":
        click.echo(f"wrote {count(n, 'customer')} to {out}", err=True)

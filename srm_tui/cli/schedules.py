"""`srm schedules add|list|remove|run`: scheduled exports of saved segments (run from cron
with `srm schedules run`)."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import click

from srm_tui.cli.common import command_options, command_session
from srm_tui.cli.segments import segment_cache
from srm_tui.cli.segments_saved import faults, iso, saved_segment, writable
from srm_tui.domain.text import count, visible
from srm_tui.exits import UsageProblem


@click.group("schedules")
def schedules_group() -> None:
    """Scheduled exports of saved segments (`srm schedules run` from cron)."""


@schedules_group.command("add")
@click.argument("segment")
@click.option("--format", "fmt", required=True, type=click.Choice(["csv", "json"]))
@click.option("--dir", "directory", required=True, help="directory the files go to")
@click.option(
    "--columns",
    default=None,
    help="comma-separated: list columns (id,email,…) and attributes "
    "(customer.status,…); default the list's columns",
)
@click.option("--at", default=None, help="times of day, e.g. 06:00,18:00")
@click.option("--every", default=None, help="an interval, e.g. 15m, 6h, 1d")
@click.option("--tz", default="UTC", show_default=True, help="time zone of --at")
@click.option("--json", "as_json", is_flag=True)
@command_options
def schedules_add(
    ctx: click.Context,
    segment: str,
    fmt: str,
    directory: str,
    columns: str | None,
    at: str | None,
    every: str | None,
    tz: str,
    as_json: bool,
    **flags: Any,
) -> None:
    """Export a saved segment at times of day or at an interval."""
    from srm_tui.segments import SegmentError
    from srm_tui.segments import schedules as S

    s = command_session(ctx, flags)
    settings = s.settings
    writable(settings)
    conn = s.cache.conn()
    saved = saved_segment(conn, segment)
    cols = [c.strip() for c in columns.split(",")] if columns else list(S.DEFAULT_COLUMNS)
    try:
        schedule = S.add(
            conn,
            saved.id,
            fmt=fmt,
            columns=cols,
            directory=directory,
            at=at,
            every=every,
            tz=tz,
            now=settings.now_ts(),
            agent=settings.agent,
        )
    except SegmentError as exc:
        raise faults(exc, "--") from None
    if as_json:
        click.echo(json.dumps(schedule.as_json(), ensure_ascii=False))
    else:
        click.echo(
            f"schedule {schedule.id}: {visible(saved.name)} as {fmt} {schedule.when()} "
            f"into {schedule.directory}"
        )


@schedules_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@command_options
def schedules_list(ctx: click.Context, as_json: bool, **flags: Any) -> None:
    """Every schedule with its last run."""
    from srm_tui.segments import schedules as S

    items = S.list_schedules(command_session(ctx, flags).cache.conn())
    if as_json:
        click.echo(json.dumps([s.as_json() for s in items], ensure_ascii=False))
        return
    for s in items:
        last = iso(s.last_run_at) or "never"
        error = f"  FAILED: {visible(s.last_error)}" if s.last_error else ""
        click.echo(
            f"{s.id:>4}  {visible(s.segment_name)}  {s.format}  {s.when()}  "
            f"{s.directory}  last run {last}{error}"
        )


@schedules_group.command("remove")
@click.argument("schedule_id", type=int)
@command_options
def schedules_remove(ctx: click.Context, schedule_id: int, **flags: Any) -> None:
    """Remove a schedule (the files it wrote stay)."""
    from srm_tui.segments import schedules as S

    s = command_session(ctx, flags)
    writable(s.settings)
    try:
        S.remove(s.cache.conn(), schedule_id)
    except LookupError:
        raise UsageProblem(f"SCHEDULE_ID: no schedule {schedule_id}") from None
    click.echo(f"removed schedule {schedule_id}", err=True)


@schedules_group.command("run")
@click.option("--id", "only", type=int, default=None, help="only this schedule")
@click.option("--force", is_flag=True, help="run now even when not due (needs --id)")
@click.option("--json", "as_json", is_flag=True)
@command_options
def schedules_run(
    ctx: click.Context, only: int | None, force: bool, as_json: bool, **flags: Any
) -> None:
    """Run the schedules that are due, each once for its latest slot (cron-friendly: a run
    missed while the machine was off is caught up once). Exit 1 when an export failed."""
    from srm_tui.segments import schedules as S

    if force and only is None:
        raise UsageProblem("--force: say which schedule with --id")
    settings, cache = segment_cache(ctx, flags)
    real = int(time.time())
    if settings.now_ts() > real + 60:
        # A run records its time as the schedule's last run: one stored in the future would
        # hold back every real run until then. So a future --now runs nothing.
        raise UsageProblem(
            f"--now: {iso(settings.now_ts())} is in the future; `schedules run` stores each "
            f"run's time as its last run, so it runs at the real time only (now "
            f"{iso(real)}). Nothing was run; `srm schedules list` shows what is due."
        )
    results = S.run_due(
        cache.conn(), settings.now_ts(), only=only, force=force, currency=settings.currency
    )
    if only is not None and not results:
        raise UsageProblem(f"--id: no schedule {only}")
    if as_json:
        click.echo(json.dumps([r.as_json() for r in results], ensure_ascii=False))
    else:
        for r in results:
            name = visible(r.schedule.segment_name)
            if r.written:
                click.echo(
                    f"schedule {r.schedule.id} ({name}): wrote {count(r.written.rows, 'row')} to "
                    f"{r.written.path}"
                )
            elif r.error:
                click.echo(
                    f"schedule {r.schedule.id} ({name}): FAILED: {visible(r.error)}", err=True
                )
    if any(r.error for r in results):
        sys.exit(1)

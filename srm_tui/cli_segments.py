"""`srm segment save|list|history|delete|overview` (saved segments) and `srm schedules …`
(scheduled exports, run from cron with `srm schedules run`)."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timezone
from typing import Any

import click

from srm_tui import runtime
from srm_tui.cli import (
    UsageProblem,
    _common,
    _segment_cache,
    _segment_file,
    _settings,
    handled,
    main,
    segment_group,
)
from srm_tui.domain.text import count, visible


def _iso(ts: int | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _faults(exc: Exception, prefix: str = "") -> UsageProblem:
    faults = getattr(exc, "faults", None)
    if faults:
        first = faults[0]
        where = f"{prefix}{first.path}" if first.path else prefix.rstrip(".")
        return UsageProblem(f"{where}: {first.message}" if where else first.message)
    return UsageProblem(str(exc))


def _writable(settings: Any) -> None:
    """Saved segments and schedules are read only for the viewer role, as in the console."""
    if settings.role == "viewer":
        click.echo(
            "srm: refused by rule role.viewer: the viewer role is read only: it "
            "saves, deletes and schedules nothing",
            err=True,
        )
        sys.exit(1)


def _saved(conn, ref: str):
    from srm_tui.segments import store

    try:
        return store.get_saved(conn, ref)
    except LookupError:
        raise UsageProblem(f"SEGMENT: no saved segment {ref!r} (see: srm segment list)") from None


# saved segments ----------------------------------------------------------------------------


@segment_group.command("save")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--as", "as_name", default=None, help="save under this name (default: the file's)")
@click.option("--json", "as_json", is_flag=True)
@_common
@click.pass_context
@handled
def segment_save(
    ctx: click.Context, file: str, as_name: str | None, as_json: bool, **flags: Any
) -> None:
    """Save a segment file in the cache: a new segment, or the next version of the saved
    segment of that name. Prints the version and the members it gained and lost."""
    from srm_tui.segments import SegmentError, store

    segment = _segment_file(file)
    if as_name is not None:
        segment = segment.replace(name=as_name)
    settings, cache = _segment_cache(ctx, flags)
    _writable(settings)
    conn = cache.conn()
    existing = None
    try:
        existing = store.get_saved(conn, segment.name.strip()) if segment.name.strip() else None
    except LookupError:
        existing = None
    if existing is not None and existing.static:
        raise UsageProblem(f"name: {existing.name!r} is a static segment")
    try:
        change = store.save(
            conn,
            segment,
            now=settings.now_ts(),
            agent=settings.agent,
            segment_id=existing.id if existing else None,
        )
    except SegmentError as exc:
        raise _faults(exc) from None
    if as_json:
        click.echo(
            json.dumps(
                {
                    "name": segment.name.strip(),
                    "version": change.version,
                    "members": change.members,
                    "gained": change.gained,
                    "lost": change.lost,
                    "definition": [m + " " + line for m, line in change.lines],
                },
                ensure_ascii=False,
            )
        )
        return
    click.echo(
        f"saved {visible(segment.name.strip())!s} version {change.version}: "
        f"{count(change.members, 'customer')} (+{change.gained} -{change.lost})"
    )
    for mark, line in change.lines:
        if mark != " ":
            click.echo(f"  {mark} {visible(line)}")


@segment_group.command("list")
@click.option("--tag", default=None, help="only segments with this tag")
@click.option("--json", "as_json", is_flag=True)
@_common
@click.pass_context
@handled
def segment_list(ctx: click.Context, tag: str | None, as_json: bool, **flags: Any) -> None:
    """Saved segments with their tags, members, version and last run."""
    from srm_tui.segments import store

    settings = _settings(ctx, **flags)
    cache = runtime.open_cache(settings)
    items = store.list_saved(cache.conn(), tag)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "id": s.id,
                        "name": s.name,
                        "kind": s.kind,
                        "tags": list(s.tags),
                        "version": s.version,
                        "members": s.members,
                        "last_count": s.last_count,
                        "last_run_at": _iso(s.last_run_at),
                        "schedules": s.schedules,
                        "problem": s.problem,
                    }
                    for s in items
                ],
                ensure_ascii=False,
            )
        )
        return
    for s in items:
        tags = f" [{', '.join(s.tags)}]" if s.tags else ""
        note = f"  ({s.problem})" if s.problem else ""
        members = count(s.last_count, "customer") if s.last_count is not None else "? customers"
        click.echo(
            f"{s.id:>4}  {visible(s.name)}{visible(tags)}  {s.kind} v{s.version}  "
            f"{members}  "
            f"last run {_iso(s.last_run_at) or 'never'}{note}"
        )


@segment_group.command("history")
@click.argument("segment")
@click.option("--json", "as_json", is_flag=True)
@_common
@click.pass_context
@handled
def segment_history(ctx: click.Context, segment: str, as_json: bool, **flags: Any) -> None:
    """Every saved version of a segment: what changed in its definition, and the customers
    it gained and lost."""
    from srm_tui.segments import store

    settings = _settings(ctx, **flags)
    conn = runtime.open_cache(settings).conn()
    saved = _saved(conn, segment)
    out = []
    for v in store.versions(conn, saved.id):
        change = store.version_change(conn, saved.id, v.version, sample=20)
        out.append(
            {
                "version": v.version,
                "saved_at": _iso(v.saved_at),
                "saved_by": v.saved_by,
                "members": v.members,
                "gained": v.gained,
                "lost": v.lost,
                "changes": [m + " " + line for m, line in change.lines if m != " "],
                "gained_sample": change.gained_ids,
                "lost_sample": change.lost_ids,
            }
        )
    if as_json:
        click.echo(json.dumps(out, ensure_ascii=False))
        return
    for item in out:
        click.echo(
            f"v{item['version']}  {item['saved_at']}  {visible(item['saved_by'] or '')}  "
            f"{count(item['members'], 'customer')} (+{item['gained']} -{item['lost']})"
        )
        for line in item["changes"]:
            click.echo(f"    {visible(line)}")


@segment_group.command("delete")
@click.argument("segment")
@_common
@click.pass_context
@handled
def segment_delete(ctx: click.Context, segment: str, **flags: Any) -> None:
    """Delete a saved segment and its versions (refused while a schedule exports it)."""
    from srm_tui.segments import store

    settings = _settings(ctx, **flags)
    _writable(settings)
    conn = runtime.open_cache(settings).conn()
    saved = _saved(conn, segment)
    try:
        store.delete(conn, saved.id)
    except store.SegmentInUse as exc:
        raise UsageProblem(f"SEGMENT: {exc}") from None
    click.echo(f"deleted {visible(saved.name)}", err=True)


@segment_group.command("overview")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--saved", "saved_ref", default=None, help="a saved segment instead of a file")
@click.option("--json", "as_json", is_flag=True)
@_common
@click.pass_context
@handled
def segment_overview(
    ctx: click.Context, file: str | None, saved_ref: str | None, as_json: bool, **flags: Any
) -> None:
    """MRR, lifetime value, churn rate and composition of a segment (no FILE: the cache)."""
    from srm_tui.segments import SegmentRunner, store
    from srm_tui.segments.compile import compile_segment
    from srm_tui.segments.model import Segment

    if file and saved_ref:
        raise UsageProblem("FILE: give a file or --saved, not both")
    segment = _segment_file(file) if file else None
    settings, cache = _segment_cache(ctx, flags)
    now = settings.now_ts()
    if saved_ref:
        population = store.population(_saved(cache.conn(), saved_ref), now)
    else:
        population = compile_segment(segment or Segment(), now)
    with SegmentRunner(cache.path) as runner:
        result = runner.overview(population, now)
        reported = result.reported(runner.rates(), settings.currency)
    data = {
        "reporting": {
            "currency": reported.currency,
            "rates_date": reported.rates_date,
            "mrr": None if reported.mrr is None else round(reported.mrr, 2),
            "revenue": None if reported.revenue is None else round(reported.revenue, 2),
            "clv": None if reported.clv is None else round(reported.clv, 2),
            "without_rate": reported.missing,
        },
        "customers": result.customers,
        "subscribers": result.subscribers,
        "mrr": {k: round(v, 2) for k, v in result.mrr.items()},
        "clv": {k: round(v, 2) for k, v in result.clv.items()},
        "churn_rate": None if result.churn_rate is None else round(result.churn_rate, 4),
        "churn_base": result.churn_base,
        "churned": result.churned,
        "elapsed_ms": round(result.elapsed_ms, 1),
        "composition": {p.key: {b.label: b.count for b in p.bars} for p in result.panels},
    }
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
        return
    click.echo(
        f"{count(result.customers, 'customer')}, {result.subscribers} paying monthly "
        f"({result.elapsed_ms:.0f} ms)"
    )
    from srm_tui.domain.money import money
    from srm_tui.segments.overview import by_currency

    click.echo(reported.headline())
    click.echo(
        f"lifetime revenue: {money(reported.revenue, reported.currency)}; by currency: "
        + by_currency(result.revenue, top=len(result.revenue))
    )
    click.echo("MRR by currency: " + by_currency(result.mrr, top=len(result.mrr)))
    click.echo("CLV by currency: " + by_currency(result.clv, top=len(result.clv)))
    rate = result.churn_rate
    click.echo(
        f"churn (30 days): {'—' if rate is None else f'{rate:.1%}'} "
        f"({result.churned} of {result.churn_base} subscriptions)"
    )
    for p in result.panels:
        click.echo(f"{p.title}: " + ", ".join(f"{b.label} {b.count}" for b in p.bars))


# schedules ---------------------------------------------------------------------------------


@main.group("schedules")
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
@_common
@click.pass_context
@handled
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

    settings = _settings(ctx, **flags)
    _writable(settings)
    conn = runtime.open_cache(settings).conn()
    saved = _saved(conn, segment)
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
        raise _faults(exc, "--") from None
    if as_json:
        click.echo(json.dumps(schedule.as_json(), ensure_ascii=False))
    else:
        click.echo(
            f"schedule {schedule.id}: {visible(saved.name)} as {fmt} {schedule.when()} "
            f"into {schedule.directory}"
        )


@schedules_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@_common
@click.pass_context
@handled
def schedules_list(ctx: click.Context, as_json: bool, **flags: Any) -> None:
    """Every schedule with its last run."""
    from srm_tui.segments import schedules as S

    settings = _settings(ctx, **flags)
    items = S.list_schedules(runtime.open_cache(settings).conn())
    if as_json:
        click.echo(json.dumps([s.as_json() for s in items], ensure_ascii=False))
        return
    for s in items:
        last = _iso(s.last_run_at) or "never"
        error = f"  FAILED: {visible(s.last_error)}" if s.last_error else ""
        click.echo(
            f"{s.id:>4}  {visible(s.segment_name)}  {s.format}  {s.when()}  "
            f"{s.directory}  last run {last}{error}"
        )


@schedules_group.command("remove")
@click.argument("schedule_id", type=int)
@_common
@click.pass_context
@handled
def schedules_remove(ctx: click.Context, schedule_id: int, **flags: Any) -> None:
    """Remove a schedule (the files it wrote stay)."""
    from srm_tui.segments import schedules as S

    settings = _settings(ctx, **flags)
    _writable(settings)
    try:
        S.remove(runtime.open_cache(settings).conn(), schedule_id)
    except LookupError:
        raise UsageProblem(f"SCHEDULE_ID: no schedule {schedule_id}") from None
    click.echo(f"removed schedule {schedule_id}", err=True)


@schedules_group.command("run")
@click.option("--id", "only", type=int, default=None, help="only this schedule")
@click.option("--force", is_flag=True, help="run now even when not due (needs --id)")
@click.option("--json", "as_json", is_flag=True)
@_common
@click.pass_context
@handled
def schedules_run(
    ctx: click.Context, only: int | None, force: bool, as_json: bool, **flags: Any
) -> None:
    """Run the schedules that are due, each once for its latest slot (cron-friendly: a run
    missed while the machine was off is caught up once). Exit 1 when an export failed."""
    from srm_tui.segments import schedules as S

    if force and only is None:
        raise UsageProblem("--force: say which schedule with --id")
    settings, cache = _segment_cache(ctx, flags)
    real = int(time.time())
    if settings.now_ts() > real + 60:
        # A run records its time as the schedule's last run: one stored in the future would
        # hold back every real run until then. So a future --now runs nothing.
        raise UsageProblem(
            f"--now: {_iso(settings.now_ts())} is in the future; `schedules run` stores each "
            f"run's time as its last run, so it runs at the real time only (now "
            f"{_iso(real)}). Nothing was run; `srm schedules list` shows what is due."
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

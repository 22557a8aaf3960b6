"""`srm segment save|list|history|delete|overview`: saved segments, their versions and their
overview (the file-based segment commands are in ``segments``)."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from typing import Any

import click

from srm_tui.cli.common import command_options, command_session
from srm_tui.cli.segments import segment_cache, segment_file, segment_group
from srm_tui.domain.text import count, visible
from srm_tui.exits import UsageProblem


def iso(ts: int | None) -> str | None:
    """An instant as ISO 8601 UTC (None stays None)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def faults(exc: Exception, prefix: str = "") -> UsageProblem:
    """A segment fault as bad input (exit 2) naming where it is."""
    found = getattr(exc, "faults", None)
    if found:
        first = found[0]
        where = f"{prefix}{first.path}" if first.path else prefix.rstrip(".")
        return UsageProblem(f"{where}: {first.message}" if where else first.message)
    return UsageProblem(str(exc))


def writable(settings: Any) -> None:
    """Saved segments and schedules are read only for the viewer role, as in the console."""
    if settings.role == "viewer":
        click.echo(
            "srm: refused by rule role.viewer: the viewer role is read only: it "
            "saves, deletes and schedules nothing",
            err=True,
        )
        sys.exit(1)


def saved_segment(conn, ref: str):
    """The saved segment named or numbered ``ref``; an unknown one is bad input (exit 2)."""
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
@command_options
def segment_save(
    ctx: click.Context, file: str, as_name: str | None, as_json: bool, **flags: Any
) -> None:
    """Save a segment file in the cache: a new segment, or the next version of the saved
    segment of that name. Prints the version and the members it gained and lost."""
    from srm_tui.segments import SegmentError, store

    segment = segment_file(file)
    if as_name is not None:
        segment = segment.replace(name=as_name)
    settings, cache = segment_cache(ctx, flags)
    writable(settings)
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
        raise faults(exc) from None
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
@command_options
def segment_list(ctx: click.Context, tag: str | None, as_json: bool, **flags: Any) -> None:
    """Saved segments with their tags, members, version and last run."""
    from srm_tui.segments import store

    items = store.list_saved(command_session(ctx, flags).cache.conn(), tag)
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
                        "last_run_at": iso(s.last_run_at),
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
            f"last run {iso(s.last_run_at) or 'never'}{note}"
        )


@segment_group.command("history")
@click.argument("segment")
@click.option("--json", "as_json", is_flag=True)
@command_options
def segment_history(ctx: click.Context, segment: str, as_json: bool, **flags: Any) -> None:
    """Every saved version of a segment: what changed in its definition, and the customers
    it gained and lost."""
    from srm_tui.segments import store

    conn = command_session(ctx, flags).cache.conn()
    saved = saved_segment(conn, segment)
    out = []
    for v in store.versions(conn, saved.id):
        change = store.version_change(conn, saved.id, v.version, sample=20)
        out.append(
            {
                "version": v.version,
                "saved_at": iso(v.saved_at),
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
@command_options
def segment_delete(ctx: click.Context, segment: str, **flags: Any) -> None:
    """Delete a saved segment and its versions (refused while a schedule exports it)."""
    from srm_tui.segments import store

    s = command_session(ctx, flags)
    settings = s.settings
    writable(settings)
    conn = s.cache.conn()
    saved = saved_segment(conn, segment)
    try:
        store.delete(conn, saved.id)
    except store.SegmentInUse as exc:
        raise UsageProblem(f"SEGMENT: {exc}") from None
    click.echo(f"deleted {visible(saved.name)}", err=True)


@segment_group.command("overview")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--saved", "saved_ref", default=None, help="a saved segment instead of a file")
@click.option("--json", "as_json", is_flag=True)
@command_options
def segment_overview(
    ctx: click.Context, file: str | None, saved_ref: str | None, as_json: bool, **flags: Any
) -> None:
    """MRR, lifetime value, churn rate and composition of a segment (no FILE: the cache)."""
    from srm_tui.segments import SegmentRunner, store
    from srm_tui.segments.compile import compile_segment
    from srm_tui.segments.model import Segment

    if file and saved_ref:
        raise UsageProblem("FILE: give a file or --saved, not both")
    segment = segment_file(file) if file else None
    settings, cache = segment_cache(ctx, flags)
    now = settings.now_ts()
    if saved_ref:
        population = store.population(saved_segment(cache.conn(), saved_ref), now, cache.conn())
    else:
        population = compile_segment(segment or Segment(), now, conn=cache.conn())
    with SegmentRunner(cache) as runner:
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

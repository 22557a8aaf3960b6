"""`srm offers …`: the catalogue manager's command line over the same offer service the
console uses: the group, the shared helpers, list and show, and the drafts (waiting edits,
their push, merges after a 412, discards). Editing from files is in ``offer_files``; season
groups and coupons in ``offer_groups``; `srm customer coupon-apply` is a generated action.

Bad input exits 2 naming the field; a vendor rule's refusal exits 1 naming the rule; an
unreachable API exits 3 (edits then wait as drafts and the command says so).
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from srm_tui.cli.common import command_options, session
from srm_tui.domain import offers as od
from srm_tui.domain.text import count, visible
from srm_tui.exits import EXIT_FAILURE, UsageProblem


@contextlib.contextmanager
def offer_service(
    ctx: click.Context, flags: dict[str, Any], *, online: bool | None = True
) -> Iterator[Any]:
    """The command session's offer service, its refusals as the contract's exits. Offline
    (``online=False``) it reads the cache alone and never starts the demo's sandbox;
    ``online=None``: online only with an API URL configured (not the demo's)."""
    from srm_tui.offers.rules import OfferInvalid, OfferRefused

    with session(ctx, flags) as s:
        if online is None:
            online = bool(s.settings.api_url)
        service = s.offers if online else s.local_offers
        try:
            yield service
        except OfferInvalid as exc:
            typing_error = next((p for p in exc.problems if not p.rule), None)
            if typing_error is not None:
                raise UsageProblem(f"{typing_error.field}: {typing_error.message}") from None
            problem = exc.problems[0]
            click.echo(
                f"srm: refused by rule {problem.rule}: {problem.field}: "
                f"{visible(problem.message, 500)}",
                err=True,
            )
            sys.exit(EXIT_FAILURE)
        except OfferRefused as exc:
            click.echo(f"srm: refused by rule {exc.rule}: {visible(exc.message, 500)}", err=True)
            sys.exit(EXIT_FAILURE)


def json_file(path: str, name: str = "FILE") -> dict[str, Any]:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageProblem(f"{name}: cannot read {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise UsageProblem(f"{name}: not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise UsageProblem(f"{name}: expected a JSON object")
    return data


def offer_id_arg(value: str, name: str = "OFFER_ID") -> str:
    from srm_tui.offers import rules

    message = rules.offer_id(value.split("_")[0])
    if message:
        raise UsageProblem(f"{name}: {message}")
    return value.split("_")[0]


def country_arg(value: str | None) -> str | None:
    from srm_tui.offers import rules

    if value is None:
        return None
    message = rules.country(value.upper())
    if message:
        raise UsageProblem(f"--country: {message}")
    return value.upper()


def show_result(result: Any, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        click.echo(visible(result.message, 1000))
    if result.status == "conflict":
        sys.exit(EXIT_FAILURE)


@click.group()
def offers() -> None:
    """The offer catalogue: offers, localizations, drafts, season groups and coupons."""


@offers.command("list")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="an array of offers in the API's 3.1 shape, each with its localizations",
)
@click.option("--filter", "query", default="", help="type:pass state:active tag:sport text")
@command_options
def offers_list(ctx: click.Context, as_json: bool, query: str, **flags: Any) -> None:
    """Cached offers with their localizations."""
    from srm_tui.storage import queries

    with session(ctx, flags) as s:
        settings, cache = s.settings, s.cache
        rows = [o for o in queries.offers(cache.conn()) if od.matches(o, query)]
        if as_json:
            click.echo(json.dumps(rows, ensure_ascii=False))
            return
        holders = queries.offer_holders(cache.conn(), settings.now_ts())
        for o in rows:
            click.echo(
                f"{o['id']}  {od.kind(o['id']):17}  "
                f"{'active  ' if o.get('active') else 'inactive'}  "
                f"{visible(o.get('title'), 40):40}  {od.price(o.get('price')):22}  "
                f"{len(o.get('localizations') or []):>3} loc  "
                f"{holders.get(o['id'], 0):>6} holders"
            )
        if not rows:
            click.echo("no offer matches", err=True)


@offers.command("show")
@click.argument("offer_id")
@click.option("--json", "as_json", is_flag=True)
@command_options
def offers_show(ctx: click.Context, offer_id: str, as_json: bool, **flags: Any) -> None:
    """One cached offer with its localizations, holders and waiting drafts."""
    from srm_tui.storage import queries

    offer_id = offer_id_arg(offer_id)
    with offer_service(ctx, flags, online=False) as service:
        offer = service.require_offer(offer_id)
        holders = queries.offer_holders(service.cache.conn(), service.settings.now_ts())
        waiting = [d.to_json() for d in service.drafts(offer_id)]
    if as_json:
        click.echo(
            json.dumps(
                {"offer": offer, "holders": holders.get(offer_id, 0), "drafts": waiting},
                ensure_ascii=False,
            )
        )
        return
    click.echo(f"{offer['id']}  {od.kind(offer['id'])}  {visible(offer.get('title'), 80)}")
    click.echo(
        f"  {od.price(offer.get('price'))} · {od.period(offer)} · "
        f"{'active' if offer.get('active') else 'inactive'} · version "
        f"{offer.get('version')} · {count(holders.get(offer_id, 0), 'holder')}"
    )
    for loc in offer.get("localizations") or []:
        click.echo(
            f"  {loc.get('countryCode')}  {loc.get('id')}  "
            f"{visible(loc.get('title'), 40):40}  {od.price(loc.get('price')):22}  "
            f"{'active' if loc.get('active') else 'inactive'}"
        )
    for d in waiting:
        click.echo(f"  draft #{d['id']} ({d['status']}): {d['op']} {d['target']}")


# drafts ----------------------------------------------------------------------------------


@offers.command("drafts")
@click.option("--json", "as_json", is_flag=True)
@command_options
def offers_drafts(ctx: click.Context, as_json: bool, **flags: Any) -> None:
    """Offer edits waiting to be pushed, and conflicts waiting for a merge."""
    with offer_service(ctx, flags, online=False) as service:
        items = service.drafts()
        rows = [(d, service.merge_rows(d.id) if d.status == "conflict" else []) for d in items]
    if as_json:
        click.echo(json.dumps([d.to_json() for d in items], ensure_ascii=False))
        return
    for d, merge in rows:
        click.echo(
            f"#{d.id}  {d.status:8}  {d.label}  (based on version {d.base_version})"
            + (f"  last error: {visible(d.last_error, 200)}" if d.last_error else "")
        )
        for name, base, theirs, mine in merge:
            click.echo(
                f"    {name}: drafted from {_short(base)}; server {_short(theirs)}; "
                f"mine {_short(mine)}"
            )
    if not items:
        click.echo("no drafts", err=True)


def _short(value: Any) -> str:
    return visible(json.dumps(value, ensure_ascii=False), 120)


@offers.command("push")
@click.option("--json", "as_json", is_flag=True)
@command_options
def offers_push(ctx: click.Context, as_json: bool, **flags: Any) -> None:
    """Send the waiting drafts, each with If-Match: the version it was based on."""
    with offer_service(ctx, flags) as service:
        summary = service.push_all()
    if as_json:
        click.echo(json.dumps(summary.to_json(), ensure_ascii=False))
    else:
        click.echo(
            f"sent {len(summary.sent)}, conflicts {len(summary.conflicts)}, refused "
            f"{len(summary.refused)}, waiting {len(summary.waiting)}"
        )
        for message in summary.messages:
            click.echo(f"  {visible(message, 500)}", err=True)
    if not summary.ok:
        sys.exit(EXIT_FAILURE)


@offers.command("resolve")
@click.argument("draft_id", type=int)
@click.option("--mine", default="", help="comma-separated fields to take from the draft")
@click.option("--theirs", default="", help="comma-separated fields to take from the server")
@click.option("--json", "as_json", is_flag=True)
@command_options
def offers_resolve(
    ctx: click.Context, draft_id: int, mine: str, theirs: str, as_json: bool, **flags: Any
) -> None:
    """Merge a conflicting draft: each field mine or theirs; mine is pushed again."""
    choices = {f.strip(): "mine" for f in mine.split(",") if f.strip()}
    choices.update({f.strip(): "theirs" for f in theirs.split(",") if f.strip()})
    with offer_service(ctx, flags) as service:
        result = service.resolve(draft_id, choices)
    show_result(result, as_json)


@offers.command("discard")
@click.argument("draft_id", type=int)
@command_options
def offers_discard(ctx: click.Context, draft_id: int, **flags: Any) -> None:
    """Drop a draft (the server's version stays)."""
    with offer_service(ctx, flags, online=False) as service:
        result = service.discard(draft_id)
    click.echo(result.message)

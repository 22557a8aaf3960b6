"""`srm offers …`: the catalogue manager's command line over the same offer service the
console uses (list, show, create and update from JSON files, localizations, activation,
drafts and their push, merges after a 412, season groups, seasons, coupon lookups), and
`srm customer coupon-apply`.

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

from srm_tui import runtime
from srm_tui.cli import (
    _action_options,
    _common,
    _names,
    _run_action,
    _settings,
    customer,
    handled,
    main,
)
from srm_tui.domain import offers as od
from srm_tui.domain.text import count, visible
from srm_tui.exits import EXIT_FAILURE, UsageProblem


@contextlib.contextmanager
def _service(ctx: click.Context, flags: dict[str, Any], *, online: bool = True) -> Iterator[Any]:
    """The offer service over the configured cache (the demo's sandbox when unconfigured)."""
    from srm_tui.offers.rules import OfferInvalid, OfferRefused
    from srm_tui.offers.service import OfferService

    settings = _settings(ctx, **flags)
    demo = None
    if settings.is_demo and online:
        demo = runtime.start_demo_sandbox()
        settings = runtime.demo_settings(settings, demo)
    service = OfferService(runtime.open_cache(settings), settings)
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
    finally:
        service.close()
        service.cache.close()
        if demo:
            demo.stop()


def _json_file(path: str, name: str = "FILE") -> dict[str, Any]:
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


def _offer_id(value: str, name: str = "OFFER_ID") -> str:
    from srm_tui.offers import rules

    message = rules.offer_id(value.split("_")[0])
    if message:
        raise UsageProblem(f"{name}: {message}")
    return value.split("_")[0]


def _country(value: str | None) -> str | None:
    from srm_tui.offers import rules

    if value is None:
        return None
    message = rules.country(value.upper())
    if message:
        raise UsageProblem(f"--country: {message}")
    return value.upper()


def _result(result: Any, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        click.echo(visible(result.message, 1000))
    if result.status == "conflict":
        sys.exit(EXIT_FAILURE)


# catalogue -------------------------------------------------------------------------------


@main.group()
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
@_common
@click.pass_context
@handled
def offers_list(ctx: click.Context, as_json: bool, query: str, **flags: Any) -> None:
    """Cached offers with their localizations."""
    from srm_tui.storage import queries

    settings = _settings(ctx, **flags)
    cache = runtime.open_cache(settings)
    try:
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
    finally:
        cache.close()


@offers.command("show")
@click.argument("offer_id")
@click.option("--json", "as_json", is_flag=True)
@_common
@click.pass_context
@handled
def offers_show(ctx: click.Context, offer_id: str, as_json: bool, **flags: Any) -> None:
    """One cached offer with its localizations, holders and waiting drafts."""
    from srm_tui.storage import queries

    offer_id = _offer_id(offer_id)
    with _service(ctx, flags, online=False) as service:
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


def _problems(built: Any, as_json: bool) -> None:
    if as_json:
        click.echo(
            json.dumps(
                {
                    "ok": built.ok,
                    "body": built.body,
                    "problems": [p.to_json() for p in built.problems],
                },
                ensure_ascii=False,
            )
        )
    else:
        for p in built.problems:
            click.echo(
                f"{p.field}: {visible(p.message, 300)}" + (f" (rule {p.rule})" if p.rule else "")
            )
        if built.ok:
            click.echo("ok: " + json.dumps(built.body, ensure_ascii=False))


@offers.command("check")
@click.argument("file")
@click.option("--offer", "offer_id", default=None, help="check FILE as an update of this offer")
@click.option("--json", "as_json", is_flag=True)
@_common
@click.pass_context
@handled
def offers_check(
    ctx: click.Context, file: str, offer_id: str | None, as_json: bool, **flags: Any
) -> None:
    """Check an offer file against every field and vendor rule; send nothing."""
    from srm_tui.offers import forms
    from srm_tui.offers.rules import OfferInvalid
    from srm_tui.offers.service import _letter_of

    body = _json_file(file)
    with _service(ctx, flags, online=False) as service:
        try:
            wrong = forms.shape_problems(body)
            if wrong:
                raise OfferInvalid(wrong)
            if offer_id is None:
                letter = _letter_of(body)
                values = forms.offer_values({"id": letter, **body}, service.groups())
                values["country"] = body.get("countryCode") or "US"
                built = service.check_offer(letter, values)
            else:
                offer = service.current(_offer_id(offer_id, "--offer"))
                merged = {**offer, **body}
                built = service.check_offer(
                    offer["id"][0], forms.offer_values(merged, service.groups()), offer["id"]
                )
        except OfferInvalid as exc:
            built = forms.Built({}, exc.problems)
    built = forms.Built(built.body, [_in_file(p, body) for p in built.problems])
    _problems(built, as_json)
    if not built.ok:
        # A file that breaks a field's format or a vendor rule is bad input alike (exit 2).
        sys.exit(2)


# Where each editor field lives in an offer file (the vendor's JSON shape), so a problem
# found by `offers check` names the path to fix in the file, not a form label.
FILE_PATHS = {
    "title": "title",
    "description": "description",
    "price": "price.amount",
    "currency": "price.currency",
    "tax_included": "price.taxIncluded",
    "country": "countryCode",
    "period": "billingCycle",
    "trial": "freeTrial.duration",
    "pause": "pause.maxBillingCycles",
    "season_group": "seasonGroupId",
    "duration": "entitlement.duration",
    "starts": "event.startsAt",
    "ends": "event.endsAt",
    "timezone": "event.timezone",
    "window": "entitlement.duration.amount",
    "early_bird": "price.rules",
    "tags": "tags",
    "geo": "geoRestriction",
    "url": "url",
    "image_url": "imageUrl",
    "external": "externalProperties",
    "app_store": "appStoreProductIds",
    "giftable": "giftable",
}


def _in_file(problem: Any, body: dict[str, Any]) -> Any:
    """The problem named by its path in the offer file."""
    import dataclasses

    path = FILE_PATHS.get(problem.field, problem.field)
    if (
        problem.field == "trial"
        and isinstance(body.get("freeTrial"), dict)
        and "duration" not in body["freeTrial"]
    ):
        path = "freeTrial"
    return dataclasses.replace(problem, field=path)


@offers.command("create")
@click.argument("file")
@click.option("--draft", is_flag=True, help="keep it as a draft; send nothing now")
@click.option("--json", "as_json", is_flag=True)
@_common
@click.pass_context
@handled
def offers_create(ctx: click.Context, file: str, draft: bool, as_json: bool, **flags: Any) -> None:
    """Create an offer from a JSON file in the API's POST /offers shape."""
    body = _json_file(file)
    with _service(ctx, flags) as service:
        result = service.save_offer_json(body, draft=draft)
    _result(result, as_json)


@offers.command("update")
@click.argument("offer_id")
@click.argument("file")
@click.option("--draft", is_flag=True, help="keep it as a draft; send nothing now")
@click.option("--json", "as_json", is_flag=True)
@_common
@click.pass_context
@handled
def offers_update(
    ctx: click.Context, offer_id: str, file: str, draft: bool, as_json: bool, **flags: Any
) -> None:
    """Update an offer from a JSON file of PATCH fields, based on the cached version."""
    offer_id = _offer_id(offer_id)
    body = _json_file(file)
    with _service(ctx, flags) as service:
        result = service.save_offer_json(body, offer_id, draft=draft)
    _result(result, as_json)


def _localization_values(body: dict[str, Any], letter: str) -> dict[str, Any]:
    from srm_tui.offers import forms

    values = forms.localization_values(body)
    known = {"countryCode", "title", "description", "price", "geoRestriction", "freeTrial"}
    unknown = sorted(set(body) - known)
    if unknown:
        raise UsageProblem(f"{unknown[0]}: not a localization field ({', '.join(sorted(known))})")
    return values


@offers.command("localize")
@click.argument("offer_id")
@click.argument("file")
@click.option("--country", default=None, help="update this country's version (else create)")
@click.option("--draft", is_flag=True)
@click.option("--json", "as_json", is_flag=True)
@_common
@click.pass_context
@handled
def offers_localize(
    ctx: click.Context,
    offer_id: str,
    file: str,
    country: str | None,
    draft: bool,
    as_json: bool,
    **flags: Any,
) -> None:
    """Create a localization (or update --country's) from a JSON file."""
    offer_id = _offer_id(offer_id)
    country = _country(country)
    body = _json_file(file)
    with _service(ctx, flags) as service:
        current = service.current(offer_id)
        if country:
            from srm_tui.offers import forms
            from srm_tui.offers.service import _loc

            loc = _loc(current, country) or {}
            values = forms.localization_values(loc)
            values.update(
                {
                    k: v
                    for k, v in _localization_values(body, offer_id[0]).items()
                    if k in _given(body)
                }
            )
        else:
            values = _localization_values(body, offer_id[0])
        result = service.save_localization(offer_id, values, country, draft=draft)
    _result(result, as_json)


def _given(body: dict[str, Any]) -> set[str]:
    """Editor fields a localization file sets."""
    names = {
        "countryCode": "country",
        "title": "title",
        "description": "description",
        "geoRestriction": "geo",
        "freeTrial": "trial",
    }
    out = {names[k] for k in body if k in names}
    if "price" in body:
        out |= {"price", "currency", "early_bird"}
    return out


def _activation(active: bool):
    verb = "activate" if active else "deactivate"

    @offers.command(verb, help=f"{verb.capitalize()} an offer, or one of its localizations.")
    @click.argument("offer_id")
    @click.option("--country", default=None, help=f"{verb} this country's localization")
    @click.option("--draft", is_flag=True)
    @click.option("--json", "as_json", is_flag=True)
    @_common
    @click.pass_context
    @handled
    def command(
        ctx: click.Context,
        offer_id: str,
        country: str | None,
        draft: bool,
        as_json: bool,
        **flags: Any,
    ) -> None:
        offer_id = _offer_id(offer_id)
        country = _country(country)
        with _service(ctx, flags) as service:
            result = service.set_active(offer_id, active, country, draft=draft)
        _result(result, as_json)

    return command


offers_activate = _activation(True)
offers_deactivate = _activation(False)


# drafts ----------------------------------------------------------------------------------


@offers.command("drafts")
@click.option("--json", "as_json", is_flag=True)
@_common
@click.pass_context
@handled
def offers_drafts(ctx: click.Context, as_json: bool, **flags: Any) -> None:
    """Offer edits waiting to be pushed, and conflicts waiting for a merge."""
    with _service(ctx, flags, online=False) as service:
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
@_common
@click.pass_context
@handled
def offers_push(ctx: click.Context, as_json: bool, **flags: Any) -> None:
    """Send the waiting drafts, each with If-Match: the version it was based on."""
    with _service(ctx, flags) as service:
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
@_common
@click.pass_context
@handled
def offers_resolve(
    ctx: click.Context, draft_id: int, mine: str, theirs: str, as_json: bool, **flags: Any
) -> None:
    """Merge a conflicting draft: each field mine or theirs; mine is pushed again."""
    choices = {f.strip(): "mine" for f in mine.split(",") if f.strip()}
    choices.update({f.strip(): "theirs" for f in theirs.split(",") if f.strip()})
    with _service(ctx, flags) as service:
        result = service.resolve(draft_id, choices)
    _result(result, as_json)


@offers.command("discard")
@click.argument("draft_id", type=int)
@_common
@click.pass_context
@handled
def offers_discard(ctx: click.Context, draft_id: int, **flags: Any) -> None:
    """Drop a draft (the server's version stays)."""
    with _service(ctx, flags, online=False) as service:
        result = service.discard(draft_id)
    click.echo(result.message)


# season groups and seasons ---------------------------------------------------------------


def _instant(value: str, name: str) -> int:
    from srm_tui.config import parse_instant

    try:
        return int(parse_instant(value).timestamp())
    except ValueError:
        raise UsageProblem(f"{name}: not an ISO 8601 instant: {value[:40]!r}") from None


@offers.group("groups")
def groups() -> None:
    """Season groups and their seasons."""


@groups.command("list")
@click.option("--json", "as_json", is_flag=True)
@_common
@click.pass_context
@handled
def groups_list(ctx: click.Context, as_json: bool, **flags: Any) -> None:
    """Cached season groups with their seasons."""
    with _service(ctx, flags, online=False) as service:
        found = list(service.groups().values())
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False))
        return
    for g in found:
        click.echo(f"{g['id']}  {visible(g['name'], 60)}  {len(g['seasons'])} season(s)")
        for s in g["seasons"]:
            click.echo(f"    {s['id']}: {od._date(s['startDate'])} .. {od._date(s['endDate'])}")


def _group_id(service: Any, value: str) -> str:
    found = service.groups()
    if value in found:
        return value
    named = [g["id"] for g in found.values() if g["name"].casefold() == value.casefold()]
    if not named:
        raise UsageProblem(f"GROUP: no season group {value!r} in the cache")
    return named[0]


@groups.command("create")
@click.argument("name")
@_common
@click.pass_context
@handled
def groups_create(ctx: click.Context, name: str, **flags: Any) -> None:
    """Create a season group."""
    with _service(ctx, flags) as service:
        group = service.create_group(name)
    click.echo(json.dumps(group, ensure_ascii=False))


@groups.command("rename")
@click.argument("group")
@click.argument("name")
@_common
@click.pass_context
@handled
def groups_rename(ctx: click.Context, group: str, name: str, **flags: Any) -> None:
    """Rename a season group (by id or name)."""
    with _service(ctx, flags) as service:
        found = service.rename_group(_group_id(service, group), name)
    click.echo(json.dumps(found, ensure_ascii=False))


@groups.command("delete")
@click.argument("group")
@_common
@click.pass_context
@handled
def groups_delete(ctx: click.Context, group: str, **flags: Any) -> None:
    """Delete a season group (refused while it has active seasons or an offer uses it)."""
    with _service(ctx, flags) as service:
        service.delete_group(_group_id(service, group))
    click.echo("season group deleted")


@groups.command("add-season")
@click.argument("group")
@click.option("--start", required=True, help="ISO 8601; at least 31 days ahead")
@click.option("--end", required=True, help="ISO 8601; after the start")
@_common
@click.pass_context
@handled
def groups_add_season(ctx: click.Context, group: str, start: str, end: str, **flags: Any) -> None:
    """Add a season to a group."""
    t0, t1 = _instant(start, "--start"), _instant(end, "--end")
    with _service(ctx, flags) as service:
        found = service.add_season(_group_id(service, group), t0, t1)
    click.echo(json.dumps(found, ensure_ascii=False))


@groups.command("edit-season")
@click.argument("group")
@click.argument("season_id", type=int)
@click.option("--start", required=True)
@click.option("--end", required=True)
@_common
@click.pass_context
@handled
def groups_edit_season(
    ctx: click.Context, group: str, season_id: int, start: str, end: str, **flags: Any
) -> None:
    """Change a season's dates (only dates in the future)."""
    t0, t1 = _instant(start, "--start"), _instant(end, "--end")
    with _service(ctx, flags) as service:
        found = service.edit_season(_group_id(service, group), season_id, t0, t1)
    click.echo(json.dumps(found, ensure_ascii=False))


@groups.command("remove-season")
@click.argument("group")
@click.argument("season_id", type=int)
@_common
@click.pass_context
@handled
def groups_remove_season(ctx: click.Context, group: str, season_id: int, **flags: Any) -> None:
    """Remove a group's last season."""
    with _service(ctx, flags) as service:
        found = service.remove_season(_group_id(service, group), season_id)
    click.echo(json.dumps(found, ensure_ascii=False))


# coupons ---------------------------------------------------------------------------------


@offers.command("coupon")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True)
@_common
@click.pass_context
@handled
def offers_coupon(ctx: click.Context, code: str, as_json: bool, **flags: Any) -> None:
    """The campaigns holding a coupon code: discount, uses, status and constraints."""
    settings = _settings(ctx, **flags)
    with _service(ctx, flags, online=bool(settings.api_url)) as service:
        found = service.lookup_coupon(code)
    if as_json:
        click.echo(json.dumps(found.to_json(), ensure_ascii=False))
    else:
        for c in found.cached:
            k = c.get("constraints") or {}
            click.echo(
                f"{visible(c['name'], 60)}: {c['discount']['value']:g} % off, "
                f"{c.get('usagePerCoupon')} use(s) per coupon, {c.get('status')}; "
                f"offer types {', '.join(k.get('offerTypes') or []) or 'any'}, "
                f"offers {', '.join(k.get('offers') or []) or 'any'}, "
                f"tags {', '.join(k.get('tags') or []) or 'any'}"
            )
        if found.api_error:
            click.echo(f"srm: the API did not answer: {found.api_error}", err=True)
    if not found.cached and not found.api:
        click.echo(f"srm: no campaign holds {code!r}", err=True)
        sys.exit(EXIT_FAILURE)


@customer.command("coupon-apply")
@click.argument("subscription_id")
@click.option("--code", required=True, help="the coupon code")
@_action_options
@_common
@click.pass_context
@handled
def customer_coupon_apply(
    ctx: click.Context,
    subscription_id: str,
    code: str,
    dry_run: bool,
    yes: bool,
    as_json: bool,
    **flags: Any,
) -> None:
    """Apply a coupon to a subscription (checked against its campaign first)."""
    _run_action(
        ctx,
        "coupon-apply",
        {"subscription_id": subscription_id, "code": code},
        flags,
        dry_run=dry_run,
        yes=yes,
        as_json=as_json,
        names=_names("SUBSCRIPTION_ID", code="--code"),
    )

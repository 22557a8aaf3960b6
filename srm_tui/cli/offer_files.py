"""`srm offers check|create|update|localize|activate|deactivate`: offers and localizations
edited from JSON files in the API's shape, checked against every field and vendor rule."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from srm_tui.cli.common import command_options
from srm_tui.cli.offers import (
    country_arg,
    json_file,
    offer_id_arg,
    offer_service,
    offers,
    show_result,
)
from srm_tui.domain.text import visible
from srm_tui.exits import UsageProblem


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
@command_options
def offers_check(
    ctx: click.Context, file: str, offer_id: str | None, as_json: bool, **flags: Any
) -> None:
    """Check an offer file against every field and vendor rule; send nothing."""
    from srm_tui.offers import forms
    from srm_tui.offers.rules import OfferInvalid
    from srm_tui.offers.service import _letter_of

    body = json_file(file)
    with offer_service(ctx, flags, online=False) as service:
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
                offer = service.current(offer_id_arg(offer_id, "--offer"))
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
@command_options
def offers_create(ctx: click.Context, file: str, draft: bool, as_json: bool, **flags: Any) -> None:
    """Create an offer from a JSON file in the API's POST /offers shape."""
    body = json_file(file)
    with offer_service(ctx, flags) as service:
        result = service.save_offer_json(body, draft=draft)
    show_result(result, as_json)


@offers.command("update")
@click.argument("offer_id")
@click.argument("file")
@click.option("--draft", is_flag=True, help="keep it as a draft; send nothing now")
@click.option("--json", "as_json", is_flag=True)
@command_options
def offers_update(
    ctx: click.Context, offer_id: str, file: str, draft: bool, as_json: bool, **flags: Any
) -> None:
    """Update an offer from a JSON file of PATCH fields, based on the cached version."""
    offer_id = offer_id_arg(offer_id)
    body = json_file(file)
    with offer_service(ctx, flags) as service:
        result = service.save_offer_json(body, offer_id, draft=draft)
    show_result(result, as_json)


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
@command_options
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
    offer_id = offer_id_arg(offer_id)
    country = country_arg(country)
    body = json_file(file)
    with offer_service(ctx, flags) as service:
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
    show_result(result, as_json)


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
    @command_options
    def command(
        ctx: click.Context,
        offer_id: str,
        country: str | None,
        draft: bool,
        as_json: bool,
        **flags: Any,
    ) -> None:
        offer_id = offer_id_arg(offer_id)
        country = country_arg(country)
        with offer_service(ctx, flags) as service:
            result = service.set_active(offer_id, active, country, draft=draft)
        show_result(result, as_json)

    return command


offers_activate = _activation(True)
offers_deactivate = _activation(False)

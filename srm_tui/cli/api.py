"""`srm api check`: which API srm talks to, and per feature what it offers (CONTRACT 7)."""

from __future__ import annotations

import json
from typing import Any

import click

from srm_tui import runtime
from srm_tui.api import errors
from srm_tui.api.profile import FEATURES, VENDOR, ApiProfile, detect, remember_profile
from srm_tui.cli.common import command_options, session
from srm_tui.storage import db


@click.group("api")
def api_group() -> None:
    """The connected API: its profile and what it offers."""


@api_group.command("check")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='print {"profile": P, "features": {NAME: {"available", "reason"}}}',
)
@command_options
def api_check(ctx: click.Context, as_json: bool, **flags: Any) -> None:
    """Detect the API's profile (vendor or sandbox) and say, per feature, whether it is
    available and why; remembered in the cache for the console and the other commands."""
    with session(ctx, flags) as s:
        with s.client() as client:
            found = detect(client)  # unreachable: exit 3 with the client's words
            url = client.base_url
            answers = probe(client)  # a refused key: exit 1 saying so
        # Remembered where a store exists (a cache file, the team store); none is created
        # just for this.
        team = runtime.is_team_store(s.settings)
        if team or runtime.cache_path(s.settings).is_file():
            try:
                remember_profile(s.cache.conn(), url, found)
            except db.DB_ERRORS as exc:  # a read-only cache, a viewer: the report still stands
                where = s.cache.location
                click.echo(f"srm: the profile is not remembered in {where}: {exc}", err=True)
    if as_json:
        click.echo(json.dumps(found.as_json()))
        return
    click.echo(render(found, url, answers))


# Published calls that need no record id: asked once each, so the report says what answers.
PROBES = (
    ("GET /offers", "/offers", {"limit": 1}),
    ("GET /offers/season-groups", "/offers/season-groups", None),
    (
        "GET /customers?email=",
        "/customers",
        {"email": "srm-api-check@example.invalid", "offset": 0, "limit": 1},
    ),
    ("GET /webhook_subscriptions", "/webhook_subscriptions", None),
)


def probe(client: Any) -> list[tuple[str, str]]:
    """(call, what it answered) for each of PROBES; a refused key or a lost API raises."""
    out = []
    for label, path, params in PROBES:
        try:
            client.get_json(path, params)
        except (errors.Unreachable, errors.AuthError):
            raise
        except errors.ApiError as exc:
            status = f"HTTP {exc.status}" if exc.status else "no usable answer"
            out.append((label, f"{status}: {exc.message}"))
        else:
            out.append((label, "answers"))
    return out


def render(profile: ApiProfile, url: str, answers: list[tuple[str, str]] = ()) -> str:
    """The plain-text report: the profile, the calls asked, then one line per feature."""
    if profile.name == VENDOR:
        head = (
            f"profile: vendor ({url}): the vendor's published calls only "
            "(GET /x-srm/customers answered 404)"
        )
    else:
        head = f"profile: sandbox ({url}): the published calls and the sandbox's /x-srm/ extensions"
    lines = [head]
    if answers:
        lines.append("calls:")
        lines += [f"  {label}: {said}" for label, said in answers]
        lines.append("features:")
    width = max(len(n) for n in FEATURES)
    for name in FEATURES:
        feature = profile.feature(name)
        state = "available" if feature.available else "not offered"
        if feature.local:
            state = "available (srm's own store)"
        text = feature.reason
        if not feature.available and feature.vendor_way:
            text += f". {feature.vendor_way}"
        lines.append(f"  {name.ljust(width)}  {state}: {text}")
    return "\n".join(lines)

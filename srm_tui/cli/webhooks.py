"""`srm webhooks serve|subscribe|status`: the receiver of the vendor's webhook deliveries,
its subscription through the vendor's call, and what it took in."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from srm_tui.cli.common import command_options, configured_api, session
from srm_tui.exits import EXIT_FAILURE, UsageProblem


@click.group()
def webhooks() -> None:
    """Receive the vendor's webhook deliveries."""


@webhooks.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8766, show_default=True, type=int)
@command_options
def webhooks_serve(ctx: click.Context, host: str, port: int, **flags: Any) -> None:
    """Receive deliveries and bring the records they name into the cache."""
    from srm_tui.cli.sync import writer_lock
    from srm_tui.sync.webhook_server import serve_receiver
    from srm_tui.sync.webhooks import Limits, create_receiver

    # One receiver writes a store at a time (beside at most one srm sync).
    with session(ctx, flags, create=True) as s, writer_lock(s, "webhooks"):
        settings = s.settings
        cache = s.cache
        configured_api(s)
        client = s.client()
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        limits = Limits.from_settings(settings)
        if secret is None and host not in ("127.0.0.1", "::1", "localhost"):
            click.echo(
                f"warning: no SRM_WEBHOOK_SECRET: anyone who can reach {host}:{port} can "
                "post deliveries (set it, and subscribe with it, to have them signed)",
                err=True,
            )
        app = create_receiver(cache, client, secret=secret, limits=limits)
        serve_receiver(
            app,
            host,
            port,
            limits,
            app.ledger,
            on_ready=lambda url: print(f"listening on {url}", flush=True),
        )


@webhooks.command("subscribe")
@click.argument("url")
@click.option("--topics", default=None, help="comma-separated topics (default: those srm uses)")
@click.option("--json", "as_json", is_flag=True, help="print {url, topics: {topic: outcome}}")
@command_options
def webhooks_subscribe(
    ctx: click.Context, url: str, topics: str | None, as_json: bool, **flags: Any
) -> None:
    """Register URL for webhook topics through the vendor's webhook-subscription call."""
    from srm_tui.sync.topics import SUBSCRIBE_TOPICS
    from srm_tui.sync.webhook_admin import TOPIC, URL, subscribe

    if not URL.match(url):
        raise UsageProblem(f"URL: not an http(s) URL: {url!r}")
    chosen = (
        list(SUBSCRIBE_TOPICS)
        if topics is None
        else [t.strip() for t in topics.split(",") if t.strip()]
    )
    bad = [t for t in chosen if not TOPIC.match(t)]
    if not chosen or bad:
        raise UsageProblem(f"--topics: not a topic name: {(bad or [topics])[0]!r}")
    with session(ctx, flags) as s:
        configured_api(s)
        client = s.client()
        settings = s.settings
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
        with client:
            outcome = subscribe(client, url, list(dict.fromkeys(chosen)), secret)
    if as_json:
        click.echo(json.dumps({"url": url, "topics": outcome}))
    else:
        for topic, said in outcome.items():
            click.echo(f"{topic}: {said}")
    failed = [t for t, said in outcome.items() if said not in ("added", "updated", "unchanged")]
    if failed:
        click.echo(f"not subscribed: {', '.join(failed)}", err=True)
        sys.exit(EXIT_FAILURE)


@webhooks.command("status")
@click.option("--json", "as_json", is_flag=True)
@command_options
def webhooks_status(ctx: click.Context, as_json: bool, **flags: Any) -> None:
    """What the receiver took in: received, processed, replayed, refused by reason."""
    from srm_tui.sync.webhook_admin import status

    with session(ctx, flags) as s:
        seen = status(s.cache.conn())
    if as_json:
        click.echo(json.dumps(seen))
        return
    click.echo(
        f"received {seen['received']}: accepted {seen['accepted']}, replayed "
        f"{seen['replayed']}, refused {seen['refused_total']}"
    )
    click.echo(f"processed {seen['processed']}, failed {seen['failed']}, pending {seen['pending']}")
    for reason, n in seen["refused"].items():
        click.echo(f"  refused {reason}: {n}")
    click.echo(f"last delivery: {seen['last_delivery_at'] or 'never'}")

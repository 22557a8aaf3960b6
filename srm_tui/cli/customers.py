"""`srm search` and `srm customer show`: reading the cache. The `srm customer` group also
holds the support actions, generated in ``srm_tui.cli.actions``."""

from __future__ import annotations

import json
from typing import Any

import click

from srm_tui import runtime
from srm_tui.cli.common import check_id, command_options, not_cached, session
from srm_tui.domain.text import json_text, visible
from srm_tui.exits import UsageProblem


@click.command()
@click.argument("query")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000))
@click.option("--json", "as_json", is_flag=True)
@click.option("--stats", is_flag=True, help='print {"elapsed_ms", "rows"} on stderr')
@command_options
def search(
    ctx: click.Context, query: str, limit: int, as_json: bool, stats: bool, **flags: Any
) -> None:
    """Search the cache: terms ANDed, fields like email: name: txn: card: narrow them."""
    from srm_tui.storage.queries import summary
    from srm_tui.storage.search import SearchError
    from srm_tui.storage.search import search as run_search

    if not query.strip():
        raise UsageProblem("query: empty: give a term to search for (a name, an email, an id)")
    with session(ctx, flags) as s:
        try:
            result = run_search(s.cache.conn(), query, limit=limit)
        except SearchError as exc:
            raise UsageProblem(f"query: {exc}") from exc
        rows = [summary(r) for r in result.rows]
    if as_json:
        click.echo(json_text(rows))
    else:
        for r in rows:
            name = " ".join(visible(p, 30) for p in (r["first_name"], r["last_name"]) if p)
            click.echo(f"{r['id']:>10}  {visible(r['email'], 40):40}  {name}")
        if not rows:
            click.echo("no customer matches", err=True)
    if stats:
        click.echo(
            json.dumps({"elapsed_ms": round(result.elapsed_ms, 3), "rows": len(rows)}), err=True
        )


@click.group()
def customer() -> None:
    """Read and act on one customer."""


@customer.command("show")
@click.argument("customer_id")
@click.option("--json", "as_json", is_flag=True)
@command_options
def customer_show(ctx: click.Context, customer_id: str, as_json: bool, **flags: Any) -> None:
    """The whole cached record of a customer."""
    from srm_tui.storage.queries import customer_record

    check_id(customer_id, "ID")
    with session(ctx, flags) as s:
        record = customer_record(s.cache.conn(), int(customer_id), s.settings.now_ts())
    if record is None:
        not_cached(customer_id)
    if as_json:
        click.echo(json_text(record))
    else:
        from srm_tui.domain.money import readable_record

        click.echo(runtime.dumps(readable_record(record)))

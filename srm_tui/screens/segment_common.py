"""What the segment screens share: the member list's columns, how fresh the cache is, tags
as typed."""

from __future__ import annotations

from typing import Any

from srm_tui.domain.time import synced


def list_columns(app: Any) -> tuple[str, ...]:
    """The customer list's columns as the agent chose them (Customers › c), for members."""
    from srm_tui.widgets.customer_table import COLUMNS, DEFAULT_COLUMNS

    chosen = tuple(c for c in app.session.customers.list_columns() or () if c in COLUMNS)
    return chosen or DEFAULT_COLUMNS


def freshness(app: Any) -> str:
    """How fresh the cache is, as the status line says it ("cache synced 4 min ago")."""
    return "cache " + synced(app.session.status().last_sync_at, app.settings.now_ts())


def parse_tags(text: str) -> tuple[str, ...]:
    """Comma-separated tags, blanks and repeats (any case) dropped, first spelling kept."""
    seen: list[str] = []
    for tag in (t.strip() for t in text.split(",")):
        if tag and tag.casefold() not in {s.casefold() for s in seen}:
            seen.append(tag)
    return tuple(seen)

"""A customer's history as support reads it: one list for the console and `customer show`.

It merges the account's own timeline (subscriptions, passes, payments, emails, notes and the
vendor's change records, ``domain.account.timeline``), srm's audit of the agents' actions and
the changes srm saw between two copies the API sent (``observed_changes``: the vendor keeps no
change history a publisher can read). Newest first.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from srm_tui.domain import account as acc
from srm_tui.storage import observed

AUDIT_LIMIT = 500
BULK_RUN = re.compile(r"(bulk #\d+):")  # how a bulk run's audit detail begins


def iso_date(ts: int) -> str:
    """A unix time as a calendar date (UTC)."""
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%d")


def observed_events(
    conn: sqlite3.Connection, customer_id: int, date: Callable[[int], str] = iso_date
) -> list[acc.Event]:
    """The changes sync, fetches and webhooks saw in the customer's subscriptions and passes."""
    out = []
    for r in observed.for_customer(conn, customer_id):
        what = "Subscription" if r["entity"] == "subscriptions" else "Pass"
        before, after = r["before"], r["after"]
        if r["field"] in ("dateTo", "expiresAt"):
            before = date(int(before)) if before else "no end"
            after = date(int(after)) if after else "no end"
        elif r["field"] == "customerId":
            before, after = f"customer {before}", f"customer {after}"
        out.append(
            acc.Event(
                r["seen_at"],
                "subscription" if what == "Subscription" else "pass",
                f"{what} {r['record_key']} {r['field']}: {before or '—'} → "
                f"{after or '—'} (seen at the API)",
                r["record_key"],
            )
        )
    return out


def _with_run(entry: dict[str, Any]) -> dict[str, Any]:
    """An audit entry of a bulk run names the run beside its target ("bulk #4")."""
    found = BULK_RUN.match(entry.pop("detail", None) or "")
    if found:
        entry["target"] = f"{entry.get('target') or ''} ({found.group(1)})".strip()
    return entry


def customer_history(
    conn: sqlite3.Connection,
    customer_id: int,
    record: dict[str, Any],
    now: int | None = None,
    date: Callable[[int], str] = iso_date,
) -> list[acc.Event]:
    """The merged history of a customer whose cached records are ``record`` (the raw
    account, ``queries.account_records``), newest first; ``date`` writes the dates that
    observed changes name."""
    audit = [
        _with_run(dict(r))
        for r in conn.execute(
            "SELECT id, at, agent, action, target, outcome, detail FROM audit "
            "WHERE customer_id = ? ORDER BY at DESC LIMIT ?",
            (customer_id, AUDIT_LIMIT),
        )
    ]
    events = acc.timeline(record, audit, now)
    events += observed_events(conn, customer_id, date)
    events.sort(key=lambda e: e.at, reverse=True)
    return events

"""Typed reads of the cache's state for the console: the status line's counts and the
Sync & outbox screen's runs, quarantine and outbox."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite3

    from srm_tui.storage.cache import Cache

# Counters a sync run keeps beside its record counts (not records themselves).
_NOT_RECORDS = ("quarantined", "resolved", "retries")


@dataclass(frozen=True)
class Status:
    """What the status line says about the cache."""

    last_sync_at: int | None
    pending: int  # outbox entries waiting for the API
    decide: (
        int  # writes waiting for the agent (an entry in conflict or failed, a draft in conflict)
    )
    drafts: int = 0  # offer drafts waiting for the API (the same write pipeline)


@dataclass(frozen=True)
class SyncRun:
    started_at: int | None
    mode: str
    ok: bool
    message: str | None
    records: int
    quarantined: int
    seconds: object  # as the run wrote it ("" when it did not)


@dataclass(frozen=True)
class Quarantined:
    received_at: int | None
    entity: str
    record_key: str
    reason: str


@dataclass(frozen=True)
class OutboxRow:
    id: int
    created_at: int | None
    action: str
    target: str
    status: str
    attempts: int
    last_error: str | None


@dataclass(frozen=True)
class SyncOverview:
    """The newest ``shown`` rows of each table, with the full counts for the headings."""

    run_count: int
    runs: list[SyncRun]
    open_quarantine: int
    quarantine: list[Quarantined]
    outbox_counts: dict[str, int]  # status -> entries
    outbox: list[OutboxRow]


class StatusReads:
    """What the console reads about the cache's state, over one cache."""

    def __init__(self, cache: Cache) -> None:
        self._cache = cache

    def _conn(self) -> sqlite3.Connection:
        return self._cache.conn()

    def status(self) -> Status:
        last = self._cache.get_meta("last_sync_at")
        counts = self.outbox_counts()
        drafts = dict(
            self._conn().execute("SELECT status, count(*) FROM offer_drafts GROUP BY status")
        )
        return Status(
            int(last) if last else None,
            counts.get("pending", 0),
            counts.get("conflict", 0) + counts.get("failed", 0) + drafts.get("conflict", 0),
            drafts.get("draft", 0),
        )

    def outbox_counts(self) -> dict[str, int]:
        rows = self._conn().execute("SELECT status, count(*) FROM outbox GROUP BY status")
        return {status: n for status, n in rows}

    def has_pending(self) -> bool:
        """Something waits in the outbox to be sent."""
        row = self._conn().execute("SELECT 1 FROM outbox WHERE status = 'pending' LIMIT 1")
        return row.fetchone() is not None

    def sync_overview(self, shown: int) -> SyncOverview:
        conn = self._conn()
        runs = []
        for r in conn.execute("SELECT * FROM sync_runs ORDER BY id DESC LIMIT ?", (shown,)):
            counts = json.loads(r["counts"] or "{}")
            runs.append(
                SyncRun(
                    r["started_at"],
                    r["mode"],
                    bool(r["ok"]),
                    r["message"],
                    sum(
                        v for k, v in counts.items() if isinstance(v, int) and k not in _NOT_RECORDS
                    ),
                    counts.get("quarantined", 0),
                    counts.get("seconds", ""),
                )
            )
        quarantine = [
            Quarantined(r["received_at"], r["entity"], r["record_key"], r["reason"])
            for r in conn.execute(
                "SELECT * FROM quarantine WHERE resolved_at IS NULL ORDER BY id DESC LIMIT ?",
                (shown,),
            )
        ]
        # What needs the agent first (conflicts, failures), then what waits, then the rest.
        outbox = [
            OutboxRow(
                r["id"],
                r["created_at"],
                r["action"],
                r["target"],
                r["status"],
                r["attempts"],
                r["last_error"],
            )
            for r in conn.execute(
                "SELECT * FROM outbox ORDER BY CASE status WHEN 'conflict' THEN 0 "
                "WHEN 'failed' THEN 1 WHEN 'pending' THEN 2 ELSE 3 END, id DESC LIMIT ?",
                (shown,),
            )
        ]
        return SyncOverview(
            conn.execute("SELECT count(*) FROM sync_runs").fetchone()[0],
            runs,
            conn.execute("SELECT count(*) FROM quarantine WHERE resolved_at IS NULL").fetchone()[0],
            quarantine,
            self.outbox_counts(),
            outbox,
        )

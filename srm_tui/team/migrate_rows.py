"""How `srm team migrate` writes rows (team/migrate.py runs it): each batch of the cache's
rows (team/migrate_source.py reads them) staged by COPY into a temporary table, inserted into
the store where not there yet, and the table's last key written into ``team_migrate`` in the
same transaction, so a run killed anywhere loses only its open batch and the next run goes on
from the last key. A customers batch writes its search documents too (storage.pg.search). At
the end every identity moves past the copied ids.

psycopg is not imported here: the connection is storage.pg's (admin.admin_session).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from srm_tui.team.migrate_source import (
    MigrateError,
    convert,
    count_rows,
    q,
    snapshot,
    source_columns,
    source_rows,
    source_tables,
    unknown_tables,
)

BATCH = 20_000  # rows per transaction
BATCH_ENV = "SRM_MIGRATE_BATCH"  # tests: a smaller batch
KILL_AFTER_ENV = "SRM_MIGRATE_KILL_AFTER_BATCHES"  # tests: SIGKILL after N batches committed
PROGRESS_TABLE = "team_migrate"
# The order tables are copied in: the catalogue, the customers and their records, srm's own
# work (parents before the children their foreign keys name), the writer's bookkeeping, then
# meta. tests/integration/test_team_migrate.py checks this is every non-derived table.
COPY_ORDER: tuple[str, ...] = (
    "offers",
    "localizations",
    "season_groups",
    "campaigns",
    "campaign_codes",
    "customers",
    "subscriptions",
    "passes",
    "transactions",
    "payment_details",
    "emails",
    "notes",
    "history",
    "outbox",
    "offer_drafts",
    "audit",
    "segments",
    "segment_versions",
    "segment_members",
    "segment_member_changes",
    "segment_schedules",
    "playbook_versions",
    "bulk_runs",
    "bulk_members",
    "exports",
    "sync_checkpoints",
    "sync_runs",
    "quarantine",
    "customer_fetch_state",
    "observed_changes",
    "import_files",
    "import_pending_emails",
    "webhook_events",
    "webhook_replay",
    "webhook_refusals",
    "webhook_counters",
    "exchange_rates",
    "raw_dictionaries",
    "meta",
)


@dataclass
class TableReport:
    """One table's copy: rows in the cache, rows done by earlier runs, rows written by this
    run, and rows this run found already in the store."""

    table: str
    total: int
    done_before: int = 0
    copied: int = 0
    already_there: int = 0
    batches: int = 0


def _target_columns(conn: Any) -> dict[str, dict[str, str]]:
    """table -> column -> data type, for the store's tables."""
    out: dict[str, dict[str, str]] = {}
    for table, column, kind in conn.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = current_schema()"
    ):
        out.setdefault(table, {})[column] = kind
    return out


def ensure_progress(conn: Any) -> None:
    """Make the progress table (one row per table: its last key copied, rows done, total,
    finished) on the store, if it has none yet."""
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {PROGRESS_TABLE} ("
        'table_name text COLLATE "C" PRIMARY KEY, '
        'last_key text COLLATE "C", '
        "rows bigint NOT NULL DEFAULT 0, "
        "total bigint, "
        "started_at bigint NOT NULL, "
        "finished_at bigint)"
    )


def read_progress(conn: Any) -> dict[str, tuple[str | None, int, int | None]]:
    """table -> (last key as JSON, rows done, finished at) from earlier runs."""
    return {
        r[0]: (r[1], int(r[2]), r[3])
        for r in conn.execute(
            f"SELECT table_name, last_key, rows, finished_at FROM {PROGRESS_TABLE}"
        )
    }


class _Killer:
    """The test hook: SIGKILL this process right after its N-th batch committed."""

    def __init__(self) -> None:
        raw = os.environ.get(KILL_AFTER_ENV, "")
        self.after = int(raw) if raw.isdigit() else None
        self.committed = 0

    def batch_committed(self) -> None:
        self.committed += 1
        if self.after is not None and self.committed >= self.after:
            os.kill(os.getpid(), signal.SIGKILL)


def batch_size() -> int:
    """Rows per transaction (SRM_MIGRATE_BATCH, when a positive number, for tests)."""
    raw = os.environ.get(BATCH_ENV, "")
    return int(raw) if raw.isdigit() and int(raw) > 0 else BATCH


def _write_batch(
    conn: Any,
    table: str,
    columns: list[str],
    rows: list[tuple],
    last_key: list[Any],
    finished: bool,
    total: int,
    now: int,
    staged: set[str],
) -> int:
    """One batch in one transaction: staged by COPY, inserted where not there yet, and the
    table's progress moved to its last key. Returns the rows inserted."""
    from srm_tui.storage.pg.connection import OWN_LOCK_KEY, VENDOR_LOCK_KEY

    names = ", ".join(map(q, columns))
    staging = q(f"srm_migrate_{table}")
    with conn.transaction():
        # The store's own locks, in their order: a sync or an agent's write on the store waits
        # for the batch instead of interleaving with it.
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (VENDOR_LOCK_KEY,))
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (OWN_LOCK_KEY,))
        if table not in staged:
            conn.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {staging} ON COMMIT DELETE ROWS AS "
                f"SELECT {names} FROM {q(table)} WITH NO DATA"
            )
        with conn.cursor() as cur:
            with cur.copy(f"COPY {staging} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            cur.execute(
                f"INSERT INTO {q(table)} ({names}) SELECT {names} FROM {staging} "
                "ON CONFLICT DO NOTHING"
            )
            inserted = max(cur.rowcount, 0)
            if table == "customers":
                _index(cur, columns, rows)
        conn.execute(
            f"INSERT INTO {PROGRESS_TABLE} (table_name, last_key, rows, total, started_at, "
            "finished_at) VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (table_name) DO UPDATE "
            "SET last_key = excluded.last_key, rows = team_migrate.rows + excluded.rows, "
            "total = excluded.total, finished_at = excluded.finished_at",
            (table, json.dumps(last_key), len(rows), total, now, now if finished else None),
        )
    staged.add(table)
    return inserted


# The customers' columns the search documents are made of (storage.pg.search.search_rows).
_SEARCH_COLUMNS = (
    "id", "email", "first_name", "last_name", "company", "address", "city", "state", "post_code",
)  # fmt: skip


def _index(cur: Any, columns: list[str], rows: list[tuple]) -> None:
    """The batch's customers' search documents, made as the search code makes them, in the
    batch's transaction: the store answers searches as soon as the copy is done."""
    from srm_tui.storage.pg import search

    at = [columns.index(c) for c in _SEARCH_COLUMNS]
    cur.executemany(
        "INSERT INTO customer_search (id, doc, zip_words, state_words) "
        "VALUES (%s, %s::tsvector, %s, %s) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, "
        "zip_words = excluded.zip_words, state_words = excluded.state_words",
        search.search_rows([[row[i] for i in at] for row in rows]),
    )


def _finish_table(conn: Any, table: str, total: int, now: int) -> None:
    conn.execute(
        f"INSERT INTO {PROGRESS_TABLE} (table_name, last_key, rows, total, started_at, "
        "finished_at) VALUES (%s, NULL, 0, %s, %s, %s) ON CONFLICT (table_name) DO UPDATE "
        "SET total = excluded.total, finished_at = excluded.finished_at",
        (table, total, now, now),
    )


def _copy_table(
    conn: Any,
    src: sqlite3.Connection,
    table: str,
    kinds: dict[str, str],
    state: tuple[str | None, int, int | None] | None,
    report: TableReport,
    batch: int,
    killer: _Killer,
    staged: set[str],
    say: Callable[[str], None],
) -> None:
    columns, key = source_columns(src, table)
    missing = [c for c in columns if c not in kinds]
    if missing:
        raise MigrateError(
            f"the store's table {table} has no column {', '.join(missing)}: it is not at this "
            "srm's schema (run srm team init on it with this srm)"
        )
    last = json.loads(state[0]) if state and state[0] else None
    report.done_before = state[1] if state else 0
    while True:
        rows = source_rows(src, table, columns, key, last, batch)
        now = int(time.time())
        if not rows:
            _finish_table(conn, table, report.total, now)
            break
        at = [columns.index(k) for k in key]
        last = [rows[-1][i] for i in at]
        converted = list(convert(table, columns, key, kinds, rows))
        finished = len(rows) < batch
        inserted = _write_batch(
            conn, table, columns, converted, last, finished, report.total, now, staged
        )
        report.copied += inserted
        report.already_there += len(rows) - inserted
        report.batches += 1
        say(
            f"srm team migrate: {table} {report.done_before + report.copied + report.already_there:,}"
            f" / {report.total:,}"
        )
        killer.batch_committed()
        if finished:
            break


def move_identities(conn: Any) -> list[str]:
    """Every identity past the largest id copied (an empty table's stays as it is)."""
    from srm_tui.storage.pg import schema

    moved = []
    for table in schema.IDENTITY_TABLES:
        row = conn.execute(
            f"SELECT pg_get_serial_sequence(%s, 'id'), (SELECT max(id) FROM {q(table)})",
            (table,),
        ).fetchone()
        if row[0] is None or row[1] is None:
            continue
        conn.execute(
            f"SELECT setval(%s::regclass, GREATEST(%s, (SELECT last_value FROM {row[0]})))",
            (row[0], row[1]),
        )
        moved.append(table)
    return moved


def copy_all(conn: Any, path: Path, tables: list[TableReport], say: Callable[[str], None]) -> None:
    """Copy every table of the cache at ``path`` the store keeps, in COPY_ORDER, from one
    snapshot, going on from each table's last committed key; each table's report is
    appended to ``tables`` as it starts (so a failure still says how far it got)."""
    src = snapshot(path)
    try:
        present = source_tables(src)
        unknown = unknown_tables(present)
        if unknown:
            raise MigrateError(
                f"{path}: the cache has tables this srm's store has no place for "
                f"({', '.join(unknown)}): nothing of them would reach the store"
            )
        target = _target_columns(conn)
        done = read_progress(conn)
        batch = batch_size()
        killer = _Killer()
        staged: set[str] = set()
        for table in COPY_ORDER:
            if table not in present:
                continue
            if table not in target:
                raise MigrateError(
                    f"the store has no table {table}: it is not at this srm's schema"
                )
            state = done.get(table)
            table_report = TableReport(table=table, total=count_rows(src, table))
            tables.append(table_report)
            if state is not None and state[2] is not None:  # finished by an earlier run
                table_report.done_before = state[1]
                continue
            _copy_table(
                conn, src, table, target[table], state, table_report, batch, killer, staged, say
            )
    finally:
        src.close()

"""`srm team migrate --from FILE --to URL`: move a local SQLite cache into the team's PostgreSQL
store, resumably (ISSUE15 1(h)).

The cache is opened as srm opens it (migrated forward first). An empty database gets the srm
schema and roles (``team.init.init_store``, as `srm team init` does). The store is claimed
for this cache in its meta row ``migrated_from`` (the cache's path and the random id kept in
the cache's own meta ``cache_id``): a store holding another source's data is refused. Each
table the vendor's data and srm's own work live in is then read in primary-key order from one
snapshot of the cache and written in batches: COPY into a temporary staging table, then
``INSERT … SELECT … ON CONFLICT DO NOTHING``, and the batch's last key in ``team_migrate`` in
the same transaction. A process killed anywhere loses only its open batch; run again, it goes
on from the last key committed. At the end every identity moves past the copied ids.

The segment facts (derived) are not copied: the store's triggers mark every copied customer
for them, and the writer's first `srm sync` on the store rebuilds them. The search documents
are made from each customers batch in its transaction (storage.pg.search). PostgreSQL text cannot hold U+0000: a record's ``raw`` (bytea) keeps it exactly, while the
text columns srm derives from it get U+FFFD in its place.

psycopg is not imported here: the connection comes from storage.pg (admin.admin_session).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from srm_tui.exits import UsageProblem
from srm_tui.storage.db import is_postgres_url, redact_url
from srm_tui.team.migrate_rows import (
    BATCH_ENV,
    COPY_ORDER,
    KILL_AFTER_ENV,
    PROGRESS_TABLE,
    TableReport,
    copy_all,
    ensure_progress,
    move_identities,
)
from srm_tui.team.migrate_source import (
    CACHE_ID_META,
    META_NOT_COPIED,
    MIGRATED_FROM_META,
    MigrateError,
    q,
)

__all__ = [
    "BATCH_ENV",
    "CACHE_ID_META",
    "COPY_ORDER",
    "KILL_AFTER_ENV",
    "META_NOT_COPIED",
    "PROGRESS_TABLE",
    "MigrateError",
    "MigrateReport",
    "migrate",
    "redact_url",
]

# One migrate writes a store at a time ("srm" "mig").
MIGRATE_LOCK_KEY = 0x73726D_6D6967
REBUILT_NOTE = (
    "segment facts are not copied: the first srm sync on the store rebuilds them (until then "
    "segments there have nothing to read); search documents were made from the customers"
)
# Derived tables the copy writes itself rather than leaving to the writer.
BUILT_BY_COPY = ("customer_search",)


@dataclass
class MigrateReport:
    """What `srm team migrate` did."""

    source: str
    cache_id: str
    target: str  # the URL without its password
    schema_created: bool
    schema_version: int
    resumed: bool  # an earlier run had started this copy
    already_done: bool  # an earlier run had finished it: nothing was written
    tables: list[TableReport] = field(default_factory=list)
    identities_moved: list[str] = field(default_factory=list)
    seconds: float = 0.0
    not_copied: list[str] = field(default_factory=list)
    note: str = REBUILT_NOTE

    @property
    def rows(self) -> int:
        """Rows this run wrote."""
        return sum(t.copied for t in self.tables)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {**asdict(self), "rows": self.rows}


def check_source(path: str | os.PathLike[str]) -> Path:
    """The --from path as a cache file that exists (UsageProblem naming --from otherwise)."""
    source = Path(path)
    if not source.exists():
        raise UsageProblem(f"--from: {source}: no srm cache here (nothing to migrate)")
    if not source.is_file():
        raise UsageProblem(f"--from: {source}: not a file (an srm cache is one file)")
    return source


def check_target(url: str) -> None:
    """The --to URL as a well-formed postgresql:// URL (UsageProblem naming --to otherwise;
    never with its password)."""
    from srm_tui.domain.text import visible

    if not is_postgres_url(url):
        raise UsageProblem(
            "--to: the team store is a PostgreSQL database named by a postgresql:// URL, not "
            f"{visible(redact_url(url), 80)!r}"
        )
    from srm_tui.storage.pg import admin

    problem = admin.url_problem(url)
    if problem is not None:
        raise UsageProblem(f"--to: {redact_url(url)} is not a usable PostgreSQL URL: {problem}")


def cache_identity(path: Path, say: Callable[[str], None] | None = None) -> str:
    """Open the cache as srm does (migrating it forward) and return its random identity,
    made and kept in its meta on first need."""
    from srm_tui.storage.cache import Cache

    cache = Cache(path, create=False, say=say)
    try:
        ident = cache.get_meta(CACHE_ID_META)
        if ident:
            return ident
        if cache.read_only:
            raise MigrateError(
                f"{path}: the cache is read only, so its identity cannot be recorded in it "
                "(copy it somewhere writable first)"
            )
        with cache.transaction() as tx:
            tx.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO NOTHING",
                (CACHE_ID_META, uuid.uuid4().hex),
            )
            row = tx.execute("SELECT value FROM meta WHERE key = ?", (CACHE_ID_META,)).fetchone()
        return str(row[0])
    finally:
        cache.close()


def _has_data(conn: Any) -> list[str]:
    """The copied tables already holding rows (meta's schema row and the shipped payload
    dictionaries aside: `srm team init` writes those)."""
    found = []
    for table in COPY_ORDER:
        if table == "raw_dictionaries":
            continue
        if table == "meta":
            marks = ", ".join(["%s"] * len(META_NOT_COPIED))
            sql = f"SELECT EXISTS (SELECT 1 FROM meta WHERE key NOT IN ({marks}))"
            if conn.execute(sql, META_NOT_COPIED).fetchone()[0]:
                found.append(table)
            continue
        if conn.execute(f"SELECT EXISTS (SELECT 1 FROM {q(table)})").fetchone()[0]:
            found.append(table)
    return found


def _claim(conn: Any, source: Path, cache_id: str, now: int) -> dict[str, Any] | None:
    """Claim the store for this cache (its meta ``migrated_from``), or find it claimed by
    this cache already (returned: an earlier run's claim). UsageProblem naming --to when
    another source's data is there."""
    with conn.transaction():
        row = conn.execute(
            "SELECT value FROM meta WHERE key = %s", (MIGRATED_FROM_META,)
        ).fetchone()
        if row is not None:
            try:
                claim = json.loads(row[0])
            except (TypeError, ValueError):
                claim = {}
            if not isinstance(claim, dict) or claim.get("cache_id") != cache_id:
                origin = claim.get("path") if isinstance(claim, dict) else None
                raise UsageProblem(
                    f"--to: the store holds data migrated from another cache "
                    f"({origin or 'unknown'}), not from {source}: migrate into an empty "
                    "database"
                )
            return claim
        filled = _has_data(conn)
        if filled:
            raise UsageProblem(
                f"--to: the store already holds data ({', '.join(filled[:5])}"
                f"{' …' if len(filled) > 5 else ''}) not migrated from {source}: migrate "
                "into an empty database"
            )
        claim = {"cache_id": cache_id, "path": str(source.absolute()), "started_at": now}
        conn.execute(
            "INSERT INTO meta (key, value) VALUES (%s, %s)",
            (MIGRATED_FROM_META, json.dumps(claim)),
        )
    return None


def migrate(
    source: str | os.PathLike[str],
    url: str,
    say: Callable[[str], None] | None = None,
) -> MigrateReport:
    """Copy the cache at ``source`` into the team store at ``url`` (see the module
    docstring); resumable, and a finished copy run again writes nothing. ``say`` hears the
    progress, one line per batch."""
    started = time.monotonic()
    say = say or (lambda line: None)
    path = check_source(source)
    check_target(url)
    from srm_tui.storage.pg import admin, schema

    cache_id = cache_identity(path, say)
    where = redact_url(url)
    created = False
    with admin.admin_session(url, "srm team migrate") as conn:
        version = schema.stored_version(conn)
    if version != schema.PG_SCHEMA_VERSION:
        from srm_tui.team.init import init_store

        say(f"srm team migrate: setting up the srm schema and roles on {where}")
        init = init_store(url)
        created = version == 0
        version = init.schema_version
    report = MigrateReport(
        source=str(path),
        cache_id=cache_id,
        target=where,
        schema_created=created,
        schema_version=version,
        resumed=False,
        already_done=False,
        not_copied=sorted(set(schema.DERIVED_TABLES) - set(BUILT_BY_COPY)),
    )
    with admin.admin_session(url, "srm team migrate") as conn:
        if not conn.execute("SELECT pg_try_advisory_lock(%s)", (MIGRATE_LOCK_KEY,)).fetchone()[0]:
            raise MigrateError(f"another srm team migrate is writing {where}; let it finish")
        claim = _claim(conn, path, cache_id, int(time.time()))
        ensure_progress(conn)
        report.resumed = claim is not None
        if claim is not None and claim.get("finished_at"):
            report.already_done = True
            report.seconds = round(time.monotonic() - started, 3)
            return report
        copy_all(conn, path, report.tables, say)
        with conn.transaction():
            report.identities_moved = move_identities(conn)
            claim = {
                "cache_id": cache_id,
                "path": str(path.absolute()),
                "started_at": (claim or {}).get("started_at", int(time.time())),
                "finished_at": int(time.time()),
            }
            conn.execute(
                "UPDATE meta SET value = %s WHERE key = %s",
                (json.dumps(claim), MIGRATED_FROM_META),
            )
        conn.execute("ANALYZE")
    report.seconds = round(time.monotonic() - started, 3)
    return report

"""What `srm replicate` copies (team/replicate.py runs it): the customers a selection names in
the team store (a saved segment's members now, or the ids and emails of a file), then the
catalogue, those customers' records and children, the store's recent sync runs and the API it
answers for, written into the new SQLite cache in one transaction and indexed for search as
srm indexes a cache. Every table is read in one read-only snapshot of the store.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from srm_tui.exits import UsageProblem

CHUNK = 500  # customer ids per IN (...) list

# Copied whole: the catalogue and what every review needs beside the customers.
WHOLE_TABLES: tuple[str, ...] = (
    "offers",
    "localizations",
    "season_groups",
    "campaigns",
    "campaign_codes",
    "exchange_rates",
    "playbook_versions",
    "segments",
    "segment_versions",
    "raw_dictionaries",
)
# Copied for the chosen customers: table -> its customer column.
CUSTOMER_TABLES: tuple[tuple[str, str], ...] = (
    ("customers", "id"),
    ("subscriptions", "customer_id"),
    ("passes", "customer_id"),
    ("transactions", "customer_id"),
    ("payment_details", "customer_id"),
    ("emails", "customer_id"),
    ("notes", "customer_id"),
    ("history", "customer_id"),
    ("observed_changes", "customer_id"),
    ("segment_members", "customer_id"),
)
RECENT_SYNC_RUNS = 20  # the store's last sync runs: the status line says how fresh it is
META_COPIED: tuple[str, ...] = ("api_profile",)  # which API the store's actions go to


# -- the selection ----------------------------------------------------------------------------


def customers_from_file(store: Any, path: str) -> tuple[list[int], list[str]]:
    """The customer ids a --customers file names (one id or email a line; blank lines and
    lines starting with # skipped), and the entries the store has no customer for."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise UsageProblem(f"--customers: {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageProblem(f"--customers: {path}: cannot be read ({exc})") from None
    ids: set[int] = set()
    emails: list[str] = []
    for number, line in enumerate(lines, 1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        if text.isdigit() and len(text) < 19:
            ids.add(int(text))
        elif "@" in text and " " not in text:
            emails.append(text)
        else:
            raise UsageProblem(
                f"--customers: {path} line {number}: {text[:60]!r} is neither a customer id "
                "nor an email"
            )
    conn = store.conn()
    found: set[int] = set()
    missing: list[str] = []
    for chunk in _chunks(sorted(ids)):
        marks = ", ".join("?" * len(chunk))
        found |= {
            int(r[0])
            for r in conn.execute(f"SELECT id FROM customers WHERE id IN ({marks})", chunk)
        }
    missing += [str(i) for i in sorted(ids - found)]
    for email in emails:
        row = conn.execute(
            "SELECT id FROM customers WHERE email_lc = ? ORDER BY id LIMIT 1", (email.lower(),)
        ).fetchone()
        if row is None:
            missing.append(email)
        else:
            found.add(int(row[0]))
    return sorted(found), missing


def segment_members(store: Any, name: str, now: int) -> list[int]:
    """The saved segment's customers in the store now (the store's segment facts)."""
    from srm_tui.bulk.members import members
    from srm_tui.segments.model import SegmentError
    from srm_tui.segments.service import SegmentStore

    segments = SegmentStore(store)
    try:
        saved = segments.get_saved(name)
    except LookupError:
        raise UsageProblem(
            f"--segment: no saved segment {name!r} in the team store (see: srm segment list)"
        ) from None
    if not saved.static and saved.segment is None:
        raise UsageProblem(f"--segment: {saved.name}: {saved.problem or 'cannot be opened'}")
    try:
        compiled = segments.population(saved, now)
    except SegmentError as exc:
        raise UsageProblem(f"--segment: {saved.name}: {exc.faults[0]}") from None
    return [customer_id for customer_id, _ in members(store.conn(), compiled)]


# -- copying ----------------------------------------------------------------------------------


def _chunks(values: list[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


class _Snapshot:
    """The store as of one moment: statements (the cache's placeholders, translated) in one
    read-only REPEATABLE READ transaction on a connection of its own."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Any = ()) -> Any:
        from srm_tui.storage.pg.translate import to_psycopg

        return self._conn.execute(to_psycopg(sql), params)


@contextlib.contextmanager
def snapshot(url: str) -> Iterator[_Snapshot]:
    """One consistent read of the store at ``url``: every table the copy reads is as of the
    same moment, whatever the team's sync commits meanwhile (it is never blocked)."""
    from srm_tui.storage.pg import admin

    with admin.admin_session(url, "srm replicate") as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        try:
            yield _Snapshot(conn)
        finally:
            if not conn.broken:
                conn.execute("ROLLBACK")


def _store_columns(src: Any) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for table, column in src.execute(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema()"
    ):
        out.setdefault(table, set()).add(column)
    return out


def _columns(tx: Any, table: str, there: set[str]) -> list[str]:
    """The replica's columns of ``table`` the store has too, in the replica's order."""
    return [r[1] for r in tx.execute(f'PRAGMA table_info("{table}")') if r[1] in there]


def _copy(tx: Any, table: str, columns: list[str], rows: Iterable[tuple]) -> int:
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" * len(columns))
    batch = [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in rows]
    if batch:
        tx.executemany(
            f'INSERT INTO "{table}" ({names}) VALUES ({marks}) ON CONFLICT DO NOTHING', batch
        )
    return len(batch)


def copy_into(src: Any, cache: Any, ids: list[int], say: Callable[[str], None]) -> dict[str, int]:
    """Copy the catalogue and the customers ``ids`` (with every child) from ``src`` (the
    store's ``snapshot``) into the new ``cache`` in one transaction, and index them for
    search. Rows read per table."""
    from srm_tui.storage import records

    there = _store_columns(src)
    counts: dict[str, int] = {}
    with cache.transaction() as tx:
        for table in WHOLE_TABLES:
            columns = _columns(tx, table, there.get(table, set()))
            names = ", ".join(f'"{c}"' for c in columns)
            counts[table] = _copy(tx, table, columns, src.execute(f'SELECT {names} FROM "{table}"'))
        for table, key in CUSTOMER_TABLES:
            columns = _columns(tx, table, there.get(table, set()))
            names = ", ".join(f'"{c}"' for c in columns)
            counts[table] = 0
            for chunk in _chunks(ids):
                marks = ", ".join("?" * len(chunk))
                rows = src.execute(
                    f'SELECT {names} FROM "{table}" WHERE "{key}" IN ({marks})', chunk
                )
                counts[table] += _copy(tx, table, columns, rows)
            say(f"srm replicate: {table} {counts[table]:,}")
        columns = _columns(tx, "sync_runs", there.get("sync_runs", set()))
        names = ", ".join(f'"{c}"' for c in columns)
        counts["sync_runs"] = _copy(
            tx,
            "sync_runs",
            columns,
            src.execute(
                f"SELECT {names} FROM sync_runs ORDER BY id DESC LIMIT ?", (RECENT_SYNC_RUNS,)
            ),
        )
        marks = ", ".join("?" * len(META_COPIED))
        _copy(
            tx,
            "meta",
            ["key", "value"],
            src.execute(f"SELECT key, value FROM meta WHERE key IN ({marks})", META_COPIED),
        )
        for chunk in _chunks(ids):
            records.index_customers(tx, chunk)
    return counts

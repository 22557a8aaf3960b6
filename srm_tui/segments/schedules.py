"""Scheduled exports of saved segments, run by ``srm schedules run`` (from cron).

A schedule exports one saved segment as CSV or JSON with chosen columns into a directory,
at times of day (in a time zone) or every N minutes/hours/days. ``run_due`` runs each
schedule whose latest slot has not run yet: a schedule missed for three days runs once, for
the latest slot, not three times. A run claims its slot first, so two overlapping cron
invocations never both export it; a failed run gives the slot back so the next run retries.

Beside each file, ``<file>.segment.json`` says what it is: the segment's definition and
version, the slot and run time, the cache's last sync time, the columns and row count, the
file's SHA-256 and, for a schedule, that the schedule owns it (so a re-run may replace its
own file, never a foreign one; srm_tui.storage.files writes both). Every
data file is recorded with ``storage.exports.record_export`` (it holds personal data).

Over 400 lines: definition, due-slot claims, the export run and the sidecar ownership
check share the schedule record and its file rules.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from srm_tui.segments import store
from srm_tui.segments.catalog import lookup
from srm_tui.segments.compile import (
    MODES,
    Compiled,
    Compiler,
    dialect_of,
    for_conn,
    offer_titles,
    sql_for,
)
from srm_tui.segments.model import Fault, SegmentError
from srm_tui.storage import facts as F
from srm_tui.storage.files import FileRefused, check_target, write_file, write_text
from srm_tui.storage.queries import SUMMARY_COLUMNS, summary

FORMATS = ("csv", "json")
MIN_EVERY = 60
# Besides the list columns, any customer attribute, and the subscription attributes that
# are not free text, for the subscription the segment's selector picks ("any": the latest).
_SKIP = {
    "subscription.offer_id",
    "subscription.offer_title",
    "subscription.coupon_code",
    "subscription.payment_method",
}
_DISPLAY = {
    "customer.email": "c.email",
    "customer.first_name": "c.first_name",
    "customer.last_name": "c.last_name",
    "customer.locale": "c.locale",
    "customer.external_id": "c.external_id",
    "customer.last_payment_method": "c.last_payment_method",
    "customer.latest_payment_rejection_reason": "(SELECT x.rejected_reason FROM transactions x WHERE x.customer_id = f.id AND "
    "x.status = 'rejected' ORDER BY x.date DESC, x.id DESC LIMIT 1)",
    "customer.latest_pass_title": "(SELECT o.title FROM offers o WHERE o.id = f.lp_offer)",
}


def column_names() -> tuple[str, ...]:
    """Every column an export can have: the list's, then attribute names."""
    from srm_tui.segments.catalog import ATTRIBUTES

    return SUMMARY_COLUMNS + tuple(a.name for a in ATTRIBUTES if a.name not in _SKIP)


DEFAULT_COLUMNS = SUMMARY_COLUMNS


def check_columns(columns: list[str]) -> list[Fault]:
    known = set(column_names())
    faults = [
        Fault(
            f"columns[{i}]",
            f"unknown column {c!r} (one of the list's columns "
            f"{', '.join(SUMMARY_COLUMNS)}, or an attribute such as "
            "customer.status)",
        )
        for i, c in enumerate(columns)
        if c not in known
    ]
    if not columns:
        faults.append(Fault("columns", "choose at least one column"))
    seen = set()
    for i, c in enumerate(columns):
        if c in seen:
            faults.append(Fault(f"columns[{i}]", f"{c!r} is chosen twice"))
        seen.add(c)
    return faults


# writing one export ---------------------------------------------------------------------------


def _iso(ts: Any) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def rows(
    conn: sqlite3.Connection,
    population: Compiled,
    now: int,
    columns: list[str],
    currency: str | None = None,
) -> Iterator[dict[str, Any]]:
    """The population's customers with these columns, ascending by id (streamed); money
    columns converted to ``currency`` (the reporting one) with the cache's rates in force,
    else in each amount's own currency."""
    F.prepare(conn)
    F.ensure_facts(conn)
    population = for_conn(population, conn)
    dialect = dialect_of(conn)
    compiler = Compiler(
        now,
        "latest" if population.selector == "any" else MODES[population.selector],
        None,
        dialect,
        lambda: offer_titles(conn),
    )
    compiler.params = dict(population.params)
    extra: list[tuple[str, str]] = []
    for name in columns:
        if name in SUMMARY_COLUMNS:
            continue
        attribute = lookup(name)
        if attribute is None:
            raise SegmentError([Fault("columns", f"unknown column {name!r}")])
        shown = _DISPLAY.get(name) or compiler.value_sql(
            attribute, currency if attribute.money else None
        )
        if dialect.name == "postgres":  # NULL dates last, as SQLite orders them
            shown = shown.replace("x.date DESC,", "x.date DESC NULLS LAST,")
        extra.append((name, shown))
    joins = f"LEFT JOIN {F.TEXT_TABLE} t ON t.id = f.id"
    join = sql_for(dialect).join
    if population.selector in join:
        joins += " " + join[population.selector]
    select = ", ".join(
        [f"c.{c}" for c in SUMMARY_COLUMNS] + [f"{sql} AS x{i}" for i, (_, sql) in enumerate(extra)]
    )
    sql = (
        f"SELECT {select} FROM {F.CUSTOMER_TABLE} f JOIN customers c ON c.id = f.id {joins} "
        f"WHERE f.id IN (SELECT f.id FROM {population.from_sql} WHERE "
        f"({population.filter})) ORDER BY f.id"
    )
    cursor = conn.execute(sql, compiler.params)
    width = len(SUMMARY_COLUMNS)
    for row in cursor:
        base = summary(dict(zip(SUMMARY_COLUMNS, row[:width])))
        values = {name: _shown(name, row[width + i]) for i, (name, _) in enumerate(extra)}
        yield {c: base[c] if c in base else values[c] for c in columns}


def _shown(name: str, raw: Any) -> Any:
    attribute = lookup(name)
    if raw is None or attribute is None:
        return raw
    if attribute.type == "date":
        return _iso(raw)
    if attribute.type == "bool":
        return bool(raw)
    if attribute.money:
        return round(raw / F.MICRO, 6)
    return raw


def _csv_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else value


def _fill(fmt: str, columns: list[str], items: Iterator[dict[str, Any]]):
    def fill(out) -> int:
        n = 0
        if fmt == "csv":
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(columns)
            for item in items:
                writer.writerow([_csv_value(item[c]) for c in columns])
                n += 1
            return n
        out.write("[")
        for item in items:
            out.write(("\n" if n == 0 else ",\n") + json.dumps(item, ensure_ascii=False))
            n += 1
        out.write("\n]\n" if n else "]\n")
        return n

    return fill


def write(
    path: Path,
    fmt: str,
    columns: list[str],
    items: Iterator[dict[str, Any]],
    *,
    replace: bool = False,
    owned=None,
) -> int:
    """Write rows to ``path`` whole or not at all, mode 0600, never through a link nor over
    a file that is not srm's to replace (srm_tui.storage.files)."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be csv or json, not {fmt!r}")
    return write_file(path, _fill(fmt, columns, items), replace=replace, owned=owned)


def _write_json(path: Path, value: Any, *, replace: bool = False) -> None:
    write_text(path, json.dumps(value, ensure_ascii=False, indent=2) + "\n", replace=replace)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _sidecar_of(path: Path) -> Path:
    return path.with_name(path.name + ".segment.json")


def _owner_says(sidecar: Path, schedule_id: int) -> dict[str, Any] | None:
    """The sidecar's content when it is a regular file naming this schedule as the owner."""
    try:
        if not sidecar.is_file() or sidecar.is_symlink():
            return None
        about = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    owner = about.get("owner") if isinstance(about, dict) else None
    if not isinstance(owner, dict) or owner.get("schedule_id") != schedule_id:
        return None
    return about


def owned_by_schedule(schedule_id: int):
    """Whether a file is one this schedule wrote and nobody changed since: the sidecar
    beside it names the schedule and the data file's SHA-256 still matches. A re-run may
    replace such a file (and its sidecar); any other file it finds is left alone."""

    def owned(path: Path) -> bool:
        about = _owner_says(_sidecar_of(path), schedule_id)
        return about is not None and path.is_file() and about.get("sha256") == _sha256(path)

    return owned


@dataclass
class Written:
    path: str
    sidecar: str
    rows: int


def export_to(
    conn: sqlite3.Connection,
    population: Compiled,
    *,
    now: int,
    fmt: str,
    columns: list[str],
    path: str | os.PathLike[str],
    about: dict[str, Any],
    kind: str,
    segment_name: str | None,
    force: bool = False,
    schedule_id: int | None = None,
    currency: str | None = None,
) -> Written:
    """Export a population with chosen columns to ``path``, and write ``about`` (what it
    is) beside it with the run time, the cache's sync time, the columns and the row count.

    An existing file is replaced with ``force`` or, for a schedule, when the sidecar says
    the schedule wrote it (``owner``, with the file's SHA-256); never anything else."""
    from srm_tui.storage.exports import record_export

    faults = check_columns(columns)
    if fmt not in FORMATS:
        faults.append(Fault("format", "csv or json"))
    if faults:
        raise SegmentError(faults)
    target = Path(path).expanduser()
    sidecar = _sidecar_of(target)
    owned = owned_by_schedule(schedule_id) if schedule_id is not None else None
    # Both names are checked before anything is written: a refusal leaves no half pair.
    # The sidecar is the schedule's when it names the schedule as its owner.
    sidecar_ours = schedule_id is not None and _owner_says(sidecar, schedule_id) is not None
    if check_target(sidecar, replace=True) and not force and not sidecar_ours:
        raise FileRefused(sidecar, "exists; give --force to replace it")
    if check_target(target, replace=True) and not force and not (owned and owned(target)):
        raise FileRefused(target, "exists; give --force to replace it")
    n = write(
        target,
        fmt,
        columns,
        rows(conn, population, now, columns, currency),
        replace=force,
        owned=owned,
    )
    record_export(conn, target, kind, segment=segment_name)
    synced = conn.execute("SELECT value FROM meta WHERE key = 'last_sync_at'").fetchone()
    info = {
        "file": target.name,
        **about,
        "run_at": _iso(now),
        "cache_synced_at": _iso(int(synced[0])) if synced and synced[0] else None,
        "format": fmt,
        "columns": columns,
        "rows": n,
        "sha256": _sha256(target),
    }
    if currency is not None and any(getattr(lookup(c), "money", False) for c in columns):
        from srm_tui.domain.rates import in_force

        info["money"] = {
            "currency": currency,
            "rates_date": in_force(conn).date,
            "note": "money columns converted to this currency with the rates "
            "of that date; empty where the rates lack a currency; the "
            "currency column keeps each customer's own",
        }
    if schedule_id is not None:
        info["owner"] = {
            "schedule_id": schedule_id,
            "note": "written by this srm schedule; its next run may replace it",
        }
    _write_json(sidecar, info, replace=force or sidecar_ours)
    return Written(str(target), str(sidecar), n)


def export_saved(
    conn: sqlite3.Connection,
    saved: store.Saved,
    *,
    now: int,
    fmt: str,
    columns: list[str],
    path: str | os.PathLike[str],
    slot: int | None = None,
    schedule_id: int | None = None,
    force: bool = False,
    currency: str | None = None,
) -> Written:
    """Export a saved segment (as saved) with chosen columns; its definition goes beside."""
    definition = json.loads(
        conn.execute("SELECT definition FROM segments WHERE id = ?", (saved.id,)).fetchone()[0]
    )
    about: dict[str, Any] = {
        "segment": definition,
        "segment_id": saved.id,
        "segment_version": saved.version,
        "kind": saved.kind,
        "schedule_id": schedule_id,
        "slot": _iso(slot),
    }
    if saved.static:
        about["members"] = "chosen by hand (a static segment)"
    return export_to(
        conn,
        store.population(saved, now),
        now=now,
        fmt=fmt,
        columns=columns,
        path=path,
        about=about,
        segment_name=saved.name,
        force=force,
        schedule_id=schedule_id,
        currency=currency,
        kind=f"schedule-{fmt}" if schedule_id else f"segment-{fmt}",
    )


def export_definition(
    conn: sqlite3.Connection,
    segment,
    *,
    now: int,
    fmt: str,
    columns: list[str],
    path: str | os.PathLike[str],
    segment_id: int | None = None,
    force: bool = False,
    currency: str | None = None,
) -> Written:
    """Export a dynamic segment as it stands in the builder (saved or not)."""
    from srm_tui.segments.compile import compile_segment

    about = {
        "segment": segment.to_dict(),
        "segment_id": segment_id,
        "segment_version": None,
        "kind": "dynamic",
        "unsaved": True,
    }
    return export_to(
        conn,
        compile_segment(segment, now),
        now=now,
        fmt=fmt,
        columns=columns,
        path=path,
        about=about,
        segment_name=segment.name or None,
        kind=f"segment-{fmt}",
        force=force,
        currency=currency,
    )


def export_path(directory: str | os.PathLike[str], name: str, at: int, fmt: str) -> Path:
    """Where an export of ``name`` at ``at`` goes in a directory."""
    return Path(directory).expanduser() / file_name(name or "segment", at, fmt)


# schedules -----------------------------------------------------------------------------------


@dataclass
class Schedule:
    id: int
    segment_id: int
    segment_name: str
    format: str
    columns: list[str]
    directory: str
    at_times: tuple[str, ...]
    every_seconds: int | None
    tz: str
    created_at: int
    created_by: str | None
    last_slot: int | None
    last_run_at: int | None
    last_file: str | None
    last_rows: int | None
    last_error: str | None

    def when(self) -> str:
        if self.every_seconds:
            return f"every {format_every(self.every_seconds)}"
        return f"at {', '.join(self.at_times)} {self.tz}"

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "segment": self.segment_name,
            "segment_id": self.segment_id,
            "format": self.format,
            "columns": self.columns,
            "directory": self.directory,
            "at": list(self.at_times) or None,
            "every_seconds": self.every_seconds,
            "tz": self.tz,
            "last_slot": _iso(self.last_slot),
            "last_run_at": _iso(self.last_run_at),
            "last_file": self.last_file,
            "last_rows": self.last_rows,
            "last_error": self.last_error,
        }


_SELECT = (
    "SELECT s.id, s.segment_id, g.name, s.format, s.columns, s.directory, s.at_times, "
    "s.every_seconds, s.tz, s.created_at, s.created_by, s.last_slot, s.last_run_at, "
    "s.last_file, s.last_rows, s.last_error FROM segment_schedules s "
    "JOIN segments g ON g.id = s.segment_id"
)


def _schedule(r: tuple) -> Schedule:
    r = tuple(r)
    return Schedule(
        r[0],
        r[1],
        r[2],
        r[3],
        json.loads(r[4]),
        r[5],
        tuple(json.loads(r[6])) if r[6] else (),
        r[7],
        r[8],
        r[9],
        r[10],
        r[11],
        r[12],
        r[13],
        r[14],
        r[15],
    )


def list_schedules(conn: sqlite3.Connection, segment_id: int | None = None) -> list[Schedule]:
    if segment_id is None:
        return [_schedule(r) for r in conn.execute(_SELECT + " ORDER BY s.id")]
    return [
        _schedule(r)
        for r in conn.execute(_SELECT + " WHERE s.segment_id = ? ORDER BY s.id", (segment_id,))
    ]


def get_schedule(conn: sqlite3.Connection, schedule_id: int) -> Schedule:
    row = conn.execute(_SELECT + " WHERE s.id = ?", (schedule_id,)).fetchone()
    if row is None:
        raise LookupError(f"no schedule {schedule_id}")
    return _schedule(row)


_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_EVERY = re.compile(r"^(\d+)\s*(m|min|minutes?|h|hours?|d|days?)$", re.IGNORECASE)


def parse_times(text: str) -> tuple[str, ...]:
    """``06:00, 18:30`` -> ("06:00", "18:30"); ``ValueError`` naming the bad one."""
    out = []
    for item in (t.strip() for t in text.split(",")):
        m = _TIME.match(item)
        if not m:
            raise ValueError(f"{item!r} is not a time of day HH:MM (24-hour)")
        out.append(f"{int(m.group(1)):02d}:{m.group(2)}")
    return tuple(sorted(set(out)))


def parse_every(text: str) -> int:
    """``15m``, ``6h``, ``1d`` -> seconds (at least a minute)."""
    m = _EVERY.match(text.strip())
    if not m:
        raise ValueError(f"{text!r} is not an interval such as 15m, 6h or 1d")
    unit = m.group(2)[0].lower()
    seconds = int(m.group(1)) * {"m": 60, "h": 3600, "d": 86400}[unit]
    if seconds < MIN_EVERY:
        raise ValueError("the interval must be at least one minute")
    return seconds


def format_every(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _zone(name: str):
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return timezone.utc if name.upper() == "UTC" else ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (e.g. UTC or Europe/Warsaw)") from None


def add(
    conn: sqlite3.Connection,
    segment_ref: int | str,
    *,
    fmt: str,
    columns: list[str],
    directory: str,
    at: str | None = None,
    every: str | None = None,
    tz: str = "UTC",
    now: int,
    agent: str | None,
) -> Schedule:
    """A new schedule; ``SegmentError`` names each bad field, ``LookupError`` a missing
    segment."""
    saved = store.get_saved(conn, segment_ref)
    faults: list[Fault] = []
    if saved.segment is None:
        faults.append(Fault("segment", saved.problem or "cannot open this segment"))
    if fmt not in FORMATS:
        faults.append(Fault("format", "csv or json"))
    faults += check_columns(columns)
    times: tuple[str, ...] = ()
    every_s: int | None = None
    if (at is None) == (every is None):
        faults.append(
            Fault("at", "give either times of day (--at 06:00) or an interval (--every 6h)")
        )
    elif at is not None:
        try:
            times = parse_times(at)
        except ValueError as exc:
            faults.append(Fault("at", str(exc)))
    else:
        try:
            every_s = parse_every(every or "")
        except ValueError as exc:
            faults.append(Fault("every", str(exc)))
    try:
        _zone(tz)
    except ValueError as exc:
        faults.append(Fault("tz", str(exc)))
    folder = Path(directory).expanduser()
    if not folder.is_dir():
        faults.append(Fault("dir", f"{directory} is not a directory"))
    elif not os.access(folder, os.W_OK):
        faults.append(Fault("dir", f"{directory} is not writable"))
    if faults:
        raise SegmentError(faults)
    with _tx(conn):
        cur = conn.execute(
            "INSERT INTO segment_schedules (segment_id, format, columns, directory, at_times, "
            "every_seconds, tz, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "RETURNING id",
            (
                saved.id,
                fmt,
                json.dumps(columns),
                str(folder.resolve()),
                json.dumps(list(times)) if times else None,
                every_s,
                tz,
                now,
                agent,
            ),
        )
        schedule_id = cur.fetchone()[0]
    return get_schedule(conn, schedule_id)


def remove(conn: sqlite3.Connection, schedule_id: int) -> None:
    with _tx(conn):
        if conn.execute("DELETE FROM segment_schedules WHERE id = ?", (schedule_id,)).rowcount == 0:
            raise LookupError(f"no schedule {schedule_id}")


class _tx:
    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, kind, *exc: object) -> None:
        self.conn.execute("ROLLBACK" if kind else "COMMIT")


def latest_slot(schedule: Schedule, now: int) -> int | None:
    """The most recent instant the schedule was due at (not before it was created)."""
    if schedule.every_seconds:
        k = (now - schedule.created_at) // schedule.every_seconds
        return schedule.created_at + k * schedule.every_seconds if k >= 1 else None
    zone = _zone(schedule.tz)
    local = datetime.fromtimestamp(now, timezone.utc).astimezone(zone)
    best: int | None = None
    for back in (0, 1, 2):
        day = (local - timedelta(days=back)).date()
        for t in schedule.at_times:
            hh, mm = (int(x) for x in t.split(":"))
            at = int(datetime(day.year, day.month, day.day, hh, mm, tzinfo=zone).timestamp())
            if at <= now and (best is None or at > best):
                best = at
        if best is not None:
            break
    if best is None or best < schedule.created_at:
        return None
    return best


def due_slot(schedule: Schedule, now: int) -> int | None:
    slot = latest_slot(schedule, now)
    if slot is None or (schedule.last_slot is not None and slot <= schedule.last_slot):
        return None
    return slot


@dataclass
class RunResult:
    schedule: Schedule
    slot: int | None
    written: Written | None = None
    error: str | None = None
    skipped: str | None = None  # not due, or another run has it

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "schedule": self.schedule.id,
            "segment": self.schedule.segment_name,
            "slot": _iso(self.slot),
        }
        if self.written:
            out.update(file=self.written.path, sidecar=self.written.sidecar, rows=self.written.rows)
        if self.error:
            out["error"] = self.error
        if self.skipped:
            out["skipped"] = self.skipped
        return out


def file_name(saved_name: str, slot: int, fmt: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", saved_name.casefold()).strip("-")[:60] or "segment"
    stamp = datetime.fromtimestamp(slot, timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{slug}-{stamp}.{fmt}"


def run_due(
    conn: sqlite3.Connection,
    now: int,
    *,
    only: int | None = None,
    force: bool = False,
    currency: str | None = None,
) -> list[RunResult]:
    """Run every schedule that is due (each once, for its latest slot); ``only`` one
    schedule; ``force`` runs it now even when not due; money in ``currency``."""
    out = []
    for schedule in list_schedules(conn):
        if only is not None and schedule.id != only:
            continue
        slot = now if force else due_slot(schedule, now)
        if slot is None:
            out.append(RunResult(schedule, None, skipped="not due"))
            continue
        out.append(run_one(conn, schedule, now, slot, currency))
    return out


def run_one(
    conn: sqlite3.Connection, schedule: Schedule, now: int, slot: int, currency: str | None = None
) -> RunResult:
    with _tx(conn):
        claimed = conn.execute(
            "UPDATE segment_schedules SET last_slot = ? WHERE id = ? AND (last_slot IS NULL OR "
            "last_slot < ?)",
            (slot, schedule.id, slot),
        ).rowcount
    if not claimed:
        return RunResult(schedule, slot, skipped="another run has this slot")
    try:
        saved = store.get_saved(conn, schedule.segment_id)
        path = Path(schedule.directory) / file_name(saved.name, slot, schedule.format)
        written = export_saved(
            conn,
            saved,
            now=now,
            fmt=schedule.format,
            columns=schedule.columns,
            path=path,
            slot=slot,
            schedule_id=schedule.id,
            currency=currency,
        )
    except (OSError, FileRefused, SegmentError, LookupError, sqlite3.Error) as exc:
        message = getattr(exc, "strerror", None) or str(exc)
        with _tx(conn):
            conn.execute(
                "UPDATE segment_schedules SET last_slot = ?, last_error = ?, "
                "last_run_at = ? WHERE id = ? AND last_slot = ?",
                (schedule.last_slot, message, now, schedule.id, slot),
            )
        return RunResult(schedule, slot, error=message)
    with _tx(conn):
        conn.execute(
            "UPDATE segment_schedules SET last_run_at = ?, last_file = ?, "
            "last_rows = ?, last_error = NULL WHERE id = ?",
            (now, written.path, written.rows, schedule.id),
        )
        store.record_run(conn, saved.id, written.rows, None, now)
    return RunResult(schedule, slot, written)

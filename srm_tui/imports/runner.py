"""`srm import`: files checked first, then read in batches, each committed with its checkpoint.

Every file is checked (exists, UTF-8, recognised, required columns) before the first row is
written, so bad input is one clear error and changes nothing. Rows are then written in
batches; each batch (its records, its quarantined rows and the file's checkpoint) commits in
ONE transaction, so an import killed at any instant resumes after its last committed batch
and ends identical to one that was never interrupted. A finished file is not read again.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from srm_tui.exits import UsageProblem
from srm_tui.imports import churniq, ids
from srm_tui.imports.merge import Batch, write_batch
from srm_tui.imports.source import LineReader, SourceFile, open_source
from srm_tui.imports.values import Clock
from srm_tui.storage.cache import Cache

FORMATS = ("auto", "churniq-transactions", "churniq-subscriptions", "churniq-passes", "ids")
BATCH_ROWS = 5000
SAMPLE_ROWS = 50  # rows read ahead to tell columns apart by the shape of their values
# Crash tests: SIGKILL this process right after its Nth batch commits (deterministic).
KILL_AFTER_ENV = "SRM_IMPORT_KILL_AFTER_BATCH"
ENTITIES = ("customers", "subscriptions", "passes", "transactions", "pending_emails")
csv.field_size_limit(16 * 1024 * 1024)  # the Pass report's text columns are varchar(16M)


@dataclass
class FilePlan:
    """A checked file: how it will be read."""

    source: SourceFile
    fmt: str
    layout: churniq.Layout | None = None  # None for an id list
    header: list[str] = field(default_factory=list)
    data_offset: int = 0  # where the first row starts
    data_line: int = 0  # lines before it

    @property
    def warnings(self) -> list[str]:
        if self.layout is None or self.layout.records:
            return []
        missing = ", ".join(f"'{n}'" for n in self.layout.missing_needed)
        return [
            (
                f"{self.source.name}: no {missing} column: its "
                f"{self.layout.report.entity} are not imported, only their customers "
                "(srm sync completes them)"
            )
        ]


@dataclass
class ImportSummary:
    """What an import run wrote, per entity: records new or changed (each customer once)."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ENTITIES, 0))
    quarantined: int = 0
    seconds: float = 0.0
    files: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            **self.counts,
            "quarantined": self.quarantined,
            "seconds": round(self.seconds, 3),
            "files": self.files,
            "warnings": self.warnings,
        }


def plan(names: list[str], fmt: str, tz: str) -> list[FilePlan]:
    """Check every file and decide how to read it; UsageProblem names the first fault."""
    if fmt not in FORMATS:
        raise UsageProblem(f"--format: one of {', '.join(FORMATS)}, not {fmt!r}")
    try:
        Clock(tz)
    except ValueError as exc:
        raise UsageProblem(f"--tz: {exc}") from None
    return [_plan_file(open_source(name), fmt) for name in names]


def _plan_file(source: SourceFile, fmt: str) -> FilePlan:
    with LineReader(source) as lines:
        head = []
        for text in lines:
            head.append(text)
            if len(head) >= 20:
                break
    if fmt == "ids" or (
        fmt == "auto" and ids.looks_like_ids(ids.first_meaningful_line(head) or ",")
    ):
        return FilePlan(source, "ids", data_offset=source.bom, data_line=0)
    with LineReader(source) as lines:
        reader = csv.reader(lines)
        try:
            header = next(reader)
        except StopIteration:
            raise UsageProblem(f"{source.name}: empty file") from None
        except csv.Error as exc:
            raise UsageProblem(f"{source.name}:1: not a CSV header: {exc}") from None
        data_offset, data_line = lines.offset, lines.line
        sample: list[list[str]] = []
        try:
            for row in reader:
                sample.append(row)
                if len(sample) >= SAMPLE_ROWS:
                    break
        except csv.Error:
            pass  # the bad row is quarantined when it is read for real
    if not any(h.strip() for h in header):
        raise UsageProblem(f"{source.name}:1: not a ChurnIQ export: the first line is empty")
    if fmt == "auto":
        report = churniq.recognise(source.name, header)
    else:
        report = churniq.REPORTS[fmt]
        try:
            found = churniq.recognise(source.name, header)
        except UsageProblem:
            found = report  # the layout names the required column it lacks
        if found is not report:
            raise UsageProblem(
                f"{source.name}: a {found.title}, not a {report.title}; use "
                f"--format {found.fmt} (or auto)"
            )
    lay = churniq.layout(source.name, report, header, sample)
    return FilePlan(source, report.fmt, lay, header, data_offset, data_line)


ProgressFn = Callable[[str, int, int], None]


class Importer:
    """Writes checked files into the cache in batches (see the module docstring)."""

    def __init__(
        self,
        cache: Cache,
        *,
        tz: str = "CET",
        clock: Callable[[], float] = time.time,
        batch_rows: int = BATCH_ROWS,
        progress: ProgressFn | None = None,
    ):
        self.cache = cache
        self.tz = tz
        self.clock = clock
        self.batch_rows = batch_rows
        self.progress = progress
        kill = os.environ.get(KILL_AFTER_ENV, "")
        self._kill_after = int(kill) if kill.isdigit() else None
        self._batches = 0
        self._customers: set[int] = set()

    def run(self, plans: list[FilePlan]) -> ImportSummary:
        started = time.monotonic()
        summary = ImportSummary()
        self._total = sum(p.source.lines for p in plans)
        self._base = 0  # lines of the files already done
        for p in plans:
            summary.warnings += p.warnings
            summary.files.append(self._import(p, summary))
            self._base += p.source.lines
        summary.seconds = time.monotonic() - started
        return summary

    def _import(self, p: FilePlan, summary: ImportSummary) -> dict[str, Any]:
        conn = self.cache.conn()
        ident = (p.source.sha256, p.fmt, self.tz)
        row = conn.execute(
            "SELECT status, byte_offset, line, size FROM import_files WHERE "
            "sha256 = ? AND format = ? AND tz = ?",
            ident,
        ).fetchone()
        info = {"file": p.source.name, "format": p.fmt, "sha256": p.source.sha256}
        if row is not None and row["status"] == "done":
            return {**info, "status": "already imported"}
        if row is None:
            offset, line = p.data_offset, p.data_line
            # DO NOTHING: another srm may import it too (ON CONFLICT: both databases' form)
            with self.cache.transaction() as tx:
                tx.execute(
                    "INSERT INTO import_files (sha256, format, tz, name, size, "
                    "status, byte_offset, line, started_at) "
                    "VALUES (?, ?, ?, ?, ?, 'running', ?, ?, ?) ON CONFLICT DO NOTHING",
                    (*ident, p.source.name, p.source.size, offset, line, int(self.clock())),
                )
            status = "imported"
        elif row["size"] != p.source.size:
            # The same text with other bytes (a BOM, CRLF): the checkpoint's byte offset is
            # not this copy's, so it is read from the top (rows already written change nothing).
            offset, line = p.data_offset, p.data_line
            with self.cache.transaction() as tx:
                tx.execute(
                    "UPDATE import_files SET size = ?, byte_offset = ?, line = ? "
                    "WHERE sha256 = ? AND format = ? AND tz = ?",
                    (p.source.size, offset, line, *ident),
                )
            status = "resumed"
        else:
            offset, line = row["byte_offset"], row["line"]
            status = "resumed"
        batch = Batch(p, self.tz, self.cache, int(self.clock()))
        with LineReader(p.source, offset, line) as lines:
            rows = iter(lines) if p.layout is None else csv.reader(lines)
            while True:
                first = lines.line + 1
                try:
                    item = next(rows)
                except StopIteration:
                    break
                except csv.Error as exc:
                    batch.bad(first, f"not a CSV row: {exc}", None)
                    item = None
                if item is not None:
                    batch.add(first, item)
                if len(batch) >= self.batch_rows:
                    self._commit(batch, summary, ident, lines, done=False)
                    batch = Batch(p, self.tz, self.cache, int(self.clock()))
            self._commit(batch, summary, ident, lines, done=True)
        return {**info, "status": status}

    def _commit(
        self, batch: Batch, summary: ImportSummary, ident: tuple, lines: LineReader, *, done: bool
    ) -> None:
        now = int(self.clock())
        with self.cache.transaction() as tx:
            counts, quarantined = write_batch(tx, batch, now)
            old = tx.execute(
                "SELECT counts FROM import_files WHERE sha256 = ? AND format = ? AND tz = ?", ident
            ).fetchone()[0]
            total = json.loads(old)
            for k, n in counts.items():
                total[k] = total.get(k, 0) + n
            tx.execute(
                "UPDATE import_files SET byte_offset = ?, line = ?, rows = rows + ?, "
                "quarantined = quarantined + ?, counts = ?, status = ?, finished_at = ? "
                "WHERE sha256 = ? AND format = ? AND tz = ?",
                (
                    lines.offset,
                    lines.line,
                    len(batch),
                    quarantined,
                    json.dumps(total),
                    "done" if done else "running",
                    now if done else None,
                    *ident,
                ),
            )
        for k, n in counts.items():
            summary.counts[k] = summary.counts.get(k, 0) + n
        # A customer named by many rows and files is counted once per run.
        self._customers.update(batch.customers_written)
        summary.counts["customers"] = len(self._customers)
        summary.quarantined += quarantined
        self._batches += 1
        if self.progress:
            self.progress(batch.plan.source.name, self._base + lines.line, self._total)
        if self._kill_after is not None and self._batches >= self._kill_after and not done:
            os.kill(os.getpid(), signal.SIGKILL)

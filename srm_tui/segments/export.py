"""Writing a segment's members as rows of the customer list (CSV or JSON).

The columns are the list's: ``id, email, first_name, last_name, country, currency,
registered_at, last_login_at, transactions, last_payment_method`` (instants as ISO 8601 UTC).
Rows stream from one query straight to the file, so a million members never sit in memory;
the file appears complete or not at all, with mode 0600 because it holds personal data, and
never through a link or over a file the user did not ask to replace (srm_tui.storage.files).
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from srm_tui.segments.compile import compile_segment
from srm_tui.segments.model import Segment
from srm_tui.storage import facts as F
from srm_tui.storage.exports import record_export
from srm_tui.storage.files import check_target, write_file
from srm_tui.storage.queries import SUMMARY_COLUMNS, summary

FORMATS = ("csv", "json")


def member_rows(conn: sqlite3.Connection, segment: Segment, now: int) -> Iterator[dict[str, Any]]:
    """The members' summaries, ascending by id."""
    F.prepare(conn)
    F.ensure_facts(conn)
    compiled = compile_segment(segment, now, conn=conn)
    cols = ", ".join(f"c.{c}" for c in SUMMARY_COLUMNS)
    cursor = conn.execute(
        f"SELECT {cols} FROM customers c WHERE c.id IN ({compiled.ids_sql()}) ORDER BY c.id",
        compiled.params,
    )
    names = [d[0] for d in cursor.description]
    for row in cursor:
        yield summary(dict(zip(names, row)))


def write_rows(rows: Iterator[dict[str, Any]], fmt: str, out: TextIO) -> int:
    if fmt not in FORMATS:
        raise ValueError(f"format must be csv or json, not {fmt!r}")
    n = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=list(SUMMARY_COLUMNS), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
            n += 1
        return n
    out.write("[")
    for row in rows:
        out.write(("\n" if n == 0 else ",\n") + json.dumps(row, ensure_ascii=False))
        n += 1
    out.write("\n]\n" if n else "]\n")
    return n


def export(
    conn: sqlite3.Connection,
    segment: Segment,
    now: int,
    fmt: str,
    path: str | os.PathLike[str],
    *,
    force: bool = False,
) -> int:
    """Write the members to ``path`` (``-``: standard output); returns how many rows.

    An existing file is replaced only with ``force``; anything but a regular file is refused
    (``FileRefused``), see srm_tui.storage.files."""
    if str(path) == "-":
        return write_rows(member_rows(conn, segment, now), fmt, sys.stdout)
    target = Path(path)
    check_target(target, replace=force)  # before the query: a refusal costs nothing
    n = write_file(
        target, lambda out: write_rows(member_rows(conn, segment, now), fmt, out), replace=force
    )
    # Recorded, so anonymizing a customer can name the files that still hold their data.
    record_export(conn, target, f"segment-{fmt}", segment=segment.name)
    return n

"""Running segments: counts, member ids (paged), timing, both cores.

Two ways in:

- the plain functions ``count``, ``members`` and ``iter_members`` run on a connection the
  caller owns (the CLI, tests);
- ``SegmentRunner`` is what a console screen keeps: it owns a read connection (memory-mapped,
  so a scan reads the page cache directly), splits a large count into id ranges counted on
  every core at once by worker processes, and remembers the counts it has given for the
  current clock, so going back to an earlier version of a tree costs nothing.

Before anything runs, ``ensure_facts`` settles the precomputed facts (usually two indexed
reads that find nothing to do).
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from srm_tui.domain.rates import in_force
from srm_tui.segments import worker
from srm_tui.segments.compile import Compiled, compile_segment, for_conn
from srm_tui.segments.model import Segment
from srm_tui.storage import facts as F

PARALLEL_MIN_CUSTOMERS = 100_000  # below this, one process answers quicker than several


def _prepared(conn: sqlite3.Connection) -> sqlite3.Connection:
    F.prepare(conn)
    F.ensure_facts(conn)
    return conn


def count(conn: sqlite3.Connection, segment: Segment, now: int) -> int:
    """How many customers are in the segment at ``now`` (unix seconds)."""
    compiled = compile_segment(segment, now, in_force(conn), conn)
    return _prepared(conn).execute(compiled.count_sql(), compiled.params).fetchone()[0]


def members(
    conn: sqlite3.Connection,
    segment: Segment,
    now: int,
    *,
    after: int | None = None,
    limit: int | None = None,
) -> list[int]:
    """Member ids ascending; with ``limit``, the page after id ``after`` (keyset paging)."""
    compiled = compile_segment(segment, now, in_force(conn), conn)
    _prepared(conn)
    if limit is None and after is None:
        return [r[0] for r in conn.execute(compiled.ids_sql(), compiled.params)]
    # No limit: SQLite's LIMIT -1, PostgreSQL's LIMIT NULL.
    unlimited = None if compiled.dialect.name == "postgres" else -1
    params = {
        **compiled.params,
        "after": after if after is not None else -(1 << 63),
        "limit": limit if limit is not None else unlimited,
    }
    return [r[0] for r in conn.execute(compiled.ids_sql(paged=True), params)]


def iter_members(
    conn: sqlite3.Connection, segment: Segment, now: int, page: int = 5000
) -> Iterator[int]:
    """Every member id ascending, read a page at a time (exports never hold them all)."""
    after: int | None = None
    while True:
        ids = members(conn, segment, now, after=after, limit=page)
        yield from ids
        if len(ids) < page:
            return
        after = ids[-1]


@dataclass(frozen=True)
class CountResult:
    customers: int
    elapsed_ms: float
    refreshed: int = 0  # customers whose facts were recomputed first
    cached: bool = False  # answered from the remembered result of the same query
    parts: int = 1  # id ranges counted at once (one per worker process)


class SegmentRunner:
    """Counts, pages and explanations for one cache file, for a screen that re-counts on
    every edit.

    - Facts are settled before each call (cheap when nothing changed).
    - On a large cache a count is split into id ranges of equal size, one per worker
      process, counted at once and summed (threads would not help: SQLite serializes them).
      Workers start on the first large count, or at ``warm()``.
    - The same tree at the same "now" is answered from memory (``CountResult.cached``).

    Thread-safe; ``close()`` (or ``with``) stops the workers.
    """

    def __init__(
        self,
        path: str | Path | Any,
        *,
        processes: int | None = None,
        memo: int = 64,
        parallel_min: int | None = None,
    ):
        # A cache file's path, a Cache, or the team's PostgreSQL store: there the server
        # answers each count in one query on a pooled connection (no worker processes).
        self.store: Any = None
        if isinstance(path, (str, Path)):
            self.path = str(path)
        elif getattr(getattr(path, "dialect", None), "name", "") == "postgres":
            self.store, self.path = path, str(path.location)
            processes = 1
        else:
            self.path = str(path.path)
        self.processes = processes if processes is not None else min(4, os.cpu_count() or 1)
        self.parallel_min = PARALLEL_MIN_CUSTOMERS if parallel_min is None else parallel_min
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="segment")
        self._local = threading.local()
        self._procs: ProcessPoolExecutor | None = None
        self._procs_failed = False
        self._lock = threading.Lock()
        self._ranges: list[tuple[int, int]] | None = None
        self._memo: OrderedDict[tuple, int] = OrderedDict()
        self._memo_size = memo

    # connections and workers -----------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        if self.store is not None:
            return self.store.conn()
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            conn.execute("PRAGMA busy_timeout=10000")
            conn.execute("PRAGMA mmap_size=17179869184")
            conn.execute("PRAGMA cache_size=-65536")
            conn.execute("PRAGMA temp_store=MEMORY")
            F.prepare(conn)
            self._local.conn = conn
        return conn

    def _adapt(self, compiled: Compiled) -> Compiled:
        """A population compiled without knowing the store, in the store's own SQL."""
        return compiled if self.store is None else for_conn(compiled, self.store.conn())

    def _in_thread(self, fn, *args):
        return self._thread.submit(fn, *args).result()

    def _pool(self) -> ProcessPoolExecutor | None:
        with self._lock:
            if self._procs is None and not self._procs_failed and self.processes > 1:
                try:
                    self._procs = ProcessPoolExecutor(
                        max_workers=self.processes, mp_context=mp.get_context("spawn")
                    )
                except (OSError, ValueError, NotImplementedError):
                    self._procs_failed = True  # count in this process instead
            return self._procs

    def warm(self) -> None:
        """Settle the facts and, for a large cache, start the worker processes now (a
        screen calls this from a worker when it opens, so the first count is quick)."""
        self.refresh()
        if len(self._in_thread(self._split)) < 2:
            return
        pool = self._pool()
        if pool is not None:
            for f in [pool.submit(worker.ready, self.path) for _ in range(self.processes)]:
                f.result()

    def close(self) -> None:
        def shut() -> None:
            if self.store is not None:
                return  # the store is its owner's to close
            conn = getattr(self._local, "conn", None)
            if conn is not None:
                conn.close()
                self._local.conn = None

        self._thread.submit(shut).result()
        self._thread.shutdown(wait=True)
        with self._lock:
            if self._procs is not None:
                self._procs.shutdown(wait=True, cancel_futures=True)
                self._procs = None

    def __enter__(self) -> SegmentRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # facts -----------------------------------------------------------------------------

    def refresh(self) -> int:
        """Settle the facts (a no-op when nothing changed); returns customers recomputed."""
        done = self._in_thread(lambda: F.ensure_facts(self._conn()))
        if done:
            with self._lock:
                self._ranges = None
                self._memo.clear()
        return done

    def _split(self) -> list[tuple[int, int]]:
        """Id ranges holding equal numbers of customers, one per worker process."""
        with self._lock:
            if self._ranges is not None:
                return self._ranges
        conn = self._conn()
        total = conn.execute(f"SELECT count(*) FROM {F.CUSTOMER_TABLE}").fetchone()[0]
        parts = self.processes if total >= self.parallel_min else 1
        lo, ranges = -(1 << 63), []
        for i in range(1, parts):
            cut = conn.execute(
                f"SELECT id FROM {F.CUSTOMER_TABLE} ORDER BY id LIMIT 1 OFFSET ?",
                (total * i // parts,),
            ).fetchone()[0]
            ranges.append((lo, cut - 1))
            lo = cut
        ranges.append((lo, (1 << 63) - 1))
        with self._lock:
            self._ranges = ranges
        return ranges

    # queries ---------------------------------------------------------------------------

    def count(self, segment: Segment, now: int) -> CountResult:
        """The member count, timed; the same tree at the same now is remembered."""
        started = time.perf_counter()
        refreshed = self.refresh()
        compiled = self._in_thread(
            lambda: compile_segment(segment, now, in_force(self._conn()), self._conn())
        )
        key = (compiled.count_sql(True), tuple(sorted(compiled.params.items())))
        with self._lock:
            if key in self._memo:
                self._memo.move_to_end(key)
                return CountResult(self._memo[key], _ms(started), refreshed, True)
        ranges = self._in_thread(self._split)
        sql = compiled.count_sql(id_range=True)
        pool = self._pool() if len(ranges) > 1 else None
        if pool is None:
            total = self._in_thread(
                lambda: self._conn().execute(compiled.count_sql(), compiled.params).fetchone()[0]
            )
            parts = 1
        else:
            futures = [
                pool.submit(worker.scalar, self.path, sql, {**compiled.params, "lo": lo, "hi": hi})
                for lo, hi in ranges
            ]
            total, parts = sum(f.result() for f in futures), len(ranges)
        with self._lock:
            self._memo[key] = total
            while len(self._memo) > self._memo_size:
                self._memo.popitem(last=False)
        return CountResult(total, _ms(started), refreshed, False, parts)

    def call(self, fn):
        """Run ``fn(connection)`` on the runner's own thread and connection (saving a
        segment, listing its versions) and return what it returns."""
        return self._in_thread(lambda: fn(self._conn()))

    def count_population(self, compiled: Compiled) -> CountResult:
        """The size of a population given as SQL (a static segment's members), timed."""
        started = time.perf_counter()
        self.refresh()
        compiled = self._adapt(compiled)
        total = self._in_thread(
            lambda: self._conn().execute(compiled.count_sql(), compiled.params).fetchone()[0]
        )
        return CountResult(total, _ms(started))

    def rows(self, compiled: Compiled, *, offset: int, limit: int) -> list[dict]:
        """Rows ``offset`` .. ``offset + limit`` of a population, ascending by id, with the
        customer list's columns (the member list pages through these)."""
        from srm_tui.storage.queries import SUMMARY_COLUMNS

        compiled = self._adapt(compiled)
        cols = ", ".join(f"c.{c}" for c in SUMMARY_COLUMNS)
        sql = (
            f"SELECT {cols} FROM customers c WHERE c.id IN (SELECT f.id FROM "
            f"{compiled.from_sql} WHERE ({compiled.filter}) ORDER BY f.id "
            "LIMIT :limit OFFSET :offset) ORDER BY c.id"
        )
        params = {**compiled.params, "limit": limit, "offset": offset}

        def run() -> list[dict]:
            cursor = self._conn().execute(sql, params)
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, r)) for r in cursor]

        self.refresh()
        return self._in_thread(run)

    def overview(self, compiled: Compiled, now: int):
        """MRR, lifetime value, churn and composition of a population (segments.overview),
        the pass spread over the worker processes on a large cache."""
        from dataclasses import replace

        from srm_tui.segments import overview as O

        started = time.perf_counter()
        self.refresh()
        compiled = self._adapt(compiled)
        key = (
            "overview",
            compiled.from_sql,
            compiled.filter,
            tuple(sorted(compiled.params.items())),
            now,
        )
        with self._lock:
            if key in self._memo:  # cleared with the counts when the facts change
                self._memo.move_to_end(key)
                return replace(self._memo[key], elapsed_ms=_ms(started))
        ranges = self._in_thread(self._split)
        pool = self._pool() if len(ranges) > 1 else None

        def parts(p):
            futures = [
                pool.submit(worker.aggregate, self.path, p.sql, {**p.params, "lo": lo, "hi": hi})
                for lo, hi in ranges
            ]
            rows: list[tuple] = []
            for f in futures:
                rows += f.result()
            return rows, len(ranges)

        result = self._in_thread(
            lambda: O.compute(self._conn(), compiled, now, parts if pool is not None else None)
        )
        with self._lock:
            self._memo[key] = result
            while len(self._memo) > self._memo_size:
                self._memo.popitem(last=False)
        return result

    def members(
        self, segment: Segment, now: int, *, after: int | None = None, limit: int = 200
    ) -> list[int]:
        """One page of member ids ascending, after id ``after`` (keyset: O(page))."""
        return self._in_thread(
            lambda: members(self._conn(), segment, now, after=after, limit=limit)
        )

    def rates(self):
        """The exchange rates in force for this cache (domain.rates.Rates)."""
        from srm_tui.domain.rates import in_force

        return self._in_thread(lambda: in_force(self._conn()))

    def explain(self, segment: Segment, customer_id: int, now: int):
        from srm_tui.segments.explain import explain

        return self._in_thread(lambda: explain(self._conn(), segment, customer_id, now))


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000

"""bench_team's concurrency measure: 20 reader processes (one per console: threads in one
process would measure the GIL) run srm's search on the store, alone or while a writer process
upserts 1,000-customer pages as the sync's page write does."""

from __future__ import annotations

import multiprocessing as mp
import random
import time
from typing import Any

from bench.team_report import summary

READERS = 20


def _reader(url: str, queries: list[str], ready: Any, go: Any, out: Any) -> None:
    from srm_tui.storage.pg.connection import PgStore
    from srm_tui.storage.search import search

    store = PgStore(url)
    conn = store.conn()
    search(conn, queries[0], limit=50)  # connect and import before the start
    ready.release()
    go.wait()
    samples = []
    for q in queries:
        t = time.perf_counter()
        search(conn, q, limit=50)
        samples.append((time.perf_counter() - t) * 1000)
    store.close()
    out.put(samples)


def _writer(
    url: str, base_ids: list[int], started: Any, stop: Any, out: Any, most: int = 0
) -> None:
    from srm_tui.storage import changes, records
    from srm_tui.storage.payload import decode_raw
    from srm_tui.storage.pg.connection import PgStore
    from srm_tui.sync.engine import settle_dirty_facts
    from srm_tui.sync.parse import validate

    store = PgStore(url)
    conn = store.conn()
    pages, at = [], 0
    while not stop.is_set() and not (most and len(pages) >= most):
        ids = base_ids[at : at + 1000] or base_ids[:1000]
        at = at + 1000 if at + 1000 < len(base_ids) else 0
        marks = ",".join("?" * len(ids))
        items = []
        for (raw,) in conn.execute(f"SELECT raw FROM customers WHERE id IN ({marks})", ids):
            item = decode_raw(raw)
            item["lastLoginDate"] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
            items.append(item)
        t = time.perf_counter()
        good, _ = validate("customers", items)
        now = int(time.time())
        with store.transaction(vendor=True) as tx:  # as SyncEngine._write_page writes a page
            touched = records.upsert(tx, "customers", good, now)
            records.refresh_customer_stats(tx, touched)
            settle_dirty_facts(tx)
            changes.page_written(tx, "customers", touched)
        pages.append((time.perf_counter() - t) * 1000)
        started.set()
    store.close()
    out.put(pages)


def concurrency(url: str, queries: list[str], base_ids: list[int], writer: bool) -> dict:
    """20 reader processes run ``queries`` (each its own shuffle) at once, with or without
    the writer; their latencies, and the writer's page times."""
    ctx = mp.get_context("spawn")  # no inherited connections or threads
    ready, go, out = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
    readers = []
    for n in range(READERS):
        mine = queries[:]
        random.Random(n).shuffle(mine)
        p = ctx.Process(target=_reader, args=(url, mine, ready, go, out))
        p.start()
        readers.append(p)
    for _ in readers:
        ready.acquire()
    w = None
    if writer:
        started, stop, wout = ctx.Event(), ctx.Event(), ctx.Queue()
        w = ctx.Process(target=_writer, args=(url, base_ids, started, stop, wout))
        w.start()
        started.wait()  # its first page is committed: the readers start while it writes
    go.set()
    began = time.monotonic()
    samples: list[float] = []
    for _ in readers:
        samples += out.get()
    wall = time.monotonic() - began
    for p in readers:
        p.join()
    result: dict[str, Any] = {
        "readers": READERS,
        "search": summary(samples),
        "searches_per_s": round(len(samples) / wall, 1),
    }
    if w is not None:
        stop.set()
        pages = wout.get()
        w.join()
        result["writer_pages"] = len(pages)
        result["writer_page"] = summary(pages)
    return result


def writer_alone(url: str, base_ids: list[int], pages: int = 3) -> dict[str, Any]:
    """The writer's page times with no reader running."""
    ctx = mp.get_context("spawn")
    started, stop, out = ctx.Event(), ctx.Event(), ctx.Queue()
    w = ctx.Process(target=_writer, args=(url, base_ids, started, stop, out, pages))
    w.start()
    times = out.get()
    w.join()
    return {"writer_pages": len(times), "writer_page": summary(times)}

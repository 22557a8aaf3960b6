"""Search and list latency on a large cache, next to the raw SQLite query on the same file.

    python bench/bench_search.py --customers 1000000   # seeds bench/.data/N.db once
    python bench/bench_search.py --process SMALL.db LARGE.db [--base TREE] [--rounds 5]

For each query kind it times srm's search service (parse, fold, compile, exact-first) and
the one raw FTS5 / indexed query that answers the same thing, then reports the medians and
their ratio. The list part times the window reads the console makes: first page, a sort by
each column, and the jump to the end.

``--process`` times ``srm search`` as a whole process (what issue 16 item 4 asks to scale) on
two caches, a small and a large one, rounds alternating the caches (and, with ``--base``, a
second srm tree run with PYTHONPATH set to it, e.g. a git worktree of the commit before), next
to the raw FTS5 statement that answers the same first page in the same run. Each cell is the
median wall time and the median CPU time of the child (a busy machine stretches the wall time;
the CPU time is what the process itself spent). The ratio large / small is the aim's measure.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from seeded import ensure_db  # noqa: E402

from srm_tui.storage import queries  # noqa: E402
from srm_tui.storage.cache import Cache  # noqa: E402
from srm_tui.storage.search import Results, search  # noqa: E402


def timed(fn, repeat: int = 21) -> float:
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


# The queries of issue 16 item 4 and the raw FTS5 statement of each one's first page.
PROCESS_QUERIES = {
    "ma": '"ma"*',
    "an": '"an"*',
    "a e": '"a"* AND "e"*',
}
RAW = "SELECT rowid FROM customers_fts WHERE customers_fts MATCH ? ORDER BY rowid LIMIT 50"


def one_process(tree: Path | None, db: Path, query: str) -> tuple[float, float, int]:
    """(wall ms, CPU ms, rows) of one ``srm search`` process on ``db``."""
    env = {**os.environ, "SRM_DB": str(db)}
    if tree is not None:
        env["PYTHONPATH"] = str(tree)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "srm_tui", "search", query, "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        timeout=600,
        cwd=tree or Path(__file__).resolve().parents[1],  # ``-m`` puts the cwd first on the path
    )
    wall = (time.perf_counter() - t) * 1000
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000
    return wall, cpu, len(json.loads(out.stdout))


def raw_ms(db: Path, match: str) -> tuple[float, float]:
    """(wall ms, CPU ms) of the raw FTS5 first page, median of 7 in this process."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    walls, cpus = [], []
    for _ in range(7):
        t, c = time.perf_counter(), time.process_time()
        conn.execute(RAW, (match,)).fetchall()
        walls.append((time.perf_counter() - t) * 1000)
        cpus.append((time.process_time() - c) * 1000)
    conn.close()
    return statistics.median(walls), statistics.median(cpus)


def process_bench(small: Path, large: Path, base: Path | None, rounds: int) -> dict:
    """``srm search`` processes on both caches (and both trees), alternating, per query."""
    trees: dict[str, Path | None] = {"srm": None}
    if base is not None:
        trees = {"base": base, "srm": None}
    samples: dict = {}
    for _ in range(rounds):
        for query in PROCESS_QUERIES:
            for name, tree in trees.items():
                for label, db in (("small", small), ("large", large)):
                    cell = samples.setdefault(query, {}).setdefault(f"{name} {label}", [])
                    cell.append(one_process(tree, db, query))
    report: dict = {"load": os.getloadavg(), "rounds": rounds, "queries": {}}
    for query, match in PROCESS_QUERIES.items():
        row: dict = {}
        for key, runs in samples[query].items():
            row[key] = {
                "wall_ms": round(statistics.median(r[0] for r in runs), 1),
                "cpu_ms": round(statistics.median(r[1] for r in runs), 1),
                "rows": runs[0][2],
            }
        for label, db in (("small", small), ("large", large)):
            wall, cpu = raw_ms(db, match)
            row[f"raw FTS5 {label}"] = {"wall_ms": round(wall, 2), "cpu_ms": round(cpu, 2)}
        for name in trees:
            s, lg = row[f"{name} small"], row[f"{name} large"]
            row[f"{name} large/small"] = {
                "wall": round(lg["wall_ms"] / s["wall_ms"], 2),
                "cpu": round(lg["cpu_ms"] / s["cpu_ms"], 2),
            }
        report["queries"][query] = row
    return report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--process", nargs=2, type=Path, metavar=("SMALL", "LARGE"))
    parser.add_argument("--base", type=Path, help="a second srm tree (e.g. a git worktree)")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.process:
        report = process_bench(*args.process, args.base, args.rounds)
        report["load after"] = os.getloadavg()
        print(json.dumps(report, indent=2))
        return
    db = ensure_db(args.customers)
    conn = Cache(db).conn()
    rng = random.Random(1)
    total = queries.customer_count(conn)
    sample = conn.execute(
        "SELECT id, email, last_name, external_id FROM customers "
        "WHERE email IS NOT NULL AND last_name IS NOT NULL "
        "LIMIT 1 OFFSET ?",
        (rng.randrange(total // 2),),
    ).fetchone()
    txn = conn.execute(
        "SELECT id FROM transactions WHERE customer_id = ? LIMIT 1", (sample["id"],)
    ).fetchone()
    prefix = sample["last_name"][:3].lower()
    fts = (
        "SELECT c.id FROM customers c WHERE c.id IN (SELECT rowid FROM customers_fts "
        "WHERE customers_fts MATCH ?) ORDER BY c.id LIMIT 50"
    )
    cases = {
        "prefix": (prefix, lambda: conn.execute(fts, (f'"{prefix}"*',)).fetchall()),
        "multi-term": (
            f"{prefix} {sample['email'][:2]}",
            lambda: conn.execute(fts, (f'"{prefix}"* AND "{sample["email"][:2]}"*',)).fetchall(),
        ),
        "customer id": (
            str(sample["id"]),
            lambda: conn.execute(
                "SELECT id FROM customers WHERE id = ?", (sample["id"],)
            ).fetchall(),
        ),
        "email": (
            sample["email"],
            lambda: conn.execute(
                "SELECT id FROM customers WHERE email_lc = ?", (sample["email"].casefold(),)
            ).fetchall(),
        ),
    }
    if txn:
        cases["transaction id"] = (
            txn["id"],
            lambda: conn.execute(
                "SELECT customer_id FROM transactions WHERE id = ?", (txn["id"],)
            ).fetchall(),
        )
    order = conn.execute(
        "SELECT external_payment_id FROM transactions WHERE external_payment_id IS NOT NULL LIMIT 1"
    ).fetchone()
    birth = conn.execute(
        "SELECT birth_date FROM customers WHERE birth_date IS NOT NULL LIMIT 1"
    ).fetchone()
    # What a bare term also matches (CONTRACT section 6), each next to its one indexed query.
    country = "SELECT id FROM customers WHERE country = ? ORDER BY id LIMIT 50"
    cases["country code"] = ("FR", lambda: conn.execute(country, ("FR",)).fetchall())
    cases["country name"] = ("Poland", lambda: conn.execute(country, ("PL",)).fetchall())
    cases["currency code"] = (
        "NOK",
        lambda: conn.execute(
            "SELECT id FROM customers WHERE currency = ? ORDER BY id LIMIT 50", ("NOK",)
        ).fetchall(),
    )
    if birth:
        cases["birth date"] = (
            birth[0],
            lambda: conn.execute(
                "SELECT id FROM customers WHERE birth_date = ? ORDER BY id LIMIT 50", (birth[0],)
            ).fetchall(),
        )
    if order:
        cases["order id, lower case"] = (
            order[0].lower(),
            lambda: conn.execute(
                "SELECT customer_id FROM transactions WHERE external_payment_id = ?", (order[0],)
            ).fetchall(),
        )
    cases["state"] = (
        "state:CO",
        lambda: conn.execute(
            "SELECT id FROM customers WHERE state = ? ORDER BY id LIMIT 50", ("CO",)
        ).fetchall(),
    )
    report: dict = {"customers": total, "search": {}, "list": {}, "pages": {}}
    for name, (query, raw) in cases.items():
        srm_ms = timed(lambda: search(conn, query, limit=50))
        raw_ms = timed(raw)
        rows = len(search(conn, query, limit=50).rows)
        report["search"][name] = {
            "query": query,
            "rows": rows,
            "srm_ms": round(srm_ms, 2),
            "raw_ms": round(raw_ms, 3),
            "ratio": round(srm_ms / max(raw_ms, 1e-3), 1),
        }
    for sort in queries.SORT_COLUMNS:
        report["list"][f"first page by {sort}"] = round(
            timed(
                lambda: queries.customer_window(conn, sort=sort, offset=0, limit=80, total=total), 7
            ),
            2,
        )
    report["list"]["jump to end"] = round(
        timed(
            lambda: queries.customer_window(
                conn, sort="last_login_at", offset=total - 80, limit=80, total=total
            ),
            7,
        ),
        2,
    )
    report["list"]["middle (offset n/2)"] = round(
        timed(
            lambda: queries.customer_window(
                conn, sort="email", offset=total // 2, limit=80, total=total
            ),
            7,
        ),
        2,
    )
    report["list"]["count"] = round(timed(lambda: queries.customer_count(conn), 7), 2)
    # Paging every match the way the console's table does: 80-row windows, start to end.
    for query in ("country:pl", prefix[:1]):

        def walk(query: str = query) -> int:
            results = Results(conn, query)
            n = results.count(conn)
            for offset in range(0, n, 80):
                results.window(conn, offset, 80)
            return n

        report["pages"][query] = {"rows": walk(), "all pages ms": round(timed(walk, 5), 2)}
        n = Results(conn, query).count(conn)

        def last_page(query: str = query, n: int = n) -> None:
            # A fresh result set each time (a window once read is kept): compile, exact
            # matches, count, then the jump to the end, read backwards.
            results = Results(conn, query, sort="last_login_at")
            results.count(conn)
            results.window(conn, max(n - 80, 0), 80)

        report["pages"][query]["last page by last login ms"] = round(timed(last_page, 7), 2)
    print(json.dumps(report, indent=2, ensure_ascii=False))
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    (out / f"search-{total}.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()

"""Search and list latency on a large cache, next to the raw SQLite query on the same file.

    python bench/bench_search.py --customers 1000000   # seeds bench/.data/N.db once

For each query kind it times srm's search service (parse, fold, compile, exact-first) and
the one raw FTS5 / indexed query that answers the same thing, then reports the medians and
their ratio. The list part times the window reads the console makes: first page, a sort by
each column, and the jump to the end.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    args = parser.parse_args()
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

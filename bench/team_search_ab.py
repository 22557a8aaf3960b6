"""srm's search on a running team store, two srm trees side by side in the same run.

    python -m bench.team_search_ab URL --tree before=/path/a --tree after=/path/b [--rounds 2]

Each round runs every tree once, in turn, in its own process (``PYTHONPATH`` set to the tree),
timing ``storage.search.search(conn, q, limit=50)`` over the query classes of
``team_queries.queries_for`` (drawn from the store's own customers) plus prefixes of 1, 2 and
5 letters of the same surnames (common, medium and rare), and the raw statement of the prefix
classes (the pk walk bench_team times). Samples are pooled over rounds; the ratio after/before
is of p50 and p95 in this run (the machine's load moves both the same way). For a store left
by ``bench_team --keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench.team_queries import CLASSES as TEAM_CLASSES  # noqa: E402

# bench_team's classes, the prefix class also at 1, 2 and 5 letters around its usual 3
CLASSES = (
    "prefix 1 letter",
    "prefix 2 letters",
    "prefix",
    "prefix 5 letters",
    *(c for c in TEAM_CLASSES if c != "prefix"),
)


def cases(conn: Any, n: int) -> dict[str, list[str]]:
    """The queries per class (the same in every process: drawn with a fixed seed)."""
    from bench.team_queries import queries_for

    out = queries_for(conn, n, pg=True)
    for label, size in (("prefix 1 letter", 1), ("prefix 2 letters", 2), ("prefix 5 letters", 5)):
        out[label] = sorted({q[:size] for q in out["prefix"]})
    rows = conn.execute(
        "SELECT last_name FROM customers TABLESAMPLE SYSTEM (1) REPEATABLE (2) "
        "WHERE length(last_name) >= 5 ORDER BY md5(id::text) LIMIT %s",
        [n],
    ).fetchall()
    out["prefix 5 letters"] = [r[0][:5].lower() for r in rows]
    return {k: out[k] for k in CLASSES if out.get(k)}


def measure(url: str, n: int) -> dict[str, list[float]]:
    """One process's samples: ms per query per class (after one untimed pass)."""
    import psycopg

    from srm_tui.storage.db import open_store
    from srm_tui.storage.search import search

    with psycopg.connect(url, autocommit=True) as raw:
        qs = cases(raw, n)
    store = open_store(url)
    conn = store.conn()
    out: dict[str, list[float]] = {}
    for name, queries in qs.items():
        for q in queries:
            search(conn, q, limit=50)
        samples = []
        for q in queries:
            t = time.perf_counter()
            search(conn, q, limit=50)
            samples.append((time.perf_counter() - t) * 1000)
        out[name] = samples
    out["_examples"] = {k: v[:3] for k, v in qs.items()}  # type: ignore[assignment]
    store.close()
    return out


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--tree", action="append", required=True, help="NAME=PATH")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.url, args.queries)))
        return
    trees = dict(t.split("=", 1) for t in args.tree)
    pooled: dict[str, dict[str, list[float]]] = {name: {} for name in trees}
    examples: dict[str, Any] = {}
    load = [os.getloadavg()[0]]
    for r in range(args.rounds):
        for name, path in trees.items():
            env = {**os.environ, "PYTHONPATH": f"{path}{os.pathsep}{ROOT}"}
            done = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    args.url,
                    "--tree",
                    "x=y",
                    "--queries",
                    str(args.queries),
                    "--child",
                    "1",
                ],
                env=env,
                cwd=path,
                capture_output=True,
                text=True,
                check=True,
            )
            got = json.loads(done.stdout)
            examples = got.pop("_examples")
            for k, v in got.items():
                pooled[name].setdefault(k, []).extend(v)
            print(f"round {r + 1} {name} done, load {os.getloadavg()[0]:.1f}", file=sys.stderr)
            load.append(os.getloadavg()[0])
    names = list(trees)
    head = " | ".join(f"{n} p50 / p95" for n in names)
    print(f"| class (examples) | {head} | {names[-1]}/{names[0]} p50 | p95 |")
    print("|---|" + "---|" * (len(names) + 2))
    for k in CLASSES:
        if k not in pooled[names[0]]:
            continue
        cells = [f"{pct(pooled[n][k], 50)} / {pct(pooled[n][k], 95)}" for n in names]
        a, b = pooled[names[0]][k], pooled[names[-1]][k]
        ratio = (
            f"{pct(b, 50) / max(pct(a, 50), 0.01):.2f} | {pct(b, 95) / max(pct(a, 95), 0.01):.2f}"
        )
        ex = ", ".join(f"`{q}`" for q in examples.get(k, [])[:2])
        print(f"| {k} ({ex}) | {' | '.join(cells)} | {ratio} |")
    print(f"\nload average (1 min) over the run: {min(load):.1f} - {max(load):.1f}")


if __name__ == "__main__":
    main()

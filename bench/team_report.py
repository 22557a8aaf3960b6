"""The markdown tables of a bench_team.py report (bench/results/team.json)."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import sys
from pathlib import Path
from typing import Any


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}x" if b else "-"


def markdown(r: dict[str, Any]) -> str:
    """The report as markdown: search, segments, concurrency, sizes, the machine."""
    n, lite_n = r["sizes"]["customers"], r["sqlite_sizes"]["customers"]
    lines = [
        f"PostgreSQL {r['machine'].get('postgres', '?')} at {n:,} customers "
        f"(base {r['base']:,} cloned), SQLite {r['machine']['sqlite']} at {lite_n:,}; "
        f"{r['machine']['cpus']} CPUs, load {r['load_start'][0]} at start, "
        f"{r.get('load_end', ['?'])[0]} at end.",
        "",
        "Search, p50 / p95 ms over distinct queries per class (LIMIT 50):",
        "",
        "| query class | srm on PG | raw SQL on PG | srm/raw (p50) | srm on SQLite | "
        "raw FTS5/index | PG/SQLite (srm p50) |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, pg in r["search_pg"].items():
        lite = r["search_sqlite"].get(name)
        s, w = pg["srm"], pg["raw"]
        row = (
            f"| {name} (n={s['n']}) | {s['p50_ms']} / {s['p95_ms']} | "
            f"{w['p50_ms']} / {w['p95_ms']} | {_ratio(s['p50_ms'], w['p50_ms'])} | "
        )
        if lite:
            ls, lw = lite["srm"], lite["raw"]
            row += (
                f"{ls['p50_ms']} / {ls['p95_ms']} | {lw['p50_ms']} / {lw['p95_ms']} | "
                f"{_ratio(s['p50_ms'], ls['p50_ms'])} |"
            )
        else:
            row += "- | - | - |"
        lines.append(row)
    lines += [
        "",
        "Segment counts (median of 3, ms):",
        "",
        "| segment | PG members | srm on PG | hand SQL on PG | srm/SQL | SQLite members | "
        "srm on SQLite | hand SQL on SQLite |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, pg in r["segments_pg"].items():
        lite = r["segments_sqlite"][label]
        agree = "" if pg["agree"] and lite["agree"] else " (srm and SQL disagree!)"
        lines.append(
            f"| {label}{agree} | {pg['customers']:,} | {pg['srm_ms']} | {pg['raw_sql_ms']} | "
            f"{_ratio(pg['srm_ms'], pg['raw_sql_ms'])} | {lite['customers']:,} | "
            f"{lite['srm_ms']} | {lite['raw_sql_ms']} |"
        )
    alone, busy = r["readers_alone"], r["readers_with_writer"]
    wp = busy.get("writer_page", {})
    alone_w = r.get("writer_alone", {}).get("writer_page", {})
    lines += [
        "",
        f"{alone['readers']} reader processes searching at once (srm search, mixed classes), ms:",
        "",
        "| | p50 | p95 | searches (per s) |",
        "|---|---|---|---|",
        f"| readers alone | {alone['search']['p50_ms']} | {alone['search']['p95_ms']} | "
        f"{alone['search']['n']} ({alone.get('searches_per_s')}) |",
        f"| readers while the writer upserts 1,000-customer pages | "
        f"{busy['search']['p50_ms']} | {busy['search']['p95_ms']} | {busy['search']['n']} "
        f"({busy.get('searches_per_s')}) |",
        f"| the writer's page (upsert, stats, facts, change log) among the readers | "
        f"{wp.get('p50_ms')} | {wp.get('p95_ms')} | {busy.get('writer_pages')} pages |",
        f"| the writer's page alone | {alone_w.get('p50_ms')} | {alone_w.get('p95_ms')} | "
        f"{r.get('writer_alone', {}).get('writer_pages')} pages |",
        "",
        f"p95 with the writer / without: "
        f"{_ratio(busy['search']['p95_ms'], alone['search']['p95_ms'])}",
        "",
        "Bytes per customer: PostgreSQL "
        f"{r['base_sizes']['bytes_per_customer']:,} at {r['base_sizes']['customers']:,} "
        f"(all real), {r['sizes']['bytes_per_customer']:,} at {n:,} "
        f"({r['sizes']['database_bytes'] / 1e9:.2f} GB); SQLite "
        f"{r['sqlite_sizes']['bytes_per_customer']:,} at {lite_n:,}.",
        "",
        "Build (s): " + ", ".join(f"{k} {v}" for k, v in _flat_build(r["build"]).items()),
    ]
    check = r.get("facts_check")
    if check:
        rows = sum(t["rows"] for t in check["tables"].values())
        verdict = (
            "every column equal"
            if check["equal"]
            else "DIFFERENT: " + json.dumps({k: t["differing"] for k, t in check["tables"].items()})
        )
        lines += [
            "",
            f"Cloned segment facts against srm's own refresh of {check['customers']} customers "
            f"of clone 1 ({rows} rows of the three facts tables): {verdict}.",
        ]
    return "\n".join(lines)


def _flat_build(build: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in build.items():
        if isinstance(value, dict):
            out.update(
                {
                    f"{key} {k}": v
                    for k, v in value.items()
                    if k.endswith("_s") and not isinstance(v, dict)  # per-index times: JSON
                }
            )
        else:
            out[key] = value
    return out


def machine() -> dict[str, Any]:
    """The machine the run is on."""
    mem = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    return {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "memory_bytes": mem,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }


def server_version(url: str) -> str:
    """The server's version string."""
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute("SHOW server_version").fetchone()[0]


def pct(samples: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of ``samples``, in ms rounded."""
    if not samples:
        return 0.0
    ordered = sorted(samples)
    return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 2)


def summary(samples: list[float]) -> dict[str, float]:
    """p50, p95 (ms) and how many of ``samples``."""
    return {"p50_ms": pct(samples, 50), "p95_ms": pct(samples, 95), "n": len(samples)}


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        print(markdown(json.load(f)))

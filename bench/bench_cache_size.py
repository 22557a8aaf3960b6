"""Bytes per customer on disk, by table and index, and which indexes no query of srm uses.

    python bench/bench_cache_size.py --cache bench/.data/20000.db

The cache is checkpointed first (PRAGMA wal_checkpoint(TRUNCATE)) and measured as file plus
WAL. Sizes come from SQLite's dbstat table (pages in use, and the payload bytes in them);
`raw` is the stored API payload of each record. The index check reads every SQL statement
written as a string in srm_tui/storage/ and srm_tui/segments/ (f-string parts filled: a
table-name slot with each table, other slots with a bound parameter), runs EXPLAIN QUERY PLAN
on each against the cache and collects the indexes the plans name; an index is also "used"
when it serves a foreign key (SQLite checks the child table on a parent's delete). Statements
built at run time in other ways (the segment compiler's, over the facts tables) are not read.
Results: bench/results/size-<name>.json and markdown on stdout.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import sqlite3
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("srm_tui/storage", "srm_tui/segments")
VERBS = re.compile(r"^\s*(WITH|SELECT|UPDATE|DELETE|INSERT)\b", re.I)
TABLE_SLOTS = {"entity", "table", "name", "tbl"}
_INDEX = re.compile(r"USING (?:COVERING )?INDEX (\w+)")


def _parts(node: ast.AST) -> list | None:
    """A string expression as literal text and slots (the names of f-string expressions)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        out: list = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                out.append(value.value)
            else:
                expr = value.value
                out.append(("slot", expr.id if isinstance(expr, ast.Name) else ""))
        return out
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _parts(node.left), _parts(node.right)
        if left is not None and right is not None:
            return left + right
    return None


def statements(tables: list[str]) -> list[tuple[str, str]]:
    """(where, sql) for every SQL string in the sources, slots filled."""
    found: list[tuple[str, str]] = []
    for folder in SOURCES:
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                parts = _parts(node)
                if not parts or not isinstance(parts[0], str) or not VERBS.match(parts[0]):
                    continue
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                slots = {p[1] for p in parts if isinstance(p, tuple)}
                fills = tables if slots & TABLE_SLOTS else [None]
                for table in fills:
                    text = "".join(
                        p if isinstance(p, str) else (table if p[1] in TABLE_SLOTS else "?")
                        for p in parts
                    )
                    found.append((where, text))
    return found


SEARCHES = (
    *("son", "ma", "an", "a e", "country:PL", "currency:EUR", "card:1078", "T184984939"),
    *("crm-1003321", "ext:crm-1003321", "order:B5759EA7059965C7", "txn:T184984939"),
    *("zip:98070", "city:denver", "state:CO", "birthdate:1976-07-08", "id:100624518"),
)


def traced(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """Statements the console's reads run, as SQLite saw them: searches of each kind, the
    list's windows in each sort, an account, the offers' holders, segment counts (values
    bound inline)."""
    sys.path.insert(0, str(ROOT))
    from srm_tui.storage import queries, search

    seen: list[str] = []
    conn.row_factory = sqlite3.Row
    conn.set_trace_callback(seen.append)
    customer = conn.execute("SELECT id, email FROM customers LIMIT 1 OFFSET 7").fetchone()
    txn = conn.execute("SELECT external_payment_id FROM transactions LIMIT 1").fetchone()
    calls = [lambda q=q: search.search(conn, q) for q in SEARCHES]
    calls += [
        lambda: search.search(conn, customer["email"]),
        lambda: search.search(conn, str(customer["id"])),
        lambda: search.search(conn, txn[0] or "x"),
        lambda: queries.account_records(conn, customer["id"]),
        lambda: queries.offer_holders(conn, 1_790_000_000),
        lambda: queries.customer_count(conn),
    ]
    from srm_tui.segments import All, Condition, Segment, count

    for tree in (
        All((Condition("customer.country", "in", ("PL", "DE")),)),
        All((Condition("subscription.state", "in", ("grace", "cancelled")),)),
        All((Condition("customer.lifetime_transactions", "gt", 2),)),
    ):
        calls.append(lambda t=tree: count(conn, Segment(where=t), 1_790_000_000))
    for sort in queries.SORT_COLUMNS:
        for descending in (False, True):
            calls.append(
                lambda s=sort, d=descending: queries.customer_window(
                    conn, sort=s, descending=d, offset=1000, limit=100
                )
            )
    for call in calls:
        try:
            call()
        except Exception as exc:  # noqa: BLE001  (a read that fails is reported, not fatal)
            print(f"read failed: {exc}", file=sys.stderr)
    conn.set_trace_callback(None)
    conn.row_factory = None
    return [("traced read", sql) for sql in seen if VERBS.match(sql)]


def plan_indexes(conn: sqlite3.Connection, sql: str) -> set[str] | None:
    params = {name: None for name in re.findall(r":(\w+)", sql)}
    try:
        rows = conn.execute(
            "EXPLAIN QUERY PLAN " + sql, params or [None] * sql.count("?")
        ).fetchall()
    except (sqlite3.Error, ValueError):
        return None
    return {m for row in rows for m in _INDEX.findall(row[3])}


def payload_options(conn: sqlite3.Connection, table: str, sample: int = 2000) -> dict:
    """What storing `raw` otherwise would take, on a sample of rows: zlib per row, zlib with
    a dictionary trained on other rows of the table (zdict), and the JSON left when the keys
    whose values the row's columns already hold are dropped (rebuilt on read)."""
    import zlib

    sys.path.insert(0, str(ROOT))
    from srm_tui.storage.payload import decode_raw, dumps

    stored = [r[0] for r in conn.execute(f"SELECT raw FROM {table} LIMIT ?", (2 * sample,))]
    if len(stored) < 4:
        return {}
    rows = [dumps(decode_raw(r)) for r in stored]  # the JSON, however the cache stores it
    train, test = rows[: len(rows) // 2], rows[len(rows) // 2 :]
    kept = stored[len(rows) // 2 :]
    zdict = "".join(train)[-32768:].encode()
    plain = sum(len(r.encode()) for r in test)
    as_stored = sum(len(r.encode()) if isinstance(r, str) else len(r) for r in kept)
    single = sum(len(zlib.compress(r.encode(), 9)) for r in test)
    shared = 0
    for r in test:
        packer = zlib.compressobj(9, zdict=zdict)
        shared += len(packer.compress(r.encode()) + packer.flush())
    return {
        "rows": len(test),
        "json_bytes": plain,
        "zlib_ratio": round(single / plain, 3),
        "zlib_with_dictionary_ratio": round(shared / plain, 3),
        "stored_ratio": round(as_stored / plain, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", required=True)
    args = parser.parse_args()
    path = Path(args.cache)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    wal = Path(str(path) + "-wal")
    disk = path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
    customers = conn.execute("SELECT count(*) FROM customers").fetchone()[0] or 1
    kinds = dict(conn.execute("SELECT name, type FROM sqlite_master"))
    owner = dict(conn.execute("SELECT name, tbl_name FROM sqlite_master"))
    sizes = conn.execute(
        "SELECT name, sum(pgsize), sum(payload), sum(ncell) FROM dbstat "
        "WHERE aggregate = FALSE GROUP BY name ORDER BY sum(pgsize) DESC"
    ).fetchall()
    tables = [n for n, k in kinds.items() if k == "table" and not n.startswith("sqlite_")]
    raw = {}
    for table in tables:
        cols = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
        if "raw" in cols:
            raw[table] = conn.execute(
                f"SELECT sum(length(CAST(raw AS BLOB))) FROM {table}"
            ).fetchone()[0]
    foreign = set()
    for table in tables:
        for fk in conn.execute(f"PRAGMA foreign_key_list({table})"):
            foreign.add((table, fk[3]))
    used: dict[str, list[str]] = {}
    unreadable = []
    stmts = statements(tables) + traced(conn)
    for where, sql in stmts:
        names = plan_indexes(conn, sql)
        if names is None:
            unreadable.append(where)
            continue
        for name in names:
            used.setdefault(name, []).append(where)
    rows = []
    for name, pages, payload, cells in sizes:
        kind = kinds.get(name, "index" if name.startswith("sqlite_autoindex") else "?")
        entry = {
            "name": name,
            "kind": kind,
            "table": owner.get(name, name),
            "bytes": pages,
            "bytes_per_customer": round(pages / customers, 1),
            "payload_bytes": payload,
            "rows": cells,
        }
        if name in raw:
            entry["raw_payload_bytes"] = raw[name]
        if kind == "index" and not name.startswith("sqlite_autoindex"):
            sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (name,)).fetchone()
            first = re.search(r"\((\w+)", sql[0] or "") if sql else None
            entry["used_by"] = sorted(set(used.get(name, [])))[:5]
            entry["serves_foreign_key"] = bool(first and (owner[name], first.group(1)) in foreign)
        rows.append(entry)
    out = {
        "cache": str(path),
        "customers": customers,
        "disk_bytes": disk,
        "bytes_per_customer": round(disk / customers, 1),
        "statements_read": len(stmts),
        "statements_unreadable": len(unreadable),
        "objects": rows,
        "payload_options": {
            t: payload_options(conn, t)
            for t in ("transactions", "emails", "subscriptions", "customers", "payment_details")
        },
    }
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    (results / f"size-{path.stem}.json").write_text(json.dumps(out, indent=1))
    print(_markdown(out))


def _markdown(out: dict) -> str:
    lines = [
        f"{out['customers']:,} customers: {out['disk_bytes'] / 1e6:.1f} MB on disk after a "
        f"checkpoint, {out['bytes_per_customer']:,.0f} bytes per customer; "
        f"{out['statements_read']} statements read, {out['statements_unreadable']} not "
        "explainable as written",
        "",
        "| object | kind | bytes/customer | share | raw payload/customer | used by a query |",
        "|---|---|---|---|---|---|",
    ]
    for r in out["objects"]:
        if r["bytes"] < out["disk_bytes"] * 0.002:
            continue
        use = ""
        if "used_by" in r:
            use = (
                r["used_by"][0]
                if r["used_by"]
                else "foreign key"
                if r["serves_foreign_key"]
                else "**none**"
            )
        payload = r.get("raw_payload_bytes")
        per = "" if payload is None else f"{payload / out['customers']:,.0f}"
        lines.append(
            f"| {r['name']} | {r['kind']} | {r['bytes_per_customer']:,.0f} "
            f"| {100 * r['bytes'] / out['disk_bytes']:.1f}% "
            f"| {per} | {use} |"
        )
    lines += [
        "",
        "| table | raw payload sample (JSON) | zlib per row | zlib with a shared dictionary "
        "| as this cache stores it |",
        "|---|---|---|---|---|",
    ]
    for table, o in out["payload_options"].items():
        if o:
            lines.append(
                f"| {table} | {o['rows']:,} rows, {o['json_bytes'] / o['rows']:,.0f} B/row "
                f"| {o['zlib_ratio']:.0%} | {o['zlib_with_dictionary_ratio']:.0%} "
                f"| {o['stored_ratio']:.0%} |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())

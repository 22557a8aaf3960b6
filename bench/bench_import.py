"""`srm import` of a ChurnIQ Transactions Report vs raw executemany of the same rows.

    python bench/bench_import.py --rows 1000000

Generates a deterministic Transactions Report (every column of docs/churniq-format.md, one
customer per five rows), times `srm import FILE --json` into a fresh cache, then two floors
into fresh caches of the same schema, in the same run:

- parse+insert: csv.reader, the same time parsing, one tuple per transaction and per new
  customer, executemany in one transaction (what any importer must at least do);
- insert only: the same tuples prepared beforehand, only the executemany timed.

Prints one JSON line with the times and the ratios; `--keep DIR` keeps the files.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from srm_tui.imports.values import Clock  # noqa: E402
from srm_tui.storage import records  # noqa: E402
from srm_tui.storage.cache import Cache  # noqa: E402
from tests.helpers import run_srm  # noqa: E402

HEADER = [
    "Transaction ID",
    "Transaction Country",
    "Date",
    "Date / Time",
    "Month",
    "Week",
    "Customer ID",
    "Customer email",
    "First name",
    "Last name",
    "Customer country",
    "Customer IP",
    "Customer currency",
    "Offer ID",
    "Offer title",
    "Offer type",
    "Subscription ID",
    "Pass ID",
    "Transaction price",
    "Transaction currency",
    "Transaction status",
    "Refunded amount",
    "Rejected reason",
    "Payment gateway",
    "Payment method",
    "External payment ID",
]
COUNTRIES = (
    ("PL", "PLN", "Zofia", "Wiśniewska"),
    ("DE", "EUR", "Jürgen", "Müller"),
    ("FR", "EUR", "Amélie", "Dubois"),
    ("GB", "GBP", "Oliver", "Smith"),
    ("US", "USD", "Emma", "Johnson"),
)
STATUSES = ("captured",) * 17 + ("rejected", "refunded", "captured")


def generate(path: Path, rows: int) -> None:
    """A deterministic report: row i belongs to customer i // 5 (dates rise with i)."""
    start = 1735689600  # 2025-01-01 00:00:00 UTC
    with open(path, "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(HEADER)
        for i in range(rows):
            cid = 100000000 + i // 5
            country, currency, first, last = COUNTRIES[cid % 5]
            local = time.gmtime(start + 3600 + i * 29)
            sub = cid % 7 != 0
            status = STATUSES[i % 20]
            price = f"{5 + (cid % 30)}.99"
            out.writerow(
                [
                    f"T{100000000 + i}",
                    country,
                    time.strftime("%Y-%m-%d", local),
                    time.strftime("%Y-%m-%d %H:%M:%S", local),
                    local.tm_mon,
                    int(time.strftime("%V", local)),
                    cid,
                    f"user{cid}@example.com",
                    f"{first}{cid % 97}",
                    last,
                    country,
                    f"{(cid * 2654435761) % 4294967296}.000000",
                    currency,
                    f"{'S' if sub else 'P'}{123456789 + cid % 40}_{country}",
                    "Monthly" if sub else "Match pass",
                    "subscription" if sub else "pass",
                    (700000000 + cid) if sub else "",
                    "" if sub else (800000000 + i),
                    price,
                    currency,
                    status,
                    price if status == "refunded" else "",
                    "Card expired" if status == "rejected" else "",
                    "adyen",
                    ("card", "paypal")[i % 2],
                    f"ADY-{i}",
                ]
            )


def _tuples(report: Path) -> tuple[list[tuple], list[tuple]]:
    """Parse the report into transaction and customer rows of the cache's tables."""
    clock = Clock("CET")
    _, tcols, _ = records._COLUMNS["transactions"]
    txns, customers, seen = [], [], set()
    with open(report, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        next(reader)
        for r in reader:
            raw = json.dumps(dict(zip(HEADER, r)), ensure_ascii=False)
            values = {
                "id": r[0],
                "customer_id": int(r[6]),
                "date": clock.instant(r[3]),
                "offer_id": r[13],
                "subscription_id": int(r[16]) if r[16] else None,
                "pass_id": int(r[17]) if r[17] else None,
                "amount": float(r[18]),
                "currency": r[19],
                "status": r[20],
                "gateway": r[23],
                "payment_method": r[24],
                "external_payment_id": r[25],
                "rejected_reason": r[22] or None,
                "refunded_amount": float(r[21]) if r[21] else 0.0,
                "raw": raw,
                "synced_at": 0,
            }
            txns.append(tuple(values.get(c) for c in tcols))
            cid = int(r[6])
            if cid not in seen:
                seen.add(cid)
                customers.append((cid, r[7], r[7].casefold(), r[8], r[9], r[10], r[12], raw, 0))
    return txns, customers


def _insert(db: Path, txns: list[tuple], customers: list[tuple]) -> None:
    _, tcols, _ = records._COLUMNS["transactions"]
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("BEGIN")
    conn.executemany(
        f"INSERT INTO transactions ({', '.join(tcols)}) VALUES ({', '.join('?' * len(tcols))})",
        txns,
    )
    conn.executemany(
        "INSERT OR IGNORE INTO customers (id, email, email_lc, first_name, "
        "last_name, country, currency, raw, synced_at) VALUES "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?)",
        customers,
    )
    conn.execute("COMMIT")
    conn.close()


def fresh(db: Path) -> Path:
    Cache(db).close()  # the same schema, every migration applied
    return db


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keep", default=None, help="keep the report and caches here")
    args = parser.parse_args()
    work = Path(args.keep or tempfile.mkdtemp(prefix="srm-bench-import-"))
    work.mkdir(parents=True, exist_ok=True)
    report = work / "transactions.csv"
    t0 = time.perf_counter()
    generate(report, args.rows)
    generated = time.perf_counter() - t0

    db = work / "import.db"
    t0 = time.perf_counter()
    result = run_srm("import", str(report), "--json", env={"SRM_DB": str(db)}, timeout=7200)
    srm_seconds = time.perf_counter() - t0
    if result.returncode != 0:
        sys.exit(f"srm import failed: {result.stderr}")
    summary = json.loads(result.stdout)

    floor_db = fresh(work / "floor.db")
    t0 = time.perf_counter()
    txns, customers = _tuples(report)
    _insert(floor_db, txns, customers)
    parse_insert = time.perf_counter() - t0

    insert_db = fresh(work / "insert.db")
    t0 = time.perf_counter()
    _insert(insert_db, txns, customers)
    insert_only = time.perf_counter() - t0

    print(
        json.dumps(
            {
                "rows": args.rows,
                "bytes": report.stat().st_size,
                "generate_s": round(generated, 2),
                "srm_import_s": round(srm_seconds, 2),
                "srm_reported_s": summary["seconds"],
                "written": {k: summary[k] for k in ("customers", "transactions")},
                "raw_parse_insert_s": round(parse_insert, 2),
                "raw_insert_only_s": round(insert_only, 2),
                "ratio_vs_parse_insert": round(srm_seconds / parse_insert, 2),
                "ratio_vs_insert_only": round(srm_seconds / insert_only, 2),
                "rows_per_s": round(args.rows / srm_seconds),
                "load": os.getloadavg()[0],
                "cpus": os.cpu_count(),
            }
        )
    )


if __name__ == "__main__":
    main()

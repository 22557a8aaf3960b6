"""`srm import`: the vendor's ChurnIQ reports and id lists into the cache (CONTRACT section 8).

Every test runs the real `srm` command on real files (tests/data/churniq/ holds hand-written
reports in both header vocabularies) and reads the cache it wrote.
"""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
from pathlib import Path

import pytest
from helpers import run_srm

from srm_tui.storage.payload import decode_raw

DATA = Path(__file__).parents[1] / "data" / "churniq"
NOW = "2026-04-15T00:00:00Z"
CET = 3600


def srm_import(db: Path, *args: str, env: dict[str, str] | None = None):
    return run_srm(
        "import", *args, "--json", env={"SRM_DB": str(db), "SRM_NOW": NOW, **(env or {})}
    )


def ok(result) -> dict:
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return json.loads(result.stdout)


def query(db: Path, sql: str, *params) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql, params).fetchall()


def raws(db: Path, table: str) -> dict[str, dict]:
    return {str(k): decode_raw(r) for k, r in query(db, f"SELECT id, raw FROM {table}")}


def cet(text: str) -> int:
    from datetime import datetime, timezone

    return int(datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()) - CET


def test_transactions_report_in_both_vocabularies(tmp_path):
    formatted, unformatted = tmp_path / "a.db", tmp_path / "b.db"
    out = ok(srm_import(formatted, str(DATA / "transactions.csv")))
    ok(srm_import(unformatted, str(DATA / "transactions_unformatted.csv")))  # BOM, CRLF
    assert out["transactions"] == 5 and out["customers"] == 3 and out["quarantined"] == 1
    assert out["files"][0]["format"] == "churniq-transactions"
    a, b = raws(formatted, "transactions"), raws(unformatted, "transactions")
    # Same records either way; only the unknown column keeps its own header.
    assert {k: {**r, "churniq": None} for k, r in a.items()} == {
        k: {**r, "churniq": None} for k, r in b.items()
    }
    assert a["T100000001"]["churniq"]["Loyalty tier"] == "gold"
    assert b["T100000001"]["churniq"]["loyalty.tier"] == "gold"
    t3 = a["T100000003"]  # its offer title spans two lines; thousands separator in the price
    assert t3["amount"] == 1234.5 and t3["currency"] == "EUR" and t3["passId"] == 800001
    assert t3["transactionDate"] == cet("2026-03-05T23:30:00")
    assert t3["churniq"]["Offer title"] == "Match pass\n(weekend)"
    assert a["T100000002"]["status"] == "refunded" and a["T100000002"]["refundedAmount"] == 29.99
    assert a["T100000004"]["rejectedReason"] == "Card expired"
    # Customers named in the rows, with the list's derived columns.
    rows = query(
        formatted,
        "SELECT id, email, first_name, last_name, country, currency, "
        "transactions, last_payment_method FROM customers ORDER BY id",
    )
    assert rows == [
        (900001, "anna@example.com", "Anna", "Łukasiewicz", "PL", "PLN", 2, "card"),
        # Paid transactions only: Bernd's rejected one is not counted.
        (900002, "bernd@example.com", "Bernd", "Müller, Jr.", "DE", "EUR", 1, "card"),
        (900003, "claire@example.com", "Claire", "Dubois", "FR", "EUR", 1, "card"),
    ]
    # The wrong date is quarantined with FILE:LINE (line 7: row 4 spans lines 4-5).
    for db, name in (
        (formatted, "transactions.csv"),
        (unformatted, "transactions_unformatted.csv"),
    ):
        ((reason, key, source, payload),) = query(
            db, "SELECT reason, record_key, source, payload FROM quarantine"
        )
        assert reason.startswith(f"{DATA / name}:7: Date / Time: not a date")
        assert key == "T100000005" and source == "import"
        kept = json.loads(payload)  # the row as it was, and whose it is (for anonymization)
        assert kept["line"] == 7 and kept["customerId"] == 900003
        assert "2026-13-06 08:00:00" in kept["row"].values()


def test_subscription_and_pass_reports_and_id_lists(tmp_path):
    db = tmp_path / "c.db"
    out = ok(
        srm_import(
            db,
            str(DATA / "transactions.csv"),
            str(DATA / "subscriptions.csv"),
            str(DATA / "passes.csv"),
            str(DATA / "ids.txt"),
        )
    )
    assert [f["format"] for f in out["files"]] == [
        "churniq-transactions",
        "churniq-subscriptions",
        "churniq-passes",
        "ids",
    ]
    assert (out["subscriptions"], out["passes"], out["pending_emails"]) == (3, 2, 1)
    assert out["customers"] == 7  # each once, however many rows and files name it
    subs = raws(db, "subscriptions")
    s1 = subs["700001"]
    assert (s1["status"], s1["period"], s1["inTrial"], s1["renewalCycle"]) == (
        "active",
        "month",
        False,
        {"completed": 1},
    )
    assert s1["dateFrom"] == cet("2026-03-01T10:15:00") and s1["nextPaymentPrice"] == 29.99
    assert subs["700004"]["inTrial"] is True and subs["700004"]["period"] == "3months"
    assert "createdAt" not in s1  # not in the vendor's resource: derived, not invented
    assert query(db, "SELECT created_at FROM subscriptions WHERE id = 700001") == [
        (cet("2026-03-01T10:15:00"),)
    ]
    passes = raws(db, "passes")
    assert passes["800002"]["expiresAt"] is None and passes["800002"]["status"] == "terminated"
    assert passes["800001"]["churniq"]["Payment method"] == "paypal"
    # The unlabelled email column of the Subscription and Pass reports is read.
    assert query(db, "SELECT email, registered_at FROM customers WHERE id = 900004") == [
        ("dana@example.com", cet("2026-02-01T00:00:00"))
    ]
    # Id lists: bare customers for the sync to complete, emails kept as pending lookups.
    assert [
        decode_raw(r[0])
        for r in query(db, "SELECT raw FROM customers WHERE id IN (900010, 900011) ORDER BY id")
    ] == [{"id": 900010}, {"id": 900011}]
    assert query(
        db, "SELECT email, source, customer_id, resolved_at FROM import_pending_emails"
    ) == [("grace@example.com", f"{DATA / 'ids.txt'}:5", None, None)]
    reasons = sorted(r for (r,) in query(db, "SELECT reason FROM quarantine"))
    assert any(r.startswith(f"{DATA / 'subscriptions.csv'}:5: status:") for r in reasons)
    assert f"{DATA / 'ids.txt'}:6: not a customer id or an email: 'not-an-id'" in reasons
    # The console's search and the segments see imported data.
    found = run_srm("search", "lukasiewicz", "--json", env={"SRM_DB": str(db)})
    assert [c["id"] for c in json.loads(found.stdout)] == [900001]
    seg = tmp_path / "s.json"
    seg.write_text(
        json.dumps(
            {
                "version": 1,
                "name": "hybrid payers",
                "where": {
                    "all": [
                        {"attr": "customer.lifetime_transactions", "op": "gte", "value": 1},
                        {"attr": "customer.is_hybrid", "op": "eq", "value": True},
                    ]
                },
            }
        )
    )
    members = run_srm(
        "segment", "members", str(seg), "--json", env={"SRM_DB": str(db), "SRM_NOW": NOW}
    )
    assert json.loads(members.stdout) == {"customers": [900002]}, members.stderr


def test_an_import_never_overwrites_a_cached_customer_with_less(tmp_path):
    from srm_tui.storage import records
    from srm_tui.storage.cache import Cache
    from srm_tui.sync.parse import validate

    db = tmp_path / "d.db"
    cache = Cache(db)
    good, bad = validate(
        "customers",
        [
            {
                "id": 900001,
                "email": "anna.new@example.com",
                "firstName": "Anna",
                "lastName": None,
                "country": "PL",
                "locale": "pl_PL",
                "regDate": "2025-01-01 00:00:00",
            },
            {"id": 900002, "email": None, "firstName": None, "lastName": None, "country": None},
        ],
    )
    assert not bad
    with cache.transaction() as tx:
        records.upsert(tx, "customers", good, 1)
    cache.close()
    ok(srm_import(db, str(DATA / "transactions.csv")))
    c1, c2 = raws(db, "customers")["900001"], raws(db, "customers")["900002"]
    assert c1["email"] == "anna.new@example.com"  # kept
    assert c1["regDate"] == "2025-01-01 00:00:00" and c1["locale"] == "pl_PL"
    assert c1["lastName"] == "Łukasiewicz" and c1["currency"] == "PLN"  # filled
    assert c2 == {
        "id": 900002,
        "email": None,
        "firstName": None,
        "lastName": None,
        "country": None,
    }  # anonymized: an old export brings nothing back


def _snapshot(db: Path) -> dict[str, list]:
    """Every table srm writes (the search index's own shadow tables aside)."""
    with sqlite3.connect(db) as conn:
        names = [
            n
            for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not n.startswith(("customers_fts", "sqlite_"))
        ]
        return {n: sorted(conn.execute(f"SELECT * FROM {n}").fetchall(), key=repr) for n in names}


def test_importing_the_same_data_again_changes_nothing(tmp_path):
    db = tmp_path / "e.db"
    files = [
        str(DATA / n) for n in ("transactions.csv", "subscriptions.csv", "passes.csv", "ids.txt")
    ]
    ok(srm_import(db, *files))
    before = _snapshot(db)
    again = ok(srm_import(db, *files))
    assert {f["status"] for f in again["files"]} == {"already imported"}
    assert again["quarantined"] == 0 and not any(
        again[k] for k in ("customers", "subscriptions", "passes", "transactions", "pending_emails")
    )
    # A copy under another name is the same file (its identity is its content).
    copy = tmp_path / "copy.csv"
    shutil.copy(DATA / "transactions.csv", copy)
    assert ok(srm_import(db, str(copy)))["files"][0]["status"] == "already imported"
    # Another file with the same rows (reordered, the bad row gone) writes nothing either.
    lines = (DATA / "transactions.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    other = tmp_path / "other.csv"
    other.write_text("".join(lines[i] for i in (0, 7, 5, 3, 4, 2, 1)), encoding="utf-8")
    third = ok(srm_import(db, str(other)))
    assert third["files"][0]["status"] == "imported"
    assert third["transactions"] == third["customers"] == third["quarantined"] == 0
    after = _snapshot(db)
    after.pop("import_files"), before.pop("import_files")
    assert after == before


def _big_report(path: Path, rows: int) -> None:
    header = (
        "Transaction ID,Date / Time,Customer ID,Customer email,First name,Last name,"
        "Offer ID,Transaction price,Transaction currency,Payment method\n"
    )
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write(header)
        for i in range(rows):
            cid = 500000 + i % 3000
            date = (
                "2026-02-30 10:00:00"
                if i == 7000
                else f"2026-03-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:00"
            )
            fh.write(
                f"T{100000000 + i},{date},{cid},c{cid}@example.com,Zoë{cid},Ng,"
                f"S123456789_PL,{i % 50}.99,PLN,{('card', 'paypal')[i % 2]}\n"
            )


def test_a_killed_import_resumes_after_its_last_batch_and_ends_identical(tmp_path):
    report = tmp_path / "big.csv"
    _big_report(report, 12_000)  # three batches of 5,000
    whole, killed = tmp_path / "whole.db", tmp_path / "killed.db"
    ok(srm_import(whole, str(report)))
    first = srm_import(killed, str(report), env={"SRM_IMPORT_KILL_AFTER_BATCH": "1"})
    assert first.returncode == -signal.SIGKILL
    # What the kill left is one whole batch with its checkpoint, nothing half-written.
    assert query(killed, "SELECT status, rows FROM import_files") == [("running", 5000)]
    assert query(killed, "SELECT count(*) FROM transactions") == [(5000,)]
    second = srm_import(killed, str(report), env={"SRM_IMPORT_KILL_AFTER_BATCH": "1"})
    assert second.returncode == -signal.SIGKILL
    assert query(killed, "SELECT rows, quarantined FROM import_files") == [(10000, 1)]
    third = ok(srm_import(killed, str(report)))
    assert third["files"][0]["status"] == "resumed" and third["transactions"] == 2000
    assert _snapshot(killed) == _snapshot(whole)
    ((reason,),) = query(killed, "SELECT reason FROM quarantine")
    assert reason.startswith(f"{report}:7002: Date / Time: not a date")
    assert query(killed, "SELECT count(*), sum(transactions) FROM customers") == [(3000, 11999)]
    found = run_srm("search", "zoe500007", "--json", env={"SRM_DB": str(killed)})
    assert [c["id"] for c in json.loads(found.stdout)] == [500007]


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


HEADER = b"Transaction ID,Date / Time,Customer ID,Offer ID,Transaction price,Transaction currency\n"
ROW = b"T100000001,2026-03-01 10:00:00,900001,S123456789_PL,6.99,PLN\n"


@pytest.mark.parametrize(
    "case, make, message",
    [
        (
            "not a ChurnIQ export",
            lambda d: _write(d / "x.csv", b"a,b,c\n1,2,3\n"),
            "x.csv: not a ChurnIQ export: no 'Transaction ID', 'Subscription ID' or 'Pass ID' column",
        ),
        (
            "an unknown report (a segment export)",
            lambda d: _write(
                d / "seg.csv", b"Customer ID,First Name,Email Address\n1,A,a@example.com\n"
            ),
            "seg.csv: not a ChurnIQ export: no 'Transaction ID', 'Subscription ID' or 'Pass ID'",
        ),
        (
            "a missing required column",
            lambda d: _write(
                d / "t.csv",
                b"Transaction ID,Date / Time,Offer ID\nT100000001,2026-03-01 10:00:00,S1\n",
            ),
            "t.csv: Transactions Report without a 'Customer ID' column",
        ),
        (
            "no date column",
            lambda d: _write(d / "t.csv", b"Transaction ID,Customer ID,Offer ID\n"),
            "t.csv: Transactions Report without a 'Date / Time' or 'Date' column",
        ),
        ("an empty file", lambda d: _write(d / "e.csv", b""), "e.csv: empty file"),
        (
            "only a byte order mark",
            lambda d: _write(d / "e.csv", b"\xef\xbb\xbf"),
            "e.csv: empty file",
        ),
        (
            "a non-UTF-8 file",
            lambda d: _write(d / "l.csv", HEADER + ROW + "Zoë Ng,\n".encode("latin-1")),
            "l.csv:3: not UTF-8 text (byte 0xeb)",
        ),
        ("a directory", lambda d: str(d), "is a directory, not a file"),
        ("a missing file", lambda d: str(d / "nope.csv"), "nope.csv: no such file"),
    ],
)
def test_bad_files_are_one_line_errors_that_change_nothing(tmp_path, case, make, message):
    db = tmp_path / "cache.db"
    good = _write(tmp_path / "good.csv", HEADER + ROW)
    result = srm_import(db, good, make(tmp_path))  # the good file first: still not written
    assert result.returncode == 2, (case, result.stdout, result.stderr)
    assert not result.stdout or json.loads(result.stdout)["error"]["exit"] == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr, (case, result.stderr)
    assert "Traceback" not in result.stderr
    assert not db.exists() or query(db, "SELECT count(*) FROM transactions") == [(0,)]


def test_a_forced_format_must_fit_the_file(tmp_path):
    result = srm_import(
        tmp_path / "c.db", "--format", "churniq-passes", str(DATA / "transactions.csv")
    )
    assert result.returncode == 2
    assert (
        "transactions.csv: a Transactions Report, not a Pass Report; use --format "
        "churniq-transactions (or auto)" in result.stderr
    )
    seg = _write(tmp_path / "seg.csv", b"Customer ID,Email Address\n1,a@example.com\n")
    result = srm_import(tmp_path / "c.db", "--format", "churniq-subscriptions", seg)
    assert result.returncode == 2
    assert (
        "seg.csv: Subscription Report without a 'Subscription ID' column (source name "
        "subscriptions.subscription_id)" in result.stderr
    )


@pytest.mark.parametrize(
    "case, data, reason",
    [
        (
            "a wrong date",
            HEADER + b"T100000002,2026-02-30 10:00:00,900002,S123456789_PL,1,PLN\n",
            ":3: Date / Time: not a date: '2026-02-30 10:00:00'",
        ),
        (
            "a truncated last line",
            HEADER + b"T100000002,2026-03-02 10:00:00,9000",
            ":3: truncated row",
        ),
        (
            "an unclosed quote at the end",
            HEADER + b'T100000002,"2026-03-02 10:0',
            ":3: truncated row",
        ),
        (
            "a bad amount",
            HEADER + b"T100000002,2026-03-02 10:00:00,900002,S123456789_PL,1.2.3,PLN\n",
            ":3: Transaction price: not an amount: '1.2.3'",
        ),
        (
            "a bad transaction id",
            HEADER + b"X1,2026-03-02 10:00:00,900002,S123456789_PL,1,PLN\n",
            ":3: transactionId: Value error, transactionId must be T followed by 9 digits",
        ),
        (
            "extra cells",
            HEADER + b"T100000002,2026-03-02 10:00:00,900002,S1_PL,1,PLN,x,y\n",
            ":3: 8 columns, the header has 6",
        ),
    ],
)
def test_bad_rows_are_quarantined_with_file_and_line(tmp_path, case, data, reason):
    db = tmp_path / "c.db"
    path = _write(tmp_path / "r.csv", data.replace(HEADER, HEADER + ROW))
    out = ok(srm_import(db, path))
    assert out["transactions"] == 1 and out["quarantined"] == 1, case
    ((text, payload),) = query(db, "SELECT reason, payload FROM quarantine")
    assert text.startswith(path + ":") and reason in text, (case, text)
    assert json.loads(payload)["line"] == 3


def test_bom_and_windows_line_endings(tmp_path):
    db = tmp_path / "c.db"
    data = (b"\xef\xbb\xbf" + HEADER + ROW).replace(b"\n", b"\r\n")
    out = ok(srm_import(db, _write(tmp_path / "w.csv", data)))
    assert out["transactions"] == 1 and out["quarantined"] == 0
    assert raws(db, "transactions")["T100000001"]["currency"] == "PLN"
    assert query(db, "SELECT count(*) FROM quarantine") == [(0,)]


def test_header_only_and_missing_optional_columns(tmp_path):
    db = tmp_path / "c.db"
    assert ok(srm_import(db, _write(tmp_path / "h.csv", HEADER)))["transactions"] == 0
    # A Subscription report without a status column imports its customers, and says so.
    sub = _write(
        tmp_path / "s.csv",
        b"Subscription ID,Customer ID,Offer ID,,Country\n"
        b"700001,900001,S123456789_PL,anna@example.com,PL\n",
    )
    result = srm_import(db, sub)
    out = ok(result)
    assert out["customers"] == 1 and out["subscriptions"] == 0
    assert "no 'Subscription status' column" in result.stderr
    assert query(db, "SELECT email, country FROM customers") == [("anna@example.com", "PL")]


def test_times_in_a_named_zone(tmp_path):
    db = tmp_path / "c.db"
    summer = HEADER + b"T100000002,2026-07-01 10:00:00,900001,S123456789_PL,6.99,PLN\n"
    out = ok(srm_import(db, _write(tmp_path / "z.csv", summer), "--tz", "Europe/Paris"))
    assert out["transactions"] == 1
    assert (
        raws(db, "transactions")["T100000002"]["transactionDate"]
        == cet("2026-07-01T10:00:00") - 3600
    )  # CEST: UTC+2
    bad = srm_import(db, _write(tmp_path / "y.csv", HEADER), "--tz", "Mars/Base")
    assert bad.returncode == 2 and "--tz: not a time zone: 'Mars/Base'" in bad.stderr


TXN_FIELDS = (
    "transactionId",
    "customerId",
    "transactionDate",
    "offerId",
    "subscriptionId",
    "passId",
    "amount",
    "currency",
    "status",
    "paymentGateway",
    "paymentMethod",
    "externalPaymentId",
    "rejectedReason",
    "refundedAmount",
)
SUB_FIELDS = (
    "customerId",
    "offerId",
    "status",
    "dateFrom",
    "dateTo",
    "inTrial",
    "period",
    "nextPaymentPrice",
    "nextPaymentCurrency",
    "paymentGateway",
    "paymentMethod",
    "couponCode",
)


def test_the_sandbox_reports_import_to_what_the_sandbox_holds(tmp_path):
    import httpx
    from helpers import SandboxProcess

    sandbox = SandboxProcess("--customers", "150", "--as-of", "2026-11-01T00:00:00Z")
    try:
        files = {}
        for report in ("transactions", "subscriptions", "passes"):
            for formatted in ("1", "0"):
                answer = httpx.get(
                    f"{sandbox.root}/sandbox/churniq/{report}.csv",
                    params={"formatted": formatted},
                    timeout=60,
                )
                assert answer.status_code == 200
                files[report, formatted] = _write(
                    tmp_path / f"{report}-{formatted}.csv", answer.content
                )
        export = sandbox.export()
    finally:
        sandbox.stop()
    dbs = {}
    for formatted in ("1", "0"):
        dbs[formatted] = db = tmp_path / f"cache-{formatted}.db"
        out = ok(
            srm_import(
                db, *(files[r, formatted] for r in ("transactions", "subscriptions", "passes"))
            )
        )
        assert out["quarantined"] == 0
        cached = raws(db, "transactions")
        assert len(cached) == len(export["transactions"]) > 100
        for t in export["transactions"]:
            mine = cached[t["transactionId"]]
            assert {f: mine.get(f) for f in TXN_FIELDS} == {f: t.get(f) for f in TXN_FIELDS}
        subs = raws(db, "subscriptions")
        assert len(subs) == len(export["subscriptions"])
        for s in export["subscriptions"]:
            mine = subs[str(s["subscriptionId"])]
            assert {f: mine.get(f) for f in SUB_FIELDS} == {f: s.get(f) for f in SUB_FIELDS}
            assert mine["renewalCycle"]["completed"] == s["renewalCycle"]["completed"]
        passes = raws(db, "passes")
        assert len(passes) == len(export["passes"])
        for p in export["passes"]:
            mine = passes[str(p["passId"])]
            status = "terminated" if p["status"] == "stopped" else p["status"]  # the report's two
            assert (mine["customerId"], mine["offerId"], mine["status"], mine["expiresAt"]) == (
                p["customerId"],
                p["offerId"],
                status,
                p["expiresAt"],
            )
        customers = raws(db, "customers")
        for c in export["customers"]:
            if str(c["id"]) in customers:
                mine = customers[str(c["id"])]
                assert (mine.get("email"), mine.get("firstName"), mine.get("country")) == (
                    c["email"],
                    c["firstName"],
                    c["country"],
                )
    # Both header vocabularies give the same records.
    for table in ("transactions", "subscriptions", "passes", "customers"):
        a, b = raws(dbs["1"], table), raws(dbs["0"], table)
        assert {k: {**r, "churniq": None} for k, r in a.items()} == {
            k: {**r, "churniq": None} for k, r in b.items()
        }, table


def test_progress_is_drawn_only_on_a_terminal(tmp_path):
    import os
    import pty
    import subprocess
    import sys

    path = _write(tmp_path / "p.csv", HEADER + ROW)
    quiet = srm_import(tmp_path / "a.db", path)
    assert ok(quiet)["transactions"] == 1 and quiet.stderr == ""  # not a terminal: no bar
    master, slave = pty.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "srm_tui", "import", path, "--json"],
            stdout=subprocess.PIPE,
            stderr=slave,
            timeout=120,
            env={**os.environ, "SRM_DB": str(tmp_path / "b.db")},
        )
        os.close(slave)
        drawn = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(master)
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["transactions"] == 1  # stdout stays pure JSON
    # rich's bar on stderr: the label, the bar itself, and the rows done of the rows found
    assert b"import " in drawn and "━".encode() in drawn and b"2/2" in drawn


def test_id_lists_with_windows_line_ends_and_known_emails(tmp_path):
    db = tmp_path / "c.db"
    ok(srm_import(db, str(DATA / "transactions.csv")))
    ids = _write(
        tmp_path / "ids.txt",
        b"\xef\xbb\xbf# escalations\r\n900002\r\n0\r\n"
        b"  ANNA@example.com  \r\nnew.person@example.com\r\n",
    )
    out = ok(srm_import(db, ids))
    assert out["files"][0]["format"] == "ids"
    assert out["customers"] == 0 and out["pending_emails"] == 2 and out["quarantined"] == 1
    assert query(
        db, "SELECT email, source, customer_id FROM import_pending_emails ORDER BY email"
    ) == [("anna@example.com", f"{ids}:4", 900001), ("new.person@example.com", f"{ids}:5", None)]
    ((reason,),) = query(db, "SELECT reason FROM quarantine WHERE reason LIKE ?", f"{ids}:%")
    assert reason.startswith(f"{ids}:3: id:")  # a customer id is 1 or more
    assert raws(db, "customers")["900002"]["email"] == "bernd@example.com"  # untouched

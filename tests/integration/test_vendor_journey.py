"""Issue 11's journey against `srm sandbox serve --profile vendor` over loopback.

A new user's way in: the vendor's ChurnIQ report exports through `srm import`, `srm sync`
through the published calls, `srm webhooks serve` taking a signed delivery, then every action
`srm api check` calls available, each through the CLI. At the end the cache equals the
vendor's data for everything the vendor publishes. The second test kills the import and the
sync with SIGKILL at points chosen from a fixed seed (hooks the importer and the sync carry for
this; nothing is timed) and ends with the same cache as a run never interrupted.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from srm_tui.domain.lifecycle import pass_is_active, subscription_state
from srm_tui.storage.payload import decode_raw
from tests.helpers import SRM, SandboxProcess, run_srm, stop_process, wait_for
from tests.integration.test_vendor_sync import PUBLISHED

AS_OF = "2026-11-01T00:00:00Z"
NOW = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())
SEED, CUSTOMERS = "11", "80"
SECRET = "journey-secret-0123456789abcdef"
REPORTS = ("transactions", "subscriptions", "passes")
WEB = ("adyen", "paypal")
# A transaction is known from the ChurnIQ Transactions Report or a transactionCreated
# delivery; the fields of the vendor's record that neither carries (docs/churniq-format.md; the delivery's
# documented keys, cleeng-api.md 4.L) are missing, and every one srm holds is the vendor's.
NOT_IN_REPORT = {"isGift", "offerTitle", "offerType", "paymentOperation", "refundedReason"}
NOT_IN_DELIVERY = NOT_IN_REPORT | {
    "subscriptionId",
    "passId",
    "paymentMethod",
    "rejectedReason",
    "refundedAmount",
}
# Unavailable features that are listings, not actions: `srm fetch --json` names them under
# not_offered (the unavailable actions are run and refused).
LISTINGS = {"emails", "transactions", "payment_details"}


def start_vendor() -> SandboxProcess:
    return SandboxProcess(
        "--profile", "vendor", "--customers", CUSTOMERS, "--seed", SEED, "--as-of", AS_OF
    )


def download_reports(sandbox: SandboxProcess, folder: Path) -> list[str]:
    """The three ChurnIQ exports, as a publisher downloads them from the dashboard."""
    files = []
    for report in REPORTS:
        answer = httpx.get(f"{sandbox.root}/sandbox/churniq/{report}.csv", timeout=60)
        assert answer.status_code == 200, answer.text
        path = folder / f"{report}.csv"
        path.write_bytes(answer.content)
        files.append(str(path))
    return files


def env_for(sandbox: SandboxProcess, db: Path, **extra: str) -> dict[str, str]:
    return {
        "SRM_DB": str(db),
        "SRM_API_URL": sandbox.url,
        "SRM_API_KEY": "sandbox-key",
        "SRM_NOW": AS_OF,
        "SRM_AGENT": "anna",
        **extra,
    }


def ok_json(result: subprocess.CompletedProcess) -> Any:
    assert result.returncode == 0, (result.args, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return json.loads(result.stdout)


def query(db: Path, sql: str, *args: Any) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        return [tuple(r) for r in conn.execute(sql, args)]


def raws(db: Path, table: str) -> list[dict[str, Any]]:
    return [decode_raw(r[0]) for r in query(db, f"SELECT raw FROM {table}")]


# -- the cache against the vendor's data ---------------------------------------------------


def differences(db: Path, export: dict[str, Any], delivered: set[str] = frozenset()) -> list[str]:
    """Cache against `/sandbox/export`: customers, subscriptions and passes on the fields
    the vendor publishes (its answers omit the sandbox's additions), transactions on every
    field their source carries (``delivered``: those that came by webhook), offers and season
    groups whole. Customers: those the exports name (the vendor lists no others)."""
    problems: list[str] = []

    def compare(entity: str, want: dict[str, dict], got: dict[str, dict], same) -> None:
        if want.keys() != got.keys():
            problems.append(
                f"{entity}: missing {sorted(want.keys() - got.keys())[:3]}, "
                f"extra {sorted(got.keys() - want.keys())[:3]}"
            )
        for k in sorted(want.keys() & got.keys()):
            differ = same(want[k], got[k])
            if differ:
                problems.append(f"{entity} {k}: {differ}")
                break

    named = {
        r["customerId"] for e in ("subscriptions", "passes", "transactions") for r in export[e]
    }
    for entity, (key, fields) in PUBLISHED.items():
        owner = "id" if entity == "customers" else "customerId"
        want = {str(r[key]): r for r in export[entity] if r[owner] in named}
        got = {str(r[key]): r for r in raws(db, entity)}
        compare(
            entity,
            want,
            got,
            lambda w, g, fields=fields: [
                f for f in fields if (f in w or f in g) and w.get(f) != g.get(f)
            ],
        )
    compare(
        "transactions",
        {r["transactionId"]: r for r in export["transactions"]},
        {r["transactionId"]: r for r in raws(db, "transactions")},
        lambda w, g: sorted(
            f
            for f in w
            if w[f] != g.get(f)
            and (
                f in g
                or f not in (NOT_IN_DELIVERY if g["transactionId"] in delivered else NOT_IN_REPORT)
            )
        ),
    )
    for entity in ("offers", "season_groups"):  # complete listings: whole
        compare(
            entity,
            {str(r["id"]): r for r in export[entity]},
            {str(r["id"]): r for r in raws(db, entity)},
            lambda w, g: sorted(f for f in set(w) | set(g) if w.get(f) != g.get(f)),
        )
    return problems


def open_quarantine(db: Path) -> list[tuple]:
    return query(db, "SELECT entity, record_key, reason FROM quarantine WHERE resolved_at IS NULL")


# -- test 1 ---------------------------------------------------------------------------------


class Receiver:
    """`srm webhooks serve` as a real process on a port it picks (printed on its first line)."""

    def __init__(self, env: dict[str, str]):
        self.proc = subprocess.Popen(
            [*SRM, "webhooks", "serve", "--port", "0"],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        line = self.proc.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:"), self.proc.stderr.read()
        self.url = line.split("listening on ", 1)[1].strip().rstrip("/") + "/hooks"

    def stop(self) -> None:
        stop_process(self.proc)


class Targets:
    """Records picked from the cache, each action on a customer no other action touched."""

    def __init__(self, db: Path):
        self.subscriptions = raws(db, "subscriptions")
        self.passes = raws(db, "passes")
        self.customers = {c["id"]: c for c in raws(db, "customers")}
        self.offers = {o["id"]: o for o in raws(db, "offers")}
        self.used: set[int] = set()

    def take(self, entity: str, test) -> dict[str, Any]:
        for record in getattr(self, entity):
            owner = record["customerId"]
            if owner not in self.used and test(record):
                self.used.add(owner)
                return record
        raise AssertionError(f"the cache holds no {entity} for this action")

    def customer(self, test) -> dict[str, Any]:
        for cid, record in sorted(self.customers.items()):
            if cid not in self.used and test(record):
                self.used.add(cid)
                return record
        raise AssertionError("the cache holds no customer for this action")

    def subs_of(self, cid: int) -> list[dict[str, Any]]:
        return [s for s in self.subscriptions if s["customerId"] == cid]


def web(s: dict[str, Any], *states: str) -> bool:
    return (
        s["paymentGateway"] in WEB
        and not s.get("isExternallyManaged")
        and subscription_state(s["status"], s["inTrial"], s["dateTo"], NOW) in states
    )


def iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_the_whole_journey_against_the_vendor_profile(tmp_path):
    sandbox = start_vendor()
    receiver = None
    try:
        db = tmp_path / "c.db"
        env = env_for(sandbox, db)
        files = download_reports(sandbox, tmp_path)

        # 1. The exports, then the sync through the published calls.
        imported = ok_json(run_srm("import", *files, "--json", env=env))
        assert imported["quarantined"] == 0 and imported["transactions"] > 100
        synced = ok_json(run_srm("sync", "--json", env=env))
        assert synced["profile"] == "vendor" and synced["ok"] and synced["quarantined"] == 0
        assert synced["customers"] == imported["customers"]

        # 2. A delivery: srm's receiver subscribed (signed with its secret), the vendor charges
        # a customer, and the transaction (which no published call lists) reaches the cache.
        hook_env = {**env, "SRM_WEBHOOK_SECRET": SECRET}
        receiver = Receiver(hook_env)
        subscribed = ok_json(run_srm("webhooks", "subscribe", receiver.url, "--json", env=hook_env))
        assert subscribed["topics"]["transactionCreated"] in ("added", "updated", "unchanged")
        targets = Targets(db)
        payer = targets.take("subscriptions", lambda s: web(s, "active"))
        paid = httpx.post(
            f"{sandbox.root}/sandbox/simulate/transaction",
            json={"customerId": payer["customerId"]},
            timeout=30,
        )
        assert paid.status_code == 201, paid.text
        tid = paid.json()["transactionId"]
        assert wait_for(
            lambda: (
                query(
                    db,
                    "SELECT count(*) FROM webhook_events WHERE topic = "
                    "'transactionCreated' AND processed_at IS NOT NULL",
                )[0][0]
                >= 1
                and query(db, "SELECT count(*) FROM transactions WHERE id = ?", tid)[0][0] == 1
            ),
            timeout=90,
            interval=0.2,
        ), query(db, "SELECT * FROM webhook_events")
        assert query(db, "SELECT signature_ok, error FROM webhook_events") == [(1, None)]
        # Deliveries the actions cause would refresh the same customers while each action
        # refreshes them itself; the receiver stops so the cache compared is settled.
        receiver.stop()

        # 3. Every available action, once, through the CLI, on records picked from the cache.
        check = ok_json(run_srm("api", "check", "--json", env=env))
        assert check["profile"] == "vendor"
        available = {n for n, f in check["features"].items() if f["available"]}
        unavailable = set(check["features"]) - available
        done = run_available_actions(sandbox, db, env, targets)
        assert available == done, available ^ done

        # 4. Every unavailable action: exit 1, "not offered by this API", nothing sent.
        writes = httpx.get(f"{sandbox.root}/sandbox/stats", timeout=30).json()
        refused = run_unavailable_actions(db, env, tid)
        assert (
            httpx.get(f"{sandbox.root}/sandbox/stats", timeout=30).json()["writes_applied"]
            == writes["writes_applied"]
        )
        assert unavailable == refused | LISTINGS, unavailable ^ (refused | LISTINGS)

        # 5. The cache is the vendor's data; nothing is left in quarantine.
        problems = differences(db, sandbox.export(), {tid})
        assert problems == [], problems
        assert open_quarantine(db) == []
        assert query(db, "PRAGMA integrity_check") == [("ok",)]
    finally:
        if receiver is not None:
            receiver.stop()
        sandbox.stop()


def applied(result: subprocess.CompletedProcess) -> dict[str, Any]:
    out = ok_json(result)
    assert out["status"] == "applied", out
    return out


def run_available_actions(
    sandbox: SandboxProcess, db: Path, env: dict[str, str], t: Targets
) -> set[str]:
    """Each available feature used once; returns the features used (sync and webhooks were
    used by the journey before)."""

    def customer(*args: str) -> dict[str, Any]:
        return applied(run_srm("customer", *args, "--json", env=env))

    def shown(cid: int) -> dict[str, Any]:
        return ok_json(run_srm("customer", "show", str(cid), "--json", env=env))

    # fetch: one customer again, by email, through published calls.
    someone = t.customer(lambda c: c.get("email") is not None)
    fetched = ok_json(run_srm("fetch", someone["email"], "--json", env=env))
    assert fetched["customer_id"] == someone["id"] and fetched["profile"] == "vendor"
    assert LISTINGS <= set(fetched["not_offered"])

    # edit; the history srm keeps for the vendor is its audit and the changes it saw.
    edited = t.customer(lambda c: c.get("email") is not None)
    customer("edit", str(edited["id"]), "--first-name", "Journeyman")
    assert shown(edited["id"])["customer"]["firstName"] == "Journeyman"
    assert [
        r[0] for r in query(db, "SELECT action FROM audit WHERE customer_id = ?", edited["id"])
    ] == ["edit"]

    # pause an active subscription; resume a paused one; activate a stopped one.
    def pausable(s: dict[str, Any]) -> bool:
        offer = t.offers.get(s["offerId"].split("_")[0]) or {}
        return (
            web(s, "active")
            and s["status"] == "active"
            and ((offer.get("pause") or {}).get("maxBillingCycles") or 0) >= 1
        )

    pause = t.take("subscriptions", pausable)
    customer("pause", str(pause["subscriptionId"]), "--cycles", "1")
    assert ("status", "active", "paused") in query(
        db,
        "SELECT field, before, after FROM observed_changes WHERE record_key = ?",
        str(pause["subscriptionId"]),
    )
    resume = t.take("subscriptions", lambda s: s["status"] == "paused" and web(s, "paused"))
    customer("resume", str(resume["subscriptionId"]))
    activate = t.take("subscriptions", lambda s: web(s, "cancelled"))
    customer("activate", str(activate["subscriptionId"]))

    # cancel one, extend another, apply a coupon to a third.
    cancel = t.take("subscriptions", lambda s: web(s, "active"))
    customer("cancel", str(cancel["subscriptionId"]), "--reason", "Too expensive")
    extend = t.take("subscriptions", lambda s: web(s, "active"))
    customer("extend", str(extend["subscriptionId"]), "--until", iso(extend["dateTo"] + 40 * 86400))
    campaign = next(
        c
        for c in sandbox.export()["campaigns"]
        if c["status"] == "active"
        and c["constraints"]["offerTypes"] == ["S"]
        and not c["constraints"]["offers"]
        and not c["constraints"]["tags"]
    )
    coupon = t.take("subscriptions", lambda s: web(s, "active") and not s["couponCode"])
    customer("coupon-apply", str(coupon["subscriptionId"]), "--code", campaign["couponCodes"][-1])

    # switch one to another subscription offer, priced in its own currency.
    def price(offer_id: str) -> dict[str, Any]:
        offer = t.offers.get(offer_id.split("_")[0]) or {}
        loc = next((x for x in offer.get("localizations") or [] if x["id"] == offer_id), {})
        return loc.get("price") or {}

    def switch_to(s: dict[str, Any]) -> str | None:
        currency = price(s["offerId"]).get("currency")
        return next(
            (
                loc["id"]
                for o in sorted(t.offers.values(), key=lambda o: o["id"])
                if o["id"].startswith("S") and not s["offerId"].startswith(o["id"])
                for loc in o.get("localizations") or []
                if currency and (loc.get("price") or {}).get("currency") == currency
            ),
            None,
        )

    switched = t.take(
        "subscriptions", lambda s: web(s, "active") and s["status"] == "active" and switch_to(s)
    )
    to_offer = switch_to(switched)
    assert to_offer is not None
    customer("switch", str(switched["subscriptionId"]), "--to", to_offer)

    # terminate a pass; transfer a subscription to another customer the cache knows.
    ended = t.take("passes", lambda p: pass_is_active(p["status"], p["expiresAt"], NOW))
    customer("terminate", str(ended["passId"]), "--type", "userCancel", "--yes")
    moved = t.take("subscriptions", lambda s: web(s, "active"))
    to = t.customer(lambda c: c.get("email") is not None)
    customer("transfer", str(moved["subscriptionId"]), "--to", str(to["id"]))

    # anonymize by the documented flow: live access terminated first, then DELETE.
    def all_web_and_live(c: dict[str, Any]) -> bool:
        subs = t.subs_of(c["id"])
        return (
            c.get("email") is not None
            and any(web(s, "active") for s in subs)
            and all(s["paymentGateway"] in WEB for s in subs)
        )

    gone = t.customer(all_web_and_live)
    customer("anonymize", str(gone["id"]), "--terminate-access", "--yes")

    # notes: srm's own store, add, edit, delete.
    noted = t.customer(lambda c: c.get("email") is not None)
    customer("note", "add", str(noted["id"]), "Asked about the renewal date")
    note = next(
        n for n in shown(noted["id"])["notes"] if n["text"] == "Asked about the renewal date"
    )
    customer("note", "edit", str(note["id"]), "Asked twice about the renewal date")
    customer("note", "delete", str(note["id"]))
    kept = next(n for n in shown(noted["id"])["notes"] if n["id"] == note["id"])
    assert kept["deletedAt"] is not None and kept["keptIn"] == "srm"

    # offers: an offer's title through PATCH /offers/{id}.
    offer_id = min(t.offers)
    patch = db.parent / "offer.json"
    patch.write_text(json.dumps({"title": "Journey Monthly"}))
    updated = run_srm("offers", "update", offer_id, str(patch), "--json", env=env)
    assert updated.returncode == 0, updated.stderr

    # Each landed at the vendor (the cache is compared with it afterwards).
    now = sandbox.export()
    subs = {s["subscriptionId"]: s for s in now["subscriptions"]}
    assert next(o for o in now["offers"] if o["id"] == offer_id)["title"] == "Journey Monthly"
    assert next(c for c in now["customers"] if c["id"] == edited["id"])["firstName"] == "Journeyman"
    assert next(c for c in now["customers"] if c["id"] == gone["id"])["email"] is None
    assert [subs[s["subscriptionId"]]["status"] for s in (pause, resume, activate, cancel)] == [
        "paused",
        "active",
        "active",
        "stopped",
    ]
    assert subs[extend["subscriptionId"]]["dateTo"] == extend["dateTo"] + 40 * 86400
    assert subs[coupon["subscriptionId"]]["couponCode"] == campaign["couponCodes"][-1]
    assert subs[moved["subscriptionId"]]["customerId"] == to["id"]
    assert subs[switched["subscriptionId"]]["offerId"] == to_offer
    assert (
        next(p for p in now["passes"] if p["passId"] == ended["passId"])["status"] == "terminated"
    )

    return {
        "sync",
        "webhooks",
        "fetch",
        "edit",
        "history",
        "pause",
        "resume",
        "activate",
        "cancel",
        "extend",
        "coupon",
        "terminate",
        "transfer",
        "switch",
        "anonymize",
        "notes",
        "offers",
    }


def run_unavailable_actions(db: Path, env: dict[str, str], tid: str) -> set[str]:
    """What the vendor does not offer: each exits 1 saying so; returns the features tried."""
    sub = raws(db, "subscriptions")[0]
    tried = {
        "refund": ["refund", tid, "--reason", "Goodwill", "--yes"],
        "cancel_transaction": ["cancel-transaction", tid, "--yes"],
        "delete_payment_details": [
            "delete-payment-details",
            str(sub.get("paymentDetailsId") or 1),
            "--yes",
        ],
        "resend_email": ["resend", "123456789"],
    }
    before = query(db, "SELECT count(*) FROM outbox")
    for feature, args in tried.items():
        result = run_srm("customer", *args, env=env)
        assert result.returncode == 1, (feature, result.stdout, result.stderr)
        assert "not offered by this API" in result.stderr, (feature, result.stderr)
        assert "Traceback" not in result.stderr
    assert query(db, "SELECT count(*) FROM outbox") == before  # never queued
    return set(tried)


# -- test 2 ---------------------------------------------------------------------------------

BATCH_ROWS = 40
# `srm import` itself, with batches of BATCH_ROWS: the command's batches hold 5,000 rows and
# these exports a few hundred, so it would never stop between two batches of one file.
IMPORT_IN_BATCHES = (
    "import sys\n"
    "from srm_tui.imports import runner\n"
    "runner.Importer.__init__.__kwdefaults__['batch_rows'] = int(sys.argv.pop(1))\n"
    "from srm_tui.entry import main\n"
    "main()\n"
)


def srm_import(db: Path, files: list[str], **extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SRM_DB": str(db), "SRM_NOW": AS_OF, **extra}
    return subprocess.run(
        [sys.executable, "-c", IMPORT_IN_BATCHES, str(BATCH_ROWS), "import", *files, "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


# Run-specific columns: when a run happened, how long it took, what it said about itself.
RUN_COLUMNS = {
    "synced_at",
    "fetched_at",
    "attempted_at",
    "started_at",
    "finished_at",
    "seconds",
    "received_at",
    "seen_at",
}
# Tables that record the runs themselves: a killed run leaves its own row.
RUN_TABLES = {"sync_runs", "sqlite_sequence"}


def tables(db: Path) -> dict[str, list[tuple]]:
    """Every table's rows, in a stable order, without the run-specific columns."""
    out = {}
    with sqlite3.connect(db) as conn:
        names = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
                " ORDER BY name"
            )
        ]
        for name in names:
            if name in RUN_TABLES:
                continue
            columns = [
                r[1] for r in conn.execute(f"PRAGMA table_info({name})") if r[1] not in RUN_COLUMNS
            ]
            if not columns:
                continue
            listed = ", ".join(f'"{c}"' for c in columns)
            rows = conn.execute(f"SELECT {listed} FROM {name}").fetchall()
            if name == "meta":
                rows = [(key, untimed(key, value)) for key, value in rows]
            out[name] = sorted(rows, key=repr)
    return out


def untimed(key: str, value: str) -> Any:
    """A meta value without the instant it was written (the last sync's, the profile's)."""
    if key == "last_sync_at":
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return value
    return (
        {k: v for k, v in parsed.items() if k != "detected_at"}
        if isinstance(parsed, dict)
        else parsed
    )


def test_the_journey_killed_mid_import_and_mid_sync_ends_identical(tmp_path):
    rng = random.Random(11)
    sandbox = start_vendor()
    try:
        files = download_reports(sandbox, tmp_path)
        whole, killed = tmp_path / "whole.db", tmp_path / "killed.db"
        full = ok_json(srm_import(whole, files))
        assert full["quarantined"] == 0
        whole_sync = ok_json(run_srm("sync", "--json", env=env_for(sandbox, whole)))
        assert whole_sync["ok"] and whole_sync["customers"] == full["customers"]

        # The import, killed after a batch chosen from the seed, three times, then finished.
        rows = 0
        for _ in range(3):
            after = rng.randint(1, 4)
            run = srm_import(killed, files, SRM_IMPORT_KILL_AFTER_BATCH=str(after))
            assert run.returncode == -signal.SIGKILL, (run.stdout, run.stderr)
            done = query(killed, "SELECT sum(rows) FROM import_files")[0][0]
            assert done == rows + after * BATCH_ROWS  # whole batches, with their checkpoint
            assert query(killed, "SELECT count(*) FROM import_files WHERE status = 'running'") == [
                (1,)
            ]
            rows = done
        resumed = ok_json(srm_import(killed, files))
        assert "resumed" in {f["status"] for f in resumed["files"]}

        # The sync, killed right after a customer chosen from the seed, three times.
        customers = 0
        for _ in range(3):
            after = rng.randint(1, 20)
            run = run_srm(
                "sync",
                "--json",
                env=env_for(sandbox, killed, SRM_SYNC_KILL_AFTER_CUSTOMERS=str(after)),
            )
            assert run.returncode == -signal.SIGKILL, (run.stdout, run.stderr)
            customers += after
            assert query(
                killed, "SELECT count(*) FROM customer_fetch_state WHERE status = 'ok'"
            ) == [(customers,)]
        last = ok_json(run_srm("sync", "--json", env=env_for(sandbox, killed)))
        assert last["ok"] and last["customers"] == whole_sync["customers"] - customers

        want, got = tables(whole), tables(killed)
        assert want.keys() == got.keys()
        differ = {
            name: (
                sorted(set(want[name]) - set(got[name]), key=repr)[:2],
                sorted(set(got[name]) - set(want[name]), key=repr)[:2],
            )
            for name in want
            if want[name] != got[name]
        }
        assert differ == {}, differ
        assert sum(len(v) for v in want.values()) > 1000
    finally:
        sandbox.stop()

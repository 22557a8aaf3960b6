"""Bulk runs on a seeded cache, without a network: the V9 migration of a V8 cache, the run
frozen at start (definition and members in one transaction), the checks before anything is
written, the member state machine (queued with its outbox entry under a key made of the run
and the member; refused with its rule; pause and cancel between batches), and the report.

Runs that send are proved against the sandbox in tests/integration/test_bulk*.py; here the
notes of the vendor profile (kept in srm's own store) carry a run to its end offline."""

from __future__ import annotations

import csv
import json
import os
import sqlite3

import pytest

from srm_tui.actions.service import ActionService
from srm_tui.api.profile import Feature, NotOffered, profile_for
from srm_tui.bulk import BulkInvalid, BulkService
from srm_tui.config import load_settings
from srm_tui.segments import store as segment_store
from srm_tui.segments.model import All, Condition, Segment
from srm_tui.segments.service import SegmentStore
from srm_tui.storage.cache import Cache, _statements
from srm_tui.storage.files import FileRefused
from srm_tui.storage.schema import MIGRATIONS

NOW = "2026-11-01T00:00:00Z"
BATCH = 50
ACTIVE = Condition("subscription.state", "eq", "active")


@pytest.fixture
def cache(seeded_cache):
    c = Cache(seeded_cache(200, 3))
    segment_store.save(c.conn(), Segment(All(), name="Everyone"), now=0, agent="a")
    segment_store.save(c.conn(), Segment(All((ACTIVE,)), name="Active"), now=0, agent="a")
    yield c
    c.close()


def service(cache: Cache, profile: str | None = "vendor", **settings) -> BulkService:
    # An API URL nothing here calls (the profile is given): runs that send are refused
    # without one.
    values = {
        "db": str(cache.path),
        "now": NOW,
        "agent": "anna",
        "role": "agent",
        "api_url": "http://127.0.0.1:9/3.1",
    } | settings
    s = load_settings(**values)
    known = profile_for(profile) if isinstance(profile, str) else profile
    return BulkService(
        cache, s, ActionService(cache, s), SegmentStore(cache), profile=known, batch=BATCH
    )


def counts(cache: Cache) -> tuple[int, ...]:
    conn = cache.conn()
    return tuple(
        conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        for t in ("bulk_runs", "bulk_members", "outbox", "audit", "notes")
    )


def test_a_v8_cache_migrates_forward_keeping_its_data(tmp_path):
    db = tmp_path / "v8.db"
    raw = sqlite3.connect(db, isolation_level=None)
    for script in MIGRATIONS[:8]:
        for statement in _statements(script):
            raw.execute(statement)
    raw.execute("PRAGMA user_version=8")
    raw.execute(
        "INSERT INTO outbox (idempotency_key, action, target, payload, created_at) "
        "VALUES ('k1', 'extend', 'subscription 1', '{}', 1)"
    )
    raw.close()
    cache = Cache(db)
    try:
        conn = cache.conn()
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        assert [tuple(r) for r in conn.execute("SELECT idempotency_key FROM outbox")] == [("k1",)]
        assert conn.execute("SELECT count(*) FROM bulk_runs").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM bulk_members").fetchone()[0] == 0
    finally:
        cache.close()


def test_a_dry_run_writes_nothing(cache):
    bulk = service(cache)
    before = counts(cache)
    dry = bulk.dry_run("extend", "Everyone", {"days": "30"})
    assert dry.members == 200 and len(dry.sample) == 5
    assert dry.by_rule()  # members without a subscription, terminated ones
    assert {r.rule for r in dry.refused} <= {
        "bulk.no-subscription",
        "extend.terminated",
        "extend.never-shorter",
        "extend.still-ended",
    }
    assert counts(cache) == before


def test_days_that_would_leave_an_access_still_ended_are_refused(cache):
    """Found in a user run: 7 days added to an access that ended a month ago gave a new end
    date still in the past, and the run counted it done."""
    bulk = service(cache)
    now = bulk.settings.now_ts()
    conn = cache.conn()
    ended = conn.execute(
        "SELECT id, date_to FROM subscriptions WHERE date_to < ? - 30 * 86400 "
        "AND status != 'terminated' ORDER BY id LIMIT 1",
        (now,),
    ).fetchone()
    assert ended is not None
    customer = conn.execute(
        "SELECT customer_id FROM subscriptions WHERE id = ?", (ended[0],)
    ).fetchone()[0]
    refused = bulk.member_args("extend", {"days": 7}, customer, ended[0])
    assert refused.rule == "extend.still-ended"
    assert "still past" in refused.reason
    fresh = bulk.member_args("extend", {"days": 60}, customer, ended[0])
    assert fresh == {"access_id": ended[0], "until": fresh["until"]}  # 60 days reach past now


def test_a_run_is_frozen_at_start(cache):
    bulk = service(cache, role="admin")
    run = bulk.start("extend", "Active", {"days": "14"})
    conn = cache.conn()
    frozen = conn.execute(
        "SELECT customer_id, subscription_id, status FROM bulk_members WHERE run_id = ? "
        "ORDER BY seq",
        (run.id,),
    ).fetchall()
    assert run.members == len(frozen) > 0 and {r[2] for r in frozen} == {"waiting"}
    assert all(sid is not None for _, sid, _ in frozen)  # the selector's subscription
    assert run.params == {"days": 14} and run.segment == "Active"
    assert run.definition["where"] == {"all": [ACTIVE_JSON]}
    assert (run.agent, run.role, run.status) == ("anna", "admin", "running")
    # The saved segment changes afterwards: the run keeps its members and definition.
    saved = segment_store.get_saved(conn, "Active")
    segment_store.save(conn, Segment(All(), name="Active"), now=1, agent="b", segment_id=saved.id)
    again = bulk.require(run.id)
    assert again.members == run.members and again.definition == run.definition


ACTIVE_JSON = {"attr": "subscription.state", "op": "eq", "value": "active"}


def test_queueing_writes_each_entry_with_its_member_under_a_run_key(cache):
    bulk = service(cache, profile="sandbox", role="admin")
    run = bulk.start("extend", "Everyone", {"days": "30"})
    assert bulk._queue_batch(run) and bulk._queue_batch(run)
    conn = cache.conn()
    token = conn.execute("SELECT token FROM bulk_runs WHERE id = ?", (run.id,)).fetchone()[0]
    rows = conn.execute(
        "SELECT m.seq, m.status, m.rule, o.idempotency_key, o.payload FROM bulk_members m "
        "LEFT JOIN outbox o ON o.id = m.outbox_id WHERE m.run_id = ? AND m.seq <= ? "
        "ORDER BY m.seq",
        (run.id, 2 * BATCH),
    ).fetchall()
    assert len(rows) == 2 * BATCH
    for seq, status, rule, key, payload in rows:
        if status == "queued":
            assert key == f"bulk-{token}-{seq}"
            assert f"(bulk #{run.id})" in json.loads(payload)["title"]
        else:
            assert status == "refused" and rule and key is None
    waiting = conn.execute(
        "SELECT min(seq) FROM bulk_members WHERE run_id = ? AND status = 'waiting'", (run.id,)
    ).fetchone()[0]
    assert waiting == 2 * BATCH + 1
    audit = conn.execute(
        "SELECT count(*) FROM audit WHERE detail LIKE ?", (f"bulk #{run.id}:%",)
    ).fetchone()[0]
    assert audit == 2 * BATCH  # each member checked names the run in its audit entry


def test_a_failing_batch_queues_none_of_its_members(cache, monkeypatch):
    bulk = service(cache, profile="sandbox", role="admin")
    run = bulk.start("extend", "Everyone", {"days": "30"})
    before = counts(cache)
    calls = []
    real = bulk.plan

    def plan(*args):
        calls.append(args)
        if len(calls) == 20:
            raise OSError("disk full")
        return real(*args)

    monkeypatch.setattr(bulk, "plan", plan)
    with pytest.raises(OSError):
        bulk._queue_batch(run)
    assert counts(cache) == before  # the transaction rolled back whole


def test_a_vendor_note_run_goes_to_its_end_offline(cache):
    bulk = service(cache, role="admin")
    run = bulk.run(bulk.start("note-add", "Everyone", {"text": "outage on 1 Nov"}).id)
    assert run.status == "done" and run.counts["done"] == 200
    conn = cache.conn()
    kept = conn.execute(
        "SELECT count(DISTINCT customer_id) FROM notes WHERE local = 1 AND author = 'anna'"
    ).fetchone()[0]
    assert kept == 200  # one note for every member, in srm's own store
    report = bulk.report(run.id)
    assert {m["status"] for m in report["members"]} == {"done"}
    assert report["run"]["counts"]["done"] == 200


def test_pause_and_cancel_are_honoured_between_batches(cache):
    bulk = service(cache, role="admin")
    run = bulk.start("note-add", "Everyone", {"text": "hello"})
    seen: list[int] = []

    def between(run_id: int) -> None:
        seen.append(run_id)
        if len(seen) == 2:  # after the first batch
            bulk.pause(run_id)

    bulk.between_batches = between
    paused = bulk.run(run.id)
    assert paused.status == "paused" and paused.counts["done"] == BATCH
    assert paused.counts["waiting"] == 200 - BATCH

    seen.clear()
    bulk.between_batches = lambda run_id: (
        seen.append(run_id) or (len(seen) == 2 and bulk.cancel(run_id))
    )
    cancelled = bulk.run(run.id)
    assert cancelled.status == "cancelled"
    assert cancelled.counts["done"] == 2 * BATCH
    assert cancelled.counts["cancelled"] == 200 - 2 * BATCH
    assert bulk.run(run.id).status == "cancelled"  # nothing more to do
    with pytest.raises(BulkInvalid):
        bulk.cancel(run.id)


def test_the_checks_before_anything_is_written(cache):
    bulk = service(cache, profile="sandbox", bulk_limit=100)
    before = counts(cache)
    cases = [
        (lambda: bulk.start("extend", "Everyone", {"days": "-5"}), "days", "1..3650"),
        (lambda: bulk.start("extend", "Everyone", {}), "days", "either"),
        (lambda: bulk.start("extend", "No such", {"days": "5"}), "segment", "no saved"),
        (lambda: bulk.start("coupon-apply", "Everyone", {"code": "NOPE42"}), "code", "NOPE42"),
        (lambda: bulk.start("pause", "Everyone", {"cycles": "0"}), "cycles", "1..12"),
        (lambda: bulk.start("refund", "Everyone", {}), "action", "no bulk action"),
        (lambda: bulk.start("extend", "Everyone", {"days": "5"}), "role", "bulk_limit 100"),
    ]
    for call, field, words in cases:
        with pytest.raises(BulkInvalid) as caught:
            call()
        assert caught.value.field == field and words in caught.value.message
    offline = service(cache, profile="sandbox", role="admin", api_url=None)
    with pytest.raises(BulkInvalid) as caught:
        offline.start("extend", "Everyone", {"days": "5"})
    assert caught.value.field == "api" and "--dry-run works offline" in caught.value.message
    viewer = service(cache, profile="sandbox", role="viewer")
    with pytest.raises(BulkInvalid) as caught:
        viewer.dry_run("extend", "Everyone", {"days": "5"})
    assert caught.value.field == "role"
    admin = service(cache, profile="sandbox", role="owner")
    with pytest.raises(BulkInvalid) as caught:
        admin.start("cancel", "Active", {}, confirm_count=1)
    assert caught.value.field == "reason"  # the action's own required input, asked once
    with pytest.raises(BulkInvalid) as caught:
        admin.start("cancel", "Active", {"reason": "outage"}, confirm_count=1)
    assert caught.value.field == "confirm_count"
    assert counts(cache) == before


def test_an_action_the_api_does_not_offer_is_refused_with_the_vendors_way(cache):
    vendor = profile_for("vendor")
    features = dict(vendor.features)
    features["pause"] = Feature("pause", False, "no pause call", "Pause it in the dashboard.")
    without = type(vendor)("vendor", features)
    bulk = service(cache, profile=without, role="admin")
    before = counts(cache)
    with pytest.raises(NotOffered) as caught:
        bulk.start("pause", "Everyone", {"cycles": "1"})
    assert "not offered by this API" in str(caught.value)
    assert "Pause it in the dashboard." in str(caught.value)
    assert counts(cache) == before


def test_the_report_as_csv_is_private_and_never_replaces_unasked(cache, tmp_path):
    bulk = service(cache, role="admin")
    run = bulk.run(bulk.start("note-add", "Everyone", {"text": "=1+1"}).id)
    path = tmp_path / "report.csv"
    assert bulk.write_csv(run.id, str(path)) == 200
    assert os.stat(path).st_mode & 0o777 == 0o600
    rows = list(csv.DictReader(path.open()))
    assert len(rows) == 200 and rows[0]["status"] == "done"
    with pytest.raises(FileRefused):
        bulk.write_csv(run.id, str(path))
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "elsewhere.csv")
    with pytest.raises(FileRefused):
        bulk.write_csv(run.id, str(link), replace=True)
    assert not (tmp_path / "elsewhere.csv").exists()
    assert bulk.write_csv(run.id, str(path), replace=True) == 200

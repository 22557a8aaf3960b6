"""Scheduled exports: due slots (a missed run caught up once), one run per slot, the files and
what is written beside them, the export record, and the `srm schedules` commands."""

from __future__ import annotations

import csv
import json

import pytest

from srm_tui.segments import schedules as S
from srm_tui.segments import store
from srm_tui.segments.model import All, Condition, Segment, SegmentError
from srm_tui.storage.cache import Cache
from tests.conftest import AS_OF
from tests.helpers import run_srm

NOW = int(AS_OF.timestamp())  # 2026-11-01T00:00:00Z
HOUR, DAY = 3600, 86400
GRACE = Segment(
    where=All((Condition("subscription.state", "in", ("grace", "cancelled")),)),
    name="Dunning list",
    tags=("retention",),
)


@pytest.fixture
def cache(seeded_cache):
    c = Cache(seeded_cache(300, 4))
    store.save(c.conn(), GRACE, now=NOW, agent="anna")
    yield c
    c.close()


def test_times_of_day_run_once_for_the_latest_missed_slot(cache, tmp_path):
    conn = cache.conn()
    out = tmp_path / "out"
    out.mkdir()
    schedule = S.add(
        conn,
        "dunning list",
        fmt="csv",
        columns=["id", "email", "customer.status", "customer.mrr"],
        directory=str(out),
        at="06:00, 18:00",
        now=NOW,
        agent="anna",
    )
    assert S.due_slot(schedule, NOW + 5 * HOUR) is None  # created at midnight, first at 06:00
    # The machine was off for three days: one run, for the latest slot only.
    later = NOW + 3 * DAY + 20 * HOUR
    results = S.run_due(conn, later)
    assert [r.slot for r in results] == [NOW + 3 * DAY + 18 * HOUR]
    written = results[0].written
    assert written is not None and written.path.endswith("dunning-list-20261104T180000Z.csv")
    assert S.run_due(conn, later + HOUR)[0].skipped == "not due"
    assert S.run_due(conn, NOW + 4 * DAY + 6 * HOUR)[0].written is not None
    assert len(list(out.glob("*.csv"))) == 2

    rows = list(csv.DictReader(open(written.path, encoding="utf-8")))
    expected = store.population(store.get_saved(conn, "Dunning list"), later)
    assert (
        len(rows)
        == written.rows
        == conn.execute(expected.count_sql(), expected.params).fetchone()[0]
    )
    assert list(rows[0]) == ["id", "email", "customer.status", "customer.mrr"]
    assert {r["customer.status"] for r in rows} <= {"active", "paused", "churned"}
    about = json.loads(open(written.sidecar, encoding="utf-8").read())
    assert about["segment"] == GRACE.to_dict() | {"name": "Dunning list"}
    assert about["cache_synced_at"] == "2026-11-01T00:00:00Z"
    assert about["slot"] == "2026-11-04T18:00:00Z" and about["rows"] == len(rows)
    assert about["segment_version"] == 1 and about["schedule_id"] == schedule.id
    from srm_tui.storage.exports import recorded

    assert written.path in [r.path for r in recorded(conn)]
    assert (out / written.path.split("/")[-1]).stat().st_mode & 0o077 == 0


def test_intervals_time_zones_and_a_claimed_slot(cache, tmp_path):
    conn = cache.conn()
    every = S.add(
        conn,
        "dunning list",
        fmt="json",
        columns=["id"],
        directory=str(tmp_path),
        every="6h",
        now=NOW,
        agent="anna",
    )
    assert S.latest_slot(every, NOW + 5 * HOUR) is None
    assert S.latest_slot(every, NOW + 13 * HOUR) == NOW + 12 * HOUR
    warsaw = S.add(
        conn,
        "dunning list",
        fmt="json",
        columns=["id"],
        directory=str(tmp_path),
        at="07:00",
        tz="Europe/Warsaw",
        now=NOW,
        agent="anna",
    )
    assert S.latest_slot(warsaw, NOW + 8 * HOUR) == NOW + 6 * HOUR  # 07:00 CET = 06:00Z
    slot = S.due_slot(every, NOW + 7 * HOUR)
    first = S.run_one(conn, every, NOW + 7 * HOUR, slot)
    again = S.run_one(conn, every, NOW + 7 * HOUR, slot)  # an overlapping cron run
    assert first.written and again.skipped == "another run has this slot"
    items = json.loads(open(first.written.path, encoding="utf-8").read())
    assert items and set(items[0]) == {"id"}


def test_a_failed_run_gives_its_slot_back(cache, tmp_path):
    conn = cache.conn()
    folder = tmp_path / "gone"
    folder.mkdir()
    schedule = S.add(
        conn,
        "dunning list",
        fmt="csv",
        columns=["id"],
        directory=str(folder),
        every="1h",
        now=NOW,
        agent="anna",
    )
    folder.rmdir()
    failed = S.run_due(conn, NOW + 2 * HOUR)[0]
    assert failed.error and S.get_schedule(conn, schedule.id).last_error
    folder.mkdir()
    retried = S.run_due(conn, NOW + 2 * HOUR)[0]
    assert retried.written and S.get_schedule(conn, schedule.id).last_error is None


def test_bad_schedules_name_each_field(cache, tmp_path):
    with pytest.raises(SegmentError) as bad:
        S.add(
            cache.conn(),
            "dunning list",
            fmt="xml",
            columns=["id", "nope"],
            directory=str(tmp_path / "missing"),
            at="25:00",
            tz="Mars/Base",
            now=NOW,
            agent="a",
        )
    paths = [f.path for f in bad.value.faults]
    assert paths == ["format", "columns[1]", "at", "tz", "dir"]
    with pytest.raises(LookupError):
        S.add(
            cache.conn(),
            "no such",
            fmt="csv",
            columns=["id"],
            directory=str(tmp_path),
            every="1h",
            now=NOW,
            agent="a",
        )


def test_schedule_commands(cache, tmp_path):
    db = str(cache.path)
    env = {"SRM_DB": db, "SRM_NOW": "2026-11-01T00:00:00Z"}
    out = tmp_path / "exports"
    out.mkdir()
    added = run_srm(
        "schedules",
        "add",
        "Dunning list",
        "--format",
        "csv",
        "--dir",
        str(out),
        "--every",
        "1d",
        "--columns",
        "id,email,subscription.state",
        "--json",
        env=env,
    )
    assert added.returncode == 0, added.stderr
    schedule_id = json.loads(added.stdout)["id"]
    bad = run_srm(
        "schedules",
        "add",
        "Dunning list",
        "--format",
        "csv",
        "--dir",
        str(out),
        "--at",
        "9am",
        env=env,
    )
    assert bad.returncode == 2 and bad.stderr.startswith("srm: --at: ") and "'9am'" in bad.stderr
    ran = run_srm("schedules", "run", "--json", env={**env, "SRM_NOW": "2026-11-03T01:00:00Z"})
    assert ran.returncode == 0, ran.stderr
    report = json.loads(ran.stdout)
    assert report[0]["slot"] == "2026-11-03T00:00:00Z" and report[0]["rows"] > 0
    again = run_srm("schedules", "run", "--json", env={**env, "SRM_NOW": "2026-11-03T02:00:00Z"})
    assert json.loads(again.stdout)[0]["skipped"] == "not due"
    listed = json.loads(run_srm("schedules", "list", "--json", env=env).stdout)
    assert listed[0]["last_file"] == report[0]["file"]
    # A --now later than the real clock runs nothing and says why: a last run stored in
    # the future would hold back every real run until then.
    future = run_srm("schedules", "run", "--json", env={**env, "SRM_NOW": "2099-01-01T00:00:00Z"})
    assert future.returncode == 2 and future.stderr.startswith("srm: --now: 2099-01-01")
    assert "runs at the real time only" in future.stderr
    assert (
        json.loads(run_srm("schedules", "list", "--json", env=env).stdout)[0]["last_run_at"]
        == listed[0]["last_run_at"]
    )
    assert run_srm("schedules", "remove", str(schedule_id), env=env).returncode == 0
    assert run_srm("schedules", "remove", str(schedule_id), env=env).returncode == 2


def test_segment_commands_save_list_history_overview(cache, tmp_path):
    env = {"SRM_DB": str(cache.path), "SRM_NOW": "2026-11-01T00:00:00Z"}
    file = tmp_path / "seg.json"
    file.write_text(
        json.dumps(
            {
                "version": 1,
                "name": "Grace DE",
                "where": {
                    "all": [
                        {"attr": "subscription.state", "op": "eq", "value": "grace"},
                        {"attr": "customer.country", "op": "eq", "value": "DE"},
                    ]
                },
            }
        )
    )
    saved = run_srm("segment", "save", str(file), "--json", env=env)
    assert saved.returncode == 0, saved.stderr
    first = json.loads(saved.stdout)
    assert first["version"] == 1 and "+   customer.country = DE" in first["definition"]
    file.write_text(
        json.dumps(
            {
                "version": 1,
                "name": "Grace DE",
                "where": {
                    "all": [
                        {"attr": "subscription.state", "op": "eq", "value": "grace"},
                        {"attr": "customer.country", "op": "gt", "value": "DE"},
                    ]
                },
            }
        )
    )
    bad = run_srm("segment", "save", str(file), env=env)
    assert bad.returncode == 2 and "where.all[1].op" in bad.stderr
    listed = json.loads(run_srm("segment", "list", "--json", env=env).stdout)
    assert [(s["name"], s["version"]) for s in listed] == [("Dunning list", 1), ("Grace DE", 1)]
    history = json.loads(run_srm("segment", "history", "grace de", "--json", env=env).stdout)
    assert history[0]["members"] == first["members"] == history[0]["gained"]
    overview = json.loads(
        run_srm("segment", "overview", "--saved", "Grace DE", "--json", env=env).stdout
    )
    assert overview["customers"] == first["members"]
    assert overview["composition"]["country"] == {"DE": first["members"]}

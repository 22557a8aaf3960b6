"""Files srm writes: never through a link, never over what the user did not ask to replace,
never anything but a regular file, mode 0600, whole or not at all (srm_tui.storage.files).

Every path srm writes is attacked: the export target and its old temporary name, a
schedule's file and its ``.segment.json``, the sandbox's state file, a new cache file. A
symbolic link planted there points at a "victim" file outside the export folder; the victim
must keep its bytes and its mode.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

from srm_tui.segments import schedules as S
from srm_tui.segments import store
from srm_tui.segments.model import from_dict
from srm_tui.storage.cache import Cache
from srm_tui.storage.files import FileRefused, write_text
from tests.conftest import AS_OF
from tests.helpers import run_srm

NOW = int(AS_OF.timestamp())
SEGMENT = {
    "version": 1,
    "name": "Grace",
    "where": {"all": [{"attr": "subscription.state", "op": "in", "value": ["grace", "cancelled"]}]},
}
PASSWD = "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"


@pytest.fixture(scope="module")
def seeded(seeded_cache) -> Path:
    return seeded_cache(120, 4)


@pytest.fixture
def world(seeded, tmp_path):
    db = tmp_path / "c.db"
    shutil.copy(seeded, db)
    seg = tmp_path / "seg.json"
    seg.write_text(json.dumps(SEGMENT))
    out = tmp_path / "out"
    out.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "passwd"
    victim.write_text(PASSWD)
    victim.chmod(0o644)
    env = {"SRM_DB": str(db), "SRM_NOW": "2026-11-01T00:00:00Z"}
    return {"db": db, "seg": seg, "out": out, "victim": victim, "env": env}


def untouched(victim: Path) -> bool:
    return victim.read_text() == PASSWD and stat.S_IMODE(victim.stat().st_mode) == 0o644


def export(world, out: str, *extra: str):
    return run_srm(
        "segment",
        "export",
        str(world["seg"]),
        "--format",
        "csv",
        "--out",
        out,
        *extra,
        env=world["env"],
    )


def test_an_existing_file_is_replaced_only_with_force(world):
    copy = world["out"] / "passwd"
    copy.write_text(PASSWD)
    copy.chmod(0o644)
    refused = export(world, str(copy))
    assert refused.returncode == 2, refused.stderr
    assert refused.stderr.startswith("srm: --out: ") and "--force" in refused.stderr
    assert untouched(copy)
    forced = export(world, str(copy), "--force")
    assert forced.returncode == 0, forced.stderr
    assert copy.read_text().startswith("id,email,")
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600  # customer data
    assert sorted(p.name for p in world["out"].iterdir()) == ["passwd"]  # no temporary left


@pytest.mark.parametrize("kind", ["device", "fifo", "folder"])
def test_what_is_not_a_regular_file_is_refused_even_with_force(world, kind):
    if kind == "device":
        target = Path("/dev/full")
    elif kind == "fifo":
        target = world["out"] / "pipe"
        os.mkfifo(target)
    else:
        target = world["out"] / "folder"
        target.mkdir()
    before = os.lstat(target)
    for extra in ((), ("--force",)):
        done = export(world, str(target), *extra)
        assert done.returncode == 2, done.stderr
        assert "not a regular file" in done.stderr
    after = os.lstat(target)
    assert (after.st_mode, after.st_ino, after.st_rdev) == (
        before.st_mode,
        before.st_ino,
        before.st_rdev,
    )


def test_links_at_the_target_and_at_every_temporary_name_are_never_followed(world):
    out, victim = world["out"], world["victim"]
    target = out / "members.csv"
    # The old fixed temporary name, and a link at the target itself.
    (out / ".members.csv.partial").symlink_to(victim)
    target.symlink_to(victim)
    for extra in ((), ("--force",)):
        done = export(world, str(target), *extra)
        assert done.returncode == 2 and "symbolic link" in done.stderr, done.stderr
    assert untouched(victim) and target.is_symlink()
    # With the target free, the export works beside the planted temporary link.
    target.unlink()
    done = export(world, str(target))
    assert done.returncode == 0, done.stderr
    assert untouched(victim) and (out / ".members.csv.partial").is_symlink()
    assert not target.is_symlink() and target.read_text().startswith("id,email,")
    # A dangling link is not followed either (it would create a file where it points).
    dangling = out / "new.csv"
    dangling.symlink_to(out.parent / "outside" / "created-through-link.csv")
    assert export(world, str(dangling), "--force").returncode == 2
    assert not (out.parent / "outside" / "created-through-link.csv").exists()


def test_a_missing_folder_is_refused_not_created(world, tmp_path):
    done = export(world, str(tmp_path / "nope" / "deeper" / "x.csv"))
    assert done.returncode == 2 and "does not exist" in done.stderr, done.stderr
    assert not (tmp_path / "nope").exists()


@pytest.fixture
def scheduled(world):
    cache = Cache(world["db"])
    conn = cache.conn()
    store.save(conn, from_dict(SEGMENT), now=NOW, agent="anna")
    schedule = S.add(
        conn,
        "grace",
        fmt="csv",
        columns=["id", "email"],
        directory=str(world["out"]),
        every="1h",
        now=NOW,
        agent="anna",
    )
    yield conn, schedule
    cache.close()


def test_a_schedule_replaces_its_own_file_and_never_a_foreign_one(world, scheduled):
    conn, schedule = scheduled
    first = S.run_due(conn, NOW + 2 * 3600)[0]
    assert first.written, first.error
    about = json.loads(Path(first.written.sidecar).read_text())
    assert about["owner"]["schedule_id"] == schedule.id and about["sha256"]
    # The run's record was lost (killed after writing): the re-run may replace its own file.
    conn.execute("UPDATE segment_schedules SET last_slot = NULL WHERE id = ?", (schedule.id,))
    again = S.run_due(conn, NOW + 2 * 3600)[0]
    assert again.written and again.written.path == first.written.path, again.error
    # Someone changed the file since: it is no longer the schedule's to replace.
    data = Path(first.written.path)
    data.write_text("edited by hand\n")
    conn.execute("UPDATE segment_schedules SET last_slot = NULL WHERE id = ?", (schedule.id,))
    refused = S.run_due(conn, NOW + 2 * 3600)[0]
    assert refused.written is None and "--force" in refused.error
    assert data.read_text() == "edited by hand\n"
    # Another schedule's file at the same name is foreign too.
    other = S.add(
        conn,
        "grace",
        fmt="csv",
        columns=["id"],
        directory=str(world["out"]),
        every="1h",
        now=NOW,
        agent="anna",
    )
    data.write_text(PASSWD)
    foreign = S.run_one(conn, other, NOW + 2 * 3600, NOW + 2 * 3600)
    assert foreign.written is None and foreign.error
    assert data.read_text() == PASSWD


def test_a_schedule_never_writes_through_a_link(world, scheduled):
    conn, schedule = scheduled
    slot = NOW + 2 * 3600
    name = S.file_name("Grace", slot, "csv")
    (world["out"] / name).symlink_to(world["victim"])
    result = S.run_due(conn, slot)[0]
    assert result.written is None and "symbolic link" in result.error
    (world["out"] / name).unlink()
    (world["out"] / f"{name}.segment.json").symlink_to(world["victim"])
    (world["out"] / f".{name}.partial").symlink_to(world["victim"])
    conn.execute("UPDATE segment_schedules SET last_slot = NULL WHERE id = ?", (schedule.id,))
    result = S.run_due(conn, slot)[0]
    assert result.written is None and "symbolic link" in result.error
    assert not (world["out"] / name).exists()  # refused before writing: no half pair
    assert untouched(world["victim"])


def test_the_sandbox_state_file_is_never_written_through_a_link(world, tmp_path):
    state = tmp_path / "state.json"
    state.symlink_to(world["victim"])
    done = run_srm("sandbox", "seed-db", "--customers", "1", "--db", str(tmp_path / "s.db"))
    assert done.returncode == 0, done.stderr
    from srm_tui.sandbox.state import SandboxState

    with pytest.raises(FileRefused):
        SandboxState.generate(3, 1, AS_OF).save(state)
    assert untouched(world["victim"])
    own = tmp_path / "own.json"
    SandboxState.generate(3, 1, AS_OF).save(own)
    SandboxState.generate(3, 1, AS_OF).save(own)  # its own state file: replaced
    assert stat.S_IMODE(own.stat().st_mode) == 0o600


def test_a_new_cache_is_never_created_through_a_link(world, tmp_path):
    link = tmp_path / "new.db"
    target = tmp_path / "outside" / "made-by-link.db"
    link.symlink_to(target)
    done = run_srm(
        "sync", "--db", str(link), "--api-url", "http://127.0.0.1:9/3.1", "--api-key", "k"
    )
    assert done.returncode != 0
    assert not target.exists()


def test_the_helper_refuses_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "a.txt"
    write_text(target, "one")
    with pytest.raises(FileRefused):
        write_text(target, "two")
    write_text(target, "two", replace=True)
    assert target.read_text() == "two"

    def boom(handle):
        handle.write("half")
        raise RuntimeError("disk on fire")

    from srm_tui.storage.files import write_file

    with pytest.raises(RuntimeError):
        write_file(tmp_path / "b.txt", boom)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]

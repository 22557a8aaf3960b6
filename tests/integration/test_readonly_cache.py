"""Offline review of a cache srm cannot write (issue 13): before, "is not an srm cache: unable
to open database file". Now it opens read only (SQLite ``mode=ro``, or ``immutable=1`` when
even the WAL's shared-memory file cannot be made), everything reads, and actions are refused
with one clear line (exit 1) that says why; nothing is written.

Tests run as root, where file modes do not bind. Two real read-only situations are made:
- a read-only bind mount, in a private mount namespace (``unshare -m``), so nothing leaks;
- a 0444 file in a 0555 folder read by another user (``setpriv`` to nobody), where the
  modes do bind.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from srm_tui.storage.cache import Cache

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def seeded(seeded_cache) -> Path:
    return seeded_cache(40, 3)


def _script(db: str) -> str:
    """Shell lines run where the cache is read only: each prints its exit status."""
    srm = f"{sys.executable} -m srm_tui --db {db} --now 2026-11-01T00:00:00Z"
    return "; ".join(
        [
            f"{srm} search a --json > $OUT/search.json; echo search=$? >> $OUT/rc",
            f"{srm} customer show $(cat $OUT/id) --json > $OUT/show.json; echo show=$? >> $OUT/rc",
            f"{srm} customer note add $(cat $OUT/id) 'hello' 2> $OUT/note.err; "
            "echo note=$? >> $OUT/rc",
            f"{srm} outbox list --json > $OUT/outbox.json; echo outbox=$? >> $OUT/rc",
        ]
    )


def _first_id(db: Path) -> int:
    cache = Cache(db)
    try:
        return cache.conn().execute("SELECT min(id) FROM customers").fetchone()[0]
    finally:
        cache.close()


def _check(out: Path, db_bytes: bytes, db: Path) -> None:
    codes = dict(line.split("=") for line in (out / "rc").read_text().split())
    assert codes["search"] == "0" and codes["show"] == "0" and codes["outbox"] == "0", codes
    assert json.loads((out / "search.json").read_text())
    assert json.loads((out / "show.json").read_text())["customer"]["id"] == int(
        (out / "id").read_text()
    )
    assert json.loads((out / "outbox.json").read_text()) == []
    err = (out / "note.err").read_text()
    assert codes["note"] == "1", err
    assert err.count("\n") == 1 and "read only" in err and "Traceback" not in err, err
    assert db.read_bytes() == db_bytes  # nothing written


def _env(work: Path) -> dict[str, str]:
    return {
        **os.environ,
        "OUT": str(work / "out"),
        "PYTHONPATH": str(ROOT),
        "SRM_DATA_DIR": str(work / "data"),
        "SRM_CONFIG_DIR": str(work / "config"),
    }


def test_a_cache_on_a_read_only_mount_reads_and_refuses_actions(seeded, tmp_path):
    if not shutil.which("unshare") or not shutil.which("mount"):
        pytest.skip("unshare/mount not available")
    src, mnt, out = tmp_path / "src", tmp_path / "mnt", tmp_path / "out"
    for d in (src, mnt, out):
        d.mkdir()
    shutil.copy(seeded, src / "c.db")
    (out / "id").write_text(str(_first_id(src / "c.db")))
    probe = subprocess.run(
        ["unshare", "-m", "sh", "-c", f"mount --bind -o ro {src} {mnt} && ! touch {mnt}/x"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        pytest.skip(f"cannot make a read-only bind mount here: {probe.stderr.strip()}")
    before = (src / "c.db").read_bytes()
    done = subprocess.run(
        [
            "unshare",
            "-m",
            "sh",
            "-c",
            f"mount --bind -o ro {src} {mnt} && {_script(str(mnt / 'c.db'))}",
        ],
        capture_output=True,
        text=True,
        env=_env(tmp_path),
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    _check(out, before, src / "c.db")
    assert sorted(p.name for p in src.iterdir()) == ["c.db"]  # no -wal, no -shm


def test_a_cache_without_write_permission_reads_and_refuses_actions(seeded):
    if not shutil.which("setpriv"):
        pytest.skip("setpriv not available")
    work = Path(tempfile.mkdtemp(prefix="srm-ro-"))  # pytest's tmp dirs are root-only
    try:
        work.chmod(0o755)
        folder, out = work / "ro", work / "out"
        folder.mkdir()
        out.mkdir()
        shutil.copy(seeded, folder / "c.db")
        (out / "id").write_text(str(_first_id(folder / "c.db")))
        (folder / "c.db").chmod(0o444)
        folder.chmod(0o555)
        out.chmod(0o777)
        for d in ("data", "config"):
            (work / d).mkdir(mode=0o777)
            (work / d).chmod(0o777)
        before = (folder / "c.db").read_bytes()
        # One command at a time, each exec'd by setpriv itself (a shell as nobody could not
        # reach the interpreter); the same checks as the mount case.
        db, cid = str(folder / "c.db"), (out / "id").read_text()
        srm = [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            sys.executable,
            "-m",
            "srm_tui",
            "--db",
            db,
            "--now",
            "2026-11-01T00:00:00Z",
        ]
        runs = {
            "search": ["search", "a", "--json"],
            "show": ["customer", "show", cid, "--json"],
            "note": ["customer", "note", "add", cid, "hello"],
            "outbox": ["outbox", "list", "--json"],
        }
        codes = []
        for name, args in runs.items():
            done = subprocess.run(
                [*srm, *args], capture_output=True, text=True, env=_env(work), timeout=300
            )
            codes.append(f"{name}={done.returncode}")
            if name == "note":
                (out / "note.err").write_text(done.stderr)
            else:
                (out / f"{name}.json").write_text(done.stdout)
        (out / "rc").write_text("\n".join(codes) + "\n")
        _check(out, before, folder / "c.db")
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(work)], check=False)
        shutil.rmtree(work, ignore_errors=True)

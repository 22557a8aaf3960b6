"""`srm sync` draws its progress bar (rich) on stderr only when stderr is a terminal; stdout
keeps the command's output, so `--json` stays one JSON document either way (CONTRACT 3)."""

from __future__ import annotations

import json
import os
import pty
import subprocess

from tests.helpers import SRM, run_srm

AS_OF = "2026-11-01T00:00:00Z"


def _sync_on_a_terminal(env: dict[str, str]) -> tuple[subprocess.CompletedProcess, bytes]:
    master, slave = pty.openpty()
    try:
        proc = subprocess.run(
            [*SRM, "sync", "--json"],
            stdout=subprocess.PIPE,
            stderr=slave,
            timeout=300,
            env={**os.environ, **env},
        )
        os.close(slave)
        drawn = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the terminal's other end is closed: all of it was read
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        os.close(master)
    return proc, drawn


def test_sync_draws_a_bar_on_a_terminal_and_keeps_json_clean(sandbox_process, tmp_path):
    sandbox = sandbox_process("--customers", "40", "--seed", "3", "--as-of", AS_OF)
    env = {"SRM_API_URL": sandbox.url, "SRM_API_KEY": "sandbox-key", "SRM_NOW": AS_OF}
    piped = run_srm("sync", "--json", env={**env, "SRM_DB": str(tmp_path / "a.db")})
    assert piped.returncode == 0, piped.stderr
    summary = json.loads(piped.stdout)
    assert summary["customers"] == 40
    assert "━" not in piped.stderr and piped.stderr == ""  # not a terminal: no bar

    proc, drawn = _sync_on_a_terminal({**env, "SRM_DB": str(tmp_path / "b.db")})
    assert proc.returncode == 0, drawn
    again = json.loads(proc.stdout)  # stdout is the same one JSON document
    assert again.keys() == summary.keys() and again["customers"] == 40
    assert b"sync " in drawn and "━".encode() in drawn
    # the bar says what it is counting (an entity the summary counts) and how fast
    entities = [k for k in summary if k not in ("quarantined", "seconds")]
    assert any(f" {k}".encode() in drawn for k in entities), entities
    assert b"/s " in drawn

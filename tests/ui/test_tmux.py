"""The console in a real terminal (tmux): hostile customer text reaches the screen as text.

A first name of `[bold red]x[/]` must not turn red or lose its brackets, and an ESC byte in a
name must show as `\\x1b`, not move the cursor or recolour the terminal. Pilot tests check
widgets; this one checks what a terminal shows after the real `srm` process drew it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid

import pytest

from srm_tui.domain import models as m
from srm_tui.storage import records
from srm_tui.storage.cache import Cache
from tests.helpers import SRM

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")

HOSTILE = [
    {
        "id": 900000001,
        "email": "markup@example.com",
        "firstName": "[bold red]x[/]",
        "lastName": "Markup",
        "regDate": "2025-01-01 10:00:00",
    },
    {
        "id": 900000002,
        "email": "escape@example.com",
        "firstName": "Esc\x1b[31mRed",
        "lastName": "Bytes\x07",
        "regDate": "2025-01-02 10:00:00",
    },
    {
        "id": 900000003,
        "email": "plain@example.com",
        "firstName": "Plain",
        "lastName": "Person",
        "regDate": "2025-01-03 10:00:00",
    },
]


def _terminal_env() -> dict[str, str]:
    """tmux hands the calling process's environment to the session; the test runner exports
    COLUMNS=80 and LINES=24, which Textual would take over the real window size."""
    return {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}


def _capture(session: str) -> str:
    return subprocess.run(
        ["tmux", "capture-pane", "-p", "-e", "-t", session],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def _wait_for(session: str, needle: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    screen = ""
    while time.monotonic() < deadline:
        screen = _capture(session)
        if needle in screen:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{needle!r} never appeared; the screen was:\n{screen}")


def _plain(screen: str) -> str:
    """The pane without tmux's own colour codes (-e adds them for the cells it paints)."""
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", screen)


def test_hostile_names_show_literally_in_the_list_and_search(tmp_path):
    db = tmp_path / "hostile.db"
    cache = Cache(db)
    with cache.transaction() as tx:
        records.upsert(tx, "customers", [m.Customer.model_validate(c) for c in HOSTILE], 0)
    cache.close()
    session = f"srm-test-{uuid.uuid4().hex[:8]}"
    command = " ".join([*SRM, "--db", str(db), "--now", "2025-02-01T00:00:00Z"])
    env = {"NO_COLOR": "1"}
    subprocess.run(
        [
            "tmux",
            "new-session",
            "-d",
            "-s",
            session,
            "-x",
            "120",
            "-y",
            "40",
            "-e",
            f"SRM_CONFIG_DIR={tmp_path / 'cfg'}",
            "-e",
            f"SRM_DATA_DIR={tmp_path}",
            *[f"-e{k}={v}" for k, v in env.items()],
            command,
        ],
        check=True,
        env=_terminal_env(),
    )
    # A tmux server that already has clients may ignore -x/-y: size the window explicitly.
    subprocess.run(
        ["tmux", "resize-window", "-t", session, "-x", "120", "-y", "40"], capture_output=True
    )
    try:
        screen = _plain(_wait_for(session, "Person"))
        assert "[bold red]x[/]" in screen
        assert "Esc\\x1b[31mRed" in screen and "Bytes\\x07" in screen
        # No byte of the names reached the terminal raw: tmux shows no red cell anywhere.
        assert "\x1b[31m" not in _capture(session)
        # "/" and the query in one write, as a fast typist or a paste sends them.
        subprocess.run(["tmux", "send-keys", "-t", session, "/", "markup"], check=True)
        screen = _plain(_wait_for(session, "1 found"))
        assert "[bold red]x[/]" in screen and "Plain" not in screen
        subprocess.run(["tmux", "send-keys", "-t", session, "Escape"], check=True)
        _wait_for(session, "3 cached")  # ESC then "/" at once would read as alt+/
        subprocess.run(["tmux", "send-keys", "-t", session, "/", "bytes"], check=True)
        screen = _plain(_wait_for(session, "search 'bytes' · 1 found"))
        assert "Esc\\x1b[31mRed" in screen
        assert "Plain" not in screen
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)

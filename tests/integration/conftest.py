"""Fixtures the integration tests share (real processes over loopback, the CLI): `srm sandbox
serve` as a child process, started per test module; the vendor-profile sandbox of a module's
own ``state``; a fresh team store made by `srm team init`."""

from __future__ import annotations

import pytest

from srm_tui.sandbox.runner import start_sandbox
from tests.helpers import SandboxProcess, run_srm


@pytest.fixture(scope="module")
def sandbox_process():
    """``sandbox_process(*args, env=None)``: a running `srm sandbox serve ARGS` (a
    ``SandboxProcess``: ``.url``, ``.root``, ``.export()``), stopped when the module ends."""
    started: list[SandboxProcess] = []

    def start(*args: str, env: dict[str, str] | None = None) -> SandboxProcess:
        started.append(SandboxProcess(*args, env=env))
        return started[-1]

    yield start
    for process in started:
        process.stop()


@pytest.fixture(scope="module")
def vendor(state):
    """The sandbox in the vendor's profile (published calls only) over loopback, serving the
    requesting module's ``state`` fixture (a SandboxState), stopped when the module ends."""
    running = start_sandbox(state, profile="vendor")
    yield running
    running.stop()


@pytest.fixture
def team_url(pg_url):
    """A fresh team store made by `srm team init` (no data yet)."""
    made = run_srm("team", "init", pg_url)
    assert made.returncode == 0, made.stderr
    return pg_url

"""Fixtures the integration tests share (real processes over loopback, the CLI): `srm sandbox
serve` as a child process, started per test module."""

from __future__ import annotations

import pytest

from tests.helpers import SandboxProcess


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

"""Shared fixtures: a real sandbox over loopback HTTP and fresh caches."""

from __future__ import annotations

import os
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, settings

# Property tests are reproducible: the same examples on every run and machine (derandomized,
# no example database), no time limit per example, so nothing depends on speed or luck. A
# failing example found while writing a test is kept as an explicit @example beside it.
settings.register_profile(
    "srm",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=list(HealthCheck),
)
settings.load_profile(os.environ.get("SRM_HYPOTHESIS_PROFILE", "srm"))

AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path, monkeypatch):
    """Keep every test away from the user's real config and data directories."""
    monkeypatch.setenv("SRM_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("SRM_DATA_DIR", str(tmp_path / "data"))
    for var in (
        "SRM_API_URL",
        "SRM_API_KEY",
        "SRM_DB",
        "SRM_ROLE",
        "SRM_NOW",
        "SRM_AGENT",
        "SRM_WEBHOOK_SECRET",
    ):
        monkeypatch.delenv(var, raising=False)
    os.umask(0o022)


@pytest.fixture
def cache(tmp_path):
    from srm_tui.storage.cache import Cache

    c = Cache(tmp_path / "cache.db")
    yield c
    c.close()


@pytest.fixture(scope="module")
def offers_sandbox():
    """A small generated sandbox in a thread (60 customers, seed 9), for the console tests of
    offers and of issue 12's screens: ``(running, state)``."""
    from srm_tui.sandbox.runner import start_in_thread
    from srm_tui.sandbox.server import create_app
    from srm_tui.sandbox.state import SandboxState

    state = SandboxState.generate(60, 9, AS_OF, advance_clock=False)
    running = start_in_thread(create_app(state))
    yield running, state
    running.stop()


@pytest.fixture
def synced(offers_sandbox, tmp_path):
    """A cache synced from ``offers_sandbox``: ``(running, state, db, cache)``."""
    from srm_tui.api.client import ApiClient
    from srm_tui.storage.cache import Cache
    from srm_tui.sync.engine import SyncEngine

    running, state = offers_sandbox
    db = tmp_path / "c.db"
    cache = Cache(db)
    with ApiClient(running.url, "sandbox-key") as client:
        SyncEngine(cache, client).run()
    yield running, state, db, cache
    cache.close()

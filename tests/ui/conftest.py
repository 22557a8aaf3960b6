"""Fixtures the console tests share (pilot, snapshots, tmux): a generated sandbox in a thread
and a cache synced from it."""

from __future__ import annotations

import pytest

from tests.conftest import AS_OF


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

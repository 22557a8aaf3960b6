"""The watch's loop (sync/watch.py) over a cache, with an engine whose API never answers: a
failed sync is said on its cycle and the next one waits the whole period, so a dead API is
not asked again and again. (The real command over a real sandbox: tests/integration/
test_sync_watch.py.)"""

from __future__ import annotations

import time
from types import SimpleNamespace

from srm_tui.api import errors as api_errors
from srm_tui.storage.writer import WriterLock
from srm_tui.sync.watch import Watch


class DeadEngine:
    """A sync engine whose API does not answer (nor tells its profile)."""

    runs = 0

    @property
    def profile(self):
        raise api_errors.Unreachable("cannot reach http://127.0.0.1:9")

    def run(self):
        DeadEngine.runs += 1
        raise api_errors.Unreachable("cannot reach http://127.0.0.1:9")

    def fetch_customer(self, **_):
        raise api_errors.Unreachable("cannot reach http://127.0.0.1:9")


def test_a_failed_sync_waits_its_period_before_the_next(cache, monkeypatch):
    session = SimpleNamespace(
        cache=cache,
        settings=SimpleNamespace(now_ts=lambda: 1_700_000_000),
        sync_engine=lambda client, **kwargs: DeadEngine(),
    )
    cycles, waits = [], []
    watch = Watch(session, None, every=3600, emit=cycles.append)

    def wait(waker, until):
        waits.append(until - time.monotonic())
        if len(waits) == 2:
            watch.stop()

    monkeypatch.setattr(watch, "_wait", wait)
    DeadEngine.runs = 0
    with WriterLock.acquire(cache, "sync"):
        watch.run()
    assert DeadEngine.runs == 1  # asked once in two cycles
    assert all(left > 3000 for left in waits), waits  # each wait runs to the next period
    assert [c.errors for c in cycles] == [["cannot reach http://127.0.0.1:9"]]

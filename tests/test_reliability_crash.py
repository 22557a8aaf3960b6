"""Crash safety: sync, outbox push and the console killed (SIGKILL) at random points.

tools/crash_harness.py does the work (see its docstring for every check); this runs it with
50 kills per target (``SRM_CRASH_KILLS`` changes the count) and wants no problem at all.
"""

from __future__ import annotations

import os

import pytest

from tools.crash_harness import run_all

KILLS = int(os.environ.get("SRM_CRASH_KILLS", "50"))


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return {r.target: r for r in run_all(tmp_path_factory.mktemp("crash"), KILLS)}


@pytest.mark.slow
@pytest.mark.parametrize("target", ["sync", "push", "console"])
def test_killed_at_random_points_nothing_is_lost_or_doubled(results, target):
    result = results[target]
    assert result.problems == [], "\n".join(result.problems[:20])
    assert result.kills == KILLS and result.checks == KILLS
    # Most kills must land while the process works, not after it finished.
    assert result.mid_run >= KILLS // 2, result.as_json()

"""Fixtures every layer shares: isolated directories, a fresh cache, a seeded cache. Each layer's
own conftest (unit/, integration/, ui/) holds what only that layer uses."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

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


@pytest.fixture(scope="session")
def seeded_cache(tmp_path_factory):
    """``seeded_cache(customers, seed)``: the path of a fresh copy of a cache the sandbox's
    generator seeded as of AS_OF, the caller's to write to. Each (customers, seed) is generated
    once per run and copied, so every layer asks for its seeded cache here."""
    import shutil

    from srm_tui.sandbox.seed import seed_cache
    from srm_tui.storage.cache import Cache

    made: dict[tuple[int, int], Path] = {}

    def copy(customers: int, seed: int) -> Path:
        if (customers, seed) not in made:
            template = tmp_path_factory.mktemp(f"seeded-{customers}-{seed}") / "c.db"
            cache = Cache(template)
            seed_cache(cache, customers, seed, AS_OF)
            cache.close()  # the last connection closed: the whole cache is in this one file
            made[customers, seed] = template
        path = tmp_path_factory.mktemp(f"cache-{customers}-{seed}") / "c.db"
        shutil.copy2(made[customers, seed], path)
        return path

    return copy

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


# --- PostgreSQL (issue 15): a real server for the team-store tests --------------------------
# One throwaway cluster per xdist worker (tests/pgcluster.py), started on first use, so a bare
# `python -m pytest` runs these tests too. Without PostgreSQL binaries they skip with the
# reason; .ci/run sets SRM_TEST_REQUIRE_PG=1 so CI fails instead of skipping silently. libpq
# connects over a Unix socket, below the unit layer's socket guard: PG tests live in
# tests/integration.


@pytest.fixture(scope="session")
def pg_cluster(tmp_path_factory):
    """The worker's running PostgreSQL cluster (tests.pgcluster.PgCluster)."""
    from tests.pgcluster import PgCluster, PgUnavailable, find_bindir

    required = os.environ.get("SRM_TEST_REQUIRE_PG") == "1"
    reason = None
    if find_bindir() is None:
        reason = "no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin"
    else:
        try:
            import psycopg  # noqa: F401
        except ImportError:
            reason = "psycopg is not installed (pip install -e '.[test]')"
    if reason is not None:
        if required:
            pytest.fail(f"SRM_TEST_REQUIRE_PG=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    try:
        cluster = PgCluster.start(tmp_path_factory.mktemp("pg"))
    except PgUnavailable as error:
        if required:
            pytest.fail(f"SRM_TEST_REQUIRE_PG=1 but the test cluster did not start: {error}")
        pytest.skip(f"the test PostgreSQL cluster did not start: {error}")
    yield cluster
    cluster.stop()


_pg_databases = iter(range(1, 1_000_000))


@pytest.fixture
def pg_url(pg_cluster):
    """The URL of a fresh, empty database (owner srm_admin) on the worker's cluster, dropped
    (connections ended) after the test."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"t_{worker}_{next(_pg_databases)}"
    url = pg_cluster.create_database(name)
    yield url
    pg_cluster.drop_database(name)

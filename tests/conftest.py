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


# A migrated team store per test, cheaply: `srm team migrate` runs once per (customers, seed)
# into a template database, and each test gets `CREATE DATABASE … TEMPLATE` of it (a file
# copy on the server), dropped after the test. The same data as SQLite is `seeded_cache(
# customers, seed)`, so a test can run one case on both backends.
@pytest.fixture(scope="session")
def _pg_store_templates(pg_cluster, seeded_cache):
    from srm_tui.team.migrate import migrate

    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    made: dict[tuple[int, int], str] = {}

    def template(customers: int, seed: int) -> str:
        if (customers, seed) not in made:
            name = f"tpl_{worker}_{customers}_{seed}"
            pg_cluster.drop_database(name)  # a leftover of an interrupted build
            migrate(seeded_cache(customers, seed), pg_cluster.create_database(name))
            made[customers, seed] = name
        return made[customers, seed]

    yield template
    for name in made.values():
        pg_cluster.drop_database(name)


@pytest.fixture
def pg_store(pg_cluster, _pg_store_templates):
    """``pg_store(customers, seed)``: the URL (as srm_admin, the store's owner) of a fresh
    PostgreSQL database holding ``srm team migrate`` of ``seeded_cache(customers, seed)``:
    srm schema and roles applied, every table copied, search documents made, segment facts
    left dirty for the first sync (as after a real migrate). The test's own copy, dropped
    after it. ``pg_login(url, group)`` gives a login of one of srm's roles on it."""
    from srm_tui.storage.pg.roles import GROUP_ROLES

    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    created: list[str] = []

    def make(customers: int, seed: int) -> str:
        template = _pg_store_templates(customers, seed)
        name = f"t_{worker}_{next(_pg_databases)}"
        pg_cluster.admin_execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}" OWNER srm_admin')
        created.append(name)
        # A database's own grants are not part of the copy: give the srm roles CONNECT again.
        pg_cluster.admin_execute(f'GRANT CONNECT ON DATABASE "{name}" TO {", ".join(GROUP_ROLES)}')
        return pg_cluster.url(name)

    yield make
    for name in created:
        pg_cluster.drop_database(name)


_pg_logins = iter(range(1, 1_000_000))


@pytest.fixture
def pg_login(pg_cluster):
    """``pg_login(url, group)``: ``url`` as a new login role (trusted on the test socket) that
    is a member of ``group`` (srm_viewer, srm_agent, srm_sync; None for no srm role). Roles are
    the cluster's, so each name is new; the throwaway cluster takes them with it."""
    from urllib.parse import quote, urlsplit, urlunsplit

    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")

    def make(url: str, group: str | None) -> str:
        name = f"u_{worker}_{group or 'none'}_{next(_pg_logins)}"
        grant = f" IN ROLE {group}" if group else ""
        pg_cluster.admin_execute(f'CREATE ROLE "{name}" LOGIN{grant}')
        parts = urlsplit(url)
        return urlunsplit(parts._replace(netloc=f"{quote(name)}@{parts.hostname or ''}"))

    return make

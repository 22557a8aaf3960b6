"""What srm checks when it opens the team store for a command or the console (ISSUE15 1(g)):
that the database holds an srm store of the version this srm speaks, and who the login is in
it. A viewer's store is read only (every write transaction refused), and the login's standing
caps the srm role the settings may ask for.

Run on one pooled connection of the store, so opening costs one round trip more than the
pool's first connection, and none when the pool already holds it.
"""

from __future__ import annotations

from psycopg import errors

from srm_tui.storage.cache import CacheError, CacheMissing
from srm_tui.storage.pg import admin, schema
from srm_tui.storage.pg.connection import PgStore


def check_login(store: PgStore) -> str:
    """The login's standing in the store ('owner', 'sync', 'agent', 'viewer'); sets
    ``store.role`` and ``store.read_only`` (a viewer). CacheMissing (exit 2) for a database
    with no srm store; CacheError (one line) for another version's store or a login with no
    srm role. The store stays usable for reads whatever the login's standing."""
    where = store.location
    conn = store._getconn()  # the pool's own connection: nothing else of the store is needed
    try:
        standing = admin.role_of(conn)
        if standing == "none":
            user = conn.execute("SELECT current_user").fetchone()[0]
            raise CacheError(
                f"{where}: the login {user} has no srm role in this store; its owner grants one "
                f"(GRANT srm_agent TO {user}, or srm_viewer to read only)"
            )
        try:
            version = schema.stored_version(conn)
        except errors.InsufficientPrivilege as exc:
            raise CacheError(f"{where}: the store refused to say its version: {exc}") from None
    finally:
        assert store._pool is not None
        store._pool.putconn(conn)
    if version == 0:
        raise CacheMissing(f"{where}: this database has no srm store: run srm team init {where}")
    if version < schema.PG_SCHEMA_VERSION:
        raise CacheError(
            f"{where} holds an older srm store (schema {version}, this srm needs "
            f"{schema.PG_SCHEMA_VERSION}): run srm team init {where} to upgrade (as its owner)"
        )
    if version > schema.PG_SCHEMA_VERSION:
        raise CacheError(
            f"{where} was written by a newer srm (schema {version}, this srm knows "
            f"{schema.PG_SCHEMA_VERSION}); upgrade srm"
        )
    store.role = standing
    store.read_only = standing == "viewer"
    return standing

"""What the runner's worker processes run: a count over one id range of one cache file.

Kept to the standard library: a worker process imports this and little else. SQLite
threads in one process serialize on its global mutexes (measured: two threads take as long
as one doing both halves), so the runner uses processes to put both cores on a count.
"""

from __future__ import annotations

import sqlite3
from typing import Any

_connections: dict[str, sqlite3.Connection] = {}


def _casefold(value: object) -> str | None:
    return None if value is None else str(value).casefold()


def connection(path: str) -> sqlite3.Connection:
    """This process's read connection to a cache file (opened once)."""
    conn = _connections.get(path)
    if conn is None:
        conn = sqlite3.connect(path, timeout=10, isolation_level=None)
        conn.execute("PRAGMA busy_timeout=10000")
        conn.execute("PRAGMA query_only=ON")
        # Scans read the page cache through the mapping instead of a copy per page.
        conn.execute("PRAGMA mmap_size=17179869184")
        conn.execute("PRAGMA cache_size=-65536")
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.create_function("casefold", 1, _casefold, deterministic=True)
        _connections[path] = conn
    return conn


def scalar(path: str, sql: str, params: dict[str, Any]) -> Any:
    return connection(path).execute(sql, params).fetchone()[0]


def ready(path: str) -> bool:
    connection(path)
    return True


_writable: dict[str, sqlite3.Connection] = {}


def aggregate(path: str, sql: str, params: dict[str, Any]) -> list[tuple]:
    """One overview pass over an id range (see segments.overview): it adds into a temporary
    table, so it runs on a connection of its own that may write temporary tables (the cache
    file itself is opened read-only)."""
    from srm_tui.segments.overview import aggregate as run

    conn = _writable.get(path)
    if conn is None:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10, isolation_level=None)
        conn.execute("PRAGMA busy_timeout=10000")
        conn.execute("PRAGMA mmap_size=17179869184")
        conn.execute("PRAGMA cache_size=-65536")
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.create_function("casefold", 1, _casefold, deterministic=True)
        _writable[path] = conn
    return run(conn, sql, params)

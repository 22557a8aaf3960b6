"""The store owner's connection and what `srm team status` reads (ISSUE15 1(g)): a plain
psycopg connection for the schema and roles work, the check of a URL before it is used, and
the reads that say who a login is in the store and what it may see.

Kept apart from roles.py (what the roles are) so each stays short.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import psycopg
from psycopg import errors, sql

from srm_tui.storage.cache import CacheError
from srm_tui.storage.db import redact_url
from srm_tui.storage.pg import schema
from srm_tui.storage.pg.connection import CONNECT_TIMEOUT_S, StoreUnreachable
from srm_tui.storage.pg.roles import GROUP_ROLES, ROLE_NAMES

if TYPE_CHECKING:
    from collections.abc import Iterator


class AdminFailed(CacheError):
    """The server refused the owner's work (a privilege, a conflicting object): one line, the
    URL without its password and the server's reason."""


def _one_line(text: object, url: str) -> str:
    """A server message on one line, never holding the URL's password."""
    from urllib.parse import unquote, urlsplit

    line = redact_url(" ".join(str(text).split()))
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    for secret in {password, unquote(password)} if password else ():
        line = line.replace(secret, "***")
    return line


def url_problem(url: str) -> str | None:
    """Why libpq would not take this postgresql:// URL (a malformed host, an unknown query
    parameter, a port that is no port), said without its password; None when it is good."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        params = conninfo_to_dict(url)
    except psycopg.Error as exc:
        reason = str(exc).split("\n")[0].replace(url, redact_url(url))
        return _one_line(reason, url)
    for port in str(params.get("port") or "").split(","):
        if port and not (port.isascii() and port.isdigit() and 0 < int(port) < 65536):
            return f"port {port[:20]!r} is not a port number"
    return None


@contextlib.contextmanager
def admin_session(url: str, application_name: str = "srm team") -> Iterator[psycopg.Connection]:
    """A plain autocommit connection for the store owner's work (schema, roles, status; each
    apply opens its own transaction). A server that cannot be reached is StoreUnreachable;
    a statement it refuses is AdminFailed; both one line naming the store by its URL without
    password."""

    where = redact_url(url)
    try:
        conn = psycopg.connect(
            url,
            autocommit=True,
            application_name=application_name,
            connect_timeout=CONNECT_TIMEOUT_S,
        )
    except psycopg.Error as exc:
        raise StoreUnreachable(
            f"cannot reach the PostgreSQL store {where}: {_one_line(exc, url)}"
        ) from None
    try:
        yield conn
    except psycopg.errors.InsufficientPrivilege as exc:
        raise AdminFailed(
            f"the PostgreSQL store {where} refused: {_one_line(exc, url)} (srm team init runs "
            "as the database's owner, with the right to create roles)"
        ) from None
    except psycopg.Error as exc:
        if conn.broken:  # the connection itself went (server stopped, network), not a statement
            raise StoreUnreachable(
                f"lost the PostgreSQL store {where}: {_one_line(exc, url)}"
            ) from None
        raise AdminFailed(f"the PostgreSQL store {where}: {_one_line(exc, url)}") from None
    finally:  # after the checks: a closed connection no longer says it broke
        conn.close()


def role_of(conn: psycopg.Connection) -> str:
    """The connected user's standing in the store: 'owner' (superuser, or a member of the
    role that owns srm's own tables), 'sync', 'agent', 'viewer', or 'none'."""
    row = conn.execute(
        "SELECT r.rolsuper OR coalesce(pg_has_role(current_user, c.relowner, 'MEMBER'), false) "
        "FROM pg_roles r LEFT JOIN pg_class c ON c.oid = to_regclass('outbox') "
        "WHERE r.rolname = current_user"
    ).fetchone()
    if row and row[0]:
        return "owner"
    present = roles_present(conn)
    for role, name in ROLE_NAMES.items():
        # pg_has_role fails on a role that does not exist: asked only of those that do.
        if (
            present[role]
            and conn.execute("SELECT pg_has_role(current_user, %s, 'MEMBER')", (role,)).fetchone()[
                0
            ]
        ):
            return name
    return "none"


def roles_present(conn: psycopg.Connection) -> dict[str, bool]:
    """Which of the three group roles exist in the cluster."""
    found = {
        r[0]
        for r in conn.execute(
            "SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", (list(GROUP_ROLES),)
        ).fetchall()
    }
    return {role: role in found for role in GROUP_ROLES}


def count_rows(conn: psycopg.Connection, table: str) -> int | None:
    """An srm table's row count as the connected role sees it; None when it may not read it.
    customers' count comes from row_counts (kept by triggers) when it is there: counting
    millions of rows would be slow."""
    if table not in schema.ALL_TABLES:
        raise ValueError(f"not an srm table: {table!r}")
    try:
        with conn.transaction():  # a savepoint: a refusal leaves the caller's work intact
            if table == "customers":
                row = conn.execute("SELECT n FROM row_counts WHERE name = 'customers'").fetchone()
                if row is not None:
                    return int(row[0])
            query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            return int(conn.execute(query).fetchone()[0])
    except errors.InsufficientPrivilege:
        return None


def readable_version(conn: psycopg.Connection) -> int | None:
    """The store's schema version (``schema.stored_version``), or None when the connected
    role may not read it (a login with no srm role)."""
    try:
        with conn.transaction():
            return schema.stored_version(conn)
    except errors.InsufficientPrivilege:
        return None

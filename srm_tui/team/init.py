"""`srm team init URL` and `srm team status URL`: make a PostgreSQL database a team store (the
schema, then the roles), and say what a store holds and who the connection is in it.

Both talk to the server through srm_tui.storage.pg (psycopg is imported there only, and only
when one of these runs). Failures reach the caller as one line: a URL srm cannot use is
``UsageProblem`` (exit 2, naming URL); a server that cannot be reached or refuses is a
``CacheError`` (exit 1) naming the store by its URL without password.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from srm_tui.exits import UsageProblem
from srm_tui.storage.db import is_postgres_url, redact_url

# The tables `srm team status` counts: the vendor's customers, what agents queue and keep.
STATUS_TABLES: tuple[str, ...] = (
    "customers",
    "subscriptions",
    "outbox",
    "notes",
    "audit",
    "segments",
    "bulk_runs",
)


@dataclass
class InitReport:
    """What `srm team init` found and did."""

    location: str  # the URL without its password
    previous_version: int  # 0: the database held no srm schema
    schema_version: int
    tables_created: list[str]
    tables_found: list[str]
    roles_created: list[str]
    roles_found: list[str]
    policies_created: list[str]
    policies_found: list[str]
    owners_changed: list[str]

    @property
    def created(self) -> bool:
        """Whether this run made or changed anything beyond re-applying the grants."""
        return bool(
            self.previous_version != self.schema_version
            or self.tables_created
            or self.roles_created
            or self.policies_created
            or self.owners_changed
        )

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {**asdict(self), "created": self.created}


@dataclass
class StatusReport:
    """What `srm team status` says about a store."""

    location: str
    schema_version: int | None  # 0: no srm schema yet; None: not readable by this role
    known_version: int  # the version this srm writes
    user: str
    role: str  # owner | sync | agent | viewer | none
    roles: dict[str, bool]
    counts: dict[str, int | None] = field(default_factory=dict)  # None: not readable

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return asdict(self)


def check_url(url: str) -> None:
    """A URL `srm team` can use: a well-formed postgresql:// URL (UsageProblem naming URL
    otherwise; the message never holds a password)."""
    from srm_tui.domain.text import visible

    if not is_postgres_url(url):
        raise UsageProblem(
            f"URL: a team store is a PostgreSQL database named by a postgresql:// URL, not "
            f"{visible(redact_url(url), 80)!r}"
        )
    from srm_tui.storage.pg import admin

    problem = admin.url_problem(url)
    if problem is not None:
        raise UsageProblem(f"URL: {redact_url(url)} is not a usable PostgreSQL URL: {problem}")


def _tables(conn) -> set[str]:
    from srm_tui.storage.pg import schema

    rows = conn.execute(
        "SELECT relname FROM pg_class WHERE relkind IN ('r', 'p') AND relname = ANY(%s) "
        "AND pg_table_is_visible(oid)",
        (sorted(schema.ALL_TABLES),),
    ).fetchall()
    return {r[0] for r in rows}


def init_store(url: str) -> InitReport:
    """Create the srm schema and roles on the database at ``url``, or bring an older store up
    to this srm's version, all in one transaction; idempotent (a second run creates nothing).
    Run as the database's owner with the right to create roles."""
    check_url(url)
    from srm_tui.storage.pg import admin, roles, schema

    with admin.admin_session(url, "srm team init") as conn, conn.transaction():
        # One transaction: a store is never left with its schema but without its roles.
        before = _tables(conn)
        previous = schema.stored_version(conn)
        version = schema.apply(conn)
        after = _tables(conn)
        done = roles.apply_roles(conn)
    return InitReport(
        location=redact_url(url),
        previous_version=previous,
        schema_version=version,
        tables_created=sorted(after - before),
        tables_found=sorted(before),
        roles_created=done.roles_created,
        roles_found=done.roles_found,
        policies_created=done.policies_created,
        policies_found=done.policies_found,
        owners_changed=done.owners_changed,
    )


def store_status(url: str) -> StatusReport:
    """The store's schema version, which of the three roles exist, the connected user and
    its role in the store, and the row counts of a few key tables."""
    check_url(url)
    from srm_tui.storage.pg import admin, schema

    with admin.admin_session(url, "srm team status") as conn:
        version = admin.readable_version(conn)
        user = conn.execute("SELECT current_user").fetchone()[0]
        role = admin.role_of(conn)
        present = admin.roles_present(conn)
        tables = _tables(conn) if version != 0 else set()
        counts = {t: admin.count_rows(conn, t) for t in STATUS_TABLES if t in tables}
    return StatusReport(
        location=redact_url(url),
        schema_version=version,
        known_version=schema.PG_SCHEMA_VERSION,
        user=user,
        role=role,
        roles=present,
        counts=counts,
    )

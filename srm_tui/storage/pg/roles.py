"""The team store's database roles (CONTRACT section 9, ISSUE15 1(g)): what each kind of login
may do, enforced by PostgreSQL itself, so a hand-made SQL statement cannot do more than srm.
(Over 400 lines: the grants and the row-level security policies are one applied whole, checked
and revoked together in one transaction; split, a half could be applied without the other.)

Three NOLOGIN group roles; people are logins made members of one of them
(``CREATE ROLE alice LOGIN IN ROLE srm_agent``):

- ``srm_viewer`` reads: CONNECT, USAGE on the schema, SELECT on every srm table.
- ``srm_agent`` is a viewer that also queues work: INSERT on the outbox, offer drafts, notes,
  the audit trail (never UPDATE or DELETE there; ``db_user`` is left to its default, the
  connection's role, so a row cannot name someone else) and store requests; UPDATE of the
  outbox's status, claim and result columns and of a draft's editable columns; the notes srm
  keeps itself (``local = 1``, for an API without notes: actions/local_notes.py) inserted and
  changed, the API's notes never (row-level security); full DML on
  its own saved segments (their versions, members, changes and schedules) and bulk runs
  (their members), bound by row-level security to ``owner = current_user``; every row
  stays readable by all.
- ``srm_sync`` is the writer: it owns the vendor's and the derived tables (so it can swap
  the facts it rebuilds and VACUUM), and has DML on srm's own tables under a policy that
  lets it touch every row.

srm's own tables stay owned by the user who ran ``srm team init`` (the store's owner): the
owner is not bound by row-level security, the agents are. Applying is idempotent and
convergent: privileges are revoked and granted again inside one transaction, so a rerun
leaves exactly what this module says (and repairs a hand-made change).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import psycopg
from psycopg import errors, sql

from srm_tui.storage.cache import CacheError
from srm_tui.storage.pg import schema

if TYPE_CHECKING:
    from collections.abc import Iterable

_ident = sql.Identifier

VIEWER, AGENT, SYNC = "srm_viewer", "srm_agent", "srm_sync"
GROUP_ROLES: tuple[str, ...] = (VIEWER, AGENT, SYNC)
# The short names `srm team status` reports, strongest first.
ROLE_NAMES: dict[str, str] = {SYNC: "sync", AGENT: "agent", VIEWER: "viewer"}

# Bumped when a policy below changes: policies carry it in their comment, and one whose
# comment differs is made again (so an unchanged rerun takes no lock on the tables).
POLICIES_VERSION = 1
_POLICY_COMMENT = f"srm roles v{POLICIES_VERSION}"

# Serializes concurrent `srm team init` runs on one database (a transaction-level lock).
ROLES_LOCK_KEY = 0x5352_4D52_4F4C_4553  # "SRMROLES"

# What an agent inserts. store_requests arrives with the single writer (next step of the
# issue); a table missing from the store is skipped.
AGENT_INSERT: tuple[str, ...] = ("outbox", "offer_drafts", "notes", "audit", "store_requests")
# Columns an agent may not set on insert: their default (the connection's role) is the truth.
AGENT_INSERT_EXCEPT: dict[str, tuple[str, ...]] = {
    "audit": ("db_user",),
    "store_requests": ("requested_by",),  # [requests] who asked: the server says
}
# Columns an agent may update. The outbox: a push's status and result, its attempts, the
# claim of a pusher (when the store has those columns), and a requeue's new key and base
# (actions/outbox.py requeue). A draft: what the agent edits and what a push answers
# (offers/drafts.py); its offer, target, operation and creation stay as made.
AGENT_UPDATE: dict[str, tuple[str, ...]] = {
    "outbox": (
        "status",
        "attempts",
        "last_error",
        "response",
        "sent_at",
        "idempotency_key",
        "base",
        "claim_token",
        "claimed_by",
        "lease_until",
    ),
    "offer_drafts": (
        "changes",
        "base",
        "base_version",
        "status",
        "server",
        "server_version",
        "last_error",
        "agent",
        "idempotency_key",
        "updated_at",
    ),
    # A note srm keeps itself, edited or deleted (actions/local_notes.py CHANGED); the rows
    # are bound by AGENT_LOCAL_ROWS.
    "notes": ("updated_at", "deleted_at", "raw", "synced_at"),
}
# Rows an agent may insert and update only when the predicate holds (row-level security),
# the columns of the update granted in AGENT_UPDATE: srm's own notes, not the API's.
AGENT_LOCAL_ROWS: dict[str, str] = {"notes": "local = 1"}
# An agent discards its waiting drafts (offers/drafts.py delete, merge).
AGENT_DELETE: tuple[str, ...] = ("offer_drafts",)
# Rows an agent owns: table -> the column naming the owner (DEFAULT current_user).
OWNED_TABLES: dict[str, str] = {"segments": "owner", "bulk_runs": "owner"}
# Their children: table -> (parent table, the column holding the parent's id).
CHILD_TABLES: dict[str, tuple[str, str]] = {
    "segment_versions": ("segments", "segment_id"),
    "segment_members": ("segments", "segment_id"),
    "segment_member_changes": ("segments", "segment_id"),
    "segment_schedules": ("segments", "segment_id"),
    "bulk_members": ("bulk_runs", "run_id"),
}
# srm's own tables the writer does not own but writes: everything but TRUNCATE, which would
# pass by row-level security.
SYNC_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")


class RolesError(CacheError):
    """The store cannot take the roles (a table or column they rely on is missing)."""


@dataclass
class RolesReport:
    """What ``apply_roles`` did: roles and policies made now vs found, tables handed to the
    writer."""

    roles_created: list[str] = field(default_factory=list)
    roles_found: list[str] = field(default_factory=list)
    policies_created: list[str] = field(default_factory=list)
    policies_found: list[str] = field(default_factory=list)
    owners_changed: list[str] = field(default_factory=list)


def _present_tables(conn: psycopg.Connection) -> set[str]:
    """srm's tables (schema.ALL_TABLES) that exist in the connection's current schema."""
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')"
    ).fetchall()
    return {r[0] for r in rows} & set(schema.ALL_TABLES)


def _columns(conn: psycopg.Connection, table: str) -> list[str]:
    rows = conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) "
        "AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        (table,),
    ).fetchall()
    return [r[0] for r in rows]


def _ensure_role(conn: psycopg.Connection, name: str, report: RolesReport) -> None:
    """Create the NOLOGIN group role unless it exists. Roles are the cluster's, not the
    database's: another database's init may make it at the same moment, so a duplicate is
    taken as found."""
    if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone():
        report.roles_found.append(name)
        return
    try:
        with conn.transaction():  # a savepoint: a lost race leaves the outer work intact
            conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(_ident(name)))
    except (errors.DuplicateObject, errors.UniqueViolation):
        report.roles_found.append(name)
        return
    report.roles_created.append(name)


def _is_superuser(conn: psycopg.Connection) -> bool:
    row = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
    return bool(row and row[0])


def _check_shape(conn: psycopg.Connection, present: set[str]) -> None:
    """The columns the policies name must exist, or the roles would be a false promise."""
    for table, column in OWNED_TABLES.items():
        if table in present and column not in _columns(conn, table):
            raise RolesError(
                f"table {table} has no {column} column: the store's schema is older than "
                "its roles (run srm team init with this srm version)"
            )
    for table, (parent, column) in CHILD_TABLES.items():
        if table in present and (parent not in present or column not in _columns(conn, table)):
            raise RolesError(f"table {table} cannot be tied to its {parent} by {column}")


def _revoke_all(conn: psycopg.Connection, tables: Iterable[str], owner_of: dict[str, str]) -> None:
    """Start from nothing: the three roles and PUBLIC lose every privilege on srm's tables
    (the writer keeps its own tables' owner rights)."""
    for table in sorted(tables):
        grantees = [VIEWER, AGENT, "PUBLIC"]
        if owner_of[table] != SYNC:
            grantees.append(SYNC)
        conn.execute(
            sql.SQL("REVOKE ALL ON TABLE {} FROM {}").format(
                _ident(table),
                sql.SQL(", ").join(
                    sql.SQL("PUBLIC") if g == "PUBLIC" else _ident(g) for g in grantees
                ),
            )
        )


def _grant_table(conn: psycopg.Connection, privileges: str, table: str, role: str) -> None:
    conn.execute(
        sql.SQL("GRANT {} ON TABLE {} TO {}").format(
            sql.SQL(privileges), _ident(table), _ident(role)
        )
    )


def _grant_columns(
    conn: psycopg.Connection, privilege: str, table: str, columns: list[str], role: str
) -> None:
    if not columns:
        return
    conn.execute(
        sql.SQL("GRANT {} ({}) ON TABLE {} TO {}").format(
            sql.SQL(privilege),
            sql.SQL(", ").join(_ident(c) for c in columns),
            _ident(table),
            _ident(role),
        )
    )


def _grant_sequences(conn: psycopg.Connection, table: str, role: str) -> None:
    """USAGE on the sequences behind the table's serial columns (an identity needs none, but
    a serial default does)."""
    rows = conn.execute(
        "SELECT s.relname FROM pg_depend d JOIN pg_class s ON s.oid = d.objid "
        "WHERE d.refobjid = to_regclass(%s) AND d.classid = 'pg_class'::regclass "
        "AND s.relkind = 'S' AND d.deptype = 'a'",
        (table,),
    ).fetchall()
    for (sequence,) in rows:
        conn.execute(
            sql.SQL("GRANT USAGE, SELECT ON SEQUENCE {} TO {}").format(
                _ident(sequence), _ident(role)
            )
        )


def _policies(present: set[str]) -> dict[str, list[tuple[str, sql.Composable]]]:
    """table -> [(policy name, CREATE POLICY statement)] for every table under row-level
    security: all may read; an agent writes only rows it owns (or whose parent it owns), and
    of AGENT_LOCAL_ROWS' tables the rows their predicate holds for; the writer any row."""
    out: dict[str, list[tuple[str, sql.Composable]]] = {}
    for table in sorted(present & (set(OWNED_TABLES) | set(CHILD_TABLES))):
        if table in OWNED_TABLES:
            mine = sql.SQL("{} = current_user").format(_ident(OWNED_TABLES[table]))
        else:
            parent, column = CHILD_TABLES[table]
            key = "id"
            mine = sql.SQL(
                "EXISTS (SELECT 1 FROM {parent} p WHERE p.{key} = {table}.{column} "
                "AND p.{owner} = current_user)"
            ).format(
                parent=_ident(parent),
                key=_ident(key),
                table=_ident(table),
                column=_ident(column),
                owner=_ident(OWNED_TABLES[parent]),
            )
        out[table] = _agent_policies(table, mine, delete=True)
    for table, predicate in AGENT_LOCAL_ROWS.items():
        if table in present:
            out[table] = _agent_policies(table, sql.SQL(predicate), delete=False)
    return out


def _agent_policies(
    table: str, mine: sql.Composable, delete: bool
) -> list[tuple[str, sql.Composable]]:
    """All read ``table``; an agent inserts, updates (and, with ``delete``, deletes) the rows
    ``mine`` holds for; the writer any row."""
    t = _ident(table)
    agent = _ident(AGENT)
    return [
        (
            "srm_read",
            sql.SQL("CREATE POLICY srm_read ON {} FOR SELECT USING (true)").format(t),
        ),
        (
            "srm_agent_insert",
            sql.SQL("CREATE POLICY srm_agent_insert ON {} FOR INSERT TO {} WITH CHECK ({})").format(
                t, agent, mine
            ),
        ),
        (
            "srm_agent_update",
            sql.SQL(
                "CREATE POLICY srm_agent_update ON {} FOR UPDATE TO {} USING ({}) WITH CHECK ({})"
            ).format(t, agent, mine, mine),
        ),
        *(
            [
                (
                    "srm_agent_delete",
                    sql.SQL(
                        "CREATE POLICY srm_agent_delete ON {} FOR DELETE TO {} USING ({})"
                    ).format(t, agent, mine),
                )
            ]
            if delete
            else []
        ),
        (
            "srm_sync_all",
            sql.SQL(
                "CREATE POLICY srm_sync_all ON {} FOR ALL TO {} USING (true) WITH CHECK (true)"
            ).format(t, _ident(SYNC)),
        ),
    ]


def _apply_policies(conn: psycopg.Connection, present: set[str], report: RolesReport) -> None:
    for table, policies in _policies(present).items():
        # ALTER TABLE locks out every reader: only when it is not on yet (a rerun of init
        # while consoles read must not stall them).
        if not conn.execute(
            "SELECT relrowsecurity FROM pg_class WHERE oid = to_regclass(%s)", (table,)
        ).fetchone()[0]:
            conn.execute(sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY").format(_ident(table)))
        existing = dict(
            conn.execute(
                "SELECT polname, coalesce(obj_description(oid, 'pg_policy'), '') "
                "FROM pg_policy WHERE polrelid = to_regclass(%s)",
                (table,),
            ).fetchall()
        )
        for name, create in policies:
            label = f"{table}.{name}"
            if existing.get(name) == _POLICY_COMMENT:
                report.policies_found.append(label)
                continue
            if name in existing:  # made by an older srm: made again as this one says
                conn.execute(sql.SQL("DROP POLICY {} ON {}").format(_ident(name), _ident(table)))
            conn.execute(create)
            conn.execute(
                sql.SQL("COMMENT ON POLICY {} ON {} IS {}").format(
                    _ident(name), _ident(table), sql.Literal(_POLICY_COMMENT)
                )
            )
            report.policies_created.append(label)


def apply_roles(conn: psycopg.Connection) -> RolesReport:
    """Create (or bring up to date) the three group roles, their privileges on every srm
    table of the current schema, the tables the writer owns and the row-level security of
    the agents' own rows. Idempotent; one transaction (a savepoint when the caller has one
    open). Run by the store's owner after ``schema.apply``. Raises ``RolesError`` when the
    schema lacks what the roles rely on, psycopg errors when the user may not create roles."""
    report = RolesReport()
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (ROLES_LOCK_KEY,))
        present = _present_tables(conn)
        if not present:
            raise RolesError("the store has no srm tables: its schema must be applied first")
        _check_shape(conn, present)
        for role in GROUP_ROLES:
            _ensure_role(conn, role, report)
        conn.execute(sql.SQL("GRANT {} TO {}").format(_ident(VIEWER), _ident(AGENT)))
        if (
            not _is_superuser(conn)
            and not conn.execute(
                "SELECT pg_has_role(current_user, %s, 'MEMBER')", (SYNC,)
            ).fetchone()[0]
        ):
            # Handing a table to srm_sync takes membership in it (a superuser has it all).
            conn.execute(sql.SQL("GRANT {} TO current_user").format(_ident(SYNC)))
        db = sql.Identifier(conn.execute("SELECT current_database()").fetchone()[0])
        nsp = sql.Identifier(conn.execute("SELECT current_schema()").fetchone()[0])
        roles = sql.SQL(", ").join(_ident(r) for r in GROUP_ROLES)
        conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(db, roles))
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(nsp, roles))
        # Nobody else creates tables beside srm's (PostgreSQL 15's default; older databases
        # let PUBLIC). The writer may: its rebuilt facts are made beside the live ones and
        # swapped in, and a table can only be handed to a role that may create it.
        conn.execute(sql.SQL("REVOKE CREATE ON SCHEMA {} FROM PUBLIC").format(nsp))
        conn.execute(sql.SQL("GRANT CREATE ON SCHEMA {} TO {}").format(nsp, _ident(SYNC)))

        writer_tables = present & (set(schema.VENDOR_TABLES) | set(schema.DERIVED_TABLES))
        owner_of = dict(
            conn.execute(
                "SELECT c.relname, pg_get_userbyid(c.relowner) FROM pg_class c "
                "WHERE c.oid = ANY(%s::regclass[])",
                (sorted(present),),
            ).fetchall()
        )
        for table in sorted(writer_tables):
            if owner_of[table] != SYNC:
                conn.execute(
                    sql.SQL("ALTER TABLE {} OWNER TO {}").format(_ident(table), _ident(SYNC))
                )
                owner_of[table] = SYNC
                report.owners_changed.append(table)

        _revoke_all(conn, present, owner_of)
        for table in sorted(present):
            _grant_table(conn, "SELECT", table, VIEWER)
            if owner_of[table] != SYNC:
                _grant_table(conn, ", ".join(SYNC_PRIVILEGES), table, SYNC)
                _grant_sequences(conn, table, SYNC)
        for table in AGENT_INSERT:
            if table not in present:
                continue
            banned = AGENT_INSERT_EXCEPT.get(table, ())
            _grant_columns(
                conn, "INSERT", table, [c for c in _columns(conn, table) if c not in banned], AGENT
            )
            _grant_sequences(conn, table, AGENT)
        for table, wanted in AGENT_UPDATE.items():
            if table in present:
                have = set(_columns(conn, table))
                _grant_columns(conn, "UPDATE", table, [c for c in wanted if c in have], AGENT)
        for table in AGENT_DELETE:
            if table in present:
                _grant_table(conn, "DELETE", table, AGENT)
        for table in sorted(present & (set(OWNED_TABLES) | set(CHILD_TABLES))):
            _grant_table(conn, "INSERT, UPDATE, DELETE", table, AGENT)
            _grant_sequences(conn, table, AGENT)
        _apply_policies(conn, present, report)
        if "change_log" in present:  # [changes] the writer logs each page it commits
            conn.execute(f"GRANT EXECUTE ON FUNCTION srm_log_change(text, bigint[]) TO {SYNC}")
    return report

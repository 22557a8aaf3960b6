"""`srm team init` and the roles the database enforces (CONTRACT section 9, ISSUE15 1(g)), on a
real PostgreSQL server (the worker's test cluster, trust auth on its socket).

Each login is a real role made for the test (``CREATE ROLE … LOGIN IN ROLE srm_agent``) that
then connects as itself and tries hand-made SQL: what the roles forbid must fail with
PostgreSQL's own InsufficientPrivilege, whatever srm's code would have done.
"""

from __future__ import annotations

import json
from urllib.parse import unquote, urlsplit

import psycopg
import pytest
from psycopg import errors, sql

from srm_tui.storage.pg import schema
from srm_tui.team.init import init_store
from tests.helpers import run_srm

NOW = 1_800_000_000


def _dbname(url: str) -> str:
    return unquote(urlsplit(url).path.lstrip("/"))


@pytest.fixture
def logins(pg_cluster, pg_url):
    """make(kind, group) -> the URL of a new login in ``group`` (None: no srm role), named
    after this test's database (roles are the cluster's, shared by every test on it); each is
    dropped before the database is (what it owns handed back to the test's owner first)."""
    made: list[str] = []
    db = _dbname(pg_url)

    def make(kind: str, group: str | None) -> str:
        name = f"{db}_{kind}"
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN" + (" IN ROLE {}" if group else "")).format(
                    sql.Identifier(name), *([sql.Identifier(group)] if group else [])
                )
            )
        made.append(name)
        return pg_cluster.url(db, name)

    yield make
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for name in made:
            conn.execute(
                sql.SQL(
                    "REASSIGN OWNED BY {0} TO current_user; DROP OWNED BY {0}; DROP ROLE {0}"
                ).format(sql.Identifier(name))
            )


@pytest.fixture
def store(pg_url):
    """The test's database made a team store (in-process: the CLI has its own test)."""
    init_store(pg_url)
    return pg_url


def _connect(url: str):
    return psycopg.connect(url, autocommit=True)


def _refused(conn, statement, params=()) -> None:
    """The statement fails with InsufficientPrivilege (and, autocommit, changes nothing)."""
    with pytest.raises(errors.InsufficientPrivilege):
        conn.execute(statement, params)


def _segment(conn, name: str) -> int:
    return conn.execute(
        "INSERT INTO segments (name, name_key, kind, format, definition, version, created_at, "
        "updated_at) VALUES (%s, %s, 'filter', 1, '{}', 1, %s, %s) RETURNING id",
        (name, name.lower(), NOW, NOW),
    ).fetchone()[0]


def _bulk_run(conn, token: str) -> int:
    return conn.execute(
        "INSERT INTO bulk_runs (token, action, params, segment_definition, status, members, "
        "created_at, updated_at) VALUES (%s, 'extend', '{}', '{}', 'queued', 0, %s, %s) "
        "RETURNING id",
        (token, NOW, NOW),
    ).fetchone()[0]


def _status(url: str) -> dict:
    done = run_srm("team", "status", url, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_team_init_twice_creates_then_finds_everything(pg_url):
    first = run_srm("team", "init", pg_url, "--json")
    assert first.returncode == 0, first.stderr
    made = json.loads(first.stdout)
    assert made["created"] is True
    assert made["previous_version"] == 0
    assert made["schema_version"] == schema.PG_SCHEMA_VERSION
    assert set(made["tables_created"]) >= schema.ALL_TABLES - {"customer_search"}
    assert "segments.srm_agent_insert" in made["policies_created"]
    assert "customers" in made["owners_changed"]
    # The roles are the cluster's: an earlier test's init may have made them already.
    assert sorted(made["roles_created"] + made["roles_found"]) == sorted(
        ["srm_viewer", "srm_agent", "srm_sync"]
    )

    again = run_srm("team", "init", pg_url, "--json")
    assert again.returncode == 0, again.stderr
    second = json.loads(again.stdout)
    assert second["created"] is False
    assert second["previous_version"] == second["schema_version"] == made["schema_version"]
    assert second["tables_created"] == []
    assert second["roles_created"] == []
    assert second["policies_created"] == []
    assert second["owners_changed"] == []
    assert sorted(second["tables_found"]) == sorted(made["tables_created"])
    assert sorted(second["policies_found"]) == sorted(made["policies_created"])

    text = run_srm("team", "init", pg_url)
    assert text.returncode == 0, text.stderr
    assert "schema: version" in text.stdout and "up to date" in text.stdout
    assert "nothing else to do" in text.stdout


def test_a_viewer_can_read_but_no_hand_made_statement_writes(store, logins):
    viewer = logins("viewer", "srm_viewer")
    with _connect(store) as owner:
        present = sorted(
            r[0]
            for r in owner.execute(
                "SELECT relname FROM pg_class WHERE relkind = 'r' AND relname = ANY(%s) "
                "AND pg_table_is_visible(oid)",
                (sorted(schema.ALL_TABLES),),
            )
        )
        first_column = dict(
            owner.execute(
                "SELECT c.relname, a.attname FROM pg_class c JOIN pg_attribute a "
                "ON a.attrelid = c.oid AND a.attnum = 1 WHERE c.relname = ANY(%s) "
                "AND pg_table_is_visible(c.oid)",
                (present,),
            ).fetchall()
        )
    assert set(present) == set(schema.ALL_TABLES)
    with _connect(viewer) as conn:
        for table in present:
            t, col = sql.Identifier(table), sql.Identifier(first_column[table])
            conn.execute(sql.SQL("SELECT * FROM {} LIMIT 1").format(t))  # reading is allowed
            _refused(conn, sql.SQL("INSERT INTO {} DEFAULT VALUES").format(t))
            _refused(conn, sql.SQL("UPDATE {} SET {} = {}").format(t, col, col))
            _refused(conn, sql.SQL("DELETE FROM {}").format(t))
            _refused(conn, sql.SQL("TRUNCATE {}").format(t))
            _refused(conn, sql.SQL("CREATE INDEX ON {} ({})").format(t, col))
            _refused(conn, sql.SQL("ALTER TABLE {} ADD COLUMN x bigint").format(t))
            _refused(conn, sql.SQL("DROP TABLE {}").format(t))
            _refused(
                conn,
                sql.SQL("CREATE TABLE {} (x bigint)").format(sql.Identifier(f"{table}_copy")),
            )
    assert _status(viewer)["role"] == "viewer"


def test_an_agent_writes_the_outbox_notes_and_its_own_segments_only(store, logins):
    alice = logins("alice", "srm_agent")
    bob = logins("bob", "srm_agent")
    alice_name = urlsplit(alice).username
    with _connect(bob) as conn:
        bobs_segment = _segment(conn, "Bob's churners")
        bobs_run = _bulk_run(conn, "bob-run")
        conn.execute("INSERT INTO segment_members VALUES (%s, 7)", (bobs_segment,))

    with _connect(alice) as conn:
        # What an agent queues and keeps.
        conn.execute(
            "INSERT INTO outbox (idempotency_key, action, target, customer_id, payload, agent, "
            "created_at) VALUES ('k-1', 'note', 'customer', 7, '{}', 'alice', %s)",
            (NOW,),
        )
        conn.execute(
            "INSERT INTO notes (id, customer_id, author, created_at, raw, synced_at, local) "
            "VALUES (1, 7, 'alice', %s, '\\x00', %s, 1)",
            (NOW, NOW),
        )
        conn.execute(
            "INSERT INTO audit (at, agent, action, customer_id, outcome) "
            "VALUES (%s, 'alice', 'note', 7, 'queued')",
            (NOW,),
        )
        mine = _segment(conn, "Alice's trials")
        conn.execute("INSERT INTO segment_members VALUES (%s, 7)", (mine,))
        conn.execute("UPDATE segments SET last_count = 1 WHERE id = %s", (mine,))
        my_run = _bulk_run(conn, "alice-run")
        conn.execute(
            "INSERT INTO bulk_members (run_id, seq, customer_id, status) VALUES (%s, 1, 7, 'q')",
            (my_run,),
        )
        # A pusher settles an entry: status and result columns only.
        assert conn.execute("UPDATE outbox SET status = 'sent', sent_at = %s", (NOW,)).rowcount == 1
        _refused(conn, "UPDATE outbox SET payload = '{\"x\": 1}'")
        _refused(conn, "DELETE FROM outbox")

        # The audit trail: appended, never rewritten, and it names the real database user.
        _refused(conn, "UPDATE audit SET outcome = 'done'")
        _refused(conn, "DELETE FROM audit")
        _refused(conn, "TRUNCATE audit")
        _refused(
            conn,
            "INSERT INTO audit (at, action, outcome, db_user) VALUES (%s, 'x', 'y', 'bob')",
            (NOW,),
        )
        assert conn.execute("SELECT db_user FROM audit").fetchall() == [(alice_name,)]

        # The vendor's records are the writer's.
        _refused(conn, "UPDATE customers SET email = 'x@example.com'")
        _refused(
            conn,
            "INSERT INTO customers (id, raw, synced_at) VALUES (7, '\\x00', %s)",
            (NOW,),
        )
        _refused(conn, "DELETE FROM subscriptions")

        # Another agent's segment and run: readable, but neither changed nor removed.
        assert conn.execute("SELECT owner FROM segments WHERE id = %s", (bobs_segment,)).fetchone()
        assert (
            conn.execute(
                "UPDATE segments SET definition = 'x' WHERE id = %s", (bobs_segment,)
            ).rowcount
            == 0
        )
        assert conn.execute("DELETE FROM segments WHERE id = %s", (bobs_segment,)).rowcount == 0
        assert (
            conn.execute(
                "DELETE FROM segment_members WHERE segment_id = %s", (bobs_segment,)
            ).rowcount
            == 0
        )
        assert conn.execute("DELETE FROM bulk_runs WHERE id = %s", (bobs_run,)).rowcount == 0
        _refused(conn, "INSERT INTO segment_members VALUES (%s, 8)", (bobs_segment,))
        _refused(
            conn,
            "INSERT INTO bulk_members (run_id, seq, customer_id, status) VALUES (%s, 2, 7, 'q')",
            (bobs_run,),
        )
        # Nor made in another's name, nor given away.
        _refused(
            conn,
            "INSERT INTO segments (name, name_key, kind, format, definition, version, "
            "created_at, updated_at, owner) VALUES ('x', 'x', 'filter', 1, '{}', 1, %s, %s, %s)",
            (NOW, NOW, urlsplit(bob).username),
        )
        _refused(
            conn,
            "UPDATE segments SET owner = %s WHERE id = %s",
            (urlsplit(bob).username, mine),
        )
        # Its own: removed with its members.
        assert conn.execute("DELETE FROM segments WHERE id = %s", (mine,)).rowcount == 1

    with _connect(store) as owner:
        bobs = owner.execute(
            "SELECT definition, owner FROM segments WHERE id = %s", (bobs_segment,)
        ).fetchone()
        assert bobs == ("{}", urlsplit(bob).username)
        assert owner.execute(
            "SELECT count(*) FROM segment_members WHERE segment_id = %s", (bobs_segment,)
        ).fetchone() == (1,)
        assert owner.execute("SELECT count(*) FROM segments").fetchone() == (1,)
    assert _status(alice)["role"] == "agent"


def test_the_sync_role_writes_the_vendors_records_and_any_segment(store, logins):
    agent = logins("agent", "srm_agent")
    writer = logins("sync", "srm_sync")
    with _connect(agent) as conn:
        segment = _segment(conn, "Agent's")
    with _connect(writer) as conn:
        conn.execute(
            "INSERT INTO customers (id, email, raw, synced_at) VALUES (7, 'a@example.com', "
            "'\\x00', %s)",
            (NOW,),
        )
        assert conn.execute("UPDATE customers SET email = 'b@example.com'").rowcount == 1
        # Its triggers' bookkeeping (dirty facts, the customer count) follows.
        assert conn.execute("SELECT n FROM row_counts WHERE name = 'customers'").fetchone() == (1,)
        assert conn.execute("SELECT customer_id FROM segment_facts_dirty").fetchall() == [(7,)]
        assert (
            conn.execute("UPDATE segments SET last_count = 3 WHERE id = %s", (segment,)).rowcount
            == 1
        )
        # The writer owns the derived tables: it may rebuild them and vacuum.
        conn.execute("TRUNCATE segment_facts_dirty")
        conn.execute("VACUUM customers")
        # srm's own rows are not truncated past row-level security, even by the writer.
        _refused(conn, "TRUNCATE segments")
    assert _status(writer)["role"] == "sync"


def test_status_names_the_owner_and_a_login_without_a_team_role(store, logins):
    stranger = logins("stranger", None)
    owner = _status(store)
    assert owner["role"] == "owner"
    assert owner["schema_version"] == owner["known_version"] == schema.PG_SCHEMA_VERSION
    assert owner["roles"] == {"srm_viewer": True, "srm_agent": True, "srm_sync": True}
    assert owner["counts"]["customers"] == 0 and owner["counts"]["outbox"] == 0
    nobody = _status(stranger)
    assert nobody["role"] == "none"
    assert nobody["schema_version"] is None  # it may read nothing, not even the version
    assert nobody["counts"] and set(nobody["counts"].values()) == {None}
    text = run_srm("team", "status", store)
    assert text.returncode == 0, text.stderr
    assert "role owner" in text.stdout and "customers: 0" in text.stdout


def test_team_init_as_a_database_owner_who_is_not_a_superuser(pg_url, logins):
    """A real team's init user owns the database and may create roles, nothing more."""
    boss = logins("boss", None)
    name = urlsplit(boss).username
    with _connect(pg_url) as conn:
        conn.execute(sql.SQL("ALTER ROLE {} CREATEROLE").format(sql.Identifier(name)))
        conn.execute(
            sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                sql.Identifier(_dbname(pg_url)), sql.Identifier(name)
            )
        )
    done = run_srm("team", "init", boss, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["schema_version"] == schema.PG_SCHEMA_VERSION
    again = run_srm("team", "init", boss, "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["created"] is False
    assert _status(boss)["role"] == "owner"
    viewer = logins("viewer", "srm_viewer")
    with _connect(viewer) as conn:
        _refused(conn, "DELETE FROM outbox")
        _refused(conn, "CREATE TABLE x (a bigint)")


@pytest.mark.parametrize(
    "url",
    [
        "cache.db",
        "mysql://u:hunter2@h/db",
        "postgresql://u:hunter2@h:notaport/db",
        "postgresql://u:hunter2@h/db?nosuchparameter=1",
        "postgresql://u:hunter2@[bad",
    ],
)
def test_a_url_srm_cannot_use_exits_2_naming_url_without_its_password(url):
    for command in ("init", "status"):
        done = run_srm("team", command, url)
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith("srm: URL: ")
        assert len(done.stderr.strip().splitlines()) == 1
        assert "hunter2" not in done.stderr + done.stdout


def test_an_unreachable_server_exits_1_in_one_line_without_the_password(tmp_path):
    url = f"postgresql://someone:hunter2@/srm?host={tmp_path}"  # no server on that socket
    for command in ("init", "status"):
        done = run_srm("team", command, url)
        assert done.returncode == 1, done.stderr
        assert done.stderr.startswith(
            "srm: cannot reach the PostgreSQL store postgresql://someone:***@/srm"
        )
        assert len(done.stderr.strip().splitlines()) == 1
        assert "hunter2" not in done.stderr + done.stdout
    done = run_srm("team", "status", url, "--json")
    assert done.returncode == 1
    assert json.loads(done.stdout)["error"]["exit"] == 1
    assert "hunter2" not in done.stdout


def test_team_init_by_an_owner_who_may_not_create_roles_says_so_and_changes_nothing(pg_url, logins):
    owner = logins("owner", None)
    with _connect(pg_url) as conn:
        conn.execute(
            sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                sql.Identifier(_dbname(pg_url)), sql.Identifier(urlsplit(owner).username)
            )
        )
    done = run_srm("team", "init", owner)
    assert done.returncode == 1, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith("srm: the PostgreSQL store postgresql://")
    assert "database's owner, with the right to create roles" in done.stderr
    with _connect(pg_url) as conn:  # the schema went with the roles: one transaction
        assert conn.execute("SELECT to_regclass('meta')").fetchone() == (None,)


def test_init_again_while_a_console_reads_does_not_wait_for_it(store):
    """A rerun (an upgrade check) takes no lock a reader holds: a console's open read of
    every table does not stall it. Without the fix the rerun would wait for the reader;
    lock_timeout turns that wait into a failure instead of a hang."""
    with psycopg.connect(store) as reader:  # one open transaction reading every srm table
        for table in sorted(schema.ALL_TABLES):
            reader.execute(sql.SQL("SELECT 1 FROM {} LIMIT 1").format(sql.Identifier(table)))
        done = run_srm("team", "init", store, "--json", env={"PGOPTIONS": "-c lock_timeout=60000"})
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["created"] is False
        reader.rollback()

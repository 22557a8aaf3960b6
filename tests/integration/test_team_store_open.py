"""How srm opens the team store from --db / SRM_DB (issue 15): the schema version and the
login's standing are checked first, each refusal one line with the right exit status and no
password in it; a command not yet ported to PostgreSQL says so (exit 1) before touching the
store; the login's role caps the srm role."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from srm_tui.storage import db as db_module
from srm_tui.storage.db import PG_NOT_YET, pg_not_yet
from srm_tui.storage.pg import schema
from tests.helpers import run_srm

SECRET = "pw-that-must-not-show"


def with_password(url: str) -> str:
    """The URL with a password (the test cluster trusts its socket, so any works)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{parts.username}:{SECRET}@"))


def srm(db: str, *args: str, **env: str):
    return run_srm(*args, env={"SRM_DB": db, **env}, timeout=300)


def one_line(result, code: int) -> str:
    assert result.returncode == code, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert SECRET not in result.stderr
    return lines[0]


def test_an_empty_database_is_no_srm_store(pg_url):
    line = one_line(srm(with_password(pg_url), "search", "x"), 2)
    assert line.startswith("srm: --db: postgresql://")
    assert "this database has no srm store: run srm team init" in line
    assert ":***@" in line


def test_an_older_or_newer_store_is_refused(pg_store):
    url = pg_store(20, 1)
    with psycopg.connect(url) as conn:
        conn.execute(
            "UPDATE meta SET value = %s WHERE key = 'schema_version'",
            (str(schema.PG_SCHEMA_VERSION - 1),),
        )
    line = one_line(srm(url, "search", "x"), 1)
    assert f"older srm store (schema {schema.PG_SCHEMA_VERSION - 1}" in line
    assert "run srm team init" in line and "to upgrade" in line
    with psycopg.connect(url) as conn:
        conn.execute(
            "UPDATE meta SET value = %s WHERE key = 'schema_version'",
            (str(schema.PG_SCHEMA_VERSION + 1),),
        )
    line = one_line(srm(url, "outbox", "list"), 1)
    assert "written by a newer srm" in line and "upgrade srm" in line


def test_a_login_with_no_srm_role_is_told_how_to_get_one(pg_store, pg_login):
    nobody = pg_login(pg_store(20, 1), None)
    line = one_line(srm(nobody, "search", "x"), 1)
    assert "has no srm role in this store" in line and "GRANT srm_agent TO" in line


def test_a_url_libpq_cannot_read_is_exit_2_naming_db(pg_cluster):
    bad = f"postgresql://u:{SECRET}@/db?host=/nowhere&nosuchparameter=1"
    line = one_line(srm(bad, "search", "x"), 2)
    assert line.startswith("srm: --db: ") and "not a valid PostgreSQL URL" in line


def test_a_server_that_is_not_there_is_one_line(tmp_path):
    gone = f"postgresql://u:{SECRET}@/db?host={tmp_path}"
    line = one_line(srm(gone, "customer", "show", "1"), 1)
    assert "cannot reach the PostgreSQL store" in line


def test_commands_not_ported_say_so_before_touching_the_store(pg_url, monkeypatch):
    # Every command runs on the team store now (round 2 emptied the list); the gate stays
    # for the next command that does not, and says so in one line naming the cache.
    assert pg_not_yet("srm search") is None
    for path in PG_NOT_YET:
        assert pg_not_yet(f"{path} X") == (
            f"{path} X is not available on the team store yet ({path} runs on a SQLite cache)"
        )
    monkeypatch.setattr(db_module, "PG_NOT_YET", ("srm customer anonymize",))
    assert db_module.pg_not_yet("srm customer anonymize 1") == (
        "srm customer anonymize 1 is not available on the team store yet "
        "(srm customer anonymize runs on a SQLite cache)"
    )
    assert db_module.pg_not_yet("srm customer show 1") is None


def test_the_config_file_holding_a_store_password_must_be_private(tmp_path, pg_store):
    url = with_password(pg_store(20, 1))
    config = tmp_path / "config"
    config.mkdir()
    (config / "config.toml").write_text(f'db = "{url}"\n')
    os.chmod(config / "config.toml", 0o644)
    env = {"SRM_CONFIG_DIR": str(config)}
    line = one_line(run_srm("search", "x", env=env), 2)
    assert "holds the store's password" in line and "chmod 600" in line
    os.chmod(config / "config.toml", 0o600)
    done = run_srm("search", "--json", "zzzz-nobody", env=env)
    assert done.returncode == 0, done.stderr
    assert SECRET not in done.stdout + done.stderr


@pytest.mark.parametrize(
    "group,asked,runs_as",
    [("srm_agent", "owner", "agent"), ("srm_agent", "viewer", "viewer"), (None, "owner", "owner")],
)
def test_role_may_narrow_the_login_never_widen_it(pg_store, pg_login, group, asked, runs_as):
    url = pg_store(20, 1)
    login = pg_login(url, group) if group else url  # no group: the store's owner itself
    with psycopg.connect(url) as conn:
        customer = conn.execute("SELECT id FROM customers ORDER BY id LIMIT 1").fetchone()[0]
    result = srm(login, "customer", "note", "add", str(customer), "hi", SRM_ROLE=asked)
    if runs_as == "viewer":
        assert result.returncode == 1 and "the viewer role is read only" in result.stderr
        return
    assert result.returncode == 0, result.stderr
    with psycopg.connect(url) as conn:
        role = conn.execute("SELECT role FROM audit ORDER BY id DESC LIMIT 1").fetchone()[0]
    assert role == runs_as


def test_a_statement_the_store_refuses_is_one_line_not_a_crash(pg_store, pg_login):
    """The database enforces the roles: whatever path reaches a table the login may not write
    ends as one line saying the store refused (exit 1), never an internal error."""
    from srm_tui.exits import EXIT_FAILURE, classify, foreseen

    viewer = pg_login(pg_store(20, 1), "srm_viewer")
    with psycopg.connect(viewer) as conn, pytest.raises(psycopg.Error) as refused:
        conn.execute("INSERT INTO meta (key, value) VALUES ('x', 'y')")
    code, message = classify(refused.value)
    assert code == EXIT_FAILURE and foreseen(refused.value)
    assert message.startswith("the team store refused: permission denied for table meta")
    assert "\n" not in message

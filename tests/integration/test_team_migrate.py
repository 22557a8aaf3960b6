"""`srm team migrate --from FILE --to URL` (ISSUE15 1(h)) on a real PostgreSQL server (the
worker's test cluster): a seeded cache with srm's own work in it (segments and their versions,
members and changes, a schedule, outbox, drafts, audit, local notes, a playbook, a bulk run)
is copied into a fresh database, table by table, and every copied table equals the cache row
by row (a record's raw compared decoded). A run SIGKILLed after a chosen batch (the hook
SRM_MIGRATE_KILL_AFTER_BATCHES, never a kill by timing) resumes from the last key committed,
without duplicates; a finished one run again changes nothing; a store holding another
cache's data is refused.
"""

from __future__ import annotations

import json
import signal
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from srm_tui.domain.fold import fold
from srm_tui.storage import payload
from srm_tui.storage.cache import Cache
from srm_tui.storage.db import open_store
from srm_tui.storage.pg import schema
from srm_tui.storage.pg import search as pg_search
from srm_tui.team import migrate as mig
from tests.helpers import run_srm

NOW = "2026-11-01T00:00:00Z"
NOW_TS = 1_793_491_200
NUL_NAME = "Zo\x00ë"
SECRET = "s3cret-pw"


def with_password(url: str) -> str:
    """The URL with a password in it (the test cluster trusts its socket, so any works): it
    must never appear in anything srm prints."""
    parts = urlsplit(url)
    netloc = f"{parts.username}:{SECRET}@{parts.hostname or ''}"
    return urlunsplit(parts._replace(netloc=netloc))


def migrate(source: Path, url: str, *extra: str, **env: str):
    return run_srm(
        "team", "migrate", "--from", str(source), "--to", url, *extra, env=env, timeout=600
    )


def _segment_file(tmp_path: Path, name: str, where: dict) -> Path:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"version": 1, "name": name, "where": where}))
    return path


def _srm_work(db: Path, tmp_path: Path) -> None:
    """srm's own work in the cache, made by its commands and services: two saved segments
    (one saved twice: versions and member changes), a schedule, outbox entries, an offer
    draft, audit rows, a local note, a playbook version, a bulk run with members; and a
    customer whose name holds U+0000, and a record still stored as plain JSON text."""
    env = {"SRM_DB": str(db), "SRM_NOW": NOW}
    everyone = _segment_file(tmp_path, "Everyone", {"all": []})
    grace = {"all": [{"attr": "subscription.state", "op": "eq", "value": "active"}]}
    for file in (everyone, _segment_file(tmp_path, "Everyone", grace)):
        saved = run_srm("segment", "save", str(file), env=env)
        assert saved.returncode == 0, saved.stderr
    out = tmp_path / "exports"
    out.mkdir()
    added = run_srm(
        "schedules", "add", "Everyone", "--format", "csv", "--dir", str(out), "--every", "1d",
        env=env,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr

    from srm_tui.actions import audit, local_notes
    from srm_tui.offers import drafts
    from srm_tui.storage import bulk, playbook

    cache = Cache(db)
    with cache.transaction() as tx:
        ids = [r[0] for r in tx.execute("SELECT id FROM customers ORDER BY id LIMIT 5")]
        for n, cid in enumerate(ids[:3]):
            tx.execute(
                "INSERT INTO outbox (idempotency_key, action, target, customer_id, payload, "
                "agent, status, created_at) VALUES (?, 'note-add', ?, ?, ?, 'ana', ?, ?)",
                (f"key-{n}", f"customer:{cid}", cid, json.dumps({"n": n}), "pending", NOW_TS),
            )
            audit.record(
                tx, at=NOW_TS + n, agent="ana", role="agent", action="note-add",
                target=f"customer:{cid}", customer_id=cid, before=None, after={"n": n},
                outcome="queued",
            )  # fmt: skip
        drafts.save(
            tx, offer_id=None, target="offer:new", op="create", changes={"title": "Gold"},
            base_version=None, base={}, agent="ana", now=NOW_TS,
        )  # fmt: skip
        local_notes.apply(
            tx, "note-add", {"customer_id": ids[0], "text": "called \x00 back"}, agent="ana",
            now=NOW_TS,
        )  # fmt: skip
        playbook.insert(tx, 1, {"version": 1, "rules": []}, now=NOW_TS, agent="ana")
        bulk.create_run(
            tx, token="tok-1", action="extend", params={"days": 3}, segment_name="Everyone",
            definition={"version": 1, "where": {"all": []}}, agent="ana", role="agent",
            members=[(cid, None) for cid in ids], now=NOW_TS,
        )  # fmt: skip
        record = payload.decode_raw(
            tx.execute("SELECT raw FROM customers WHERE id = ?", (ids[1],)).fetchone()[0]
        )
        record["firstName"] = NUL_NAME
        tx.execute(
            "UPDATE customers SET first_name = ?, raw = ? WHERE id = ?",
            (NUL_NAME, payload.encode("customers", record), ids[1]),
        )
        # An older cache's record: raw as JSON text (the store's bytea takes its bytes).
        tx.execute(
            "UPDATE history SET raw = CAST(? AS TEXT) WHERE id = (SELECT min(id) FROM history)",
            (payload.dumps({"id": 1, "note": "plain text raw"}),),
        )
    cache.close()


@pytest.fixture
def source(seeded_cache, tmp_path) -> Path:
    db = seeded_cache(120, 5)
    _srm_work(db, tmp_path)
    return db


# -- comparing the store with the cache -----------------------------------------------------


def _types(pg) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for table, column, kind in pg.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = current_schema()"
    ):
        out.setdefault(table, {})[column] = kind
    return out


def _value(kind: str, column: str, value):
    """A cell as both sides must agree on it: raw decoded, text with U+0000 replaced."""
    if value is None:
        return None
    if column == "raw":
        return payload.decode_raw(value)
    if kind == "bytea":
        return bytes(value)
    if kind == "text":
        return value.replace("\x00", "\ufffd")
    if kind == "double precision":
        return float(value)
    return value


def _table(conn, table: str, columns: list[str], key: list[str], kinds: dict[str, str], mark):
    where = ""
    if table == "meta":
        where = f" WHERE key NOT IN ({', '.join([mark] * len(mig.META_NOT_COPIED))})"
    rows = conn.execute(
        f"SELECT {', '.join(columns)} FROM {table}{where}",
        mig.META_NOT_COPIED if table == "meta" else (),
    ).fetchall()
    at = [columns.index(k) for k in key]
    out = {}
    for row in rows:
        ident = tuple(row[i] for i in at)
        assert ident not in out, (table, ident)
        out[ident] = tuple(_value(kinds[c], c, v) for c, v in zip(columns, row, strict=True))
    return out


def differences(db: Path, url: str) -> list[str]:
    """Every copied table, cache vs store: [] when equal row by row."""
    src = sqlite3.connect(db)
    found = []
    with psycopg.connect(url) as pg:
        kinds = _types(pg)
        for table in mig.COPY_ORDER:
            info = src.execute(f"PRAGMA table_info({table})").fetchall()
            columns = [r[1] for r in info]
            key = [r[1] for r in sorted((r for r in info if r[5]), key=lambda r: r[5])]
            mine = _table(src, table, columns, key, kinds[table], "?")
            theirs = _table(pg, table, columns, key, kinds[table], "%s")
            if mine != theirs:
                gone = sorted(set(mine) - set(theirs))[:3]
                extra = sorted(set(theirs) - set(mine))[:3]
                changed = [k for k in mine if k in theirs and mine[k] != theirs[k]][:3]
                found.append(f"{table}: missing {gone} extra {extra} changed {changed}")
    src.close()
    return found


def _dump(url: str) -> dict:
    with psycopg.connect(url) as pg:
        return {
            table: sorted(map(repr, pg.execute(f"SELECT * FROM {table}").fetchall()))
            for table in (*mig.COPY_ORDER, mig.PROGRESS_TABLE, "segment_facts_dirty")
        }


# -- tests ----------------------------------------------------------------------------------


def test_the_copy_order_holds_every_table_but_the_derived_ones_parents_first():
    assert set(mig.COPY_ORDER) == schema.ALL_TABLES - schema.DERIVED_TABLES
    assert len(set(mig.COPY_ORDER)) == len(mig.COPY_ORDER)
    order = mig.COPY_ORDER.index
    assert order("customers") < order("subscriptions") < order("outbox")
    for child in ("segment_versions", "segment_members", "segment_member_changes"):
        assert order("segments") < order(child)
    assert order("segments") < order("segment_schedules")
    assert order("bulk_runs") < order("bulk_members")
    assert mig.COPY_ORDER[-1] == "meta"


def test_a_cache_migrates_into_an_empty_database_row_by_row(source, pg_url):
    url = with_password(pg_url)
    done = migrate(source, url, "--json")
    assert done.returncode == 0, done.stderr
    assert SECRET not in done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["schema_created"] is True and report["already_done"] is False
    assert report["target"] == mig.redact_url(url) and "***" in report["target"]
    assert sorted(report["not_copied"]) == sorted(schema.DERIVED_TABLES - {"customer_search"})
    assert "first srm sync" in report["note"]
    assert differences(source, pg_url) == []
    tables = {t["table"]: t for t in report["tables"]}
    src = sqlite3.connect(source)
    for table in ("customers", "outbox", "segments", "segment_members", "bulk_members"):
        n = src.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        assert tables[table]["total"] == tables[table]["copied"] == n > 0, table
    assert report["rows"] == sum(t["copied"] for t in report["tables"])
    assert "srm team migrate: customers 120 / 120" in done.stderr  # progress, on stderr
    customers = src.execute("SELECT count(*) FROM customers").fetchone()[0]
    nul_id = src.execute(
        "SELECT id, raw, last_name FROM customers WHERE first_name = ?", (NUL_NAME,)
    ).fetchone()
    last_name = nul_id[2]
    src.close()

    with psycopg.connect(pg_url) as pg:
        # The NUL: raw (bytea) keeps the record exactly; the text column has U+FFFD.
        first, raw = pg.execute(
            "SELECT first_name, raw FROM customers WHERE id = %s", (nul_id[0],)
        ).fetchone()
        assert first == "Zo\ufffdë"
        assert payload.decode_raw(raw) == payload.decode_raw(nul_id[1])
        assert payload.decode_raw(raw)["firstName"] == NUL_NAME
        # Every raw is bytes in the store, the plain-text one too.
        assert pg.execute("SELECT count(*) FROM history WHERE raw IS NULL").fetchone()[0] == 0
        # srm's ids go on past the copied ones.
        top = pg.execute("SELECT max(id) FROM outbox").fetchone()[0]
        new = pg.execute(
            "INSERT INTO outbox (idempotency_key, action, target, payload, created_at) "
            "VALUES ('after', 'note-add', 'customer:1', '{}', 1) RETURNING id"
        ).fetchone()[0]
        assert new == top + 1
        assert "outbox" in report["identities_moved"]
        # The derived data waits for the writer: every customer marked, counts kept.
        dirty = pg.execute("SELECT count(*) FROM segment_facts_dirty").fetchone()[0]
        assert dirty == customers
        counted = pg.execute("SELECT n FROM row_counts WHERE name = 'customers'").fetchone()[0]
        assert counted == customers
        assert pg.execute("SELECT count(*) FROM segment_customer_facts").fetchone()[0] == 0
        # The search documents came with the customers, as the search code writes them.
        docs = pg.execute("SELECT * FROM customer_search ORDER BY id").fetchall()
        assert len(docs) == customers
    store = open_store(pg_url)
    try:
        assert pg_search.rebuild(store) == customers
        with psycopg.connect(pg_url) as pg:
            assert pg.execute("SELECT * FROM customer_search ORDER BY id").fetchall() == docs
            hits = pg.execute(
                "SELECT id FROM customer_search WHERE doc @@ %s::tsquery",
                (pg_search.phrase_query(pg_search.tokens(fold(last_name)), "B"),),
            ).fetchall()
            claim = json.loads(
                pg.execute("SELECT value FROM meta WHERE key = 'migrated_from'").fetchone()[0]
            )
        assert (nul_id[0],) in hits  # the NUL customer is found by name
    finally:
        store.close()
    assert claim["path"] == str(source.absolute()) and claim["finished_at"]
    # The comparison sees a change (it is not vacuous).
    with psycopg.connect(pg_url, autocommit=True) as pg:
        pg.execute("UPDATE customers SET city = 'Elsewhere' WHERE id = %s", (nul_id[0],))
    assert differences(source, pg_url) == [
        f"customers: missing [] extra [] changed [({nul_id[0]},)]",
        f"outbox: missing [] extra [({new},)] changed []",  # the row added above
    ]
    # The cache keeps the identity the store names.
    assert Cache(source).get_meta(mig.CACHE_ID_META) == claim["cache_id"] == report["cache_id"]


def test_a_killed_migrate_resumes_from_its_last_key_without_duplicates(source, pg_url):
    small = {mig.BATCH_ENV: "50"}
    first = migrate(source, pg_url, **small, **{mig.KILL_AFTER_ENV: "4"})
    assert first.returncode == -signal.SIGKILL, first.stderr
    with psycopg.connect(pg_url) as pg:
        progress = {
            r[0]: r[1:]
            for r in pg.execute("SELECT table_name, last_key, rows, finished_at FROM team_migrate")
        }
    # offers (1 batch), localizations (cut after 3 of its batches): the kill lost nothing
    # committed, and the open table's last key is its 150th row's.
    assert progress["offers"][2] is not None
    last_key, rows, finished = progress["localizations"]
    assert (rows, finished) == (150, None)
    src = sqlite3.connect(source)
    keys = [r[0] for r in src.execute("SELECT id FROM localizations ORDER BY id")]
    assert json.loads(last_key) == [keys[149]]
    assert "customers" not in progress

    second = migrate(source, pg_url, "--json", **small, **{mig.KILL_AFTER_ENV: "9"})
    assert second.returncode == -signal.SIGKILL
    third = migrate(source, pg_url, "--json", **small)
    assert third.returncode == 0, third.stderr
    report = json.loads(third.stdout)
    assert report["resumed"] is True
    tables = {t["table"]: t for t in report["tables"]}
    assert tables["localizations"]["done_before"] == len(keys)
    resumed = [t for t in report["tables"] if t["done_before"] and t["copied"]]
    assert resumed, report["tables"]  # one table went on from its last key
    for t in report["tables"]:
        assert t["done_before"] + t["copied"] + t["already_there"] == t["total"], t
        if t["table"] == "raw_dictionaries":  # the shipped ones: `team init` wrote them
            assert t["already_there"] == t["total"], t
        else:
            assert t["already_there"] == 0, t  # nothing committed twice
    assert differences(source, pg_url) == []
    src.close()


def test_a_finished_migrate_run_again_changes_nothing(source, pg_url):
    assert migrate(source, pg_url).returncode == 0
    before = _dump(pg_url)
    again = migrate(source, pg_url)
    assert again.returncode == 0, again.stderr
    assert "nothing to do" in again.stdout
    assert _dump(pg_url) == before


def test_a_store_holding_another_caches_data_is_refused(source, seeded_cache, pg_url):
    assert migrate(source, pg_url).returncode == 0
    before = _dump(pg_url)
    other = seeded_cache(30, 9)
    refused = migrate(other, pg_url)
    assert refused.returncode == 2
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("srm: --to: ") and str(source) in lines[0]
    assert _dump(pg_url) == before


def test_a_store_filled_otherwise_is_refused(source, pg_url):
    from srm_tui.team.init import init_store

    init_store(pg_url)
    with psycopg.connect(pg_url, autocommit=True) as pg:
        pg.execute(
            "INSERT INTO notes (id, customer_id, author, created_at, raw, synced_at) "
            "VALUES (1, 1, 'x', 1, '\\x7b7d', 1)"
        )
    refused = migrate(source, pg_url)
    assert refused.returncode == 2 and "--to: the store already holds data (notes)" in (
        refused.stderr
    )


def test_bad_from_and_to_exit_2_naming_them(source, pg_url, tmp_path):
    missing = migrate(tmp_path / "nope.db", pg_url)
    assert missing.returncode == 2 and missing.stderr.startswith("srm: --from: ")
    assert not (tmp_path / "nope.db").exists()
    for url in (
        "mysql://u:pw@host/db",
        f"postgresql://u:{SECRET}@host:notaport/db",
        "not a url",
    ):
        bad = migrate(source, url)
        assert bad.returncode == 2, (url, bad.stderr)
        assert bad.stderr.startswith("srm: --to: ") and SECRET not in bad.stderr
    gone = migrate(source, f"postgresql://u:{SECRET}@/db?host={tmp_path}/no-socket")
    assert gone.returncode == 1 and len(gone.stderr.strip().splitlines()) == 1
    assert SECRET not in gone.stderr and "cannot reach" in gone.stderr
    with psycopg.connect(pg_url) as pg:  # nothing was made anywhere
        assert pg.execute("SELECT to_regclass('meta')").fetchone()[0] is None


def test_a_value_no_store_column_holds_stops_the_copy_naming_it(source, pg_url):
    """SQLite keeps text in an INTEGER column; the store's bigint cannot: the run stops with
    the table, key and column named, and nothing of that batch is written."""
    src = sqlite3.connect(source)
    offer = src.execute("SELECT min(id) FROM offers").fetchone()[0]
    src.execute("UPDATE offers SET version = 'v2' WHERE id = ?", (offer,))
    src.commit()
    src.close()
    stopped = migrate(source, pg_url)
    assert stopped.returncode == 1
    line = stopped.stderr.strip().splitlines()[-1]
    assert f"offers {offer}: version holds 'v2', not an integer" in line
    with psycopg.connect(pg_url) as pg:
        assert pg.execute("SELECT count(*) FROM offers").fetchone()[0] == 0


def test_one_migrate_at_a_time(source, pg_url):
    from srm_tui.team.migrate import MIGRATE_LOCK_KEY

    with psycopg.connect(pg_url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (MIGRATE_LOCK_KEY,))
        busy = migrate(source, pg_url)
    assert busy.returncode == 1 and "another srm team migrate is writing" in busy.stderr
    with psycopg.connect(pg_url) as pg:
        assert pg.execute("SELECT count(*) FROM customers").fetchone()[0] == 0
    assert migrate(source, pg_url).returncode == 0  # the lock went with its session

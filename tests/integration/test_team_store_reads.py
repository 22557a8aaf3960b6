"""The console's reads (storage/reads, history, observed changes, the status line) through a
Session on the team store give what they give on the SQLite copy of the same data (issue 15):
every customer's account, history and open items, the offer reads, the status, the segment
screens' lookups; the agent's list columns are the agent's own on the team store (kept in its
data folder, per store), not a row of the team's meta."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import psycopg

from srm_tui.config import data_dir, load_settings
from srm_tui.session import Session
from srm_tui.storage.history import iso_date

NOW = "2026-11-01T00:00:00Z"
NOW_TS = int(datetime(2026, 11, 1, tzinfo=timezone.utc).timestamp())
CUSTOMERS, SEED = 40, 7


def _everything(session: Session) -> dict:
    reads = session.customers
    assert reads.count() == CUSTOMERS
    out: dict = {}
    for sort in ("id", "email", "registered_at"):
        for descending in (False, True):
            rows = reads.window(sort=sort, descending=descending, offset=5, limit=20)
            out[sort, descending] = [dict(r) for r in rows]
    ids = [r["id"] for r in reads.window(sort="id", descending=False, offset=0, limit=100)]
    assert len(ids) == CUSTOMERS
    out["ids"] = ids
    for cid in ids:
        view = reads.account(cid, NOW_TS)
        assert view is not None
        records = view.account.records
        out[cid] = (
            repr(view),
            repr(reads.history(cid, records, NOW_TS, iso_date)),
            repr(reads.open_items(cid)),
            repr(reads.profile_edits(cid)),
            repr(session.local_actions.observed(cid)),
        )
    now = session.settings.now_ts()
    offers = session.offer_reads
    out["offers"] = (offers.catalogue(), offers.holder_counts(now))
    out["holders"] = {o["id"]: offers.holder_ids(o["id"], now) for o in offers.catalogue()}
    out["status"] = repr(session.status())
    out["sync"] = repr(session.cache_state.sync_overview(20))
    first = reads.account(ids[0], NOW_TS).account.records["customer"]
    seg = session.segment_reads
    out["lookups"] = (
        seg.customer_id(str(ids[0])),
        seg.customer_id(first["email"].upper()),
        seg.customer_id("nobody@nowhere.example"),
        repr(seg.labels(ids[:5])),
    )
    return out


def test_the_reads_equal_the_caches(pg_store, seeded_cache):
    on_pg = Session(load_settings(db=pg_store(CUSTOMERS, SEED), now=NOW))
    on_sqlite = Session(load_settings(db=str(seeded_cache(CUSTOMERS, SEED)), now=NOW))
    try:
        pg, sqlite = _everything(on_pg), _everything(on_sqlite)
    finally:
        for session in (on_pg, on_sqlite):
            session.close()
            session.cache.close()
    assert pg["lookups"][1] == pg["ids"][0]  # an email in another case finds its customer
    assert pg.keys() == sqlite.keys()
    for key in pg:
        assert pg[key] == sqlite[key], key


def test_list_columns_are_the_agents_own_on_the_team_store(pg_store, pg_login):
    url = pg_store(CUSTOMERS, SEED)
    agent = pg_login(url, "srm_agent")
    session = Session(load_settings(db=agent, now=NOW))
    try:
        assert session.customers.list_columns() is None
        session.customers.save_list_columns(["id", "email", "country"])
        assert session.customers.list_columns() == ["id", "email", "country"]
        location = session.cache.location
    finally:
        session.close()
        session.cache.close()
    saved = json.loads((data_dir() / "team-list-columns.json").read_text())
    assert saved == {location: ["id", "email", "country"]}
    with psycopg.connect(url) as conn:  # nothing of one agent's choice in the team's meta
        assert (
            conn.execute("SELECT count(*) FROM meta WHERE key = 'list_columns'").fetchone()[0] == 0
        )


def test_an_agent_login_does_not_fetch_into_the_team_store(pg_store, pg_login):
    """The console's fetch (f on a search miss) writes the vendor's records: on the team store
    that is its sync's work; an agent is told so before anything is asked of the API."""
    import pytest

    from srm_tui.storage.cache import CacheReadOnly

    agent = pg_login(pg_store(CUSTOMERS, SEED), "srm_agent")
    session = Session(load_settings(db=agent, now=NOW, api_url="http://127.0.0.1:9/3.1"))
    try:
        with pytest.raises(CacheReadOnly, match="brought by the team's srm sync"):
            session.fetch_customer(customer_id=1)
    finally:
        session.close()
        session.cache.close()

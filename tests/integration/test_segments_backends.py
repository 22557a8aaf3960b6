"""Segments on the team's PostgreSQL store give the SQLite cache's answers (issue 15, ISSUE15
1(c)): one seeded data set, migrated by `srm team migrate`, evaluated on both backends.

- the facts, built on each, are equal row by row (PostgreSQL's casefolded columns folded in
  Python, its custom values kept flattened);
- every segment case of test_segments.py, under every selector, and the property test's trees
  (derandomized), at several clocks: the same members and counts, the same explain verdicts;
- after a migrate the facts are dirty: the owner's first read builds them, an agent or a
  viewer is told the team's sync builds them (never a count from missing facts);
- the `srm segment` commands on a postgresql:// store print what they print on the cache.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from srm_tui import segments as S
from srm_tui.segments import catalog, model
from srm_tui.segments.model import Segment
from srm_tui.storage import facts as F
from srm_tui.storage.cache import Cache
from srm_tui.storage.db import open_store
from srm_tui.storage.facts_pg import custom_values
from tests.integration.test_segments import EXAMPLE, NOW, SEGMENTS, cond, doc
from tests.unit.test_segments_property import trees

CUSTOMERS, SEED = 300, 7
SHIFTS = (0, -86400, 30 * 86400, -400 * 86400)


@pytest.fixture
def both(pg_store, seeded_cache):
    """(SQLite cache, PostgreSQL store) holding the same seeded customers."""
    url = pg_store(CUSTOMERS, SEED)
    cache = Cache(seeded_cache(CUSTOMERS, SEED))
    store = open_store(url)
    yield cache, store
    store.close()
    cache.close()


def _rows(conn, table, order):
    return [tuple(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY {order}")]


def _facts_equal(lite, pg) -> list[tuple]:
    """Assert the facts of both are equal (PostgreSQL's custom values flattened); the
    SQLite text rows."""
    assert _rows(lite, F.CUSTOMER_TABLE, "id") == _rows(pg, F.CUSTOMER_TABLE, "id")
    subs_lite = _rows(lite, F.SUBSCRIPTION_TABLE, "customer_id, id")
    props = F.SUB_COLUMNS.index("props") + 2
    flattened = [(*r[:props], custom_values(r[props])) for r in subs_lite]
    assert flattened == _rows(pg, F.SUBSCRIPTION_TABLE, "customer_id, id")
    text_lite = _rows(lite, F.TEXT_TABLE, "id")
    ext = F.TEXT_COLUMNS.index("external_data")
    flattened = [(*r[:ext], custom_values(r[ext]), custom_values(r[ext + 1])) for r in text_lite]
    assert flattened == _rows(pg, F.TEXT_TABLE, "id")
    return text_lite


def test_facts_are_equal_row_by_row(both):
    cache, store = both
    lite, pg = cache.conn(), store.conn()
    assert F.facts_state(pg) == (False, CUSTOMERS)  # migrate leaves them to be built
    F.ensure_facts(lite)
    assert F.ensure_facts(pg) == CUSTOMERS  # the owner builds them on first need
    assert F.facts_state(pg) == (True, 0)
    text_lite = _facts_equal(lite, pg)
    ext = F.TEXT_COLUMNS.index("external_data")
    assert any(r[ext] for r in text_lite)  # the data set has custom values to compare
    from srm_tui.segments.values import custom_keys

    assert sorted(custom_keys(pg)) == sorted(custom_keys(lite)) != []


def test_hostile_small_caches_agree(pg_cluster, tmp_path):
    """The property test's generated caches (case folding that changes length, ß/İ/ǅ, nulls,
    ties, custom values of every JSON type; here also subscriptions, passes and transactions
    without a date), migrated: the same facts and the same members for its trees."""
    import os

    from srm_tui.team.migrate import migrate
    from tests.unit import test_segments_property as P

    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    made = iter(range(1_000))

    @settings(
        max_examples=20,
        derandomize=True,
        database=None,
        deadline=None,
        # each example is a database and a migrate: a failure is reported as found, unshrunk
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        data=P.caches(),
        queries=st.lists(
            st.tuples(P.trees, st.sampled_from(catalog.SELECTORS), st.sampled_from([0, 1, -1])),
            min_size=20,
            max_size=40,
        ),
    )
    def check(data, queries):
        n = next(made)
        path = tmp_path / f"hostile{n}.db"
        cache = P.write_cache(path, data)
        with cache.transaction() as tx:  # dates the vendor may leave out: NULLs sort apart
            tx.execute("UPDATE subscriptions SET created_at = NULL WHERE id % 3 = 0")
            tx.execute("UPDATE passes SET created_at = NULL WHERE id % 3 = 0")
            tx.execute(
                "UPDATE transactions SET date = NULL WHERE (customer_id + length(id)) % 2 = 0"
            )
        cache.close()
        name = f"hostile_{worker}_{n}"
        url = pg_cluster.create_database(name)
        try:
            migrate(path, url)
            cache, store = Cache(path), open_store(url)
            try:
                lite, pg = cache.conn(), store.conn()
                F.ensure_facts(lite)
                F.ensure_facts(pg)
                _facts_equal(lite, pg)
                for where, selector, shift in queries:
                    _same(lite, pg, Segment(where=where, selector=selector), P.NOW + shift)
            finally:
                store.close()
                cache.close()
        finally:
            pg_cluster.drop_database(name)

    check()


def test_refresh_after_writes_matches_a_rebuild(both):
    cache, store = both
    pg = store.conn()
    F.ensure_facts(pg)
    ids = [r[0] for r in pg.execute("SELECT id FROM customers ORDER BY id LIMIT 5")]
    with store.transaction() as tx:
        tx.execute("UPDATE customers SET first_name = 'ŁUKASZ Straße' WHERE id = ?", (ids[0],))
        tx.execute("DELETE FROM subscriptions WHERE customer_id = ?", (ids[1],))
    assert F.facts_state(pg) == (True, 2)  # the store's triggers marked both
    assert F.ensure_facts(pg) == 2
    refreshed = {t: _rows(pg, t, "1") for t in (F.CUSTOMER_TABLE, F.TEXT_TABLE)}
    with store.transaction() as tx:
        F.rebuild_facts(tx)
    assert refreshed == {t: _rows(pg, t, "1") for t in (F.CUSTOMER_TABLE, F.TEXT_TABLE)}
    first = pg.execute(f"SELECT first_cf FROM {F.TEXT_TABLE} WHERE id = ?", (ids[0],))
    assert first.fetchone()[0] == "łukasz strasse"  # Python's casefold, not lower()


def _same(lite, pg, segment, now):
    ids = S.members(lite, segment, now)
    assert S.members(pg, segment, now) == ids, (segment, now)
    assert S.count(pg, segment, now) == len(ids) == S.count(lite, segment, now)
    return ids


@pytest.mark.parametrize("selector", catalog.SELECTORS)
def test_every_segment_case_has_the_same_members(both, selector):
    cache, store = both
    lite, pg = cache.conn(), store.conn()
    sizes = []
    for where in [*SEGMENTS, EXAMPLE["where"]]:
        segment = model.from_dict(doc(where, selector=selector))
        for shift in SHIFTS:
            ids = _same(lite, pg, segment, NOW + shift)
            if shift == 0:
                sizes.append(len(ids))
        page = S.members(pg, segment, NOW, after=None, limit=37)
        assert page == S.members(lite, segment, NOW)[:37]
    assert sizes[1] == CUSTOMERS and sizes[2] == 0
    assert sum(1 for n in sizes[3:] if 0 < n < CUSTOMERS) >= 5, sizes  # the cases pick people


def test_explain_verdicts_are_the_same(both):
    cache, store = both
    lite, pg = cache.conn(), store.conn()
    for where, selector in [
        (EXAMPLE["where"], "latest"),
        (SEGMENTS[5], "any"),
        (SEGMENTS[7], "longest"),
    ]:
        segment = model.from_dict(doc(where, selector=selector))
        ids = [r[0] for r in lite.execute("SELECT id FROM customers ORDER BY id LIMIT 40")]
        for cid in ids + S.members(lite, segment, NOW)[:10]:
            a, b = S.explain(lite, segment, cid, NOW), S.explain(pg, segment, cid, NOW)
            assert a.member == b.member
            assert [e.subscription_id for e in a.evaluations] == [
                e.subscription_id for e in b.evaluations
            ]
            for x, y in zip(a.evaluations, b.evaluations, strict=True):
                assert [(n.path, n.passed, n.value) for _, n in x.root.lines()] == [
                    (n.path, n.passed, n.value) for _, n in y.root.lines()
                ]
            assert a.text() == b.text()


def test_the_overview_numbers_are_the_same(both):
    from dataclasses import replace

    from srm_tui.segments import overview as O
    from srm_tui.segments.compile import compile_segment

    cache, store = both
    lite, pg = cache.conn(), store.conn()
    for where in ({"all": []}, EXAMPLE["where"], SEGMENTS[5], SEGMENTS[9]):
        for selector in catalog.SELECTORS:
            segment = model.from_dict(doc(where, selector=selector))
            for shift in (0, -400 * 86400):
                a, b = (
                    replace(
                        O.compute(c, compile_segment(segment, NOW + shift, conn=c), NOW + shift),
                        elapsed_ms=0,
                    )
                    for c in (lite, pg)
                )
                assert a == b, (where, selector, shift)
    everyone = O.compute(pg, compile_segment(Segment(), NOW, conn=pg), NOW)
    assert everyone.customers == CUSTOMERS and everyone.subscribers > 0 and everyone.churn_base > 0


def test_the_runner_on_the_store_answers_what_a_screen_compiled(both):
    from dataclasses import replace

    from srm_tui.segments.compile import compile_segment

    cache, store = both
    segment = model.from_dict({**EXAMPLE, "selector": "longest"})
    compiled = compile_segment(segment, NOW)  # as a screen compiles it: for no connection
    with S.SegmentRunner(store) as pg, S.SegmentRunner(cache, processes=1) as lite:
        counted = pg.count(segment, NOW)
        assert counted.customers == lite.count(segment, NOW).customers > 0
        assert pg.count(segment, NOW).cached
        assert pg.count_population(compiled).customers == counted.customers
        assert pg.rows(compiled, offset=2, limit=5) == lite.rows(compiled, offset=2, limit=5)
        assert pg.members(segment, NOW, limit=7) == lite.members(segment, NOW, limit=7)
        a, b = (replace(r.overview(compiled, NOW), elapsed_ms=0) for r in (pg, lite))
        assert a == b
        first = pg.members(segment, NOW, limit=1)[0]
        assert pg.explain(segment, first, NOW).member


def test_the_property_trees_have_the_same_members(both):
    cache, store = both
    lite, pg = cache.conn(), store.conn()
    F.ensure_facts(pg)

    @settings(
        max_examples=150,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        where=trees,
        selector=st.sampled_from(catalog.SELECTORS),
        shift=st.sampled_from([0, 1, -1, 86400, -86400]),
    )
    def check(where, selector, shift):
        sizes.append(len(_same(lite, pg, Segment(where=where, selector=selector), NOW + shift)))

    sizes: list[int] = []
    check()
    assert sum(1 for n in sizes if 0 < n < CUSTOMERS) >= 20, sizes  # trees that pick people


def test_facts_wait_for_the_sync_when_this_login_may_not_build_them(pg_store, pg_login, tmp_path):
    from tests.helpers import run_srm

    url = pg_store(CUSTOMERS, SEED)
    segment = model.from_dict(doc(cond("customer.status", "eq", "active")))
    for group in ("srm_agent", "srm_viewer"):
        store = open_store(pg_login(url, group))
        try:
            with pytest.raises(F.FactsNotReady, match="being built by srm sync"):
                S.count(store.conn(), segment, NOW)
        finally:
            store.close()
    f = tmp_path / "s.json"
    f.write_text(json.dumps(doc(cond("customer.status", "eq", "active"))))
    env = {"SRM_DB": pg_login(url, "srm_viewer"), "SRM_NOW": "2026-11-01T00:00:00Z"}
    result = run_srm("segment", "count", str(f), "--json", env=env)
    message = "the team's segment facts are being built by srm sync"
    assert result.returncode == 1 and result.stderr == f"srm: {message}\n"
    assert json.loads(result.stdout) == {"error": {"exit": 1, "message": message}}
    sync = open_store(pg_login(url, "srm_sync"))
    try:
        n = S.count(sync.conn(), segment, NOW)  # the sync's login builds them
    finally:
        sync.close()
    agent = open_store(pg_login(url, "srm_agent"))
    try:
        assert S.count(agent.conn(), segment, NOW) == n > 0
    finally:
        agent.close()
    result = run_srm("segment", "count", str(f), "--json", env=env)
    assert result.returncode == 0 and json.loads(result.stdout) == {"customers": n}


def test_segment_commands_on_a_migrated_store(pg_store, seeded_cache, tmp_path):
    from tests.helpers import run_srm

    url = pg_store(CUSTOMERS, SEED)
    db = seeded_cache(CUSTOMERS, SEED)
    f = tmp_path / "s.json"
    f.write_text(json.dumps({**EXAMPLE, "name": "Graceful", "selector": "any"}))
    g = tmp_path / "g.json"
    g.write_text(json.dumps(doc(cond("customer.status", "eq", "active"), name="Active")))
    outputs = {}
    for where in (str(db), url):
        env = {"SRM_DB": where, "SRM_NOW": "2026-11-01T00:00:00Z", "SRM_AGENT": "ann"}
        runs = [
            run_srm("segment", "count", str(g), "--json", env=env),
            run_srm("segment", "members", str(g), "--json", env=env),
            run_srm("segment", "save", str(f), "--json", env=env),
            run_srm("segment", "save", str(g), "--json", env=env),
            run_srm("segment", "list", "--json", env=env),
            run_srm("segment", "history", "Active", "--json", env=env),
            run_srm("segment", "export", str(g), "--format", "json", "--out", "-", env=env),
            run_srm("segment", "overview", "--saved", "Graceful", "--json", env=env),
        ]
        for result in runs:
            assert result.returncode == 0, (result.args, result.stderr)
        members = json.loads(runs[1].stdout)["customers"]
        explain = run_srm("segment", "explain", str(g), str(members[0]), env=env)
        assert explain.returncode == 0, explain.stderr
        overview = json.loads(runs[-1].stdout)
        del overview["elapsed_ms"]
        outputs[where] = [r.stdout for r in runs[:-1]] + [overview, explain.stdout]
    assert outputs[str(db)] == outputs[url]
    assert json.loads(outputs[url][0])["customers"] > 0
    assert [s["name"] for s in json.loads(outputs[url][4])] == ["Active", "Graceful"]


def test_a_scheduled_export_has_the_same_rows(both):
    """What a schedule writes (segments.schedules.rows: list columns and attribute values,
    money in a reporting currency) for a saved segment on each backend."""
    from srm_tui.segments import schedules
    from srm_tui.segments import store as saved_segments

    cache, store = both
    columns = [
        "id",
        "email",
        "subscription.state",
        "customer.mrr",
        "customer.last_name",
        "customer.latest_payment_rejection_reason",
        "subscription.renewals",
        "customer.custom.tier",
        "subscription.offer_title",
    ]
    segment = model.from_dict({**EXAMPLE, "name": "Dunning list", "selector": "highest_revenue"})
    written = []
    for conn in (cache.conn(), store.conn()):
        saved_segments.save(conn, segment, now=NOW, agent="ann")
        saved = saved_segments.get_saved(conn, "Dunning list")
        population = saved_segments.population(saved, NOW, conn)
        for currency in (None, "EUR"):
            written.append(list(schedules.rows(conn, population, NOW, columns, currency)))
    assert written[:2] == written[2:]
    assert len(written[0]) > 0


def test_an_export_to_a_file_is_the_same_and_recorded_on_both(pg_store, seeded_cache, tmp_path):
    """`srm segment export --out FILE` writes the same file from either backend and records it
    among the files holding personal data (it failed on the team store: the record took its
    connection for a store)."""
    from tests.helpers import run_srm

    url = pg_store(CUSTOMERS, SEED)
    db = seeded_cache(CUSTOMERS, SEED)
    g = tmp_path / "g.json"
    g.write_text(json.dumps(doc(cond("customer.status", "eq", "active"), name="Active")))
    written = []
    for n, where in enumerate((str(db), url)):
        out = tmp_path / f"active-{n}.csv"
        env = {"SRM_DB": where, "SRM_NOW": "2026-11-01T00:00:00Z", "SRM_AGENT": "ann"}
        result = run_srm("segment", "export", str(g), "--format", "csv", "--out", str(out), env=env)
        assert result.returncode == 0, result.stderr
        written.append(out.read_text(encoding="utf-8"))
        store = open_store(where)
        try:
            paths = [r[0] for r in store.conn().execute("SELECT path FROM exports")]
        finally:
            store.close()
        assert paths == [str(out.resolve())]
    assert written[0] == written[1] and written[0].count("\n") > 1

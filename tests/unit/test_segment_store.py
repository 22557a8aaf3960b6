"""Saved segments (versions, member diffs, static members, old formats), the overview's
numbers against the engine, tree editing and value reading: no terminal."""

from __future__ import annotations

import json

import pytest

from srm_tui.segments import count, model, store
from srm_tui.segments import editing as ed
from srm_tui.segments import overview as O
from srm_tui.segments.catalog import lookup
from srm_tui.segments.compile import compile_segment
from srm_tui.segments.model import All, AnyOf, Condition, Not, Segment, SegmentError
from srm_tui.segments.textform import format_tree, parse_tree
from srm_tui.segments.values import ValueProblem, parse_value, relative_date
from srm_tui.storage.cache import Cache
from tests.conftest import AS_OF

NOW = int(AS_OF.timestamp())
GRACE = Condition("subscription.state", "in", ("grace", "cancelled"))
PL_DE = Condition("customer.country", "in", ("PL", "DE"))


@pytest.fixture
def conn(seeded_cache):
    cache = Cache(seeded_cache(400, 3))
    yield cache.conn()
    cache.close()


def members(conn, segment):
    from srm_tui.segments import members as ids

    return set(ids(conn, segment, NOW))


# saving and versions ----------------------------------------------------------------------------


def test_every_save_is_a_version_with_definition_and_member_diffs(conn):
    first = Segment(where=All((GRACE,)), name="Dunning", tags=("retention",))
    c1 = store.save(conn, first, now=NOW, agent="anna")
    assert c1.version == 1 and c1.members == len(members(conn, first)) > 0
    assert c1.gained == c1.members and c1.lost == 0
    assert ("+", "  subscription.state in (grace, cancelled)") in c1.lines

    second = first.replace(where=All((GRACE, PL_DE)))
    preview = store.preview_save(conn, second, NOW, 1)
    assert preview.version == 2 and preview.gained == 0
    assert preview.lost == len(members(conn, first) - members(conn, second)) > 0
    assert ("+", "  customer.country in (PL, DE)") in preview.lines
    assert store.get_saved(conn, 1).version == 1  # a preview writes nothing

    c2 = store.save(conn, second, now=NOW + 60, agent="ben", segment_id=1, expect_version=1)
    assert (c2.version, c2.gained, c2.lost) == (2, 0, preview.lost)
    assert set(c2.lost_ids) <= members(conn, first) - members(conn, second)
    saved = store.get_saved(conn, "dunning")  # names ignore case
    assert (saved.version, saved.members, saved.updated_by) == (
        2,
        len(members(conn, second)),
        "ben",
    )
    history = store.versions(conn, 1)
    assert [v.version for v in history] == [2, 1]
    assert history[1].segment == first
    assert store.version_change(conn, 1, 2).lost == c2.lost

    with pytest.raises(SegmentError) as stale:  # someone saved meanwhile
        store.save(conn, first, now=NOW, agent="anna", segment_id=1, expect_version=1)
    assert "saved meanwhile" in str(stale.value)


def test_names_are_checked_and_unique(conn):
    store.save(conn, Segment(where=All((GRACE,)), name="VIP"), now=NOW, agent="a")
    with pytest.raises(SegmentError) as dup:
        store.save(conn, Segment(where=All((PL_DE,)), name="  vip "), now=NOW, agent="a")
    assert dup.value.faults[0].path == "name" and "exists" in dup.value.faults[0].message
    with pytest.raises(SegmentError) as empty:
        store.save(conn, Segment(where=All((PL_DE,)), name=" "), now=NOW, agent="a")
    assert empty.value.faults[0].path == "name"
    with pytest.raises(SegmentError) as bad_tree:
        store.save(
            conn,
            Segment(where=All((Condition("customer.country", "gt", 1),)), name="X"),
            now=NOW,
            agent="a",
        )
    assert bad_tree.value.faults[0].path == "where.all[0].op"


def test_static_segments_change_by_hand_each_change_a_version(conn):
    ids = [r[0] for r in conn.execute("SELECT id FROM customers ORDER BY id LIMIT 3")]
    saved = store.create_static(conn, "Callbacks", ("vip",), now=NOW, agent="anna", members=ids[:2])
    assert saved.static and saved.members == 2 and saved.version == 2
    change = store.change_members(
        conn, saved.id, add=[ids[2]], remove=[ids[0]], now=NOW, agent="ben"
    )
    assert (change.version, change.gained, change.lost) == (3, 1, 1)
    assert change.gained_ids == [ids[2]] and change.lost_ids == [ids[0]]
    assert store.change_members(conn, saved.id, add=[ids[2]], now=NOW, agent="b") is None
    inside = {s.name: on for s, on in store.static_memberships(conn, ids[2])}
    assert inside == {"Callbacks": True}
    population = store.population(store.get_saved(conn, saved.id), NOW)
    assert conn.execute(population.count_sql(), population.params).fetchone()[0] == 2
    with pytest.raises(SegmentError, match="not in the cache"):
        store.change_members(conn, saved.id, add=[1], now=NOW, agent="b")
    dynamic = store.save(conn, Segment(where=All((GRACE,)), name="Dyn"), now=NOW, agent="a")
    with pytest.raises(SegmentError, match="dynamic"):
        store.change_members(conn, store.get_saved(conn, "Dyn").id, add=ids[:1], now=NOW, agent="a")
    assert dynamic.version == 1


def test_rows_saved_by_an_older_srm_open_upgraded_and_newer_ones_are_listed_not_run(
    conn, monkeypatch
):
    old = Segment(where=All((GRACE,)), name="Old one")
    store.save(conn, old, now=NOW, agent="anna")

    # Say this srm writes version 2 documents: the row saved as version 1 must open
    # through the upgrade chain (model.UPGRADES), its meaning unchanged.
    seen = []

    def v1_to_v2(raw):
        seen.append(raw["version"])
        return dict(raw, version=2, description=raw.get("description") or "from v1")

    monkeypatch.setattr(model, "CURRENT_VERSION", 2)
    monkeypatch.setitem(model.UPGRADES, 1, v1_to_v2)
    saved = store.get_saved(conn, "old one")
    assert saved.format == 1 and saved.problem is None
    assert saved.segment.where == old.where and saved.segment.version == 2 and seen == [1]
    monkeypatch.undo()

    # A row from a newer srm: listed with the reason, never run or overwritten.
    newer = json.dumps({"version": 9, "name": "Future", "where": {"all": []}})
    conn.execute(
        "INSERT INTO segments (name, name_key, kind, format, definition, version, "
        "created_at, updated_at) VALUES ('Future', 'future', 'dynamic', 9, ?, 1, 0, "
        "0)",
        (newer,),
    )
    future = store.get_saved(conn, "future")
    assert future.segment is None and "newer srm" in future.problem
    assert [s.name for s in store.list_saved(conn)] == ["Future", "Old one"]
    with pytest.raises(SegmentError, match="cannot overwrite"):
        store.save(
            conn,
            Segment(where=All((GRACE,)), name="Future"),
            now=NOW,
            agent="a",
            segment_id=future.id,
        )


def test_a_cache_from_before_saved_segments_migrates(tmp_path):
    """A cache at the schema before saved segments opens and gains their tables."""
    import sqlite3

    from srm_tui.storage.cache import _statements
    from srm_tui.storage.schema import MIGRATIONS

    db = tmp_path / "old.db"
    mine = next(i for i, m in enumerate(MIGRATIONS) if "CREATE TABLE segments (" in m)
    raw = sqlite3.connect(db, isolation_level=None)
    for script in MIGRATIONS[:mine]:  # what an srm before saved segments wrote
        for statement in _statements(script):
            raw.execute(statement)
    raw.execute(f"PRAGMA user_version={mine}")
    raw.close()
    cache = Cache(db)
    assert store.list_saved(cache.conn()) == []
    cache.close()


def test_a_scheduled_segment_is_not_deleted(conn, tmp_path):
    from srm_tui.segments import schedules as S

    store.save(conn, Segment(where=All((GRACE,)), name="Kept"), now=NOW, agent="a")
    schedule = S.add(
        conn,
        "Kept",
        fmt="csv",
        columns=["id"],
        directory=str(tmp_path),
        every="1d",
        now=NOW,
        agent="a",
    )
    with pytest.raises(store.SegmentInUse, match=f"schedule {schedule.id}"):
        store.delete(conn, 1)
    S.remove(conn, schedule.id)
    store.delete(conn, 1)
    assert store.list_saved(conn) == []


# the overview ------------------------------------------------------------------------------------


@pytest.mark.parametrize("selector", ["latest", "any", "highest_revenue"])
def test_overview_bars_agree_with_the_engine(conn, selector):
    segment = Segment(
        where=All((Condition("customer.country", "in", ("PL", "DE", "US")),)), selector=selector
    )
    result = O.compute(conn, compile_segment(segment, NOW), NOW)
    assert result.customers == count(conn, segment, NOW)
    for panel in result.panels:
        assert sum(b.count for b in panel.bars) == result.customers, panel.key
        for bar in panel.bars:
            narrowed = Segment(
                where=All((segment.where, bar.node)),
                selector="latest" if selector == "any" else selector,
            )
            assert count(conn, narrowed, NOW) == bar.count, (panel.key, bar.label)


def test_overview_money_and_churn_match_plain_sql(conn):
    result = O.compute(conn, compile_segment(Segment(), NOW), NOW)
    expected = dict(
        conn.execute(
            "SELECT c.currency, sum(s.price * CASE s.period WHEN 'day' THEN 365.0 / 12 "
            "WHEN 'week' THEN 52.0 / 12 WHEN 'month' THEN 1 WHEN '3months' THEN 1.0 / 3 "
            "WHEN '6months' THEN 1.0 / 6 ELSE 1.0 / 12 END) FROM subscriptions s JOIN customers c "
            "ON c.id = s.customer_id WHERE s.status = 'active' AND NOT (s.in_trial AND "
            "s.date_to >= :now) GROUP BY 1",
            {"now": NOW},
        ).fetchall()
    )
    assert {k: round(v, 2) for k, v in result.mrr.items() if v} == {
        k: round(v, 2) for k, v in expected.items() if v
    }
    start = NOW - 30 * 86400
    base, gone = conn.execute(
        "SELECT sum(created_at <= :s AND (date_to IS NULL OR date_to >= :s OR status IN "
        "('active', 'paused'))), sum(created_at <= :s AND (date_to IS NULL OR date_to >= :s OR "
        "status IN ('active', 'paused')) AND (status = 'terminated' OR (status = 'stopped' AND "
        "date_to < :now))) FROM subscriptions",
        {"s": start, "now": NOW},
    ).fetchone()
    assert (result.churn_base, result.churned) == (base, gone)
    paying = conn.execute("SELECT count(*) FROM segment_customer_facts WHERE n_txn > 0").fetchone()[
        0
    ]
    assert sum(result.paying.values()) == paying


# editing the tree and reading values ---------------------------------------------------------------


def test_tree_edits_by_position_round_trip_through_the_text_form():
    tree = All((GRACE,))
    tree, at = ed.add_group(tree, (0,), "any")
    assert at == (1,) and tree == All((GRACE, AnyOf()))
    tree, at = ed.insert(tree, (1,), PL_DE)
    mrr = Condition("customer.mrr", "lt", 20)
    tree, at = ed.insert(tree, at, mrr)
    tree = ed.negate(tree, at)
    assert tree == All((GRACE, AnyOf((PL_DE, Not(mrr)))))
    assert parse_tree(format_tree(tree)) == tree
    assert [r.depth for r in ed.rows(tree)] == [0, 1, 1, 2, 2]
    moved, at = ed.move(tree, (1, 1), -1)
    assert moved.items[1] == AnyOf((Not(mrr), PL_DE))
    out, at = ed.outdent(tree, (1, 0))
    assert out == All((GRACE, AnyOf((Not(mrr),)), PL_DE)) and at == (2,)
    back, at = ed.indent(out, (2,))
    assert back == All((GRACE, AnyOf((Not(mrr), PL_DE))))
    assert ed.toggle_kind(tree, (1,)).items[1] == All((PL_DE, Not(mrr)))
    gone, at = ed.delete(tree, (1,))
    assert gone == All((GRACE,)) and at == (0,)
    with pytest.raises(ed.EditError):
        ed.indent(tree, (0,))
    with pytest.raises(ed.EditError):
        ed.move(tree, (0,), -1)
    narrowed, _ = ed.add_slice(AnyOf((GRACE, PL_DE)), mrr)
    assert narrowed == All((AnyOf((GRACE, PL_DE)), mrr))


@pytest.mark.parametrize(
    "attr, op, text, value",
    [
        ("customer.country", "in", "pl, DE", ("PL", "DE")),
        ("customer.mrr", "between", "10 and 20", (10, 20)),
        ("customer.status", "eq", "Active", "active"),
        ("subscription.in_trial", "eq", "yes", True),
        ("customer.email", "contains", "a, b", "a, b"),
        ("customer.last_login_at", "within_last", "2w", 14),
        # Relative dates stay relative (CONTRACT section 4), resolved at each evaluation.
        ("customer.registered_at", "before", "-30d", "-30d"),
        ("customer.registered_at", "after", "yesterday", "-1d"),
        ("customer.registered_at", "after", "2 weeks ago", "-2w"),
        ("customer.registered_at", "between", "-1y and today", ("-1y", "today")),
    ],
)
def test_values_read_as_typed(attr, op, text, value):
    assert parse_value(lookup(attr), op, text, NOW).value == value


@pytest.mark.parametrize(
    "attr, op, text, path, words",
    [
        ("customer.country", "in", "PL, DXX", "value[1]", "not an ISO code"),
        ("customer.mrr", "gt", "ten", "value", "must be a number"),
        ("customer.registered_at", "after", "2026-13-01", "value", "ISO 8601"),
        ("customer.last_login_at", "within_last", "soon", "value", "number of days"),
        ("customer.status", "eq", "gone", "value", "not a value of customer.status"),
        ("customer.mrr", "between", "10", "value", "two values"),
    ],
)
def test_bad_values_name_the_fault(attr, op, text, path, words):
    with pytest.raises(ValueProblem) as problem:
        parse_value(lookup(attr), op, text, NOW)
    assert problem.value.faults[0].path == path and words in problem.value.faults[0].message


def test_relative_dates():
    assert relative_date("today", NOW) == "2026-11-01"
    assert relative_date("in 1 week", NOW) == "2026-11-08"
    assert relative_date("3 days ago", NOW) == "2026-10-29"
    assert relative_date("2026-01-01", NOW) is None


def test_overview_totals_in_the_reporting_currency_with_the_rates_date(conn):
    from srm_tui.domain import money as M
    from srm_tui.domain.rates import Rates, shipped

    result = O.compute(conn, compile_segment(Segment(), NOW), NOW)
    table = shipped()
    assert len([c for c, v in result.mrr.items() if v]) > 1  # several currencies to total
    eur = result.reported(table, "EUR")
    assert eur.rates_date == table.date and eur.missing == []
    assert abs(eur.mrr - sum(table.convert(v, c, "EUR") for c, v in result.mrr.items())) < 1e-6
    assert eur.headline().startswith(f"MRR {M.money(eur.mrr, 'EUR')} · CLV ")
    assert f"(rates of {table.date})" in eur.headline()
    usd = result.reported(table, "USD")
    assert abs(usd.mrr - eur.mrr * table.rate("USD")) < 1e-6
    # A currency the rates lack is left out of the total and named.
    partial = Rates("2026-03-02", {"USD": 1.1}, "test")
    part = result.reported(partial, "EUR")
    assert set(part.missing) == {c for c, v in result.mrr.items() if v} - {"EUR", "USD"}
    assert "no rate" in part.headline()
    assert O.by_currency({"JPY": 1480.0, "EUR": 3.0}) == "1,480 JPY · 3.00 EUR"

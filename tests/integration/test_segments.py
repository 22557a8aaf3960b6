"""Segments (CONTRACT sections 3-5): files and their faults, the text form, counts, members,
explain, export, the facts kept in step with writes, and the `srm segment` commands."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from srm_tui import segments as S
from srm_tui.cli import main
from srm_tui.domain import models as m
from srm_tui.sandbox.seed import seed_cache
from srm_tui.segments import catalog, model
from srm_tui.segments.compile import compile_segment
from srm_tui.segments.model import All, AnyOf, Condition, Not, Segment
from srm_tui.storage import facts, records
from srm_tui.storage.cache import Cache
from srm_tui.storage.queries import SUMMARY_COLUMNS
from tests.conftest import AS_OF

NOW = int(AS_OF.timestamp())
NOW_ISO = "2026-11-01T00:00:00Z"

EXAMPLE = {
    "version": 1,
    "name": "Grace period, PL or DE, high value",
    "tags": ["dunning"],
    "selector": "latest",
    "where": {
        "all": [
            {"attr": "subscription.state", "op": "eq", "value": "grace"},
            {
                "any": [
                    {"attr": "customer.country", "op": "in", "value": ["PL", "DE"]},
                    {"not": {"attr": "customer.mrr", "op": "lt", "value": 20}},
                ]
            },
            {"attr": "customer.last_login_at", "op": "within_last", "value": 30},
        ]
    },
}


@pytest.fixture(scope="module")
def seeded(seeded_cache):
    db = seeded_cache(2000, 7)
    cache = Cache(db)
    yield db, cache
    cache.close()


def doc(where, **top):
    return {"version": 1, "name": "t", "where": where, **top}


def cond(attr, op, value=None):
    out = {"attr": attr, "op": op}
    if value is not None:
        out["value"] = value
    return out


# files and faults ------------------------------------------------------------------------

FAULTS = [
    ("unknown attribute", doc({"all": [cond("customer.shoe_size", "eq", 3)]}), "where.all[0].attr"),
    (
        "operator not for the type",
        doc(
            {
                "all": [
                    cond("subscription.state", "eq", "grace"),
                    {"any": [cond("customer.country", "lt", "PL")]},
                ]
            }
        ),
        "where.all[1].any[0].op",
    ),
    ("unknown operator", doc(cond("customer.email", "like", "x")), "where.op"),
    ("text value not text", doc(cond("customer.email", "eq", 5)), "where.value"),
    ("number value not a number", doc(cond("customer.mrr", "gt", "20")), "where.value"),
    ("a bool is not a number", doc(cond("customer.mrr", "gt", True)), "where.value"),
    ("between needs [a, b]", doc(cond("customer.mrr", "between", [1])), "where.value"),
    ("between is not a scalar", doc(cond("customer.mrr", "between", 5)), "where.value"),
    ("in needs a list", doc(cond("customer.country", "in", "PL")), "where.value"),
    (
        "a list item of the wrong type",
        doc(cond("customer.email", "in", ["a", 2])),
        "where.value[1]",
    ),
    (
        "within_last needs days >= 0",
        doc(cond("customer.last_login_at", "within_last", -1)),
        "where.value",
    ),
    (
        "within_next needs a number",
        doc(cond("subscription.expires_at", "within_next", "7")),
        "where.value",
    ),
    ("not an ISO date", doc(cond("customer.registered_at", "before", "yesterday")), "where.value"),
    (
        "between dates",
        doc(cond("customer.registered_at", "between", ["2026-01-01", "x"])),
        "where.value[1]",
    ),
    (
        "enum value not among its values",
        doc(cond("subscription.state", "eq", "dunning")),
        "where.value",
    ),
    ("country code not an ISO code", doc(cond("customer.country", "eq", "pl")), "where.value"),
    ("bool needs true or false", doc(cond("subscription.in_trial", "eq", "yes")), "where.value"),
    ("is_set takes no value", doc(cond("customer.email", "is_set", "x")), "where.value"),
    ("a value is missing", doc(cond("customer.email", "eq")), "where.value"),
    ("unknown selector", doc({"all": []}, selector="newest"), "selector"),
    ("a node that is not an object", doc({"all": [3]}), "where.all[0]"),
    ("all is not a list", doc({"all": {"attr": "customer.id"}}), "where.all"),
    (
        "an unknown key in a condition",
        doc({"all": [{**cond("customer.id", "eq", 1), "vaule": 2}]}),
        "where.all[0].vaule",
    ),
    ("missing where", {"version": 1, "name": "t"}, "where"),
    ("a newer version", {**doc({"all": []}), "version": 2}, "version"),
    ("tags not text", doc({"all": []}, tags=["a", 1]), "tags[1]"),
    ("custom key empty", doc(cond("customer.custom.", "eq", "x")), "where.attr"),
]


@pytest.mark.parametrize("what,document,path", FAULTS, ids=[f[0] for f in FAULTS])
def test_each_fault_is_exit_2_naming_its_path(tmp_path, what, document, path):
    f = tmp_path / "s.json"
    f.write_text(json.dumps(document))
    with pytest.raises(model.SegmentError) as err:
        model.load(f)
    assert err.value.faults[0].path == path
    result = CliRunner().invoke(main, ["segment", "check", str(f)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f" {path}: " in lines[0], lines


def test_a_file_that_is_not_json_is_exit_2(tmp_path):
    f = tmp_path / "s.json"
    f.write_text('{"version": 1,')
    result = CliRunner().invoke(main, ["segment", "check", str(f)])
    assert result.exit_code == 2 and "not JSON" in result.stderr


def test_the_contract_example_is_valid_and_keeps_its_shape():
    segment = model.from_dict(EXAMPLE)
    assert segment.to_dict() == EXAMPLE
    assert model.from_dict(json.loads(segment.to_json())) == segment


def test_dates_accept_iso_forms():
    from srm_tui.segments.validate import parse_date

    assert parse_date("2026-11-01") == NOW
    assert parse_date("2026-11-01T00:00:00Z") == NOW
    assert parse_date("2026-11-01T01:00:00+01:00") == NOW
    assert parse_date("2026-11-01T00:00:00") == NOW  # no offset: UTC


def test_old_versions_load_through_the_upgrade_chain(monkeypatch):
    """A version-1 file still loads after the format moves on (here: a pretend version 2)."""

    def v1_to_v2(raw):
        return {**raw, "version": 2, "where": raw["where"]}

    monkeypatch.setattr(model, "CURRENT_VERSION", 2)
    monkeypatch.setitem(model.UPGRADES, 1, v1_to_v2)
    assert model.from_dict(EXAMPLE).where == model.node_from_dict(EXAMPLE["where"])
    with pytest.raises(model.SegmentError) as err:
        model.from_dict({**EXAMPLE, "version": 3})
    assert err.value.faults[0].path == "version"


def test_catalog_covers_the_contract():
    names = {a.name for a in catalog.ATTRIBUTES}
    assert len(names) == 46
    for a in catalog.ATTRIBUTES:
        assert a.type in catalog.TYPES and a.group in catalog.GROUPS and a.label
    assert catalog.lookup("customer.custom.tier").type == "text"
    assert catalog.lookup("subscription.custom.plan").group == "Custom"
    assert catalog.lookup("customer.nope") is None
    assert set(catalog.lookup("subscription.state").values) == {
        "trial",
        "active",
        "grace",
        "cancelled",
        "paused",
        "churned",
    }


# text form ---------------------------------------------------------------------------------

scalars = st.one_of(
    st.text(max_size=12),
    st.integers(-(10**6), 10**6),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
)


@st.composite
def any_condition(draw):
    attr = draw(
        st.one_of(
            st.sampled_from([a.name for a in catalog.ATTRIBUTES]),
            st.text(min_size=1, max_size=10).map(lambda k: "customer.custom." + k),
        )
    )
    op = draw(st.sampled_from(sorted({o for ops in catalog.OPERATORS.values() for o in ops})))
    if op in catalog.NO_VALUE:
        value = None
    elif op in catalog.LIST_VALUE:
        value = draw(st.lists(st.one_of(st.none(), scalars), max_size=3).map(tuple))
    elif op == "between":
        value = draw(st.tuples(scalars, scalars))
    else:
        value = draw(st.one_of(st.none(), scalars))
    return Condition(attr, op, value)


any_tree = st.recursive(
    any_condition(),
    lambda kids: st.one_of(
        st.lists(kids, max_size=4).map(lambda xs: All(tuple(xs))),
        st.lists(kids, max_size=4).map(lambda xs: AnyOf(tuple(xs))),
        kids.map(Not),
    ),
    max_leaves=8,
)


@settings(max_examples=400, deadline=None)
@given(any_tree)
def test_text_form_reads_back_to_the_identical_tree(tree):
    text = S.format_tree(tree)
    assert S.parse_tree(text) == tree, text


def test_text_form_of_the_contract_example():
    segment = model.from_dict(EXAMPLE)
    text = S.format_tree(segment.where)
    assert text == (
        "subscription.state = grace and (customer.country in (PL, DE) or not "
        "customer.mrr < 20) and customer.last_login_at within last 30 days"
    )
    assert S.parse_tree(text) == segment.where
    # Keywords in any case, the operators' file names, and a quoted value.
    assert S.parse_tree('customer.email CONTAINS "@Example" AND NOT customer.mrr lt 5') == All(
        (
            Condition("customer.email", "contains", "@Example"),
            Not(Condition("customer.mrr", "lt", 5)),
        )
    )
    assert S.parse_tree("all()") == All(()) and S.parse_tree("any()") == AnyOf(())
    assert S.parse_tree("customer.registered_at more than 90 days ago") == Condition(
        "customer.registered_at", "more_than_days_ago", 90
    )


@pytest.mark.parametrize(
    "text,column",
    [
        ("customer.mrr <", 15),
        ("customer.mrr < 20 and", 22),
        ("(customer.mrr < 20", 19),
        ("customer.mrr lt 20 customer.id = 1", 20),
        ('customer.email = "abc', 18),
        ("customer.email is maybe", 19),
        ("= 5", 1),
        ("customer.country in PL", 21),
        ("customer.mrr between (1, 2, 3)", 22),
    ],
)
def test_text_form_errors_name_the_column(text, column):
    with pytest.raises(S.TextFormError) as err:
        S.parse_tree(text)
    assert err.value.position + 1 == column, str(err.value)
    assert str(err.value).startswith(f"column {column}:")


# counts, members, selectors ---------------------------------------------------------------

SEGMENTS = [
    EXAMPLE["where"],
    {"all": []},
    {"any": []},
    cond("customer.status", "eq", "prospect"),
    {"not": cond("customer.email", "ends_with", "example.org")},
    {
        "all": [
            cond("subscription.channel", "in", ["apple", "android"]),
            cond("subscription.mrr", "gte", 5),
        ]
    },
    {
        "any": [
            cond("customer.has_active_pass", "eq", True),
            cond("customer.latest_pass_title", "contains", "pass"),
        ]
    },
    {
        "all": [
            cond("customer.custom.tier", "eq", "GOLD"),
            cond("subscription.expires_at", "within_next", 14),
        ]
    },
    cond("customer.latest_payment_rejection_reason", "is_set"),
    {
        "all": [
            cond("customer.is_hybrid", "eq", True),
            cond("customer.active_subscriptions", "between", [1, 2]),
        ]
    },
]


@pytest.mark.parametrize("selector", catalog.SELECTORS)
def test_counts_agree_with_members_on_a_generated_cache(seeded, selector):
    _, cache = seeded
    conn = cache.conn()
    sizes = []
    for where in SEGMENTS:
        segment = model.from_dict(doc(where, selector=selector))
        ids = S.members(conn, segment, NOW)
        assert ids == sorted(set(ids))
        assert S.count(conn, segment, NOW) == len(ids)
        page, after, paged = 37, None, []
        while True:
            chunk = S.members(conn, segment, NOW, after=after, limit=page)
            paged += chunk
            if len(chunk) < page:
                break
            after = chunk[-1]
        assert paged == ids
        sizes.append(len(ids))
    assert sizes[1] == 2000 and sizes[2] == 0
    assert all(0 < n < 2000 for n in sizes[3:]), sizes  # each segment picks someone


def test_the_runner_counts_in_parallel_ranges_like_one_query(seeded):
    db, cache = seeded
    with S.SegmentRunner(db, processes=3, parallel_min=10) as runner:
        runner.warm()
        for where in SEGMENTS:
            for selector in ("latest", "any"):
                segment = model.from_dict(doc(where, selector=selector))
                result = runner.count(segment, NOW)
                assert result.customers == S.count(cache.conn(), segment, NOW)
                assert result.elapsed_ms >= 0
                assert result.parts == 3 or result.cached
                again = runner.count(segment, NOW)  # the same question is remembered
                assert again.cached and again.customers == result.customers
        assert len(runner._split()) == 3
        assert (
            runner.members(model.from_dict(EXAMPLE), NOW, limit=5)
            == S.members(cache.conn(), model.from_dict(EXAMPLE), NOW)[:5]
        )


def test_values_are_bound_never_written_into_the_sql(seeded):
    _, cache = seeded
    hostile = "x'); DROP TABLE customers; --"
    segment = Segment(
        where=All(
            (
                Condition("customer.email", "contains", hostile),
                Condition("customer.custom.a'b", "ne", hostile),
            )
        )
    )
    compiled = compile_segment(segment, NOW)
    assert hostile not in compiled.count_sql() and "a'b" not in compiled.count_sql()
    assert S.count(cache.conn(), segment, NOW) == 0


def test_straddling_dates_count_each_subscription(tmp_path):
    """A customer whose stopped or in-trial subscriptions end on both sides of now."""
    cache = Cache(tmp_path / "c.db")
    subs = [
        (1, "stopped", False, NOW - 1),
        (2, "stopped", False, NOW),
        (3, "active", True, NOW - 1),
        (4, "active", True, NOW),
        (5, "active", True, None),
        (6, "active", False, NOW + 5),
    ]
    with cache.transaction() as tx:
        records.upsert(tx, "customers", [m.Customer(id=1)], NOW)
        records.upsert(
            tx,
            "subscriptions",
            [
                m.Subscription(
                    subscriptionId=i,
                    customerId=1,
                    offerId="S100000001",
                    status=status,
                    inTrial=trial,
                    dateTo=to,
                    createdAt=NOW - 100,
                    period="month",
                    nextPaymentPrice=10.0 * i,
                )
                for i, status, trial, to in subs
            ],
            NOW,
        )
    conn = cache.conn()

    def value(attr, now=NOW):
        explanation = S.explain(conn, Segment(where=Condition(attr, "is_set")), 1, now)
        return explanation.evaluations[0].root.value

    # At NOW: 1 churned, 2 cancelled, 3 grace, 4 and 5 trial, 6 active.
    assert value("customer.active_subscriptions") == 5
    assert value("customer.paid_active_subscriptions") == 3
    assert value("customer.churned_subscriptions") == 1
    assert value("customer.mrr") == 30.0 + 60.0
    assert value("customer.status") == "active"
    # One second later, 2 has churned and 4 is in grace.
    assert value("customer.active_subscriptions", NOW + 1) == 4
    assert value("customer.paid_active_subscriptions", NOW + 1) == 3
    assert value("customer.churned_subscriptions", NOW + 1) == 2
    assert value("customer.mrr", NOW + 1) == 30.0 + 40.0 + 60.0
    cache.close()


# the facts follow writes ------------------------------------------------------------------


def _facts(conn):
    return (
        conn.execute(f"SELECT * FROM {facts.CUSTOMER_TABLE} ORDER BY id").fetchall(),
        conn.execute(f"SELECT * FROM {facts.SUBSCRIPTION_TABLE} ORDER BY id").fetchall(),
    )


def test_refresh_in_the_writers_transaction_matches_a_rebuild(tmp_path):
    cache = Cache(tmp_path / "c.db")
    seed_cache(cache, 300, 3, AS_OF)
    conn = cache.conn()
    facts.ensure_facts(conn)
    assert facts.facts_state(conn) == (True, 0)
    subs = records.raw_records(conn, "subscriptions")[:40]
    moved = [
        m.Subscription.model_validate(
            {**s, "status": "terminated", "customerId": subs[0]["customerId"]}
        )
        for s in subs
    ]
    with cache.transaction() as tx:  # what the sync engine does with a page
        touched = records.upsert(tx, "subscriptions", moved, NOW)
        facts.refresh_facts(tx, touched)
        records.delete(tx, "customers", [subs[1]["customerId"]])
        facts.refresh_facts(tx, [subs[1]["customerId"]])
    # Customers the subscriptions moved away from are refreshed by the triggers' record.
    facts.ensure_facts(conn)
    assert facts.facts_state(conn) == (True, 0)
    refreshed = _facts(conn)
    with cache.transaction() as tx:
        facts.rebuild_facts(tx)
    assert _facts(conn) == refreshed
    cache.close()


def test_a_write_by_anyone_marks_the_customer(tmp_path):
    cache = Cache(tmp_path / "c.db")
    seed_cache(cache, 50, 4, AS_OF)
    conn = cache.conn()
    facts.ensure_facts(conn)
    cid = conn.execute("SELECT id FROM customers LIMIT 1").fetchone()[0]
    with cache.transaction() as tx:
        tx.execute("UPDATE customers SET first_name = 'ǅemal' WHERE id = ?", (cid,))
    assert facts.facts_state(conn) == (True, 1)
    segment = Segment(where=Condition("customer.first_name", "eq", "ǆEMAL"))
    assert S.members(conn, segment, NOW) == [cid]  # casefold, not ASCII lower()
    cache.close()


# explain and export -----------------------------------------------------------------------


def test_explain_shows_each_value_and_verdict(seeded):
    _, cache = seeded
    conn = cache.conn()
    segment = model.from_dict(EXAMPLE)
    members = set(S.members(conn, segment, NOW))
    ids = [r[0] for r in conn.execute("SELECT id FROM customers ORDER BY id LIMIT 60")]
    for cid in ids + sorted(members)[:20]:
        result = S.explain(conn, segment, cid, NOW)
        assert result.member == (cid in members)
        (ev,) = result.evaluations
        country = conn.execute("SELECT country FROM customers WHERE id = ?", (cid,)).fetchone()[0]
        by_path = {n.path: n for _, n in ev.root.lines()}
        node = by_path["where.all[1].any[0]"]
        assert node.value == country and node.passed == (country in ("PL", "DE"))
        assert by_path["where.all[1].any[1]"].passed == (
            not by_path["where.all[1].any[1].not"].passed
        )
        assert ev.root.passed == all(c.passed for c in ev.root.children)
        text = result.text()
        assert ("IN the segment" if cid in members else "NOT IN the segment") in text
        assert "customer.country in (PL, DE)   [value: " in text
    with pytest.raises(LookupError):
        S.explain(conn, segment, 1, NOW)


def test_explain_with_any_lists_every_subscription(seeded):
    _, cache = seeded
    conn = cache.conn()
    segment = model.from_dict(doc(cond("subscription.state", "eq", "churned"), selector="any"))
    cid, n = conn.execute(
        "SELECT customer_id, count(*) FROM subscriptions GROUP BY 1 HAVING count(*) > 1 LIMIT 1"
    ).fetchone()
    result = S.explain(conn, segment, cid, NOW)
    assert len(result.evaluations) == n
    assert result.member == any(e.root.value == "churned" for e in result.evaluations)
    assert result.member == (cid in S.members(conn, segment, NOW))


def test_export_writes_the_list_columns(seeded, tmp_path):
    _, cache = seeded
    conn = cache.conn()
    segment = model.from_dict(EXAMPLE)
    ids = S.members(conn, segment, NOW)
    n = S.export(conn, segment, NOW, "csv", tmp_path / "m.csv")
    rows = list(csv.DictReader(io.StringIO((tmp_path / "m.csv").read_text(encoding="utf-8"))))
    assert n == len(rows) == len(ids) > 0
    assert tuple(rows[0]) == SUMMARY_COLUMNS
    assert [int(r["id"]) for r in rows] == ids
    assert (tmp_path / "m.csv").stat().st_mode & 0o777 == 0o600
    S.export(conn, segment, NOW, "json", tmp_path / "m.json")
    data = json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))
    assert [r["id"] for r in data] == ids and tuple(data[0]) == SUMMARY_COLUMNS
    assert data[0]["registered_at"].endswith("Z")
    assert [r["email"] for r in data] == [r["email"] or None for r in rows]
    empty = model.from_dict(doc({"any": []}))
    S.export(conn, empty, NOW, "json", tmp_path / "e.json")
    assert json.loads((tmp_path / "e.json").read_text()) == []


# the commands -----------------------------------------------------------------------------


def test_segment_commands(seeded, tmp_path):
    db, cache = seeded
    f = tmp_path / "s.json"
    f.write_text(json.dumps(EXAMPLE))
    run = CliRunner().invoke
    common = ["--db", str(db), "--now", NOW_ISO]
    ids = S.members(cache.conn(), model.from_dict(EXAMPLE), NOW)

    out = run(main, ["segment", "count", str(f), "--json", *common])
    assert out.exit_code == 0 and json.loads(out.stdout) == {"customers": len(ids)}
    out = run(main, ["segment", "members", str(f), "--json", *common])
    assert out.exit_code == 0 and json.loads(out.stdout) == {"customers": ids}
    out = run(main, ["segment", "explain", str(f), str(ids[0]), *common])
    assert out.exit_code == 0 and "IN the segment" in out.stdout
    assert "subscription.state = grace" in out.stdout and "[value: grace]" in out.stdout
    out = run(main, ["segment", "explain", str(f), "12x", *common])
    assert out.exit_code == 2 and "CUSTOMER_ID" in out.stderr
    out = run(
        main,
        ["segment", "export", str(f), "--format", "csv", "--out", str(tmp_path / "o.csv"), *common],
    )
    assert out.exit_code == 0 and out.stdout == ""
    assert len((tmp_path / "o.csv").read_text().splitlines()) == len(ids) + 1
    out = run(main, ["segment", "export", str(f), "--format", "xml", "--out", "x", *common])
    assert out.exit_code == 2
    out = run(main, ["segment", "check", str(f)])
    assert out.exit_code == 0 and "valid" in out.stdout
    # --now moves relative dates and states: a year on, the grace period is long over.
    later = run(
        main, ["segment", "count", str(f), "--json", "--db", str(db), "--now", "2027-11-01"]
    )
    assert json.loads(later.stdout)["customers"] != len(ids)


def test_count_runs_in_a_real_process(seeded, tmp_path):
    from tests.helpers import run_srm

    db, cache = seeded
    f = tmp_path / "s.json"
    f.write_text(json.dumps(doc(cond("customer.status", "eq", "active"), selector="any")))
    result = run_srm(
        "segment", "count", str(f), "--json", env={"SRM_DB": str(db), "SRM_NOW": NOW_ISO}
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "customers": S.count(cache.conn(), model.from_dict(json.loads(f.read_text())), NOW)
    }
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc({"all": [cond("customer.status", "eq", "vip")]})))
    result = run_srm("segment", "count", str(bad), env={"SRM_DB": str(db)})
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.strip().count("\n") == 0 and "where.all[0].value" in result.stderr


def test_segments_import_no_textual():
    import subprocess
    import sys

    code = (
        "import sys, srm_tui.segments, srm_tui.segments.engine;"
        "print(any(m == 'textual' or m.startswith('textual.') for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


# relative dates, reversed between, money in a named currency (issue 12) ------------------


def _count(conn, where, now=NOW):
    return S.count(conn, model.from_dict(doc(where)), now)


def _plain(conn, sql, params=()):
    return conn.execute(sql, params).fetchone()[0]


@pytest.mark.parametrize("value, seconds", [("now", 0), ("-30d", -30 * 86400), ("+2w", 14 * 86400)])
def test_relative_dates_stay_relative_and_resolve_at_each_evaluation(seeded, value, seconds):
    db, cache = seeded
    conn = cache.conn()
    where = {"all": [cond("customer.registered_at", "after", value)]}
    segment = model.from_dict(doc(where))
    assert model.node_to_dict(segment.where)["all"][0]["value"] == value  # saved as written
    # Explain says what the relative date stands for at this evaluation.
    from srm_tui.domain.time import utc

    shown = S.explain(conn, segment, _plain(conn, "SELECT min(id) FROM customers"), NOW)
    assert f"{value} = {utc(NOW + seconds)} UTC" in shown.text()
    for now in (NOW, NOW - 200 * 86400):
        expected = _plain(
            conn, "SELECT count(*) FROM customers WHERE registered_at > ?", (now + seconds,)
        )
        assert S.count(conn, segment, now) == expected


def test_today_and_calendar_months_and_years(seeded):
    from srm_tui.segments.validate import parse_date, resolve_date

    db, cache = seeded
    conn = cache.conn()
    now = NOW + 13 * 3600  # 2026-11-01 13:00Z: today is 00:00Z of that day
    today = _count(conn, {"all": [cond("customer.last_login_at", "after", "today")]}, now)
    assert today == _plain(conn, "SELECT count(*) FROM customers WHERE last_login_at > ?", (NOW,))
    # -3m from 2026-11-01 13:00 is 2026-08-01 13:00; -1y is 2025-11-01 13:00.
    for value, iso in (("-3m", "2026-08-01T13:00:00Z"), ("-1y", "2025-11-01T13:00:00Z")):
        at = parse_date(iso)
        got = _count(conn, {"all": [cond("customer.registered_at", "before", value)]}, now)
        assert got == _plain(conn, "SELECT count(*) FROM customers WHERE registered_at < ?", (at,))
    # 31 March minus a month is the last day of February.
    assert resolve_date("-1m", parse_date("2026-03-31T10:00:00Z")) == parse_date(
        "2026-02-28T10:00:00Z"
    )


@pytest.mark.parametrize(
    "value, fault",
    [
        (["2026-02-01", "2026-01-01"], "where.all[0].value"),
        (["-7d", "-30d"], "where.all[0].value"),
        (["today", "-1d"], "where.all[0].value"),
    ],
)
def test_between_with_reversed_bounds_is_exit_2_naming_the_value(tmp_path, value, fault):
    f = tmp_path / "s.json"
    f.write_text(json.dumps(doc({"all": [cond("customer.registered_at", "between", value)]})))
    out = CliRunner().invoke(main, ["segment", "check", str(f)])
    assert out.exit_code == 2
    assert f"{fault}: between needs its first bound <= its second" in out.stderr


def test_between_numbers_reversed_and_relative_dates_in_order():
    bad = doc({"all": [cond("customer.mrr", "between", [50, 10])]})
    with pytest.raises(model.SegmentError) as exc:
        model.from_dict(bad)
    assert exc.value.faults[0].path == "where.all[0].value"
    ok = doc({"all": [cond("customer.registered_at", "between", ["-1y", "today"])]})
    assert model.from_dict(ok).where.items[0].value == ("-1y", "today")
    for wrong in ("-30x", "30d", "yesterday", "-1.5d"):
        with pytest.raises(model.SegmentError):
            model.from_dict(doc({"all": [cond("customer.registered_at", "after", wrong)]}))


def test_money_condition_in_a_currency_converts_with_the_rates(seeded, tmp_path):
    from srm_tui.domain import rates

    db, cache = seeded
    conn = cache.conn()
    table = rates.in_force(conn)
    rows = conn.execute("SELECT id, currency, revenue FROM segment_customer_facts").fetchall()
    plain = {r[0] for r in rows if r[2] > 500 * facts.MICRO}
    converted = {
        r[0]
        for r in rows
        if table.has(r[1]) and r[2] * table.factor(r[1], "EUR") > 500 * facts.MICRO
    }
    jpy = {r[0] for r in rows if r[1] == "JPY" and r[2] > 500 * facts.MICRO}
    assert jpy and jpy <= plain and not jpy <= converted  # yen no longer pass as euros
    where = {"all": [{**cond("customer.lifetime_revenue", "gt", 500), "currency": "EUR"}]}
    segment = model.from_dict(doc(where))
    assert set(S.members(conn, segment, NOW)) == converted
    assert (
        set(
            S.members(
                conn,
                model.from_dict(doc({"all": [cond("customer.lifetime_revenue", "gt", 500)]})),
                NOW,
            )
        )
        == plain
    )
    # Explain shows the converted amount in the condition's currency.
    some = sorted(converted)[0]
    shown = S.explain(conn, segment, some, NOW)
    node = shown.evaluations[0].root.children[0]
    assert node.passed and node.currency == "EUR" and node.value > 500
    assert "EUR]" in shown.text()
    # A currency the rates lack: null, so only "is not set" holds.
    missing = {**cond("customer.lifetime_revenue", "is_not_set"), "currency": "XAU"}
    assert _count(conn, {"all": [missing]}) == len(rows)
    # The file keeps the currency, and the text form reads it back.
    assert model.node_to_dict(segment.where)["all"][0]["currency"] == "EUR"
    text = S.format_tree(segment.where)
    assert text == "all(customer.lifetime_revenue > 500 in EUR)"
    assert S.parse_tree(text) == segment.where


def test_imported_rates_are_the_ones_conditions_use(tmp_path):
    db = tmp_path / "c.db"
    cache = Cache(db)
    seed_cache(cache, 300, 3, AS_OF)
    cache.close()
    f = tmp_path / "s.json"
    f.write_text(
        json.dumps(
            doc({"all": [{**cond("customer.lifetime_revenue", "gt", 0), "currency": "EUR"}]})
        )
    )
    run = CliRunner().invoke
    common = ["--db", str(db), "--now", NOW_ISO]
    before = json.loads(run(main, ["segment", "count", str(f), "--json", *common]).stdout)
    rates_file = tmp_path / "r.csv"
    rates_file.write_text("Date,USD,\n2026-03-02,1.1,\n")  # only USD (and EUR, the base)
    assert run(main, ["rates", "import", str(rates_file), *common]).exit_code == 0
    after = json.loads(run(main, ["segment", "count", str(f), "--json", *common]).stdout)
    cache = Cache(db)
    expected = _plain(
        cache.conn(),
        "SELECT count(*) FROM segment_customer_facts WHERE "
        "revenue > 0 AND currency IN ('EUR', 'USD')",
    )
    cache.close()
    assert after["customers"] == expected < before["customers"]


def test_field_currency_is_only_for_money():
    with pytest.raises(model.SegmentError) as exc:
        model.from_dict(doc({"all": [{**cond("customer.country", "eq", "PL"), "currency": "EUR"}]}))
    assert exc.value.faults[0].path == "where.all[0].currency"
    with pytest.raises(model.SegmentError) as exc:
        model.from_dict(doc({"all": [{**cond("customer.mrr", "gt", 5), "currency": "eur"}]}))
    assert exc.value.faults[0].path == "where.all[0].currency"


def test_builder_values_keep_relative_dates_and_read_a_currency():
    from srm_tui.segments.catalog import lookup
    from srm_tui.segments.values import parse_value, value_text

    date = lookup("customer.registered_at")
    for typed, kept in (
        ("2 weeks ago", "-2w"),
        ("-30d", "-30d"),
        ("today", "today"),
        ("in 3 months", "+3m"),
        ("yesterday", "-1d"),
    ):
        assert parse_value(date, "after", typed, NOW).value == kept
    assert parse_value(date, "between", "1 year ago and today", NOW).value == ("-1y", "today")
    money = lookup("customer.lifetime_revenue")
    parsed = parse_value(money, "gt", "500 USD", NOW)
    assert (parsed.value, parsed.currency) == (500, "USD")
    assert parse_value(money, "gt", "500", NOW).currency is None
    assert value_text(Condition("customer.lifetime_revenue", "gt", 500, "USD")) == "500 USD"


def test_exports_write_money_in_the_reporting_currency_with_the_rates_date(seeded, tmp_path):
    from srm_tui.domain import rates
    from srm_tui.segments import schedules as X

    db, cache = seeded
    conn = cache.conn()
    segment = model.from_dict(
        doc(
            {
                "all": [
                    cond("customer.currency", "in", ["JPY", "USD"]),
                    cond("customer.lifetime_revenue", "gt", 0),
                ]
            }
        )
    )
    columns = ["id", "currency", "customer.lifetime_revenue"]
    own = X.export_definition(
        conn, segment, now=NOW, fmt="json", columns=columns, path=tmp_path / "own.json"
    )
    eur = X.export_definition(
        conn,
        segment,
        now=NOW,
        fmt="json",
        columns=columns,
        path=tmp_path / "eur.json",
        currency="EUR",
    )
    assert own.rows == eur.rows > 0
    table = rates.in_force(conn)
    mine = {r["id"]: r for r in json.loads((tmp_path / "own.json").read_text())}
    for row in json.loads((tmp_path / "eur.json").read_text()):
        before = mine[row["id"]]
        assert row["currency"] == before["currency"]  # each customer's own stays visible
        expected = before["customer.lifetime_revenue"] * table.factor(row["currency"], "EUR")
        assert abs(row["customer.lifetime_revenue"] - expected) < 0.01
    about = json.loads((tmp_path / "eur.json.segment.json").read_text())
    assert about["money"]["currency"] == "EUR" and about["money"]["rates_date"] == table.date
    assert "money" not in json.loads((tmp_path / "own.json.segment.json").read_text())

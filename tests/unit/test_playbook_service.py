"""The playbook service over a real cache (no API): versions and conflicts, the cache's
references, first-match proposals with each offer's preview, the report from the audit
trail, and a V8 cache migrating forward with nothing lost."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone

import pytest

from srm_tui.actions import ActionRefused
from srm_tui.config import load_settings
from srm_tui.playbook.model import Offer, Playbook, Rule, parse
from srm_tui.playbook.service import PlaybookConflict
from srm_tui.session import Session
from srm_tui.storage import schema
from srm_tui.storage.cache import Cache

AS_OF = "2026-11-01T00:00:00Z"
NOW = int(datetime(2026, 11, 1, tzinfo=timezone.utc).timestamp())


@pytest.fixture
def session(seeded_cache):
    made = Session(load_settings(db=str(seeded_cache(120, 4)), now=AS_OF, agent="anna"))
    yield made
    made.close()
    made.cache.close()


def viewer(session: Session) -> Session:
    return Session(
        load_settings(db=str(session.cache.path), now=AS_OF, agent="vic", role="viewer"),
        session.cache,
    )


def rows(session: Session, sql: str, *params) -> list[tuple]:
    return [tuple(r) for r in session.cache.conn().execute(sql, params)]


def everyone(*offers: Offer, name: str = "Everyone") -> Rule:
    return Rule(name, {"where": {"all": []}}, offers)


def active_subscription(session: Session, skip: int = 0) -> tuple[int, int]:
    """(customer id, subscription id) of an active web subscription, its customer's only one."""
    found = rows(
        session,
        "SELECT s.customer_id, s.id FROM subscriptions s WHERE s.status = 'active' "
        "AND s.gateway IN ('adyen', 'paypal') AND s.in_trial = 0 AND s.date_to > ? "
        "AND (SELECT count(*) FROM subscriptions o WHERE o.customer_id = s.customer_id) = 1 "
        "ORDER BY s.id",
        NOW,
    )
    assert len(found) > skip, "no active subscription"
    return found[skip]


def test_versions_are_kept_and_a_save_on_an_older_one_is_refused(session):
    service = session.playbook
    assert service.current() == Playbook(0, ())
    first = service.save(Playbook(0, (everyone(Offer("let-go")),)), base_version=0)
    assert first.version == 1 and service.current() == first
    second = service.save(Playbook(7, (everyone(Offer("extend", days=3)),)), base_version=1)
    assert second.version == 2  # the number is the cache's, not the file's
    with pytest.raises(PlaybookConflict) as caught:
        service.save(Playbook(0, ()), base_version=1)
    assert caught.value.current == 2 and "version 2" in str(caught.value)
    assert [v for v, _at, _by in service.versions()] == [2, 1]
    assert service.versions()[0][2] == "anna"
    assert service.get(1) == first and service.get(9) is None
    with pytest.raises(ActionRefused):
        viewer(session).playbook.save(Playbook(0, ()), base_version=2)
    assert service.current().version == 2


def test_check_names_each_reference_the_cache_does_not_hold(session):
    code = rows(session, "SELECT code FROM campaign_codes LIMIT 1")[0][0]
    loc = rows(session, "SELECT id FROM localizations WHERE id LIKE 'S%' LIMIT 1")[0][0]
    pb = parse(
        {
            "format": "srm-playbook",
            "rules": [
                {"name": "a", "segment": "nobody-saved-this", "offers": [{"kind": "let-go"}]},
                {
                    "name": "b",
                    "segment": {"where": {"all": []}},
                    "offers": [
                        {"kind": "coupon", "coupon": "NOPE-NOPE"},
                        {"kind": "coupon", "coupon": code},
                        {"kind": "switch", "offer": "S999999999_US"},
                        {"kind": "switch", "offer": loc},
                        {"kind": "switch", "offer": loc.split("_")[0]},
                    ],
                },
            ],
        }
    )
    assert [str(f) for f in session.playbook.check(pb)] == [
        "rules[0].segment: no saved segment 'nobody-saved-this'",
        "rules[1].offers[0].coupon: no campaign in the cache holds 'NOPE-NOPE' "
        "(srm sync brings the campaigns)",
        "rules[1].offers[2].offer: no offer S999999999_US in the cache (srm sync brings offers)",
    ]


def test_first_match_wins_and_each_offer_says_what_it_changes(session):
    cid, sid = active_subscription(session)
    other_cid, _ = active_subscription(session, skip=1)
    code = rows(session, "SELECT code FROM campaign_codes LIMIT 1")[0][0]
    end = rows(session, "SELECT date_to FROM subscriptions WHERE id = ?", sid)[0][0]
    pb = Playbook(
        0,
        (
            Rule(
                "Someone else",
                {"where": {"attr": "customer.id", "op": "eq", "value": other_cid}},
                (Offer("let-go"),),
            ),
            Rule(
                "This subscription",
                {"where": {"attr": "subscription.id", "op": "eq", "value": sid}},
                (Offer("pause", cycles=1), Offer("extend", days=14), Offer("let-go")),
            ),
            everyone(Offer("coupon", coupon=code), name="Everyone"),
        ),
    )
    session.playbook.save(pb, base_version=0)
    found = session.playbook.proposals(cid, sid)
    assert found.matched and found.rule.name == "This subscription" and found.rule_index == 1
    assert found.version == 1
    pause, extend, let_go = found.offers
    assert pause.preview is not None and pause.preview.action == "pause"
    assert pause.available or pause.refused.startswith("pause.")  # the offer's own rule
    assert extend.available and extend.args["until"] == datetime.fromtimestamp(
        end + 14 * 86400, timezone.utc
    ).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert any(line.startswith("end date:") for line in extend.changes())
    assert let_go.lets_go and let_go.action is None
    assert found.to_json()["offers"][0]["refused"] == pause.refused
    assert found.to_json()["offers"][1]["changes"][0]["what"] == "end date"
    # subscription.* describes the subscription being cancelled: another of the same
    # customer's would not match the second rule (the customer's only one does).
    assert session.playbook.for_subscription(sid).rule.name == "This subscription"
    assert session.playbook.for_subscription(1) is None  # not cached


def test_no_rule_when_the_playbook_is_empty_or_the_cancel_itself_is_blocked(session):
    cid, sid = active_subscription(session)
    assert not session.playbook.proposals(cid, sid).matched  # no playbook saved
    session.playbook.save(Playbook(0, (everyone(Offer("let-go")),)), base_version=0)
    assert session.playbook.proposals(cid, sid).matched
    stopped = rows(
        session, "SELECT customer_id, id FROM subscriptions WHERE status = 'stopped' LIMIT 1"
    )[0]
    assert not session.playbook.proposals(*stopped).matched  # cancel.not-active: nothing to save


def test_offered_once_per_showing_and_the_report_counts_from_the_audit(session):
    cid, sid = active_subscription(session)
    session.playbook.save(
        Playbook(0, (everyone(Offer("extend", days=5), Offer("let-go"), name="All"),)),
        base_version=0,
    )
    found = session.playbook.proposals(cid, sid)
    assert session.playbook.offered(found) is True
    assert session.playbook.offered(found) is False  # shown again, still unanswered
    assert viewer(session).playbook.offered(found) is False  # a viewer offers nothing
    # Offline (no API): the taken offer queues in the outbox like any action.
    outcome = session.playbook.take(found, 1)
    assert outcome.status == "queued" and outcome.preview.action == "extend"
    assert rows(session, "SELECT action FROM outbox") == [("extend",)]
    assert session.playbook.offered(found) is True  # a new showing after the answer
    report = session.playbook.report(None).to_json()
    assert (report["offered"], report["taken"], report["declined"]) == (2, 1, 0)
    assert report["rules"][0]["offers"][0] == {
        "offer": "extend access 5 days",
        "kind": "extend",
        "offered": 2,
        "taken": 1,
        "declined": 0,
        "save_rate": 0.5,
    }
    assert session.playbook.report(NOW + 1).to_json()["offered"] == 0
    details = [
        json.loads(a)
        for (a,) in rows(session, "SELECT after FROM audit WHERE action = 'retention.taken'")
    ]
    assert details[0]["rule"] == "All" and details[0]["version"] == 1
    assert details[0]["describe"] == "extend access 5 days"


def test_a_v8_cache_migrates_forward_with_nothing_lost(tmp_path):
    db = tmp_path / "v8.db"
    conn = sqlite3.connect(db)
    for script in schema.MIGRATIONS[:8]:
        conn.executescript(script)
    conn.execute("PRAGMA user_version=8")
    conn.execute(
        "INSERT INTO audit (at, agent, action, target, outcome) "
        "VALUES (1, 'anna', 'cancel', 'subscription 1', 'applied')"
    )
    conn.commit()
    conn.close()
    cache = Cache(db)
    try:
        assert cache.schema_version == schema.SCHEMA_VERSION >= 9
        session = Session(load_settings(db=str(db), now=AS_OF, agent="anna"), cache)
        assert session.playbook.current() == Playbook(0, ())
        saved = session.playbook.save(Playbook(0, (everyone(Offer("let-go")),)), base_version=0)
        assert saved.version == 1
        kept = cache.conn().execute("SELECT action, target FROM audit").fetchall()
        assert [tuple(r) for r in kept] == [("cancel", "subscription 1")]
        session.close()
    finally:
        cache.close()


def test_a_change_since_the_facts_were_settled_is_seen_at_the_cancel(session):
    """The customer's own facts are refreshed before matching (only theirs: the rest of the
    cache's waiting refreshes are left to the next segment run)."""
    from srm_tui.storage import facts

    cid, sid = active_subscription(session)
    other, _ = active_subscription(session, skip=1)
    rule = Rule(
        "Zed",
        {"where": {"attr": "subscription.coupon_code", "op": "eq", "value": "ZZTOP"}},
        (Offer("let-go"),),
    )
    session.playbook.save(Playbook(0, (rule,)), base_version=0)
    conn = session.cache.conn()
    facts.ensure_facts(conn)
    assert not session.playbook.proposals(cid, sid).matched
    with session.cache.transaction() as tx:
        tx.execute("UPDATE subscriptions SET coupon_code = 'ZZTOP' WHERE id = ?", (sid,))
        tx.execute("UPDATE customers SET city = 'Elsewhere' WHERE id = ?", (other,))
    waiting = {r[0] for r in conn.execute(f"SELECT customer_id FROM {facts.DIRTY_TABLE}")}
    assert {cid, other} <= waiting
    assert session.playbook.proposals(cid, sid).rule.name == "Zed"
    left = {r[0] for r in conn.execute(f"SELECT customer_id FROM {facts.DIRTY_TABLE}")}
    assert cid not in left and other in left


def test_a_rule_whose_saved_segment_is_gone_is_skipped_and_said(session):
    cid, sid = active_subscription(session)
    session.playbook.save(
        Playbook(0, (Rule("Gone", "deleted-since", (Offer("let-go"),)), everyone(Offer("let-go")))),
        base_version=0,
    )
    found = session.playbook.proposals(cid, sid)
    assert found.rule.name == "Everyone"
    assert found.skipped == ["Gone: no saved segment 'deleted-since'"]


def test_letting_them_go_is_a_decline_with_the_reason_and_the_offer_named(session):
    from srm_tui.playbook.model import PlaybookInvalid

    cid, sid = active_subscription(session)
    session.playbook.save(
        Playbook(0, (everyone(Offer("extend", days=5), Offer("let-go"), name="All"),)),
        base_version=0,
    )
    found = session.playbook.proposals(cid, sid)
    with pytest.raises(PlaybookInvalid, match="lets them go"):
        session.playbook.take(found, 2)
    with pytest.raises(PlaybookInvalid, match="not one that lets them go"):
        session.playbook.decline(found, "Too dear", index=1)
    with pytest.raises(PlaybookInvalid, match="no offer 3"):
        session.playbook.take(found, 3)
    assert rows(session, "SELECT count(*) FROM outbox") == [(0,)]  # nothing queued
    outcome = session.playbook.decline(found, "Too dear", index=2)
    assert outcome.status == "queued" and outcome.preview.action == "cancel"
    detail = json.loads(
        rows(session, "SELECT after FROM audit WHERE action = 'retention.declined'")[0][0]
    )
    assert (detail["reason"], detail["offer"], detail["kind"]) == ("Too dear", 2, "let-go")
    report = session.playbook.report(None).to_json()["rules"][0]
    assert (report["offered"], report["taken"], report["declined"]) == (1, 0, 1)


def _cache_campaign(session: Session, item: dict, code: str, campaign_id: int) -> None:
    """A campaign stored as a sync stores it (validated, then upserted with its codes)."""
    from srm_tui.storage import records
    from srm_tui.sync.parse import validate

    good, bad = validate("campaigns", [dict(item, id=campaign_id, couponCodes=[code])])
    assert not bad
    with session.cache.transaction() as tx:
        records.upsert(tx, "campaigns", good, NOW)


def test_check_names_a_coupon_whose_campaign_is_expired(session):
    # The demo's full campaign shape: SUMMER15 is held by 'Summer pass promo', expired.
    held = rows(session, "SELECT code FROM campaign_codes WHERE code = 'SUMMER15'")
    assert held, "the seeded cache holds the expired Summer pass promo"
    # The vendor's GET /campaigns item shape (discount a number, uses a string), inactive.
    _cache_campaign(
        session,
        {
            "name": "Autumn promo",
            "discount": 10,
            "usagePerCoupon": "1",
            "status": "inactive",
            "constraints": {"offerTypes": ["S"], "paymentType": "", "offers": [], "tags": []},
        },
        "AUTUMN10",
        9001,
    )
    pb = Playbook(
        0,
        (
            everyone(
                Offer("coupon", coupon="SUMMER15"),
                Offer("coupon", coupon="COMEBACK50"),  # active: fine
                Offer("coupon", coupon="AUTUMN10"),
            ),
        ),
    )
    assert [str(f) for f in session.playbook.check(pb)] == [
        "rules[0].offers[0].coupon: campaign 'Summer pass promo' is expired: the coupon "
        "'SUMMER15' would be refused at every cancel (coupon.campaign-inactive)",
        "rules[0].offers[2].coupon: campaign 'Autumn promo' is inactive: the coupon "
        "'AUTUMN10' would be refused at every cancel (coupon.campaign-inactive)",
    ]


def test_against_the_vendor_an_uncached_code_is_left_to_the_api_an_expired_one_is_not(
    seeded_cache,
):
    from srm_tui.api.profile import profile_for, remember_profile

    url = "http://127.0.0.1:9/3.1"  # never called: check() reads the remembered profile
    made = Session(
        load_settings(db=str(seeded_cache(120, 4)), now=AS_OF, agent="anna", api_url=url)
    )
    try:
        remember_profile(made.cache.conn(), url, profile_for("vendor"))
        pb = Playbook(
            0,
            (
                everyone(
                    Offer("coupon", coupon="NOT-CACHED-YET"),
                    Offer("coupon", coupon="SUMMER15"),
                ),
            ),
        )
        assert [str(f) for f in made.playbook.check(pb)] == [
            "rules[0].offers[1].coupon: campaign 'Summer pass promo' is expired: the coupon "
            "'SUMMER15' would be refused at every cancel (coupon.campaign-inactive)",
        ]
    finally:
        made.close()
        made.cache.close()


def test_an_offer_that_cannot_be_planned_is_refused_with_its_reason_the_others_stay(
    session, monkeypatch
):
    cid, sid = active_subscription(session)

    def broken(ctx, code):  # a failure nobody foresaw, injected into the coupon's plan
        raise RuntimeError("boom\non two lines")

    monkeypatch.setattr("srm_tui.actions.coupon.campaigns_for", broken)
    session.playbook.save(
        Playbook(0, (everyone(Offer("coupon", coupon="COMEBACK50"), Offer("extend", days=7)),)),
        base_version=0,
    )
    found = session.playbook.proposals(cid, sid)
    assert found.matched and not found.skipped
    coupon, extend = found.offers
    assert coupon.refused == "could not be planned (RuntimeError: boom on two lines)"
    assert not coupon.available and extend.available

"""The playbook file: parsing names the first fault by its path; what parses round-trips."""

from __future__ import annotations

import copy

import pytest

from srm_tui.playbook.model import (
    OFFER_KINDS,
    Offer,
    Playbook,
    PlaybookInvalid,
    Rule,
    parse,
    to_json,
)

EXAMPLE = {
    "format": "srm-playbook",
    "version": 3,
    "rules": [
        {
            "name": "Annual, high value",
            "segment": "high-value",
            "offers": [{"kind": "coupon", "coupon": "SAVE20"}, {"kind": "pause", "cycles": 1}],
        },
        {
            "name": "Monthly in grace",
            "segment": {
                "selector": "latest",
                "where": {"attr": "subscription.state", "op": "eq", "value": "grace"},
            },
            "offers": [
                {"kind": "extend", "days": 14},
                {"kind": "switch", "offer": "S123456789_PL"},
            ],
        },
        {
            "name": "Everyone else",
            "segment": {"where": {"all": []}},
            "offers": [{"kind": "let-go"}],
        },
    ],
}


def with_change(path: list, value) -> dict:
    """The example with one value replaced (``path`` of keys and indexes)."""
    doc = copy.deepcopy(EXAMPLE)
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return doc


def fault(doc) -> str:
    with pytest.raises(PlaybookInvalid) as caught:
        parse(doc)
    return str(caught.value)


def test_the_contract_example_parses_and_round_trips():
    pb = parse(EXAMPLE)
    assert pb.version == 3 and [r.name for r in pb.rules] == [
        "Annual, high value",
        "Monthly in grace",
        "Everyone else",
    ]
    assert pb.rules[0].segment == "high-value" and not pb.rules[0].inline
    assert pb.rules[1].inline
    assert pb.rules[0].offers == (Offer("coupon", coupon="SAVE20"), Offer("pause", cycles=1))
    assert to_json(pb) == EXAMPLE
    assert parse(to_json(pb)) == pb


def test_each_kind_says_what_it_does():
    assert [
        o.describe()
        for o in (
            Offer("coupon", coupon="SAVE20"),
            Offer("pause", cycles=1),
            Offer("pause", cycles=3),
            Offer("switch", offer="S1_PL"),
            Offer("extend", days=14),
            Offer("let-go"),
        )
    ] == [
        "apply coupon SAVE20",
        "pause 1 cycle",
        "pause 3 cycles",
        "switch to offer S1_PL",
        "extend access 14 days",
        "let them go",
    ]
    assert OFFER_KINDS == ("coupon", "pause", "switch", "extend", "let-go")


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (["rules", 1, "offers", 0, "days"], 0, "rules[1].offers[0].days: must be 1..3650"),
        (["rules", 1, "offers", 0, "days"], -5, "rules[1].offers[0].days: must be 1..3650"),
        (["rules", 1, "offers", 0, "days"], 3651, "rules[1].offers[0].days: must be 1..3650"),
        (["rules", 1, "offers", 0, "days"], "14", "rules[1].offers[0].days: must be 1..3650"),
        (["rules", 1, "offers", 0, "days"], True, "rules[1].offers[0].days: must be 1..3650"),
        (["rules", 0, "offers", 1, "cycles"], 13, "rules[0].offers[1].cycles: must be 1..12"),
        (
            ["rules", 0, "offers", 1, "kind"],
            "refund",
            "rules[0].offers[1].kind: unknown kind 'refund' (one of coupon, pause, switch, "
            "extend, let-go)",
        ),
        (
            ["rules", 0, "offers", 0, "coupon"],
            "SAVE 20!",
            "rules[0].offers[0].coupon: a coupon code is 2 to 40 letters, digits, _ or -",
        ),
        (
            ["rules", 1, "offers", 1, "offer"],
            "P123456789_PL",
            "rules[1].offers[1].offer: a subscription offer's id, such as S123456789 or "
            "S123456789_PL",
        ),
        (["rules", 0, "segment"], "", "rules[0].segment: must be non-empty text"),
        (["rules", 0, "segment"], 7, "rules[0].segment: a saved segment's name"),
        (
            ["rules", 1, "segment", "where", "attr"],
            "subscription.colour",
            "rules[1].segment.where",
        ),
        (["rules", 1, "segment", "selector"], "newest", "rules[1].segment.selector"),
        (["rules", 2, "offers"], [], "rules[2].offers: must be a list of one or more offers"),
        (["rules", 2, "name"], "Annual, HIGH value", "rules[2].name: 'Annual, HIGH value'"),
        (["rules", 2, "name"], "a\x1bb", "rules[2].name: must not contain control characters"),
        (["format"], "srm-segment", 'format: must be "srm-playbook"'),
        (["version"], -1, "version: must be a whole number from 0"),
        (["rules"], {}, "rules: must be a list of rules"),
    ],
)
def test_a_fault_is_named_by_its_path(path, value, expected):
    assert fault(with_change(path, value)).startswith(expected)


def test_unknown_keys_and_missing_parts_are_named():
    doc = with_change(["rules", 0, "offers", 1, "days"], 3)
    assert fault(doc).startswith("rules[0].offers[1].days: unknown key (a pause offer has")
    doc = copy.deepcopy(EXAMPLE)
    del doc["rules"][0]["offers"][1]["cycles"]
    assert fault(doc) == "rules[0].offers[1].cycles: missing: a pause offer names its cycles"
    doc = copy.deepcopy(EXAMPLE)
    del doc["rules"][1]["segment"]
    assert fault(doc) == "rules[1].segment: missing"
    assert fault({**EXAMPLE, "owner": "me"}).startswith("owner: unknown key")
    assert fault([]).startswith("a playbook file holds one JSON object")
    let_go = with_change(["rules", 2, "offers", 0, "days"], 3)
    assert fault(let_go).startswith("rules[2].offers[0].days: unknown key")


def test_at_most_nine_offers_a_rule():
    doc = with_change(["rules", 2, "offers"], [{"kind": "let-go"}] * 10)
    assert fault(doc) == "rules[2].offers: at most 9 offers (keys 1 to 9)"
    assert (
        len(parse(with_change(["rules", 2, "offers"], [{"kind": "let-go"}] * 9)).rules[2].offers)
        == 9
    )


def test_an_empty_playbook_is_valid_and_the_fault_carries_path_and_reason():
    assert parse({"format": "srm-playbook", "rules": []}) == Playbook(0, ())
    with pytest.raises(PlaybookInvalid) as caught:
        parse(with_change(["rules", 1, "offers", 0, "days"], -1))
    assert caught.value.path == "rules[1].offers[0].days"
    assert caught.value.reason == "must be 1..3650"
    assert isinstance(caught.value, ValueError)


def test_a_switch_may_name_the_offer_alone():
    pb = parse(with_change(["rules", 1, "offers", 1, "offer"], "S123456789"))
    assert pb.rules[1].offers[1] == Offer("switch", offer="S123456789")
    rule = Rule("x", "seg", (Offer("let-go"),))
    assert rule.to_json() == {"name": "x", "segment": "seg", "offers": [{"kind": "let-go"}]}


def test_text_nested_too_deeply_or_not_json_is_refused_before_parsing():
    from srm_tui.playbook.model import loads

    with pytest.raises(PlaybookInvalid, match="nested too deeply"):
        loads("[" * 50_000 + "]" * 50_000)
    with pytest.raises(PlaybookInvalid, match="not JSON"):
        loads('{"format": "srm-playbook", "rules": [}')
    deep = {"not": {"all": []}}
    for _ in range(30):
        deep = {"not": deep}
    doc = with_change(["rules", 1, "segment", "where"], deep)
    import json

    assert loads(json.dumps(doc)) == parse(doc)

"""The one campaign reader (srm_tui.domain.campaigns) over every shape a campaign comes in:
the vendor's GET /campaigns item (discount a number, usagePerCoupon a string), the sandbox's
full campaign (discount {type, value}, usagePerCoupon a number), fields missing, and malformed
values, which are said plainly and never raise."""

from __future__ import annotations

import pytest

from srm_tui.domain.campaigns import read_campaign

VENDOR_ITEM = {  # the OpenAPI ListCampaignsResponse item, as the vendor profile answers it
    "name": "Win-back",
    "discount": 50,
    "usagePerCoupon": "1",
    "status": "active",
    "constraints": {"offerTypes": ["S"], "paymentType": "", "offers": [], "tags": []},
}
FULL = {  # the sandbox's full campaign (enumeration, export: a demo cache's)
    "id": 3,
    "name": "Student discount",
    "discount": {"type": "percent", "value": 30},
    "usagePerCoupon": 12,
    "status": "active",
    "couponCodes": ["STUDENT30"],
    "constraints": {"offerTypes": ["S"], "paymentType": None, "offers": [], "tags": ["edu"]},
}


def test_the_vendors_item_shape():
    c = read_campaign(VENDOR_ITEM)
    assert (c.name, c.percent, c.uses, c.status) == ("Win-back", 50, 1, "active")
    assert c.active and c.problems == () and c.payment_type is None
    assert c.discount_text == "50 % off" and c.uses_text == "1"
    assert c.uses_per_coupon == "1 use per coupon"  # singular, never "1 use(s)"
    assert read_campaign(dict(VENDOR_ITEM, usagePerCoupon=5)).uses_per_coupon == (
        "5 uses per coupon"
    )
    assert read_campaign({"name": "Bare"}).uses_per_coupon == "uses per coupon not said"
    assert c.fits("S123456789", "S123456789_US", []) and not c.fits_type("P123456789")


def test_the_full_campaign_shape():
    c = read_campaign(FULL)
    assert (c.percent, c.uses, c.codes, c.tags) == (30, 12, ("STUDENT30",), ("edu",))
    assert c.problems == () and c.discount_text == "30 % off"
    assert c.fits("S1", "S1_US", ["edu", "x"]) and not c.fits_tags(["other"])


@pytest.mark.parametrize(
    ("discount", "percent"),
    [
        (15, 15),
        (12.5, 12.5),
        ("20", 20),
        ("20.00", 20),
        ("25%", 25),
        ({"value": 40}, 40),  # a type not said: the vendor's number is a percentage
        ({"type": "percentage", "value": "10"}, 10),
        (0, 0),
        (100, 100),
    ],
)
def test_each_way_of_giving_a_percentage(discount, percent):
    c = read_campaign(dict(VENDOR_ITEM, discount=discount))
    assert c.percent == percent and c.problems == ()


@pytest.mark.parametrize(
    ("discount", "said"),
    [
        ("half", "discount not understood: 'half'"),
        (True, "discount not understood: True"),
        ([50], "discount not understood: [50]"),
        (150, "discount not understood: 150 is not a percentage (0 to 100)"),
        (-5, "discount not understood: -5 is not a percentage (0 to 100)"),
        (float("nan"), "discount not understood: nan"),
        ({"type": "amount", "value": 5}, "discount not understood: type 'amount' is not a"),
        ({"type": "percent"}, "discount not understood: {'type': 'percent'} has no value"),
        ({"type": "percent", "value": {"x": 1}}, "discount not understood: {'type'"),
    ],
)
def test_a_malformed_discount_is_said_plainly(discount, said):
    c = read_campaign(dict(VENDOR_ITEM, discount=discount))
    assert c.percent is None and c.discount_text == "discount not understood"
    assert len(c.problems) == 1 and c.problems[0].startswith(said), c.problems
    assert c.faults() == [f"campaign 'Win-back': {c.problems[0]}"]


@pytest.mark.parametrize(
    ("uses", "expected", "problem"),
    [
        ("1", 1, None),
        (" 3 ", 3, None),
        (12, 12, None),
        (2.0, 2, None),
        ("0", 0, None),
        ("", None, None),
        (None, None, None),
        ("many", None, "uses per coupon not understood: 'many'"),
        (1.5, None, "uses per coupon not understood: 1.5"),
        (-1, None, "uses per coupon not understood: -1"),
        ({"n": 1}, None, "uses per coupon not understood: {'n': 1}"),
    ],
)
def test_uses_per_coupon_as_number_or_text(uses, expected, problem):
    c = read_campaign(dict(VENDOR_ITEM, usagePerCoupon=uses))
    assert c.uses == expected
    assert c.problems == ((problem,) if problem else ())
    assert c.uses_text == (
        str(expected) if expected is not None else "not understood" if problem else "not said"
    )


def test_missing_fields_are_not_said_never_an_error():
    c = read_campaign({"name": "Bare"})
    assert (c.percent, c.uses, c.status) == (None, None, None)
    assert (c.offer_types, c.offers, c.tags, c.codes) == ((), (), (), ())
    assert c.problems == ("discount not said",)
    assert c.discount_text == "discount not said" and c.uses_text == "not said"
    assert not c.active and c.status_text == "of no stated status"
    assert c.fits("P1", "P1_US", None)  # no constraints: any offer
    nameless = read_campaign({})
    assert nameless.name == "(unnamed)"


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (dict(VENDOR_ITEM, constraints=["S"]), "constraints not understood: ['S']"),
        (
            dict(VENDOR_ITEM, constraints={"offerTypes": [1, 2]}),
            "constraints.offerTypes not understood: [1, 2]",
        ),
        (
            dict(VENDOR_ITEM, constraints={"tags": {"a": 1}}),
            "constraints.tags not understood: {'a': 1}",
        ),
        (
            dict(VENDOR_ITEM, constraints={"paymentType": 7}),
            "constraints.paymentType not understood: 7",
        ),
        (dict(VENDOR_ITEM, status=3), "status not understood: 3"),
        (dict(VENDOR_ITEM, name=12), "name not understood: 12"),
        (42, "campaign not understood: 42"),
    ],
)
def test_malformed_constraints_status_and_name_are_said(raw, problem):
    c = read_campaign(raw)
    assert problem in c.problems, c.problems


def test_a_single_string_constraint_and_control_bytes_shown_escaped():
    c = read_campaign(dict(VENDOR_ITEM, constraints={"offerTypes": "S"}, name="Evil\x1b[2J"))
    assert c.offer_types == ("S",) and c.problems == ()
    assert c.faults() == []
    bad = read_campaign(dict(VENDOR_ITEM, name="Evil\x1b[2J", discount="x\x1by"))
    assert "\x1b" not in " ".join(bad.faults()) and "\\x1b" in bad.faults()[0]

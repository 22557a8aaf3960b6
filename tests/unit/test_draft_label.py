"""What a waiting offer draft is called on screen and in messages (issue 12: "new new offer")."""

from __future__ import annotations

import pytest

from srm_tui.offers.drafts import Draft


def _draft(offer_id: str | None, target: str, op: str) -> Draft:
    return Draft(1, offer_id, target, op, {}, None, {}, "pending", None, None, None, "kim", 0, 0)


@pytest.mark.parametrize(
    ("offer_id", "target", "op", "label"),
    [
        (None, "offer", "create", "new offer"),
        ("S123_PL", "offer", "update", "edit S123_PL"),
        ("S123_PL", "localization:DE", "create", "new S123_PL · DE"),
        ("S123_PL", "localization:DE", "update", "edit S123_PL · DE"),
        ("S123_PL", "offer", "deactivate", "deactivate S123_PL"),
    ],
)
def test_a_draft_is_named_once_by_what_it_does(offer_id, target, op, label):
    assert _draft(offer_id, target, op).label == label

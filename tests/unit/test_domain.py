"""The lifecycle, MRR and revenue rules of CONTRACT section 5, and the text guard."""

from __future__ import annotations

import pytest

from srm_tui.domain import lifecycle as lc
from srm_tui.domain.models import Customer, Subscription, Transaction
from srm_tui.domain.text import visible

NOW = 1_800_000_000


@pytest.mark.parametrize(
    ("status", "trial", "date_to", "state"),
    [
        ("paused", False, NOW + 10, "paused"),
        ("paused", True, NOW - 10, "paused"),
        ("terminated", False, NOW + 10, "churned"),
        ("stopped", False, NOW - 1, "churned"),
        ("stopped", False, NOW, "cancelled"),
        ("active", False, NOW - 1, "grace"),
        ("active", True, NOW - 1, "grace"),
        ("active", True, NOW, "trial"),
        ("active", False, NOW + 100, "active"),
    ],
)
def test_subscription_state(status, trial, date_to, state):
    assert lc.subscription_state(status, trial, date_to, NOW) == state


def test_customer_status_precedence():
    assert lc.customer_status(["churned", "paused"], [], NOW) == "paused"
    assert lc.customer_status(["churned"], [("active", None)], NOW) == "active"
    assert lc.customer_status([], [("active", NOW - 1)], NOW) == "churned"
    assert lc.customer_status(["cancelled"], [], NOW) == "active"
    assert lc.customer_status([], [], NOW) == "prospect"


def test_mrr_factors_and_revenue():
    assert lc.subscription_mrr(12.0, "year") == pytest.approx(1.0)
    assert lc.subscription_mrr(3.0, "week") == pytest.approx(13.0)
    assert lc.subscription_mrr(30.0, "3months") == pytest.approx(10.0)
    assert lc.customer_mrr(
        [("active", 10.0, "month"), ("grace", 12.0, "year"), ("cancelled", 99.0, "month")]
    ) == pytest.approx(11.0)
    assert lc.revenue(
        [
            {"status": "captured", "amount": 10.0},
            {"status": "refunded", "amount": 10.0, "refundedAmount": 4.0},
            {"status": "rejected", "amount": 10.0},
        ]
    ) == pytest.approx(16.0)


def test_models_keep_unknown_fields_and_round_trip():
    raw = {
        "id": 123456789,
        "email": "a@b.co",
        "regDate": "2021-04-28 13:03:26",
        "brandNewField": {"x": [1, 2]},
    }
    c = Customer.model_validate(raw)
    assert c.to_api() == raw
    assert c.registered_at == 1619615006


@pytest.mark.parametrize(
    "bad",
    [
        {"id": "abc"},
        {"id": 123456789, "regDate": "28/04/2021"},
        {"id": 123456789, "country": "Poland"},
    ],
)
def test_customer_rejects_malformed(bad):
    with pytest.raises(ValueError):
        Customer.model_validate(bad)


def test_transaction_id_format_and_money_type():
    base = {
        "transactionId": "T123456789",
        "customerId": 123456789,
        "transactionDate": 1,
        "offerId": "S123456789_PL",
        "amount": 9.99,
        "currency": "EUR",
        "status": "captured",
    }
    assert Transaction.model_validate(base).amount == 9.99
    with pytest.raises(ValueError):
        Transaction.model_validate({**base, "transactionId": "X1"})
    with pytest.raises(ValueError):
        Transaction.model_validate({**base, "amount": "lots"})
    with pytest.raises(ValueError):
        Subscription.model_validate(
            {
                "subscriptionId": 1,
                "customerId": 1,
                "offerId": "S1",
                "status": "weird",
                "createdAt": 1,
                "period": "month",
            }
        )


def test_visible_makes_controls_and_markup_plain():
    assert visible("[bold red]x[/]") == "[bold red]x[/]"
    assert visible("a\x1b[31mb") == "a\\x1b[31mb"
    assert visible("x\u202ey") == "x\\u202ey"
    assert visible("a" * 10, limit=5) == "aaaa…"


def test_an_active_pass_past_its_end_reads_expired():
    """Found in a user run: the Payments tab showed a pass 'active' three years after its
    end, from the vendor's status field (CONTRACT section 5: active only until expiresAt)."""
    from srm_tui.domain.lifecycle import pass_state

    assert pass_state("active", 1_000, 2_000) == "expired"
    assert pass_state("active", 3_000, 2_000) == "active"
    assert pass_state("active", None, 2_000) == "active"
    assert pass_state("terminated", 1_000, 2_000) == "terminated"

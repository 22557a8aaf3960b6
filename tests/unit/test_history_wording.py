"""The history's payment lines say an amount once: a transaction refunded in full is
"Refunded 47.99 EUR for ...", a partial refund names what was refunded."""

from __future__ import annotations

from srm_tui.domain import account


def _line(**fields) -> str:
    txn = {
        "transactionId": "T750089321",
        "customerId": 1,
        "offerId": "S750089321_FR",
        "transactionDate": 1_790_000_000,
        "amount": 47.99,
        "currency": "EUR",
        **fields,
    }
    record = {"customer": {"id": 1}, "transactions": [txn]}
    (event,) = [e for e in account.timeline(record, now=1_800_000_000) if e.kind == "payment"]
    return event.text


def test_a_full_refund_says_its_amount_once():
    assert _line(status="refunded", refundedAmount=47.99) == "Refunded 47.99 EUR for S750089321_FR"


def test_a_partial_refund_names_the_part_refunded():
    text = _line(status="refunded", refundedAmount=20)
    assert text.startswith("Refunded 47.99 EUR for S750089321_FR") and "(refunded 20.00" in text
    assert _line(status="captured") == "Captured 47.99 EUR for S750089321_FR"

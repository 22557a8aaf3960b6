"""Money as people read it: the amount in its currency's own minor units, then its ISO code.

One formatter for every screen, the CLI's text output and the segment overview:
``3.00 EUR``, ``1,480 JPY``, ``0.00 USD``, ``1,234.500 KWD``. Babel knows each currency's
minor units (ISO 4217 and CLDR), so nothing here keeps a table of its own.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency, get_currency_precision

# The code after the amount, digits grouped in thousands, the currency's own decimals.
_PATTERN = "#,##0.00 ¤¤"
_CODE = re.compile(r"^[A-Z]{3}$")
NO_AMOUNT = "—"


def is_code(code: object) -> bool:
    """True for a well-formed ISO 4217 code (three capital letters)."""
    return isinstance(code, str) and bool(_CODE.match(code))


def _decimal(amount: object) -> Decimal | None:
    if amount is None or isinstance(amount, bool):
        return None
    try:
        value = Decimal(str(amount)) if not isinstance(amount, Decimal) else amount
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def minor_digits(code: str | None) -> int:
    """How many decimals the currency's minor unit has (EUR 2, JPY 0, KWD 3; 2 when unknown)."""
    return get_currency_precision(code) if is_code(code) else 2


def money(amount: object, currency: str | None) -> str:
    """``amount`` in ``currency`` as it reads everywhere in srm: ``1,480 JPY``.

    A missing amount reads ``—``; a missing or malformed code shows the amount with two
    decimals and no code (the code is data from the vendor, never guessed).
    """
    value = _decimal(amount)
    if value is None:
        return NO_AMOUNT
    code = currency.strip().upper() if isinstance(currency, str) else ""
    if is_code(code):
        return format_currency(value, code, format=_PATTERN, locale="en_US", currency_digits=True)
    number = format_currency(value, "XXX", format="#,##0.00", locale="en_US", currency_digits=False)
    return number


def warm() -> None:
    """Read what the first amount shown would (Babel's locale and currency data), ahead of
    it: the console's warm-up calls this between keys."""
    money(1, "USD")


def amount_text(amount: object, currency: str | None) -> str:
    """The number alone in the currency's minor units (``1,480``), for table cells whose
    column already names the currency."""
    value = _decimal(amount)
    if value is None:
        return NO_AMOUNT
    code = currency.strip().upper() if isinstance(currency, str) else ""
    digits = minor_digits(code)
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_currency(
        value,
        code if is_code(code) else "XXX",
        format=pattern,
        locale="en_US",
        currency_digits=False,
    )


def micros_money(micros: int | None, currency: str | None) -> str:
    """Integer micro-units (how the segment facts keep money) formatted like ``money``."""
    if micros is None:
        return NO_AMOUNT
    return money(Decimal(int(micros)) / Decimal(1_000_000), currency)


# Money fields of the vendor's records: entity -> (amount key, currency key) pairs.
RECORD_MONEY = {
    "transactions": (("amount", "currency"), ("refundedAmount", "currency")),
    "subscriptions": (("nextPaymentPrice", "nextPaymentCurrency"),),
}


def readable_record(record: dict) -> dict:
    """A copy of a whole customer record (``srm customer show``) whose money fields read as
    money (``"amount": "3.00 EUR"``), for people; ``--json`` keeps the vendor's numbers."""
    out = dict(record)
    for entity, pairs in RECORD_MONEY.items():
        items = record.get(entity)
        if not isinstance(items, list):
            continue
        shown = []
        for item in items:
            if isinstance(item, dict):
                item = dict(item)
                for amount_key, currency_key in pairs:
                    if item.get(amount_key) is not None:
                        item[amount_key] = money(item[amount_key], item.get(currency_key))
            shown.append(item)
        out[entity] = shown
    return out

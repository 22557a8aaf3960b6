"""One money formatter (issue 12): each currency's own minor units and its code, and one
time module that shows a zoned time in its zone."""

from __future__ import annotations

from srm_tui.domain import money, time
from srm_tui.domain.offers import period


def test_money_reads_in_minor_units_with_its_code():
    assert money.money(3.0, "EUR") == "3.00 EUR"
    assert money.money(1480.0, "JPY") == "1,480 JPY"
    assert money.money(0, "USD") == "0.00 USD"
    assert money.money(1234.5, "KWD") == "1,234.500 KWD"
    assert money.money(-7.99, "eur") == "-7.99 EUR"
    assert money.money(None, "EUR") == "—"
    assert money.money(5, None) == "5.00"
    assert money.money(5, "[b]x") == "5.00"  # a malformed code is never shown as one
    assert money.amount_text(54560, "JPY") == "54,560"
    assert money.micros_money(9_990_000, "EUR") == "9.99 EUR"


def test_a_live_event_time_is_shown_in_its_zone():
    # 2026-12-20 19:00 UTC is 20:00 in Warsaw.
    at = 1797793200
    assert time.in_zone(at, "Europe/Warsaw") == "2026-12-20 20:00 Europe/Warsaw"
    assert time.in_zone(at, "Not/AZone") == "2026-12-20 19:00 UTC"
    offer = {"id": "E123", "event": {"startsAt": at, "timezone": "Europe/Warsaw"}}
    assert period(offer) == "2026-12-20 20:00 Europe/Warsaw"


def test_time_helpers():
    assert time.utc(0) == "1970-01-01 00:00"
    assert time.iso(86400) == "1970-01-02T00:00:00Z"
    assert time.utc(None) == "—"
    assert time.ago(1000 - 240, 1000) == "4 min ago"
    assert time.ago(1000 + 300, 1000) == "in 5 min"
    assert time.ago(0, 3 * 86400) == "3 days ago"
    assert time.parse_instant("2026-11-01").isoformat() == "2026-11-01T00:00:00+00:00"


def test_account_totals_read_in_minor_units_and_zero_has_a_currency():
    from srm_tui.domain.account import money as totals

    assert totals({}, "EUR") == "0.00 EUR"  # was "0"
    assert totals({"JPY": 1480.0, "EUR": 3.0}) == "3.00 EUR, 1,480 JPY"


def test_customer_show_text_reads_money_as_money(tmp_path):
    import json

    from click.testing import CliRunner

    from srm_tui.cli import main
    from srm_tui.sandbox.seed import seed_cache
    from srm_tui.storage.cache import Cache
    from tests.conftest import AS_OF

    db = tmp_path / "c.db"
    cache = Cache(db)
    seed_cache(cache, 200, 5, AS_OF)
    cid, amount, currency = (
        cache.conn()
        .execute(
            "SELECT customer_id, amount, currency FROM transactions WHERE currency = 'JPY' LIMIT 1"
        )
        .fetchone()
    )
    cache.close()
    run = CliRunner().invoke
    text = run(main, ["customer", "show", str(cid), "--db", str(db)]).stdout
    assert f'"amount": "{amount:,.0f} JPY"' in text and ".0 JPY" not in text
    raw = json.loads(run(main, ["customer", "show", str(cid), "--json", "--db", str(db)]).stdout)
    assert any(t["amount"] == amount for t in raw["transactions"])  # --json keeps numbers

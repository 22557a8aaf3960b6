"""Exchange rates (CONTRACT sections 2 and 3): the shipped ECB table, `srm rates import`
(validated, exit 2 naming the line and column, the date kept) and `srm rates show`."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from srm_tui.cli import main
from srm_tui.domain import rates
from srm_tui.storage.cache import Cache

ECB_DAILY = "Date, USD, JPY, CZK, GBP, \n06 February 2026, 1.1794, 185.27, 24.240, 0.86790, \n"
ECB_HIST = "Date,USD,JPY,PLN,\n2026-03-03,1.20,190.5,N/A,\n2026-03-02,1.10,180.0,4.2,\n"


def test_the_shipped_table_is_a_dated_ecb_table():
    table = rates.shipped()
    assert table.date == "2026-02-06" and table.rate("EUR") == 1.0
    assert table.rate("USD") == 1.1794 and table.rate("JPY") == 185.27
    assert round(table.convert(54560, "JPY", "EUR"), 2) == 294.49


def test_both_ecb_layouts_parse_and_the_latest_date_is_in_force():
    daily = rates.parse(ECB_DAILY)
    assert daily.date == "2026-02-06" and daily.per_eur["GBP"] == 0.8679
    hist = rates.parse(ECB_HIST)
    assert hist.date == "2026-03-03" and hist.per_eur == {"USD": 1.2, "JPY": 190.5}
    assert not hist.has("PLN") and hist.convert(10, "PLN", "EUR") is None


@pytest.mark.parametrize(
    "text, where",
    [
        ("", "line 1"),
        ("Day,USD\n2026-01-01,1.1\n", "line 1, column 1"),
        ("Date,US\n2026-01-01,1.1\n", "line 1, column 2"),
        ("Date,USD,USD\n2026-01-01,1.1,1.2\n", "line 1, column 3"),
        ("Date,USD\n", "line 2"),
        ("Date,USD\n2026-13-01,1.1\n", "line 2, column Date"),
        ("Date,USD,JPY\n2026-01-01,1.1,1..2\n", "line 2, column JPY"),
        ("Date,USD\n2026-01-01,1.1\n2026-01-02,-3\n", "line 3, column USD"),
        ("Date,USD\n2026-01-01,1.1,9\n", "line 2"),
    ],
)
def test_bad_files_name_the_line_and_column(text, where):
    with pytest.raises(rates.RatesError) as exc:
        rates.parse(text)
    assert str(exc.value).startswith(where)


def test_import_replaces_the_table_and_keeps_its_date(tmp_path):
    db = tmp_path / "c.db"
    Cache(db).close()
    run = CliRunner().invoke
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text(ECB_HIST)
    bad.write_text("Date,USD\n2026-01-01,abc\n")
    shown = json.loads(run(main, ["rates", "show", "--json", "--db", str(db)]).stdout)
    assert shown["date"] == "2026-02-06" and shown["source"] == "shipped"
    out = run(main, ["rates", "import", str(bad), "--db", str(db)])
    assert out.exit_code == 2 and "line 2, column USD" in out.stderr
    out = run(main, ["rates", "import", str(good), "--db", str(db)])
    assert out.exit_code == 0 and "2026-03-03" in out.stdout
    out = run(main, ["rates", "import", str(bad), "--db", str(db)])  # changes nothing
    shown = json.loads(run(main, ["rates", "show", "--json", "--db", str(db)]).stdout)
    assert shown["date"] == "2026-03-03" and shown["rates"] == {"JPY": 190.5, "USD": 1.2}
    assert shown["reporting_currency"] == "EUR"
    usd = json.loads(
        run(main, ["--currency", "usd", "rates", "show", "--json", "--db", str(db)]).stdout
    )
    assert usd["reporting_currency"] == "USD" and usd["reporting_rate"] == 1.2
    out = run(main, ["rates", "show", "--db", str(db)], env={"SRM_CURRENCY": "PLN"})
    assert out.exit_code == 0 and "reporting currency PLN" in out.stdout
    assert "PLN has no rate" in out.stderr
    out = run(main, ["--currency", "EURO", "rates", "show", "--db", str(db)])
    assert out.exit_code == 2 and "currency" in out.stderr


def test_show_without_a_cache_shows_the_shipped_table_and_creates_nothing(tmp_path):
    from tests.helpers import run_srm

    data = tmp_path / "data"
    out = run_srm(
        "rates",
        "show",
        "--json",
        env={"SRM_DATA_DIR": str(data), "SRM_CONFIG_DIR": str(tmp_path / "cfg")},
    )
    assert out.returncode == 0 and json.loads(out.stdout)["source"] == "shipped"
    assert not data.exists()

"""How far a sync is, in the console's status line and the CLI's bar: the run's records once
every entity's total is known, the customers' own count until then (the other entities'
totals are asked once the customers are in)."""

from __future__ import annotations

from srm_tui.cli.sync import _counts
from srm_tui.sync.engine import Progress


def test_until_the_totals_are_known_the_customers_count_is_shown():
    early = Progress("customers", 1000, None, 250.4, 1000, 5000)
    assert early.line() == "syncing customers 1,000/5,000 (250/s)"
    assert _counts(early) == (1000, 5000)


def test_once_known_the_runs_total_is_shown():
    later = Progress("transactions", 12000, 93269, 1000.0, 7000, 40000)
    assert later.line() == "syncing 12,000/93,269 records (1,000/s)"
    assert _counts(later) == (12000, 93269)


def test_an_api_that_gives_no_totals_shows_the_records_written():
    unknown = Progress("customers", 300, None, 30.0)
    assert unknown.line() == "syncing 300 records (30/s)"
    assert _counts(unknown) == (300, None)

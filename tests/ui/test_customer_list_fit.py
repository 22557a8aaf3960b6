"""The customer list at 80x24 (issue 12, "Reading the screen"): emails of usual length are
read whole (the columns that may give way do, the customer screen shows them), and every
row, hostile names included, sits under its headings, also after a scrollbar comes or goes
as the number of rows changes."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

import pytest
from rich.cells import cell_len

from srm_tui.sandbox.locales import HOSTILE_NAMES
from srm_tui.storage.cache import Cache
from srm_tui.widgets.customer_table import CustomerTable
from tests.helpers import screen_text
from tests.ui_keys import make_app, searched, type_text, until

AS_OF = datetime(2026, 11, 1, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def db(seeded_cache):
    path = seeded_cache(120, 7)
    conn = sqlite3.connect(path)
    ids = [r[0] for r in conn.execute("SELECT id FROM customers ORDER BY id LIMIT ?", (8,))]
    with conn:  # the first page holds every hostile name the generator knows
        for customer_id, (first, last) in zip(ids, HOSTILE_NAMES):
            conn.execute(
                "UPDATE customers SET first_name = ?, last_name = ? WHERE id = ?",
                (first, last, customer_id),
            )
    conn.close()
    return path


def _rows(app) -> tuple[str, list[str]]:
    """The headings line and the table's rows as the terminal shows them."""
    lines = screen_text(app).splitlines()
    header = next(ln for ln in lines if ln.lstrip().startswith("Email "))
    table = app.screen.query_one(CustomerTable)
    top = table.region.y
    return header, [ln for ln in lines[top : top + min(table.count, table.size.height)]]


def _assert_aligned(app) -> None:
    """Every row's name starts where the Name heading does and its id ends where the
    Customer heading ends (right-aligned), counted in terminal cells."""
    header, rows = _rows(app)
    name_at = cell_len(header[: header.index("Name")])
    id_end = cell_len(header[: header.index("Customer") + len("Customer")])
    table = app.screen.query_one(CustomerTable)
    assert rows
    for index, line in enumerate(rows):
        customer_id = str(table._row(table.scroll_offset.y + index)["id"])
        at = line.index(f" {customer_id}") + 1
        assert cell_len(line[: at + len(customer_id)]) == id_end, (line, header)
        # The email cell (plain ASCII here) stops one cell before the name begins.
        assert line[name_at - 1] == " " and line[name_at] != " ", (line, header)


async def test_emails_are_read_whole_at_80_columns(db):
    app = make_app(db)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        header, rows = _rows(app)
        assert "Email" in header and "Name" in header and "Customer" in header
        table = app.screen.query_one(CustomerTable)
        email_width = cell_len(header[: header.index("Name")]) - 2  # the padding, the gap
        assert email_width >= 28, header
        conn = Cache(db).conn()
        whole = 0
        for index, line in enumerate(rows):
            row = table._row(index)
            email = conn.execute("SELECT email FROM customers WHERE id = ?", (row["id"],))
            email = email.fetchone()[0] or ""
            if cell_len(email) <= email_width:
                assert email in line, (email, line)
                whole += 1
        assert whole >= len(rows) // 2  # most addresses are of usual length: read whole
        _assert_aligned(app)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=lambda s: f"{s[0]}x{s[1]}")
async def test_hostile_names_keep_their_row_under_the_headings(db, size):
    app = make_app(db)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        text = screen_text(app)
        assert "\\u202eevil" in text and "[bold red]x[/]" in text  # shown, never obeyed
        _assert_aligned(app)
        # One match (no scrollbar), then the whole list again (a scrollbar): the headings
        # follow the room the rows have each time.
        await pilot.press("slash")
        await type_text(pilot, "Markup")
        await until(pilot, searched(app, "Markup"), "the search for Markup answered")
        await pilot.pause()
        _assert_aligned(app)
        await pilot.press("escape")
        await until(pilot, searched(app, ""), "the whole list again")
        await pilot.pause()
        _assert_aligned(app)

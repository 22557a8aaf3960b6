"""Moving in the customer list (issue 16, "every key within a few frames"): a move that does
not scroll paints again only the line the cursor left and the one it reached, where it used to
paint the whole list; a move that scrolls paints the whole list, and either way the screen
shows the cursor on the right customer."""

from __future__ import annotations

from srm_tui.widgets.customer_table import CustomerTable
from tests.ui_keys import make_app, until


def _painted(table: CustomerTable) -> list[int]:
    """Records the list's lines (virtual row numbers) as Textual paints them."""
    lines: list[int] = []
    paint = table.render_line

    def counting(y: int):
        lines.append(table.scroll_offset.y + y)
        return paint(y)

    table.render_line = counting  # the instance's own paints, the widget's code unchanged
    return lines


def _cursor_rows(table: CustomerTable) -> list[int]:
    """The rows on screen drawn in the cursor's style (one, when it is right)."""
    cursor = table.get_component_rich_style("customer-table--cursor")
    shown = []
    for y in range(table.size.height):
        strip = table.render_line(y)
        if any(seg.style == cursor for seg in strip):
            shown.append(table.scroll_offset.y + y)
    return shown


async def _focused_list(pilot, app) -> CustomerTable:
    """The customer list once it holds more rows than it shows, with the focus."""
    table = app.screen.query_one(CustomerTable)
    await until(pilot, lambda: table.count > table.size.height, "the list filled")
    table.focus()
    await pilot.pause()
    return table


async def test_a_move_without_scrolling_paints_two_lines(seeded_cache):
    app = make_app(seeded_cache(120, 7))
    async with app.run_test(size=(120, 40)) as pilot:
        table = await _focused_list(pilot, app)
        lines = _painted(table)
        await pilot.press("j")
        await until(pilot, lambda: table.cursor == 1, "the cursor moved")
        await pilot.pause()
        assert sorted(set(lines)) == [0, 1]  # before: every line of the list, ~37
        assert table.scroll_offset.y == 0
        assert _cursor_rows(table) == [1]
        lines.clear()
        await pilot.press("k")
        await until(pilot, lambda: table.cursor == 0, "the cursor moved back")
        await pilot.pause()
        assert sorted(set(lines)) == [0, 1]
        assert _cursor_rows(table) == [0]


async def test_a_move_that_scrolls_paints_the_list_with_the_cursor_in_place(seeded_cache):
    app = make_app(seeded_cache(120, 7))
    async with app.run_test(size=(80, 24)) as pilot:
        table = await _focused_list(pilot, app)
        height = table.size.height
        table.cursor = height - 1  # the last row on screen
        await pilot.pause()
        lines = _painted(table)
        await pilot.press("j")
        await until(pilot, lambda: table.scroll_offset.y == 1, "the list scrolled one row")
        await pilot.pause()
        assert set(range(1, height + 1)) <= set(lines)  # every line shown, painted again
        assert _cursor_rows(table) == [height]
        first = table._row(table.scroll_offset.y)["id"]
        assert str(first) in table.render_line(0).text

"""Table columns that fit the terminal: measured in cells (wide and zero-width characters
count as the terminal draws them), the least needed columns dropped first when narrow, one
flexible column taking what is left, and cells cut with an ellipsis, never past their width.

This is where a table's cells are cut: callers hand over whole values (``visible(value)``,
no limit), or a value already cut would be cut again and show two ellipses."""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len

from srm_tui.domain.text import clip  # noqa: F401  (re-exported: widgets cut cells with it)

PAD = 2  # a DataTable cell's padding, one cell each side


@dataclass(frozen=True)
class Col:
    """One column: ``cap`` the widest it grows, ``drop`` > 0 drops it when narrow (highest
    first), ``flex`` takes the width left over (at least ``least``)."""

    label: str
    cap: int | None = None
    drop: int = 0
    flex: bool = False
    least: int = 8


def layout(cols: list[Col], rows: list[list[str]], width: int) -> list[tuple[int, int]]:
    """(column index, content width) of the columns shown in ``width`` cells, in order."""
    natural = [
        max([cell_len(c.label)] + [cell_len(r[i]) for r in rows]) for i, c in enumerate(cols)
    ]
    want = [min(n, c.cap) if c.cap else n for n, c in zip(natural, cols)]
    shown = list(range(len(cols)))

    def needed(indices: list[int]) -> int:
        return sum(
            (min(cols[i].least, want[i]) if cols[i].flex else want[i]) + PAD for i in indices
        )

    for level in sorted({c.drop for c in cols if c.drop}, reverse=True):
        if needed(shown) <= width:
            break
        shown = [i for i in shown if cols[i].drop != level]
    fixed = sum(want[i] + PAD for i in shown if not cols[i].flex)
    flexible = [i for i in shown if cols[i].flex]
    left = (width - fixed) // max(1, len(flexible)) - PAD
    return [
        (i, max(min(cols[i].least, want[i]), min(want[i], left)) if cols[i].flex else want[i])
        for i in shown
    ]


def fill(table, cols: list[Col], rows: list[list], keys: list[str], width: int) -> None:
    """Clear ``table`` (a DataTable) and fill it with the columns that fit ``width`` cells.

    Cells may be str or rich Text; a cut Text keeps its style and justification. A str is
    shown as the text it is: DataTable would read it as markup ("[mine]" showed empty)."""
    from rich.text import Text

    plain = [[c.plain if isinstance(c, Text) else str(c) for c in row] for row in rows]
    shown = layout(cols, plain, width)
    lines = []
    for row, text in zip(rows, plain):
        cells = []
        for i, w in shown:
            cell = row[i]
            if cell_len(text[i]) > w:
                cut = clip(text[i], w)
                cell = (
                    Text(cut, style=cell.style, justify=cell.justify)
                    if isinstance(cell, Text)
                    else cut
                )
            cells.append(cell if isinstance(cell, Text) else Text(str(cell)))
        lines.append(cells)
    # The same rows again (a screen resumed, a reload that found nothing new) leave the table
    # as it is, but for what clearing it did to the cursor: re-adding them would re-measure
    # and repaint every row for the same picture.
    filled = (
        tuple((cols[i].label, w) for i, w in shown),
        tuple(keys[: len(lines)]),
        tuple(
            (c.plain, str(c.style), c.justify, tuple(map(str, c.spans)))
            for cells in lines
            for c in cells
        ),
    )
    # (Any change made to the table since, a resize included, counts as a difference.)
    if getattr(table, "_srm_filled", None) == (filled, table._update_count) and (
        table.row_count,
        len(table.columns),
    ) == (len(lines), len(shown)):
        if tuple(table.cursor_coordinate) != (0, 0):
            table.move_cursor(row=0, column=0, animate=False)
        return
    table.clear(columns=True)
    for i, w in shown:
        table.add_column(cols[i].label, width=w, key=cols[i].label)
    for cells, key in zip(lines, keys):
        table.add_row(*cells, key=key)
    table._srm_filled = (filled, table._update_count)

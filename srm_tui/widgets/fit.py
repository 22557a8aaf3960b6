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
    table.clear(columns=True)
    for i, w in shown:
        table.add_column(cols[i].label, width=w, key=cols[i].label)
    for row, text, key in zip(rows, plain, keys):
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
        table.add_row(*cells, key=key)

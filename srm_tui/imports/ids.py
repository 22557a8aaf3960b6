"""Lists of customers to bring into the cache: one customer id or email a line.

Blank lines and ``#`` comments are ignored. An id becomes a bare customer record (the sync
completes it through the vendor's published calls); an email is kept as a pending lookup
(``import_pending_emails``), which the sync resolves with ``GET /customers?email=``.
"""

from __future__ import annotations

from srm_tui.domain.ids import EMAIL


def looks_like_ids(first_line: str) -> bool:
    """Whether a file's first meaningful line reads as an id list rather than a CSV header."""
    item = first_line.strip()
    return "," not in item and (item.isdigit() or bool(EMAIL.match(item)))


def parse_line(text: str) -> tuple[str, str | int] | None:
    """``("id", 123)``, ``("email", "a@b.example")`` or None for a blank line or comment.

    Raises ValueError naming what the line holds when it is neither.
    """
    item = text.strip()
    if not item or item.startswith("#"):
        return None
    if item.isascii() and item.isdigit():
        return "id", int(item)
    if EMAIL.match(item):
        return "email", item
    shown = item if len(item) <= 60 else item[:57] + "..."
    raise ValueError(f"not a customer id or an email: {shown!r}")


def first_meaningful_line(lines: list[str]) -> str | None:
    """The first line that is not blank or a comment (None if there is none)."""
    for line in lines:
        item = line.strip()
        if item and not item.startswith("#"):
            return item
    return None

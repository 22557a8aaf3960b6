"""A segment's members in the customer list's table, paged from SQLite in the background.

The table asks for rows as it draws; rows not loaded yet show blank for a moment while a
worker reads their page (100 rows, by offset in id order) on the segment runner's thread.
Pages of an older definition are dropped when they arrive (``generation``), and only a few
pages are kept, so a million members never sit in memory.

The worker answers by a message (``PageRead``, posted to the owner: messages up); the owner
hands it to ``arrived``, which keeps the page and shows it.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from textual.message import Message
from textual.widget import Widget

from srm_tui.segments.compile import Compiled
from srm_tui.widgets.customer_table import CustomerTable
from srm_tui.widgets.workers import run_reported

PAGE = 100
KEEP_PAGES = 12


class MemberPages:
    """Feeds a CustomerTable with the rows of one population."""

    class PageRead(Message):
        """A worker read a page of members (``rows`` None: it could not): the owner passes
        it to ``arrived``."""

        def __init__(self, generation: int, page: int, rows: list[dict[str, Any]] | None):
            super().__init__()
            self.generation = generation
            self.page = page
            self.rows = rows

    class Loaded(Message):
        """A page of members arrived and is shown (posted to the owner: messages up)."""

        def __init__(self, page: int) -> None:
            super().__init__()
            self.page = page

    def __init__(self, owner: Widget, table: CustomerTable) -> None:
        self.owner = owner
        self.table = table
        self.generation = 0
        self.compiled: Compiled | None = None
        self.count = 0
        self._pages: OrderedDict[int, list[dict[str, Any]]] = OrderedDict()
        self._pending: set[int] = set()

    def reset(self, compiled: Compiled | None, count: int) -> None:
        """Show another population (or none): the cursor goes back to the top."""
        self.generation += 1
        self.compiled = compiled
        self.count = count if compiled is not None else 0
        self._pages.clear()
        self._pending.clear()
        self.table.cursor = 0
        self.table.reload(self.source, self.count)

    def source(self, offset: int, limit: int) -> list[Any]:
        if self.compiled is None:
            return []
        out: list[Any] = []
        last = min(offset + limit, self.count)
        index = offset
        while index < last:
            page, at = divmod(index, PAGE)
            rows = self._pages.get(page)
            if rows is None:
                self._load(page)
                break
            self._pages.move_to_end(page)
            chunk = rows[at : at + (last - index)]
            if not chunk:
                break
            out += chunk
            index += len(chunk)
        # Load the page after the window too, so scrolling on rarely meets a blank row.
        following = last // PAGE
        if last < self.count and following not in self._pages:
            self._load(following)
        return out

    def _load(self, page: int) -> None:
        if page in self._pending or self.compiled is None:
            return
        self._pending.add(page)
        generation, compiled = self.generation, self.compiled
        runner = self.owner.app.session.segments

        def load() -> None:
            try:
                rows = runner.rows(compiled, offset=page * PAGE, limit=PAGE)
            except Exception as exc:  # shown, never fatal (notify is safe from any thread)
                self.owner.notify(f"Could not read members: {exc}", severity="error")
                rows = None
            self.owner.post_message(self.PageRead(generation, page, rows))

        run_reported(self.owner, load, group="member-pages")

    def arrived(self, message: PageRead) -> None:
        """Keep and show a page a worker read (the owner's handler of ``PageRead`` calls
        this); a page of an older definition is dropped."""
        generation, page, rows = message.generation, message.page, message.rows
        if generation != self.generation:
            return
        self._pending.discard(page)
        if rows is None:
            return
        self._pages[page] = rows
        while len(self._pages) > KEEP_PAGES:
            self._pages.popitem(last=False)
        self.table.reload(self.source, self.count)
        self.owner.post_message(self.Loaded(page))

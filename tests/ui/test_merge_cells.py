"""The offer merge view cuts a long value once (found in a user run: "……" and "…" twice in one
cell, the screen cutting at 30 cells and the table's fitting cutting again): the value first,
then the server's "(changed on server)", cut together by the fitting, and read whole when the
terminal has the room."""

from __future__ import annotations

import pytest

from srm_tui.offers import drafts
from tests.ui_keys import name, settle

# Longer than the 30 cells the view once cut every value to, short enough to be read whole on
# a wide terminal.
BASE = "Monthly pass: every live match of 2027"
THEIRS = "Server: monthly pass, all matches"
MINE = "Draft: monthly pass and every replay"


def _conflict(cache) -> int:
    offer_id, version = cache.conn().execute("SELECT id, version FROM offers LIMIT 1").fetchone()
    with cache.transaction() as tx:
        draft = drafts.save(
            tx,
            offer_id=offer_id,
            target="offer",
            op="update",
            changes={"title": MINE, "tags": ["mine", "a much longer tag " * 4]},
            base_version=version,
            base={"title": BASE, "tags": ["base"]},
            agent="anna",
            now=1,
        )
        drafts.conflict(
            tx, draft, {"title": THEIRS, "tags": ["theirs"]}, (version or 0) + 1, "412", 2
        )
    return draft


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 40)], ids=lambda s: f"{s[0]}w")
async def test_merge_view_cuts_each_value_once(synced, size):
    from srm_tui.screens.offer_merge import MergeScreen
    from tests.ui_keys import make_app

    _running, _state, db, cache = synced
    draft = _conflict(cache)
    app = make_app(db)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        app.push_screen(MergeScreen(draft))
        await settle(pilot)
        assert name(app) == "MergeScreen"
        table = app.screen.query_one("DataTable")
        labels = [str(c.label) for c in table.ordered_columns]
        cells = {
            str(table.get_row_at(i)[0]): dict(zip(labels, map(str, table.get_row_at(i))))
            for i in range(table.row_count)
        }
        title = cells["title"]
        for label, text in title.items():
            # One cut, one ellipsis: never "……", "...…" or a second "…" further on.
            assert text.count("…") <= 1 and "..." not in text, (label, text)
        # Each cell is a prefix of what it shows whole, cut once at its end.
        whole = {
            "When drafted": BASE,
            "Server (theirs)": THEIRS + " (changed on server)",
            "Draft (mine)": MINE,
        }
        for label, full in whole.items():
            if label not in title:
                continue  # "When drafted" gives way first on a narrow terminal
            text = title[label]
            assert text == full or (text.endswith("…") and full.startswith(text[:-1])), text
        # Cut only where the terminal is too narrow: at 200 cells every value is read whole.
        if size[0] >= 200:
            assert all(title[label] == full for label, full in whole.items()), title
        for text in cells["tags"].values():
            assert text.count("…") <= 1, text

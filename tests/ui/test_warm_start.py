"""After its first frame the console imports what the first opens of its screens, dialogs
and palette need (on a thread, once idle), sets start-up's objects aside from the garbage
collector and runs its full passes between keys; it hands all back when it exits. And a table refilled with the rows it already
shows is left as it is (widgets.fit.fill), while new rows replace it."""

from __future__ import annotations

import json
import subprocess
import sys

from textual.app import App, ComposeResult
from textual.coordinate import Coordinate
from textual.widgets import DataTable

from srm_tui.widgets.fit import Col, fill

WARMED = """
import gc, json, sys
from srm_tui.app import SrmApp, WARM_MODULES
from srm_tui.config import load_settings
from srm_tui.storage.cache import Cache

class Warmed(SrmApp):
    WARM_AFTER = 0.01  # (a zero-delay Textual timer divides by its interval)

    def on_mount(self):
        super().on_mount()
        self.set_interval(0.05, self._done)

    def _done(self):
        if self._warm_thread is not None and not self._warm_thread.is_alive():
            self.frozen = gc.get_freeze_count()
            self.deferred = gc.get_threshold()
            gc.collect()  # none due, then one due: the collector's own count of passes
            for _ in range(self.deferred[2] // self.GC_DEFER):
                gc.collect(1)
            typing = self.collect_when_idle(now=self.key_at + self.WARM_QUIET / 2)
            due = gc.get_count()[2]
            idle = self.collect_when_idle(now=self.key_at + self.WARM_QUIET)
            self.passes = [due, typing, idle, gc.get_count()[2]]
            self.exit()

app = Warmed(load_settings(db={db!r}), Cache({db!r}), sync_on_start=False)
app.run(headless=True, size=(120, 40))
print(json.dumps({{
    "missing": [m for m in WARM_MODULES if m.partition(":")[0] not in sys.modules],
    "babel_data": sys.modules["babel.core"]._global_data is not None,
    "frozen": app.frozen,
    "after_exit": gc.get_freeze_count(),
    "deferred": app.deferred,
    "passes": app.passes,
    "restored": gc.get_threshold(),
}}))
"""


def test_the_console_warms_its_screens_after_the_first_frame_and_unfreezes_at_exit(
    seeded_cache,
):
    db = seeded_cache(60, 3)
    out = subprocess.run(
        [sys.executable, "-c", WARMED.format(db=str(db))],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["missing"] == []
    assert got["babel_data"]  # the money formatter's data was read ahead (money.warm)
    assert got["frozen"] > 0  # start-up's objects were set aside while the console ran
    assert got["after_exit"] == 0  # and given back to the collector when it exited
    # Full collections wait for a pause in the keys: deferred while the console runs (the
    # collector's own threshold, times GC_DEFER), run between keys once due, and the
    # collector's own thresholds back at exit.
    own = [700, 10, 10]
    assert got["deferred"] == own[:2] + [own[2] * 20]
    assert got["passes"] == [10, False, True, 0]  # due; not while typing; once idle
    assert got["restored"] == own


class Table(App):
    CSS = "DataTable { height: 10; }"  # rows added do not resize it (a resize refills)

    def compose(self) -> ComposeResult:
        yield DataTable(id="t", cursor_type="row")


COLS = [Col("ID"), Col("Name", flex=True)]


async def test_fill_leaves_the_same_rows_alone_and_replaces_changed_ones():
    app = Table()
    async with app.run_test(size=(80, 20)) as pilot:
        table = app.query_one(DataTable)
        await pilot.pause()  # laid out: its size is settled before the rows come
        fill(table, COLS, [["1", "Ann"], ["2", "Bob"], ["3", "Cy"]], ["1", "2", "3"], 60)
        await pilot.pause()
        table.move_cursor(row=2)
        updates = table._update_count
        fill(table, COLS, [["1", "Ann"], ["2", "Bob"], ["3", "Cy"]], ["1", "2", "3"], 60)
        assert table._update_count == updates  # not cleared and added again
        assert table.cursor_row == 0  # where a refill puts the cursor, as before
        fill(table, COLS, [["1", "Ann"], ["2", "Bea"]], ["1", "2"], 60)
        assert table.row_count == 2
        assert [str(c) for c in table.get_row_at(1)] == ["2", "Bea"]
        # A change made to the table by other code is never hidden by an equal refill.
        table.update_cell_at(Coordinate(1, 1), "Zed")
        fill(table, COLS, [["1", "Ann"], ["2", "Bea"]], ["1", "2"], 60)
        assert [str(c) for c in table.get_row_at(1)] == ["2", "Bea"]

"""Console start-up and memory on a large cache, next to a bare Textual app on the same machine.

    python bench/bench_console.py --db bench/.data/1000000.db

Each run is a fresh process that imports everything, opens the app headless at 120x40,
waits for the first painted customer list, and exits; we time process start to that paint
and read the child's peak RSS. Then it times the list actions (sort, jump to end) in the app.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BARE = """
import time, sys
from textual.app import App
from textual.widgets import Static, Footer
class Bare(App):
    def compose(self):
        yield Static("hello")
        yield Footer()
    def on_mount(self):
        self.call_after_refresh(self.exit)
Bare().run(headless=True, size=(120, 40))
"""

SRM = """
import sys
sys.path.insert(0, {root!r})
import srm_tui.entry, srm_tui.exits, srm_tui.launch  # what plain `srm` imports before it opens the console
from srm_tui.app import SrmApp
from srm_tui.config import load_settings
from srm_tui.storage.cache import Cache
import pathlib, srm_tui.app
class Timed(SrmApp):
    # Textual finds a relative CSS_PATH beside the file of the class, and this one has none.
    if isinstance(SrmApp.CSS_PATH, str):
        CSS_PATH = str(pathlib.Path(srm_tui.app.__file__).parent / SrmApp.CSS_PATH)
    def on_mount(self):
        super().on_mount()
        self.call_after_refresh(self.exit)
Timed(load_settings(db={db!r}), Cache({db!r}), sync_on_start=False).run(headless=True, size=(120, 40))
"""

ACTIONS = """
import sys, time, asyncio, json, resource
sys.path.insert(0, {root!r})
from srm_tui.app import SrmApp
from srm_tui.config import load_settings
from srm_tui.storage.cache import Cache
from srm_tui.widgets.customer_table import CustomerTable
async def main():
    app = SrmApp(load_settings(db={db!r}), Cache({db!r}), sync_on_start=False)
    out = {{}}
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.screen.query_one(CustomerTable)
        async def timed(keys):
            t = time.perf_counter()
            await pilot.press(*keys)
            await pilot.pause()
            return (time.perf_counter() - t) * 1000
        # A key bound to nothing measures the pilot's own press-and-repaint overhead.
        base = sorted([await timed(["z"]) for _ in range(5)])[2]
        out["pilot overhead (unbound key)"] = round(base, 1)
        for name, keys in [("sort (s)", ["s"]), ("reverse (S)", ["S"]), ("jump to end (G)", ["G"]),
                           ("page up", ["pageup"]), ("jump to start (g)", ["g"])]:
            out[name + " net"] = round(await timed(keys) - base, 1)
        out["rows held by the list widget"] = table.held_rows
        out["rows in the list"] = table.count
    out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(out))
asyncio.run(main())
"""


def run(code: str) -> tuple[float, float]:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    elapsed = time.perf_counter() - started
    return elapsed, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    srm_code = SRM.format(root=str(ROOT), db=args.db)
    bare, srm = [], []
    for _ in range(args.repeat):  # interleaved, so a busy moment of the machine hits both
        bare.append(run(BARE)[0])
        srm.append(run(srm_code)[0])
    actions = subprocess.run(
        [sys.executable, "-c", ACTIONS.format(root=str(ROOT), db=args.db)],
        check=True,
        capture_output=True,
        text=True,
    )
    report = {
        "db": args.db,
        "bare_textual_first_paint_s": round(statistics.median(bare), 3),
        "srm_first_list_paint_s": round(statistics.median(srm), 3),
        "ratio": round(statistics.median(srm) / statistics.median(bare), 2),
        "list_actions_ms": json.loads(actions.stdout),
    }
    print(json.dumps(report, indent=2))
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "console.json").write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

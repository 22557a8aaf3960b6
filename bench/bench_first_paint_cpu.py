"""CPU to the first painted customer list, for several srm trees and a bare Textual app.

    git worktree add /tmp/wt-before 55a2fc4
    python bench/bench_first_paint_cpu.py --cache bench/.data/20000.db \
        --tree before=/tmp/wt-before --tree now=. --rounds 10

Each tree gets its own copy of the cache (opened once untimed, so a migration or first-open
work is not timed). Each round starts every app once, in a shuffled order, as a fresh
process that paints the list and exits. It reports the median wall time and the median CPU
time of the child (user + system, ``RUSAGE_CHILDREN``): on a machine shared with other work
the CPU time moves far less than the wall time. Ratios are to the bare app of the same run.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SRM = """
import sys
sys.path.insert(0, {root!r})
import srm_tui.entry, srm_tui.exits, srm_tui.launch  # what plain `srm` imports first
from srm_tui.app import SrmApp
from srm_tui.config import load_settings
from srm_tui.storage.cache import Cache
assert srm_tui.app.__file__.startswith({root!r}), srm_tui.app.__file__
class Timed(SrmApp):
    def on_mount(self):
        super().on_mount()
        self.call_after_refresh(self.exit)
Timed(load_settings(db={db!r}), Cache({db!r}), sync_on_start=False).run(
    headless=True, size=(120, 40)
)
"""

BARE = """
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


def run(code: str) -> tuple[float, float]:
    """(wall, CPU) seconds of one child running ``code``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", required=True, help="an srm cache file (copied per tree)")
    parser.add_argument("--tree", action="append", required=True, help="NAME=PATH of a tree")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="first-paint-"))
    codes = {"bare": BARE}
    for spec in args.tree:
        name, _, root = spec.partition("=")
        db = work / f"{name}.db"
        shutil.copy2(args.cache, db)
        codes[name] = SRM.format(root=str(Path(root).resolve()), db=str(db))
        run(codes[name])  # the first open of this copy, untimed
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in codes}
    for i in range(args.rounds):
        order = list(codes)
        random.Random(i).shuffle(order)
        for name in order:
            samples[name].append(run(codes[name]))
    bare_cpu = statistics.median(c for _, c in samples["bare"])
    bare_wall = statistics.median(w for w, _ in samples["bare"])
    out = {}
    for name, values in samples.items():
        wall = statistics.median(w for w, _ in values)
        cpu = statistics.median(c for _, c in values)
        out[name] = {
            "wall_median_s": round(wall, 3),
            "cpu_median_s": round(cpu, 3),
            "cpu_ratio_to_bare": round(cpu / bare_cpu, 2),
            "wall_ratio_to_bare": round(wall / bare_wall, 2),
        }
    print(json.dumps(out, indent=1))
    shutil.rmtree(work)


if __name__ == "__main__":
    main()

"""The demo's first start: plain `srm` with empty config and data folders, timed to customers.

    python -m bench.bench_demo_start [--tree DIR ...] [--rounds 2] [--out FILE]

Each round runs, per tree (PYTHONPATH set to it; the default is this checkout), a fresh
process with empty SRM_CONFIG_DIR and SRM_DATA_DIR that opens the console as `srm` does
(runtime.open_console_store, SrmApp headless at 120x40, the sync on start) and records, from
just before the process was spawned, the wall clock and the process's CPU time (user + sys,
all threads) at each milestone:

- ``first_paint``: the console's first frame (an empty list);
- ``sandbox_started``: the session has its in-process sandbox (start_demo_sandbox returned);
- ``first_page_served``: the in-process sandbox answered the first customers page (a page of
  more than one customer: the sync's totals ask for one record);
- ``first_customers``: the customer list shows customers (with the status line then);
- ``all_customers``: it shows all of the demo's customers;
- ``synced``: the first sync ended (the status line says so); ``--until all_customers``
  stops there instead (a busy machine takes many minutes for the rest of the sync).

Trees alternate within a round, so a busy moment hits each alike. On a busy machine compare
ratios within one run and the CPU seconds (a quiet machine's wall time is near the CPU time:
the process is mostly one thread at a time under the GIL).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MILESTONES = (
    "first_paint",
    "sandbox_started",
    "first_page_served",
    "first_customers",
    "all_customers",
    "synced",
)

CHILD = r"""
import json, os, resource, sys, time
T0 = float(os.environ["BENCH_T0"])
UNTIL = os.environ["BENCH_UNTIL"]
marks = {}

def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

def mark(name, **extra):
    if name not in marks:
        marks[name] = {"s": round(time.time() - T0, 3), "cpu": round(cpu(), 3), **extra}

import srm_tui.entry, srm_tui.exits, srm_tui.launch  # what plain `srm` imports first
import pathlib
import srm_tui.app
from srm_tui import runtime
from srm_tui.app import SrmApp
from srm_tui.config import load_settings
from srm_tui.sandbox.state import SandboxState
from srm_tui.widgets.customer_table import CustomerTable

since = SandboxState.since

def timed_since(self, entity, start, limit, customer_id=None):
    answer = since(self, entity, start, limit, customer_id)
    if entity == "customers" and limit > 1:
        mark("first_page_served")
    return answer

SandboxState.since = timed_since

class Timed(SrmApp):
    if isinstance(SrmApp.CSS_PATH, str):  # found beside this class's file otherwise
        CSS_PATH = str(pathlib.Path(srm_tui.app.__file__).parent / SrmApp.CSS_PATH)

    def on_mount(self):
        super().on_mount()
        self.set_interval(0.05, self._look)
        self.call_after_refresh(mark, "first_paint")

    def _look(self):
        if self.session.demo_sandbox is not None:
            mark("sandbox_started")
        tables = self.screen.query(CustomerTable)
        count = tables.first().count if tables else 0
        if count:
            mark("first_customers", count=count, status=self.status_text)
        if count >= runtime.DEMO_CUSTOMERS:
            mark("all_customers")
            if UNTIL == "all_customers":
                self.exit()
        if "first_customers" in marks and not self.sync_state and "synced" in self.status_text:
            mark("synced", status=self.status_text)
            self.exit()

settings, cache = runtime.open_console_store(load_settings())
assert settings.is_demo, "the config folder is not empty"
Timed(settings, cache).run(headless=True, size=(120, 40))
print(json.dumps(marks))
"""


def run_once(tree: Path, timeout: float, until: str) -> dict:
    """One first start of the demo in a fresh process; its milestones."""
    with tempfile.TemporaryDirectory(prefix="srm-demo-start-") as tmp:
        env = dict(os.environ)
        env.update(
            PYTHONPATH=str(tree),
            SRM_CONFIG_DIR=str(Path(tmp) / "config"),
            SRM_DATA_DIR=str(Path(tmp) / "data"),
            BENCH_UNTIL=until,
            BENCH_T0=repr(time.time()),
        )
        done = subprocess.run(
            [sys.executable, "-c", CHILD],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=tmp,
        )
    if done.returncode:
        raise RuntimeError(f"{tree}: exit {done.returncode}\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", type=Path, help="an srm checkout (repeat)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=1800)
    parser.add_argument("--until", choices=("all_customers", "synced"), default="synced")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "demo_start.json")
    args = parser.parse_args()
    trees = [t.resolve() for t in (args.tree or [ROOT])]
    runs: dict[str, list[dict]] = {str(t): [] for t in trees}
    for n in range(args.rounds):
        for tree in trees:
            marks = run_once(tree, args.timeout, args.until)
            runs[str(tree)].append(marks)
            line = ", ".join(
                f"{m} {marks[m]['s']:.2f} s (cpu {marks[m]['cpu']:.2f})"
                for m in MILESTONES
                if m in marks
            )
            print(f"round {n + 1} {tree}: {line}", flush=True)
            print(f"    status at first customers: {marks['first_customers']['status']}")
    summary = {}
    for tree, marks in runs.items():
        summary[tree] = {
            m: {
                "s": statistics.median(r[m]["s"] for r in marks),
                "cpu": statistics.median(r[m]["cpu"] for r in marks),
            }
            for m in MILESTONES
            if all(m in r for r in marks)
        }
    report = {"load": os.getloadavg(), "runs": runs, "median": summary}
    print(json.dumps(summary, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

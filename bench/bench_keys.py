"""Key to last repaint in the real console, next to a bare Textual app in the same run.

    python bench/bench_keys.py [--cache PATH | --demo] [--rounds 5] [--quiet 0.2] [--settle 5]

Both apps run on 120x40 pseudo-terminals (bench/keyterm.py) for the whole run; each round
plays srm's scripted agent session once, then the bare app's (bench/bare_console.py), so
both meet the same machine load. Every step has a kind (list move, open a screen, switch
tab, open a dialog, ...); the bare app's script makes each kind of move several times, and
the table sets each srm key next to the bare app's figures for its kind. The first round
(screens built for the first time) is kept, and shown on its own as "first".

Without --cache a 5,000-customer cache is seeded once into bench/.data/ (bench/seeded.py);
--demo runs plain `srm` (the built-in demo, syncing its sandbox as a new user meets it).
Results: bench/results/keys-<name>.json and a markdown table on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from keyterm import KEYS, Term  # noqa: E402
from seeded import AS_OF, ensure_db  # noqa: E402

HERE = Path(__file__).parent
RESULTS = HERE / "results"
ESC = "escape"
# A 2,600-character note pasted as a terminal pastes (bracketed paste, which Textual asks
# for): one line, since the bare app's Input keeps only a paste's first line.
NOTE = (
    "Customer called about a double charge on the annual plan after the card was updated; "
    "refund of the second charge agreed with the team lead, see ticket 4471. Café owner, "
    "prefers email. "
) * 20
NOTE = NOTE[:2600]
SENDS = {**KEYS, "paste": b"\x1b[200~" + NOTE.encode() + b"\x1b[201~"}

# (label, key, kind, text the step must paint before it counts as settled)
SRM_STEPS: list[tuple[str, str, str | None, str | None]] = [
    ("j in the list", "j", "list move", None),
    ("j in the list (2)", "j", "list move", None),
    ("k in the list", "k", "list move", None),
    ("/ focus search", "/", "focus search", None),
    ("type 'son', to results", "son", "type to results", "found in"),
    ("Esc clear search", ESC, "clear search", "cached"),
    ("/ focus search (2)", "/", "focus search", None),
    ("type an email, to results", "jsantos475", "type to results", "1 found"),
    ("Enter open customer", "enter", "open screen", "1 Summary"),
    ("2 Payments tab", "2", "switch tab", "Payment details"),
    ("x Extend dialog", "x", "open dialog", "Extend access"),
    ("Esc close dialog", ESC, "close dialog", None),
    ("tab focus subscriptions", "tab", None, None),
    ("c Cancel dialog", "c", "open dialog", "Cancel subscription"),
    ("Esc close dialog", ESC, "close dialog", None),
    ("3 Transactions tab", "3", "switch tab", None),
    ("r Refund dialog", "r", "open dialog", "Refund transaction"),
    ("Esc close dialog", ESC, "close dialog", None),
    ("4 Emails tab", "4", "switch tab", None),
    ("5 Notes tab", "5", "switch tab", None),
    ("n Add note dialog", "n", "open dialog", "Add note"),
    ("paste 2,600 characters into the note", "paste", "paste", "2,600"),
    ("Esc asks to leave the note", ESC, None, "What you typed"),
    ("y leaves it", "y", "close dialog", None),
    ("6 History tab", "6", "switch tab", None),
    ("1 Summary tab", "1", "switch tab", "Lifetime revenue"),
    ("e Edit dialog", "e", "open dialog", "Edit customer"),
    ("Esc close dialog", ESC, "close dialog", None),
    ("Esc back to the list", ESC, "back", "found"),
    ("Esc clear search", ESC, "clear search", "cached"),
    ("F3 Segments", "f3", "switch mode", "Segments"),
    ("n segment builder", "n", "open screen", "new segment"),
    ("a add condition dialog", "a", "open dialog", "Attribute"),
    ("Esc close dialog", ESC, "close dialog", None),
    ("Esc back to segments", ESC, "back", "saved"),
    ("F4 Offers", "f4", "switch mode", "catalogue"),
    ("Enter open offer", "enter", "open screen", "Localizations"),
    ("e offer editor", "e", "open screen", "Keep as draft"),
    ("Esc close editor", ESC, "back", "Localizations"),
    ("Esc back to offers", ESC, "back", "catalogue"),
    ("F5 Sync & outbox", "f5", "switch mode", "Sync"),
    ("F2 Customers", "f2", "switch mode", "cached"),
    ("ctrl+p palette", "ctrl+p", "palette", "Search for"),
    ("Esc close palette", ESC, "close dialog", None),
    ("? help", "?", "open dialog", "Binding id"),
    ("Esc close help", ESC, "close dialog", None),
]

BARE_STEPS: list[tuple[str, str, str | None, str | None]] = [
    ("j", "j", "list move", None),
    ("j", "j", "list move", None),
    ("k", "k", "list move", None),
    ("/", "/", "focus search", None),
    ("type", "son", "type to results", "found"),
    ("Esc", ESC, "clear search", None),
    ("/", "/", "focus search", None),
    ("type", "zo", "type to results", "found"),
    ("Enter", "enter", "open screen", "1 Summary"),
    *[(str(n), str(n), "switch tab", None) for n in (2, 3)],
    ("e", "e", "open dialog", "Edit customer"),
    ("paste", "paste", "paste", None),
    ("Esc", ESC, "close dialog", None),
    *[(str(n), str(n), "switch tab", None) for n in (4, 5, 6, 1)],
    ("e", "e", "open dialog", "Edit customer"),
    ("Esc", ESC, "close dialog", None),
    ("Esc", ESC, "back", "Customers"),
    ("Esc", ESC, "clear search", None),
    ("Enter", "enter", "open screen", "1 Summary"),
    ("Esc", ESC, "back", "Customers"),
    *[(k, k, "switch mode", None) for k in ("f3", "f4", "f5", "f2")],
    ("ctrl+p", "ctrl+p", "palette", "Search for"),
    ("Esc", ESC, "close dialog", None),
    ("?", "?", "open dialog", "Binding id"),
    ("Esc", ESC, "close dialog", None),
]


def _play(term: Term, steps, quiet: float, by_kind: bool, into: dict[str, list], log) -> None:
    """One pass of a script; samples go under the step's label (srm) or kind (bare).

    A step that never paints what it expects leaves the console somewhere else: the rest
    of the round is skipped and the console is brought back to its list (Esc, F2, Esc)."""
    for label, key, kind, expect in steps:
        timing = term.press(SENDS.get(key, key.encode()), expect=expect, quiet=quiet)
        if kind == "paste" and timing.expect_ms is not None and timing.ms is not None:
            # Settled when the text is in and counted; a form's debounced check repaints
            # later, recorded beside it as a step of its own.
            into.setdefault(label, []).append(timing.expect_ms)
            into.setdefault(f"{label}: to the last frame", []).append(timing.ms)
            continue
        into.setdefault((kind or label) if by_kind else label, []).append(timing.ms)
        if timing.ms is None:
            log(f"  ! {label}: {expect!r} not painted within the timeout; round cut short")
            for back in ("escape", "escape", "escape", "f2", "escape"):
                term.press(KEYS[back], quiet=1.0, timeout=5)
            return


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


def _summary(samples: list[float | None]) -> dict:
    done = [v for v in samples if v is not None]
    if not done:
        return {"n": 0, "timeouts": len(samples)}
    return {
        "n": len(done),
        "timeouts": len(samples) - len(done),
        "first": round(samples[0], 1) if samples[0] is not None else None,
        "p50": round(statistics.median(done), 1),
        "p95": round(_pct(done, 0.95), 1),
        "max": round(max(done), 1),
    }


def _srm_term(args, home: Path) -> tuple[Term, str]:
    env = {"SRM_CONFIG_DIR": str(home / "config"), "SRM_DATA_DIR": str(home / "data")}
    # `-m` puts the working directory first on the path, ahead of PYTHONPATH: srm runs from
    # the tree PYTHONPATH names (another commit's worktree), not the one this script is in.
    tree = os.environ.get("PYTHONPATH", "").split(os.pathsep)[0] or str(HERE.parent)
    if args.demo:
        return Term([sys.executable, "-m", "srm_tui"], env, cwd=tree), "demo"
    cache = Path(args.cache).resolve() if args.cache else ensure_db(5000)
    argv = [sys.executable, "-m", "srm_tui", "--db", str(cache), "--now", AS_OF]
    return Term(argv, env, cwd=tree), cache.stem


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", help="an srm cache file (default: a seeded 5,000)")
    parser.add_argument("--demo", action="store_true", help="plain `srm`: the built-in demo")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quiet", type=float, default=0.2, help="s without a frame = settled")
    parser.add_argument("--name", help="results file name (default: from the cache)")
    parser.add_argument(
        "--settle",
        type=float,
        default=5.0,
        help="s after both first paints before the first key (an agent reads the list first; "
        "srm pre-imports its screens meanwhile)",
    )
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    # SIGTERM (a timeout) unwinds through the finally below, so no console is left behind.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    log = lambda text: print(text, file=sys.stderr, flush=True)  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="srm-keys-") as tmp:
        home = Path(args.demo and HERE / ".data" / "demo-home" or tmp)
        srm, name = _srm_term(args, home)
        bare = Term([sys.executable, str(HERE / "bare_console.py")], {})
        load_before = os.getloadavg()
        srm_samples: dict[str, list] = {}
        bare_samples: dict[str, list] = {}
        began = time.time()
        try:
            started = {
                "srm": round(srm.wait_for("cached", timeout=600), 2),
                "bare": round(bare.wait_for("200 cached"), 2),
            }
            time.sleep(args.settle)
            for n in range(args.rounds):
                log(f"round {n + 1}/{args.rounds} · load {os.getloadavg()[0]:.2f}")
                _play(srm, SRM_STEPS, args.quiet, False, srm_samples, log)
                _play(bare, BARE_STEPS, args.quiet, True, bare_samples, log)
        finally:
            srm.close()
            bare.close()
    kind_of = {label: kind for label, _key, kind, _expect in SRM_STEPS}
    keys = []
    for label, samples in srm_samples.items():
        kind = kind_of.get(label)  # None for a step's second figure (a paste's last frame)
        row = {"key": label, "kind": kind, **_summary(samples)}
        floor = _summary(bare_samples.get(kind or "", []))
        if row.get("p50") is not None and floor.get("p50"):
            row["bare_p50"], row["bare_p95"] = floor["p50"], floor["p95"]
            row["ratio_p50"] = round(row["p50"] / floor["p50"], 2)
            row["p95_over_bare_ms"] = round(row["p95"] - floor["p95"], 1)
        keys.append(row)
    out = {
        "name": name,
        "rounds": args.rounds,
        "quiet_s": args.quiet,
        "settle_s": args.settle,
        "tree": os.environ.get("PYTHONPATH", ""),
        "seconds": round(time.time() - began, 1),
        "start_s": started,
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
        "keys": keys,
        "bare_kinds": {kind: _summary(v) for kind, v in bare_samples.items()},
        "raw_ms": {"srm": srm_samples, "bare": bare_samples},
    }
    path = RESULTS / f"keys-{args.name or name}.json"
    path.write_text(json.dumps(out, indent=1))
    print(_markdown(out))
    log(f"raw numbers: {path}")


def _markdown(out: dict) -> str:
    """The table for bench/README.md."""
    lines = [
        f"{out['name']}: {out['rounds']} rounds, settled = {out['quiet_s'] * 1000:.0f} ms "
        f"without a frame; load average {out['load_before'][0]} before, "
        f"{out['load_after'][0]} after, {out['cpus']} cores",
        "",
        "| key | kind | srm p50 | srm p95 | first | bare p50 | bare p95 | p50 ratio "
        "| p95 minus bare p95 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in out["keys"]:
        if not r.get("n"):
            lines.append(f"| {r['key']} | {r['kind'] or ''} | timed out | | | | | | |")
            continue
        lines.append(
            f"| {r['key']} | {r['kind'] or ''} | {r['p50']:.0f} | {r['p95']:.0f} "
            f"| {r['first'] if r['first'] is None else round(r['first'])} "
            f"| {r.get('bare_p50', '')} | {r.get('bare_p95', '')} "
            f"| {str(r['ratio_p50']) + 'x' if 'ratio_p50' in r else ''} "
            f"| {r.get('p95_over_bare_ms', '')} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()

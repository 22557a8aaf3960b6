"""Every screen of the console as an SVG picture, at 80x24 and 120x40, for review by eye.

    python -m tools.gallery OUT_DIR [--only NAME ...]

The suite's snapshot tests (tests/ui/test_snapshots.py) pin a few screens pixel for pixel;
this walks every screen an agent reaches (each list, each tab, each dialog and editor) on the
snapshot tests' seeded cache and fixed clock, and saves what it shows, so a person can look at
all of them after a layout change: a cut key column, a footer key missing at 80x24, a message
cut mid-word. Notices are shown (Textual's test harness hides them unless asked). Nothing here
asserts; it is a camera, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
from pathlib import Path

NOW = "2026-11-01T00:10:00Z"
SIZES = ((80, 24), (120, 40))
OPEN = ("j", "j", "enter")  # the list's third customer, who has a subscription and payments
RICH = ("slash", *"649829989", "enter")  # notes edited before, both email statuses, payments

# (name, keys): each starts from a fresh console on the customer list.
SHOTS: list[tuple[str, tuple[str, ...]]] = [
    ("customers", ()),
    ("customers-search", ("slash", *"anna", "down")),
    ("customers-search-error", ("slash", *"birthdate:1972", "enter")),
    ("customers-columns", ("c",)),
    ("help", ("question_mark",)),
    ("palette-coupon", ("ctrl+p", *"coupon")),
    ("customer-1-summary", (*OPEN, "1")),
    ("customer-2-payments", (*OPEN, "2")),
    ("customer-3-transactions", (*OPEN, "3")),
    ("customer-4-emails", (*RICH, "4")),
    ("customer-5-notes", (*RICH, "5")),
    ("customer-6-history", (*RICH, "6")),
    ("customer-history-filter", (*RICH, "6", "f")),
    ("customer-change-history", (*OPEN, "h")),
    ("customer-pending", (*OPEN, "p")),
    ("customer-static-segments", (*OPEN, "m")),
    ("customer-view-offer", (*OPEN, "2", "tab", "o")),
    ("action-edit", (*OPEN, "e")),
    ("action-extend", (*OPEN, "2", "tab", "x")),
    ("action-cancel", (*OPEN, "2", "tab", "c", *"Moving abroad")),
    ("action-pause", (*OPEN, "2", "tab", "P")),
    ("action-switch", (*OPEN, "2", "tab", "w")),
    ("action-coupon", (*OPEN, "2", "tab", "C")),
    ("action-refund", (*OPEN, "3", "tab", "r", "tab", *"20")),
    ("action-cancel-transaction", (*OPEN, "3", "tab", "X")),
    ("action-delete-payment-details", (*OPEN, "2", "D")),
    ("action-resend", (*RICH, "4", "tab", "R")),
    ("action-note-add", (*OPEN, "n", *"Called about the renewal")),
    ("action-note-edit", (*RICH, "5", "tab", "E")),
    ("action-anonymize", (*OPEN, "A")),
    ("action-wrong-tab", (*OPEN, "1", "r")),
    ("segments", ("f3",)),
    ("segment-builder", ("f3", "enter")),
    ("segment-new", ("f3", "n")),
    ("segment-condition", ("f3", "n", "a")),
    ("segment-overview", ("f3", "o")),
    ("segment-cache-overview", ("f3", "O")),
    ("segment-versions", ("f3", "h")),
    ("segment-export", ("f3", "t")),
    ("segment-schedules", ("f3", "s")),
    ("segment-bulk", ("f3", "B")),
    ("segment-bulk-runs", ("f3", "L")),
    ("segment-static-new", ("f3", "N")),
    ("offers", ("f4",)),
    ("offers-filter", ("f4", "slash", *"type:sub state:active tag:premium", "enter")),
    ("offer-detail", ("f4", "slash", *"type:sub state:active tag:premium", "enter", "enter")),
    (
        "offer-editor",
        ("f4", "slash", *"type:sub state:active tag:premium", "enter", "enter", "e"),
    ),
    (
        "offer-holders",
        ("f4", "slash", *"type:sub state:active tag:premium", "enter", "enter", "h"),
    ),
    (
        "offer-toggle-ask",
        ("f4", "slash", *"type:sub state:active tag:premium", "enter", "enter", "a"),
    ),
    ("offer-new-type", ("f4", "n")),
    ("offer-new-subscription", ("f4", "n", "1")),
    ("offer-season-groups", ("f4", "S")),
    ("offer-coupons", ("f4", "C")),
    ("offer-drafts", ("f4", "D")),
    ("sync-outbox", ("f5",)),
    ("playbook", ("f6",)),
    ("playbook-rule", ("f6", "e")),
]


async def _settle(pilot) -> None:
    for _ in range(3):
        await pilot.pause()
        await pilot.app.workers.wait_for_complete()
    await pilot.pause(0.4)  # previews and explain follow a short debounce
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def _shoot(db: Path, keys: tuple[str, ...], size: tuple[int, int], out: Path) -> None:
    from srm_tui.app import SrmApp
    from srm_tui.config import load_settings
    from srm_tui.storage.cache import Cache

    settings = load_settings(db=str(db), now=NOW, agent="anna", theme="textual-dark")
    app = SrmApp(settings, Cache(db), sync_on_start=False)
    async with app.run_test(size=size, notifications=True) as pilot:
        await _settle(pilot)
        for key in keys:
            await pilot.press(key)
            if key in ("enter", "f3", "f4", "f5", "f6", "down"):
                await _settle(pilot)
        await _settle(pilot)
        app.save_screenshot(filename=out.name, path=str(out.parent))


def _cache(work: Path) -> Path:
    """The snapshot tests' cache: 300 customers, seed 2, as of the fixed clock."""
    from datetime import UTC, datetime

    from srm_tui.sandbox.seed import seed_cache
    from srm_tui.storage.cache import Cache

    db = work / "gallery.db"
    cache = Cache(db)
    seed_cache(cache, 300, 2, datetime(2026, 11, 1, tzinfo=UTC))
    cache.close()
    return db


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="srm-gallery-"))
    try:
        base = _cache(work)
        for name, keys in SHOTS:
            if args.only and name not in args.only:
                continue
            for size in SIZES:
                db = work / f"{name}.db"  # a fresh copy: a shot may queue or save something
                shutil.copy(base, db)
                out = args.out / f"{name}-{size[0]}x{size[1]}.svg"
                try:
                    asyncio.run(_shoot(db, keys, size, out))
                    print(out)
                except Exception as error:  # a screen that cannot be reached is reported
                    print(f"{out}: FAILED {type(error).__name__}: {error}")
                db.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

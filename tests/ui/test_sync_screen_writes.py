"""F5 lists every pending write, offer edits with support actions (one write pipeline): a
draft in conflict opens its merge view, a waiting one the drafts list — by keys."""

from __future__ import annotations

from srm_tui.offers import drafts
from tests.helpers import screen_text
from tests.ui_keys import make_app, name, settle, to_row


def _offers(cache) -> list[tuple[str, int | None, str]]:
    rows = cache.conn().execute("SELECT id, version, title FROM offers ORDER BY id LIMIT 2")
    return [(r[0], r[1], r[2]) for r in rows]


async def test_offer_drafts_wait_on_f5_and_open_by_their_status(synced):
    _running, _state, db, cache = synced
    (first, first_version, first_title), (second, second_version, _) = _offers(cache)
    with cache.transaction() as tx:
        clash = drafts.save(
            tx,
            offer_id=first,
            target="offer",
            op="update",
            changes={"title": "Mine"},
            base_version=first_version,
            base={"title": first_title},
            agent="anna",
            now=1,
        )
        drafts.conflict(tx, clash, {"title": "Theirs"}, (first_version or 0) + 1, "412", 2)
        drafts.save(
            tx,
            offer_id=second,
            target="offer",
            op="deactivate",
            changes={"active": False},
            base_version=second_version,
            base={"active": True},
            agent="anna",
            now=3,
        )
    app = make_app(db)  # offline: the drafts wait
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f5")
        await settle(pilot)
        assert name(app) == "SyncScreen"
        # The status line counts them as the table does.
        assert "1 offer draft pending" in app.status_text and "1 conflict (F5)" in app.status_text
        shown = screen_text(app)
        assert "1 pending, 1 need a decision" in shown
        assert f"edit {first}" in shown and f"deactivate {second}" in shown
        await to_row(pilot, "outbox", f"offer:{clash}")
        assert "Enter opens it" in screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
        assert name(app) == "MergeScreen"
        await pilot.press("escape")
        await settle(pilot)
        assert name(app) == "SyncScreen"
        table = app.screen.query_one("#outbox")
        await to_row(
            pilot, "outbox", [str(k.value) for k in table.rows if k.value != f"offer:{clash}"][0]
        )
        await pilot.press("enter")
        await settle(pilot)
        assert name(app) == "DraftsScreen"

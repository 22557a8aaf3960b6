"""A cache written by srm at schema V8, holding queued support actions and offer drafts, opens
in today's srm with nothing lost: the write engine lists both kinds as pending writes (keys,
bases and a conflict's server values kept), and one push sends them, each exactly once,
against a real `srm sandbox serve` process.

The rows are written as V8 srm wrote them (raw SQL, not through today's code), so the test
keeps proving the migration path when a later schema version is added.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from srm_tui.config import load_settings
from srm_tui.session import Session
from srm_tui.storage import schema
from srm_tui.storage.cache import Cache
from tests.helpers import SandboxProcess, run_srm, srm_env

AS_OF = "2026-11-01T00:00:00Z"
NOW = 1793491200
NOTE_KEYS = ["c889eeba59c34cb2a125f978815050bc", "5d1e0c3b8c9a4f0e9b7a6d5c4b3a2f10"]
DRAFT_KEYS = ["05f9862b9e9b40d1ba84919768ded417", "a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5"]


def _note_payload(customer_id: int, text: str) -> str:
    """An outbox payload exactly as srm at V8 stored a queued note."""
    return json.dumps(
        {
            "title": "Add note",
            "args": {"customer_id": customer_id, "text": text},
            "role": "agent",
            "request": {
                "method": "POST",
                "path": "/x-srm/notes",
                "body": {"customerId": customer_id, "author": "anna", "text": text},
            },
            "changes": [{"what": "note by anna", "before": None, "after": text}],
        },
        separators=(",", ":"),
    )


def write_v8_cache(db: Path, customers: list[int], offers: list[dict]) -> None:
    """A V8 cache (migrations 1..8 only) holding two queued notes, a waiting offer draft and
    one that met a 412 (the server's values beside it)."""
    conn = sqlite3.connect(db)
    for script in schema.MIGRATIONS[:8]:
        conn.executescript(script)
    conn.execute("PRAGMA user_version=8")
    for i, (customer_id, key) in enumerate(zip(customers, NOTE_KEYS)):
        conn.execute(
            "INSERT INTO outbox (idempotency_key, action, target, customer_id, payload, base, "
            "agent, status, created_at) VALUES (?, 'note-add', ?, ?, ?, '[]', 'anna', "
            "'pending', ?)",
            (
                key,
                f"customer {customer_id}",
                customer_id,
                _note_payload(customer_id, f"V8 {i}"),
                NOW,
            ),
        )
    waiting, conflicting = offers
    conn.execute(
        "INSERT INTO offer_drafts (offer_id, target, op, changes, base_version, base, status, "
        "agent, idempotency_key, created_at, updated_at) VALUES (?, 'offer', 'update', ?, ?, ?, "
        "'draft', 'anna', ?, ?, ?)",
        (
            waiting["id"],
            json.dumps({"title": "V8 draft title"}),
            waiting["version"],
            json.dumps({"title": waiting["title"]}),
            DRAFT_KEYS[0],
            NOW,
            NOW,
        ),
    )
    conn.execute(
        "INSERT INTO offer_drafts (offer_id, target, op, changes, base_version, base, status, "
        "server, server_version, last_error, agent, idempotency_key, created_at, updated_at) "
        "VALUES (?, 'offer', 'update', ?, ?, ?, 'conflict', ?, ?, 'version changed', 'anna', ?, "
        "?, ?)",
        (
            conflicting["id"],
            json.dumps({"title": "Mine from V8"}),
            conflicting["version"] - 1,
            json.dumps({"title": "Before V8"}),
            json.dumps({"title": conflicting["title"]}),
            conflicting["version"],
            DRAFT_KEYS[1],
            NOW,
            NOW,
        ),
    )
    conn.commit()
    conn.close()


@pytest.fixture
def sandbox():
    served = SandboxProcess("--customers", "30", "--seed", "7", "--as-of", AS_OF)
    yield served
    served.stop()


def test_a_v8_cache_with_queued_actions_and_drafts_lists_and_pushes_them(sandbox, tmp_path):
    export = sandbox.export()
    customers = [c["id"] for c in export["customers"][:2]]
    offers = [o for o in export["offers"] if o.get("version")][:2]
    db = tmp_path / "v8.db"
    write_v8_cache(db, customers, offers)

    settings = load_settings(
        db=db, api_url=sandbox.url, api_key="sandbox-key", agent="anna", role="agent", now=AS_OF
    )
    cache = Cache(db)
    assert cache.schema_version == schema.SCHEMA_VERSION  # migrated forward on open
    session = Session(settings, cache)
    try:
        listed = session.writes.writes()
        assert [(w.kind, w.id, w.status) for w in listed] == [
            ("action", 1, "pending"),
            ("action", 2, "pending"),
            ("offer", 1, "pending"),
            ("offer", 2, "conflict"),
        ]
        assert [w.key for w in listed] == NOTE_KEYS + DRAFT_KEYS
        assert [w.target for w in listed[:2]] == [f"customer {c}" for c in customers]
        draft, conflict = listed[2], listed[3]
        assert draft.base_version == offers[0]["version"]
        assert [(c.what, c.before, c.after) for c in draft.changes] == [
            ("title", offers[0]["title"], "V8 draft title")
        ]
        assert conflict.versions == [
            {
                "record": f"offer {offers[1]['id']}",
                "field": "title",
                "base": "Before V8",
                "queued": "Mine from V8",
                "server": offers[1]["title"],
            }
        ]
        assert session.writes.get("offer:2").source.server_version == offers[1]["version"]

        # The CLI's own faces read the same rows (offline: nothing is sent).
        env = srm_env(None, db, SRM_NOW=AS_OF, SRM_AGENT="anna")
        out = run_srm("outbox", "list", "--json", env=env)
        assert out.returncode == 0, out.stderr
        shown = json.loads(out.stdout)
        assert [(i["id"], i["action"], i["status"]) for i in shown] == [
            (1, "note-add", "pending"),
            (2, "note-add", "pending"),
            ("offer:1", "offer-update", "pending"),
            ("offer:2", "offer-update", "conflict"),
        ]
        assert "kind" not in shown[0]  # an action's entry is printed as it always was
        assert shown[3]["versions"][0]["server"] == offers[1]["title"]
        text = run_srm("outbox", "list", env=env)
        assert "#offer:2 conflict" in text.stdout and "V8 draft title" in text.stdout
        drafts = run_srm("offers", "drafts", "--json", env=env)
        assert drafts.returncode == 0, drafts.stderr
        assert [(d["id"], d["status"]) for d in json.loads(drafts.stdout)] == [
            (1, "draft"),
            (2, "conflict"),
        ]

        # One push through the outbox's face sends both kinds; the conflict waits for a merge.
        pushed = run_srm("outbox", "push", "--json", env=srm_env(sandbox, db, SRM_NOW=AS_OF))
        assert pushed.returncode == 1, pushed.stderr
        summary = json.loads(pushed.stdout)
        assert summary["sent"] == [1, 2, "offer:1"], summary["messages"]
        assert summary["conflicts"] == ["offer:2"] and summary["failed"] == []
        assert summary["remaining"] == 0 and summary["stopped"] is None
        assert "srm offers resolve" in pushed.stderr
        again = session.writes.push()
        assert again.sent == [] and again.conflicts == ["offer:2"]
    finally:
        session.close()
        cache.close()

    after = sandbox.export()
    texts = [n["text"] for n in after["notes"]]
    assert texts.count("V8 0") == 1 and texts.count("V8 1") == 1  # each applied once
    by_id = {o["id"]: o for o in after["offers"]}
    assert by_id[offers[0]["id"]]["title"] == "V8 draft title"
    assert by_id[offers[1]["id"]]["title"] == offers[1]["title"]  # the conflict is not sent
    conn = sqlite3.connect(db)
    assert [r[0] for r in conn.execute("SELECT status FROM outbox ORDER BY id")] == ["sent"] * 2
    assert [r[0] for r in conn.execute("SELECT id, status FROM offer_drafts")] == [2]
    conn.close()

    # The outbox's resolve settles a draft too: --retry keeps the draft's fields and sends them
    # over the server's version.
    online = srm_env(sandbox, db, SRM_NOW=AS_OF, SRM_AGENT="anna")
    bad = run_srm("outbox", "resolve", "offer:x", "--retry", env=online)
    assert bad.returncode == 2 and "OUTBOX_ID" in bad.stderr
    missing = run_srm("outbox", "resolve", "offer:9", "--discard", env=online)
    assert missing.returncode == 2 and "no draft #9" in missing.stderr
    retried = run_srm("outbox", "resolve", "offer:2", "--retry", "--json", env=online)
    assert retried.returncode == 0, retried.stderr
    assert json.loads(retried.stdout)["status"] == "applied"
    assert _title(sandbox, offers[1]["id"]) == "Mine from V8"
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM offer_drafts").fetchone()[0] == 0
    conn.close()


def _title(sandbox: SandboxProcess, offer_id: str) -> str:
    return next(o["title"] for o in sandbox.export()["offers"] if o["id"] == offer_id)

"""The reads and the bound segments store the offer and segment screens use through the
session (storage/reads/offers.py, storage/reads/segments.py, segments/service.py), checked
against the cache itself on a seeded cache."""

from __future__ import annotations

import json
import os

import pytest

from srm_tui.domain import offers as od
from srm_tui.segments import store
from srm_tui.segments.model import Segment
from srm_tui.segments.service import SegmentStore
from srm_tui.storage.cache import Cache
from srm_tui.storage.reads.offers import OfferReads
from srm_tui.storage.reads.segments import CustomerLabel, SegmentReads
from tests.conftest import AS_OF

NOW = int(AS_OF.timestamp())
MISSING = 999_999_999  # no seeded customer has this id


@pytest.fixture
def cache(seeded_cache):
    c = Cache(seeded_cache(300, 11))
    yield c
    c.close()


def test_offer_reads_follow_the_cache(cache):
    reads = OfferReads(cache)
    conn = cache.conn()
    offers = reads.catalogue()
    assert [o["id"] for o in offers] == [r[0] for r in conn.execute("SELECT id FROM offers")]
    first = offers[0]
    assert reads.offer(first["id"]) == first
    assert reads.offer("S000000000") is None
    # The catalogue's counts and one offer's holder list are two queries: they agree.
    counts = reads.holder_counts(NOW)
    assert counts, "the seeded cache has holders"
    for o in offers:
        assert counts.get(o["id"], 0) == len(reads.holder_ids(o["id"], NOW)), o["id"]
    held = max(counts, key=counts.get)
    ids = reads.holder_ids(held, NOW)
    rows = reads.customer_rows(list(reversed(ids[:3])) + [MISSING])
    assert [r["id"] for r in rows] == list(
        reversed(ids[:3])
    )  # in the order asked, the absent left out
    assert reads.customer_rows([]) == []


def test_season_group_names(cache):
    reads = OfferReads(cache)
    row = cache.conn().execute("SELECT id, name FROM season_groups LIMIT 1").fetchone()
    assert row is not None, "the seeded cache has season groups"
    assert reads.season_group_name(row[0]) == row[1]
    assert reads.season_group_name("no-such-group") is None


def test_segment_reads_name_customers_by_id_or_email(cache):
    reads = SegmentReads(cache)
    cid, email = (
        cache.conn()
        .execute("SELECT id, email FROM customers WHERE email IS NOT NULL ORDER BY id LIMIT 1")
        .fetchone()
    )
    assert reads.labels([cid, MISSING]) == [CustomerLabel(cid, email), CustomerLabel(MISSING, None)]
    assert reads.labels([]) == []
    assert reads.customer_id(str(cid)) == cid
    assert reads.customer_id(email.upper()) == cid  # an email in any case
    assert reads.customer_id(str(MISSING)) is None
    assert reads.customer_id("nobody@nowhere.invalid") is None
    assert reads.find_exact(email).customer_id == cid
    assert reads.find_exact(str(cid)).customer_id == cid
    missing = reads.find_exact("nobody@nowhere.invalid")
    assert missing.customer_id is None and "no cached customer" in (missing.problem or "")


def test_segment_store_keeps_static_members_versions_and_schedules(cache, tmp_path):
    segments = SegmentStore(cache)
    reads = SegmentReads(cache)
    ids = [r[0] for r in cache.conn().execute("SELECT id FROM customers ORDER BY id LIMIT 3")]
    assert segments.check_header(Segment(name="")), "a segment needs a name"
    saved = segments.create_static("VIP callbacks", now=NOW, agent="anna")
    assert segments.check_header(Segment(name="VIP callbacks")), "the name is taken"
    change = segments.change_members(saved.id, add=ids, now=NOW, agent="anna")
    assert change is not None and change.members == 3
    assert segments.change_members(saved.id, add=ids[:1], now=NOW, agent="anna") is None
    segments.change_members(saved.id, remove=ids[:1], now=NOW, agent="anna")
    saved = segments.get_saved(saved.id)
    assert reads.population_size(segments.population(saved, NOW)) == 2
    assert [v.version for v in segments.versions(saved.id)] == [3, 2, 1]
    assert segments.version_change(saved.id, 3, sample=5).lost_ids == ids[:1]
    inside = dict((s.id, i) for s, i in segments.static_memberships(ids[1]))
    assert inside[saved.id] is True
    assert saved.id in [s.id for s in segments.list_saved()]

    out = tmp_path / "out"
    out.mkdir()
    schedule = segments.add_schedule(
        saved.id,
        fmt="csv",
        columns=["id", "email"],
        directory=str(out),
        every="1h",
        now=NOW,
        agent="anna",
    )
    assert [s.id for s in segments.schedules()] == [schedule.id]
    assert [s["id"] for s in segments.schedules_using(saved.id)] == [schedule.id]
    with pytest.raises(store.SegmentInUse):
        segments.delete(saved.id)
    segments.remove_schedule(schedule.id)
    with pytest.raises(LookupError):
        segments.remove_schedule(schedule.id)
    segments.delete(saved.id)
    assert saved.id not in [s.id for s in segments.list_saved()]


def test_holders_file_is_written_and_never_through_a_link(cache, tmp_path):
    segments = SegmentStore(cache)
    offer = next(o for o in OfferReads(cache).catalogue() if o["id"].startswith("S"))
    doc = od.holders_segment(offer)
    assert doc is not None
    written = segments.write_holders_file(offer["id"], doc)
    assert written.problem is None
    assert json.loads(written.path.read_text()) == doc
    # A link put where the file goes: refused, and what it points at is left as it was.
    other = tmp_path / "elsewhere.txt"
    other.write_text("mine")
    written.path.unlink()
    os.symlink(other, written.path)
    refused = segments.write_holders_file(offer["id"], doc)
    assert refused.problem is not None and refused.path == written.path
    assert other.read_text() == "mine"

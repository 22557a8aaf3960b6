"""The write pipeline's own parts: one error family, one push summary in each face's keys, one
engine that names writes across kinds and stops a push where the API stopped answering."""

from __future__ import annotations

import contextlib
import json

import pytest

from srm_tui.actions.rules import ActionError, ActionInvalid, ActionRefused
from srm_tui.offers.rules import OfferInvalid, OfferRefused, Problem
from srm_tui.writes import (
    OFFER_FIELDS,
    PendingWrite,
    PushSummary,
    Settled,
    WriteEngine,
    WriteError,
    WriteInvalid,
    WriteRefused,
)


def test_every_kinds_errors_are_one_family():
    action_invalid = ActionInvalid("until", "must be later")
    offer_invalid = OfferInvalid([Problem("title", "required", "offer.title")])
    assert isinstance(action_invalid, WriteInvalid) and isinstance(action_invalid, ActionError)
    assert isinstance(offer_invalid, WriteInvalid)
    assert (action_invalid.field, action_invalid.message) == ("until", "must be later")
    assert (offer_invalid.field, offer_invalid.message) == ("title", "required")
    assert str(offer_invalid) == "title: required (rule offer.title)"
    for refused in (ActionRefused("r.one", "no"), OfferRefused("r.two", "no")):
        assert isinstance(refused, WriteRefused) and isinstance(refused, WriteError)
        assert str(refused) == f"refused by rule {refused.rule}: no"


def test_the_summary_speaks_each_faces_keys():
    summary = PushSummary(sent=[1], failed=[2], remaining=3, messages=["m"])
    # The outbox's keys, in the CONTRACT's order, exactly as `srm outbox push --json` printed.
    assert json.dumps(summary.to_json()) == (
        '{"sent": [1], "conflicts": [], "failed": [2], "remaining": 3, "stopped": null, '
        '"ok": false, "messages": ["m"]}'
    )
    assert summary.as_json() == summary.to_json()
    offers = PushSummary(sent=[4], failed=[5], waiting=[6], fields=OFFER_FIELDS)
    assert json.dumps(offers.to_json()) == (
        '{"sent": [4], "conflicts": [], "refused": [5], "waiting": [6], "ok": false, '
        '"messages": []}'
    )
    assert PushSummary(sent=[1]).ok and not PushSummary(stopped="down").ok


class FakeKind:
    """A kind whose sends answer from a script: enough to see the engine's order and stop."""

    def __init__(self, name: str, answers: list[str]) -> None:
        self.name = name
        self.answers = answers
        self.sent: list[int] = []

    def _write(self, i: int) -> PendingWrite:
        return PendingWrite(
            self.name, i, "x", "x", "t", None, [], f"k{i}", "pending", None, 0, None, [], None
        )

    def writes(self, statuses=None):
        return [self._write(i + 1) for i in range(len(self.answers))]

    def get(self, write_id):
        return self._write(write_id) if write_id <= len(self.answers) else None

    def pushable(self):
        return self.writes()

    def pushing(self, writes):
        def send(write):
            self.sent.append(write.id)
            status = self.answers[write.id - 1]
            return Settled(status, stop="down" if status == "waiting" else None)

        return contextlib.nullcontext(send)

    def remaining(self):
        return len(self.answers) - len(self.sent)

    def discard(self, write_id):
        return ("discarded", write_id)

    def retry(self, write_id):
        return ("retried", write_id)


def test_the_engine_pushes_kind_by_kind_and_stops_where_the_api_stopped():
    actions = FakeKind("action", ["sent", "conflict", "failed"])
    offers = FakeKind("offer", ["sent", "waiting", "sent"])
    summary = WriteEngine([actions, offers]).push()
    assert summary.sent == [1, "offer:1"]
    assert summary.conflicts == [2] and summary.failed == [3]
    assert summary.waiting == ["offer:2"] and summary.stopped == "down"
    assert offers.sent == [1, 2]  # nothing after the write the API did not answer
    assert summary.remaining == 1 and not summary.ok
    alone = WriteEngine([FakeKind("offer", ["sent"])]).push(fields=OFFER_FIELDS)
    assert alone.sent == [1]  # one kind: its own numbers


def test_writes_are_named_across_kinds():
    engine = WriteEngine([FakeKind("action", ["sent"]), FakeKind("offer", ["sent", "sent"])])
    assert engine.get(1).ref == "action:1" and engine.get("action:1").number == 1
    assert engine.get("offer:2").number == "offer:2"
    assert engine.discard("offer:2") == ("discarded", 2)
    assert engine.retry("1") == ("retried", 1)
    for bad in ("offer:9", "coupon:1", "offer:x", ""):
        with pytest.raises(WriteInvalid):
            engine.get(bad)

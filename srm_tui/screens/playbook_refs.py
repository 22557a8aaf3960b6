"""What the cache says of a rule while it is edited: a saved segment that does not open, a
coupon no cached campaign holds, a switch to an offer the cache lacks (the playbook service's
``check``). It reads the cache, so it runs in a worker a moment after the typing stops; an
answer for a rule the agent has changed since is dropped. What it finds is said beside the
field with ⚠: the rule can still be kept, and the playbook's save refuses it while it holds."""

from __future__ import annotations

import re
from typing import Any

from textual.message import Message
from textual.timer import Timer

from srm_tui.playbook.model import Playbook, PlaybookInvalid
from srm_tui.screens.playbook_offers import OfferDraft, build_rule, offer_fault
from srm_tui.screens.workers import work

DELAY = 0.3
_ANY_SEGMENT: dict[str, Any] = {"where": {"all": []}}


class ReferenceChecks:
    """Mixin for the rule editor: ``self.drafts``, ``_segment_value()`` and ``_refs_shown()``
    come from it."""

    drafts: list[OfferDraft]
    _refs_timer: Timer | None = None

    def _init_refs(self) -> None:
        self.offer_refs: dict[int, str] = {}  # offer index -> what the cache says of it
        self.segment_ref: str | None = None

    def _refs_key(self) -> Any:
        return (repr(self._segment_value()), tuple(d.key() for d in self.drafts))

    def _segment_value(self) -> Any:  # pragma: no cover - the screen's
        raise NotImplementedError

    def _refs_shown(self) -> None:  # pragma: no cover - the screen's
        raise NotImplementedError

    def refs_later(self) -> None:
        """The rule changed: what the cache said no longer holds; ask again shortly."""
        self.offer_refs, self.segment_ref = {}, None
        self._refs_shown()
        if self._refs_timer is not None:
            self._refs_timer.stop()
        self._refs_timer = self.set_timer(DELAY, self._refs_now)  # type: ignore[attr-defined]

    def _refs_now(self) -> None:
        segment = self._segment_value()
        if segment is not None:  # only a segment that reads is checked against the cache
            try:
                build_rule("rule", segment, [OfferDraft("let-go")])
            except PlaybookInvalid:
                segment = None
        valid = [(i, d) for i, d in enumerate(self.drafts) if offer_fault(d) is None]
        if segment is None and not valid:
            self._refs_shown()
            return
        try:
            rule = build_rule(
                "rule",
                segment if segment is not None else _ANY_SEGMENT,
                [d for _, d in valid] or [OfferDraft("let-go")],
            )
        except PlaybookInvalid:
            return
        self._check_refs(rule, [i for i, _ in valid], segment is not None, self._refs_key())

    class RefsChecked(Message):
        """What the cache says of the rule (PlaybookInvalid each), for the state ``key``."""

        def __init__(self, key: Any, found: Any, offers: list[int], segment: bool) -> None:
            super().__init__()
            self.key = key
            self.found = found
            self.offers = offers
            self.segment = segment

    @work(thread=True, exclusive=True, group="playbook-rule-check")
    def _check_refs(self, rule: Any, offers: list[int], segment: bool, key: Any) -> None:
        try:
            found: Any = self.app.session.playbook.check(Playbook(0, (rule,)))  # type: ignore
        except Exception as exc:  # the check could not run: said, nothing is blocked
            found = exc
        self.post_message(self.RefsChecked(key, found, offers, segment))  # type: ignore

    def on_reference_checks_refs_checked(self, message: RefsChecked) -> None:
        if message.key != self._refs_key():
            return  # an answer for a rule changed since
        if isinstance(message.found, Exception):
            self.segment_ref = f"the cache could not be checked: {message.found}"
            self._refs_shown()
            return
        for fault in message.found:
            path = getattr(fault, "path", "")
            offer = re.match(r"rules\[0\]\.offers\[(\d+)\]", path)
            if offer is not None and int(offer.group(1)) < len(message.offers):
                self.offer_refs[message.offers[int(offer.group(1))]] = fault.reason
            elif path.startswith("rules[0].segment") and message.segment:
                inner = path[len("rules[0].") :]
                self.segment_ref = f"{inner}: {fault.reason}"
        self._refs_shown()

"""The playbook editor's pieces below its screens: one offer as the form holds it (its kind and
what was typed for each kind's one parameter), how a rule's parts are checked one by one with
the playbook's own parser (so the form says what `srm playbook check` would, beside the field
at fault), and the list of cached offers a switch picks its offer from."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from srm_tui.bindings import bindings
from srm_tui.domain.text import visible
from srm_tui.playbook.model import Offer, PlaybookInvalid, Rule, parse
from srm_tui.widgets.footer import Footer
from srm_tui.widgets.safe_text import SafeInput

# kind -> (the offer's field, its label in the form, what to type: short enough to fit the
# field whole at any screen size)
PARAMS: dict[str, tuple[str | None, str, str]] = {
    "coupon": ("coupon", "Coupon code", "e.g. SAVE20"),
    "pause": ("cycles", "Cycles", "1..12 billing cycles"),
    "switch": ("offer", "Offer id", "ctrl+o lists offers"),
    "extend": ("days", "Days", "1..3650 days"),
    "let-go": (None, "No parameter", "nothing to type"),
}
WHOLE = re.compile(r"\s*[+-]?\d{1,12}\s*")
# A segment every customer is in, and a rule name: the stand-ins that let one part of a rule
# be checked alone.
_ANY_SEGMENT: dict[str, Any] = {"where": {"all": []}}
_NAME = "rule"
_LET_GO: dict[str, Any] = {"kind": "let-go"}


@dataclass
class OfferDraft:
    """One offer in the form: its kind and the text typed for each kind's parameter (kept
    per kind, so cycling through the kinds loses nothing)."""

    kind: str = "coupon"
    typed: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, offer: Offer) -> OfferDraft:
        name = PARAMS.get(offer.kind, (None, "", ""))[0]
        value = getattr(offer, name) if name else None
        return cls(offer.kind, {offer.kind: "" if value is None else str(value)})

    @property
    def text(self) -> str:
        return self.typed.get(self.kind, "")

    def raw(self) -> dict[str, Any]:
        """The offer as the playbook file holds it; a number field holds a number when one
        was typed, else the text as typed (the parser then says what is wrong with it)."""
        name = PARAMS.get(self.kind, (None, "", ""))[0]
        out: dict[str, Any] = {"kind": self.kind}
        if name is None:
            return out
        text = self.text.strip()
        if name in ("cycles", "days") and WHOLE.fullmatch(text):
            out[name] = int(text)
        else:
            out[name] = text
        return out

    def key(self) -> tuple[str, str]:
        """What the agent would lose: the kind and its parameter as typed."""
        return (self.kind, self.text)


def _probe(rule: dict[str, Any]) -> PlaybookInvalid | None:
    try:
        parse({"format": "srm-playbook", "version": 1, "rules": [rule]})
    except PlaybookInvalid as exc:
        return exc
    return None


def _local(path: str) -> str:
    """A fault's path within the rule: "rules[0].offers[1].days" -> "offers[1].days"."""
    return re.sub(r"^rules\[\d+\]\.?", "", path)


def offer_fault(draft: OfferDraft, known_offers: set[str] | None = None) -> str | None:
    """What is wrong with one offer (None: nothing). A switch names a cached offer."""
    fault = _probe({"name": _NAME, "segment": _ANY_SEGMENT, "offers": [draft.raw()]})
    if fault is not None:
        return fault.reason
    if draft.kind == "switch" and known_offers is not None:
        offer_id = draft.text.strip()
        if offer_id not in known_offers:
            return "not a cached offer (ctrl+o lists them)"
    return None


def name_fault(name: str, others: list[str]) -> str | None:
    """What is wrong with a rule's name: required, and one rule per name."""
    fault = _probe({"name": name, "segment": _ANY_SEGMENT, "offers": [_LET_GO]})
    if fault is not None:
        return fault.reason
    if name.strip().casefold() in {o.strip().casefold() for o in others}:
        return "another rule has this name"
    return None


def inline_fault(text: str) -> tuple[dict[str, Any] | None, str | None]:
    """An inline segment typed as JSON: (its definition, None) or (None, what is wrong and
    where: "segment.where.all[0].op: ...")."""
    if not text.strip():
        return None, "segment: type an inline definition, e.g. " + json.dumps(_ANY_SEGMENT)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"segment: not JSON: {exc.msg} at column {exc.colno}"
    if not isinstance(value, dict):
        return None, "segment: an inline definition is one JSON object ({…})"
    fault = _probe({"name": _NAME, "segment": value, "offers": [_LET_GO]})
    if fault is not None:
        return None, f"{_local(fault.path)}: {fault.reason}"
    return value, None


def build_rule(name: str, segment: str | dict[str, Any], offers: list[OfferDraft]) -> Rule:
    """The rule the form holds, through the playbook's parser (raises PlaybookInvalid)."""
    rule = {"name": name, "segment": segment, "offers": [o.raw() for o in offers]}
    return parse({"format": "srm-playbook", "version": 1, "rules": [rule]}).rules[0]


# the cached offers a switch picks from --------------------------------------------------------


class OfferPickScreen(ModalScreen[str | None]):
    """The cached offers (id · title), narrowed as the agent types; enter picks one."""

    BINDINGS = bindings("playbook_pick")

    def __init__(self, offers: list[tuple[str, str]], current: str = "") -> None:
        super().__init__()
        self.offers = offers
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Switch to which offer? Type to narrow, enter picks.", classes="title")
            yield SafeInput(placeholder="an id or words of the title", id="needle")
            yield OptionList(id="choices")
            yield Static("", id="none", classes="help", markup=False)
            yield Footer()

    def on_mount(self) -> None:
        self._fill("")
        self.query_one("#needle", Input).focus()

    def _fill(self, needle: str) -> None:
        words = needle.casefold().split()
        box = self.query_one("#choices", OptionList)
        box.clear_options()
        shown = [
            (oid, title)
            for oid, title in self.offers
            if all(w in f"{oid} {title}".casefold() for w in words)
        ]
        box.add_options(
            Option(Text(f"{visible(oid, 30)} · {visible(title, 60)}"), id=oid)
            for oid, title in shown
        )
        if shown:
            ids = [oid for oid, _ in shown]
            box.highlighted = ids.index(self.current) if self.current in ids else 0
        none = self.query_one("#none", Static)
        none.update(
            "" if shown else ("no cached offer matches" if self.offers else "no offer is cached")
        )
        none.display = not shown

    @on(Input.Changed, "#needle")
    def _typed(self, event: Input.Changed) -> None:
        self._fill(event.value)

    @on(Input.Submitted, "#needle")
    def _entered(self) -> None:
        self.action_pick()

    @on(OptionList.OptionSelected, "#choices")
    def _chosen(self) -> None:
        self.action_pick()

    def action_down(self, step: int) -> None:
        box = self.query_one("#choices", OptionList)
        if box.option_count:
            now = box.highlighted or 0
            box.highlighted = max(0, min(box.option_count - 1, now + step))

    def action_pick(self) -> None:
        box = self.query_one("#choices", OptionList)
        if box.highlighted is None or not box.option_count:
            return
        self.dismiss(box.get_option_at_index(box.highlighted).id)

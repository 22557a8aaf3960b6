"""Segments › Retention playbook › one rule: its name, the segment it is for (a saved segment,
or an inline definition typed as JSON) and the offers it makes, in order.

Every part is checked as it is typed, with the playbook's own parser, and what is wrong is
said beside the field (a number out of range, an unknown offer id, the path inside an inline
definition). ctrl+s keeps the rule in the playbook being edited (the playbook screen saves
it); esc with changes asks first. Dismisses with the Rule, or None.
"""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Input, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from srm_tui.bindings import bindings
from srm_tui.domain.text import count, visible
from srm_tui.playbook.model import OFFER_KINDS, PlaybookInvalid, Rule
from srm_tui.screens.leave import AsksBeforeLeaving
from srm_tui.screens.playbook_offer_list import OfferListScreen
from srm_tui.screens.playbook_offers import (
    OfferDraft,
    build_rule,
    inline_fault,
    name_fault,
    offer_fault,
)
from srm_tui.screens.playbook_refs import ReferenceChecks
from srm_tui.widgets.choice import ChoiceField
from srm_tui.widgets.footer import Footer
from srm_tui.widgets.safe_text import SafeInput, SafeTextArea
from srm_tui.widgets.status_line import StatusLine

INLINE = "inline definition (JSON, typed below)"
KEEP_HINT = "ctrl+s keeps the rule; the playbook's own ctrl+s saves it as a version."
# Every field and the label that names it: the focused one's label is marked in text (▸), so
# where a key goes is seen without colour too (NO_COLOR). The parameter's label is the kind's.
LABELS = {
    "name": ("name-label", "Name"),
    "segment": ("segment-label", "Segment — who the rule is for (the first matching rule wins):"),
    "inline": ("inline-label", "JSON"),
    "offers": (
        "offers-label",
        "Offers, made in this order (in this list: a adds, x removes, K/J move)",
    ),
    "kind": ("kind-label", "Kind"),
}
SAVED_CHOSEN = "a saved segment is chosen above (the last choice types one here)"


class RuleScreen(ReferenceChecks, AsksBeforeLeaving, OfferListScreen):
    """Edit one rule of the playbook; ``segments`` are the saved segments as (name, note),
    ``offers`` the cached offers as (id, title), ``others`` the other rules' names."""

    BINDINGS = bindings("playbook_rule")
    LEAVE_QUESTION = (
        "Leave this rule? What you changed in it is thrown away (n goes back to it; ctrl+s "
        "keeps it)."
    )

    def __init__(
        self,
        rule: Rule | None,
        *,
        number: int,
        segments: list[tuple[str, str]],
        offers: list[tuple[str, str]],
        others: list[str],
    ) -> None:
        super().__init__()
        self.number = number
        self.segments = list(segments)
        self.catalogue = offers
        self.known_offers = {oid for oid, _ in offers}
        self.others = others
        self.name0 = rule.name if rule else ""
        names = [n for n, _ in self.segments]
        self.inline0 = ""
        if rule is None:
            self.choice = 0 if names else len(names)
        elif isinstance(rule.segment, str):
            if rule.segment not in names:  # kept, and said: the saved segment is gone
                self.segments.append((rule.segment, "⚠ no saved segment has this name"))
                names.append(rule.segment)
            self.choice = names.index(rule.segment)
        else:
            self.choice = len(names)
            self.inline0 = json.dumps(rule.segment, ensure_ascii=False)
        self.inline_aside = self.inline0
        self.drafts = [OfferDraft.of(o) for o in rule.offers] if rule else []
        self.current = 0  # the offer the form below the list edits
        # Fields the agent has typed in (or ctrl+s tried): only these say what is wrong, so
        # a new rule does not open on a screen of complaints.
        self.touched: set[str] = set()
        self.labels = dict(LABELS)
        self.labels["param"] = ("param-label", "Parameter")
        # Once ctrl+s has said what is wrong, the line is said again after every change.
        self.tried = False
        self._init_refs()

    # building ---------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        title = visible(self.name0, 50) or "new rule"
        yield Static(
            Text(f"Segments › Retention playbook › rule {self.number} · {title}"), id="crumbs"
        )
        # The form scrolls to the focused field; it never takes the focus itself (else Tab
        # would stop on it only when the screen is too small to show it all).
        with VerticalScroll(id="form", can_focus=False):
            with Horizontal(classes="row"):
                yield Static("", id="name-label", classes="label", markup=False)
                yield SafeInput(
                    self.name0,
                    placeholder="e.g. Annual, high value",
                    id="name",
                    select_on_focus=False,
                )
                yield Static("", id="name-error", classes="error", markup=False)
            yield Static("", id="segment-label", classes="heading", markup=False)
            yield OptionList(id="segment")
            with Horizontal(classes="row"):
                yield Static("", id="inline-label", classes="label", markup=False)
                yield SafeTextArea(
                    self.inline0,
                    id="inline",
                    compact=True,
                    highlight_cursor_line=False,
                )
            yield Static("", id="segment-error", classes="error", markup=False)
            yield Static("", id="offers-label", classes="heading", markup=False)
            yield DataTable(id="offers", cursor_type="row", zebra_stripes=True)
            with Horizontal(id="offer-form", classes="row"):
                yield Static("", id="kind-label", classes="label", markup=False)
                yield ChoiceField(OFFER_KINDS, "coupon", id="kind")
                yield Static("", id="param-label", classes="label", markup=False)
                yield SafeInput("", id="param", select_on_focus=False)
            yield Static("", id="param-error", classes="error", markup=False)
        yield Static(KEEP_HINT, id="verdict", markup=False)
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        box = self.query_one("#segment", OptionList)
        box.add_options(
            Option(self._choice_text(i), id=str(i)) for i in range(len(self.segments) + 1)
        )
        box.highlighted = self.choice
        offers = self.query_one("#offers", DataTable)
        offers.add_column("#", key="n")
        offers.add_column("Offer", key="offer")
        self._show_segment()
        self._fill_offers()
        self._load_offer()
        self._check_name()
        self.query_one("#name", Input).focus()
        self._mark_focus()

    def _choice_text(self, index: int) -> Text:
        mark = "(•)" if index == self.choice else "( )"
        if index == len(self.segments):
            return Text(f"{mark} {INLINE}")
        name, note = self.segments[index]
        return Text(f"{mark} {visible(name, 50)} · {visible(note, 40)}")

    # what leaving would lose ----------------------------------------------------------------

    def typed_state(self) -> Any:
        return (
            self.query_one("#name", Input).value,
            self.choice,
            self.query_one("#inline", TextArea).text if self._inline else "",
            tuple(d.key() for d in self.drafts),
        )

    @property
    def _inline(self) -> bool:
        return self.choice == len(self.segments)

    # the name -----------------------------------------------------------------------------------

    @on(Input.Changed, "#name")
    def _check_name(self, event: Input.Changed | None = None) -> str | None:
        value = self.query_one("#name", Input).value
        if event is not None and value != self.name0:
            self.touched.add("name")
        fault = name_fault(value, self.others)
        self._say("name-error", fault if "name" in self.touched else None)
        if event is not None:
            self.recheck()
        return fault

    @on(Input.Submitted, "#name")
    def _name_entered(self) -> None:
        self.query_one("#segment", OptionList).focus()

    # the segment --------------------------------------------------------------------------------

    @on(OptionList.OptionHighlighted, "#segment")
    def _segment_moved(self, event: OptionList.OptionHighlighted) -> None:
        index = event.option_index
        if index == self.choice:
            return
        box = self.query_one("#segment", OptionList)
        before, self.choice = self.choice, index
        for i in (before, index):
            box.replace_option_prompt_at_index(i, self._choice_text(i))
        self._show_segment()

    @on(OptionList.OptionSelected, "#segment")
    def _segment_chosen(self) -> None:
        self.query_one("#inline" if self._inline else "#offers").focus()

    def _show_segment(self) -> None:
        """The JSON box stays in place (Tab keeps its stops): typed in for an inline
        definition, read only while a saved segment is chosen (what was typed is kept aside
        for when the inline definition is chosen again)."""
        box = self.query_one("#inline", TextArea)
        if self._inline:
            if box.read_only:
                box.read_only = False
                box.placeholder = (
                    '{"where": {"attr": "subscription.state", "op": "eq", "value": "grace"}}'
                )
                box.load_text(self.inline_aside)
            self._check_inline()
        else:
            if not box.read_only:
                self.inline_aside = box.text
                box.read_only = True
                box.placeholder = SAVED_CHOSEN
                box.load_text("")
            self._say("segment-error", None)
        box.set_class(not self._inline, "-idle")
        self.refs_later()
        self.recheck()

    @on(TextArea.Changed, "#inline")
    def _check_inline(self, event: TextArea.Changed | None = None) -> str | None:
        if not self._inline:
            return None
        value = self.query_one("#inline", TextArea).text
        if event is not None and value != self.inline0:
            self.touched.add("inline")
        _definition, fault = inline_fault(value)
        self._say("segment-error", fault if "inline" in self.touched or value else None)
        if event is not None:
            self.refs_later()
            self.recheck()
        return fault

    def _segment_value(self) -> str | dict[str, Any] | None:
        """The segment as chosen now: a saved one's name, an inline definition that reads
        as JSON, or None."""
        if not self._inline:
            return self.segments[self.choice][0]
        definition, _fault = inline_fault(self.query_one("#inline", TextArea).text)
        return definition

    def _refs_shown(self) -> None:
        """What the cache said (or nothing, while it is asked again): beside the segment
        unless the form has its own fault there, beside the offer edited, in the list."""
        form_fault = inline_fault(self.query_one("#inline", TextArea).text)[1]
        if not (self._inline and form_fault):
            self._say("segment-error", self.segment_ref, "⚠")
        table = self.query_one("#offers", DataTable)
        if self.drafts and [k.value for k in table.rows] == [
            str(i) for i in range(len(self.drafts))
        ]:
            for i in range(len(self.drafts)):
                table.update_cell(str(i), "offer", self._offer_cell(i), update_width=True)
            self._say("param-error", *self._fault(self.current))

    # keeping the rule -------------------------------------------------------------------------

    def _wrong(self) -> list[tuple[str, str]]:
        """Every field still wrong, in the form's order: (the field to go to, what to fix)."""
        wrong: list[tuple[str, str]] = []
        fault = name_fault(self.query_one("#name", Input).value, self.others)
        if fault:
            wrong.append(("#name", f"the name ({fault})"))
        if self._inline and inline_fault(self.query_one("#inline", TextArea).text)[1]:
            wrong.append(("#inline", "the inline segment"))
        bad = [i for i, d in enumerate(self.drafts) if offer_fault(d, self.known_offers)]
        if not self.drafts:
            wrong.append(
                ("#offers", "the offers (a rule makes at least one: a in the list adds one)")
            )
        elif bad:
            wrong.append(("#param", f"{count(len(bad), 'offer')} marked ✘"))
        return wrong

    def recheck(self) -> None:
        """After ctrl+s said what is wrong, say it again as it is now (or that the rule can
        be kept), so the line never names a field already fixed."""
        if not self.tried or not self.is_mounted:
            return
        wrong = self._wrong()
        self.query_one("#verdict", Static).update(
            Text("✘ Not kept yet: fix " + "; ".join(w for _, w in wrong) + ".")
            if wrong
            else Text(KEEP_HINT)
        )

    def action_keep(self) -> None:
        """Check every part; keep the rule when nothing is wrong, else say where."""
        self.touched.update(("name", "inline"))
        self.tried = True
        name = self.query_one("#name", Input).value.strip()
        self._check_name()
        segment: str | dict[str, Any] | None
        if self._inline:
            segment, fault = inline_fault(self.query_one("#inline", TextArea).text)
            self._say("segment-error", fault)
        else:
            segment = self.segments[self.choice][0]
        bad = [i for i, d in enumerate(self.drafts) if offer_fault(d, self.known_offers)]
        if bad:
            self.current = bad[0]
            self._fill_offers()
            self._load_offer()
        wrong = self._wrong()
        self.recheck()
        if wrong:
            self.query_one(wrong[0][0]).focus()
            return
        try:
            rule = build_rule(name, segment, self.drafts)  # type: ignore[arg-type]
        except PlaybookInvalid as exc:
            self.query_one("#verdict", Static).update(Text(f"✘ {visible(str(exc), 200)}"))
            return
        self.dismiss(rule)

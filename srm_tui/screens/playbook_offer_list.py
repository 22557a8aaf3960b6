"""The rule editor's offers: a list (a adds, x removes, K/J move, "›" marks the one edited;
these keys act only while the list has the focus, so a letter meant for a field never
reorders or removes an offer) and, under it, the form for the highlighted offer: its kind
(left/right cycles) and the kind's one parameter, checked as typed with the fault under the
field (✘ the form's, ⚠ what the cache says). A switch's offer is picked from the cached
offers (ctrl+o). The focused field's label is marked in text (▸), and every field takes the
focus whatever the offer's kind, so Tab always visits the same stops."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from srm_tui.domain.text import clip, visible
from srm_tui.playbook.model import MAX_OFFERS
from srm_tui.screens.playbook_offers import PARAMS, OfferDraft, build_rule, offer_fault
from srm_tui.widgets.choice import ChoiceField


class OfferListScreen(Screen):
    """Base of the rule editor: the screen composes #offers, #kind, #param, #param-label and
    #param-error, and holds ``drafts``, ``current``, ``known_offers`` (ids a switch may name),
    ``catalogue`` ((id, title) to pick from) and ``offer_refs`` (the cache's word per offer)."""

    drafts: list[OfferDraft]
    current: int
    known_offers: set[str]
    catalogue: list[tuple[str, str]]
    offer_refs: dict[int, str]
    labels: dict[str, tuple[str, str]]  # a field's id -> (its label's id, the label's words)

    def refs_later(self) -> None:  # pragma: no cover - ReferenceChecks'
        raise NotImplementedError

    def recheck(self) -> None:  # pragma: no cover - the screen's
        raise NotImplementedError

    # where the keys go --------------------------------------------------------------------------

    def _mark_focus(self) -> None:
        """Each label, the focused field's marked "▸ " (the others indented alike)."""
        focused = self.focused.id if self.focused is not None else None
        for field_id, (label_id, words) in self.labels.items():
            mark = "▸ " if field_id == focused else "  "
            self.query_one(f"#{label_id}", Static).update(Text(mark + words))
        self.refresh_bindings()

    def on_descendant_focus(self) -> None:
        self._mark_focus()

    def on_descendant_blur(self) -> None:
        self._mark_focus()

    def _say(self, which: str, fault: str | None, mark: str = "✘") -> None:
        """A fault beside (or under) its field (✘ the form's, ⚠ the cache's); none hides
        the line."""
        line = self.query_one(f"#{which}", Static)
        line.update(Text(f"{mark} {fault}" if fault else ""))
        line.set_class(not fault, "-empty")

    # the offers ---------------------------------------------------------------------------------

    def _fault(self, index: int) -> tuple[str | None, str]:
        """What is wrong with an offer and its mark: the form's (✘), else the cache's (⚠)."""
        draft = self.drafts[index]
        fault = offer_fault(draft, self.known_offers)
        if fault:
            return fault, "✘"
        return self.offer_refs.get(index), "⚠"

    def _offer_cell(self, index: int) -> Text:
        """The offer in the list, cut to the screen's width (the whole fault is beside the
        field when the offer is the one edited)."""
        draft = self.drafts[index]
        fault, mark = self._fault(index)
        if fault and mark == "✘":
            typed = f" {visible(draft.text.strip(), 40)}" if draft.text.strip() else ""
            text = f"✘ {draft.kind}{typed}: {visible(fault, 120)}"
        else:
            described = build_rule("r", {"where": {"all": []}}, [draft]).offers[0].describe()
            text = visible(described) + (f" ⚠ {visible(fault, 120)}" if fault else "")
        return Text(clip(text, max(20, self.app.size.width - 12)))

    def on_resize(self) -> None:
        if self.is_mounted:
            self._fill_offers()

    def _fill_offers(self) -> None:
        table = self.query_one("#offers", DataTable)
        table.clear()
        for i in range(len(self.drafts)):
            table.add_row(self._number(i), self._offer_cell(i), key=str(i))
        if not self.drafts:
            table.add_row(Text(""), Text("no offer yet: a (here) adds one"), key="none")
        else:
            table.move_cursor(row=self.current)
        self.refs_later()
        self.recheck()

    def _number(self, index: int) -> Text:
        """The offer's number; "›" marks the one the form below edits (in text, not only
        the cursor's colour: NO_COLOR shows it too)."""
        return Text(f"{'›' if index == self.current else ' '}{index + 1}")

    @on(DataTable.RowHighlighted, "#offers")
    def _offer_moved(self, event: DataTable.RowHighlighted) -> None:
        table = self.query_one("#offers", DataTable)
        if not self.drafts or event.cursor_row != table.cursor_row:
            return  # no offer, or a highlight the table has moved on from
        if event.cursor_row != self.current:
            before, self.current = self.current, min(event.cursor_row, len(self.drafts) - 1)
            for i in (before, self.current):
                if i < len(self.drafts):
                    table.update_cell(str(i), "n", self._number(i))
            self._load_offer()

    @on(DataTable.RowSelected, "#offers")
    def _offer_chosen(self) -> None:
        if self.drafts:
            self.query_one("#kind", ChoiceField).focus()

    def _load_offer(self) -> None:
        """The form below the list shows the highlighted offer."""
        kind = self.query_one("#kind", ChoiceField)
        param = self.query_one("#param", Input)
        if not self.drafts:
            # Still focusable (Tab keeps its stops), typing nothing: there is no offer yet.
            kind.set("coupon")
            kind.add_class("-idle")
            param.add_class("-idle")
            self.labels["param"] = ("param-label", "Parameter")
            param.restrict = "^$"
            param.value = ""
            param.placeholder = "no offer yet"
            self._say("param-error", None)
            self._mark_focus()
            return
        kind.remove_class("-idle")
        draft = self.drafts[self.current]
        kind.set(draft.kind)
        self._param_field(draft)

    def _param_field(self, draft: OfferDraft) -> None:
        name, label, help_text = PARAMS.get(draft.kind, (None, draft.kind, ""))
        param = self.query_one("#param", Input)
        self.labels["param"] = ("param-label", label)
        # A kind without a parameter keeps the field focusable but lets nothing be typed.
        param.restrict = None if name else "^$"
        param.set_class(name is None, "-idle")
        param.placeholder = help_text
        if param.value != draft.text:
            param.value = draft.text
        self._say("param-error", *self._fault(self.current))
        self._mark_focus()

    @on(ChoiceField.Changed, "#kind")
    def _kind_changed(self, event: ChoiceField.Changed) -> None:
        if not self.drafts:
            self.query_one("#kind", ChoiceField).set("coupon")
            self._say("param-error", "no offer yet: a in the offers list adds one")
            return
        draft = self.drafts[self.current]
        draft.kind = event.value
        self.refs_later()
        self._param_field(draft)
        self._update_row()
        self.recheck()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "pick_offer":
            return bool(self.drafts) and self.drafts[self.current].kind == "switch"
        if action in ("add_offer", "remove_offer", "move_offer"):
            # Only in the list: a letter typed elsewhere never moves or removes an offer.
            focused = self.focused
            return focused is not None and focused.id == "offers"
        return True

    @on(Input.Changed, "#param")
    def _param_typed(self, event: Input.Changed) -> None:
        if not self.drafts:
            return
        draft = self.drafts[self.current]
        if PARAMS.get(draft.kind, (None,))[0] is None or draft.text == event.value:
            return
        draft.typed[draft.kind] = event.value
        self.refs_later()
        self._say("param-error", *self._fault(self.current))
        self._update_row()
        self.recheck()

    @on(Input.Submitted, "#param")
    def _param_entered(self) -> None:
        self.query_one("#offers", DataTable).focus()

    def _update_row(self) -> None:
        table = self.query_one("#offers", DataTable)
        table.update_cell(
            str(self.current),
            "offer",
            self._offer_cell(self.current),
            update_width=True,
        )

    def action_add_offer(self) -> None:
        if len(self.drafts) >= MAX_OFFERS:
            self.notify(
                f"A rule makes at most {MAX_OFFERS} offers (the cancel dialog takes one by its "
                "number key).",
                severity="warning",
            )
            return
        self.drafts.append(OfferDraft())
        self.current = len(self.drafts) - 1
        self._fill_offers()
        self._load_offer()
        self.query_one("#kind", ChoiceField).focus()

    def action_remove_offer(self) -> None:
        if not self.drafts:
            return
        del self.drafts[self.current]
        self.current = max(0, min(self.current, len(self.drafts) - 1))
        self._fill_offers()
        self._load_offer()

    def action_move_offer(self, step: int) -> None:
        target = self.current + step
        if not self.drafts or not 0 <= target < len(self.drafts):
            return
        self.drafts[self.current], self.drafts[target] = (
            self.drafts[target],
            self.drafts[self.current],
        )
        self.current = target
        self._fill_offers()
        self._load_offer()

    def action_pick_offer(self) -> None:
        from srm_tui.screens.playbook_offers import OfferPickScreen

        if not self.drafts or self.drafts[self.current].kind != "switch":
            self.notify("ctrl+o picks the offer of a switch: choose the kind switch first.")
            return
        draft = self.drafts[self.current]

        def picked(offer_id: str | None) -> None:
            if offer_id is None or draft not in self.drafts:
                return
            self.current = self.drafts.index(draft)
            draft.typed["switch"] = offer_id
            self.refs_later()
            self._load_offer()
            self._update_row()
            self.recheck()

        self.app.push_screen(OfferPickScreen(self.catalogue, draft.text.strip()), picked)

"""Offers › edit: one form for every offer type (and one for a localization), checked as the
agent types, field by field and against the vendor's rules, before anything is sent.

ctrl+s sends (with If-Match: the version the form started from) or, offline, keeps a draft;
ctrl+o keeps a draft on purpose. A 412 opens the merge view with both versions kept.

A form is built once per set of fields and refilled for the next offer that has the same
fields (``open_form``): composing and styling its hundred-odd widgets was most of a key's time.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import Grid, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Checkbox, Input, Label, Static

from srm_tui.bindings import bindings
from srm_tui.domain import offers as od
from srm_tui.domain.text import count, visible
from srm_tui.offers import forms
from srm_tui.offers.forms import FieldDef
from srm_tui.offers.rules import OfferInvalid, OfferRefused
from srm_tui.screens.offer_dialog import offer_service
from srm_tui.screens.stack import kept_screen, push_new_kept
from srm_tui.screens.workers import ApiReached, work
from srm_tui.widgets.check import StateCheckbox
from srm_tui.widgets.footer import Footer
from srm_tui.widgets.status_line import StatusLine

CHECK_DELAY = 0.2


class FieldInput(Input):
    """A form field. The field a form opens on gets the cursor at the end of its value, to be
    edited (Enter on a localization opened its title selected whole, and the first letter
    typed replaced it); a field reached later with Tab is selected whole, as forms do."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, select_on_focus=False, **kw)
        self.opening = False

    def open_here(self) -> None:
        """Focus this field as its form opens: cursor at the end, nothing selected."""
        self.opening = True
        self.focus()

    def on_focus(self, event: events.Focus) -> None:
        if self.opening:
            self.opening = False
            self.cursor_position = len(self.value)
        elif not event.from_app_focus:  # Input's own select-on-focus, which this replaces
            self.select_all()


def open_form(app: Any, screen: OfferFormScreen) -> None:
    """Push ``screen`` (made, not yet composed): as the form kept from an earlier open with the
    same fields, refilled with its values, when that one is free; else ``screen`` itself,
    kept for the next open."""
    key = f"form:{type(screen).__name__}:{screen.shape()}"
    kept, free = kept_screen(app, key)
    if free and kept.is_mounted and kept._start is not None:
        kept.take_over(screen)
        app.push_screen(kept)
        return
    push_new_kept(app, key, screen, kept, free)


class OfferFormScreen(Screen[Any]):
    """The form machinery shared by the offer and the localization editor."""

    BINDINGS = bindings("offer_editor")
    # What a subclass's __init__ sets beside the form: copied when a kept form takes over.
    OWN: tuple[str, ...] = ()

    def __init__(
        self, crumbs: str, fields: list[FieldDef], values: dict[str, Any], creating: bool
    ) -> None:
        super().__init__()
        self.crumbs = crumbs
        self.fields = fields
        self.by_name = {f.name: f for f in fields}
        self.initial = values
        self.creating = creating
        self.problems: list[Any] = []
        self._start: dict[str, Any] | None = None  # the values as first shown (on mount)
        self.running = False
        self._timer: Timer | None = None

    def _label(self, f: FieldDef, problem: Any = None) -> Text:
        locked = f.create_only and not self.creating
        text = f.label + (" *" if f.required and not locked else "")
        return Text(("✘ " if problem else "  ") + text, style="bold" if problem else "")

    def compose(self) -> ComposeResult:
        yield Static(self.crumbs, id="crumbs", markup=False)
        with VerticalScroll():
            with Grid():
                for f in self.fields:
                    locked = f.create_only and not self.creating
                    value = self.initial.get(f.name)
                    yield Label(self._label(f), id=f"l-{f.name}")
                    if f.kind == "bool":
                        yield StateCheckbox(
                            "yes", value=bool(value), id=f"f-{f.name}", disabled=locked
                        )
                    else:
                        yield FieldInput(
                            "" if value is None else str(value),
                            id=f"f-{f.name}",
                            placeholder=f.help,
                            disabled=locked,
                        )
        yield Static("", id="hint", markup=False)
        yield Static("", id="verdict", markup=False)
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        self._open()

    def _open(self) -> None:
        first = [w for w in self.query("Input, Checkbox") if not w.disabled]
        if first and self.focused is first[0] and isinstance(first[0], FieldInput):
            # A kept form left on its first field: no focus change (each restyles the form)
            first[0].cursor_position = len(first[0].value)
        elif first and isinstance(first[0], FieldInput):
            first[0].open_here()
        elif first:
            first[0].focus()
        self._start = self.values()  # what esc compares against: leaving with changes asks
        self._check()

    def shape(self) -> tuple:
        """What the composed form depends on: its fields, their kinds and which are locked.
        Two opens of the same shape can share one form."""
        return tuple((f.name, f.kind, f.create_only and not self.creating) for f in self.fields)

    def take_over(self, new: OfferFormScreen) -> None:
        """Become ``new`` (same shape, not composed): its crumbs, values and own attributes;
        nothing of the last open stays (problems, a pending check, a save's state, the
        focus, the scroll)."""
        if self._timer:
            self._timer.stop()
            self._timer = None
        self.crumbs, self.initial, self.creating = new.crumbs, new.initial, new.creating
        self.fields, self.by_name = new.fields, new.by_name
        for attr in self.OWN:
            setattr(self, attr, getattr(new, attr))
        self.problems = []
        self.running = False
        self.query_one("#crumbs", Static).update(Text(self.crumbs))
        for f in self.fields:
            value = self.initial.get(f.name)
            widget = self.query_one(f"#f-{f.name}")
            if f.kind == "bool":
                widget.value = bool(value)
            else:
                widget.value = "" if value is None else str(value)
        self.query_one("#hint", Static).update("")
        self.query_one("#verdict", Static).update("")
        self.query_one(VerticalScroll).scroll_home(animate=False, immediate=True)
        self._open()

    def on_descendant_focus(self) -> None:
        self._hint()

    def _hint(self) -> None:
        """The focused field's help, and what is wrong with it."""
        focused = self.app.focused
        name = (focused.id or "")[2:] if focused is not None else ""
        f = self.by_name.get(name)
        if f is None:
            return
        mine = next((p for p in self.problems if p.field == name), None)
        locked = f.create_only and not self.creating
        parts = [f"{f.label}: {f.help}" if f.help else f.label]
        if locked:
            parts.append("fixed once created")
        if mine:
            parts.append(f"✘ {mine.message}")
        self.query_one("#hint", Static).update(Text(" · ".join(parts)))

    def values(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in self.fields:
            widget = self.query_one(f"#f-{f.name}")
            out[f.name] = widget.value
        return out

    @on(Input.Changed)
    @on(Checkbox.Changed)
    def _changed(self) -> None:
        if self._timer:
            self._timer.stop()
        self._timer = self.set_timer(CHECK_DELAY, self._check)

    def _service(self, online: bool = False) -> Any:
        """The session's offer service: cache-only for checks, the API's for a save."""
        return offer_service(self.app, online)

    def build(self, service: Any) -> forms.Built:  # pragma: no cover - overridden
        raise NotImplementedError

    def save(self, service: Any, draft: bool) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def _check(self) -> None:
        """Every field's problem under it, and the first rule that blocks in the verdict."""
        try:
            built = self.build(self._service())
            problems = built.problems
            empty = not self.creating and not built.body
        except OfferInvalid as exc:
            problems, empty = exc.problems, False
        self.problems = problems
        for f in self.fields:
            mine = next((p for p in problems if p.field == f.name), None)
            self.query_one(f"#l-{f.name}", Label).update(self._label(f, mine))
        self._hint()
        verdict = self.query_one("#verdict", Static)
        if problems:
            lines = [f"✘ {count(len(problems), 'problem')}:"]
            for p in problems[:6]:
                label = self.by_name[p.field].label if p.field in self.by_name else p.field
                lines.append(
                    f"  {label}: {visible(p.message, 110)}"
                    + (f" — rule {p.rule}" if p.rule else "")
                )
            verdict.update(Text("\n".join(lines)))
        elif empty:
            verdict.update(Text("Nothing changed yet."))
        else:
            where = (
                "sends it"
                if self.app.demo or self.app.settings.api_url
                else "keeps a draft (offline)"
            )
            verdict.update(Text(f"✔ Ready — ctrl+s {where}; ctrl+o keeps a draft."))

    def action_save(self, draft: bool = False) -> None:
        if self.running:
            return
        if self._timer:
            self._timer.stop()
        self._check()
        if self.problems:
            self.notify("Fix what the form says first.", severity="warning")
            return
        self.running = True
        self.query_one("#verdict", Static).update(Text("Saving…"))
        self._worker(draft)

    class Saved(Message):
        """A save ran: its result, or the error that stopped it."""

        def __init__(self, result: Any) -> None:
            super().__init__()
            self.result = result

    @work(thread=True, exclusive=True, group="offer-save")
    def _worker(self, draft: bool) -> None:
        try:
            result: Any = self.save(self._service(online=not draft), draft)
        except Exception as exc:  # shown in the form; the values stay
            result = exc
        self.post_message(self.Saved(result))

    def on_offer_form_screen_saved(self, message: Saved) -> None:
        result = message.result
        self.running = False
        if getattr(result, "reached", None) is not None:  # the status line: online or offline
            self.post_message(ApiReached(result.reached))
        verdict = self.query_one("#verdict", Static)
        if isinstance(result, OfferRefused):
            verdict.update(Text(f"✘ Refused by rule {result.rule}: {visible(result.message, 200)}"))
            return
        if isinstance(result, OfferInvalid):
            self._check()
            verdict.update(Text(f"✘ {visible(str(result), 200)}"))
            return
        if isinstance(result, Exception):
            verdict.update(Text(f"✘ {visible(getattr(result, 'message', result), 200)}"))
            return
        if result.status == "conflict":
            from srm_tui.screens.offer_merge import MergeScreen

            self.notify(result.message, severity="warning", timeout=10)
            self.app.switch_screen(MergeScreen(result.draft_id))
            return
        severity = "information" if result.status in ("applied", "unchanged") else "warning"
        self.notify(visible(result.message, 200), severity=severity, timeout=8)
        self.dismiss(result)

    def action_cancel(self) -> None:
        from srm_tui.screens.offer_dialog import ConfirmDialog

        if self.values() == self._start:
            self.dismiss(None)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.dismiss(None)

        self.app.push_screen(
            ConfirmDialog(
                "Leave this form? What you typed here is thrown away (n stays; ctrl+o keeps it "
                "as a draft)."
            ),
            answered,
        )


class OfferEditorScreen(OfferFormScreen):
    """Offers › new or edit: every field of the offer's type."""

    OWN = ("letter", "offer_id")

    def __init__(
        self, letter: str, offer: dict[str, Any] | None = None, values: dict[str, Any] | None = None
    ) -> None:
        self.letter = letter
        self.offer_id = offer["id"] if offer else None
        kind = od.KINDS[letter]
        crumbs = (
            f"Offers › {offer['id']} · {visible(offer.get('title'), 50)} › edit"
            if offer
            else f"Offers › new {kind}"
        )
        start = values or {"country": "US", "currency": "USD", "tax_included": False}
        super().__init__(crumbs, forms.offer_fields(letter), start, offer is None)

    def build(self, service: Any) -> forms.Built:
        return service.check_offer(self.letter, self.values(), self.offer_id)

    def save(self, service: Any, draft: bool) -> Any:
        return service.save_offer(self.letter, self.values(), self.offer_id, draft=draft)


class LocalizationEditorScreen(OfferFormScreen):
    """Offers › one offer › a country version: new or edit."""

    OWN = ("offer_id", "country")

    def __init__(self, offer: dict[str, Any], loc: dict[str, Any] | None = None) -> None:
        self.offer_id = offer["id"]
        self.country = loc.get("countryCode") if loc else None
        crumbs = f"Offers › {offer['id']} › localization " + (self.country or "new")
        start = (
            forms.localization_values(loc)
            if loc
            else {"title": offer.get("title") or "", "description": offer.get("description") or ""}
        )
        super().__init__(crumbs, forms.localization_fields(offer["id"][0]), start, loc is None)

    def build(self, service: Any) -> forms.Built:
        return service.check_localization(self.offer_id, self.values(), self.country)

    def save(self, service: Any, draft: bool) -> Any:
        return service.save_localization(self.offer_id, self.values(), self.country, draft=draft)

"""Small dialogs of the offer screens: a few typed fields sent by a callable, a yes/no
question, and the choice of an offer type. Work runs in a thread; a refusal stays in the
dialog with the values the agent typed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from srm_tui.bindings import bindings
from srm_tui.domain.offers import KINDS as KIND_NAMES
from srm_tui.domain.offers import LETTERS
from srm_tui.screens.leave import AsksBeforeLeaving
from srm_tui.screens.workers import work
from srm_tui.widgets.footer import Footer


def offer_service(app: Any, online: bool = True) -> Any:
    """The session's offer service for a change: the one that reaches the API when one is
    configured and in reach, else the cache-only one (the change then waits as a draft)."""
    if online:
        try:
            return app.session.offers
        except Exception:  # out of reach (the demo's sandbox did not start): a draft
            pass
    return app.session.local_offers


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    value: str = ""
    help: str = ""


class FieldsDialog(AsksBeforeLeaving, ModalScreen[bool]):
    """Typed fields, then ``submit(values)`` in a thread: None means done, else why not."""

    LEAVE_RESULT = False

    BINDINGS = bindings("offer_dialog")

    def __init__(
        self, title: str, fields: list[Field], submit: Callable[[dict[str, str]], str | None]
    ) -> None:
        super().__init__()
        self.title_text = title
        self.fields = fields
        self.submit = submit
        self.running = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, id="title", markup=False)
            for f in self.fields:
                with Horizontal(classes="row"):
                    yield Label(f.label)
                    yield Input(f.value, id=f"f-{f.name}", placeholder=f.help)
                if f.help:
                    yield Static(f.help, classes="help", markup=False)
            yield Static(
                "ctrl+s or enter in the last field: go · esc: cancel", id="verdict", markup=False
            )
            yield Footer()

    def values(self) -> dict[str, str]:
        return {f.name: self.query_one(f"#f-{f.name}", Input).value.strip() for f in self.fields}

    @on(Input.Submitted)
    def _entered(self, event: Input.Submitted) -> None:
        if event.input.id == f"f-{self.fields[-1].name}":
            self.action_submit()
        else:
            self.focus_next()

    def action_submit(self) -> None:
        if self.running:
            return
        self.running = True
        self.query_one("#verdict", Static).update(Text("Working…"))
        self._run(self.values())

    class Done(Message):
        """The submit ran: ``problem`` None when done, else why not."""

        def __init__(self, problem: str | None) -> None:
            super().__init__()
            self.problem = problem

    @work(thread=True, exclusive=True, group="offer-dialog")
    def _run(self, values: dict[str, str]) -> None:
        try:
            problem = self.submit(values)
        except Exception as exc:  # shown in the dialog; the values stay
            problem = getattr(exc, "message", None) or str(exc)
        self.post_message(self.Done(problem))

    def on_fields_dialog_done(self, message: Done) -> None:
        problem = message.problem
        self.running = False
        if problem is None:
            self.dismiss(True)
            return
        self.query_one("#verdict", Static).update(Text(f"✘ {problem}"))


class ConfirmDialog(ModalScreen[bool]):
    """A yes/no question: y goes ahead, esc or n does not."""

    BINDINGS = bindings("offer_confirm")

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, id="title", markup=False)
            yield Static("y: yes · n or esc: no", id="verdict", markup=False)
            yield Footer()


class OfferTypeDialog(ModalScreen[str | None]):
    """Which kind of offer to create: 1-5, or the kind's first letter."""

    BINDINGS = bindings("offer_type")
    CHOICES = LETTERS

    def __init__(self, opens: Callable[[str], ModalScreen | Any] | None = None) -> None:
        super().__init__()
        # The screen the choice opens, put in the dialog's place at once: keys typed right
        # after the digit then reach it (the app holds them until it has mounted).
        self.opens = opens

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("New offer: which kind?", id="title", markup=False)
            lines = [f"{n}  {KIND_NAMES[letter]}" for n, letter in enumerate(self.CHOICES, 1)]
            yield Static("\n".join(lines), markup=False)
            yield Static("1-5 chooses · esc: cancel", id="verdict", markup=False)
            yield Footer()

    def action_choose(self, n: int) -> None:
        letter = self.CHOICES[n - 1]
        if self.opens is not None:
            self.app.switch_screen(self.opens(letter))
        else:
            self.dismiss(letter)

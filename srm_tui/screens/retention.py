"""The cancel dialog's retention step: the playbook's offers for this customer and
subscription, before anything is cancelled.

The rule that matched is named, each offer with what it changes (or the rule that refuses it).
A number key (or Enter on the highlighted offer) takes it: its action runs through the write
pipeline like any action. ``c`` (or a let-go offer) cancels anyway: a reason is asked,
checked in place, confirmed with ``y``. Esc leaves without doing anything. The screen
dismisses with the Outcome (None when the agent left).
"""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from srm_tui.actions.rules import ActionError, ActionInvalid, ActionRefused
from srm_tui.actions.service import Outcome
from srm_tui.api.errors import ApiError
from srm_tui.api.profile import NotOffered
from srm_tui.bindings import bindings
from srm_tui.config import ConfigError
from srm_tui.domain.text import visible
from srm_tui.playbook.model import PlaybookInvalid
from srm_tui.screens.workers import work
from srm_tui.widgets.footer import Footer
from srm_tui.widgets.marked_options import MarkedOptionList
from srm_tui.widgets.safe_text import SafeInput


def offer_retention(screen: Any) -> None:
    """Called by the cancel dialog when it opens: when a playbook rule matches the customer
    and this subscription, its offers come first (the dialog closes with what was done);
    otherwise nothing happens and the cancel dialog is as it always was."""
    subscription_id = screen.fixed.get("subscription_id")
    if subscription_id is None:
        return
    try:
        proposals = screen.app.session.playbook.for_subscription(int(subscription_id))
    except Exception as exc:  # the playbook must never stand between an agent and a cancel
        reason = " ".join(str(exc).split()) or type(exc).__name__  # one line, whatever it says
        screen.notify(
            f"The retention playbook could not be read ({visible(reason, 200)}); "
            "cancelling as usual.",
            severity="warning",
        )
        return
    if proposals is None or not proposals.matched:
        return

    def done(outcome: Outcome | None) -> None:
        # Not ``screen.dismiss`` itself: the callback runs in the cancel dialog's own message
        # loop, which awaits what a callback returns, and awaiting a screen's dismiss from its
        # own handler raises ScreenError (Textual's Screen.dismiss). Dismissed, not awaited.
        screen.dismiss(outcome)

    # The cancel dialog waits under the retention step, hidden: the same width, centred, it
    # showed as a second border under this one whenever it was the taller.
    screen.add_class("-under-retention")
    screen.app.push_screen(RetentionScreen(proposals), done)


def _service(session: Any) -> Any:
    """The action service that sends (offline: the one that queues in the outbox)."""
    try:
        return session.actions
    except Exception:  # the demo's API could not start: the action waits in the outbox
        return session.local_actions


def _offer_prompt(p: Any) -> Text:
    text = Text()
    text.append(f"{p.number}  ", style="bold")
    text.append(p.offer.describe(), style="bold" if p.available else "dim")
    for line in p.changes():
        text.append(f"\n     {visible(line, 200)}")
    if not p.available:
        text.append(f"\n     ✘ refused: {visible(p.refused, 300)}")
    return text


class RetentionScreen(ModalScreen[Outcome | None]):
    """The playbook's offers at a cancel; dismisses with the Outcome (None: left)."""

    BINDINGS = bindings("retention")

    class Done(Message):
        """The worker answered: an Outcome, or the error the service gave."""

        def __init__(self, result: Any) -> None:
            super().__init__()
            self.result = result

    def __init__(self, proposals: Any) -> None:
        super().__init__()
        self.proposals = proposals
        self.asking_reason = False
        self.let_go: int | None = None  # the let-go offer chosen, if one was
        self.armed = False
        self.running = False

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "confirm":
            return self.armed
        if action in ("take", "take_highlighted", "anyway"):
            return not self.asking_reason and not self.running
        if action == "submit":
            return self.asking_reason
        return True

    def compose(self) -> ComposeResult:
        p = self.proposals
        with Vertical():
            yield Static(
                f"Before cancelling · subscription {p.subscription_id}", id="title", markup=False
            )
            yield Static(self._rule_line(), id="rule", markup=False)
            yield MarkedOptionList(
                *(Option(_offer_prompt(o), id=str(o.number)) for o in p.offers), id="offers"
            )
            yield Static("c  cancel anyway (a reason is asked)", id="anyway-hint", markup=False)
            with Vertical(id="anyway"):
                yield Label("Reason for cancelling *", classes="label")
                yield SafeInput(id="reason", placeholder="why the subscription is cancelled")
                yield Static("", id="reason-error", classes="error", markup=False)
                yield Static(id="cancel-preview")
            yield Static(id="verdict")
            yield Footer()

    def _rule_line(self) -> str:
        p = self.proposals
        rule = f"Playbook rule “{visible(p.rule.name, 120)}” (version {p.version})"
        if self.asking_reason:
            return f"Cancelling anyway: {rule} offered {len(p.offers)}, none taken."
        return f"{rule} offers:"

    def on_mount(self) -> None:
        self.query_one("#anyway").display = False
        self.query_one("#reason-error").display = False
        self.query_one("#offers", OptionList).focus()
        self._say("1-9 or Enter takes an offer · c cancels anyway · esc leaves")
        self._offered()

    @work(thread=True, group="retention-offered")
    def _offered(self) -> None:
        """The audit trail records that the offers were shown."""
        self.app.session.playbook.offered(self.proposals)

    def _say(self, text: str, style: str = "") -> None:
        self.query_one("#verdict", Static).update(Text(text, style=style))

    # taking an offer -------------------------------------------------------------------------

    def action_take(self, number: int) -> None:
        if not 1 <= number <= len(self.proposals.offers):
            return
        self._take(self.proposals.offers[number - 1])

    def action_take_highlighted(self) -> None:
        highlighted = self.query_one("#offers", OptionList).highlighted
        if highlighted is not None:
            self._take(self.proposals.offers[highlighted])

    @on(OptionList.OptionSelected, "#offers")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if not self.asking_reason and not self.running:
            self._take(self.proposals.offers[event.option_index])

    def _take(self, proposal: Any) -> None:
        if self.running:
            return
        if proposal.lets_go:
            self.let_go = proposal.number
            self.action_anyway()
            return
        if not proposal.available:
            self._say(f"✘ Offer {proposal.number} is refused: {proposal.refused}", "bold")
            return
        self.running = True
        self._say(f"Taking offer {proposal.number}: {proposal.offer.describe()}…", "bold")
        self._worker("take", proposal.number, None)

    # cancelling anyway ---------------------------------------------------------------------

    def action_anyway(self) -> None:
        self.asking_reason = True
        offers = self.query_one("#offers", OptionList)
        offers.disabled = True
        offers.display = False  # the room goes to the reason and what the cancel changes
        self.query_one("#rule", Static).update(self._rule_line())
        self.query_one("#anyway-hint").display = False
        self.query_one("#anyway").display = True
        self.query_one("#reason", Input).focus()
        self._say("Type the reason, then ctrl+s (esc goes back to the offers).")
        self.refresh_bindings()

    def action_back(self) -> None:
        if self.running:
            return
        if not self.asking_reason:
            self.dismiss(None)
            return
        self.asking_reason = self.armed = False
        self.let_go = None
        self.query_one("#anyway").display = False
        self.query_one("#anyway-hint").display = True
        offers = self.query_one("#offers", OptionList)
        offers.disabled = False
        offers.display = True
        offers.focus()
        self.query_one("#rule", Static).update(self._rule_line())
        self._say("1-9 or Enter takes an offer · c cancels anyway · esc leaves")
        self.refresh_bindings()

    @on(Input.Changed, "#reason")
    def _typed(self) -> None:
        self.armed = False
        self.refresh_bindings()

    @on(Input.Submitted, "#reason")
    def _reason_entered(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    def action_submit(self) -> None:
        """Check the reason in place (the cancel's own rules), then ask for y."""
        if self.running:
            return
        reason = self.query_one("#reason", Input).value
        error = self.query_one("#reason-error", Static)
        error.display = False
        try:
            preview = self.app.session.local_actions.preview(
                "cancel", subscription_id=self.proposals.subscription_id, reason=reason
            )
        except (ActionInvalid, NotOffered) as exc:
            message = exc.message if isinstance(exc, ActionInvalid) else str(exc)
            error.update(f"⚠ {message}")
            error.display = True
            self._say(f"⚠ {exc}", "bold")
            return
        self._show_cancel(preview)
        if preview.blocked:
            self._say(f"✘ Blocked by rule {preview.blocked.rule}: {preview.blocked.message}")
            return
        self.armed = True
        self.set_focus(None)  # y must confirm, not type into the reason
        self._say("Really cancel the subscription? Press y to confirm, esc to go back.", "bold")
        self.refresh_bindings()

    def _show_cancel(self, preview: Any) -> None:
        table = Table(title="What the cancel changes", title_justify="left", show_edge=False)
        table.add_column("What")
        table.add_column("Before")
        table.add_column("After")
        for change in preview.changes:
            table.add_row(
                Text(visible(change.what, 40)),
                Text("—" if change.before in (None, "") else visible(change.before, 60)),
                Text("—" if change.after in (None, "") else visible(change.after, 60)),
            )
        self.query_one("#cancel-preview", Static).update(table)

    def action_confirm(self) -> None:
        if not self.armed or self.running:
            return
        self.armed = False
        self.running = True
        self._say("Cancelling…", "bold")
        self._worker("decline", self.let_go, self.query_one("#reason", Input).value)

    # the work --------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="retention")
    def _worker(self, what: str, number: int | None, reason: str | None) -> None:
        session = self.app.session
        service = _service(session)
        try:
            if what == "take":
                result: Any = session.playbook.take(self.proposals, number, service=service)
            else:
                result = session.playbook.decline(
                    self.proposals, reason or "", index=number, service=service
                )
        except (ActionError, NotOffered, ApiError, ConfigError, PlaybookInvalid) as exc:
            result = exc  # said in the dialog
        self.post_message(self.Done(result))

    def worker_failed(self, group: str, error: BaseException) -> None:
        """The worker failed after the app was told: the dialog takes keys again."""
        self.running = False
        self._say(f"✘ {getattr(error, 'message', None) or error} (see Sync & outbox, F5)")

    def on_retention_screen_done(self, message: Done) -> None:
        result = message.result
        self.running = False
        if isinstance(result, Outcome):
            self.dismiss(result)
            return
        if isinstance(result, ActionRefused):
            self._say(f"✘ Refused by rule {result.rule}: {result.message}")
        elif isinstance(result, NotOffered):
            self._say(f"✘ {result}")
        else:
            self._say(f"⚠ {getattr(result, 'message', None) or result}")
        self.refresh_bindings()

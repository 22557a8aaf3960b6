"""The conflict screen of every pending write, and its panel for a queued support action.

``WriteScreen`` is one pending write of any kind (a queued support action, an offer draft)
beside the API's version, with the agent's decision: it owns the frame every kind shares
(discarding waits for y, esc takes it back, decisions go through the session's write engine
over the cache). Each kind gives its panel: ``OutboxItemScreen`` here (Sync › one outbox entry), and
``MergeScreen`` in offer_merge.py (Offers › drafts › merge, field by field).

A queued action that met a record changed meanwhile (or that the API refused) is never
dropped: its panel shows both versions side by side and lets the agent retry it as it was
queued, edit it against the API's version (the edited copy replaces it), or discard it.
Every choice lands in the audit log.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from srm_tui.actions import outbox
from srm_tui.actions.outbox import OutboxItem
from srm_tui.actions.service import ActionService
from srm_tui.bindings import bindings
from srm_tui.domain.text import visible
from srm_tui.domain.time import utc
from srm_tui.widgets.status_line import StatusLine
from srm_tui.writes import WriteError

MISSING = "(not at the API)"
DECIDE = (outbox.CONFLICT, outbox.FAILED)


def _shown(value: Any, limit: int = 40) -> Text:
    if value is None or value == "":
        return Text("—")
    if isinstance(value, dict) and "$any" in value:
        return Text("any value (set)")
    return Text(visible(value, limit))


def status_word(item: OutboxItem) -> str:
    """The entry's state in words (never by colour alone)."""
    return {
        outbox.CONFLICT: "CONFLICT — needs a decision",
        outbox.FAILED: "FAILED — needs a decision",
        outbox.PENDING: "pending — waits for the API",
        outbox.SENT: "sent",
        outbox.DISCARDED: "discarded",
        outbox.REFUSED: "refused",
    }.get(item.status, item.status)


def wanted_table(item: OutboxItem) -> Table:
    """What the agent's action changes, as planned when it was queued."""
    table = Table(
        title="What you wanted (as queued)",
        title_justify="left",
        expand=True,
        show_edge=False,
        title_style="bold",
    )
    table.add_column("What")
    table.add_column("Before")
    table.add_column("After")
    for change in item.changes:
        table.add_row(Text(visible(change.what, 40)), _shown(change.before), _shown(change.after))
    return table


def versions_table(item: OutboxItem) -> Table | Text:
    """Both versions field by field: when queued, the agent's, and the API's now."""
    versions = item.versions()
    if not versions:
        return Text(
            "The API's version: no field to compare for this action; the API's answer is below."
        )
    table = Table(
        title="Both versions",
        title_justify="left",
        expand=True,
        show_edge=False,
        title_style="bold",
    )
    table.add_column("Record")
    table.add_column("Field")
    table.add_column("When queued")
    table.add_column("You wanted")
    table.add_column("The API now")
    missing = [i for i, s in enumerate(item.server or []) if s is None]
    for i, watch in enumerate(item.watches):
        for name in watch.before:
            api_now = (
                Text(MISSING)
                if i in missing or item.server is None
                else _shown((item.server[i] or {}).get(name))
            )
            table.add_row(
                Text(f"{watch.entity} {visible(watch.key, 20)}"),
                Text(name),
                _shown(watch.before[name]),
                _shown(watch.after.get(name)),
                api_now,
            )
    return table


def entry_view(item: OutboxItem, position: str = "") -> Group:
    """The whole entry as text: heading, both versions, the API's answer, the choices."""
    head = Text.assemble(
        (f"Outbox #{item.id} · {item.title} · {visible(item.target, 40)}", "bold"),
        f"  {position}\n" if position else "\n",
        ("Status: ", "bold"),
        f"{status_word(item)}\n",
        f"Queued {utc(item.created_at)} by {visible(item.agent or '—', 30)} "
        f"({item.role or '—'}) · attempts {item.attempts}"
        + (f" · sent {utc(item.sent_at)}" if item.sent_at else ""),
    )
    parts: list[Any] = [head, Text(""), wanted_table(item)]
    if item.status in DECIDE:
        parts += [Text(""), versions_table(item)]
    if item.last_error:
        parts += [
            Text(""),
            Text.assemble(("The API said: ", "bold"), visible(item.last_error, 400)),
        ]
    return Group(*parts)


def choices(item: OutboxItem, role: str) -> Text:
    if role == "viewer":
        return Text("The viewer role is read only: an agent, admin or owner decides.")
    if item.status in DECIDE:
        return Text(
            "r  retry as queued — sends your version over the API's\n"
            "e  edit — opens the action on the API's version; the edited copy "
            "replaces this entry\n"
            "d  discard — drops it (kept in the audit log)"
        )
    if item.status == outbox.PENDING:
        return Text(
            "It is sent, exactly once, when the API answers (ctrl+r tries now).\n"
            "d  discard — drops it (kept in the audit log)"
        )
    return Text("Settled: nothing to decide.")


class WriteScreen(Screen[Any]):
    """One pending write and the decision on it; a kind's panel fills in the rest.

    A panel gives ``write_ref()`` (``action:N``, ``offer:N``), ``discard_question()``,
    ``show_question()`` (where the question goes), ``kept()`` (after esc), ``discarded()``
    and ``outcome()`` (what the screen dismisses with)."""

    armed = False  # discard waits for y

    def write_ref(self) -> str | None:
        raise NotImplementedError

    def can_discard(self) -> bool:
        return self.write_ref() is not None

    def discard_question(self) -> str:
        raise NotImplementedError

    def show_question(self, text: str) -> None:
        raise NotImplementedError

    def kept(self) -> None:
        """Esc took back an unconfirmed discard."""

    def discarded(self, result: Any) -> None:
        raise NotImplementedError

    def outcome(self) -> Any:
        return None

    def action_discard(self) -> None:
        if not self.can_discard():
            return
        self.armed = True
        self.show_question(self.discard_question())
        self.refresh_bindings()

    def action_confirm(self) -> None:
        ref = self.write_ref()
        if not self.armed or ref is None:
            return
        self.armed = False
        try:
            result = self.app.session.local_writes.discard(ref)
        except WriteError as exc:
            self.notify(str(exc), severity="error")
            return
        self.discarded(result)

    def _disarm(self) -> bool:
        if not self.armed:
            return False
        self.armed = False
        self.kept()
        self.refresh_bindings()
        return True

    def action_back(self) -> None:
        if not self._disarm():  # esc first takes back an unconfirmed discard
            self.dismiss(self.outcome())


class OutboxItemScreen(WriteScreen):
    """Sync › outbox #N. Dismisses with True when the agent settled something."""

    BINDINGS = bindings("outbox_item")

    def __init__(self, ids: list[int], index: int = 0) -> None:
        super().__init__()
        self.ids = list(ids)
        self.index = max(0, min(index, len(self.ids) - 1))
        self.item: OutboxItem | None = None
        self.changed = False

    def compose(self) -> ComposeResult:
        yield Static("", id="crumbs", markup=False)
        with VerticalScroll():
            yield Static(id="entry")
            yield Static(id="choices")
            yield Static("", id="ask", markup=False)
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        self.armed = False
        self.query_one("#ask", Static).update("")
        self.item = outbox.get(self.app.cache.conn(), self.ids[self.index]) if self.ids else None
        crumbs = self.query_one("#crumbs", Static)
        if self.item is None:
            crumbs.update("Sync › outbox — no such entry")
            self.query_one("#entry", Static).update("Nothing to show.")
            self.query_one("#choices", Static).update("")
            self.refresh_bindings()
            return
        position = f"({self.index + 1} of {len(self.ids)})" if len(self.ids) > 1 else ""
        crumbs.update(f"Sync › outbox #{self.item.id} · {self.item.status}")
        self.query_one("#entry", Static).update(entry_view(self.item, position))
        self.query_one("#choices", Static).update(choices(self.item, self.app.settings.role))
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        item = self.item
        if action in ("retry", "edit", "discard", "confirm"):
            if item is None or self.app.settings.role == "viewer":
                return False
            if action == "discard":
                return item.status in DECIDE + (outbox.PENDING,)
            if action == "confirm":
                return self.armed
            return item.status in DECIDE
        if action == "step":
            return len(self.ids) > 1
        return True

    # the write-screen frame -----------------------------------------------------------------

    def write_ref(self) -> str | None:
        return f"action:{self.item.id}" if self.item is not None else None

    def discard_question(self) -> str:
        assert self.item is not None
        return (
            f"Discard outbox #{self.item.id} ({self.item.title})? Your version is not sent; "
            "the audit log keeps it. Press y to confirm, esc keeps it."
        )

    def show_question(self, text: str) -> None:
        self.query_one("#ask", Static).update(text)

    def kept(self) -> None:
        self.query_one("#ask", Static).update("Kept: nothing was discarded.")

    def discarded(self, result: Any) -> None:
        assert self.item is not None
        self._settled(f"Outbox #{self.item.id} discarded.")

    def outcome(self) -> bool:
        return self.changed

    # keys ----------------------------------------------------------------------------------

    def action_step(self, step: int) -> None:
        self._disarm()
        if self.ids:
            self.index = (self.index + step) % len(self.ids)
            self.action_reload()

    def _service(self) -> ActionService:
        return self.app.session.local_actions

    def _settled(self, message: str) -> None:
        self.changed = True
        self.notify(message, timeout=8)
        self.action_reload()
        self.app.refresh_status()

    def action_retry(self) -> None:
        assert self.item is not None
        self._disarm()
        try:
            self.app.session.local_writes.retry(f"action:{self.item.id}")
        except WriteError as exc:
            self.notify(str(exc), severity="error")
            return
        online = bool(self.app.demo or self.app.settings.api_url)
        self._settled(
            f"Outbox #{self.item.id} queued again as it was"
            + ("; sending it now." if online else "; it is sent when the API answers.")
        )
        if online:
            self.app.action_sync_now()

    def action_edit(self) -> None:
        from srm_tui.screens.action import ActionScreen

        item = self.item
        assert item is not None
        self._disarm()
        spec = ActionService.spec(item.action)
        target = spec.target_field.name
        fixed = {target: item.args.get(target)}
        defaults = {k: v for k, v in item.args.items() if k != target}
        replaced = item.id

        def finished(outcome: Any) -> None:
            if outcome is None:
                return  # cancelled: the entry stays as it is
            what = (
                f"outbox #{outcome.outbox_id}" if outcome.outbox_id else "an edited copy, applied"
            )
            try:
                self._service().resolve(replaced, retry=False, replaced_by=what)
            except WriteError as exc:
                self.notify(str(exc), severity="error")
                return
            self._settled(f"Outbox #{replaced} replaced: {outcome.message}")

        self.app.push_screen(ActionScreen(item.action, fixed, defaults=defaults), finished)

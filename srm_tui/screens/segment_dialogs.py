"""Small dialogs of the segment screens: confirm a save (with its diff), yes/no, one value,
and a customer's static segments (export: segment_export.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, SelectionList, Static
from textual.widgets.selection_list import Selection

from srm_tui.bindings import bindings
from srm_tui.domain.text import count, visible
from srm_tui.screens.leave import AsksBeforeLeaving, form_state
from srm_tui.segments import store
from srm_tui.segments.model import Segment
from srm_tui.widgets.check import StateSelectionList
from srm_tui.widgets.footer import Footer


def diff_text(lines: list[tuple[str, str]], changed_only: bool = False) -> Text:
    """Definition lines with + / - marks (and colour for who has it)."""
    out = Text()
    for mark, line in lines:
        if changed_only and mark == " ":
            continue
        style = {"+": "green", "-": "red"}.get(mark, "dim")
        out.append(f"{mark} {visible(line, 200)}\n", style=style)
    return out


class SaveScreen(ModalScreen[bool]):
    """What a save changes: the definition's lines and the members gained and lost."""

    BINDINGS = bindings("segment_confirm")

    def __init__(
        self,
        segment: Segment,
        change: store.Change,
        schedules: list[dict[str, Any]],
        base_version: int | None,
    ) -> None:
        super().__init__()
        self.segment = segment
        self.change = change
        self.schedules = schedules
        self.base_version = base_version

    def compose(self) -> ComposeResult:
        c = self.change
        against = f"version {self.base_version}" if self.base_version else "nothing (new)"
        with Vertical():
            yield Static(
                Text(f"Save {visible(self.segment.name, 60)} as version {c.version}?"),
                classes="title",
            )
            yield Static(f"Definition, against {against}:", classes="label", markup=False)
            with VerticalScroll():
                yield Static(
                    diff_text(c.lines)
                    if c.definition_changed
                    else Text("(no change to the definition)"),
                    id="diff",
                )
            gained = (
                ""
                if self.base_version is None
                else f" (+{c.gained:,} gained, −{c.lost:,} lost since version {self.base_version})"
            )
            yield Static(
                f"Members now: {c.members:,}{gained}", id="members", markup=False, classes="label"
            )
            for s in self.schedules:
                yield Static(
                    f"⚠ Schedule {s['id']} ({s['format']}) exports this segment: its "
                    "next file will hold this version's members.",
                    classes="warning",
                    markup=False,
                )
            yield Static("y saves · n or esc goes back", classes="help", markup=False)
            yield Footer()


class ConfirmScreen(ModalScreen[bool]):
    BINDINGS = bindings("segment_confirm")

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.message), classes="title")
            yield Static("y yes · n or esc no", classes="help", markup=False)
            yield Footer()


class PromptScreen(AsksBeforeLeaving, ModalScreen[str | None]):
    """One value; ``check`` returns what is wrong with it (shown inline) or None."""

    BINDINGS = bindings("segment_dialog")

    def __init__(
        self,
        title: str,
        placeholder: str = "",
        check: Callable[[str], str | None] | None = None,
        value: str = "",
    ) -> None:
        super().__init__()
        self.title_text = title
        self.placeholder = placeholder
        self.check = check
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(self.title_text), classes="title")
            yield Input(value=self.value, placeholder=self.placeholder, id="value")
            yield Static("", id="error", classes="error", markup=False)
            yield Footer()

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def action_submit(self) -> None:
        value = self.query_one(Input).value.strip()
        problem = self.check(value) if self.check else None
        if problem:
            self.query_one("#error", Static).update(Text(f"⚠ {problem}"))
            return
        self.dismiss(value)


# a customer's static segments ----------------------------------------------------------------


class MembershipScreen(AsksBeforeLeaving, ModalScreen[None]):
    """Tick the static segments this customer belongs in; n makes a new one."""

    BINDINGS = bindings("segment_dialog")

    def __init__(self, customer_id: int) -> None:
        super().__init__()
        self.customer_id = customer_id
        self.before: dict[int, bool] = {}  # static segment id -> the customer is in it
        self.want: dict[int, bool] = {}

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(
                f"Static segments of customer {self.customer_id} — space ticks, ctrl+s keeps",
                classes="title",
                markup=False,
            )
            yield StateSelectionList[int](id="segments")
            yield Static(
                "New static segment (name, enter adds it ticked):", classes="label", markup=False
            )
            yield Input(placeholder="e.g. VIP callbacks", id="new")
            yield Static("", id="error", classes="error", markup=False)
            yield Footer()

    def on_mount(self) -> None:
        for saved, inside in self.app.session.segment_store.static_memberships(self.customer_id):
            self.before[saved.id] = inside
            self.want[saved.id] = inside
        self._fill()
        box = self.query_one(SelectionList)
        (box if box.option_count else self.query_one("#new", Input)).focus()

    def _fill(self) -> None:
        box = self.query_one(SelectionList)
        box.clear_options()
        for saved in self.app.session.segment_store.list_saved():
            if not saved.static:
                continue
            tags = f"  [{', '.join(saved.tags)}]" if saved.tags else ""
            box.add_option(
                Selection(
                    Text(
                        f"{visible(saved.name, 50)}{visible(tags, 30)} · "
                        f"{count(saved.members, 'member')}"
                    ),
                    saved.id,
                    self.want.get(saved.id, False),
                )
            )

    @on(SelectionList.SelectedChanged)
    def _toggled(self, event: SelectionList.SelectedChanged) -> None:
        chosen = set(event.selection_list.selected)
        for sid in self.want:
            self.want[sid] = sid in chosen

    @on(Input.Submitted, "#new")
    def _new(self, event: Input.Submitted) -> None:
        name = event.value.strip()
        if self.app.settings.role == "viewer":
            self._error("the viewer role is read only")
            return
        settings = self.app.settings
        segments = self.app.session.segment_store
        problem = segments.check_header(Segment(name=name))
        if problem:
            self._error(str(problem[0]))
            return
        saved = segments.create_static(name, now=settings.now_ts(), agent=settings.agent)
        event.input.value = ""
        self.query_one("#error", Static).update("")
        self.before[saved.id] = False
        self.want[saved.id] = True
        self._fill()
        self.query_one(SelectionList).focus()

    def _error(self, message: str) -> None:
        self.query_one("#error", Static).update(Text(f"⚠ {message}"))

    def typed_state(self) -> Any:
        return form_state(self), tuple(sorted(self.want.items()))

    def action_submit(self) -> None:
        if self.app.settings.role == "viewer":
            self._error("the viewer role is read only")
            return
        settings = self.app.settings
        added, removed = [], []
        for sid, inside in self.before.items():
            want = self.want.get(sid, inside)
            if want == inside:
                continue
            try:
                self.app.session.segment_store.change_members(
                    sid,
                    add=[self.customer_id] if want else [],
                    remove=[] if want else [self.customer_id],
                    now=settings.now_ts(),
                    agent=settings.agent,
                )
            except store.SegmentError as exc:
                self._error(str(exc.faults[0]))
                return
            name = self.app.session.segment_store.get_saved(sid).name
            (added if want else removed).append(name)
        parts = []
        if added:
            parts.append("added to " + ", ".join(added))
        if removed:
            parts.append("removed from " + ", ".join(removed))
        self.app.notify(
            f"Customer {self.customer_id} " + ("; ".join(parts) if parts else "unchanged") + "."
        )
        self.dismiss(None)


def open_membership(app: Any) -> None:
    """The customer screen's `m`: the open customer's static segments."""
    customer_id = getattr(app.screen, "customer_id", None)
    if customer_id is None:
        app.notify(
            "Open a customer first: static segments are chosen from a customer's "
            "screen (m), or on the segment itself (F3).",
            severity="warning",
        )
        return
    if not app.session.customers.exists(customer_id):
        app.notify("This customer is not in the cache.", severity="warning")
        return
    app.push_screen(MembershipScreen(int(customer_id)))

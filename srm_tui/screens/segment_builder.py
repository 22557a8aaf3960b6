"""Segments › one segment: name, tags, selector, the condition tree and its text form, the
member count after every change, the members, and why the highlighted one is in.

The tree is edited by keys on the Conditions box (a add, o group, t all/any, n not, x delete,
K/J move, > and < into and out of a group, u undo) or by typing its text form; each view
follows the other. Every change counts the members again in a worker: while one count runs,
later changes wait for it and only the newest is counted next, and an answer for an older
tree is never shown. The count line says how long it took and how fresh the cache is.
"""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, Static

from srm_tui.bindings import bindings
from srm_tui.domain.text import visible
from srm_tui.screens.segment_builder_work import BuilderWork
from srm_tui.screens.segment_common import list_columns, parse_tags
from srm_tui.screens.workers import work
from srm_tui.segments import editing as ed
from srm_tui.segments import store
from srm_tui.segments.catalog import SELECTORS
from srm_tui.segments.model import All, Condition, Node, Not, Segment
from srm_tui.segments.textform import TextFormError, format_tree, parse_tree
from srm_tui.segments.validate import validate_segment
from srm_tui.widgets.choice import ChoiceField
from srm_tui.widgets.condition_tree import ConditionTree
from srm_tui.widgets.customer_table import ColumnHeadings, CustomerTable
from srm_tui.widgets.footer import Footer
from srm_tui.widgets.member_list import MemberPages
from srm_tui.widgets.status_line import StatusLine

TEXT_DELAY = 0.3
NARROW = 110
SELECTOR_HELP = {
    "latest": "the latest subscription",
    "longest": "the longest subscription",
    "highest_revenue": "the highest-revenue subscription",
    "any": "any of the subscriptions",
}


class SegmentBuilderScreen(BuilderWork, Screen):
    """Build, count, save and explain one dynamic segment."""

    BINDINGS = bindings("segment_builder")

    def __init__(
        self,
        saved: store.Saved | None = None,
        *,
        segment: Segment | None = None,
        slice_node: Node | None = None,
    ) -> None:
        super().__init__()
        start = segment or (saved.segment if saved else None) or Segment(where=All())
        self.segment_id = saved.id if saved else None
        self.base_version = saved.version if saved else None
        self.saved_definition: Segment | None = saved.segment if saved else None
        self.schedules: list[dict[str, Any]] = []
        self.where: Node = ed.root_group(start.where)
        self.name0, self.tags0, self.selector = start.name, start.tags, start.selector
        self.undo: list[Node] = []
        self.redo: list[Node] = []
        if slice_node is not None:
            self.where, _ = ed.add_slice(self.where, slice_node)
        self.seq = 0
        self._counting = False
        self.count_result: Any = None
        self.count_ms: float | None = None
        self._counted_key: Any = None
        self.remembered = False
        self._text_timer: Timer | None = None
        self._explain_timer: Timer | None = None
        self._text_shown = ""
        self._leave_armed = False
        self.custom_keys: list[str] = []
        self.pages: MemberPages | None = None

    # building ---------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static("", id="crumbs", markup=False)
        yield Static("", id="warning", classes="-none", markup=False)
        with Horizontal(id="header"):
            yield Static("Name", classes="label", markup=False)
            yield Input(value=self.name0, placeholder="a name to save it under", id="name")
            yield Static("Tags", classes="label", markup=False)
            yield Input(value=", ".join(self.tags0), placeholder="comma, separated", id="tags")
            yield Static("Selector", classes="label", markup=False)
            yield ChoiceField(
                SELECTORS,
                self.selector,
                id="selector",
                help={
                    k: f"subscription.* attributes describe {v}" for k, v in SELECTOR_HELP.items()
                },
            )
        yield Static("", id="header-error", classes="error -empty", markup=False)
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield ConditionTree(id="tree")
            with Vertical(id="right"):
                headings = ColumnHeadings(id="member-head")
                yield headings
                yield CustomerTable(
                    lambda o, n: [],
                    0,
                    columns=list_columns(self.app),
                    headings=headings,
                    id="members",
                )
                with VerticalScroll(id="explain-box"):
                    yield Static(
                        "Highlight a member to see why it is in; ctrl+n explains "
                        "any customer, in or out.",
                        id="explain",
                        markup=False,
                    )
        yield Input(placeholder="text form: subscription.state = grace and (…)", id="text")
        yield Static("", id="text-error", classes="error -empty", markup=False)
        yield Static("", id="count", markup=False)
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#members", CustomerTable)
        self.pages = MemberPages(self, table)
        self.watch(table, "cursor", self._cursor_moved, init=False)
        self._narrow(self.app.size.width)
        if self.segment_id is not None:
            self.schedules = self.app.session.segment_store.schedules_using(self.segment_id)
        self._show_warning()
        self._show_tree(())
        self._set_text()
        self._crumbs()
        self._load_custom_keys()
        self.query_one(ConditionTree).focus()
        self.recount()

    def on_resize(self) -> None:
        self._narrow(self.size.width)

    def _narrow(self, width: int) -> None:
        self.set_class(width < NARROW, "-narrow")

    def on_screen_resume(self) -> None:
        self.recount()  # the cache may have synced meanwhile (the runner remembers otherwise)

    def action_reload(self) -> None:
        self.recount()

    class CustomKeys(Message):
        """The custom-field keys the cache holds (the condition dialog offers them)."""

        def __init__(self, keys: list[str]) -> None:
            super().__init__()
            self.keys = keys

    @work(thread=True, group="custom-keys")
    def _load_custom_keys(self) -> None:
        from srm_tui.segments.values import custom_keys

        try:
            keys = self.app.session.segments.call(custom_keys)
        except Exception:  # no keys to offer: conditions are still typed in full
            keys = []
        self.post_message(self.CustomKeys(keys))

    def on_segment_builder_screen_custom_keys(self, message: CustomKeys) -> None:
        self.custom_keys = message.keys

    # state ------------------------------------------------------------------------------------

    @property
    def segment(self) -> Segment:
        return Segment(
            where=self.where,
            name=self.query_one("#name", Input).value.strip(),
            tags=parse_tags(self.query_one("#tags", Input).value),
            selector=self.selector,
        )

    @property
    def dirty(self) -> bool:
        current = self.segment
        if self.saved_definition is None:
            return bool(current.name or current.tags or ed.children(current.where))
        saved = self.saved_definition
        return (
            current.name != saved.name
            or current.tags != saved.tags
            or current.selector != saved.selector
            or current.where != ed.root_group(saved.where)
        )

    def _crumbs(self) -> None:
        name = self.query_one("#name", Input).value.strip() or "new segment"
        version = f" · v{self.base_version}" if self.base_version else " · not saved"
        unsaved = " · unsaved changes" if self.dirty and self.base_version else ""
        self.query_one("#crumbs", Static).update(
            Text(f"Segments › {visible(name, 60)}{version}{unsaved}")
        )

    def _show_warning(self) -> None:
        warning = self.query_one("#warning", Static)
        if not self.schedules:
            warning.set_class(True, "-none")
            return
        from srm_tui.segments.schedules import format_every

        items = []
        for s in self.schedules:
            when = (
                f"every {format_every(s['every_seconds'])}"
                if s["every_seconds"]
                else "at " + ", ".join(json.loads(s["at_times"] or "[]"))
            )
            items.append(f"schedule {s['id']} ({s['format']} {when})")
        warning.update(
            f"⚠ Used by {', '.join(items)}: once saved, your changes are what "
            "the next export holds."
        )
        warning.set_class(False, "-none")

    def _error(self, which: str, message: str) -> None:
        """An inline message naming the fault (an empty one hides the line)."""
        line = self.query_one(f"#{which}", Static)
        line.update(Text(message))
        line.set_class(not message, "-empty")

    def _show_tree(self, cursor: ed.Path | None = None) -> None:
        self.query_one(ConditionTree).show(ed.rows(self.where), cursor)

    def _set_text(self) -> None:
        text = format_tree(self.where)
        self._text_shown = text
        box = self.query_one("#text", Input)
        if box.value != text:
            box.value = text
        self._error("text-error", "")

    def _apply(self, tree: Node, cursor: ed.Path | None = None, *, from_text: bool = False) -> None:
        """A new tree: remember the old one for undo, show it, count it."""
        if tree == self.where:
            return
        self.undo.append(self.where)
        del self.undo[:-100]
        self.redo.clear()
        self.where = tree
        self._after_change(cursor, from_text=from_text)

    def _after_change(self, cursor: ed.Path | None, *, from_text: bool = False) -> None:
        self._show_tree(cursor)
        if not from_text:
            self._set_text()
        self._leave_armed = False
        self._crumbs()
        self.recount()

    # header -----------------------------------------------------------------------------------

    @on(Input.Changed, "#name")
    @on(Input.Changed, "#tags")
    def _header_typed(self) -> None:
        self._error("header-error", "")
        self._leave_armed = False
        self._crumbs()

    @on(ChoiceField.Changed, "#selector")
    def _selector_changed(self, event: ChoiceField.Changed) -> None:
        self.selector = event.value
        self._crumbs()
        self.recount()

    # the tree ---------------------------------------------------------------------------------

    @on(ConditionTree.Edit)
    def _tree_key(self, event: ConditionTree.Edit) -> None:
        what, path = event.what, event.path
        try:
            if what in ("add", "edit"):
                self._edit_condition(what, path)
            elif what == "group":
                self._apply(*ed.add_group(self.where, path, "any"))
            elif what == "wrap":
                self._apply(*ed.wrap(self.where, path, "any"))
            elif what == "toggle":
                self._apply(ed.toggle_kind(self.where, path), path)
            elif what == "negate":
                self._apply(ed.negate(self.where, path), path)
            elif what == "delete":
                self._apply(*ed.delete(self.where, path))
            elif what in ("up", "down"):
                self._apply(*ed.move(self.where, path, -1 if what == "up" else 1))
            elif what == "indent":
                self._apply(*ed.indent(self.where, path))
            elif what == "outdent":
                self._apply(*ed.outdent(self.where, path))
            elif what == "undo":
                self._step(self.undo, self.redo, "nothing to undo")
            elif what == "redo":
                self._step(self.redo, self.undo, "nothing to redo")
        except ed.EditError as exc:
            self.notify(str(exc), severity="warning")

    def _step(self, source: list[Node], target: list[Node], empty: str) -> None:
        if not source:
            self.notify(empty, severity="warning")
            return
        target.append(self.where)
        self.where = source.pop()
        self._after_change(self.query_one(ConditionTree).path)

    def _edit_condition(self, what: str, path: ed.Path) -> None:
        from srm_tui.screens.segment_condition import ConditionScreen

        node = ed.get(self.where, path)
        inner_path = path + (0,) if isinstance(node, Not) else path
        current = ed.get(self.where, inner_path)
        editing = what == "edit" and isinstance(current, Condition)

        def done(condition: Condition | None) -> None:
            if condition is None:
                return
            if editing:
                self._apply(ed.replace(self.where, inner_path, condition), path)
            else:
                self._apply(*ed.insert(self.where, path, condition))

        self.app.push_screen(
            ConditionScreen(
                current if editing else None,
                now=self.app.settings.now_ts(),
                custom=self.custom_keys,
                currency=self.app.settings.currency,
            ),
            done,
        )

    # the text form ----------------------------------------------------------------------------

    @on(Input.Changed, "#text")
    def _text_typed(self, event: Input.Changed) -> None:
        if event.value == self._text_shown:
            return
        if self._text_timer:
            self._text_timer.stop()
        value = event.value
        self._text_timer = self.set_timer(TEXT_DELAY, lambda: self._read_text(value))

    @on(Input.Submitted, "#text")
    def _text_entered(self, event: Input.Submitted) -> None:
        if self._text_timer:
            self._text_timer.stop()
        if self._read_text(event.value):
            self._set_text()
            self.query_one(ConditionTree).focus()

    def _read_text(self, text: str) -> bool:
        """Apply the text form when it reads as a valid tree; else say where it is wrong."""
        if not text.strip():
            tree: Node = All()
        else:
            try:
                tree = ed.root_group(parse_tree(text))
            except TextFormError as exc:
                self._error("text-error", f"⚠ text, column {exc.position + 1}: {exc.message}")
                return False
        faults = validate_segment(Segment(where=tree, selector=self.selector))
        if faults:
            self._error("text-error", f"⚠ {faults[0]}")
            return False
        self._error("text-error", "")
        self._apply(tree, None, from_text=True)
        self._text_shown = self.query_one("#text", Input).value
        return True

    def action_focus_text(self) -> None:
        self.query_one("#text", Input).focus()

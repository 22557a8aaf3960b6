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
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, Static

from srm_tui.bindings import bindings
from srm_tui.domain.text import count, visible
from srm_tui.screens.workers import work
from srm_tui.segments import editing as ed
from srm_tui.segments import store
from srm_tui.segments.catalog import SELECTORS
from srm_tui.segments.compile import compile_segment
from srm_tui.segments.model import All, Condition, Node, Not, Segment
from srm_tui.segments.textform import TextFormError, format_tree, parse_tree
from srm_tui.segments.validate import validate_segment
from srm_tui.widgets.choice import ChoiceField
from srm_tui.widgets.condition_tree import ConditionTree
from srm_tui.widgets.customer_table import CustomerTable
from srm_tui.widgets.footer import Footer
from srm_tui.widgets.member_list import MemberPages
from srm_tui.widgets.status_line import StatusLine

TEXT_DELAY = 0.3
EXPLAIN_DELAY = 0.2
NARROW = 110
SELECTOR_HELP = {
    "latest": "the latest subscription",
    "longest": "the longest subscription",
    "highest_revenue": "the highest-revenue subscription",
    "any": "any of the subscriptions",
}


def list_columns(app: Any) -> tuple[str, ...]:
    """The customer list's columns as the agent chose them (Customers › c), for members."""
    from srm_tui.screens.customers import COLUMNS_META
    from srm_tui.widgets.customer_table import COLUMNS, DEFAULT_COLUMNS

    saved = app.cache.get_meta(COLUMNS_META)
    if saved:
        try:
            chosen = tuple(c for c in json.loads(saved) if c in COLUMNS)
        except ValueError:
            chosen = ()
        if chosen:
            return chosen
    return DEFAULT_COLUMNS


def freshness(app: Any) -> str:
    """How fresh the cache is, as the status line says it ("synced 4 min ago")."""
    from srm_tui.app import _ago

    last = app.cache.get_meta("last_sync_at")
    return "cache " + _ago(int(last) if last else None, app.settings.now_ts())


def parse_tags(text: str) -> tuple[str, ...]:
    seen: list[str] = []
    for tag in (t.strip() for t in text.split(",")):
        if tag and tag.casefold() not in {s.casefold() for s in seen}:
            seen.append(tag)
    return tuple(seen)


class SegmentBuilderScreen(Screen):
    """Build, count, save and explain one dynamic segment."""

    BINDINGS = bindings("segment_builder")
    DEFAULT_CSS = """
    SegmentBuilderScreen #crumbs { height: 1; padding: 0 1; background: $panel; }
    SegmentBuilderScreen #warning { height: auto; padding: 0 1; color: $warning; }
    SegmentBuilderScreen #warning.-none { display: none; }
    SegmentBuilderScreen #header { height: 1; margin: 0 1; }
    SegmentBuilderScreen #header Static.label { width: auto; padding: 0 1 0 0; }
    SegmentBuilderScreen #header Input { height: 1; border: none; padding: 0 1;
                                         background: $boost; margin-right: 1; }
    SegmentBuilderScreen #header Input:focus { background: $accent 30%; }
    SegmentBuilderScreen #name { width: 2fr; }
    SegmentBuilderScreen #tags { width: 1fr; }
    SegmentBuilderScreen .error { height: auto; padding: 0 1; color: $error; }
    SegmentBuilderScreen .error.-empty { display: none; }
    SegmentBuilderScreen #main { height: 1fr; layout: horizontal; }
    SegmentBuilderScreen #left { width: 2fr; height: 1fr; }
    SegmentBuilderScreen #right { width: 3fr; height: 1fr; }
    SegmentBuilderScreen.-narrow #main { layout: vertical; }
    SegmentBuilderScreen.-narrow #left { width: 100%; height: 1fr; min-height: 5; }
    SegmentBuilderScreen.-narrow #right { width: 100%; height: 1fr; }
    SegmentBuilderScreen #text { height: 1; border: none; padding: 0 1; margin: 0 1;
                                 background: $boost; }
    SegmentBuilderScreen #text:focus { background: $accent 30%; }
    SegmentBuilderScreen #count { height: 1; padding: 0 1; text-style: bold; }
    SegmentBuilderScreen #member-head { height: 1; padding: 0 1; text-style: bold; }
    SegmentBuilderScreen #members { padding: 0 1; height: 1fr; min-height: 3; }
    SegmentBuilderScreen #explain-box { height: 12; border-top: solid $panel; padding: 0 1; }
    SegmentBuilderScreen.-narrow #explain-box { height: 4; }
    """

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
                yield Static("", id="member-head", markup=False)
                yield CustomerTable(
                    lambda o, n: [], 0, columns=list_columns(self.app), id="members"
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
            self.schedules = store.schedules_using(self.app.cache.conn(), self.segment_id)
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

    @work(thread=True, group="custom-keys", exit_on_error=False)
    def _load_custom_keys(self) -> None:
        from srm_tui.segments.values import custom_keys

        try:
            keys = self.app.segment_runner().call(custom_keys)
        except Exception:
            keys = []
        self.app.call_from_thread(setattr, self, "custom_keys", keys)

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

    # counting ---------------------------------------------------------------------------------

    def recount(self) -> None:
        """Count the current tree (after the count in flight, if any: newest wins)."""
        self.seq += 1
        if getattr(self, "_asked", None) is not None:  # the asked customer, against this tree
            self._explain_worker(
                self._asked, Segment(where=self.where, selector=self.selector), self.seq
            )
        faults = validate_segment(Segment(where=self.where, selector=self.selector))
        if faults:
            self.query_one("#count", Static).update(Text(f"— not counted: {faults[0]}"))
            self.pages.reset(None, 0)  # type: ignore[union-attr]
            return
        if self._counting:
            return  # the running count's answer starts the next one
        self._count(Segment(where=self.where, selector=self.selector))

    def _count(self, segment: Segment) -> None:
        self._counting = True
        before = f"was {self.count_result.customers:,} · " if self.count_result else ""
        self.query_one("#count", Static).update(Text(f"counting… {before}{freshness(self.app)}"))
        self._count_worker(segment)

    @work(thread=True, group="segment-count", exit_on_error=False)
    def _count_worker(self, segment: Segment) -> None:
        try:
            outcome: Any = self.app.segment_runner().count(segment, self.app.settings.now_ts())
        except Exception as exc:  # said on the count line; the screen stays usable
            outcome = exc
        self.app.call_from_thread(self._counted, segment, outcome)

    def _counted(self, segment: Segment, outcome: Any) -> None:
        self._counting = False
        current = Segment(where=self.where, selector=self.selector)
        if (segment.where, segment.selector) != (current.where, current.selector):
            # The tree changed meanwhile: drop this answer, count the newest tree.
            if not validate_segment(current):
                self._count(current)
            return
        if isinstance(outcome, Exception):
            self.query_one("#count", Static).update(Text(f"⚠ count failed: {outcome}"))
            return
        key = (segment.where, segment.selector)
        if not (outcome.cached and key == self._counted_key):
            self.count_ms = outcome.elapsed_ms  # a repeat of the shown count keeps its time
        self.remembered = outcome.cached and key != self._counted_key
        self._counted_key = key
        self.count_result = outcome
        self._show_count()
        now = self.app.settings.now_ts()
        self.pages.reset(compile_segment(segment, now), outcome.customers)  # type: ignore
        self._member_head()
        if self.segment_id is not None and not self.dirty:
            store.record_run(
                self.app.cache.conn(), self.segment_id, outcome.customers, outcome.elapsed_ms, now
            )

    def _show_count(self) -> None:
        r = self.count_result
        if r is None:
            return
        how = "remembered" if self.remembered else f"{self.count_ms:,.0f} ms"
        self.query_one("#count", Static).update(
            Text(
                f"{r.customers:,} customer{'s' if r.customers != 1 else ''} · {how} · "
                f"{freshness(self.app)}"
            )
        )

    def _member_head(self) -> None:
        table = self.query_one("#members", CustomerTable)
        self.query_one("#member-head", Static).update(table.header_text())

    # members and explain ----------------------------------------------------------------------

    def on_customer_table_opened(self, message: CustomerTable.Opened) -> None:
        self.app.open_customer(message.customer_id)

    def members_loaded(self, page: int) -> None:
        """The first page of a new count arrived: explain its first member."""
        if page == 0 and getattr(self, "_asked", None) is None:
            self._member_moved()

    def _cursor_moved(self) -> None:
        if self.query_one("#members", CustomerTable).has_focus:
            self._asked = None  # the agent moved on from the customer asked about (ctrl+n)
        self._member_moved()

    def _member_moved(self) -> None:
        if self._explain_timer:
            self._explain_timer.stop()
        self._explain_timer = self.set_timer(EXPLAIN_DELAY, self._explain_highlighted)

    def _explain_highlighted(self) -> None:
        row = self.query_one("#members", CustomerTable).selected()
        if row is None or getattr(self, "_asked", None) is not None:
            return
        self._explain_worker(
            int(row["id"]), Segment(where=self.where, selector=self.selector), self.seq
        )

    def action_why(self) -> None:
        """Why a customer the agent names is in the segment, or why not."""
        from srm_tui.screens.segment_dialogs import PromptScreen

        conn = self.app.cache.conn()

        def customer(text: str) -> int | None:
            if text.isdigit():
                row = conn.execute("SELECT id FROM customers WHERE id = ?", (int(text),))
            else:
                row = conn.execute(
                    "SELECT id FROM customers WHERE email = ? COLLATE NOCASE", (text,)
                )
            found = row.fetchone()
            return int(found[0]) if found else None

        def check(text: str) -> str | None:
            if not text:
                return "type a customer id or email"
            return (
                None if customer(text) is not None else f"no cached customer {visible(text, 60)!r}"
            )

        def chosen(text: str | None) -> None:
            cid = customer(text) if text else None
            if cid is not None:
                self._asked = cid  # kept until a member is highlighted again
                if self._explain_timer:
                    self._explain_timer.stop()
                self.query_one("#explain", Static).update(Text(f"explaining {cid}…"))
                self._explain_worker(
                    cid, Segment(where=self.where, selector=self.selector), self.seq
                )

        self.app.push_screen(
            PromptScreen(
                "Why is this customer in or out? Customer id or email, then enter",
                "1042 or a@b.com",
                check,
            ),
            chosen,
        )

    @work(thread=True, exclusive=True, group="segment-explain", exit_on_error=False)
    def _explain_worker(self, customer_id: int, segment: Segment, seq: int) -> None:
        try:
            outcome: Any = self.app.segment_runner().explain(
                segment, customer_id, self.app.settings.now_ts()
            )
        except Exception as exc:
            outcome = exc
        self.app.call_from_thread(self._explained, seq, outcome)

    def _explained(self, seq: int, outcome: Any) -> None:
        if seq != self.seq:
            return
        text = f"⚠ {outcome}" if isinstance(outcome, Exception) else outcome.text()
        self.query_one("#explain", Static).update(Text(text))

    # saving -----------------------------------------------------------------------------------

    def action_save(self) -> None:
        if self.app.settings.role == "viewer":
            self.notify("The viewer role is read only: segments are not saved.", severity="warning")
            return
        segment = self.segment
        header = store.check_header(self.app.cache.conn(), segment, self.segment_id)
        if header:
            self._error("header-error", f"⚠ {header[0]}")
            self.query_one("#name" if header[0].path == "name" else "#tags", Input).focus()
            return
        faults = validate_segment(segment)
        if faults:
            self._error("text-error", f"⚠ {faults[0]}")
            return
        self.query_one("#count", Static).update(Text("comparing with the saved version…"))
        self._preview_worker(segment)

    @work(thread=True, exclusive=True, group="segment-save", exit_on_error=False)
    def _preview_worker(self, segment: Segment) -> None:
        now = self.app.settings.now_ts()
        try:
            outcome: Any = self.app.segment_runner().call(
                lambda conn: store.preview_save(conn, segment, now, self.segment_id)
            )
        except Exception as exc:
            outcome = exc
        self.app.call_from_thread(self._confirm_save, segment, outcome)

    def _confirm_save(self, segment: Segment, outcome: Any) -> None:
        from srm_tui.screens.segment_dialogs import SaveScreen

        self._show_count()
        if isinstance(outcome, Exception):
            self.notify(f"Cannot save: {outcome}", severity="error")
            return

        def confirmed(ok: bool | None) -> None:
            if ok:
                self._save_worker(segment)

        self.app.push_screen(
            SaveScreen(segment, outcome, self.schedules, self.base_version), confirmed
        )

    @work(thread=True, exclusive=True, group="segment-save", exit_on_error=False)
    def _save_worker(self, segment: Segment) -> None:
        settings = self.app.settings
        try:
            outcome: Any = self.app.segment_runner().call(
                lambda conn: store.save(
                    conn,
                    segment,
                    now=settings.now_ts(),
                    agent=settings.agent,
                    segment_id=self.segment_id,
                    expect_version=self.base_version,
                )
            )
            saved = self.app.segment_runner().call(
                lambda conn: store.get_saved(conn, " ".join(segment.name.split()))
            )
        except Exception as exc:
            outcome, saved = exc, None
        self.app.call_from_thread(self._saved, outcome, saved)

    def _saved(self, change: Any, saved: store.Saved | None) -> None:
        if isinstance(change, Exception) or saved is None:
            message = change.faults[0] if getattr(change, "faults", None) else change
            self.notify(f"Not saved: {message}", severity="error", timeout=8)
            return
        self.segment_id = saved.id
        self.base_version = saved.version
        self.saved_definition = saved.segment
        self.query_one("#name", Input).value = saved.name
        self._crumbs()
        self.notify(
            f"Saved {saved.name} v{change.version}: {count(change.members, 'customer')} "
            f"(+{change.gained:,} −{change.lost:,})"
        )

    # elsewhere --------------------------------------------------------------------------------

    def action_overview(self) -> None:
        from srm_tui.screens.segment_overview import OverviewScreen

        segment = self.segment
        if validate_segment(segment):
            self.notify("Fix the conditions first.", severity="warning")
            return
        now = self.app.settings.now_ts()

        def chosen(node: Node | None) -> None:
            if node is not None:
                self._apply(*ed.add_slice(self.where, node))

        self.app.push_screen(
            OverviewScreen(segment.name or "this segment", compile_segment(segment, now)), chosen
        )

    def action_export(self) -> None:
        from srm_tui.screens.segment_dialogs import ExportScreen

        segment = self.segment
        if validate_segment(segment):
            self.notify("Fix the conditions first.", severity="warning")
            return
        saved = None
        if self.segment_id is not None and not self.dirty:
            saved = store.get_saved(self.app.cache.conn(), self.segment_id)
        self.app.push_screen(ExportScreen(segment, saved=saved))

    def action_history(self) -> None:
        from srm_tui.screens.segment_history import HistoryScreen

        if self.segment_id is None:
            self.notify("Not saved yet: no versions to show (ctrl+s saves).", severity="warning")
            return

        def restore(segment: Segment | None) -> None:
            if segment is None:
                return
            self.query_one("#name", Input).value = segment.name
            self.query_one("#tags", Input).value = ", ".join(segment.tags)
            self.selector = segment.selector
            self.query_one("#selector", ChoiceField).set(segment.selector)
            self._apply(ed.root_group(segment.where), ())
            self.notify("That version is open: ctrl+s saves it as the newest.")

        self.app.push_screen(HistoryScreen(self.segment_id), restore)

    def action_back(self) -> None:
        if self.dirty and not self._leave_armed:
            self._leave_armed = True
            self.notify(
                "Unsaved changes: esc again leaves without saving, ctrl+s saves.",
                severity="warning",
            )
            return
        self.app.pop_screen()

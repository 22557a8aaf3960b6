"""The segment builder's background work: counting the tree, paging its members, explaining
one customer, saving, and opening the overview, export and versions. Each worker posts its answer to the screen as a message; an answer
for an older tree is never shown. Kept apart from the tree editing (segment_builder.py) so
each file reads on its own; ``BuilderWork`` is mixed into ``SegmentBuilderScreen`` only.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.message import Message
from textual.widgets import Input, Static

from srm_tui.domain.text import count, visible
from srm_tui.screens.segment_common import freshness
from srm_tui.screens.workers import work
from srm_tui.segments import editing as ed
from srm_tui.segments import store
from srm_tui.segments.compile import compile_segment
from srm_tui.segments.model import Node, Segment
from srm_tui.segments.validate import validate_segment
from srm_tui.widgets.choice import ChoiceField
from srm_tui.widgets.customer_table import CustomerTable
from srm_tui.widgets.member_list import MemberPages

EXPLAIN_DELAY = 0.2


class BuilderWork:
    """Counting, members, explain, saving and the screens opened from ``SegmentBuilderScreen``."""

    # These come from the screen the class is mixed into.
    app: Any
    where: Any
    selector: str
    seq: int
    _asked: int | None = None

    # counting ---------------------------------------------------------------------------------

    def recount(self) -> None:
        """Count the current tree (after the count in flight, if any: newest wins)."""
        self.seq += 1
        if self._asked is not None:  # the asked customer, against this tree
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

    class Counted(Message):
        """A count ran for ``segment``: its outcome, or the error that stopped it."""

        def __init__(self, segment: Segment, outcome: Any) -> None:
            super().__init__()
            self.segment = segment
            self.outcome = outcome

    @work(thread=True, group="segment-count")
    def _count_worker(self, segment: Segment) -> None:
        try:
            outcome: Any = self.app.session.segments.count(segment, self.app.settings.now_ts())
        except Exception as exc:  # said on the count line; the screen stays usable
            outcome = exc
        self.post_message(self.Counted(segment, outcome))

    def on_builder_work_counted(self, message: Counted) -> None:
        self._counted(message.segment, message.outcome)

    def _counted(self, segment: Segment, outcome: Any) -> None:
        """Show a count's answer, unless the tree changed meanwhile (then count the newest)."""
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
        if self.segment_id is not None and not self.dirty:
            self.app.session.segment_store.record_run(
                self.segment_id, outcome.customers, outcome.elapsed_ms, now
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

    # members and explain ----------------------------------------------------------------------

    def on_customer_table_opened(self, message: CustomerTable.Opened) -> None:
        self.app.open_customer(message.customer_id)

    def on_member_pages_page_read(self, message: MemberPages.PageRead) -> None:
        if self.pages is not None:
            self.pages.arrived(message)

    def on_member_pages_loaded(self, message: MemberPages.Loaded) -> None:
        """The first page of a new count arrived: explain its first member."""
        if message.page == 0 and self._asked is None:
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
        if row is None or self._asked is not None:
            return
        self._explain_worker(
            int(row["id"]), Segment(where=self.where, selector=self.selector), self.seq
        )

    def action_why(self) -> None:
        """Why a customer the agent names is in the segment, or why not."""
        from srm_tui.screens.segment_dialogs import PromptScreen

        customer = self.app.session.segment_reads.customer_id

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

    class Explained(Message):
        """Why a customer is in or out, for the tree of change ``seq`` (or an error)."""

        def __init__(self, seq: int, outcome: Any) -> None:
            super().__init__()
            self.seq = seq
            self.outcome = outcome

    @work(thread=True, exclusive=True, group="segment-explain")
    def _explain_worker(self, customer_id: int, segment: Segment, seq: int) -> None:
        try:
            outcome: Any = self.app.session.segments.explain(
                segment, customer_id, self.app.settings.now_ts()
            )
        except Exception as exc:  # said in the explain box
            outcome = exc
        self.post_message(self.Explained(seq, outcome))

    def on_builder_work_explained(self, message: Explained) -> None:
        seq, outcome = message.seq, message.outcome
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
        header = self.app.session.segment_store.check_header(segment, self.segment_id)
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

    class Previewed(Message):
        """What saving ``segment`` would change (or why it cannot be compared)."""

        def __init__(self, segment: Segment, outcome: Any) -> None:
            super().__init__()
            self.segment = segment
            self.outcome = outcome

    @work(thread=True, exclusive=True, group="segment-save")
    def _preview_worker(self, segment: Segment) -> None:
        now = self.app.settings.now_ts()
        try:
            outcome: Any = self.app.session.segments.call(
                lambda conn: store.preview_save(conn, segment, now, self.segment_id)
            )
        except Exception as exc:  # said in a notice; nothing saved
            outcome = exc
        self.post_message(self.Previewed(segment, outcome))

    def on_builder_work_previewed(self, message: Previewed) -> None:
        from srm_tui.screens.segment_dialogs import SaveScreen

        segment, outcome = message.segment, message.outcome

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

    class Stored(Message):
        """A save ran: the change and the segment as saved, or the error (saved None)."""

        def __init__(self, change: Any, saved: store.Saved | None) -> None:
            super().__init__()
            self.change = change
            self.saved = saved

    @work(thread=True, exclusive=True, group="segment-save")
    def _save_worker(self, segment: Segment) -> None:
        settings = self.app.settings
        try:
            outcome: Any = self.app.session.segments.call(
                lambda conn: store.save(
                    conn,
                    segment,
                    now=settings.now_ts(),
                    agent=settings.agent,
                    segment_id=self.segment_id,
                    expect_version=self.base_version,
                )
            )
            saved = self.app.session.segments.call(
                lambda conn: store.get_saved(conn, " ".join(segment.name.split()))
            )
        except Exception as exc:  # said in a notice; the tree stays
            outcome, saved = exc, None
        self.post_message(self.Stored(outcome, saved))

    def on_builder_work_stored(self, message: Stored) -> None:
        change, saved = message.change, message.saved
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
        from srm_tui.screens.segment_export import ExportScreen

        segment = self.segment
        if validate_segment(segment):
            self.notify("Fix the conditions first.", severity="warning")
            return
        saved = None
        if self.segment_id is not None and not self.dirty:
            saved = self.app.session.segment_store.get_saved(self.segment_id)
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

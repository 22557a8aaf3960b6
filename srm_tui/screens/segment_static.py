"""Segments › a static segment: customers chosen by hand (a adds by id or email, x takes
the highlighted one out; a customer's screen adds with m). Each change is a version."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Input, Static

from srm_tui.bindings import bindings
from srm_tui.domain.text import count, visible
from srm_tui.screens.segment_common import freshness, list_columns, parse_tags
from srm_tui.segments import store
from srm_tui.segments.model import Segment
from srm_tui.widgets.customer_table import ColumnHeadings, CustomerTable
from srm_tui.widgets.footer import Footer
from srm_tui.widgets.member_list import MemberPages
from srm_tui.widgets.status_line import StatusLine


class StaticSegmentScreen(Screen):
    BINDINGS = bindings("segment_builder") + bindings("static_segment")

    def __init__(self, saved: store.Saved) -> None:
        super().__init__()
        self.saved = saved
        self.pages: MemberPages | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="crumbs", markup=False)
        yield Static("", id="warning", markup=False)
        with Horizontal(id="header"):
            yield Static("Name", markup=False)
            yield Input(value=self.saved.name, id="name")
            yield Static("Tags", markup=False)
            yield Input(value=", ".join(self.saved.tags), id="tags")
        yield Static("", id="header-error", classes="error", markup=False)
        headings = ColumnHeadings(id="member-head")
        yield headings
        yield CustomerTable(
            lambda o, n: [], 0, columns=list_columns(self.app), headings=headings, id="members"
        )
        yield Static(
            "a adds a customer (id or email) · x takes the highlighted one out · enter opens it",
            id="hint",
            markup=False,
        )
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(CustomerTable)
        self.pages = MemberPages(self, table)
        schedules = self.app.session.segment_store.schedules_using(self.saved.id)
        self.query_one("#warning", Static).update(
            f"⚠ Used by schedule {', '.join(str(s['id']) for s in schedules)}: changes here "
            "are what its next export holds."
            if schedules
            else ""
        )
        self._reload()
        table.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return action != "focus_text"

    def _reload(self) -> None:
        session = self.app.session
        self.saved = session.segment_store.get_saved(self.saved.id)
        population = store.population(self.saved, self.app.settings.now_ts())
        count = session.segment_reads.population_size(population)
        self.query_one("#crumbs", Static).update(
            Text(
                f"Segments › {visible(self.saved.name, 60)} · static · v{self.saved.version} · "
                f"{count:,} customer{'' if count == 1 else 's'} · {freshness(self.app)}"
            )
        )
        self.pages.reset(population, count)  # type: ignore[union-attr]

    def on_member_pages_page_read(self, message: MemberPages.PageRead) -> None:
        if self.pages is not None:
            self.pages.arrived(message)

    def on_customer_table_opened(self, message: CustomerTable.Opened) -> None:
        self.app.open_customer(message.customer_id)

    def _read_only(self) -> bool:
        if self.app.settings.role == "viewer":
            self.notify("The viewer role is read only.", severity="warning")
            return True
        return False

    def action_add_member(self) -> None:
        from srm_tui.screens.segment_dialogs import PromptScreen

        if self._read_only():
            return
        reads = self.app.session.segment_reads
        found: dict[str, int] = {}

        def check(text: str) -> str | None:
            if not text:
                return "type a customer id or a whole email"
            lookup = reads.find_exact(text)
            if lookup.customer_id is None:
                return lookup.problem
            found[text] = lookup.customer_id
            return None

        def chosen(text: str | None) -> None:
            if text:
                self._change(add=[found[text]])

        self.app.push_screen(PromptScreen("Add a customer (id or whole email)", "", check), chosen)

    def action_remove_member(self) -> None:
        if self._read_only():
            return
        row = self.query_one(CustomerTable).selected()
        if row is not None:
            self._change(remove=[int(row["id"])])

    def _change(self, **what: Any) -> None:
        settings = self.app.settings
        try:
            change = self.app.session.segment_store.change_members(
                self.saved.id,
                now=settings.now_ts(),
                agent=settings.agent,
                **what,
            )
        except store.SegmentError as exc:
            self.notify(str(exc.faults[0]), severity="warning")
            return
        if change is None:
            self.notify("No change: already so.")
            return
        self.notify(
            f"v{change.version}: +{change.gained} −{change.lost}, "
            f"{count(change.members, 'customer')}"
        )
        self._reload()

    def action_save(self) -> None:
        if self._read_only():
            return
        segment = Segment(
            name=self.query_one("#name", Input).value.strip(),
            tags=parse_tags(self.query_one("#tags", Input).value),
        )
        segments = self.app.session.segment_store
        faults = segments.check_header(segment, self.saved.id)
        if faults:
            self.query_one("#header-error", Static).update(Text(f"⚠ {faults[0]}"))
            return
        self.query_one("#header-error", Static).update("")
        try:
            change = segments.save(
                segment,
                now=self.app.settings.now_ts(),
                agent=self.app.settings.agent,
                segment_id=self.saved.id,
                kind="static",
                expect_version=self.saved.version,
            )
        except store.SegmentError as exc:  # saved meanwhile (elsewhere, or a second ctrl+s)
            self.query_one("#header-error", Static).update(Text(f"⚠ {exc.faults[0]}"))
            return
        self.notify(f"Saved {segment.name} v{change.version}")
        self._reload()

    @on(Input.Submitted)
    def _entered(self) -> None:
        self.action_save()

    def action_overview(self) -> None:
        from srm_tui.screens.segment_builder import SegmentBuilderScreen
        from srm_tui.screens.segment_overview import OverviewScreen
        from srm_tui.segments.model import All

        population = store.population(self.saved, self.app.settings.now_ts())

        def chosen(node) -> None:
            if node is not None:
                self.app.push_screen(SegmentBuilderScreen(segment=Segment(where=All((node,)))))

        self.app.push_screen(OverviewScreen(self.saved.name, population), chosen)

    def action_export(self) -> None:
        from srm_tui.screens.segment_export import ExportScreen

        self.app.push_screen(ExportScreen(self.saved.segment or Segment(), saved=self.saved))

    def action_history(self) -> None:
        from srm_tui.screens.segment_history import HistoryScreen

        self.app.push_screen(HistoryScreen(self.saved.id))

    def action_back(self) -> None:
        self.app.pop_screen()

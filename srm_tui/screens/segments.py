"""Segments (F3): the saved segments with tags, member counts and last run, and the cache's
MRR, lifetime value and churn; new, open, overview, versions, export and schedules from here.

Over 400 lines: one screen's list, its headline and the keys that open the segment screens;
the list keeps the rows it already shows (fit.fill's equal-rows rule applied to its own fill).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from srm_tui.bindings import bindings
from srm_tui.domain.text import count, visible
from srm_tui.domain.time import utc
from srm_tui.screens.workers import work
from srm_tui.segments import store
from srm_tui.segments.model import All, Node, Segment
from srm_tui.widgets.footer import Footer
from srm_tui.widgets.status_line import StatusLine


class SegmentsScreen(Screen):
    BINDINGS = bindings("segments")

    def __init__(self) -> None:
        super().__init__()
        self.items: list[store.Saved] = []
        self.needle = ""
        self._filled: tuple | None = None  # the rows the table shows, and its update count

    def compose(self) -> ComposeResult:
        yield Static("", id="crumbs", markup=False)
        yield Static("cache: counting…", id="cache", markup=False)
        yield Input(placeholder="filter by name or tag (tag:ux for tags only)", id="filter")
        yield DataTable(id="list", cursor_type="row", zebra_stripes=True)
        yield Static("", id="detail", markup=False)
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Name", "Kind", "Tags", "Members", "Last run", "Ver", "Sched")
        self.action_reload()
        table.focus()
        self._cache_metrics()

    def on_screen_resume(self) -> None:
        self.action_reload()

    def action_reload(self) -> None:
        self.items = self.app.session.segment_store.list_saved()
        self._fill()

    def _shown(self) -> list[store.Saved]:
        """Every word must match: ``tag:ux`` a tag, any other word the name or a tag."""
        words = self.needle.casefold().split()
        if not words:
            return self.items

        def fits(s: store.Saved, word: str) -> bool:
            tags = [t.casefold() for t in s.tags]
            if word.startswith(("tag:", "tags:")):
                want = word.split(":", 1)[1]
                return any(want in t for t in tags) if want else bool(tags)
            return word in s.name.casefold() or any(word in t for t in tags)

        return [s for s in self.items if all(fits(s, w) for w in words)]

    def _fill(self) -> None:
        table = self.query_one(DataTable)
        shown = self._shown()
        rows = [
            (
                str(s.id),
                visible(s.name, 48),
                s.kind if not s.problem else "unreadable",
                visible(", ".join(s.tags), 30),
                f"{s.last_count:,}" if s.last_count is not None else "?",
                utc(s.last_run_at, missing="never"),
                f"v{s.version}",
                str(s.schedules or ""),
            )
            for s in shown
        ]
        # A resume that finds the same segments leaves the table (and its paint) as it is.
        if self._filled != (rows, table._update_count) or table.row_count != len(rows):
            keep = table.cursor_row
            table.clear()
            for key, name, kind, tags, count, last, version, schedules in rows:
                table.add_row(
                    Text(name),
                    kind,
                    Text(tags),
                    Text(count, justify="right"),
                    last,
                    version,
                    schedules,
                    key=key,
                )
            if shown:
                table.move_cursor(row=min(keep, len(shown) - 1))
            self._filled = (rows, table._update_count)
        tags = sorted({t for s in self.items for t in s.tags}, key=str.casefold)
        filtered = f" · showing {len(shown)} matching {self.needle!r}" if self.needle else ""
        self.query_one("#crumbs", Static).update(
            Text(
                f"Segments › {len(self.items)} saved"
                + (f" · tags: {', '.join(tags[:8])}" if tags else "")
                + filtered
            )
        )
        self._detail()

    def _selected(self) -> store.Saved | None:
        shown = self._shown()
        table = self.query_one(DataTable)
        if not shown:
            return None
        return shown[min(table.cursor_row, len(shown) - 1)]

    @on(DataTable.RowHighlighted)
    def _detail(self) -> None:
        from srm_tui.segments.textform import format_tree

        s = self._selected()
        detail = self.query_one("#detail", Static)
        if s is None:
            detail.update(
                "No saved segment yet: n builds one, N makes a static list, "
                "O shows the whole cache."
            )
            return
        if s.problem:
            detail.update(Text(f"⚠ {s.problem}"))
        elif s.static:
            detail.update(Text(f"static: {count(s.members, 'customer')} chosen by hand"))
        else:
            detail.update(Text(visible(format_tree(s.segment.where), 400)))  # type: ignore

    # the cache ---------------------------------------------------------------------------------

    class CacheCounted(Message):
        """The whole cache's overview: (overview, reported) or the error that stopped it."""

        def __init__(self, result: Any) -> None:
            super().__init__()
            self.result = result

    @work(thread=True, exclusive=True, group="segments-cache")
    def _cache_metrics(self) -> None:
        from srm_tui.segments.compile import compile_segment

        now = self.app.settings.now_ts()
        try:
            runner = self.app.session.segments
            result: Any = runner.overview(compile_segment(Segment(), now), now)
            result = (result, result.reported(runner.rates(), self.app.settings.currency))
        except Exception as exc:
            result = exc
        self.post_message(self.CacheCounted(result))

    def on_segments_screen_cache_counted(self, message: CacheCounted) -> None:
        from srm_tui.screens.segment_common import freshness

        result = message.result
        box = self.query_one("#cache", Static)
        if isinstance(result, Exception):
            box.update(Text(f"cache: ⚠ {result}"))
            return
        result, reported = result
        rate = "—" if result.churn_rate is None else f"{result.churn_rate:.1%}"
        box.update(
            Text(
                f"cache: {count(result.customers, 'customer')} · {reported.headline()} · "
                f"churn (30 d) {rate} · "
                f"{freshness(self.app)}"
            )
        )

    # keys --------------------------------------------------------------------------------------

    def action_cursor(self, step: int) -> None:
        table = self.query_one(DataTable)
        table.move_cursor(row=table.cursor_row + step)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "focus_filter" and self.focused is self.query_one("#filter", Input):
            return False  # "/" typed in the box is text
        if action in ("bulk", "bulk_runs") and self.app.settings.role == "viewer":
            return False  # viewers see none of bulk actions
        return True

    def action_focus_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("-shown")
        # At once, not deferred: letters typed right after "/" belong to the box.
        self.set_focus(box)

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.value = ""
        box.remove_class("-shown")
        self.needle = ""
        self._fill()
        self.query_one(DataTable).focus()

    @on(Input.Changed, "#filter")
    def _filtered(self, event: Input.Changed) -> None:
        self.needle = event.value.strip()
        self._fill()

    @on(Input.Submitted, "#filter")
    def _filter_done(self) -> None:
        self.query_one(DataTable).focus()

    @on(DataTable.RowSelected)
    def _selected_row(self) -> None:
        self.action_open()

    def _builder(self, saved: store.Saved | None = None, **kw: Any) -> None:
        from srm_tui.screens.segment_builder import SegmentBuilderScreen

        self.app.push_screen(SegmentBuilderScreen(saved, **kw))

    def action_new(self) -> None:
        self._builder()

    def action_new_static(self) -> None:
        from srm_tui.screens.segment_dialogs import PromptScreen

        if self.app.settings.role == "viewer":
            self.notify("The viewer role is read only.", severity="warning")
            return
        segments = self.app.session.segment_store

        def check(name: str) -> str | None:
            faults = segments.check_header(Segment(name=name))
            return str(faults[0]) if faults else None

        def made(name: str | None) -> None:
            if not name:
                return
            settings = self.app.settings
            saved = segments.create_static(name, now=settings.now_ts(), agent=settings.agent)
            self.action_reload()
            self._open(saved)

        self.app.push_screen(
            PromptScreen("New static segment: its name", "e.g. VIP callbacks", check), made
        )

    def action_open(self) -> None:
        s = self._selected()
        if s is not None:
            self._open(s)

    def _open(self, s: store.Saved) -> None:
        if s.problem and s.segment is None:
            self.notify(f"Cannot open {s.name}: {s.problem}", severity="warning")
            return
        if s.static:
            from srm_tui.screens.segment_static import StaticSegmentScreen

            self.app.push_screen(StaticSegmentScreen(s))
        else:
            self._builder(s)

    def action_overview(self) -> None:
        from srm_tui.screens.segment_overview import OverviewScreen

        s = self._selected()
        if s is None or s.segment is None:
            self.notify("Highlight a segment first (O shows the whole cache).", severity="warning")
            return
        population = store.population(s, self.app.settings.now_ts())

        def chosen(node: Node | None) -> None:
            if node is None:
                return
            if s.static:
                self.notify(
                    "A static segment has no conditions to narrow: the bar's "
                    "customers open as a new segment."
                )
                self._builder(None, segment=Segment(where=All((node,))))
            else:
                self._builder(s, slice_node=node)

        self.app.push_screen(OverviewScreen(s.name, population), chosen)

    def action_cache_overview(self) -> None:
        from srm_tui.screens.segment_overview import OverviewScreen

        def chosen(node: Node | None) -> None:
            if node is not None:
                self._builder(None, segment=Segment(where=All((node,))))

        self.app.push_screen(OverviewScreen("the cache"), chosen)

    def action_history(self) -> None:
        from srm_tui.screens.segment_history import HistoryScreen

        s = self._selected()
        if s is None:
            return

        def restore(segment: Segment | None) -> None:
            if segment is not None and not s.static:
                self._builder(s, segment=segment)

        self.app.push_screen(HistoryScreen(s.id), restore)

    def action_bulk(self) -> None:
        """A bulk action over the highlighted saved segment (srm_tui/screens/bulk.py)."""
        from srm_tui.screens.bulk import BulkScreen

        s = self._selected()
        if s is None or (s.segment is None and not s.static):
            self.notify("Highlight a saved segment first.", severity="warning")
            return
        self.app.push_screen(BulkScreen(s.name))

    def action_bulk_runs(self) -> None:
        from srm_tui.screens.bulk import BulkRunsScreen

        self.app.push_screen(BulkRunsScreen())

    def action_schedules(self) -> None:
        from srm_tui.screens.schedules import SchedulesScreen

        self.app.push_screen(SchedulesScreen())

    def action_export(self) -> None:
        from srm_tui.screens.segment_export import ExportScreen

        s = self._selected()
        if s is None or s.segment is None:
            return
        self.app.push_screen(ExportScreen(s.segment, saved=s))

    def action_recount(self) -> None:
        self.notify("Counting every saved segment…")
        self._recount_all([s for s in self.items if s.segment is not None])

    class Recounted(Message):
        """Every saved segment was counted; ``failures`` says which could not be, and why."""

        def __init__(self, failures: list[str]) -> None:
            super().__init__()
            self.failures = failures

    @work(thread=True, exclusive=True, group="segments-recount")
    def _recount_all(self, items: list[store.Saved]) -> None:
        runner = self.app.session.segments
        now = self.app.settings.now_ts()
        failures: list[str] = []
        for s in items:
            try:
                if s.static:
                    result = runner.count_population(store.population(s, now))
                else:
                    result = runner.count(s.segment, now)  # type: ignore[arg-type]
            except Exception as exc:
                failures.append(f"{s.name}: {exc}")
                continue
            runner.call(
                lambda conn, s=s, r=result: store.record_run(
                    conn, s.id, r.customers, r.elapsed_ms, now
                )
            )
        self.post_message(self.Recounted(failures))

    def on_segments_screen_recounted(self, message: Recounted) -> None:
        for failure in message.failures:
            self.notify(failure, severity="error")
        self.action_reload()

    def action_delete(self) -> None:
        from srm_tui.screens.segment_dialogs import ConfirmScreen

        s = self._selected()
        if s is None:
            return
        if self.app.settings.role == "viewer":
            self.notify("The viewer role is read only.", severity="warning")
            return

        def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            try:
                self.app.session.segment_store.delete(s.id)
            except store.SegmentInUse as exc:
                self.notify(f"Not deleted: {exc}", severity="warning", timeout=8)
                return
            self.notify(f"Deleted {s.name}.")
            self.action_reload()

        self.app.push_screen(
            ConfirmScreen(
                f"Delete {s.name} and its {s.version} version(s)? Exports already written stay."
            ),
            confirmed,
        )

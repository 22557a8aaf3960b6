"""A bulk action over a saved segment (B on the Segments screen), and the list of runs.

The agent picks the action and its inputs (the action's own fields), sees the dry run (the
member count, the first changes, who a rule refuses and why), confirms (typing the member
count back when the action cannot be undone), then watches the run: its done / refused /
failed counts move as a worker sends it; ``p`` pauses, ``x`` cancels, ``r`` resumes, and its
end shows the report. The run lives in the cache, so one paused or killed resumes from the
runs list (ctrl+l). Every call goes through ``app.session.bulk`` in a worker.

Over 400 lines: the form, dry run, confirm, progress and report are one screen's stages,
sharing the run it shows; the runs list is its own small screen below.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Input, Label, OptionList, ProgressBar, Static

from srm_tui.bindings import bindings
from srm_tui.bulk.model import ACTIONS, DryRun, Progress, Run, fields
from srm_tui.bulk.service import PRIVILEGED
from srm_tui.domain.text import count, visible
from srm_tui.screens.workers import ApiReached, DataChanged, work
from srm_tui.widgets.footer import Footer
from srm_tui.widgets.marked_options import MarkedOptionList
from srm_tui.widgets.safe_text import SafeInput

LABELS = {
    "extend": "Extend access",
    "coupon-apply": "Apply a coupon",
    "cancel": "Cancel subscriptions (cannot be undone)",
    "pause": "Pause subscriptions",
    "resume": "Resume subscriptions",
    "note-add": "Add a note",
}
SHOWN = 8  # refusals listed on screen (the report has them all)


def may_run(dry: DryRun, role: str) -> bool:
    """Whether this role may start the run (over bulk_limit only an owner or an admin may)."""
    return not dry.needs_role or role in PRIVILEGED


def dry_text(dry: DryRun, role: str) -> str:
    """The dry run as the screen shows it (plain text); how to run it only when ``role``
    may."""
    lines = [
        f"{count(dry.members, 'member')}: {dry.allowed:,} would change, "
        f"{dry.members - dry.allowed:,} refused by a rule"
    ]
    for preview in dry.sample:
        changes = "; ".join(
            f"{visible(c.what, 30)} {visible(c.before, 30)} → {visible(c.after, 40)}"
            for c in preview.changes[:2]
        )
        lines.append(f"  {visible(preview.target, 40)}: {changes}")
    for rule, n in dry.by_rule().items():
        lines.append(f"  refused by {rule}: {n:,}")
    for r in dry.refused[:SHOWN]:
        lines.append(f"    customer {r.customer_id}: {visible(r.reason, 70)}")
    if dry.needs_role:
        lines.append(f"over the limit of {dry.limit:,}: only an owner or an admin may run it")
    if not may_run(dry, role):
        return "\n".join(lines)  # ctrl+g is not offered to this role: no key to name
    if dry.irreversible:
        lines.append("cannot be undone: type the member count below, then ctrl+g")
    else:
        lines.append("ctrl+g runs it")
    return "\n".join(lines)


def progress_text(run_id: int, members: int, c: dict[str, int]) -> str:
    settled = sum(c.get(s, 0) for s in ("done", "refused", "failed", "cancelled"))
    return (
        f"bulk #{run_id}: {settled:,} of {members:,} · {c.get('done', 0):,} done · "
        f"{c.get('refused', 0):,} refused · {c.get('failed', 0):,} failed · "
        f"{c.get('cancelled', 0):,} cancelled"
    )


class BulkScreen(Screen):
    """Choose, dry-run, confirm and watch one bulk run (or resume one: ``run_id``)."""

    BINDINGS = bindings("bulk")

    class Dried(Message):
        def __init__(self, result: DryRun | None, problem: str | None) -> None:
            super().__init__()
            self.result = result
            self.problem = problem

    class Moved(Message):
        def __init__(self, progress: Progress) -> None:
            super().__init__()
            self.progress = progress

    class Ended(Message):
        def __init__(self, run: Run | None, problem: str | None) -> None:
            super().__init__()
            self.run = run
            self.problem = problem

    def __init__(self, segment: str | None = None, run_id: int | None = None) -> None:
        super().__init__()
        self.segment = segment
        self.run_id = run_id
        self.action: str | None = None
        self.dry: DryRun | None = None
        self.state = "choose"  # choose, checked, running, paused, ended

    def compose(self) -> ComposeResult:
        where = f"segment {visible(self.segment, 60)}" if self.segment else "a run"
        yield Static(f"Segments › Bulk action over {where}", id="crumbs", markup=False)
        with VerticalScroll(id="bulk-body"):
            yield MarkedOptionList(*(LABELS[a] for a in ACTIONS), id="bulk-actions")
            yield Vertical(id="bulk-form")
            yield Static("", id="bulk-dry", markup=False)
            yield Label("Member count, typed back", id="bulk-count-label", classes="label")
            yield SafeInput(placeholder="the member count", id="bulk-count")
            yield ProgressBar(id="bulk-bar", show_eta=False)
            yield Static("", id="bulk-progress", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self._show_count(False)
        self.query_one("#bulk-bar").display = False
        if self.run_id is not None:
            self.query_one("#bulk-actions").display = False
            self._watch(self.app.session.bulk.require(self.run_id))
        else:
            self.query_one("#bulk-actions", OptionList).focus()

    def _show_count(self, shown: bool) -> None:
        self.query_one("#bulk-count").display = shown
        self.query_one("#bulk-count-label").display = shown

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "dry_run":
            return self.state in ("choose", "checked") and self.action is not None
        if action == "go":
            return self.state == "checked" and self._may_run()
        if action in ("pause", "cancel_run"):
            return self.state == "running"
        if action == "resume":
            return self.state == "paused"
        return True

    def _may_run(self) -> bool:
        return self.dry is not None and may_run(self.dry, self.app.settings.role)

    # choosing --------------------------------------------------------------------------

    @on(OptionList.OptionSelected, "#bulk-actions")
    async def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.action = ACTIONS[event.option_index]
        self.dry = None
        self.state = "choose"
        form = self.query_one("#bulk-form", Vertical)
        await form.remove_children()
        widgets: list[Any] = []
        for f in fields(self.action):
            widgets.append(Label(f.label + (" *" if f.required else ""), classes="label"))
            widgets.append(SafeInput(placeholder=f.help or f.label, id=f"bulk-f-{f.name}"))
        await form.mount_all(widgets)
        self.query_one("#bulk-dry", Static).update("ctrl+d shows the dry run")
        self._show_count(False)
        first = form.query(Input)
        if first:
            first.first().focus()
        self.refresh_bindings()

    def values(self) -> dict[str, Any]:
        assert self.action is not None
        out: dict[str, Any] = {}
        for f in fields(self.action):
            text = self.query_one(f"#bulk-f-{f.name}", Input).value.strip()
            out[f.name] = text or None
        return out

    @on(Input.Changed)
    def _edited(self, event: Input.Changed) -> None:
        if event.input.id and event.input.id.startswith("bulk-f-") and self.state == "checked":
            self.state = "choose"  # the dry run no longer says what would happen
            self.dry = None
            self.refresh_bindings()

    # the dry run -----------------------------------------------------------------------

    def action_dry_run(self) -> None:
        if self.action is None:
            return
        self.query_one("#bulk-dry", Static).update("dry run…")
        self._dry(self.action, self.segment, self.values())

    @work(thread=True, exclusive=True, group="bulk-dry")
    def _dry(self, action: str, segment: str, params: dict[str, Any]) -> None:
        from srm_tui.actions.rules import ActionInvalid
        from srm_tui.api.profile import NotOffered

        try:
            result = self.app.session.bulk.dry_run(action, segment, params)
        except ActionInvalid as exc:
            self.post_message(self.Dried(None, f"{exc.field}: {exc.message}"))
            return
        except NotOffered as exc:
            self.post_message(self.Dried(None, str(exc)))
            return
        self.post_message(self.Dried(result, None))

    def on_bulk_screen_dried(self, message: Dried) -> None:
        box = self.query_one("#bulk-dry", Static)
        if message.result is None:
            box.update(Text(f"cannot run: {message.problem}"))
            return
        self.dry = message.result
        self.state = "checked"
        box.update(Text(dry_text(message.result, self.app.settings.role)))
        runnable = self._may_run()
        self._show_count(message.result.irreversible and runnable)
        if message.result.irreversible and runnable:
            self.query_one("#bulk-count", Input).focus()
        self.refresh_bindings()

    # running ---------------------------------------------------------------------------

    def action_go(self) -> None:
        if self.dry is None or self.action is None or not self._may_run():
            return
        typed = self.query_one("#bulk-count", Input).value.strip()
        confirm = int(typed) if typed.isdigit() else None
        if self.dry.irreversible and confirm != self.dry.members:
            self.notify("Type the segment's member count to go ahead.", severity="warning")
            return
        self._begin()
        self._run(self.action, self.segment, self.values(), confirm, None)

    def _begin(self) -> None:
        self.state = "running"
        for box in self.query(Input):
            box.disabled = True
        self.query_one("#bulk-actions").disabled = True
        self.query_one("#bulk-bar").display = True
        self.query_one("#bulk-progress", Static).focus()
        self.refresh_bindings()

    def _watch(self, run: Run) -> None:
        self.run_id = run.id
        self.query_one("#bulk-progress", Static).update(
            progress_text(run.id, run.members, run.counts)
        )
        self.query_one("#bulk-bar").display = True
        self.query_one("#bulk-bar", ProgressBar).update(total=run.members, progress=run.settled)
        if run.open:
            self.state = "paused"
            self.query_one("#bulk-dry", Static).update(
                Text(f"{run.label} {run.action} over {run.segment}: {run.status} (r resumes)")
            )
        else:
            self._ended(run)
        self.refresh_bindings()

    @work(thread=True, exclusive=True, group="bulk-run")
    def _run(
        self,
        action: str | None,
        segment: str | None,
        params: dict[str, Any] | None,
        confirm: int | None,
        run_id: int | None,
    ) -> None:
        from srm_tui.actions.rules import ActionInvalid
        from srm_tui.api.profile import NotOffered

        bulk = self.app.session.bulk
        try:
            if run_id is None:
                run = bulk.start(action, segment, params or {}, confirm_count=confirm)
                run_id = run.id
                self.run_id = run_id
            ended = bulk.run(run_id, lambda p: self.post_message(self.Moved(p)))
        except ActionInvalid as exc:
            self.post_message(self.Ended(None, f"{exc.field}: {exc.message}"))
            return
        except NotOffered as exc:
            self.post_message(self.Ended(None, str(exc)))
            return
        self.post_message(self.Ended(ended, None))

    def on_bulk_screen_moved(self, message: Moved) -> None:
        p = message.progress
        self.run_id = p.run_id
        self.query_one("#bulk-progress", Static).update(
            progress_text(p.run_id, p.members, p.counts)
        )
        self.query_one("#bulk-bar", ProgressBar).update(total=p.members, progress=p.settled)

    def on_bulk_screen_ended(self, message: Ended) -> None:
        if message.run is None:
            self.state = "checked" if self.dry is not None else "choose"
            for box in self.query(Input):
                box.disabled = False
            self.query_one("#bulk-actions").disabled = False
            self.query_one("#bulk-bar").display = False  # nothing ran: no empty bar
            self.query_one("#bulk-dry", Static).update(Text(f"cannot run: {message.problem}"))
            self.refresh_bindings()
            return
        run = message.run
        self.post_message(DataChanged())  # the outbox and the records moved: recount
        if run.note and "did not answer" in run.note:
            self.post_message(ApiReached(False))
        elif run.counts.get("done"):
            self.post_message(ApiReached(True))
        self.query_one("#bulk-progress", Static).update(
            progress_text(run.id, run.members, run.counts)
        )
        self.query_one("#bulk-bar", ProgressBar).update(total=run.members, progress=run.settled)
        if run.open:
            self.state = "paused"
            note = f" ({run.note})" if run.note else ""
            self.query_one("#bulk-dry", Static).update(Text(f"{run.label} paused{note}; r resumes"))
        else:
            self._ended(run)
        self.refresh_bindings()

    def worker_failed(self, group: str, error: BaseException) -> None:
        """A worker failed after the app was told: the screen takes its keys back (a run
        left open resumes with r; what was sent is in the cache)."""
        reason = getattr(error, "message", None) or str(error) or type(error).__name__
        if group == "bulk-run":
            for box in self.query(Input):
                box.disabled = False
            self.query_one("#bulk-actions").disabled = False
            self.state = "paused" if self.run_id is not None else "checked"
            if self.dry is None and self.run_id is None:
                self.state = "choose"
        self.query_one("#bulk-dry", Static).update(
            Text(f"✘ {visible(reason, 300)}" + ("; r resumes the run" if self.run_id else ""))
        )
        self.refresh_bindings()

    def _ended(self, run: Run) -> None:
        self.state = "ended"
        report = self.app.session.bulk.report(run.id)
        lines = [f"{run.label} {run.status}: {run.summary()}"]
        lines += [f"  refused by {rule}: {n:,}" for rule, n in report["refused_by_rule"].items()]
        failed = [m for m in report["members"] if m["status"] == "failed"]
        lines += [
            f"  failed: customer {m['customer_id']}: {visible(m['reason'], 70)}"
            for m in failed[:SHOWN]
        ]
        if run.note:
            lines.append(f"  {visible(run.note, 200)}")
        lines.append(f"srm bulk show {run.id} --csv FILE writes the whole report")
        self.query_one("#bulk-dry", Static).update(Text("\n".join(lines)))

    def action_pause(self) -> None:
        if self.run_id is not None:
            self.app.session.bulk.pause(self.run_id)
            self.notify(f"bulk #{self.run_id} pauses after its current batch")

    def action_cancel_run(self) -> None:
        if self.run_id is not None:
            self.app.session.bulk.cancel(self.run_id)
            self.notify(f"bulk #{self.run_id}: the members not sent yet are cancelled")

    def action_resume(self) -> None:
        if self.run_id is None:
            return
        self._begin()
        self._run(None, None, None, None, self.run_id)

    def action_runs(self) -> None:
        self.app.push_screen(BulkRunsScreen())

    def action_back(self) -> None:
        if self.state == "running" and self.run_id is not None:
            # The worker belongs to this screen: leaving pauses the run between batches.
            self.app.session.bulk.pause(self.run_id)
            self.notify(f"bulk #{self.run_id} pauses; resume it from the runs list (ctrl+l)")
        self.app.pop_screen()


class BulkRunsScreen(Screen):
    """Every bulk run, newest first: open one (its report), or resume a paused one."""

    BINDINGS = bindings("bulk_runs")

    def __init__(self) -> None:
        super().__init__()
        self.runs: list[Run] = []
        self._marked: int | None = None  # the row showing "›"

    def compose(self) -> ComposeResult:
        yield Static("Segments › Bulk runs", id="crumbs", markup=False)
        yield DataTable(id="bulk-runs", cursor_type="row", zebra_stripes=True)
        yield Static("", id="detail", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("", key="mark", width=1)  # "›" on the highlighted run (NO_COLOR)
        table.add_columns("Run", "Action", "Segment", "Status", "Members", "Done", "Refused")
        self._fill()
        table.focus()

    def on_screen_resume(self) -> None:
        self._fill()

    def _fill(self) -> None:
        self.runs = self.app.session.bulk.runs()
        table = self.query_one(DataTable)
        table.clear()
        for index, run in enumerate(self.runs):
            table.add_row(
                Text("›" if index == table.cursor_row else " "),
                Text(f"#{run.id}"),
                Text(run.action),
                Text(visible(run.segment or "", 30)),
                Text(run.status),
                Text(f"{run.members:,}"),
                Text(f"{run.counts.get('done', 0):,}"),
                Text(f"{run.counts.get('refused', 0):,}"),
                key=str(index),
            )
        self._marked = table.cursor_row if self.runs else None
        if not self.runs:
            self.query_one("#detail", Static).update("no bulk runs yet (B on a segment)")

    @on(DataTable.RowHighlighted, "#bulk-runs")
    def _moved(self, event: DataTable.RowHighlighted) -> None:
        """The highlighted run is marked in text, not only by the cursor's colour."""
        table = self.query_one(DataTable)
        row = event.cursor_row
        if row == self._marked or not 0 <= row < len(self.runs):
            return
        before, self._marked = self._marked, row
        if before is not None and 0 <= before < len(self.runs):
            table.update_cell(str(before), "mark", Text(" "))
        table.update_cell(str(row), "mark", Text("›"))

    def _selected(self) -> Run | None:
        row = self.query_one(DataTable).cursor_row
        return self.runs[row] if 0 <= row < len(self.runs) else None

    @on(DataTable.RowSelected)
    def _picked(self) -> None:
        self.action_open()

    def action_open(self) -> None:
        run = self._selected()
        if run is not None:
            self.app.push_screen(BulkScreen(run.segment, run.id))

    def action_resume(self) -> None:
        run = self._selected()
        if run is None or not run.open:
            self.notify("Only a paused or interrupted run resumes.", severity="warning")
            return
        screen = BulkScreen(run.segment, run.id)
        self.app.push_screen(screen)
        screen.call_after_refresh(screen.action_resume)

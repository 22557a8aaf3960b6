"""Segments › export: write the segment now as CSV or JSON (with a sidecar saying what it is),
or add a schedule that exports a saved segment at times or intervals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from srm_tui.bindings import bindings
from srm_tui.domain.text import count, visible
from srm_tui.screens.leave import AsksBeforeLeaving
from srm_tui.screens.workers import work
from srm_tui.segments import schedules as S
from srm_tui.segments import store
from srm_tui.segments.model import Segment
from srm_tui.widgets.choice import ChoiceField
from srm_tui.widgets.footer import Footer


def default_directory() -> str:
    from srm_tui.config import data_dir

    return str(data_dir() / "exports")


class ExportScreen(AsksBeforeLeaving, ModalScreen[None]):
    """Export the segment now, or add a schedule that exports it at times or intervals."""

    BINDINGS = bindings("segment_dialog")

    def __init__(self, segment: Segment, *, saved: store.Saved | None = None) -> None:
        super().__init__()
        self.segment = segment
        self.saved = saved

    def compose(self) -> ComposeResult:
        name = self.saved.name if self.saved else (self.segment.name or "this segment")
        what = "as saved" if self.saved else "as it stands (not saved)"
        with Vertical():
            yield Static(Text(f"Export {visible(name, 60)} {what}"), classes="title")
            yield Static("Format", classes="label", markup=False)
            yield ChoiceField(S.FORMATS, "csv", id="format")
            yield Static("Columns", classes="label", markup=False)
            yield Input(value=", ".join(S.DEFAULT_COLUMNS), id="columns")
            yield Static(
                "the list's columns, and any attribute: customer.status, customer.mrr,"
                " subscription.state …",
                classes="help",
                markup=False,
            )
            yield Static("Directory", classes="label", markup=False)
            yield Input(value=default_directory(), id="directory")
            yield Static("When", classes="label", markup=False)
            yield Input(placeholder="empty: once, now · 06:00, 18:00 · every 6h", id="when")
            yield Input(
                value="UTC", placeholder="time zone of the times, e.g. Europe/Warsaw", id="tz"
            )
            yield Static("", id="error", classes="error", markup=False)
            yield Static(
                "ctrl+s exports (or adds the schedule) · esc cancels", classes="help", markup=False
            )
            yield Footer()

    def on_mount(self) -> None:
        self.query_one("#columns", Input).focus()

    def _error(self, message: str) -> None:
        self.query_one("#error", Static).update(Text(f"⚠ {message}"))

    @on(Input.Changed, "#columns")
    def _columns_typed(self, event: Input.Changed) -> None:
        faults = S.check_columns(self._columns())
        self.query_one("#error", Static).update(Text(f"⚠ {faults[0]}") if faults else "")

    def _columns(self) -> list[str]:
        return [c.strip() for c in self.query_one("#columns", Input).value.split(",") if c.strip()]

    @on(Input.Submitted)
    def action_submit(self) -> None:
        fmt = self.query_one("#format", ChoiceField).value
        columns = self._columns()
        faults = S.check_columns(columns)
        if faults:
            self._error(str(faults[0]))
            return
        directory = self.query_one("#directory", Input).value.strip()
        if not directory:
            self._error("directory: required")
            return
        try:
            Path(directory).expanduser().mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            self._error(f"directory: cannot create {directory}: {exc.strerror or exc}")
            return
        when = self.query_one("#when", Input).value.strip()
        if when:
            self._schedule(fmt, columns, directory, when)
        else:
            self.query_one("#error", Static).update("exporting…")
            self._export(fmt, columns, directory)

    def _schedule(self, fmt: str, columns: list[str], directory: str, when: str) -> None:
        if self.app.settings.role == "viewer":
            self._error("when: the viewer role is read only: no schedules")
            return
        if self.saved is None:
            self._error("when: a schedule exports a saved segment: save it first (ctrl+s)")
            return
        at = every = None
        if when.lower().startswith("every"):
            every = when[5:].strip()
        else:
            at = when
        settings = self.app.settings
        try:
            schedule = self.app.session.segment_store.add_schedule(
                self.saved.id,
                fmt=fmt,
                columns=columns,
                directory=directory,
                at=at,
                every=every,
                tz=self.query_one("#tz", Input).value.strip() or "UTC",
                now=settings.now_ts(),
                agent=settings.agent,
            )
        except store.SegmentError as exc:
            first = exc.faults[0]
            field = {"at": "when", "every": "when", "dir": "directory"}.get(first.path, first.path)
            self._error(f"{field}: {first.message}")
            return
        self.app.notify(
            f"Schedule {schedule.id}: {schedule.segment_name} as {fmt} "
            f"{schedule.when()} into {schedule.directory} (srm schedules run "
            "runs it; put that in cron)",
            timeout=10,
        )
        self.dismiss(None)

    class Exported(Message):
        """The export ran: what it wrote, or the error that stopped it."""

        def __init__(self, outcome: Any) -> None:
            super().__init__()
            self.outcome = outcome

    @work(thread=True, exclusive=True, group="segment-export")
    def _export(self, fmt: str, columns: list[str], directory: str) -> None:
        now = self.app.settings.now_ts()
        name = self.saved.name if self.saved else (self.segment.name or "segment")
        path = S.export_path(directory, name, now, fmt)
        currency = self.app.settings.currency  # money columns in the reporting currency
        runner = self.app.session.segments
        try:
            if self.saved is not None:
                saved = self.saved
                outcome: Any = runner.call(
                    lambda conn: S.export_saved(
                        conn, saved, now=now, fmt=fmt, columns=columns, path=path, currency=currency
                    )
                )
            else:
                outcome = runner.call(
                    lambda conn: S.export_definition(
                        conn,
                        self.segment,
                        now=now,
                        fmt=fmt,
                        columns=columns,
                        path=path,
                        currency=currency,
                    )
                )
        except Exception as exc:  # said in the dialog; its choices stay
            outcome = exc
        self.post_message(self.Exported(outcome))

    def on_export_screen_exported(self, message: Exported) -> None:
        outcome = message.outcome
        if isinstance(outcome, Exception):
            self._error(f"not exported: {getattr(outcome, 'strerror', None) or outcome}")
            return
        self.app.notify(
            f"Wrote {count(outcome.rows, 'customer')} to {outcome.path} (what it is: "
            f"{Path(outcome.sidecar).name})",
            timeout=10,
        )
        self.dismiss(None)

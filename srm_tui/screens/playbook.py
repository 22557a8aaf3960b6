"""Segments › Retention playbook: the rules the cancel dialog offers from, in order (the first
rule whose segment holds the customer wins), with the version and who saved it last.

a adds a rule, e (enter) edits the highlighted one, d deletes it (asks), K/J move it, ctrl+s
saves the playbook as a new version. A save against a version someone else replaced since is
refused and said plainly, with the choice to reload theirs. esc with unsaved changes asks
first. The viewer role reads it only: the edit keys are off and the screen says so.
Reading and saving touch the cache: they run in workers, and a failure is said here.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events, on
from textual.actions import parse as parse_action
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import DataTable, Static

from srm_tui.bindings import bindings
from srm_tui.domain.text import count, visible
from srm_tui.playbook.model import Playbook, Rule
from srm_tui.screens.playbook_save import PlaybookSaving
from srm_tui.screens.playbook_text import (
    problems_line,
    rule_lines,
    rule_row,
    switch_targets,
    version_line,
)
from srm_tui.screens.table_keys import TABLE_BINDINGS, TableKeys
from srm_tui.screens.workers import work
from srm_tui.widgets.fit import Col, fill
from srm_tui.widgets.footer import Footer
from srm_tui.widgets.status_line import StatusLine

EDITS = {"add", "edit", "delete", "move", "save"}  # the actions a viewer does not have
COLUMNS = [
    Col("#", cap=3),
    Col("Rule", cap=28),
    Col("Segment", cap=24, drop=1),
    Col("Offers", flex=True, least=16),
]


class PlaybookScreen(TableKeys, PlaybookSaving):
    """The retention playbook: its rules in order, edited here and saved as a version."""

    BINDINGS = [*bindings("playbook"), *TABLE_BINDINGS]

    def __init__(self) -> None:
        super().__init__()
        self.base: Playbook | None = None  # the version the edits start from
        self.rules: list[Rule] = []
        self.saved: tuple[int, str | None] | None = None  # (saved_at, saved_by) of the base
        self.segments: list[tuple[str, str]] = []  # saved segments as (name, note)
        self.offers: list[tuple[str, str]] = []  # cached offers as (id, title)
        self.problems: list[Any] = []  # what the service's check says of the rules as edited
        self.running = False  # a save in flight
        self.failure = ""

    @property
    def read_only(self) -> bool:
        return self.app.settings.role == "viewer"

    def compose(self) -> ComposeResult:
        yield Static("Segments › Retention playbook", id="crumbs", markup=False)
        yield Static("reading the playbook…", id="about", markup=False)
        yield DataTable(id="rules", cursor_type="row", zebra_stripes=True)
        yield Static("", id="detail", markup=False)
        yield Static("", id="verdict", markup=False)
        yield StatusLine()
        yield Footer()

    def on_mount(self) -> None:
        self._fill()
        self.query_one("#rules", DataTable).focus()
        self._load()

    def on_resize(self) -> None:
        if self.is_mounted:
            self._fill()

    # reading ------------------------------------------------------------------------------------

    class Loaded(Message):
        """The playbook, its versions, the saved segments and cached offers; or the error."""

        def __init__(self, result: Any) -> None:
            super().__init__()
            self.result = result

    @work(thread=True, exclusive=True, group="playbook-load")
    def _load(self) -> None:
        session = self.app.session
        try:
            pb = session.playbook.current()
            versions = session.playbook.versions()
            segments = [
                (
                    s.name,
                    "⚠ unreadable" if s.problem else f"{s.kind} · {count(s.members, 'member')}",
                )
                for s in session.segment_store.list_saved()
            ]
            offers = switch_targets(session.offer_reads.catalogue())
            problems = session.playbook.check(pb)
            result: Any = (pb, versions, segments, offers, problems)
        except Exception as exc:  # said on the screen; the console stays
            result = exc
        self.post_message(self.Loaded(result))

    def on_playbook_screen_loaded(self, message: Loaded) -> None:
        if isinstance(message.result, Exception):
            self.failure = f"✘ Could not read the playbook: {visible(message.result, 200)}"
            self._fill()
            return
        pb, versions, self.segments, self.offers, self.problems = message.result
        self.failure = ""
        self.base = pb
        self.rules = list(pb.rules)
        self.saved = next(((at, by) for v, at, by in versions if v == pb.version), None)
        self._fill()

    # showing ------------------------------------------------------------------------------------

    def _fill(self, cursor: int | None = None) -> None:
        """Show the rules (the cursor kept, or put on row ``cursor``) and what is known."""
        table = self.query_one("#rules", DataTable)
        cursor = table.cursor_row if cursor is None else cursor
        rows = [rule_row(i, rule) for i, rule in enumerate(self.rules, 1)]
        fill(
            table,
            COLUMNS,
            rows,
            [str(i) for i in range(len(rows))],
            max(40, self.app.size.width - 4),
        )
        if rows:
            table.move_cursor(row=min(max(cursor, 0), len(rows) - 1))
        self._about()
        self._detail()

    def _about(self) -> None:
        crumbs = "Segments › Retention playbook" + (" · unsaved changes" if self.dirty else "")
        self.query_one("#crumbs", Static).update(crumbs)
        text = version_line(self.base, self.saved, len(self.rules), failed=bool(self.failure))
        if self.read_only:  # a line of its own: it must not be cut at 80 columns
            text += "\nRead only: the viewer role cannot change the playbook."
        self.query_one("#about", Static).update(Text(text))

    def _selected(self) -> int | None:
        if not self.rules:
            return None
        return min(self.query_one("#rules", DataTable).cursor_row, len(self.rules) - 1)

    @on(DataTable.RowHighlighted, "#rules")
    def _detail(self) -> None:
        index = self._selected()
        lines: list[str] = []
        if index is not None:
            lines = rule_lines(index + 1, self.rules[index])
        elif self.base is not None:
            lines.append(
                "No rule yet: the cancel dialog offers nothing."
                + ("" if self.read_only else " a adds a rule.")
            )
        self.query_one("#detail", Static).update(Text("\n".join(lines)))
        self._verdict()

    def _verdict(self, text: str | None = None) -> None:
        if text is None:
            text = self.failure or problems_line(self.problems)
        verdict = self.query_one("#verdict", Static)
        verdict.update(Text(text))
        verdict.display = bool(text)

    # keys ---------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in EDITS and self.read_only:
            return False  # off for the viewer, and gone from the footer
        return True

    def on_key(self, event: events.Key) -> None:
        """A viewer's edit key says the role is read only instead of doing nothing."""
        if not self.read_only:
            return
        for binding in self._bindings.key_to_bindings.get(event.key, []):
            if parse_action(binding.action)[1] in EDITS:
                self.notify(
                    f"{binding.description}: the viewer role is read only (the playbook "
                    "needs the agent role or above to change).",
                    severity="warning",
                )
                event.stop()
                return

    def _ready(self) -> bool:
        if self.base is None:
            self.notify("The playbook is still being read.", severity="warning")
            return False
        return not self.running

    def _editor(self, index: int | None) -> None:
        from srm_tui.screens.playbook_rule import RuleScreen

        rule = self.rules[index] if index is not None else None
        others = [r.name for i, r in enumerate(self.rules) if i != index]

        def done(result: Rule | None) -> None:
            if result is None:
                return
            if index is None:
                self.rules.append(result)
            else:
                self.rules[index] = result
            self._changed(len(self.rules) - 1 if index is None else index)

        self.app.push_screen(
            RuleScreen(
                rule,
                number=len(self.rules) + 1 if index is None else index + 1,
                segments=self.segments,
                offers=self.offers,
                others=others,
            ),
            done,
        )

    def action_add(self) -> None:
        if self._ready():
            self._editor(None)

    def action_edit(self) -> None:
        index = self._selected()
        if self._ready() and index is not None:
            self._editor(index)

    @on(DataTable.RowSelected, "#rules")
    def _row_chosen(self) -> None:
        if not self.read_only:
            self.action_edit()

    def action_delete(self) -> None:
        from srm_tui.screens.segment_dialogs import ConfirmScreen

        index = self._selected()
        if not self._ready() or index is None:
            return
        rule = self.rules[index]

        def confirmed(yes: bool | None) -> None:
            if yes and rule in self.rules:
                self.rules.remove(rule)
                self._changed()

        self.app.push_screen(
            ConfirmScreen(
                f"Delete rule {index + 1}, {visible(rule.name, 60)}? "
                "(The saved version keeps it until ctrl+s saves this one.)"
            ),
            confirmed,
        )

    def action_move(self, step: int) -> None:
        index = self._selected()
        if not self._ready() or index is None:
            return
        target = index + step
        if not 0 <= target < len(self.rules):
            return
        self.rules[index], self.rules[target] = self.rules[target], self.rules[index]
        self._changed(target)

    def _changed(self, cursor: int | None = None) -> None:
        """The rules as edited: shown, and checked against the cache in a worker."""
        self._fill(cursor)
        self._check(Playbook(self.base.version if self.base else 0, tuple(self.rules)))

    class Checked(Message):
        """What the cache says of ``rules`` (the rules as they were when asked)."""

        def __init__(self, rules: tuple[Rule, ...], problems: Any) -> None:
            super().__init__()
            self.rules = rules
            self.problems = problems

    @work(thread=True, exclusive=True, group="playbook-check")
    def _check(self, pb: Playbook) -> None:
        try:
            problems: Any = self.app.session.playbook.check(pb)
        except Exception as exc:  # the check could not run: said, nothing changes
            problems = [f"the check could not run: {exc}"]
        self.post_message(self.Checked(pb.rules, problems))

    def on_playbook_screen_checked(self, message: Checked) -> None:
        if message.rules == tuple(self.rules):  # an answer for older rules is not shown
            self.problems = list(message.problems)
            self._verdict()

    # leaving ------------------------------------------------------------------------------------

    def action_back(self) -> None:
        from srm_tui.screens.offer_dialog import ConfirmDialog

        if not self.dirty:
            self.app.pop_screen()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.app.pop_screen()

        self.app.push_screen(
            ConfirmDialog(
                "Leave the playbook? Your unsaved changes are thrown away (n stays; then "
                "ctrl+s saves them)."
            ),
            answered,
        )

    def action_reload(self) -> None:
        """After a sync (the app asks the screen on top): read the playbook, the segments and
        the offers again, unless there are edits here to keep."""
        if not self.dirty and not self.running:
            self._load()

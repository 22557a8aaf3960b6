"""One support action as a dialog: a form built from the action's field specs, a live preview
of exactly what will change (and which rule blocks it), a confirm step for destructive
actions, and the outcome: applied through the API, or queued in the outbox."""

from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from typing import Any

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Checkbox, Input, Label, Static, TextArea

from srm_tui.actions.registry import spec as action_spec
from srm_tui.actions.rules import (
    ActionError,
    ActionInvalid,
    ActionRefused,
    ConfirmationRequired,
    FieldSpec,
    Preview,
)
from srm_tui.actions.service import Outcome
from srm_tui.api.errors import ApiError
from srm_tui.api.profile import NotOffered
from srm_tui.bindings import bindings
from srm_tui.config import ConfigError
from srm_tui.domain.text import visible
from srm_tui.screens.workers import work
from srm_tui.widgets.check import StateCheckbox
from srm_tui.widgets.footer import Footer
from srm_tui.widgets.safe_text import SafeInput, SafeTextArea  # prefilled values are data

PREVIEW_DELAY = 0.2


def _shown(value: Any) -> str:
    if value is None or value == "":
        return "—"
    return visible(value, 80)


class ActionScreen(ModalScreen[Outcome | None]):
    """Run one action on one record; dismisses with the Outcome (None when cancelled)."""

    BINDINGS = bindings("action")

    class Done(Message):
        """The action's worker answered: an Outcome (applied or queued), or the error the
        service gave for it (refused by a rule, invalid, not offered, the API's answer)."""

        def __init__(self, result: Any) -> None:
            super().__init__()
            self.result = result

    def __init__(
        self, action: str, fixed: dict[str, Any], *, defaults: dict[str, Any] | None = None
    ) -> None:
        super().__init__()
        self.action = action
        self.fixed = fixed
        self.defaults = defaults or {}
        self.spec = action_spec(action)
        self.preview: Preview | None = None
        self.armed = False  # a destructive action waits for its confirm key
        self.running = False
        self._timer: Timer | None = None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "editor":  # only a long text goes to $EDITOR
            return any(f.type == "longtext" for f in self.inputs)
        if action == "confirm":
            return self.armed
        return True

    @property
    def inputs(self) -> list[FieldSpec]:
        return [f for f in self.spec.fields if f.name not in self.fixed]

    def compose(self) -> ComposeResult:
        target = ", ".join(f"{visible(v, 40)}" for v in self.fixed.values())
        with Vertical():
            yield Static(f"{self.spec.title} · {target}", id="title", markup=False)
            with VerticalScroll():
                for f in self.inputs:
                    yield from self._field(f)
                yield Static(id="preview")
            yield Static(id="verdict")  # outside the scroll: the rule that blocks is always seen
            yield Footer()

    def _field(self, f: FieldSpec) -> ComposeResult:
        label = f.label + (" *" if f.required else "")
        default = self.defaults.get(f.name, f.default)
        if f.type == "bool":
            yield StateCheckbox(label, value=bool(default), id=f"f-{f.name}")
        else:
            yield Label(label, classes="label")
            if f.type == "longtext":
                area = SafeTextArea(
                    str(default or ""), id=f"f-{f.name}", soft_wrap=True, show_line_numbers=False
                )
                yield area
                yield Static("", id=f"count-{f.name}", classes="help", markup=False)
            else:
                yield SafeInput(
                    value="" if default is None else str(default),
                    id=f"f-{f.name}",
                    placeholder=f.help or f.label,
                )
        if f.help and f.type not in ("text", "email", "instant", "money", "id"):
            yield Static(f.help, classes="help", markup=False)
        yield Static("", id=f"err-{f.name}", classes="error", markup=False)

    def on_mount(self) -> None:
        first = self.query("Input, TextArea, Checkbox")
        if first:
            first.first().focus()
        for area in self.query(TextArea):  # editing goes on after the old text, not before it
            area.move_cursor(area.document.end)
        self._start = self.values()  # what esc compares against: leaving with changes asks
        self._refresh_preview()
        if self.action == "cancel":  # the retention playbook's offers come first, if any
            from srm_tui.screens.retention import offer_retention

            offer_retention(self)

    # values ----------------------------------------------------------------------------------

    def values(self) -> dict[str, Any]:
        out = dict(self.fixed)
        for f in self.inputs:
            widget = self.query_one(f"#f-{f.name}")
            if isinstance(widget, Checkbox):
                out[f.name] = widget.value
            elif isinstance(widget, TextArea):
                out[f.name] = widget.text
            else:
                text = widget.value.strip()
                out[f.name] = text or None
        return out

    @on(Input.Changed)
    @on(TextArea.Changed)
    @on(Checkbox.Changed)
    def _changed(self, event: Any) -> None:
        if self.running:  # what was sent is sent: the dialog says "Running…" until it ends
            return
        self.armed = False
        if isinstance(event, TextArea.Changed):
            self._count()  # the counter keeps up with the text; the preview waits for a pause
        if self._timer:
            self._timer.stop()
        self._timer = self.set_timer(PREVIEW_DELAY, self._refresh_preview)

    def action_cancel(self) -> None:
        from srm_tui.screens.offer_dialog import ConfirmDialog

        if self.running or self.values() == getattr(self, "_start", None):
            self.dismiss(None)
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.dismiss(None)

        self.app.push_screen(
            ConfirmDialog(
                f"Leave {self.spec.title.lower()}? What you typed is thrown away (n goes back to "
                "it)."
            ),
            answered,
        )

    def _count(self) -> None:
        for f in self.inputs:
            if f.type == "longtext":
                text = self.query_one(f"#f-{f.name}", TextArea).text
                limit = f" / {f.max_length:,}" if f.max_length else ""
                over = " — too long" if f.max_length and len(text) > f.max_length else ""
                self.query_one(f"#count-{f.name}", Static).update(
                    f"{len(text):,}{limit} characters{over}  (ctrl+e: edit in $EDITOR)"
                )

    def _refresh_preview(self) -> None:
        """Validate in place and show what would change: cheap, from the cache alone. It runs
        on the console's own loop (a timer, not a worker), so a failure nobody foresaw is
        caught here and said in the dialog: it must never close the console. Not while the
        action runs: a preview due from keys typed just before ctrl+s would say "Allowed —
        ctrl+s runs it" over "Running…" (seen in tmux on a busy host)."""
        if self.running:
            return
        try:
            self._plan_preview()
        except Exception as exc:
            self._preview_failed(exc)

    def _preview_failed(self, error: Exception) -> None:
        """The plan failed unexpectedly: logged with its traceback, said in one plain line,
        nothing can run until a change of the inputs plans again."""
        import logging

        logging.getLogger("srm_tui").error(
            "previewing %s failed", self.action, exc_info=(type(error), error, error.__traceback__)
        )
        self.preview = None
        reason = " ".join(str(error).split()) or "no detail"
        self.query_one("#preview", Static).update("")
        self.query_one("#verdict", Static).update(
            Text(
                f"✘ The preview failed: {type(error).__name__}: {visible(reason, 160)} "
                "(the console is still usable; the log has the details)"
            )
        )

    def _plan_preview(self) -> None:
        self._count()
        for f in self.inputs:
            error = self.query_one(f"#err-{f.name}", Static)
            error.update("")
            error.display = False  # an empty message takes no line (80x24 counts them)
        verdict = self.query_one("#verdict", Static)
        try:
            self.preview = self.app.session.local_actions.preview(self.action, **self.values())
        except NotOffered as exc:  # the API has no call for it: said, never a form to fill
            self.preview = None
            verdict.update(Text(f"✘ {exc}", style="bold"))
            self.query_one("#preview", Static).update("")
            return
        except ActionInvalid as exc:
            self.preview = None
            target = self.query(f"#err-{exc.field}")
            if target:
                target.first().update(f"⚠ {exc.message}")
                target.first().display = True
            lines = [f"⚠ {exc}"]
            blocked = self._blocked_anyway(exc.field)
            if blocked is not None:  # a rule no input can lift is said at once
                lines.insert(0, f"✘ Blocked by rule {blocked.rule}: {blocked.message}")
            verdict.update(Text("\n".join(lines), style="bold"))
            self.query_one("#preview", Static).update("")
            return
        self._show_preview(self.preview)

    def _blocked_anyway(self, field: str) -> Any:
        """The rule that blocks the action whatever is typed in ``field``, when ``field`` is a
        free-text field still empty (a cancel's reason): the plan checks its inputs before its
        rules, so without this an app-store cancel said only "reason: required"."""
        spec = next((f for f in self.inputs if f.name == field), None)
        values = self.values()
        if spec is None or spec.type not in ("text", "longtext") or values.get(field):
            return None
        try:
            filled = self.app.session.local_actions.preview(self.action, **{**values, field: "-"})
        except (ActionInvalid, NotOffered):
            return None
        return filled.blocked

    def _show_preview(self, p: Preview) -> None:
        table = Table(title="What will change", title_justify="left", expand=True, show_edge=False)
        # Values fold inside their column (a timestamp is one long word): never past the
        # dialog's edge, where the line would wrap under the table.
        table.add_column("What", ratio=1, overflow="fold")
        table.add_column("Before", ratio=2, overflow="fold")
        table.add_column("After", ratio=2, overflow="fold")
        for change in p.changes:
            table.add_row(
                Text(visible(change.what, 40)),
                Text(_shown(change.before)),
                Text(_shown(change.after)),
            )
        self.query_one("#preview", Static).update(table)
        lines = [f"⚠ {w}" for w in p.warnings]
        if p.blocked:
            lines.append(f"✘ Blocked by rule {p.blocked.rule}: {p.blocked.message}")
        elif p.irreversible:
            lines.append("This cannot be undone. ctrl+s, then y to confirm.")
        elif p.destructive:
            lines.append("ctrl+s, then y to confirm.")
        else:
            lines.append("✔ Allowed — ctrl+s runs it.")
        self.query_one("#verdict", Static).update(Text("\n".join(lines)))

    # running ---------------------------------------------------------------------------------

    def action_submit(self) -> None:
        if self.running:
            return
        if self._timer:
            self._timer.stop()
        self._refresh_preview()
        p = self.preview
        if p is None or p.blocked:
            self.notify("Fix what the dialog says first.", severity="warning")
            return
        if (p.destructive or p.irreversible) and not self.armed:
            self.armed = True
            self.set_focus(None)  # y must confirm, not type into a field
            self.query_one("#verdict", Static).update(
                Text(
                    f"Really {self.spec.title.lower()}? Press y to confirm, esc to cancel.",
                    style="bold",
                )
            )
            return
        self._run()

    def action_confirm(self) -> None:
        if self.armed:
            self._run()

    def _run(self) -> None:
        self.running = True
        self.query_one("#verdict", Static).update(Text("Running…", style="bold"))
        self._worker(self.values())

    @work(thread=True, exclusive=True, group="action")
    def _worker(self, values: dict[str, Any]) -> None:
        session = self.app.session
        try:
            service = session.actions
        except Exception:  # the demo's API could not start: the action waits in the outbox
            service = session.local_actions
        try:
            result: Any = service.run(self.action, confirm=True, **values)
        except (ActionError, NotOffered, ApiError, ConfigError) as exc:  # said in the dialog
            result = exc
        # Anything else is a failure of the work: the app's one handler tells it, and
        # worker_failed below gives the dialog its keys back.
        self.post_message(self.Done(result))

    def worker_failed(self, group: str, error: BaseException) -> None:
        """The action's worker failed after the app was told: the dialog takes keys again."""
        self.running = False
        self.armed = False
        self.query_one("#verdict", Static).update(
            Text(
                f"✘ {getattr(error, 'message', None) or error} (see Sync & outbox, F5, for what "
                "was queued or sent before trying again)"
            )
        )

    def on_action_screen_done(self, message: Done) -> None:
        result = message.result
        self.running = False
        self.armed = False
        if isinstance(result, Outcome):
            self.dismiss(result)
            return
        verdict = self.query_one("#verdict", Static)
        if isinstance(result, ActionRefused):
            verdict.update(Text(f"✘ Refused by rule {result.rule}: {result.message}"))
        elif isinstance(result, NotOffered):
            verdict.update(Text(f"✘ {result}"))
        elif isinstance(result, (ActionInvalid, ConfirmationRequired)):
            verdict.update(Text(f"⚠ {result}"))
        else:
            verdict.update(Text(f"✘ {getattr(result, 'message', result)}"))

    # $EDITOR for long text -------------------------------------------------------------------

    def action_editor(self) -> None:
        area = next((w for w in self.query(TextArea)), None)
        if area is None:
            return
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        with tempfile.NamedTemporaryFile(
            "w+", suffix=".txt", delete=False, encoding="utf-8"
        ) as handle:
            handle.write(area.text)
            path = handle.name
        try:
            os.chmod(path, 0o600)
            with self.app.suspend():
                subprocess.run([*shlex.split(editor), path], check=False)
            with open(path, encoding="utf-8") as edited:
                area.text = edited.read().rstrip("\n")
        except Exception as exc:  # no terminal to suspend, editor missing: say so
            self.notify(f"Could not run {editor}: {exc}", severity="error")
        finally:
            os.unlink(path)
        area.focus()

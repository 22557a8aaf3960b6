"""Leaving a form with changes asks first; leaving one untouched just leaves."""

from __future__ import annotations

from typing import Any

from textual.widgets import Checkbox, Input, Select, TextArea


def form_state(screen: Any) -> tuple[tuple[str | None, Any], ...]:
    """What the agent can have typed or chosen on the screen, field by field."""
    out = []
    for widget in screen.query("Input, TextArea, Checkbox, Select"):
        if isinstance(widget, TextArea):
            out.append((widget.id, widget.text))
        elif isinstance(widget, (Input, Checkbox, Select)):
            out.append((widget.id, widget.value))
    return tuple(out)


class AsksBeforeLeaving:
    """Mixin for a Screen bound to ``leave``: esc with changes asks, y leaves, n stays."""

    LEAVE_RESULT: Any = None
    LEAVE_QUESTION = "Leave? What you typed here is thrown away (n goes back to it)."

    def _post_mount(self) -> None:
        super()._post_mount()  # type: ignore[misc]
        # After on_mount: the values the screen filled in itself are the starting point.
        self._form_start = self.typed_state()

    def typed_state(self) -> Any:
        """What leaving would lose; a screen with more than fields adds its own."""
        return form_state(self)

    def action_leave(self) -> None:
        from srm_tui.screens.offer_dialog import ConfirmDialog

        if self.typed_state() == getattr(self, "_form_start", None):
            self.dismiss(self.LEAVE_RESULT)  # type: ignore[attr-defined]
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.dismiss(self.LEAVE_RESULT)  # type: ignore[attr-defined]

        self.app.push_screen(ConfirmDialog(self.LEAVE_QUESTION), answered)  # type: ignore

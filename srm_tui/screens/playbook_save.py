"""The playbook screen's save: ctrl+s writes the rules as edited as the next version through
``session.playbook.save`` (in a worker: it writes the cache), after the cache's check finds
nothing wrong with them. A version someone saved since the one opened is said plainly, naming
who and when, with the choice to reload it; a failure is said and the edits stay."""

from __future__ import annotations

from typing import Any

from textual.message import Message
from textual.screen import Screen

from srm_tui.domain.text import visible
from srm_tui.domain.time import utc
from srm_tui.playbook.model import Playbook, Rule
from srm_tui.screens.playbook_text import problem_text
from srm_tui.screens.workers import work


class PlaybookSaving(Screen):
    """Base of the playbook screen: it holds ``base`` (the version the edits start from),
    ``rules``, ``saved`` ((saved_at, saved_by) of the base), ``problems`` and ``running``."""

    base: Playbook | None
    rules: list[Rule]
    saved: tuple[int, str | None] | None
    problems: list[Any]
    running: bool

    def _ready(self) -> bool:  # pragma: no cover - the screen's
        raise NotImplementedError

    def _verdict(self, text: str | None = None) -> None:  # pragma: no cover - the screen's
        raise NotImplementedError

    def _fill(self, cursor: int | None = None) -> None:  # pragma: no cover - the screen's
        raise NotImplementedError

    def _load(self) -> None:  # pragma: no cover - the screen's
        raise NotImplementedError

    @property
    def dirty(self) -> bool:
        return self.base is not None and tuple(self.rules) != self.base.rules

    # saving -------------------------------------------------------------------------------------

    def action_save(self) -> None:
        if not self._ready():
            return
        if not self.dirty:
            self.notify("Nothing to save: the playbook is as saved.")
            return
        self.running = True
        self._verdict("Saving…")
        assert self.base is not None
        self._save(Playbook(self.base.version, tuple(self.rules)), self.base.version)

    class Saved(Message):
        """A save ran: the playbook saved, or the error that stopped it."""

        def __init__(self, result: Any) -> None:
            super().__init__()
            self.result = result

    @work(thread=True, exclusive=True, group="playbook-save")
    def _save(self, pb: Playbook, base_version: int) -> None:
        service = self.app.session.playbook
        try:
            problems = service.check(pb)
            if problems:
                result: Any = ("refused", problems)
            else:
                saved = service.save(pb, base_version=base_version)
                result = (saved, service.versions())
        except Exception as exc:  # a conflict or a failure: said here, the edits stay
            result = exc
            if hasattr(exc, "current"):  # a conflict: who saved the newer version, and when
                try:
                    result = (exc, service.versions())
                except Exception:  # the conflict is said without the name
                    pass
        self.post_message(self.Saved(result))

    def on_playbook_saving_saved(self, message: Saved) -> None:
        from srm_tui.playbook.service import PlaybookConflict

        self.running = False
        result = message.result
        if isinstance(result, tuple) and isinstance(result[0], PlaybookConflict):
            self._conflict(*result)
            return
        if isinstance(result, PlaybookConflict):
            self._conflict(result, [])
            return
        if isinstance(result, Exception):
            self._verdict(f"✘ Not saved: {visible(getattr(result, 'message', result), 200)}")
            return
        if result[0] == "refused":
            self.problems = list(result[1])
            self._verdict(f"✘ Not saved: {problem_text(self.problems[0])}")
            return
        pb, versions = result
        self.base = pb
        self.rules = list(pb.rules)
        self.saved = next(((at, by) for v, at, by in versions if v == pb.version), None)
        self.problems = []
        self._fill()
        self.notify(f"Playbook saved as version {pb.version}.")

    def _conflict(self, error: Any, versions: list[tuple[int, int, str | None]]) -> None:
        """Someone saved a newer version: said plainly, with the choice to reload it."""
        from srm_tui.screens.offer_dialog import ConfirmDialog

        newer = getattr(error, "current", None)
        who = next(
            (
                f"{visible(by or 'an unnamed agent', 40)} saved version {v} at {utc(at)} UTC"
                for v, at, by in versions
                if v == newer
            ),
            f"version {newer} was saved",
        )
        opened = self.base.version if self.base else 0
        self._verdict(f"✘ Not saved: {who}, after the version {opened} you opened.")

        def answered(reload: bool | None) -> None:
            if reload:
                self.base = None
                self.rules = []
                self._fill()
                self._load()

        self.app.push_screen(
            ConfirmDialog(
                f"Not saved: {who}, after the version {opened} you opened.\n"
                f"y reloads version {newer} (your changes here are thrown away); n keeps your "
                "changes on screen to compare."
            ),
            answered,
        )

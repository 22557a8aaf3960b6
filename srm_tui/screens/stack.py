"""The console's guards around Textual's screen stack and its keys, kept apart from the app's
own work (srm_tui.app): a stale dismiss or pop does nothing, a failed background task or a
handler of a screen already closed never closes the console, keys typed while a screen opens
wait for it, pasted control bytes never reach a field.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from textual import events
from textual.await_complete import AwaitComplete


def _guard_list_paging() -> None:
    """Textual 8.2's OptionList (the command palette's list) raises KeyError on PageUp or
    PageDown pressed before it has laid out its lines: a fast ctrl+p, pagedown closed the
    console. Until its lines exist there is no page to move by, so the key does nothing."""
    from textual.widgets import OptionList

    move_page = OptionList._move_page
    if getattr(move_page, "_srm_guarded", False):
        return

    def guarded(self: OptionList, direction: Any) -> None:
        self._update_lines()
        if (self.highlighted or 0) not in self._index_to_line:
            return
        move_page(self, direction)

    guarded._srm_guarded = True  # type: ignore[attr-defined]
    OptionList._move_page = guarded  # type: ignore[method-assign]


def _guard_stale_dismiss() -> None:
    """A screen dismisses itself only while it is the screen on top. Keys typed fast are
    queued to the screen that had focus when they were read, so a dialog's ctrl+s then Esc
    could both run: the second dismiss answered a result already given (InvalidStateError)
    or popped the screen below it. Textual let such a call through; here it does nothing."""
    from textual.screen import Screen

    dismiss = Screen.dismiss
    if getattr(dismiss, "_srm_guarded", False):
        return

    def guarded(self: Screen, result: Any = None) -> AwaitComplete:
        try:
            on_top = self.app.screen is self
        except Exception:  # no app or no screen any more: nothing to dismiss
            on_top = False
        if not on_top:
            return AwaitComplete.nothing()
        return dismiss(self, result)

    guarded._srm_guarded = True  # type: ignore[attr-defined]
    Screen.dismiss = guarded  # type: ignore[method-assign]


_guard_list_paging()
_guard_stale_dismiss()

# Terminal control bytes (C0 but tab and newline, DEL, C1): never typed into a field.
_PASTE_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def plain_text(text: object) -> str:
    """Text with its terminal control bytes shown escaped (for notices)."""
    return _PASTE_CONTROL.sub(
        lambda m: m.group().encode("unicode_escape").decode("ascii"), str(text)
    )


def kept_screen(app: Any, name: str) -> tuple[Any, bool]:
    """The screen kept installed under ``name`` to be refilled (None when there is none) and
    whether it is free: in no mode's stack, so it may be refilled and pushed again."""
    kept = app.get_screen(name) if app.is_screen_installed(name) else None
    free = kept is not None and all(kept not in stack for stack in app._screen_stacks.values())
    return kept, free


def push_new_kept(app: Any, name: str, screen: Any, kept: Any, free: bool) -> None:
    """Push ``screen``, a new one, where ``kept`` (kept_screen's) could not be refilled: it
    takes the kept one's place when that one is free or missing (a free one that cannot be
    refilled goes); while the kept one is in use, the new one is pushed and dropped after."""
    if kept is not None and free:
        app.uninstall_screen(kept)
        kept.remove()
    if kept is None or free:
        app.install_screen(screen, name)
    app.push_screen(screen)


class StackGuards:
    """Mixin for the App (before ``App`` in its bases)."""

    _screen_stack: list[Any]
    crashed: BaseException | None

    def pop_screen(self) -> AwaitComplete:
        """Pop the top screen, unless the request comes from a screen that is no longer on
        top. Keys typed fast are queued to the screen that had focus when they were read:
        a second Esc (or a second ctrl+s that dismisses a dialog) then runs for a screen
        already popped, and would pop the one below it, or the mode's last screen
        (ScreenStackError, the console gone). Such a stale request is dropped."""
        origin = self._origin_screen()
        if (
            len(self._screen_stack) <= 1
            or origin is False
            or (origin is not None and origin is not self.screen)
        ):
            return AwaitComplete.nothing()
        return super().pop_screen()

    def _origin_screen(self) -> Any:
        """The screen whose handler is running now (None: the app itself; False: a widget
        no longer on any screen)."""
        from textual._context import active_message_pump
        from textual.screen import Screen

        pump = active_message_pump.get(None)
        if pump is None or pump is self:
            return None
        if isinstance(pump, Screen):
            return pump
        try:
            return pump.screen  # a widget: the screen it sits on
        except Exception:  # detached from its screen: its screen is gone
            return False

    def action_command_palette(self) -> None:
        """ctrl+p: the palette, once. Textual gives every palette the same id, so a palette
        opened while the one just closed is still leaving the screen (ctrl+p, Esc, ctrl+p
        typed fast) crashed with DuplicateIds; this one has none and opens only if no
        palette is already in the stack."""
        from textual.command import CommandPalette

        if not self.use_command_palette or any(
            isinstance(s, CommandPalette) for s in self.screen_stack
        ):
            return
        self.push_screen(CommandPalette())

    async def action_pop_screen(self) -> None:
        """Back (Esc, q): the top screen goes, never the mode's last one."""
        self.pop_screen()

    def _handle_exception(self, error: Exception) -> None:
        from textual.worker import WorkerFailed

        if isinstance(error, WorkerFailed):
            # A background task failed (a query, the palette's search of a palette already
            # closed): say so and keep the console; the traceback goes to the crash log.
            from srm_tui.exits import write_crash_log

            cause = error.error
            log = write_crash_log(cause)
            where = f" (details in {log})" if log else ""
            self.notify(
                f"A background task failed: {type(cause).__name__}: {cause}{where}",
                severity="error",
                timeout=10,
            )
            return
        origin = self._origin_screen()
        if origin is False or (origin is not None and origin not in self.screen_stack):
            # A handler of a screen already closed (opened and left again by keys typed
            # faster than it could mount) found its widgets gone: nothing is lost with it,
            # so the console stays; the traceback goes to the crash log all the same.
            from srm_tui.exits import write_crash_log

            write_crash_log(error)
            return
        # Kept so the launcher can exit non-zero with one line and the traceback in a log
        # (srm_tui.launch); Textual's own full-screen traceback is not printed.
        self.crashed = error
        super()._handle_exception(error)
        self._exit_renderables.clear()

    async def on_event(self, event: events.Event) -> None:
        # Keys typed while a screen opens belong to it (a title typed right after "n 1"):
        # held until it has mounted and focused its first field, then handled in order.
        if isinstance(event, events.Key) and not self._screen_stack:
            # The last screen is gone (the app is closing): a key still queued has nowhere
            # to go, and asking for the screen would raise ScreenStackError.
            return
        if isinstance(event, events.Key) and not event.is_forwarded:
            held = self.__dict__.setdefault("_held_keys", [])
            if held or not self.screen.is_mounted:
                held.append(event)
                if len(held) == 1:
                    self._key_release = asyncio.create_task(self._release_keys())
                return
            event._srm_screen = self.screen  # type: ignore[attr-defined]
        elif (
            isinstance(event, events.Key)
            and getattr(event, "_srm_screen", self.screen) is not self.screen
        ):
            # Sent to a widget of the screen an earlier key of the same burst closed or
            # covered: it was typed for the screen now on top, so it starts again there.
            self.post_message(events.Key(event.key, event.character))
            return
        # Pasted text is untrusted (a ticket, an email): a field would echo its escape
        # sequences to the terminal and send them to the API, so its control bytes go here.
        if isinstance(event, events.Paste) and not event.is_forwarded:
            text = event.text.replace("\r\n", "\n").replace("\r", "\n")
            clean = _PASTE_CONTROL.sub("", text)
            if clean != event.text:
                event = events.Paste(clean)
        await super().on_event(event)

    async def _release_keys(self) -> None:
        """Post the held keys again, in order, once the screen on top has mounted."""
        while self._screen_stack and not self.screen.is_mounted:
            await self.screen._mounted_event.wait()
        if not self._screen_stack:
            self._held_keys = []
            return
        held, self._held_keys = self._held_keys, []
        for key in held:
            self.post_message(key)

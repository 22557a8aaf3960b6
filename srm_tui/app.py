"""The srm App: the screens, the status line, and sync in the background."""

from __future__ import annotations

import time
from typing import Any

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.reactive import reactive

from srm_tui import runtime
from srm_tui.config import Settings
from srm_tui.storage.cache import Cache
from srm_tui.sync.engine import Progress


def _ago(ts: int | None, now: float) -> str:
    if ts is None:
        return "never synced"
    minutes = int((now - ts) // 60)
    if minutes < 1:
        return "synced just now"
    if minutes < 120:
        return f"synced {minutes} min ago"
    return f"synced {minutes // 60} h ago"


class SrmApp(App):
    """Keyboard-first console over the local cache."""

    TITLE = "srm"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [Binding("ctrl+q", "quit", "Quit", id="app.quit", priority=True)]

    status_text = reactive("")

    def __init__(self, settings: Settings, cache: Cache, **kw: Any) -> None:
        super().__init__(**kw)
        self.settings = settings
        self.cache = cache
        self.demo = settings.is_demo
        self.demo_sandbox: runtime.DemoSandbox | None = None
        self.online: bool | None = None
        self.sync_state = ""
        self.animation_level = "none"

    def on_mount(self) -> None:
        from srm_tui.screens.customers import CustomersScreen

        self.push_screen(CustomersScreen())
        self.refresh_status()
        self.set_interval(30, self.refresh_status)
        if self.demo or self.settings.api_url:
            self.background_sync()

    def refresh_status(self) -> None:
        parts = []
        if self.demo:
            parts.append("DEMO")
        if not (self.demo or self.settings.api_url):
            parts.append("offline (no API configured)")
        elif self.online is False:
            parts.append("offline")
        elif self.online:
            parts.append("online")
        if self.sync_state:
            parts.append(self.sync_state)
        else:
            last = self.cache.get_meta("last_sync_at")
            parts.append(_ago(int(last) if last else None, time.time()))
        parts.append(f"agent {self.settings.agent} ({self.settings.role})")
        self.status_text = " · ".join(parts)

    def _progress(self, p: Progress) -> None:
        total = f"/{p.total:,}" if p.total else ""
        self.sync_state = f"syncing {p.entity} {p.done:,}{total} ({p.rate:,.0f}/s)"
        self.call_from_thread(self.refresh_status)

    @work(thread=True, exclusive=True, group="sync")
    def background_sync(self) -> None:
        """Sync in a worker thread; only messages and call_from_thread reach the UI."""
        settings = self.settings
        try:
            if self.demo:
                self.sync_state = "starting the demo sandbox…"
                self.call_from_thread(self.refresh_status)
                self.demo_sandbox = runtime.start_demo_sandbox()
                settings = runtime.demo_settings(settings, self.demo_sandbox)
            self.sync_state = "syncing…"
            self.call_from_thread(self.refresh_status)
            summary = runtime.sync_now(settings, self.cache, progress=self._progress)
            self.online = True
            self.sync_state = "" if summary.ok else f"sync: {summary.errors[0]}"
        except Exception as exc:  # shown on the status line; the cache stays usable
            self.online = False
            self.sync_state = f"sync failed: {getattr(exc, 'message', exc)}"
        self.call_from_thread(self._after_sync)

    def _after_sync(self) -> None:
        self.refresh_status()
        screen = self.screen
        if hasattr(screen, "action_reload"):
            screen.action_reload()

    def on_unmount(self) -> None:
        if self.demo_sandbox:
            self.demo_sandbox.stop()

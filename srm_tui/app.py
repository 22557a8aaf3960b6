"""The srm App: modes, the binding registry, the status line, sync in the background.

Over 400 lines: the App is the one place modes, the status line, the background sync and
push and the worker-failure handler meet; screens hold everything else.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import events
from textual.app import App
from textual.message import Message
from textual.reactive import reactive

from srm_tui.bindings import bindings
from srm_tui.config import Settings
from srm_tui.domain.text import clip, count
from srm_tui.domain.time import ago
from srm_tui.screens.stack import StackGuards, plain_text
from srm_tui.screens.workers import ApiReached, DataChanged, WorkFailed, work
from srm_tui.widgets import css_once
from srm_tui.widgets.workers import StoreChanged

css_once.install()  # srm.tcss parsed once per theme, not at every new widget class

if TYPE_CHECKING:
    from srm_tui.api.profile import ApiProfile
    from srm_tui.storage.cache import Cache
    from srm_tui.sync.engine import Progress


def _screen(module: str, name: str):
    """Screens are imported when their mode first opens, keeping start-up light."""
    import importlib

    return getattr(importlib.import_module(f"srm_tui.screens.{module}"), name)()


def _commands():
    from srm_tui.commands import SrmCommands

    return SrmCommands


# What the first open of each screen, dialog and the palette would otherwise import while the
# agent waits (the customer screen's actions and API client alone were ~0.45 s of a first
# Enter on a busy machine): imported on a thread once the console has painted and sat idle.
WARM_MODULES = (
    "textual.widgets._data_table",
    "textual.widgets._tabbed_content",
    "srm_tui.screens.customer",
    "srm_tui.screens.action",
    "srm_tui.domain.models",
    "srm_tui.domain.money:warm",  # Babel's locale and currency data, read on first use
    "srm_tui.screens.segments",
    "srm_tui.segments.service",
    "srm_tui.segments.overview",
    "srm_tui.segments.schedules",
    "srm_tui.screens.segment_builder",
    "srm_tui.screens.segment_condition",
    "srm_tui.screens.offers",
    "srm_tui.storage.reads.offers",
    "srm_tui.offers.service",
    "srm_tui.offers.drafts",
    "srm_tui.screens.offer_editor",
    "srm_tui.screens.sync",
    "srm_tui.screens.outbox_item",
    "srm_tui.writes.kinds",
    "srm_tui.screens.help",
    "rich._emoji_codes",  # read by the first table cell given as markup
    "textual.command",
    "srm_tui.commands",
)


# The collector's thresholds as the process had them before a console deferred its full
# passes (read once: consoles run one after another in a test process).
_COLLECTOR: dict[str, tuple[int, int, int]] = {}


def _warm(stop: threading.Event, app: SrmApp) -> None:
    """Import WARM_MODULES one by one until done or told to stop (the console exits), then
    set what is loaded aside from the garbage collector (see _start_warming). Each import
    waits for a second without keys: an agent typing has the CPU, not the warm-up. A
    ``module:function`` entry also calls that function (data a module loads on first use)."""
    import gc
    import importlib

    for name in WARM_MODULES:
        while not stop.is_set() and time.monotonic() - app.key_at < app.WARM_QUIET:
            stop.wait(0.1)
        if stop.is_set():
            return
        try:
            module, _, function = name.partition(":")
            loaded = importlib.import_module(module)
            if function:
                getattr(loaded, function)()
        except Exception:  # a warm-up never fails the console: the screen imports the
            return  # module again when opened and reports a real error there
    if not stop.is_set():
        gc.freeze()


class SrmApp(StackGuards, App):
    """Keyboard-first console over the local cache."""

    TITLE = "srm"
    # The screens' one stylesheet, by absolute path: Textual resolves a relative one beside
    # the module of the class, which for a subclass elsewhere (a test's) is the wrong folder.
    CSS_PATH = Path(__file__).parent / "srm.tcss"
    BINDINGS = bindings("app")
    # The palette's provider is imported when the palette first opens, not before the first frame.
    COMMANDS = {_commands}
    COMMAND_PALETTE_BINDING = "ctrl+p"
    DEFAULT_MODE = "customers"  # start in the list itself: no throwaway first screen
    MODES = {
        "customers": lambda: _screen("customers", "CustomersScreen"),
        "segments": lambda: _screen("segments", "SegmentsScreen"),
        "offers": lambda: _screen("offers", "OffersScreen"),
        "sync": lambda: _screen("sync", "SyncScreen"),
    }

    status_text = reactive("")
    # Seconds between looks while actions wait and the API was away: a dead API refuses the
    # connection at once (two quick connects, see RetryPolicy), so a short look costs little
    # and what waited goes within seconds of the API answering again.
    RETRY_EVERY = 5.0
    # Seconds between reads of a team store that others change: a slow fallback, since the
    # store's change feed tells the console of each change as it is committed.
    TEAM_RELOAD_EVERY = 30.0
    SYNC_STATE_CELLS = 60  # a sync failure's reason on the status line (F5 has it whole)
    CHANGES_WAIT = 1.0  # how long one look at the change feed waits (and ends at exit)
    CHANGES_GAP = 0.25  # seconds at least between two StoreChanged
    WARM_AFTER = 1.0  # seconds after the first frame before the warm-up (see _start_warming)
    # Full collections wait for a pause in the keys (collect_when_idle) up to this many times
    # their usual due point, where the collector runs one itself.
    GC_DEFER = 20
    WARM_QUIET = 1.0  # seconds without a key before each of the warm-up's imports

    class SyncProgress(Message):
        """The background sync moved on: the status line shows where it is now
        (``sync_state``, written by the sync's thread)."""

    class OutboxPushed(Message):
        """Queued actions were sent before a sync: how many went, how many conflict."""

        def __init__(self, sent: int, conflicts: int) -> None:
            super().__init__()
            self.sent = sent
            self.conflicts = conflicts

    class CustomerFetched(Message):
        """The API's answer to fetching one customer: its id, None, or why it failed."""

        def __init__(self, value: Any, found: int | None, error: str | None = None) -> None:
            super().__init__()
            self.value = value
            self.found = found
            self.error = error

    def __init__(
        self, settings: Settings, cache: Cache, *, sync_on_start: bool = True, **kw: Any
    ) -> None:
        super().__init__(**kw)
        from srm_tui.session import Session

        # The composition root: screens reach the cache, the API and the services through it.
        self.session = Session(settings, cache)
        self.settings = settings
        self.cache = cache
        self.demo = settings.is_demo
        self.sync_on_start = sync_on_start
        self.online: bool | None = None
        self.sync_state = ""
        self.animation_level = "none"
        self.crashed: BaseException | None = None
        self._changes_stop = threading.Event()  # ends the change feed's thread at exit
        self._warm_stop = threading.Event()
        self.key_at = 0.0  # time.monotonic() of the last key (the warm-up waits for a pause)
        self._warm_thread: threading.Thread | None = None
        self._gc_thresholds = (700, 10, 10)  # the collector's own, read when deferred
        if settings.keymap:
            self.set_keymap(settings.keymap)

    def on_mount(self) -> None:
        if self.settings.theme in self.available_themes:
            self.theme = self.settings.theme
        self.refresh_status()
        self.set_interval(30, self.refresh_status)
        if not self.session.pulls_from_api:
            # The team store changes under this console (the team's sync, other agents'
            # notes): the screen reads it again now and then.
            self.set_interval(self.TEAM_RELOAD_EVERY, self._reload_screen)
        self.set_interval(self.RETRY_EVERY, self.retry_when_back)
        feed = self.session.change_feed()
        if feed is not None:  # the team store: others' changes are shown as they come
            self._watch_changes(feed, self._changes_stop)
        # A replica's push needs no API: it forwards to its team store (team/forward.py).
        if self.sync_on_start and (self.demo or self.settings.api_url or self.session.replica):
            self.background_sync()
        self.call_after_refresh(self.set_timer, self.WARM_AFTER, self._start_warming)

    def _start_warming(self) -> None:
        """Pre-import what the first opens need, on a thread, and take what start-up loaded
        out of the collector's sight: a full collection walked every module, class and
        stylesheet rule each time (150-450 ms a pause, every other key on a busy machine);
        frozen objects are still freed by their reference counts, and the exit gives them
        back to the collector (on_unmount), for whatever runs after this console in its
        process."""
        import gc

        if self._warm_stop.is_set():
            return
        gc.freeze()
        self._warm_thread = threading.Thread(
            target=_warm, args=(self._warm_stop, self), name="srm-warm", daemon=True
        )
        self._warm_thread.start()
        own = _COLLECTOR.setdefault("own", gc.get_threshold())
        self._gc_thresholds = young, middle, full = own
        gc.set_threshold(young, middle, full * self.GC_DEFER)
        self.set_interval(self.WARM_QUIET, self.collect_when_idle)

    def collect_when_idle(self, now: float | None = None) -> bool:
        """The collector's full passes, run between keys: the console defers them (see
        _start_warming) and runs one here once one is due and no key came for WARM_QUIET
        seconds; a console never idle still gets one when GC_DEFER times overdue. A full
        pass was 100-350 ms on a busy machine, landing on whichever key came next. True
        when it collected."""
        import gc

        due = gc.get_count()[2]
        full = self._gc_thresholds[2]
        now = time.monotonic() if now is None else now
        if due >= full and now - self.key_at >= self.WARM_QUIET:
            gc.collect()
            return True
        return False

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            self.key_at = time.monotonic()
        await super().on_event(event)

    # status ------------------------------------------------------------------------------

    def refresh_status(self) -> None:
        parts = []
        if self.demo:
            parts.append("DEMO")
        if self.session.replica is not None:  # a subset of the team store, read offline
            parts.append(self.session.replica.label())
        elif not (self.demo or self.settings.api_url):
            parts.append("offline (no API configured)")
        elif self.online is False:
            parts.append("offline")
        elif self.online:
            parts.append("online")
        status = self.session.status()
        # What waits on the agent comes before the sync's state: a failure's reason can be
        # long, and a line cut at the terminal's edge must still say what is pending.
        if status.pending:
            parts.append(f"{count(status.pending, 'action')} pending")
        if status.drafts:
            parts.append(f"{count(status.drafts, 'offer draft')} pending")
        if status.decide:
            parts.append(f"{count(status.decide, 'conflict')} (F5)")
        if self.sync_state:
            parts.append(clip(self.sync_state, self.SYNC_STATE_CELLS))  # whole on F5
        elif status.last_sync_at is None:
            parts.append("never synced")
        else:
            parts.append(f"synced {ago(status.last_sync_at, self.settings.now_ts())}")
        if not self.session.pulls_from_api:
            parts[-1] += " by the team's srm sync"
            if self.session.waiting_for_writer():  # this agent's refreshes not served yet
                parts.append("waiting for the team's sync")
        profile = self.api_profile()
        if profile is not None:  # which API: the vendor's published calls, or the sandbox
            parts.append(profile.title)
        parts.append(f"{self.settings.agent} ({self.settings.role})")
        self.status_text = " · ".join(parts)

    # the API -------------------------------------------------------------------------------

    def api_settings(self) -> Settings | None:
        """Settings that reach an API (the demo's in-process sandbox included), or None."""
        return self.session.api_settings()

    def api_profile(self) -> ApiProfile | None:
        """The connected API's profile as last detected (None before the first contact)."""
        return self.session.profile()

    def fetch_customer(self, **what: Any) -> int | None:
        """On-demand fetch of one customer (call from a worker thread)."""
        return self.session.fetch_customer(**what)

    def open_customer(self, customer_id: int) -> None:
        from srm_tui.screens.customer import open_customer

        if self.current_mode != "customers":
            self.switch_mode("customers")
        open_customer(self, customer_id)

    def segment_runner(self):
        """The segment runner of this cache: one per console, so counts share its memo and
        (on a large cache) its worker processes."""
        return self.session.segments

    def action_segment_membership(self) -> None:
        """Add the open customer to static segments, or take them out (the customer screen's
        `m`; from the palette too)."""
        from srm_tui.screens.segment_dialogs import open_membership

        open_membership(self)

    def action_playbook(self) -> None:
        """The retention playbook, over the Segments mode (F3's P; F6; the palette)."""
        from srm_tui.screens.playbook import PlaybookScreen

        if self.current_mode != "segments":
            self.switch_mode("segments")
        if not any(isinstance(s, PlaybookScreen) for s in self.screen_stack):
            self.push_screen(PlaybookScreen())

    def open_token(self, token: str) -> None:
        from srm_tui.screens.token import TokenScreen

        if self.current_mode != "customers":
            self.switch_mode("customers")
        self.push_screen(TokenScreen(token))

    @work(thread=True, group="fetch")
    def fetch_and_open(self, kind: str, value: Any) -> None:
        try:
            found = self.fetch_customer(**{kind: value})
        except Exception as exc:  # offline or refused: told, nothing opens
            self.post_message(self.CustomerFetched(value, None, getattr(exc, "message", str(exc))))
            return
        self.post_message(self.CustomerFetched(value, found))

    def on_srm_app_customer_fetched(self, message: CustomerFetched) -> None:
        if message.error is not None:
            self.notify(f"Could not fetch {message.value}: {message.error}", severity="error")
        elif message.found:
            self.open_customer(message.found)
        else:
            self.notify(f"The API has no customer for {message.value}.", severity="warning")

    # sync ----------------------------------------------------------------------------------

    def action_sync_now(self) -> None:
        if not (self.demo or self.settings.api_url or self.session.replica):
            self.notify("No API configured: this cache is read offline.", severity="warning")
            return
        self.background_sync()

    def action_help(self) -> None:
        from srm_tui.screens.help import HelpScreen

        self.push_screen(HelpScreen())

    def _progress(self, p: Progress) -> None:
        self.sync_state = p.line()
        self.post_message(self.SyncProgress())
        if p.entity == "customers" and time.monotonic() >= self._next_fill:
            # A first sync (the demo's first start): the empty list shows the customers
            # written so far, again at most every FILL_EVERY seconds, not only once all
            # have come; the status line says how far the sync is.
            self._next_fill = time.monotonic() + self.FILL_EVERY
            self.call_from_thread(self._show_arrived)
        if p.entity != self._synced_entity:
            # Customers arrive first: show them while the rest of their records follow.
            if self._synced_entity == "customers":
                # Not a message: call_from_thread re-raises a failed reload here, so it is this
                # sync's failure (shown on the status line), and the pull waits for the list.
                self.call_from_thread(self._reload_screen)
            self._synced_entity = p.entity

    FILL_EVERY = 1.0  # seconds between two reloads of a list filling in a first sync

    def _show_arrived(self) -> None:
        """Reload the customer list while it fills from empty during this sync."""
        from srm_tui.widgets.customer_table import CustomerTable

        if not self.screen.is_mounted:
            return
        tables = self.screen.query(CustomerTable)
        if not tables or getattr(self.screen, "query_text", ""):
            return
        if self._filling is None:  # this sync's first customers page: was the list empty?
            self._filling = tables.first().count == 0
        if self._filling:
            self._reload_screen()

    def _reload_screen(self) -> None:
        # A screen pushed but not yet mounted (Enter on a result as a sync page lands) is
        # still composing its widgets; its own on_mount reads the cache as it is then.
        if not self.screen.is_mounted:
            return
        reload = getattr(self.screen, "action_reload", None)
        if reload:
            reload()

    @work(thread=True, exclusive=True, group="sync")
    def background_sync(self) -> None:
        """Sync in a worker thread: its progress goes up as messages; the screen is reloaded
        from here (call_from_thread), so a reload that fails is this work's failure."""
        self._synced_entity = ""
        self._filling: bool | None = None  # the list was empty at this sync's first page
        self._next_fill = 0.0
        try:
            self.sync_state = "connecting…"
            self.post_message(self.SyncProgress())
            self._push_outbox()
            if not self.session.pulls_from_api:
                # The team store: its records come from the team's srm sync, not this login.
                self.sync_state = ""
                self.call_from_thread(self._after_sync)
                return
            self.sync_state = "syncing…"
            self.post_message(self.SyncProgress())
            with self.session.client() as client:
                engine = self.session.sync_engine(client, progress=self._progress)
                summary = engine.run()
            self.online = True
            self.sync_state = "" if summary.ok else f"sync: {summary.errors[0]}"
        except Exception as exc:  # shown on the status line; the cache stays usable
            self.online = False
            self.sync_state = f"sync failed: {getattr(exc, 'message', exc)}"
        # Not a message: the status and the screen are settled before this worker ends, so a
        # sync started next (the group is exclusive) never meets the last one's reload.
        self.call_from_thread(self._after_sync)

    def _push_outbox(self) -> None:
        """Send what waited in the outbox before pulling, so the pull sees it applied."""
        if self.settings.role == "viewer" or not self.session.cache_state.has_pending():
            return
        self.sync_state = "sending queued actions…"
        self.post_message(self.SyncProgress())
        summary = self.session.actions.push()
        if summary.sent:
            self.online = True  # the push got through: the line says so before the pull
        if summary.sent or summary.conflicts:
            self.post_message(self.OutboxPushed(len(summary.sent), len(summary.conflicts)))
        if summary.stopped:
            raise RuntimeError(f"outbox: {summary.stopped}")

    # the team's changes ---------------------------------------------------------------------

    def _watch_changes(self, feed: Any, stop: threading.Event) -> None:
        """Wait on the store's change feed for the console's life, in a thread of its own;
        each batch of changes goes up as one StoreChanged. Not a Textual worker: it never
        finishes, and waiting for the console's workers to finish must still end."""
        threading.Thread(
            target=self._changes_loop, args=(feed, stop), name="srm-store-changes", daemon=True
        ).start()

    def _changes_loop(self, feed: Any, stop: threading.Event) -> None:
        told = False  # an unforeseen failure is told once, not every second it lasts
        try:
            while not stop.is_set():
                try:
                    changes = feed.wait(self.CHANGES_WAIT)  # takes a lost connection up again
                except Exception as error:  # told like any background work's failure, and
                    # the feed is taken up again: a console whose feed thread ended would never
                    # again show another agent's change
                    if not told:
                        self.post_message(WorkFailed(self, "store-changes", error))
                        told = True
                    feed.close()  # the next wait connects afresh and reads from its floor
                    stop.wait(self.CHANGES_WAIT)
                    continue
                told = False
                if changes and not stop.is_set():
                    self.post_message(StoreChanged.of(changes))
                    # A sync commits many pages a second: what comes meanwhile is read as one
                    # batch, so the screen is not read again for every page.
                    stop.wait(self.CHANGES_GAP)
        finally:
            feed.close()

    def on_store_changed(self, message: StoreChanged) -> None:
        """Others changed the store: the status line counts again, and the screen on top
        shows what concerns it (a form open over a customer is left alone: the customer
        reloads when the form closes). A read that fails here is told, never fatal."""
        try:
            self.refresh_status()
            hook = getattr(self.screen, "store_changed", None)
            if hook is not None and self.screen.is_mounted:
                hook(message)
        except Exception as error:  # the store went away between the feed's read and these
            self.worker_failed(self, "store-changes", error)

    def on_srm_app_sync_progress(self, message: SyncProgress) -> None:
        self.refresh_status()

    def on_srm_app_outbox_pushed(self, message: OutboxPushed) -> None:
        if message.sent:
            self.notify(f"{count(message.sent, 'queued action')} sent.")
        if message.conflicts:
            self.notify(
                f"{count(message.conflicts, 'queued action')} "
                f"{'conflicts' if message.conflicts == 1 else 'conflict'} with changes "
                "made meanwhile: see Sync & outbox (F5).",
                severity="warning",
                timeout=10,
            )

    def api_answered(self) -> None:
        """The API just took a call: the status line stops saying it is away or failed."""
        if self.demo or self.settings.api_url:
            self.online = True
            if self.sync_state.startswith(("sync failed", "sync:")):
                self.sync_state = ""
        self.refresh_status()

    def retry_when_back(self) -> None:
        """While actions wait and the API was out of reach, try again now and then."""
        if (
            self.online is False
            and (self.demo or self.settings.api_url)
            and self.session.cache_state.has_pending()
            # one look at a time: a slow API is not asked again while the last look waits
            and not any(w.group == "sync" and not w.is_finished for w in self.workers)
        ):
            self.background_sync()

    def on_api_reached(self, message: ApiReached) -> None:
        """A screen's call got an answer from the API, or found it out of reach."""
        if message.answered:
            self.api_answered()
        else:
            if self.demo or self.settings.api_url:
                self.online = False
            self.refresh_status()

    def _after_sync(self) -> None:
        self.refresh_status()
        self._reload_screen()

    # background work --------------------------------------------------------------------

    WORK_NAMES = {
        "search": "Search",
        "fetch": "Fetching from the API",
        "sync": "Sync",
        "action": "The action",
        "holders": "Counting offer holders",
        "segment-count": "The segment count",
        "offer": "Opening the offer",
        "token": "Checking the token",
        "coupon": "The coupon lookup",
        "member-pages": "Reading segment members",
        "playbook-load": "Reading the playbook",
        "playbook-check": "Checking the playbook",
        "playbook-save": "Saving the playbook",
        "store-changes": "Listening for the team's changes",
    }

    def on_data_changed(self, message: DataChanged) -> None:
        self.refresh_status()

    def on_work_failed(self, message: WorkFailed) -> None:
        self.worker_failed(message.node, message.group, message.error)

    def worker_failed(self, node: Any, group: str, error: BaseException) -> None:
        """The one place a failed background job ends (every ``@work`` of srm comes here,
        see srm_tui.screens.workers): the traceback to the log, the failure told in plain
        text, and the screen that started it told too, so it shows the failure where it
        belongs and stays usable. The console never closes for it."""
        import logging

        logging.getLogger("srm_tui").error(
            "background work %r failed", group, exc_info=(type(error), error, error.__traceback__)
        )
        hook = getattr(node, "worker_failed", None) if node is not self else None
        if hook is not None and getattr(node, "is_attached", True):
            try:
                hook(group, error)
            except Exception:  # the screen could not show it: the notice below still does
                logging.getLogger("srm_tui").exception("showing the failure of %r", group)
        what = self.WORK_NAMES.get(group, f"Background work ({group})")
        reason = getattr(error, "message", None) or str(error) or type(error).__name__
        # An action may have been queued or sent before the failure: look before retrying.
        advice = (
            " See Sync & outbox (F5) for what was queued or sent."
            if group == "action"
            else " The console is still usable."
        )
        self.notify(
            f"{what} failed: {type(error).__name__}: {reason}.{advice}",
            severity="error",
            timeout=10,
        )
        if group == "sync":
            self.sync_state = f"sync failed: {reason}"
            try:
                self.refresh_status()
            except Exception:  # the status line's own reads failed: the notice says it
                logging.getLogger("srm_tui").exception("status after a failed sync")

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: Any = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        # Messages carry the API's words, paths and what the agent typed: always plain text
        # (markup such as "[@click=app.quit]" or an unbalanced "[/]" stays text), with
        # control bytes shown escaped. Every screen's notify() comes through here.
        super().notify(
            plain_text(message),
            title=plain_text(title),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    # the screen stack -----------------------------------------------------------------------

    def on_unmount(self) -> None:
        self._changes_stop.set()  # the feed's thread ends within CHANGES_WAIT and closes it
        self._warm_stop.set()
        if self._warm_thread is not None:
            import gc

            self._warm_thread.join(timeout=5)  # an import under way ends before the exit
            gc.unfreeze()  # the console's objects are collectable again once it has gone
            gc.set_threshold(*self._gc_thresholds)  # and collected as before
        self.session.close()

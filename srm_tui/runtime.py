"""What the Session (srm_tui.session) builds on: where the cache is and how it is opened, and
the demo's in-process sandbox and settings; plus ``dumps`` for records shown as JSON."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from srm_tui.config import DEFAULT_SANDBOX_KEY, Settings, data_dir
from srm_tui.storage.cache import Cache

DEMO_CUSTOMERS = 5000
DEMO_SEED = 1


def demo_db_path() -> Path:
    """The demo's cache, in srm's data folder."""
    return data_dir() / "demo.db"


def demo_state_path() -> Path:
    """The demo sandbox's saved state, beside the demo's cache."""
    return data_dir() / "demo-sandbox.json"


def is_team_store(settings: Settings) -> bool:
    """Whether --db / SRM_DB names the team's PostgreSQL store (a postgresql:// URL)."""
    return isinstance(settings.db, str)


def cache_path(settings: Settings) -> Path:
    """Where the configured cache is: --db, else the demo's, else srm's own cache.db. (The
    team store has no path: callers ask ``is_team_store`` first.)"""
    if is_team_store(settings):
        raise ValueError("the team store is a URL, not a cache file")
    if settings.db:
        return Path(settings.db).expanduser()
    if settings.is_demo:
        return demo_db_path()
    return data_dir() / "cache.db"


def open_cache(settings: Settings, *, create: bool = False) -> Cache:
    """The configured store: the SQLite cache, or the team's PostgreSQL store when --db is a
    postgresql:// URL (made by `srm team init`, never here; a URL libpq cannot read is exit 2
    naming --db). A missing cache is an error (exit 2) unless ``create`` (sync, import) or it
    is the demo's; only srm's own data folder is ever created."""
    if is_team_store(settings):
        from srm_tui.exits import UsageProblem
        from srm_tui.storage.cache import CacheMissing
        from srm_tui.storage.db import is_postgres_url, open_team_store

        assert isinstance(settings.db, str) and is_postgres_url(settings.db)
        try:
            return open_team_store(settings.db)  # type: ignore[return-value]
        except CacheMissing as exc:  # an unreadable URL, or a database with no srm store
            raise UsageProblem(f"--db: {exc}") from None
    own = not settings.db
    return Cache(
        cache_path(settings),
        create=create or (own and settings.is_demo),
        make_folder=own,
        say=_say if sys.stderr.isatty() else None,  # a long upgrade says what it does
    )


def open_console_store(settings: Settings) -> tuple[Settings, Cache]:
    """The console's store and its settings as that store allows them (the team store's
    login caps the role). The console syncs on start when an API is configured: then it may
    make the cache."""
    store = open_cache(settings, create=bool(settings.api_url))
    return store_settings(settings, store), store


def store_settings(settings: Settings, store: Any) -> Settings:
    """The settings as the store lets them be: on the team store the login's standing caps
    the role (--role may narrow it, never widen it; a viewer login is a viewer). A cache
    file leaves them as they are."""
    from srm_tui.config import ROLES

    standing = getattr(store, "role", None)
    if standing is None:
        return settings
    from srm_tui.storage.db import role_cap

    cap = role_cap(standing)
    if ROLES.index(settings.role) >= ROLES.index(cap):
        return settings
    return settings.model_copy({"role": cap})


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass
class DemoSandbox:
    """The built-in sandbox running in this process, on a loopback port."""

    url: str
    running: Any = field(repr=False)
    state: Any = field(default=None, repr=False)  # the sandbox's SandboxState

    # While its customers are still being generated, a page waits for them (8 s at most,
    # then 503 and Retry-After): the demo's client tries this many times instead of the
    # usual 6, so a first sync on a slow, busy machine waits for them (about 9 s a try: 18
    # minutes) rather than failing half-filled.
    GENERATING_ATTEMPTS = 120

    @property
    def generating(self) -> bool:
        generation = getattr(self.state, "generation", None)
        return generation is not None and not generation.complete and generation.failure is None

    def stop(self) -> None:
        self.running.stop()


def demo_as_of() -> datetime:
    """The instant the demo's data is generated as of: now, to the minute (UTC).

    The data depends only on the seed and this instant; the demo's sandbox then runs on the
    real clock, so what an agent does is dated when it happens.
    """
    return datetime.now(timezone.utc).replace(second=0, microsecond=0)


def start_demo_sandbox(state_path: Path | None = None) -> DemoSandbox:
    """Start the sandbox in-process; its writes persist beside the demo cache."""
    from srm_tui.sandbox.generating import save_recipe
    from srm_tui.sandbox.runner import start_in_thread
    from srm_tui.sandbox.server import create_app
    from srm_tui.sandbox.state import SandboxState

    state_path = state_path or demo_state_path()
    state_path.parent.mkdir(parents=True, exist_ok=True)
    if state_path.exists():
        state = SandboxState.load(state_path)  # a recipe (below) is generated again
        state.real_clock = True  # a state saved before the demo ran on the real clock too
    else:
        # Generated on a thread while the server starts; the state file is its recipe (seed,
        # count, instant), not every record: writing those took as long as generating them.
        state = SandboxState.generating(DEMO_CUSTOMERS, DEMO_SEED, demo_as_of(), real_clock=True)
        save_recipe(state, state_path)
    # Not waited for: the first sync's customers pages are answered as their customers are
    # generated (the sync asks the other entities' totals once the customers are in), so the
    # first customers are on screen while the rest are still being made.
    running = start_in_thread(create_app(state, api_key=DEFAULT_SANDBOX_KEY))
    return DemoSandbox(url=running.url, running=running, state=state)


def demo_settings(settings: Settings, sandbox: DemoSandbox) -> Settings:
    """The settings with the demo's sandbox as the API."""
    return settings.model_copy(
        update={
            "api_url": sandbox.url,
            "api_key": settings.api_key or _secret(DEFAULT_SANDBOX_KEY),
            "db": cache_path(settings),
        }
    )


def _secret(value: str) -> Any:
    from srm_tui.config import Secret

    return Secret(value)


def dumps(value: Any) -> str:
    """A record as indented JSON text, controls and bidi overrides escaped (not raw)."""
    from srm_tui.domain.text import json_text

    return json_text(value, indent=2, default=str)

"""Support actions on the team's PostgreSQL store (ISSUE15 1(d)): the store's vendor tables
belong to its one writer (`srm sync`), so an agent's push never writes them. The check before a
send still compares with what the API holds now: the customer's records are fetched into a
private in-memory SQLite cache (the same fetch and validation a sync runs), read there and
dropped. After a send the push asks the store's writer for a refresh (storage/requests.py):
`srm sync --watch` brings the customer at once, a one-shot `srm sync` at its next run.
"""

from __future__ import annotations

import threading
from typing import Any

from srm_tui.api.client import ApiClient
from srm_tui.storage.cache import Cache
from srm_tui.storage.records import decode_raw

# Actions only the team store's owner or writer (the srm_sync login) may run, because their
# follow-up writes the vendor's tables and nobody else could: none since an anonymization's
# follow-up is a 'forget' request the writer serves (storage/requests.py) when an agent sent it.
TEAM_WRITER_ONLY: frozenset[str] = frozenset()
# The logins that write the vendor's tables themselves (an anonymization's values leave the
# store in their own process).
TEAM_WRITERS = ("owner", "sync")


def refused_here(cache: Any, action: str) -> str | None:
    """Why ``action`` may not run on this store for this login, or None when it may."""
    if action not in TEAM_WRITER_ONLY or not is_team_store(cache):
        return None
    standing = getattr(cache, "role", None) or "unknown"
    if standing in TEAM_WRITERS:
        return None
    article = "an" if standing[:1] in "aeiou" else "a"
    return (
        f"{action} on the team store is for its owner or its srm_sync login, not {article} "
        f"{standing} login (it removes the customer's values from the team's records at once)"
    )


def is_team_store(cache: Any) -> bool:
    """Whether the service's store is the team's PostgreSQL store."""
    return getattr(getattr(cache, "dialect", None), "name", "sqlite") == "postgres"


class ApiViews:
    """What the API holds now for the customers fetched during one push, each in its own
    in-memory cache (never the team store). Used from the thread that fetched."""

    def __init__(self) -> None:
        self._views: dict[int, Cache] = {}
        self._lock = threading.Lock()

    def fetch(self, client: ApiClient, customer_id: int) -> None:
        """Fetch the customer's records from the API into a fresh private copy (a previous
        copy is dropped: a record gone at the API must not linger)."""
        from srm_tui.sync.engine import SyncEngine

        view = Cache(":memory:")
        try:
            SyncEngine(view, client).fetch_customer(customer_id=customer_id)
        except BaseException:
            view.close()
            raise
        with self._lock:
            old = self._views.pop(customer_id, None)
            self._views[customer_id] = view
        if old is not None:
            old.close()

    def holds(self, customer_id: int | None) -> bool:
        """Whether this customer was fetched in this push."""
        return customer_id in self._views

    def record(self, customer_id: int, entity: str, key: Any) -> dict[str, Any] | None:
        """A record as the API holds it now (None: the API has no such record)."""
        row = (
            self._views[customer_id]
            .conn()
            .execute(f"SELECT raw FROM {entity} WHERE id = ?", (key,))
            .fetchone()
        )
        return decode_raw(row[0]) if row else None

    def close(self) -> None:
        """Drop every copy."""
        with self._lock:
            views, self._views = list(self._views.values()), {}
        for view in views:
            view.close()

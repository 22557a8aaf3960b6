"""The segments store bound to one cache, for the console (``session.segment_store``).

The store's functions take a connection so the CLI, the schedules and the runner's worker
processes can use them inside their own transactions; a screen holds no connection, so it
asks this object, which reads and writes through the calling thread's own connection."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from srm_tui.segments import schedules as S
from srm_tui.segments import store
from srm_tui.segments.compile import Compiled
from srm_tui.segments.model import Fault, Segment

if TYPE_CHECKING:
    import sqlite3

    from srm_tui.storage.cache import Cache


@dataclass(frozen=True)
class WrittenFile:
    """A file srm wrote for the agent, or why not (``problem``)."""

    path: Path
    problem: str | None = None


class SegmentStore:
    """Saved segments, their versions, static members and schedules."""

    def __init__(self, cache: Cache) -> None:
        self._cache = cache

    def _conn(self) -> sqlite3.Connection:
        return self._cache.conn()

    # saved segments ------------------------------------------------------------------------

    def list_saved(self) -> list[store.Saved]:
        """Every saved segment, by name."""
        return store.list_saved(self._conn())

    def get_saved(self, ref: int | str) -> store.Saved:
        """One saved segment by id or name (LookupError when there is none)."""
        return store.get_saved(self._conn(), ref)

    def versions(self, segment_id: int) -> list[store.Version]:
        """Every save of a segment, newest first."""
        return store.versions(self._conn(), segment_id)

    def version_change(self, segment_id: int, version: int, *, sample: int) -> store.Change:
        """What one version changed: its definition lines and the customers gained and lost."""
        return store.version_change(self._conn(), segment_id, version, sample=sample)

    def static_memberships(self, customer_id: int) -> list[tuple[store.Saved, bool]]:
        """Every static segment, with whether the customer is in it."""
        return store.static_memberships(self._conn(), customer_id)

    def population(self, saved: store.Saved, now: int) -> Compiled:
        """A saved segment's customers as a compiled population."""
        return store.population(saved, now)

    def check_header(self, segment: Segment, segment_id: int | None = None) -> list[Fault]:
        """The name's and tags' faults (a name taken by another segment among them)."""
        return store.check_header(self._conn(), segment, segment_id)

    def create_static(self, name: str, *, now: int, agent: str) -> store.Saved:
        """A new, empty static segment."""
        return store.create_static(self._conn(), name, now=now, agent=agent)

    def change_members(
        self,
        segment_id: int,
        *,
        add: list[int] | tuple[int, ...] = (),
        remove: list[int] | tuple[int, ...] = (),
        now: int,
        agent: str,
    ) -> store.Change | None:
        """Add and take out static members: a new version, or None when nothing changed."""
        return store.change_members(
            self._conn(), segment_id, add=add, remove=remove, now=now, agent=agent
        )

    def save(self, segment: Segment, *, now: int, agent: str, **how: Any) -> store.Change:
        """Save a definition as a new version (``segment_id``, ``kind``, ``expect_version``)."""
        return store.save(self._conn(), segment, now=now, agent=agent, **how)

    def record_run(self, segment_id: int, customers: int, elapsed_ms: float, now: int) -> None:
        """Remember a count of a saved segment (the list's Members and Last run)."""
        store.record_run(self._conn(), segment_id, customers, elapsed_ms, now)

    def delete(self, segment_id: int) -> None:
        """Delete a segment and its versions (SegmentInUse while a schedule uses it)."""
        store.delete(self._conn(), segment_id)

    # schedules -----------------------------------------------------------------------------

    def schedules_using(self, segment_id: int) -> list[dict[str, Any]]:
        """The schedules that export one segment."""
        return store.schedules_using(self._conn(), segment_id)

    def schedules(self) -> list[S.Schedule]:
        """Every schedule, by id."""
        return S.list_schedules(self._conn())

    def add_schedule(self, segment_ref: int | str, **how: Any) -> S.Schedule:
        """A new schedule (``fmt``, ``columns``, ``directory``, ``at`` or ``every``, ``tz``,
        ``now``, ``agent``); SegmentError names the field at fault."""
        return S.add(self._conn(), segment_ref, **how)

    def remove_schedule(self, schedule_id: int) -> None:
        """Remove one schedule (LookupError when there is none)."""
        S.remove(self._conn(), schedule_id)

    # segment files -------------------------------------------------------------------------

    def write_holders_file(self, offer_id: str, doc: dict[str, Any]) -> WrittenFile:
        """An offer's holders segment (``domain.offers.holders_segment``) as a file in srm's
        data folder: srm's own, rewritten each time, never through a link."""
        from srm_tui.config import data_dir
        from srm_tui.storage.files import FileRefused, write_text

        folder = data_dir() / "segments"
        path = folder / f"holders-{offer_id}.json"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            write_text(path, json.dumps(doc, indent=2, ensure_ascii=False) + "\n", replace=True)
        except (OSError, FileRefused) as exc:
            return WrittenFile(path, str(getattr(exc, "strerror", None) or exc))
        return WrittenFile(path)

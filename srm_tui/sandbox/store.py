"""In-memory record store with a global change sequence, for the sandbox API.

Every entity keeps its records by id together with the `seq` of their last change, plus a
change log (ids in `seq` order) so that "everything changed since S" pages in O(log n + page).
Records are never mutated after they are stored: a write stores a new dict. That lets readers
(export, the autosaver) take a snapshot of references under the lock and serialize it later.
"""

from __future__ import annotations

import functools
import threading
from array import array
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable, Iterator

ENTITY_KEYS = {
    "customers": "id",
    "subscriptions": "subscriptionId",
    "passes": "passId",
    "transactions": "transactionId",
    "payment_details": "id",
    "emails": "id",
    "notes": "id",
    "history": "id",
    "offers": "id",
    "season_groups": "id",
    "campaigns": "id",
}
ENTITIES = tuple(ENTITY_KEYS)
CHILD_ENTITIES = (
    "subscriptions",
    "passes",
    "transactions",
    "payment_details",
    "emails",
    "notes",
    "history",
)


class _ChangeLog:
    """The keys of one entity in the order of their changes.

    A key changed again leaves a stale entry behind; stale positions are remembered (sorted)
    so counts stay exact, and the log is compacted once they pile up.
    """

    __slots__ = ("seqs", "keys", "stale")

    def __init__(self) -> None:
        self.seqs = array("q")
        self.keys: list = []
        self.stale: list[int] = []

    def append(self, key, seq: int) -> None:
        self.seqs.append(seq)
        self.keys.append(key)

    def supersede(self, old_seq: int) -> None:
        insort(self.stale, bisect_left(self.seqs, old_seq))
        if len(self.stale) > max(1024, len(self.keys) // 4):
            self._compact()

    def start(self, since: int) -> int:
        return bisect_right(self.seqs, since)

    def live_from(self, start: int) -> int:
        """How many live entries sit at `start` or later."""
        return len(self.keys) - start - (len(self.stale) - bisect_left(self.stale, start))

    def scan(self, start: int) -> Iterator[tuple[int, object]]:
        """(seq, key) from `start` on, skipping stale entries."""
        stale, seqs, keys = self.stale, self.seqs, self.keys
        skip = bisect_left(stale, start)
        for pos in range(start, len(keys)):
            if skip < len(stale) and stale[skip] == pos:
                skip += 1
                continue
            yield seqs[pos], keys[pos]

    def _compact(self) -> None:
        drop = set(self.stale)
        keep = [pos for pos in range(len(self.keys)) if pos not in drop]
        self.seqs = array("q", (self.seqs[pos] for pos in keep))
        self.keys = [self.keys[pos] for pos in keep]
        self.stale = []


def atomic(method):
    """Run a write under the store's lock; its events go out only if it succeeds.

    Nested atomic calls join the outermost one. Operations check every rule before their
    first `put`, so a refusal leaves nothing half-done.
    """

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self.lock:
            outer = self._depth == 0
            if outer:
                self._events = []
                before = self.seq
            self._depth += 1
            try:
                result = method(self, *args, **kwargs)
            except BaseException:
                if outer:
                    self._events = []
                raise
            finally:
                self._depth -= 1
            if not outer:
                return result
            events, self._events = self._events, []
            if self.seq != before:
                self.changed()
        for topic, data in events:
            if self.listener is not None:
                self.listener(topic, data)
        return result

    return wrapper


class Store:
    """Records of every entity, their change sequence, and the lookups the API needs."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.listener: Callable[[str, dict], None] | None = None  # receives emitted events
        self._events: list[tuple[str, dict]] = []
        self._depth = 0
        self.seq = 0
        self.records: dict[str, dict] = {e: {} for e in ENTITIES}  # key -> (seq, record)
        self.tombstones: dict[str, dict] = {e: {} for e in ENTITIES}  # key -> seq
        self.logs = {e: _ChangeLog() for e in ENTITIES}
        self.children: dict[str, dict] = {e: {} for e in CHILD_ENTITIES}  # customerId -> [key]
        self.email_index: dict[str, int] = {}  # lower-cased email -> customer id
        self.external_index: dict[str, set] = {}  # externalId -> customer ids

    # -- reading ---------------------------------------------------------------------------

    def get(self, entity: str, key) -> dict | None:
        entry = self.records[entity].get(key)
        return entry[1] if entry else None

    def count(self, entity: str) -> int:
        return len(self.records[entity])

    def all(self, entity: str) -> list[dict]:
        """Every live record of `entity`, in change order."""
        records = self.records[entity]
        out = []
        for seq, key in self.logs[entity].scan(0):
            entry = records.get(key)
            if entry is not None and entry[0] == seq:
                out.append(entry[1])
        return out

    def of_customer(self, entity: str, customer_id: int) -> list[dict]:
        """The customer's records of a child entity, oldest key first."""
        records = self.records[entity]
        return [
            records[key][1] for key in self.children[entity].get(customer_id, ()) if key in records
        ]

    def page(
        self, entity: str, since: int, limit: int, customer_id: int | None = None
    ) -> tuple[list[dict], int, bool, int]:
        """Items changed after `since`, oldest change first: (items, nextSince, hasMore, total).

        A deleted record appears once more as `{<key>: id, "deleted": true}`.
        """
        if customer_id is not None:
            return self._customer_page(entity, since, limit, customer_id)
        log, records, tombstones = self.logs[entity], self.records[entity], self.tombstones[entity]
        start = log.start(since)
        total = log.live_from(start)
        items: list[dict] = []
        next_since = since
        key_field = ENTITY_KEYS[entity]
        for seq, key in log.scan(start):
            if len(items) >= limit:
                break
            entry = records.get(key)
            if entry is not None and entry[0] == seq:
                items.append(entry[1])
            elif tombstones.get(key) == seq:
                items.append({key_field: key, "deleted": True})
            else:
                continue
            next_since = seq
        return items, next_since, total > len(items), total

    def _customer_page(self, entity: str, since: int, limit: int, customer_id: int):
        records = self.records[entity]
        if entity == "customers":
            keys: Iterable = (customer_id,)
        else:
            keys = self.children[entity].get(customer_id, ())
        changed = sorted(
            (records[key] for key in keys if key in records and records[key][0] > since),
            key=lambda entry: entry[0],
        )
        items = [record for _, record in changed[:limit]]
        next_since = changed[len(items) - 1][0] if items else since
        return items, next_since, len(changed) > len(items), len(changed)

    # -- writing ---------------------------------------------------------------------------

    def emit(self, topic: str, data: dict) -> None:
        """Queue a webhook event; it is delivered when the enclosing write succeeds."""
        self._events.append((topic, data))

    def changed(self) -> None:
        """Called after every successful write (the state saves itself from here)."""

    def put(self, entity: str, record: dict) -> dict:
        """Store `record` (a new dict, never mutated afterwards) with a new change seq."""
        key = record[ENTITY_KEYS[entity]]
        records = self.records[entity]
        old = records.get(key)
        self.seq += 1
        records[key] = (self.seq, record)
        log = self.logs[entity]
        log.append(key, self.seq)
        if old is not None:
            log.supersede(old[0])
        else:
            stone = self.tombstones[entity].pop(key, None)
            if stone is not None:
                log.supersede(stone)
            if entity in self.children:
                self.children[entity].setdefault(record["customerId"], []).append(key)
        if entity == "customers":
            self._index_customer(old[1] if old else None, record)
        return record

    def delete(self, entity: str, key) -> None:
        """Remove a record; enumeration reports it once as deleted."""
        old = self.records[entity].pop(key)
        self.seq += 1
        self.tombstones[entity][key] = self.seq
        log = self.logs[entity]
        log.append(key, self.seq)
        log.supersede(old[0])

    def restore(self, entity: str, seq: int, record: dict | None, key=None) -> None:
        """Put back a record (or a tombstone when `record` is None) with its saved seq.

        Used when loading a saved state: records must come in increasing seq order.
        """
        if record is None:
            self.tombstones[entity][key] = seq
            self.logs[entity].append(key, seq)
        else:
            key = record[ENTITY_KEYS[entity]]
            self.records[entity][key] = (seq, record)
            self.logs[entity].append(key, seq)
            if entity in self.children:
                self.children[entity].setdefault(record["customerId"], []).append(key)
            elif entity == "customers":
                self._index_customer(None, record)
        self.seq = max(self.seq, seq)

    def _index_customer(self, old: dict | None, new: dict) -> None:
        if old is not None:
            if old.get("email"):
                self.email_index.pop(old["email"].lower(), None)
            if old.get("externalId"):
                ids = self.external_index.get(old["externalId"])
                if ids:
                    ids.discard(old["id"])
        if new.get("email"):
            self.email_index[new["email"].lower()] = new["id"]
        if new.get("externalId"):
            self.external_index.setdefault(new["externalId"], set()).add(new["id"])

    # -- persistence -----------------------------------------------------------------------

    def snapshot(self) -> dict[str, tuple[dict, dict]]:
        """Shallow copies of every entity's records and tombstones (fast enough to take under
        the lock; records themselves are immutable). Turn it into rows with `snapshot_rows`."""
        return {e: (dict(self.records[e]), dict(self.tombstones[e])) for e in ENTITIES}


def snapshot_rows(snapshot: dict[str, tuple[dict, dict]]) -> dict[str, list]:
    """`[seq, record, null]` and `[seq, null, key]` (tombstone) rows per entity, in seq order."""
    out = {}
    for entity, (records, tombstones) in snapshot.items():
        rows = [[seq, record, None] for seq, record in records.values()]
        rows.extend([seq, None, key] for key, seq in tombstones.items())
        rows.sort(key=lambda row: row[0])
        out[entity] = rows
    return out

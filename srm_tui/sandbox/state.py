"""The sandbox's whole state: generated records, the write rules, persistence.

`SandboxState` holds every record in memory with a global change `seq` (see store.py), applies
the vendor's rules on writes (customer_ops.py, offer_ops.py), remembers Idempotency-Key
answers and webhook subscriptions, and saves itself to a JSON file when one is attached.

Clock: `now()` starts at `as_of` and advances with real elapsed time (monotonic), so records
written later get later dates; `advance_clock=False` freezes it at `as_of`. A loaded state
continues from the instant it was last saved. With `real_clock=True` (the demo, and `srm
sandbox serve` without `--as-of`) `now()` is the wall clock, saved and loaded states included,
so what an agent does is dated when it happens.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

from srm_tui.storage.files import write_file

from . import generator, shapes
from .access_ops import AccessOps
from .customer_ops import CustomerOps, subscription_state
from .generating import Generation, load_recipe, start_generation
from .offer_ops import OfferOps
from .store import ENTITIES, Store, atomic, snapshot_rows

STATE_FORMAT = "srm-sandbox-state"
STATE_VERSION = 1
IDEMPOTENCY_KEYS_KEPT = 50_000
SAVE_DEBOUNCE_SECONDS = 1.0
WEBHOOK_TOPICS = (
    "customerRegistered",
    "customerUpdated",
    "transactionCreated",
    "passCreated",
    "passExpirationChanged",
    "passTerminated",
    "offerCreated",
    "offerUpdated",
    "offerDeactivated",
    "offerPriceChanged",
)
# The topics the vendor documents (cleeng-api.md 4.L): the vendor profile offers only these.
VENDOR_TOPICS = tuple(t for t in WEBHOOK_TOPICS if t != "customerUpdated")
COUNTED_IDS = ("emails", "notes", "history")

__all__ = ["SandboxState", "subscription_state", "WEBHOOK_TOPICS", "VENDOR_TOPICS"]


class SandboxState(AccessOps, CustomerOps, OfferOps, Store):
    """Records, rules, idempotency answers and webhook subscriptions of one sandbox."""

    def __init__(
        self, *, seed: int, as_of: int, advance_clock: bool = True, real_clock: bool = False
    ):
        Store.__init__(self)
        self.seed = seed
        self.as_of = as_of
        self.advance_clock = advance_clock
        self.real_clock = real_clock
        self.payment_methods: dict[str, dict] = {}
        self._started = time.monotonic()
        self.rng = random.Random(f"{seed}:runtime")
        self.next_ids = {name: 1 for name in COUNTED_IDS}
        self.idempotency: OrderedDict[str, tuple[int, dict, bytes]] = OrderedDict()
        self.webhooks: dict[str, list[dict]] = {}
        self._saver: _Autosaver | None = None
        self.generation: Generation | None = None  # customers still being generated
        self.recipe: dict | None = None  # how `generating` made it (see save_recipe)

    # -- construction and persistence -------------------------------------------------------

    @classmethod
    def generate(
        cls,
        customers: int,
        seed: int,
        as_of: datetime,
        *,
        advance_clock: bool = True,
        real_clock: bool = False,
    ) -> SandboxState:
        """A fresh state with `customers` generated customers (see generator.py).

        The records depend only on `seed` and `as_of`; `real_clock` dates later writes by
        the wall clock instead of `as_of` plus the time served.
        """
        state = cls(
            seed=seed,
            as_of=generator.to_unix(as_of),
            advance_clock=advance_clock,
            real_clock=real_clock,
        )
        catalog = generator.catalog(seed, as_of)
        put = state.put
        with generator.no_cyclic_gc():
            for entity in ("offers", "season_groups", "campaigns"):
                for record in catalog[entity]:
                    put(entity, record)
            for bundle in generator.iter_customers(seed, customers, as_of, catalog):
                put("customers", bundle["customer"])
                for entity in generator.CHILD_LISTS:
                    for record in bundle[entity]:
                        put(entity, record)
        state._count_ids()
        return state

    @classmethod
    def generating(
        cls,
        customers: int,
        seed: int,
        as_of: datetime,
        *,
        advance_clock: bool = True,
        real_clock: bool = False,
        hold: Callable[[Iterator[dict]], Iterator[dict]] | None = None,
    ) -> SandboxState:
        """The state `generate` makes, returned at once: the catalog is in, the customers
        are generated on a thread (`generation`, see generating.py) while the server answers
        what already exists exactly as it will once all are in. `hold` wraps the stream of
        customer bundles (a test holds it at a point)."""
        state = cls(
            seed=seed,
            as_of=generator.to_unix(as_of),
            advance_clock=advance_clock,
            real_clock=real_clock,
        )
        start_generation(state, customers, as_of, state._count_ids, hold)
        return state

    @classmethod
    def load(
        cls, path: str | os.PathLike, *, advance_clock: bool = True, autosave: bool = True
    ) -> SandboxState:
        """A state saved by `save`; with `autosave` it keeps saving its writes to `path`."""
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        if data.get("format") != STATE_FORMAT or data.get("version") != STATE_VERSION:
            raise ValueError(f"{path} is not a sandbox state file (version {STATE_VERSION})")
        if "recipe" in data:  # generated and never changed since: made again (save_recipe)
            return load_recipe(cls, data, path, advance_clock=advance_clock, autosave=autosave)
        state = cls(
            seed=data["seed"],
            as_of=data["now"],
            advance_clock=advance_clock,
            real_clock=bool(data.get("realClock")),
        )
        state.payment_methods = data.get("paymentMethods", {})
        state.rng = random.Random(f"{data['seed']}:runtime:{data['seq']}")
        for entity in ENTITIES:
            for seq, record, key in data["entities"].get(entity, []):
                state.restore(entity, seq, record, key)
        state.seq = data["seq"]
        state.next_ids.update(data.get("nextIds", {}))
        state._count_ids()
        for key, status, headers, body in data.get("idempotency", []):
            state.idempotency[key] = (status, headers, body.encode("utf-8"))
        state.webhooks = data.get("webhooks", {})
        if autosave:
            state.path = path
        return state

    @classmethod
    def open(
        cls,
        path: str | os.PathLike,
        *,
        customers: int,
        seed: int,
        as_of: datetime,
        advance_clock: bool = True,
    ) -> SandboxState:
        """Load `path` if it exists, else generate; either way every later write is saved
        there (debounced; call `close()` on shutdown to flush)."""
        if Path(path).exists():
            return cls.load(path, advance_clock=advance_clock)
        state = cls.generate(customers, seed, as_of, advance_clock=advance_clock)
        state.save(path)
        return state

    @property
    def path(self) -> Path | None:
        """The state file every write is saved to (None: memory only)."""
        return self._saver.path if self._saver else None

    @path.setter
    def path(self, path: str | os.PathLike | None) -> None:
        if self._saver is not None:
            self._saver.stop()
            self._saver = None
        if path is not None:
            self._saver = _Autosaver(self, Path(path))

    def save(self, path: str | os.PathLike) -> None:
        """Write the whole state to `path` atomically (srm_tui.storage.files.write_file).

        Without a state file yet, `path` becomes it: later writes are saved there too.
        """
        if self.generation is not None:
            self.generation.wait_complete(None)  # never a half-generated state on disk
        with self.lock:
            snapshot = self.snapshot()
            head = {
                "format": STATE_FORMAT,
                "version": STATE_VERSION,
                "seed": self.seed,
                "now": self.now(),
                "seq": self.seq,
                "nextIds": dict(self.next_ids),
                "webhooks": json.loads(json.dumps(self.webhooks)),
                "realClock": self.real_clock,
                "paymentMethods": json.loads(json.dumps(self.payment_methods)),
                "idempotency": [
                    [k, s, h, b.decode("utf-8")] for k, (s, h, b) in self.idempotency.items()
                ],
            }
        entities = snapshot_rows(snapshot)
        path = Path(path)

        def fill(fh) -> None:
            fh.write(_compact(head)[:-1] + ',"entities":{')
            for n, (entity, rows) in enumerate(entities.items()):
                fh.write(("," if n else "") + f'"{entity}":[')
                for m, piece in enumerate(_json_chunks(rows)):
                    fh.write(("," if m else "") + piece)
                fh.write("]")
            fh.write("}}")

        # Its own state file, replaced on every save; never a link, a device or a folder
        # (srm_tui.storage.files), and 0600: it holds the generated customers.
        write_file(path, fill, replace=True)
        if self._saver is None:
            self.path = path

    def flush(self) -> None:
        """Save pending changes now (when a state file is attached)."""
        if self._saver is not None:
            self._saver.flush()

    def close(self) -> None:
        """Flush and stop saving in the background."""
        self.path = None

    def changed(self) -> None:
        if self._saver is not None:
            self._saver.poke()

    def _count_ids(self) -> None:
        for entity in COUNTED_IDS:
            top = max(self.records[entity], default=0)
            self.next_ids[entity] = max(self.next_ids.get(entity, 1), top + 1)

    # -- clock and ids ---------------------------------------------------------------------

    def now(self) -> int:
        """The sandbox's current unix time (see the module docstring)."""
        if self.real_clock:
            return int(time.time())
        if not self.advance_clock:
            return self.as_of
        return self.as_of + int(time.monotonic() - self._started)

    def new_id(self, entity: str):
        """A fresh id in the vendor's format for `entity`."""
        if entity in COUNTED_IDS:
            value = self.next_ids[entity]
            self.next_ids[entity] = value + 1
            return value
        low, high, prefix = {
            "customers": (100_000_000, 999_999_999, None),
            "subscriptions": (100_000_000, 999_999_999, None),
            "passes": (1_000_000_000, 9_999_999_999, None),
            "transactions": (100_000_000, 999_999_999, "T"),
        }[entity]
        while True:
            number = self.rng.randint(low, high)
            key = f"{prefix}{number}" if prefix else number
            if key not in self.records[entity]:
                return key

    def new_offer_id(self, letter: str) -> str:
        while True:
            offer_id = f"{letter}{self.rng.randint(100_000_000, 999_999_999)}"
            if offer_id not in self.records["offers"]:
                return offer_id

    # -- reads -----------------------------------------------------------------------------

    def export(self) -> dict:
        """GET /sandbox/export: every entity's live records (offers in the API's shape)."""
        with self.lock:
            out = {entity: self.all(entity) for entity in ENTITIES}
        out["offers"] = [shapes.offer(o) for o in out["offers"]]
        return out

    def since(
        self, entity: str, since: int, limit: int, customer_id: int | None = None
    ) -> tuple[list[dict], int, bool, int]:
        """Enumeration: (items, nextSince, hasMore, total) of records changed after `since`."""
        with self.lock:
            items, next_since, has_more, total = self.page(entity, since, limit, customer_id)
            if self.generation is not None and customer_id is None:
                # while generating: the records still to come are counted as they will be
                total += self.generation.still_to_come(entity)
                has_more = total > len(items)
        if entity == "offers":  # one shape for an offer wherever the API shows one
            items = [o if o.get("deleted") else shapes.offer(o) for o in items]
        return items, next_since, has_more, total

    def read(self, entity: str, key) -> dict | None:
        with self.lock:
            return self.get(entity, key)

    # -- idempotency and webhook subscriptions ---------------------------------------------

    def replay(self, key: str) -> tuple[int, dict, bytes] | None:
        """The stored answer of an earlier write with this Idempotency-Key."""
        with self.lock:
            return self.idempotency.get(key)

    @atomic
    def remember(self, key: str, status: int, headers: dict, body: bytes) -> None:
        self.idempotency[key] = (status, headers, body)
        while len(self.idempotency) > IDEMPOTENCY_KEYS_KEPT:
            self.idempotency.popitem(last=False)
        self.changed()

    @atomic
    def set_webhooks(self, topic: str, endpoints: list[dict]) -> list[dict]:
        self.webhooks[topic] = [dict(e) for e in endpoints]
        self.changed()
        return self.webhooks[topic]

    def webhook_urls(self, topic: str) -> list[str]:
        with self.lock:
            return [e["url"] for e in self.webhooks.get(topic, [])]

    def webhook_endpoints(self, topic: str) -> list[dict]:
        """The endpoint entries subscribed to `topic` (url, and optional verification)."""
        with self.lock:
            return [dict(e) for e in self.webhooks.get(topic, [])]


def _compact(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _json_chunks(rows: list, size: int = 2000):
    """JSON text of `rows` in comma-separable pieces. Encoding piece by piece lets other
    threads (the console of the in-process demo) run between pieces."""
    for start in range(0, len(rows), size):
        yield _compact(rows[start : start + size])[1:-1]


class _Autosaver:
    """Saves the state to its file shortly after writes, from a background thread."""

    def __init__(self, state: SandboxState, path: Path):
        self.state = state
        self.path = path
        self.dirty = False
        self.wake = threading.Event()
        self.stopping = False
        self.save_lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, name="sandbox-autosave", daemon=True)
        self.thread.start()

    def poke(self) -> None:
        self.dirty = True
        self.wake.set()

    def flush(self) -> None:
        with self.save_lock:
            if self.dirty:
                self.dirty = False
                self.state.save(self.path)

    def stop(self) -> None:
        self.stopping = True
        self.wake.set()
        self.thread.join(timeout=30)
        self.flush()

    def _run(self) -> None:
        while not self.stopping:
            self.wake.wait()
            self.wake.clear()
            if self.stopping:
                break
            time.sleep(SAVE_DEBOUNCE_SECONDS)
            self.flush()

"""A sandbox state that serves while its customers are generated (the demo's first start).

`SandboxState.generate` builds every customer before anything is served. `Generation` builds
them on a thread instead, in the same order and with the same change `seq`s (the catalog
first, then each customer followed by its records: store.py's `put` order), so whatever is
answered from a state still generating is what the state answers once generation is done,
byte for byte:

- an enumeration page of customers, or of the catalog (put before the thread starts), is
  answered once the records it lists exist; its `X-Total-Count`/`hasMore` count the customers
  still to come, whose number is known from the start;
- a page of one customer's records (`customerId`) once that customer is in (a customer is put
  with all its records, under the state's lock);
- a page of another entity when its final count is known (`expected`), else at the end;
- everything else (reads by id, writes, exports, reports) once generation is done.

A request that must wait does so on the state's condition (woken after each customer), at
most a bounded time; the server then answers 503 with Retry-After, as it does for a fault.
Writes wait for the end, so no record changes while customers are still being added.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from . import generator

if TYPE_CHECKING:
    from .state import SandboxState

CATALOG = ("offers", "season_groups", "campaigns")


class Generation:
    """Customers generated in order into `state` on a thread; what a request needs, waited for.

    `expected` holds the final record count of each entity known before the end: the
    customers' (how many are generated) and the catalog's; a child entity's count may be given
    (it is checked when generation ends). `on_complete` runs under the state's lock once every
    customer is in, before any waiting request goes on.
    """

    def __init__(
        self,
        state: SandboxState,
        bundles: Iterator[dict],
        customers: int,
        *,
        expected: dict[str, int] | None = None,
        on_complete: Callable[[], None] | None = None,
    ):
        self.state = state
        self.customers = customers
        self.done = 0  # customers put so far, each with all its records
        self.complete = False
        self.failure: BaseException | None = None
        self.final_seq: int | None = None  # the state's seq once every customer is in
        self.someone_waits = threading.Event()  # a request waited for records (tests look)
        self.finished = threading.Event()  # set with `complete`
        self.expected = {entity: state.count(entity) for entity in CATALOG}
        self.expected.update(expected or {})
        self.expected["customers"] = customers
        self._bundles = bundles
        self._on_complete = on_complete
        self.changed = threading.Condition(state.lock)
        self.thread = threading.Thread(target=self._run, name="sandbox-generate", daemon=True)

    def start(self) -> Generation:
        self.thread.start()
        return self

    def _run(self) -> None:
        put, changed = self.state.put, self.changed
        try:
            with generator.no_cyclic_gc(collect_first=True):  # served while it runs
                for bundle in self._bundles:
                    with changed:
                        put("customers", bundle["customer"])
                        for entity in generator.CHILD_LISTS:
                            for record in bundle[entity]:
                                put(entity, record)
                        self.done += 1
                        changed.notify_all()
            with changed:
                self.final_seq = self.state.seq
                self._check_expected()
                if self._on_complete is not None:
                    self._on_complete()
        except BaseException as exc:  # told to every request that waits (the server: 500)
            self.failure = exc
        finally:
            with changed:
                self.complete = True
                self.finished.set()
                changed.notify_all()

    def _check_expected(self) -> None:
        for entity, count in self.expected.items():
            if self.state.count(entity) != count:
                raise RuntimeError(
                    f"generated {self.state.count(entity)} {entity}, {count} were announced"
                )

    def unchanged(self) -> bool:
        """Nothing was written besides the generated records (writes wait for the end)."""
        with self.changed:
            return self.final_seq is None or self.state.seq == self.final_seq

    # -- what a request needs --------------------------------------------------------------

    def page_ready(self, entity: str, since: int, limit: int, customer_id=None) -> bool:
        """Whether the enumeration page is answered now as it is once generation is done
        (call under the state's lock)."""
        if self.complete:
            return True
        if customer_id is not None:
            return customer_id in self.state.records["customers"]
        if entity not in self.expected:
            return False
        if self.state.count(entity) >= self.expected[entity]:  # all of them are in
            return True
        log = self.state.logs[entity]
        return log.live_from(log.start(since)) >= limit

    def still_to_come(self, entity: str) -> int:
        """How many records of `entity` are not generated yet (known counts only)."""
        if self.complete or entity not in self.expected:
            return 0
        return self.expected[entity] - self.state.count(entity)

    def wait(self, ready: Callable[[], bool], timeout: float | None) -> bool:
        """Wait (at most `timeout` seconds; None: no limit) until `ready()` or the end; False
        on time out. Raises the generation's failure, if it failed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self.changed:
            while not (self.complete or ready()):
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self.someone_waits.set()
                self.changed.wait(left)
            if self.failure is not None:
                raise RuntimeError(f"the sandbox could not generate its data: {self.failure}")
            return True

    def wait_page(self, entity: str, since: int, limit: int, customer_id, timeout: float) -> bool:
        """Wait until the page can be answered (see `page_ready`)."""
        return self.wait(lambda: self.page_ready(entity, since, limit, customer_id), timeout)

    def wait_complete(self, timeout: float | None) -> bool:
        """Wait until every customer is in (on an event: not woken after each customer).
        Raises the generation's failure, if it failed."""
        if not self.finished.is_set():
            self.someone_waits.set()
            if not self.finished.wait(timeout):
                return False
        if self.failure is not None:
            raise RuntimeError(f"the sandbox could not generate its data: {self.failure}")
        return True


def start_generation(
    state: SandboxState,
    customers: int,
    as_of: datetime,
    on_complete: Callable[[], None],
    hold: Callable[[Iterator[dict]], Iterator[dict]] | None = None,
) -> None:
    """Put the catalog as `SandboxState.generate` does, then generate `customers` on a
    thread (`state.generation`)."""
    if customers > generator.MAX_CUSTOMERS:
        raise ValueError(f"at most {generator.MAX_CUSTOMERS} customers can be generated")
    catalog = generator.catalog(state.seed, as_of)
    for entity in CATALOG:
        for record in catalog[entity]:
            state.put(entity, record)
    bundles = generator.iter_customers(state.seed, customers, as_of, catalog)
    state.recipe = {"customers": customers, "asOf": generator.to_unix(as_of)}
    state.generation = Generation(
        state, hold(bundles) if hold else bundles, customers, on_complete=on_complete
    ).start()


def save_recipe(state: SandboxState, path: str | os.PathLike) -> None:
    """Write to `path` how this generated, still unchanged state is made again (its seed,
    customer count and instant) instead of every record: a few bytes at once rather than the
    whole state while it is served. Later writes are saved to `path` in full, as `save` does;
    `SandboxState.load` makes a recipe's state again (generated afresh, the same records)."""
    from srm_tui.storage.files import write_file

    from .state import STATE_FORMAT, STATE_VERSION

    generation = state.generation
    if state.recipe is None or generation is None or not generation.unchanged():
        raise ValueError("only a state made by SandboxState.generating, unchanged, has a recipe")
    head = {
        "format": STATE_FORMAT,
        "version": STATE_VERSION,
        "seed": state.seed,
        "realClock": state.real_clock,
        "recipe": state.recipe,
    }
    text = json.dumps(head, separators=(",", ":"))
    # Its own state file, as `save` writes it: never a link, a device or a folder, and 0600.
    write_file(Path(path), lambda fh: fh.write(text), replace=True)
    if state.path is None:
        state.path = path


def load_recipe(cls, data: dict, path, *, advance_clock: bool, autosave: bool) -> SandboxState:
    """The state a recipe file names (see `save_recipe`), generating as it is served. Once
    all are in it is what loading the whole saved state would give: the same records and
    seqs, the runtime random stream a loaded state takes (`load`)."""
    recipe = data["recipe"]
    state = cls(
        seed=data["seed"],
        as_of=recipe["asOf"],
        advance_clock=advance_clock,
        real_clock=bool(data.get("realClock")),
    )

    def loaded() -> None:
        state._count_ids()
        state.rng = random.Random(f"{state.seed}:runtime:{state.seq}")

    as_of = datetime.fromtimestamp(recipe["asOf"], timezone.utc)
    start_generation(state, recipe["customers"], as_of, loaded)
    if autosave:
        state.path = path
    return state


# A request waits at most this long for the records it needs, then is answered 503 with
# Retry-After (the API client's own timeout is 10 s by default; it tries again).
GENERATION_WAIT = 8.0


def page_wanted(call) -> tuple[str, int, int, int | None] | None:
    """(entity, since, limit, customerId) of an enumeration call (routes.enumerate_entity),
    or None when the call is not one the route answers with a page: it then waits for the
    end and the route answers it (its 400 or 404) as ever."""
    from .errors import Refusal
    from .store import CHILD_ENTITIES, ENTITIES

    try:
        entity = call.path("entity")
        since = call.int_query("since", 0, 0)
        limit = call.int_query("limit", 100, 1, 1000)
    except Refusal:
        return None
    customer = call.query("customerId")
    if entity not in ENTITIES:
        return None
    if not customer:
        return entity, since, limit, None
    if not customer.isdigit() or (entity != "customers" and entity not in CHILD_ENTITIES):
        return None
    return entity, since, limit, int(customer)


async def until_generated(
    generation: Generation, page: tuple | None
) -> tuple[int, dict, dict] | None:
    """Wait (in a worker thread, so the server keeps answering) until `page`, or everything
    when None, can be answered: None then, else the answer to give instead (status, body,
    headers): 503 with Retry-After after GENERATION_WAIT, 500 when generation failed."""
    from starlette.concurrency import run_in_threadpool

    def wait() -> bool:
        if page is None:
            return generation.wait_complete(GENERATION_WAIT)
        return generation.wait_page(*page, GENERATION_WAIT)

    try:
        if await run_in_threadpool(wait):
            return None
    except RuntimeError as exc:
        return 500, {"message": str(exc)}, {}
    return 503, {"message": "Service Unavailable"}, {"Retry-After": "1"}

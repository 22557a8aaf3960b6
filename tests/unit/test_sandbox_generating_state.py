"""A sandbox state generated on a thread (the demo's first start) answers exactly what the
state generated at once answers: pages read while customers are still being generated, the
whole state once they are all in, and a state made again from its recipe file. A generation is
held at a point by the test (a gate in the customer stream), never timed."""

from __future__ import annotations

import gc
import json
import threading

import pytest

from srm_tui.sandbox.generating import save_recipe
from srm_tui.sandbox.state import SandboxState
from srm_tui.sandbox.store import ENTITIES
from tests.conftest import AS_OF

CUSTOMERS, SEED = 60, 5


class Gate:
    """Lets the first `first` customer bundles through, then holds the stream until opened."""

    def __init__(self, first: int):
        self.first = first
        self.open = threading.Event()
        self.reached = threading.Event()

    def __call__(self, bundles):
        for n, bundle in enumerate(bundles):
            if n == self.first:
                self.reached.set()
                assert self.open.wait(120), "the test never opened the gate"
            yield bundle
        self.reached.set()


@pytest.fixture(scope="module")
def reference():
    return SandboxState.generate(CUSTOMERS, SEED, AS_OF)


def page(state, entity, since, limit, customer_id=None) -> str:
    return json.dumps(state.since(entity, since, limit, customer_id))


def every_page(state, entity, limit) -> list[str]:
    out, since = [], 0
    while True:
        items, next_since, has_more, total = state.since(entity, since, limit)
        out.append(json.dumps([items, next_since, has_more, total]))
        if not has_more:
            return out
        since = next_since


def test_generated_on_a_thread_it_is_the_state_generated_at_once(reference):
    state = SandboxState.generating(CUSTOMERS, SEED, AS_OF)
    assert state.generation.wait_complete(None)
    assert json.dumps(state.export()) == json.dumps(reference.export())
    assert state.seq == reference.seq and state.next_ids == reference.next_ids
    assert state.rng.getstate() == reference.rng.getstate()
    for entity in ENTITIES:
        assert every_page(state, entity, 7) == every_page(reference, entity, 7), entity


def test_pages_served_while_generating_equal_the_pages_after_it(reference):
    gate = Gate(first=25)
    state = SandboxState.generating(CUSTOMERS, SEED, AS_OF, hold=gate)
    generation = state.generation
    assert gate.reached.wait(120)
    with state.lock:
        assert generation.done == 25 and not generation.complete
        # The first customers pages and the whole catalog are there, counted as they will be.
        early = {(e, 0, 10): page(state, e, 0, 10) for e in ("customers", "offers", "campaigns")}
        assert all(generation.page_ready(e, s, n) for e, s, n in early)
        second = json.loads(early[("customers", 0, 10)])[1]
        early[("customers", second, 10)] = page(state, "customers", second, 10)
        assert generation.page_ready("customers", second, 10)
        # What is not generated yet is not answered: customers past the 25th, a child
        # entity's page (its total is known only at the end), a customer not in yet.
        assert not generation.page_ready("customers", 0, 30)
        assert not generation.page_ready("subscriptions", 0, 1)
        last = reference.all("customers")[-1]["id"]
        assert not generation.page_ready("subscriptions", 0, 100, last)
    assert not generation.wait_page("customers", 0, 30, None, 0)
    gate.open.set()
    assert generation.wait_complete(None)
    for (entity, since, limit), answer in early.items():
        assert answer == page(reference, entity, since, limit) == page(state, entity, since, limit)


def test_a_page_of_a_customer_not_generated_yet_waits_then_answers_right(reference):
    gate = Gate(first=10)
    state = SandboxState.generating(CUSTOMERS, SEED, AS_OF, hold=gate)
    generation = state.generation
    late = reference.all("customers")[40]["id"]  # generated after the gate
    answers: list[str] = []

    def ask() -> None:
        assert generation.wait_page("transactions", 0, 100, late, None)
        answers.append(page(state, "transactions", 0, 100, late))

    assert gate.reached.wait(120)
    asker = threading.Thread(target=ask)
    asker.start()
    assert generation.someone_waits.wait(120)  # the asker is waiting on the generation
    assert answers == []
    gate.open.set()
    asker.join(120)
    assert answers == [page(reference, "transactions", 0, 100, late)]
    assert json.loads(answers[0])[0], "the customer has transactions"


def test_a_recipe_makes_the_state_a_full_save_would(reference, tmp_path):
    state = SandboxState.generating(CUSTOMERS, SEED, AS_OF, real_clock=True)
    save_recipe(state, tmp_path / "recipe.json")
    assert (tmp_path / "recipe.json").stat().st_size < 300
    state.generation.wait_complete(None)
    full = SandboxState.generate(CUSTOMERS, SEED, AS_OF, real_clock=True)
    full.save(tmp_path / "full.json")
    full.close()
    state.close()
    again = SandboxState.load(tmp_path / "recipe.json", autosave=False)
    assert again.generation.wait_complete(None)
    saved = SandboxState.load(tmp_path / "full.json", autosave=False)
    assert json.dumps(again.export()) == json.dumps(saved.export())
    assert again.seq == saved.seq and again.next_ids == saved.next_ids
    assert again.rng.getstate() == saved.rng.getstate() and again.real_clock


def test_a_write_after_a_recipe_saves_the_whole_state(tmp_path):
    path = tmp_path / "state.json"
    state = SandboxState.generating(12, SEED, AS_OF)
    save_recipe(state, path)
    state.generation.wait_complete(None)
    customer = state.all("customers")[0]["id"]
    state.add_note({"customerId": customer, "text": "kept", "author": "anna"})
    state.close()  # flushes the pending write: the whole state, the recipe replaced
    loaded = SandboxState.load(path, autosave=False)
    assert loaded.generation is None
    assert [n["text"] for n in loaded.of_customer("notes", customer)][-1] == "kept"
    with pytest.raises(ValueError):
        save_recipe(state, tmp_path / "other.json")  # changed since: no recipe


def test_saving_while_generating_waits_for_every_customer(reference, tmp_path):
    gate = Gate(first=5)
    state = SandboxState.generating(CUSTOMERS, SEED, AS_OF, hold=gate)
    assert gate.reached.wait(120)
    saver = threading.Thread(target=state.save, args=(tmp_path / "s.json",))
    saver.start()
    assert state.generation.someone_waits.wait(120)
    gate.open.set()
    saver.join(120)
    state.close()
    loaded = SandboxState.load(tmp_path / "s.json", autosave=False)
    assert json.dumps(loaded.export()) == json.dumps(reference.export())


def test_a_generation_that_fails_is_told_to_whoever_waits():
    def broken(bundles):
        yield next(bundles)
        raise OSError("disk on fire")

    state = SandboxState.generating(CUSTOMERS, SEED, AS_OF, hold=broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        state.generation.wait_complete(None)


def test_cycles_made_beside_a_generation_are_collected_not_frozen():
    """The demo generates beside its console: the collector is paused while it runs and
    what survives is frozen at the end. A cycle the console dropped meanwhile is collected
    first, not frozen for the rest of the process."""
    import weakref

    class Node:
        pass

    gate = Gate(first=10)
    state = SandboxState.generating(CUSTOMERS, SEED, AS_OF, hold=gate)
    try:
        assert gate.reached.wait(120)
        assert not gc.isenabled()  # paused while generating
        node = Node()
        node.self = node  # a cycle only the collector frees
        dropped = weakref.ref(node)
        del node
    finally:
        gate.open.set()
    assert state.generation.wait_complete(None)
    assert dropped() is None
    gc.unfreeze()  # what the generation froze goes back to the collector (other tests)


def test_the_demos_client_waits_out_a_generation_and_no_longer(tmp_path):
    """While the demo's customers are still being generated a page may wait for them (8 s,
    then 503 and Retry-After): the demo's client tries GENERATING_ATTEMPTS times then, so a
    slow machine's first sync waits instead of failing; once generated, the usual policy."""
    from srm_tui import runtime
    from srm_tui.api.retry import RetryPolicy
    from srm_tui.config import load_settings
    from srm_tui.session import Session

    gate = Gate(first=10)
    state = SandboxState.generating(CUSTOMERS, SEED, AS_OF, hold=gate)
    settings = load_settings()
    assert settings.is_demo
    session = Session(settings)
    session.demo_sandbox = runtime.DemoSandbox("http://127.0.0.1:9/3.1", None, state)
    try:
        assert gate.reached.wait(120)
        with session.client() as client:
            assert client.retry.attempts == runtime.DemoSandbox.GENERATING_ATTEMPTS > 6
        with session.client(RetryPolicy(attempts=2)) as client:  # a caller's own policy stays
            assert client.retry.attempts == 2
    finally:
        gate.open.set()
    assert state.generation.wait_complete(None)
    with session.client() as client:
        assert client.retry.attempts == RetryPolicy().attempts
    gc.unfreeze()  # what the generation froze goes back to the collector (other tests)

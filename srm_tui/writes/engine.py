"""The one push-and-resolve engine: every kind of write is registered with it.

A kind (support actions, offer edits) tells the engine how to list its writes, how to send
one, how many still wait, and how a decision settles one; the engine owns the order, the
stop when the API does not answer (the rest wait too), the summary, and the one retry
policy an interactive write is sent with.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from srm_tui.writes.errors import WriteInvalid
from srm_tui.writes.record import CONFLICT, FAILED, OPEN, SENT, PendingWrite
from srm_tui.writes.summary import OUTBOX_FIELDS, PushSummary

if TYPE_CHECKING:
    from srm_tui.api.client import ApiClient, RetryPolicy

WAITING = "waiting"  # not sent: the API did not answer
# Sent, but its claim's lease ran out meanwhile and another pusher took the write over: this
# answer is dropped (the other pusher sends it again under the same idempotency key).
LOST = "lost"


def interactive_retry() -> RetryPolicy:
    """A write someone waits for: a few quick retries, then it waits in its queue."""
    from srm_tui.api.client import RetryPolicy

    return RetryPolicy(attempts=3, base_delay=0.2, max_delay=1.0, max_retry_after=5.0)


@dataclass
class Settled:
    """What became of one write in a push."""

    status: str  # sent | conflict | failed | waiting | lost
    message: str | None = None  # told to the agent (the summary's messages)
    stop: str | None = None  # waiting: why the push stops here
    unreachable: bool = False  # waiting: the API could not be reached at all


class WriteKind(Protocol):
    """What a kind of write gives the engine."""

    name: str

    def writes(self, statuses: tuple[str, ...] | None = OPEN) -> list[PendingWrite]:
        """Its writes in those statuses (every one with None), oldest first."""
        ...

    def get(self, write_id: int) -> PendingWrite | None: ...

    def pushable(self) -> list[PendingWrite]:
        """What a push goes through, in order (waiting ones, and conflicts it reports)."""
        ...

    def pushing(self, writes: list[PendingWrite]) -> contextlib.AbstractContextManager[Any]:
        """A batch: yields the function that sends one write and answers ``Settled``."""
        ...

    def remaining(self) -> int:
        """How many writes still wait for the API."""
        ...

    def discard(self, write_id: int) -> Any: ...

    def retry(self, write_id: int) -> Any:
        """Send a write in conflict again as it is (over the API's version)."""
        ...


class ClaimedKind(WriteKind, Protocol):
    """A kind whose writes several pushers share (the outbox): a push sends only the writes
    it claimed, a batch at a time, under a lease it keeps while it sends."""

    def claiming(
        self, ids: list[int] | None
    ) -> contextlib.AbstractContextManager[Callable[[], list[PendingWrite]]]:
        """A push's claim (``ids``: only among these): yields the function that claims the
        next batch (empty when nothing more may be taken); gives back what is left at the
        end."""
        ...


class ClientHolder:
    """One lazily made API client for a service's writes, with the interactive retry policy.

    ``factory`` is the session's ``client`` (where the console and the CLI build every
    client); a service made without a session builds its own from the settings."""

    def __init__(
        self,
        settings: Any,
        *,
        client: ApiClient | None = None,
        factory: Callable[..., ApiClient] | None = None,
    ) -> None:
        import threading

        self.settings = settings
        self._client = client
        self._own = client is None
        self._factory = factory
        self._lock = threading.Lock()

    def get(self) -> ApiClient:
        from srm_tui.api import errors as api_errors

        with self._lock:
            if self._client is None:
                if not self.settings.api_url:
                    raise api_errors.Unreachable(
                        "no API URL is configured (--api-url or SRM_API_URL)"
                    )
                if self._factory is not None:
                    self._client = self._factory(retry=interactive_retry())
                else:  # a service made without a session (tests, scripts)
                    from srm_tui.api.client import ApiClient

                    self._client = ApiClient(
                        self.settings.api_url,
                        self.settings.key(),
                        timeout=self.settings.timeout,
                        retry=interactive_retry(),
                    )
            return self._client

    def close(self) -> None:
        if self._client is not None and self._own:
            self._client.close()
            self._client = None


class WriteEngine:
    """Every registered kind of write, pushed and resolved the same way."""

    def __init__(self, kinds: list[WriteKind] | None = None) -> None:
        self.kinds: dict[str, WriteKind] = {}
        for kind in kinds or []:
            self.register(kind)

    def register(self, kind: WriteKind) -> None:
        self.kinds[kind.name] = kind

    def _kinds(self, names: list[str] | None) -> list[WriteKind]:
        return [self.kinds[n] for n in names] if names else list(self.kinds.values())

    # reading -------------------------------------------------------------------------------

    def writes(
        self, statuses: tuple[str, ...] | None = OPEN, kinds: list[str] | None = None
    ) -> list[PendingWrite]:
        """Every kind's writes, kind by kind in registration order, each oldest first."""
        return [w for kind in self._kinds(kinds) for w in kind.writes(statuses)]

    def parse(self, ref: str | int) -> tuple[WriteKind, int]:
        """``12`` or ``action:12`` (an outbox entry), ``offer:3`` (an offer draft)."""
        text = str(ref).strip()
        name, _, number = text.rpartition(":")
        name = name or "action"
        if name not in self.kinds or not number.isdigit():
            known = ", ".join(f"{k}:N" for k in self.kinds)
            raise WriteInvalid("id", f"{text!r} is not a write (N or {known})")
        return self.kinds[name], int(number)

    def get(self, ref: str | int) -> PendingWrite:
        kind, number = self.parse(ref)
        found = kind.get(number)
        if found is None:
            raise WriteInvalid("id", f"no {kind.name} write {number}")
        return found

    # pushing -------------------------------------------------------------------------------

    def push(
        self,
        kinds: list[str] | None = None,
        *,
        writes: list[PendingWrite] | None = None,
        fields: tuple[tuple[str, str], ...] = OUTBOX_FIELDS,
    ) -> PushSummary:
        """Send what waits, kind by kind, oldest first; stop at the first write the API did
        not answer (everything after it waits too). ``writes``: only these (one kind). A
        kind several pushers share sends only what this push claimed: another pusher's
        writes are left to it."""
        chosen = self._kinds(kinds)
        summary = PushSummary(fields=fields)
        several = len(chosen) > 1
        for kind in chosen:
            batch = [w for w in writes if w.kind == kind.name] if writes is not None else None
            if self._push_kind(kind, batch, summary, several):
                break
        summary.remaining = sum(kind.remaining() for kind in chosen)
        if summary.remaining and summary.stopped is None:
            for kind in chosen:  # what still waits is another pusher's: say whose
                elsewhere = getattr(kind, "held_elsewhere", None)
                said = elsewhere() if elsewhere is not None else None
                if said:
                    summary.messages.append(said)
        return summary

    def _push_kind(
        self,
        kind: WriteKind,
        batch: list[PendingWrite] | None,
        summary: PushSummary,
        several: bool,
    ) -> bool:
        """One kind's writes; True when the push stopped."""
        claiming = getattr(kind, "claiming", None)
        if claiming is None:
            items = kind.pushable() if batch is None else batch
            with kind.pushing(items) as send:
                return self._send(send, items, summary, several)
        with claiming(None if batch is None else [w.id for w in batch]) as take:
            items = take()
            if not items:
                return False
            tried: set[int] = set()
            # One batch context for every claim: a customer's records are brought from the
            # API once, at the end of the push, not once per claimed batch.
            with kind.pushing(items) as send:
                while items:
                    tried.update(w.id for w in items)
                    if self._send(send, items, summary, several):
                        return True
                    # A write this push already tried and still holds is not tried again.
                    items = [w for w in take() if w.id not in tried]
        return False

    def _send(
        self,
        send: Callable[[PendingWrite], Settled],
        items: list[PendingWrite],
        summary: PushSummary,
        several: bool,
    ) -> bool:
        """Send a batch in order; True when the push stopped."""
        for write in items:
            settled = send(write)
            name = write.number if several else write.id
            if settled.message:
                summary.messages.append(settled.message)
            if settled.status == SENT:
                summary.sent.append(name)
            elif settled.status == CONFLICT:
                summary.conflicts.append(name)
            elif settled.status == FAILED:
                summary.failed.append(name)
            elif settled.status == LOST:
                continue  # the other pusher's, now: its message says so
            else:
                summary.waiting.append(name)
                summary.stopped = settled.stop or settled.message or "the API did not answer"
                summary.unreachable = settled.unreachable
                return True
        return False

    # deciding ------------------------------------------------------------------------------

    def discard(self, ref: str | int) -> Any:
        kind, number = self.parse(ref)
        return kind.discard(number)

    def retry(self, ref: str | int) -> Any:
        kind, number = self.parse(ref)
        return kind.retry(number)


@contextlib.contextmanager
def one_by_one(send: Callable[[PendingWrite], Settled]) -> Iterator[Callable[..., Settled]]:
    """A batch with nothing to set up or finish."""
    yield send

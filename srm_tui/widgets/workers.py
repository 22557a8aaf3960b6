"""Background work that never closes the console.

``work`` is Textual's ``work`` decorator with one policy for every screen and the app: a
failure does not exit the app (``exit_on_error=False``); it goes up to ``SrmApp.worker_failed``,
the one place that logs it, tells the agent in plain text and lets the screen that started
the work show it where it belongs (its own ``worker_failed(group, error)``), so the screen
stays usable. A failure the work handles itself never gets here. ``run_reported`` does the
same for a function run as a worker without a decorator.

Workers answer with messages (attributes down, messages up): a screen's worker posts its
result to the screen, and what concerns the whole console goes up to the app as one of the
messages below, never by setting the app's attributes.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any

from textual import work as textual_work
from textual.message import Message


class ApiReached(Message):
    """A call to the API got an answer (``answered``) or found it out of reach: the app's
    status line says so (online/offline) and drops a stale "sync failed"."""

    def __init__(self, answered: bool) -> None:
        super().__init__()
        self.answered = answered


class DataChanged(Message):
    """The cache changed under the console (an action applied or queued, an outbox entry
    settled): the app's status line counts again."""


class StoreChanged(Message):
    """Others changed the team store (its change feed, storage.changes): the customers the
    changes name, their kinds ("notes", "outbox", "sync:customers", ...), whether one may
    concern any customer (too many to name), and whether the team's sync wrote vendor records.
    The app refreshes its status line and hands it to the screen on top."""

    def __init__(
        self,
        customer_ids: frozenset[int],
        kinds: frozenset[str],
        *,
        any_customer: bool = False,
        vendor: bool = False,
    ) -> None:
        super().__init__()
        self.customer_ids = customer_ids
        self.kinds = kinds
        self.any_customer = any_customer
        self.vendor = vendor

    @classmethod
    def of(cls, changes: Iterable[Any]) -> StoreChanged:
        """One message for a batch of the feed's changes (storage.changes.Change)."""
        changes = list(changes)
        return cls(
            frozenset(i for c in changes for i in (c.customer_ids or ())),
            frozenset(c.kind for c in changes),
            any_customer=any(c.any_customer for c in changes),
            vendor=any(c.vendor for c in changes),
        )

    def names(self, customer_id: int) -> bool:
        """Whether the changes may concern this customer."""
        return self.any_customer or customer_id in self.customer_ids


class WorkFailed(Message):
    """Background work failed: the app's one handler shows it (``SrmApp.worker_failed``)."""

    def __init__(self, node: Any, group: str, error: BaseException) -> None:
        super().__init__()
        self.node = node
        self.group = group
        self.error = error


def _report(node: Any, group: str, error: Exception, *, thread: bool) -> None:
    del thread  # post_message is safe from any thread
    try:
        # Up to the app as a message, from whichever thread the work ran on.
        node.app.post_message(WorkFailed(node, group, error))
    except Exception:  # the app is closing: there is nobody left to tell
        return


def work(
    method: Callable | None = None,
    *,
    group: str = "default",
    exclusive: bool = False,
    thread: bool = False,
    name: str = "",
    description: str | None = None,
    exit_on_error: bool = False,
) -> Any:
    """Run the method as a Textual worker whose failure is reported, never fatal.

    Takes ``textual.work``'s arguments; ``exit_on_error`` is accepted for the same spelling
    and is always False.
    """

    def decorate(fn: Callable) -> Any:
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def body(self: Any, *args: Any, **kwargs: Any) -> Any:
                try:
                    return await fn(self, *args, **kwargs)
                except Exception as exc:
                    _report(self, group, exc, thread=False)
                    raise
        else:

            @functools.wraps(fn)
            def body(self: Any, *args: Any, **kwargs: Any) -> Any:
                try:
                    return fn(self, *args, **kwargs)
                except Exception as exc:
                    _report(self, group, exc, thread=thread)
                    raise

        return textual_work(
            body,
            group=group,
            exclusive=exclusive,
            thread=thread,
            name=name,
            description=description,
            exit_on_error=False,
        )

    return decorate(method) if method is not None else decorate


def run_reported(
    node: Any, fn: Callable[[], Any], *, group: str, thread: bool = True, exclusive: bool = False
) -> Any:
    """``node.run_worker(fn)`` under the same policy as ``work``: a failure is reported to
    the app's one handler and never closes the console."""

    def body() -> Any:
        try:
            return fn()
        except Exception as exc:
            _report(node, group, exc, thread=thread)
            raise

    return node.run_worker(
        body, group=group, thread=thread, exclusive=exclusive, exit_on_error=False
    )

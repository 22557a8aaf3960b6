"""A replica's push: its queued actions go to the team store's outbox, never to the vendor.

On a replica (team/replicate.py) `srm outbox push` and the console's push run this kind of
write instead of the API's: each pending entry is inserted into the store's outbox under its
own idempotency key (``ON CONFLICT (idempotency_key) DO NOTHING``), with an audit row there
saying who forwarded it from where, then marked ``sent`` on the replica with
``{"forwarded": store_id}``. A process killed between the two forwards the entry again at the
next push, and the store keeps the one row it has: the team's pushers send it once.

The store is the one ``SRM_TEAM_DB`` names, else the replica's own (its URL carries no
password: a ~/.pgpass entry or a trusted socket supplies the login). A store that cannot be
reached stops the push in one line and every entry stays pending; a URL naming another store
than the replica's, or a login that may only read, forwards nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
from collections.abc import Iterator
from typing import Any

from srm_tui.team.replicate import ReplicaOf, store_id
from srm_tui.writes.engine import Settled
from srm_tui.writes.kinds import ActionWrites
from srm_tui.writes.record import PENDING, SENT, PendingWrite

TEAM_DB_ENV = "SRM_TEAM_DB"
# Tests: SIGKILL this process once its N-th entry is in the store's outbox, before the
# replica marks it (the window a re-forward must survive).
KILL_AFTER_ENV = "SRM_FORWARD_KILL_AFTER"
WAITING = "waiting"


def store_url(replica: ReplicaOf) -> str:
    """The store to forward to: SRM_TEAM_DB, else the one the replica was taken from."""
    return os.environ.get(TEAM_DB_ENV, "").strip() or replica.url


class _Killer:
    def __init__(self) -> None:
        raw = os.environ.get(KILL_AFTER_ENV, "")
        self.after = int(raw) if raw.isdigit() else None
        self.forwarded = 0

    def in_store(self) -> None:
        self.forwarded += 1
        if self.after is not None and self.forwarded >= self.after:
            os.kill(os.getpid(), signal.SIGKILL)


def _stopped(message: str, unreachable: bool = False) -> Any:
    def send(write: PendingWrite) -> Settled:
        return Settled(WAITING, stop=message, unreachable=unreachable)

    return send


class ForwardWrites(ActionWrites):
    """Support actions on a replica: listed and decided as on any cache, pushed to the team
    store's outbox (see the module docstring)."""

    # No claims: a forward is idempotent on both sides (the store keeps one row per key, the
    # replica marks only a pending entry), so two pushes of one replica cannot send twice.
    claiming = None

    def __init__(self, service: Any, replica: ReplicaOf) -> None:
        super().__init__(service)
        self.replica = replica

    def pushable(self) -> list[PendingWrite]:
        """The pending entries (a viewer forwards nothing); no API is needed."""
        self.service._require_role()
        return self.writes((PENDING,))

    @contextlib.contextmanager
    def pushing(self, writes: list[PendingWrite]) -> Iterator[Any]:
        if not writes:
            yield _stopped("nothing to forward")
            return
        from srm_tui.storage import db
        from srm_tui.storage.cache import CacheError

        url = store_url(self.replica)
        where = db.redact_url(url)
        try:
            store = db.open_team_store(url)
        except CacheError as exc:
            from srm_tui.storage.pg.connection import StoreUnreachable

            away = isinstance(exc, StoreUnreachable)  # else no srm store there, or another version
            yield _stopped(  # the reason last: a long libpq message is cut, not the point
                f"the team store {'cannot be reached' if away else 'cannot take them'}: "
                f"{len(writes)} action(s) stay pending on this replica until it can "
                f"({where}: {exc})",
                unreachable=away,
            )
            return
        try:
            found = store_id(store)
            if found != self.replica.store_id:
                yield _stopped(
                    f"{where} is not the store this replica was taken from ({self.replica.url}"
                    f"): nothing forwarded (set {TEAM_DB_ENV} to that store)"
                )
            elif store.read_only:
                yield _stopped(
                    f"this login may only read the team store {where}: forwarding queues in "
                    "its outbox, which needs an agent login; nothing forwarded"
                )
            else:
                killer = _Killer()
                yield lambda write: self._forward(store, write, killer)
        finally:
            store.close()

    def _forward(self, store: Any, write: PendingWrite, killer: _Killer) -> Settled:
        from srm_tui.storage import db

        item = write.source
        settings = self.service.settings
        now = settings.now_ts()
        row = (
            self.service.cache.conn()
            .execute(
                "SELECT idempotency_key, action, target, customer_id, payload, base, agent, "
                "created_at FROM outbox WHERE id = ? AND status = 'pending'",
                (item.id,),
            )
            .fetchone()
        )
        if row is None:  # settled meanwhile (another push of this replica)
            return Settled(SENT)
        host, pid = socket.gethostname(), os.getpid()
        try:
            with store.transaction() as tx:
                made = tx.execute(
                    "INSERT INTO outbox (idempotency_key, action, target, customer_id, payload, "
                    "base, agent, status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?) "
                    "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
                    tuple(row),
                ).fetchone()
                if made is not None:
                    tx.execute(
                        "INSERT INTO audit (at, agent, role, action, target, customer_id, "
                        "outcome, detail, host, pid) VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?)",
                        (
                            now,
                            row["agent"],
                            item.role,
                            row["action"],
                            row["target"],
                            row["customer_id"],
                            f"outbox #{made[0]}: forwarded from the replica "
                            f"{self.service.cache.location} (its #{item.id}) by "
                            f"{settings.agent}",
                            host,
                            pid,
                        ),
                    )
        except db.DB_ERRORS as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return Settled(
                WAITING,
                stop=f"stopped at #{item.id}: the team store refused it ({reason}); it stays "
                "pending",
            )
        killer.in_store()
        there = made[0] if made is not None else None
        response = {"forwarded": self.replica.store_id, "store_outbox_id": there}
        with self.service.cache.transaction() as tx:
            tx.execute(
                "UPDATE outbox SET status = 'sent', sent_at = ?, last_error = NULL, response = ? "
                "WHERE id = ? AND status = 'pending'",
                (now, json.dumps(response), item.id),
            )
            tx.execute(
                "INSERT INTO audit (at, agent, role, action, target, customer_id, outcome, "
                "detail) VALUES (?, ?, ?, ?, ?, ?, 'forwarded', ?)",
                (
                    now,
                    settings.agent,
                    settings.role,
                    row["action"],
                    row["target"],
                    row["customer_id"],
                    f"outbox #{item.id}: forwarded to the team store {self.replica.url}"
                    + (f" as #{there}" if there is not None else " (it had it already)"),
                ),
            )
        about = f"#{item.id} {item.title} ({item.target})"
        message = (
            f"{about}: forwarded to the team's outbox as #{there}"
            if there is not None
            else f"{about}: already in the team's outbox (forwarded before)"
        )
        return Settled(SENT, message)

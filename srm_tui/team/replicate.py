"""`srm replicate (--segment NAME | --customers FILE) --to FILE`: a subset of the team store in
a local SQLite cache, for offline review (CONTRACT section 9, ISSUE15 1(h)).

Any srm login that can read the store may take one. The replica holds the catalogue (offers,
localizations, season groups, campaigns and codes), exchange rates, the playbook, the saved
segments and their versions, and for the chosen customers only: their records and every
child (subscriptions, passes, transactions, payment details, emails, notes, history, observed
changes, static segment memberships), indexed for search as srm indexes a cache. The team's
outbox, audit, drafts, bulk runs, schedules and the writer's bookkeeping stay in the store.
Its meta ``replica_of`` says of what: the store's id (the server's system identifier and the
database's name, which every login can read), its URL without a password, the selection
(``segment`` or ``customers`` file) and when it was taken.

The file is built beside the target as a new 0600 file (never through a link), then takes the
target's name: a new target by a hard link (fails if anything appeared there meanwhile), an
existing one only when it is a replica of the same store and selection whose queued actions
have all been forwarded (a refresh). Every table is read in one read-only REPEATABLE READ
transaction, so the replica is the store as of one moment even while the team's sync writes
(the members are chosen just before it; one removed in between is simply not there).

An action queued on the replica is forwarded to the store's outbox (team/forward.py); a
session on a replica never reaches the vendor's API (session.py).
"""

from __future__ import annotations

import glob
import json
import os
import socket
import sqlite3
import stat
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from srm_tui.exits import UsageProblem
from srm_tui.storage.cache import CacheError
from srm_tui.storage.db import is_postgres_url, redact_url
from srm_tui.team.replicate_copy import (
    copy_into,
    customers_from_file,
    segment_members,
    snapshot,
)

REPLICA_META = "replica_of"


class ReplicateError(CacheError):
    """The replica cannot be made or refreshed (one line, exit 1)."""


@dataclass(frozen=True)
class ReplicaOf:
    """What a replica is a copy of (its meta ``replica_of``)."""

    store_id: str
    url: str  # the store's URL without its password
    segment: str | None
    customers: str | None  # the --customers file's absolute path
    at: int
    members: int = 0

    @property
    def selection(self) -> str:
        """The selection in words: 'segment X' or 'customers from FILE'."""
        if self.segment is not None:
            return f"segment {self.segment}"
        return f"customers from {self.customers}"

    def label(self) -> str:
        """The console's status words: 'replica of URL (segment X, taken HH:MM UTC)'."""
        taken = time.strftime("%H:%M", time.gmtime(self.at))
        return f"replica of {self.url} ({self.selection}, taken {taken} UTC)"

    def same_source(self, other: ReplicaOf) -> bool:
        """The same store and the same selection (a refresh, not a different replica)."""
        return (self.store_id, self.segment, self.customers) == (
            other.store_id,
            other.segment,
            other.customers,
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> ReplicaOf | None:
        """The meta value read back; None for none or one this srm cannot read."""
        try:
            data = json.loads(text or "")
            return cls(
                store_id=str(data["store_id"]),
                url=str(data["url"]),
                segment=data.get("segment"),
                customers=data.get("customers"),
                at=int(data["at"]),
                members=int(data.get("members") or 0),
            )
        except (TypeError, ValueError, KeyError):
            return None


def without_password(url: str) -> str:
    """``url`` with no password at all (userinfo and ``password=`` parameter dropped), so the
    replica can name its store and a login with a ~/.pgpass or a trusted socket can reach it."""
    parts = urlsplit(url.strip())
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        netloc = f"{userinfo.split(':', 1)[0]}@{host}"
    query = parts.query
    if "password" in query.lower():  # else as given: a socket path stays readable
        kept = [(k, v) for k, v in parse_qsl(query) if k.lower() != "password"]
        query = urlencode(kept, safe="/:,")
    # Put together by hand: urlunsplit drops the '//' of an empty host (postgresql:///srm).
    text = f"{parts.scheme}://{netloc}{parts.path}"
    return text + (f"?{query}" if query else "") + (f"#{parts.fragment}" if parts.fragment else "")


def store_id(store: Any) -> str:
    """The team store's identity: its server's system identifier and its database's name
    (every login may read both; a copy on another server, or another database, differs)."""
    row = (
        store.conn()
        .execute("SELECT (SELECT system_identifier FROM pg_control_system()), current_database()")
        .fetchone()
    )
    return f"pg:{row[0]}:{row[1]}"


# -- what a file is ---------------------------------------------------------------------------


def read_replica_of(path: str | os.PathLike[str]) -> ReplicaOf | None:
    """The ``replica_of`` of the SQLite file at ``path``, or None: no file, not an srm cache,
    or a cache that is no replica. Never creates or changes anything."""
    target = Path(path)
    try:
        if not stat.S_ISREG(os.lstat(target).st_mode):
            return None
    except OSError:
        return None
    for mode in ("rw", "ro"):  # read only when the file is (a WAL reader may need rw)
        try:
            conn = sqlite3.connect(f"file:{quote(str(target.absolute()))}?mode={mode}", uri=True)
        except sqlite3.Error:
            continue
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (REPLICA_META,)).fetchone()
        except sqlite3.Error:
            continue
        finally:
            conn.close()
        return ReplicaOf.from_json(row[0]) if row else None
    return None


def replica_of_store(cache: Any) -> ReplicaOf | None:
    """The ``replica_of`` of an open store: None for the team store and for a cache that is
    not a replica."""
    if getattr(getattr(cache, "dialect", None), "name", "sqlite") != "sqlite":
        return None
    try:
        return ReplicaOf.from_json(cache.get_meta(REPLICA_META))
    except sqlite3.Error:
        return None


def _unforwarded(path: Path) -> int:
    """Actions queued on the replica at ``path`` not yet forwarded to the store."""
    conn = sqlite3.connect(f"file:{quote(str(path.absolute()))}?mode=rw", uri=True)
    try:
        row = conn.execute(
            "SELECT count(*) FROM outbox WHERE status IN ('pending', 'conflict', 'failed')"
        ).fetchone()
        return int(row[0])
    finally:
        conn.close()


def check_to(path: str, wanted: ReplicaOf) -> bool:
    """Whether ``--to`` names an existing replica to refresh (True) or a new file (False);
    UsageProblem naming --to for a link, a non-file, a missing folder or a file that is not a
    replica of the same store and selection; ReplicateError while it holds actions not yet
    forwarded or is open (a refresh would lose them or pull it from under its reader)."""
    target = Path(path)
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        if not target.parent.is_dir():
            raise UsageProblem(f"--to: the folder {target.parent} does not exist") from None
        return False
    if stat.S_ISLNK(info.st_mode):
        raise UsageProblem(f"--to: {target} is a symbolic link; srm never writes through one")
    if not stat.S_ISREG(info.st_mode):
        raise UsageProblem(f"--to: {target} is not a regular file")
    found = read_replica_of(target)
    if found is None:
        raise UsageProblem(
            f"--to: {target} exists and is not a replica (srm replicate replaces only a "
            "replica it made); choose a new file"
        )
    if not found.same_source(wanted):
        raise UsageProblem(
            f"--to: {target} is a replica of {found.url} ({found.selection}), not of "
            f"{wanted.url} ({wanted.selection}); choose a new file"
        )
    waiting = _unforwarded(target)
    if waiting:
        raise ReplicateError(
            f"{target} holds {waiting} action(s) queued offline and not forwarded yet: "
            f"srm outbox push --db {target} forwards them to the team store first"
        )
    if Path(f"{target}-wal").exists():
        raise ReplicateError(
            f"{target} is open (a console or a command is using it, or one did not close it): "
            "close it, then refresh"
        )
    return True


# -- the command ------------------------------------------------------------------------------


@dataclass
class ReplicateReport:
    """What `srm replicate` did."""

    to: str
    store: str  # the URL without its password
    store_id: str
    selection: str
    members: int
    refreshed: bool
    not_found: list[str] = field(default_factory=list)
    tables: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _place(tmp: Path, target: Path, refresh: bool) -> None:
    """The finished file takes the target's name: over the old replica when refreshing,
    else by a hard link that fails if anything appeared there since the check."""
    if refresh:
        if not stat.S_ISREG(os.lstat(target).st_mode):  # swapped for a link meanwhile
            raise UsageProblem(f"--to: {target} is no longer a regular file")
        os.replace(tmp, target)
        return
    try:
        os.link(tmp, target)
    except FileExistsError:
        raise UsageProblem(f"--to: {target} appeared while the replica was made") from None
    os.unlink(tmp)


def _tmp_prefix(target: Path) -> str:
    """The name of a replica being made beside ``target`` by this host, less its pid."""
    return f".{target.name}.replicating-{socket.gethostname()}-"


def _remove_abandoned(target: Path) -> None:
    """Remove what a replicate of ``target`` killed on this host left (its process is gone);
    another host's, or a live process's, is left alone."""
    prefix = _tmp_prefix(target)
    for path in target.parent.glob(f"{glob.escape(prefix)}*"):
        pid = path.name[len(prefix) :]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            _remove(path)
        except OSError:
            continue  # alive, another user's


def _remove(tmp: Path) -> None:
    for path in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm"), Path(f"{tmp}-journal")):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def replicate(
    url: str,
    to: str,
    *,
    segment: str | None = None,
    customers: str | None = None,
    now: int | None = None,
    say: Callable[[str], None] | None = None,
) -> ReplicateReport:
    """Make (or refresh) the replica ``to`` of the team store at ``url`` holding the saved
    ``segment``'s customers or those the ``customers`` file names (see the module
    docstring)."""
    from srm_tui.storage.cache import Cache
    from srm_tui.storage.db import open_team_store
    from srm_tui.storage.files import create_private

    started = time.monotonic()
    say = say or (lambda line: None)
    if (segment is None) == (customers is None):
        raise UsageProblem("--segment/--customers: give exactly one")
    if not is_postgres_url(url):
        raise UsageProblem(
            "--store: srm replicate copies from the team store, a postgresql:// URL (--store, "
            f"SRM_TEAM_DB or --db), not {redact_url(url)[:80]!r}"
        )
    now = int(time.time()) if now is None else now
    store = open_team_store(url)
    try:
        wanted = ReplicaOf(
            store_id=store_id(store),
            url=without_password(url),
            segment=segment,
            customers=str(Path(customers).absolute()) if customers is not None else None,
            at=now,
        )
        target = Path(to)
        refresh = check_to(to, wanted)
        not_found: list[str] = []
        if segment is not None:
            ids = segment_members(store, segment, now)
        else:
            assert customers is not None
            ids, not_found = customers_from_file(store, customers)
        say(f"srm replicate: {len(ids):,} customers from {redact_url(url)}")
        _remove_abandoned(target)
        tmp = target.parent / f"{_tmp_prefix(target)}{os.getpid()}"
        _remove(tmp)
        create_private(tmp)
        try:
            cache = Cache(tmp)
            try:
                with snapshot(url) as src:
                    counts = copy_into(src, cache, ids, say)
                meta = ReplicaOf(**{**asdict(wanted), "members": len(ids)})
                cache.set_meta(REPLICA_META, meta.to_json())
            finally:
                cache.close()  # the last connection: the whole replica is in the one file
            if Path(f"{tmp}-wal").exists():
                raise ReplicateError(f"{tmp}: SQLite kept a write-ahead log open; try again")
            os.chmod(tmp, 0o600)
            _place(tmp, target, refresh)
        finally:
            _remove(tmp)
    finally:
        store.close()
    return ReplicateReport(
        to=str(target),
        store=wanted.url,
        store_id=wanted.store_id,
        selection=wanted.selection,
        members=len(ids),
        refreshed=refresh,
        not_found=not_found,
        tables=counts,
        seconds=round(time.monotonic() - started, 3),
    )

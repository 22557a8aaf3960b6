"""Who may write what on the team store, for the commands that write team-wide data (issue
15): the vendor's records an import brings, the exchange rates, the playbook. On the team
store these are the writer's and the owner's (the srm_sync login, the store's owner); an
agent's or a viewer's command is refused in one line (exit 1) before it writes anything.
A SQLite cache is one agent's own: nothing changes there."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from srm_tui.exits import EXIT_FAILURE

TEAM_WRITERS = ("owner", "sync")


def require_team_writer(s: Any, command: str, what: str) -> None:
    """Exit 1 with one line unless this store's login may write ``what`` (a cache may)."""
    standing = getattr(s.cache, "role", None)
    if standing is None or standing in TEAM_WRITERS:
        return
    article = "an" if standing[:1] in "aeiou" else "a"
    click.echo(
        f"srm: {command}: {what} written by the team store's srm_sync login or its owner, "
        f"not {article} {standing} login",
        err=True,
    )
    sys.exit(EXIT_FAILURE)


@contextmanager
def vendor_writer(s: Any, command: str) -> Iterator[None]:
    """Writing the team store's vendor records: only its sync login or owner (else one line,
    exit 1), and only while no srm sync writes (the command holds the sync's writer lock, so
    the two never interleave). A cache file is written as it always was."""
    if getattr(s.cache, "role", None) is None:
        yield
        return
    require_team_writer(s, command, "the team store's vendor records are")
    from srm_tui.storage.writer import WriterBusy, WriterLock

    try:
        lock = WriterLock.acquire(s.cache, "sync")
    except WriterBusy as busy:
        click.echo(f"srm: {command}: {busy}", err=True)
        sys.exit(EXIT_FAILURE)
    with lock:
        yield

"""Crash safety: kill sync, outbox push and the console with SIGKILL at random points.

Each kill lands while the process works, by construction, not by timing: the child counts
its SQL statements and SIGKILLs itself just before the N-th (N drawn at random up to the
statements of one whole run, tools/forkserver.py), so a busy machine changes nothing.

Each run starts a real sandbox (``srm sandbox serve``) and a fork server (tools/forkserver.py:
srm imported once, a fresh process forked per run), then, ``kills`` times per target:

- **sync**: ``srm sync`` (``--full`` once the cache is complete) on a small page size, killed
  at a random statement; every so often the cache starts empty again.
- **push**: a batch of notes and edits is queued offline, then ``srm outbox push`` is killed.
- **console**: the real App (background push and sync on start) is driven by keys: search a
  customer, open them, add a note, edit their first name, ctrl+r; killed at a random statement.

After each kill the cache must pass ``check_cache`` (SQLite integrity, the search index equal
to the rows it indexes, the list's derived columns and counters equal to what they count),
every committed sync checkpoint must be backed by its records (``check_prefix``: what the
checkpoint says was read is in the cache, field by field), and each queued action must have
reached the sandbox at most once, exactly once when its outbox entry says sent
(``check_actions``). At the end, a final push and sync must leave the cache equal to the
sandbox's export and every action applied exactly once.

``python -m tools.crash_harness --kills 50`` runs the full harness and prints the results as
JSON (docs/reliability.md records them); tests/integration/test_reliability_crash.py runs it too.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.helpers import KEYS, SandboxProcess, cache_matches_export  # noqa: E402

AS_OF = "2026-11-01T00:00:00Z"
HEADERS = {"X-Publisher-Token": "sandbox-key"}


# -- the fork server --------------------------------------------------------------------------


class ForkServer:
    """tools/forkserver.py as a child process."""

    def __init__(self, env: dict[str, str] | None = None):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tools.forkserver"],
            cwd=ROOT,
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, **(env or {}), "PYTHONPATH": str(ROOT)},
        )
        ready = self.proc.stdout.readline()
        if '"ready"' not in ready:
            self.proc.kill()
            raise RuntimeError(f"fork server did not start: {ready!r}")

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def start(
        self,
        target: str,
        args: list[Any],
        env: dict[str, str],
        log: Path | None = None,
        kill_at: int | None = None,
        count_file: Path | None = None,
        kill_after: str | None = None,
    ) -> int:
        return self._ask(
            {
                "op": "run",
                "target": target,
                "args": args,
                "env": env,
                "log": str(log) if log else None,
                "kill_at": kill_at,
                "kill_after": kill_after,
                "count_file": str(count_file) if count_file else None,
            }
        )["pid"]

    def wait(self, pid: int) -> int:
        return self._ask({"op": "wait", "pid": pid})["status"]

    def run_killed(
        self,
        target: str,
        args: list[Any],
        env: dict[str, str],
        kill_at: int,
        log: Path | None = None,
        kill_after: str | None = None,
    ) -> tuple[int, bool]:
        """Run it; it SIGKILLs itself just before its ``kill_at``-th SQL statement (counted
        from the phase ``kill_after`` when given), so the kill lands while it works whatever
        the machine's speed. (status, whether it was killed; not killed: it finished with
        fewer statements, and is checked whole.)"""
        status = self.wait(
            self.start(target, args, env, log, kill_at=kill_at, kill_after=kill_after)
        )
        return status, status == -signal.SIGKILL

    def run(
        self, target: str, args: list[Any], env: dict[str, str], log: Path | None = None
    ) -> int:
        return self.wait(self.start(target, args, env, log))

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self._ask({"op": "quit"})
            except (BrokenPipeError, ValueError, json.JSONDecodeError):
                pass
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


# -- checks -----------------------------------------------------------------------------------


def _connect(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db, timeout=30)
    conn.row_factory = sqlite3.Row
    return conn


def _index_instances(conn: sqlite3.Connection, schema: str, table: str) -> set[tuple]:
    name = f"v_{schema}_{table}"
    conn.execute(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS temp.{name} USING "
        f"fts5vocab({schema}, {table}, 'instance')"
    )
    try:
        return {tuple(r) for r in conn.execute(f"SELECT term, doc, col, offset FROM temp.{name}")}
    finally:
        conn.execute(f"DROP TABLE temp.{name}")


def check_cache(db: Path) -> list[str]:
    """What is wrong with the cache file (an empty list: nothing)."""
    from srm_tui.storage.records import _fts_rows

    problems: list[str] = []
    conn = _connect(db)
    try:
        result = conn.execute("PRAGMA integrity_check").fetchone()[0]
        if result != "ok":
            return [f"integrity_check: {result}"]
        if conn.execute("PRAGMA foreign_key_check").fetchone():
            problems.append("foreign_key_check found rows")
        try:
            conn.execute("INSERT INTO customers_fts (customers_fts) VALUES ('integrity-check')")
        except sqlite3.DatabaseError as exc:
            problems.append(f"search index integrity-check: {exc}")
        # The search index holds exactly the words of the rows as they are: an edit or a
        # sync page never leaves a customer indexed twice, stale or not at all.
        conn.execute(
            "CREATE VIRTUAL TABLE temp.expect USING fts5 (email, name, company, "
            "address, city, state, post_code, content='', "
            'tokenize="unicode61 remove_diacritics 2")'
        )
        ids = [r[0] for r in conn.execute("SELECT id FROM customers")]
        conn.executemany(
            "INSERT INTO temp.expect (rowid, email, name, company, address, city, "
            "state, post_code) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            _fts_rows(conn, ids),
        )
        indexed = _index_instances(conn, "main", "customers_fts")
        expected = _index_instances(conn, "temp", "expect")
        if indexed != expected:
            docs = sorted({i[1] for i in indexed ^ expected})
            problems.append(
                f"search index differs from the rows for {len(docs)} customer(s), e.g. {docs[:3]}"
            )
        conn.execute("DROP TABLE temp.expect")
        # The list's derived columns as storage/records.py defines them: paid transactions
        # (captured or refunded) and the latest payment method named.
        wrong = conn.execute(
            "SELECT count(*) FROM customers c WHERE c.transactions != (SELECT count(*) FROM "
            "transactions t WHERE t.customer_id = c.id AND t.status IN ('captured', "
            "'refunded')) OR c.last_payment_method IS NOT (SELECT t.payment_method FROM "
            "transactions t WHERE t.customer_id = c.id AND t.payment_method IS NOT NULL AND "
            "t.payment_method != '' ORDER BY t.date DESC, t.id DESC LIMIT 1)"
        ).fetchone()[0]
        if wrong:
            problems.append(f"{wrong} customer(s) with stale transaction counts")
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        if "row_counts" in tables:
            for name, n in conn.execute("SELECT name, n FROM row_counts"):
                actual = conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
                if actual != n:
                    problems.append(f"row_counts says {n} {name}, the table has {actual}")
        dangling = conn.execute(
            "SELECT count(*) FROM outbox WHERE status = 'sent' AND sent_at IS NULL"
        ).fetchone()[0]
        if dangling:
            problems.append(f"{dangling} outbox entries sent without a time")
    finally:
        conn.close()
    return problems


def check_prefix(db: Path, url: str, export: dict[str, Any]) -> list[str]:
    """Every record a committed checkpoint covers is in the cache, as the API has it.

    The export lists each entity in change order; the records changed after the checkpoint
    are ``X-Total-Count`` of an enumeration from it, so the ones before it are the export's
    first ``len - total``. (Holds while nothing writes to the sandbox.)
    """
    from srm_tui.storage import records

    conn = _connect(db)
    problems: list[str] = []
    try:
        checkpoints = {
            r["entity"]: r["since"]
            for r in conn.execute("SELECT entity, since FROM sync_checkpoints")
        }
        with httpx.Client(base_url=url, headers=HEADERS, timeout=30) as api:
            for entity, since in checkpoints.items():
                after = int(
                    api.get(f"/x-srm/{entity}", params={"since": since, "limit": 1}).headers[
                        "X-Total-Count"
                    ]
                )
                items = export[entity]
                covered = items[: len(items) - after]
                key = KEYS[entity]
                cached = {str(r[key]): r for r in records.raw_records(conn, entity)}
                missing = [str(i[key]) for i in covered if str(i[key]) not in cached]
                differ = [
                    str(i[key])
                    for i in covered
                    if str(i[key]) in cached and cached[str(i[key])] != i
                ]
                extra = set(cached) - {str(i[key]) for i in items}
                if missing:
                    problems.append(
                        f"{entity}: checkpoint {since} covers {len(missing)} "
                        f"record(s) not in the cache, e.g. {missing[:3]}"
                    )
                if differ:
                    problems.append(
                        f"{entity}: {len(differ)} covered record(s) differ, e.g. {differ[:3]}"
                    )
                if extra:
                    problems.append(f"{entity}: {len(extra)} record(s) the API does not have")
    finally:
        conn.close()
    return problems


@dataclass
class Queued:
    """What one queued action leaves at the API, to count it there."""

    kind: str  # "note" | "edit"
    value: str  # the note's text, or the new first name
    customer_id: int


def applied_counts(export: dict[str, Any], actions: list[Queued]) -> dict[str, int]:
    notes = Counter(n["text"] for n in export["notes"])
    edits = Counter(
        c["to"] for h in export["history"] for c in h["changes"] if c["field"] == "firstName"
    )
    return {a.value: (notes if a.kind == "note" else edits)[a.value] for a in actions}


def outbox_statuses(db: Path) -> dict[str, str]:
    """Queued value -> its outbox entry's status."""
    conn = _connect(db)
    try:
        out = {}
        for row in conn.execute("SELECT status, payload FROM outbox"):
            args = json.loads(row["payload"]).get("args") or {}
            value = args.get("text") or args.get("first_name")
            if value:
                out[value] = row["status"]
        return out
    finally:
        conn.close()


def check_actions(
    db: Path, export: dict[str, Any], actions: list[Queued], *, final: bool = False
) -> list[str]:
    """Each action at most once at the API; exactly once when its entry says sent."""
    counts = applied_counts(export, actions)
    statuses = outbox_statuses(db)
    problems = []
    for action in actions:
        n, status = counts[action.value], statuses.get(action.value)
        if n > 1:
            problems.append(f"{action.kind} {action.value!r} applied {n} times")
        if status is None and n:
            problems.append(f"{action.kind} {action.value!r} reached the API with no outbox entry")
        if status == "sent" and n != 1:
            problems.append(f"{action.kind} {action.value!r} is sent but applied {n} times")
        if status in ("conflict", "failed", "refused"):
            problems.append(f"{action.kind} {action.value!r} ended {status}")
        if final and n != 1:
            problems.append(f"{action.kind} {action.value!r} applied {n} times in the end")
    return problems


# -- the runs ---------------------------------------------------------------------------------


@dataclass
class Result:
    target: str
    kills: int = 0
    mid_run: int = 0  # the process was still running when killed
    finished: int = 0  # it had finished on its own before the kill (checked whole)
    checks: int = 0
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    detail: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "kills": self.kills,
            "mid_run": self.mid_run,
            "finished": self.finished,
            "checks": self.checks,
            "problems": self.problems,
            "seconds": round(self.seconds, 1),
            **self.detail,
        }


class World:
    """A sandbox, a fork server and a work directory shared by the three runs."""

    def __init__(self, work: Path, customers: int = 150, seed: int = 17):
        self.work = work
        work.mkdir(parents=True, exist_ok=True)
        self.sandbox = SandboxProcess(
            "--customers", str(customers), "--seed", str(seed), "--as-of", AS_OF
        )
        self.url = self.sandbox.url
        env = {"SRM_CONFIG_DIR": str(work / "config"), "SRM_DATA_DIR": str(work / "data")}
        self.forks = ForkServer(env)
        self.log = work / "children.log"

    def env(self, db: Path, **extra: str) -> dict[str, str]:
        return {
            "SRM_DB": str(db),
            "SRM_API_URL": self.url,
            "SRM_API_KEY": "sandbox-key",
            "SRM_NOW": AS_OF,
            "SRM_AGENT": "kim",
            "SRM_CONFIG_DIR": str(self.work / "config"),
            "SRM_DATA_DIR": str(self.work / "data"),
            **extra,
        }

    def export(self) -> dict[str, Any]:
        return self.sandbox.export()

    def synced_cache(self, name: str) -> Path:
        db = self.work / name
        for p in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            p.unlink(missing_ok=True)
        status = self.forks.run("cli", ["sync"], self.env(db), self.log)
        if status != 0:
            raise RuntimeError(f"the first sync failed ({status}): see {self.log}")
        return db

    def close(self) -> None:
        self.forks.close()
        self.sandbox.stop()


def _remove(db: Path) -> None:
    for p in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        p.unlink(missing_ok=True)


def _work(world: World, target: str, args: list[Any], env: dict[str, str]) -> dict[str, Any]:
    """How many SQL statements one whole run executes (where a kill can land): ``total``,
    and ``phases``, the count when it reached each phase it reports."""
    count = world.work / "statements"
    count.unlink(missing_ok=True)
    pid = world.forks.start(target, args, env, world.log, count_file=count)
    status = world.forks.wait(pid)
    if status != 0:
        raise RuntimeError(f"{target} {args} failed ({status}): see {world.log}")
    return json.loads(count.read_text())


def _statements(world: World, target: str, args: list[Any], env: dict[str, str]) -> int:
    """How many SQL statements one whole run executes."""
    return _work(world, target, args, env)["total"]


def run_sync_kills(world: World, kills: int, rng: random.Random) -> Result:
    """Kill ``srm sync`` again and again; the cache must stay sound and resume to equal."""
    result = Result("sync")
    started = time.monotonic()
    db = world.work / "sync.db"
    _remove(db)
    env = world.env(db, SRM_PAGE_SIZE="25")
    export = world.export()
    # How much work one whole run is, in SQL statements: each kill lands before one of them.
    _remove(db)
    work = _statements(world, "cli", ["sync"], env)
    _remove(db)
    complete = False
    fresh_every = max(5, kills // 5)
    for i in range(kills):
        if i and i % fresh_every == 0:
            _remove(db)
            complete = False
        args = ["sync", "--full"] if complete else ["sync"]
        status, mid = world.forks.run_killed("cli", args, env, rng.randint(1, work), world.log)
        result.kills += 1
        result.mid_run += mid
        if not db.exists():
            continue  # killed before it created the file: nothing to check
        problems = check_cache(db) + check_prefix(db, world.url, export)
        if not mid:
            if status != 0:
                problems.append(f"sync exited {status} on its own")
            else:
                result.finished += 1
                complete = True
                problems += cache_matches_export(db, export)
        result.checks += 1
        result.problems += [f"kill {i + 1} ({' '.join(args)}): {p}" for p in problems]
    final = world.forks.run("cli", ["sync"], env, world.log)
    if final != 0:
        result.problems.append(f"the final sync exited {final}")
    result.problems += [
        f"final: {p}" for p in check_cache(db) + cache_matches_export(db, world.export())
    ]
    result.seconds = time.monotonic() - started
    result.detail["statements_per_run"] = work
    return result


def _queue(db: Path, batch: list[Queued]) -> None:
    """Queue actions offline (no API configured), as an agent on a plane would."""
    from srm_tui.actions import ActionService
    from srm_tui.config import load_settings
    from srm_tui.storage.cache import Cache

    settings = load_settings(db=str(db), agent="kim", role="agent", now=AS_OF)
    cache = Cache(db)
    service = ActionService(cache, settings)
    try:
        for action in batch:
            if action.kind == "note":
                service.run("note-add", customer_id=action.customer_id, text=action.value)
            else:
                service.run("edit", customer_id=action.customer_id, first_name=action.value)
    finally:
        service.close()
        cache.close()


def run_push_kills(world: World, kills: int, rng: random.Random, batch: int = 12) -> Result:
    """Queue a batch, kill ``srm outbox push`` while it sends; each action lands once."""
    result = Result("push")
    started = time.monotonic()
    db = world.synced_cache("push.db")
    env = world.env(db)
    customers = [c["id"] for c in world.export()["customers"]]
    rng.shuffle(customers)
    edit_targets = iter(customers)  # each customer's first name is edited once at most
    actions: list[Queued] = []
    work = None
    for i in range(kills + 1):
        new = [
            Queued("note", f"pushkill-{i}-{j}", rng.choice(customers))
            for j in range(batch - batch // 6)
        ]
        new += [Queued("edit", f"Pk{i}x{j}", next(edit_targets)) for j in range(batch // 6)]
        _queue(db, new)
        actions += new
        if work is None:  # the first push runs whole: how many statements one is
            work = _statements(world, "cli", ["outbox", "push"], env)
            continue
        status, mid = world.forks.run_killed(
            "cli", ["outbox", "push"], env, rng.randint(1, work), world.log
        )
        result.kills += 1
        result.mid_run += mid
        if not mid and status != 0:
            result.problems.append(f"kill {i}: push exited {status} on its own")
        result.finished += not mid
        problems = check_cache(db) + check_actions(db, world.export(), actions)
        result.checks += 1
        result.problems += [f"kill {i}: {p}" for p in problems]
    for args in (["outbox", "push"], ["sync"]):
        status = world.forks.run("cli", args, env, world.log)
        if status != 0:
            result.problems.append(f"the final {' '.join(args)} exited {status}")
    export = world.export()
    result.problems += [
        f"final: {p}"
        for p in check_cache(db)
        + cache_matches_export(db, export)
        + check_actions(db, export, actions, final=True)
    ]
    result.seconds = time.monotonic() - started
    result.detail.update(actions=len(actions), statements_per_run=work)
    return result


def run_console_kills(world: World, kills: int, rng: random.Random) -> Result:
    """Kill the console (background push and sync, an agent's keys) at random statements.

    Most of a whole session's statements are the sync on start, so kills drawn over the
    whole session would rarely reach the agent's actions: every other kill is drawn over
    the statements from the customer opening to the edit saved (counted from the session's
    "opened" phase), so about half land while the actions are queued and sent."""
    result = Result("console")
    started = time.monotonic()
    db = world.synced_cache("console.db")
    env = world.env(db)
    customers = [c["id"] for c in world.export()["customers"] if c["email"]]
    rng.shuffle(customers)
    actions: list[Queued] = []
    work = None
    actions_work = 1
    aimed = 0
    for i in range(kills + 1):
        customer = customers[i % len(customers)]
        plan = {
            "db": str(db),
            "api_url": world.url,
            "customer_id": customer,
            "note": f"consolekill{i}",
            "first_name": f"Ck{i}",
            "sync_again": i % 4 == 0,
        }
        actions += [
            Queued("note", plan["note"], customer),
            Queued("edit", plan["first_name"], customer),
        ]
        if work is None:  # one whole session first: how many statements one is
            whole = _work(world, "console", [plan], env)
            work, phases = whole["total"], whole["phases"]
            actions_work = max(1, phases["first_name done"] - phases["opened"])
            continue
        if i % 2:
            # A session's count varies a little (the background sync and the keys
            # interleave): kills aim inside the first 90 %, so each lands while it works.
            kill_at, after = rng.randint(1, max(1, work * 9 // 10)), None
        else:
            kill_at, after = rng.randint(1, actions_work), "opened"
            aimed += 1
        status, mid = world.forks.run_killed(
            "console", [plan], env, kill_at, world.log, kill_after=after
        )
        result.kills += 1
        result.mid_run += mid
        if not mid and status != 0:
            result.problems.append(f"kill {i}: the console exited {status} on its own")
        result.finished += not mid
        problems = check_cache(db) + check_actions(db, world.export(), actions)
        result.checks += 1
        result.problems += [f"kill {i}: {p}" for p in problems]
    # What the killed sessions did reach the outbox; what they never got to is not owed.
    statuses = outbox_statuses(db)
    owed = [a for a in actions if a.value in statuses]
    for args in (["outbox", "push"], ["sync"]):
        status = world.forks.run("cli", args, env, world.log)
        if status != 0:
            result.problems.append(f"the final {' '.join(args)} exited {status}")
    export = world.export()
    result.problems += [
        f"final: {p}"
        for p in check_cache(db)
        + cache_matches_export(db, export)
        + check_actions(db, export, owed, final=True)
    ]
    result.seconds = time.monotonic() - started
    result.detail.update(
        actions_queued=len(owed),
        statements_per_run=work,
        statements_opened_to_edit_saved=actions_work,
        kills_aimed_after_opened=aimed,
    )
    return result


RUNS = {"sync": run_sync_kills, "push": run_push_kills, "console": run_console_kills}
# Small sandboxes keep each run short, so each kill is cheap; the push run needs a customer
# per edit (two per batch), the console run one per session.
CUSTOMERS = {"sync": 80, "push": 120, "console": 80}


def run_all(
    work: Path,
    kills: int,
    targets: tuple[str, ...] = tuple(RUNS),
    seed: int = 7,
    customers: int | None = None,
    parallel: bool = False,
) -> list[Result]:
    """Each target with its own sandbox and fork server, one after the other (or side by
    side with ``parallel``: slower on two cores, and since each kill lands at a statement, not
    at an instant, the results are the same)."""
    import threading

    results: dict[str, Result] = {}

    def one(target: str) -> None:
        world = World(
            work / target, customers=customers or CUSTOMERS[target], seed=seed + len(target)
        )
        try:
            results[target] = RUNS[target](world, kills, random.Random(f"{seed}-{target}"))
        except Exception as exc:  # reported as a problem of that run
            results[target] = Result(target, problems=[f"the run failed: {exc!r}"])
        finally:
            world.close()

    if not parallel:
        for target in targets:
            one(target)
    else:
        threads = [threading.Thread(target=one, args=(t,)) for t in targets]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    return [results[t] for t in targets]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=50)
    parser.add_argument("--targets", default="sync,push,console")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--customers", type=int, default=None)
    parser.add_argument("--work", default=None, help="work directory (default: a temporary one)")
    parser.add_argument("--parallel", action="store_true", help="the targets side by side")
    args = parser.parse_args()
    import tempfile

    with tempfile.TemporaryDirectory(prefix="srm-crash-") as tmp:
        work = Path(args.work) if args.work else Path(tmp)
        results = run_all(
            work,
            args.kills,
            tuple(args.targets.split(",")),
            args.seed,
            args.customers,
            parallel=args.parallel,
        )
    print(json.dumps([r.as_json() for r in results], indent=2))
    sys.exit(1 if any(r.problems for r in results) else 0)


if __name__ == "__main__":
    main()

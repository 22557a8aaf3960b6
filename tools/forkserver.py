"""A fork server: imports srm once, then forks a fresh process per request.

The crash harness kills hundreds of srm processes; starting each from scratch would spend
most of the time importing Python modules before the process does anything worth killing.
This process imports srm (and Textual) once, holds no thread, no socket and no SQLite
connection, and forks a child per request: the child is a real, separate srm process running
the real code (``srm ARGS`` through the click command, or the console through the real App
driven by keys), which the harness then kills with SIGKILL.

Protocol (one JSON object per line on stdin, one answer per line on stdout):
``{"op": "run", "target": "cli"|"console", "args": [...], "env": {...}, "log": PATH,
"kill_at": N or null, "kill_after": PHASE or null, "count_file": PATH or null}`` ->
``{"pid": N}`` (``kill_at``: the child kills itself just before its N-th SQL statement,
counted from the start or from ``kill_after``, a phase the child reports with ``phase``;
``count_file``: it writes how many it ran, in all and at each phase);
``{"op": "wait", "pid": N}`` -> ``{"status": exit code or -signal}``.
"""

from __future__ import annotations

import json
import os
import sys


def _preload() -> None:
    import httpx  # noqa: F401
    import textual.app  # noqa: F401

    import srm_tui.actions.service  # noqa: F401
    import srm_tui.app  # noqa: F401
    import srm_tui.cli  # noqa: F401
    import srm_tui.screens.action  # noqa: F401
    import srm_tui.screens.customer  # noqa: F401
    import srm_tui.screens.customers  # noqa: F401
    import srm_tui.sync.engine  # noqa: F401
    import tools.console_session  # noqa: F401


def _trace_statements(
    kill_at: int | None, count_file: str | None, kill_after: str | None = None
) -> None:
    """Count every SQL statement the child runs (each connection's trace callback); at
    statement ``kill_at`` the child says so on its log and SIGKILLs itself, so it dies while
    it works, by construction, before that statement runs. With ``kill_after`` the count
    for the kill starts at that phase (``phase``: e.g. the console session's "opened"), so
    a kill can aim at the work after it. ``count_file`` gets, as JSON, the total and the
    count at each phase when the child ends on its own (how much work one whole run is)."""
    import signal
    import sqlite3
    import threading

    lock = threading.Lock()
    seen = [0]
    base: list[int | None] = [0 if kill_after is None else None]
    phases: dict[str, int] = {}
    connect = sqlite3.connect

    def trace(_statement: str) -> None:
        with lock:
            seen[0] += 1
            n = seen[0]
            start = base[0]
        if kill_at is not None and start is not None and n - start == kill_at:
            os.write(
                2,
                f"mid-work: killed at SQL statement {n} ({kill_at} after "
                f"{kill_after or 'the start'})\n".encode(),
            )
            os.kill(os.getpid(), signal.SIGKILL)

    def traced(*args, **kwargs):
        conn = connect(*args, **kwargs)
        conn.set_trace_callback(trace)
        return conn

    def reached(name: str) -> None:
        with lock:
            phases.setdefault(name, seen[0])
            if name == kill_after and base[0] is None:
                base[0] = seen[0]

    sqlite3.connect = traced
    _PHASE_HOOKS.append(reached)
    if count_file:

        def write_count() -> None:
            with open(count_file, "w", encoding="utf-8") as out:
                json.dump({"total": seen[0], "phases": phases}, out)

        _COUNT_WRITERS.append(write_count)


_COUNT_WRITERS: list = []
_PHASE_HOOKS: list = []


def phase(name: str) -> None:
    """The child has reached a named point of its work (a no-op outside a traced child)."""
    for hook in _PHASE_HOOKS:
        hook(name)


def _child(request: dict) -> int:
    """Runs in the forked child; returns its exit status."""
    if request.get("kill_at") is not None or request.get("count_file"):
        _trace_statements(
            request.get("kill_at"), request.get("count_file"), request.get("kill_after")
        )
    os.environ.update(request.get("env") or {})
    for key in request.get("unset") or ():
        os.environ.pop(key, None)
    log = os.open(request.get("log") or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    sys.stdout = os.fdopen(1, "w", buffering=1)
    sys.stderr = os.fdopen(2, "w", buffering=1)
    if request["target"] == "cli":
        from srm_tui.cli import main

        try:
            main(args=list(request["args"]), prog_name="srm", standalone_mode=True)
        except SystemExit as exc:
            code = exc.code
            return code if isinstance(code, int) else (0 if code is None else 1)
        return 0
    if request["target"] == "console":
        from tools.console_session import run

        return run(request["args"], phase=phase)
    raise ValueError(f"unknown target {request['target']!r}")


def main() -> None:
    _preload()
    out = sys.stdout
    print(json.dumps({"ready": True}), file=out, flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        if request["op"] == "run":
            pid = os.fork()
            if pid == 0:
                status = 1
                try:
                    status = _child(request)
                except BaseException:  # noqa: BLE001 - reported in the child's log
                    import traceback

                    traceback.print_exc()
                finally:
                    for write_count in _COUNT_WRITERS:  # os._exit runs no atexit hook
                        write_count()
                    os._exit(status)
            print(json.dumps({"pid": pid}), file=out, flush=True)
        elif request["op"] == "wait":
            _, status = os.waitpid(request["pid"], 0)
            code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
            print(json.dumps({"status": code}), file=out, flush=True)
        elif request["op"] == "quit":
            return


if __name__ == "__main__":
    main()

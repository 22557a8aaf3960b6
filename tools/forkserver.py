"""A fork server: imports srm once, then forks a fresh process per request.

The crash harness kills hundreds of srm processes; starting each from scratch would spend
most of the time importing Python modules before the process does anything worth killing.
This process imports srm (and Textual) once, holds no thread, no socket and no SQLite
connection, and forks a child per request: the child is a real, separate srm process running
the real code (``srm ARGS`` through the click command, or the console through the real App
driven by keys), which the harness then kills with SIGKILL.

Protocol (one JSON object per line on stdin, one answer per line on stdout):
``{"op": "run", "target": "cli"|"console", "args": [...], "env": {...}, "log": PATH}``
-> ``{"pid": N}``; ``{"op": "wait", "pid": N}`` -> ``{"status": exit code or -signal}``.
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


def _child(request: dict) -> int:
    """Runs in the forked child; returns its exit status."""
    os.environ.update(request.get("env") or {})
    for key in request.get("unset") or ():
        os.environ.pop(key, None)
    log = os.open(request.get("log") or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                  0o600)
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

        return run(request["args"])
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
                    os._exit(status)
            print(json.dumps({"pid": pid}), file=out, flush=True)
        elif request["op"] == "wait":
            _, status = os.waitpid(request["pid"], 0)
            code = (-os.WTERMSIG(status) if os.WIFSIGNALED(status)
                    else os.WEXITSTATUS(status))
            print(json.dumps({"status": code}), file=out, flush=True)
        elif request["op"] == "quit":
            return


if __name__ == "__main__":
    main()

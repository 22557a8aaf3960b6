"""Running the real `srm` command and the real sandbox, over loopback HTTP."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx

SRM = [sys.executable, "-m", "srm_tui"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SandboxProcess:
    """`srm sandbox serve` as a child process; stopped with SIGTERM."""

    def __init__(self, *args: str, env: dict[str, str] | None = None):
        # Port 0: the sandbox binds any free port and says which, so two suites (or xdist
        # workers) starting sandboxes at once never race for a port picked in advance.
        self.proc = subprocess.Popen(
            [*SRM, "sandbox", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            self.proc.kill()
            raise RuntimeError(f"sandbox did not start: {line!r} {self.proc.stderr.read()}")
        self.url = line.split("listening on ", 1)[1].strip()
        self.root = self.url.rsplit("/3.1", 1)[0]
        self.port = int(self.root.rsplit(":", 1)[1])

    def export(self) -> dict[str, Any]:
        return httpx.get(f"{self.root}/sandbox/export", timeout=60).json()

    def stop(self) -> None:
        stop_process(self.proc)


def run_srm(
    *args: str, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*SRM, *args],
        capture_output=True,
        text=True,
        input=input,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )


def srm_env(sandbox: SandboxProcess | None, db: Path, **extra: str) -> dict[str, str]:
    env = {"SRM_DB": str(db)}
    if sandbox is not None:
        env.update(SRM_API_URL=sandbox.url, SRM_API_KEY="sandbox-key")
    env.update(extra)
    return env


KEYS = {
    "customers": "id",
    "subscriptions": "subscriptionId",
    "passes": "passId",
    "transactions": "transactionId",
    "payment_details": "id",
    "emails": "id",
    "notes": "id",
    "history": "id",
    "offers": "id",
    "season_groups": "id",
    "campaigns": "id",
}


def cache_matches_export(db: Path | str, export: dict[str, Any]) -> list[str]:
    """Differences between the cache (a SQLite file, or a team store's postgresql:// URL)
    and the sandbox's export, entity by entity, field by field."""
    from srm_tui.storage import records
    from srm_tui.storage.db import open_store

    cache = open_store(db if isinstance(db, str) else Path(db))
    problems: list[str] = []
    try:
        conn = cache.conn()
        for entity, key in KEYS.items():
            expected = {str(item[key]): item for item in export[entity]}
            cached_rows = records.raw_records(conn, entity)
            cached = {str(item[key]): item for item in cached_rows}
            if len(cached_rows) != len(cached):
                problems.append(f"{entity}: duplicate keys in the cache")
            missing = expected.keys() - cached.keys()
            extra = cached.keys() - expected.keys()
            if missing:
                problems.append(f"{entity}: {len(missing)} missing, e.g. {sorted(missing)[:3]}")
            if extra:
                problems.append(f"{entity}: {len(extra)} not in the API, e.g. {sorted(extra)[:3]}")
            for k in expected.keys() & cached.keys():
                if expected[k] != cached[k]:
                    fields = sorted(
                        f
                        for f in set(expected[k]) | set(cached[k])
                        if expected[k].get(f) != cached[k].get(f)
                    )
                    problems.append(f"{entity} {k}: fields differ: {fields}")
                    break
        dupes = conn.execute("SELECT count(*) - count(DISTINCT id) FROM customers").fetchone()[0]
        if dupes:
            problems.append(f"{dupes} duplicate customers")
        if (
            cache.dialect.name == "sqlite"
            and conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok"
        ):
            problems.append("integrity_check failed")
    finally:
        cache.close()
    return problems


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def dumps(value: Any) -> str:
    return json.dumps(value)


def screen_text(app) -> str:
    """What the terminal shows now, as plain text lines (what a person would read)."""
    update = app.screen._compositor.render_full_update()
    return "\n".join(
        "".join(seg.text for strip in line for seg in strip).rstrip() for line in update.strips
    )


def status_line(app) -> str:
    """The status line: the screen's last row but one. Counted in rows, never by splitlines():
    a footer being recomposed is blank for a frame or two, and splitlines() drops a blank last
    line, which made the row above the status line read as it on a loaded machine."""
    return screen_text(app).split("\n")[-2]


def stop_process(proc: subprocess.Popen) -> None:
    """SIGTERM a process srm started (a sandbox, a receiver) and wait; SIGKILL if it hangs."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Picker:
    """Hands out records of customers no earlier pick has used."""

    def __init__(self, export: dict[str, Any]):
        self.export = export
        self.used: set[int] = set()
        self.grouped: dict[str, dict[int, list[dict]]] = {}
        for entity in (
            "subscriptions",
            "passes",
            "transactions",
            "payment_details",
            "emails",
            "notes",
            "history",
        ):
            grouped: dict[int, list[dict]] = defaultdict(list)
            for item in export[entity]:
                grouped[item["customerId"]].append(item)
            self.grouped[entity] = grouped

    def of(self, entity: str, customer_id: int) -> list[dict]:
        return self.grouped[entity].get(customer_id, [])

    def pick(self, entity: str, test=lambda item: True) -> dict:
        for item in self.export[entity]:
            owner = item["id"] if entity == "customers" else item["customerId"]
            if owner not in self.used and test(item):
                self.used.add(owner)
                return item
        raise AssertionError(f"no unused {entity} matches")

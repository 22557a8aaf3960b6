"""A long benchmark's progress on disk, so a killed run continues where it stopped.

bench_team's build of 10,000,000 customers takes hours; a run that is killed (a session's end,
a reboot) keeps its cluster and this file in its work directory, and the same command again
skips every phase the file marks done. Each phase commits its data before it is marked, and a
phase cut short resumes from what it committed (clone_pg, search_documents_pg and facts_pg
skip their committed parts), so nothing is built twice and nothing is taken for built that
is not. Times add up over the runs: each phase's seconds are the sum of its committed parts.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


class RunState:
    """The report so far and the phases done, in ``path`` (none: a run that is not kept)."""

    def __init__(self, path: Path | None, params: dict[str, Any], report: dict[str, Any]):
        self.path = path
        self.params = params
        self.phases: list[str] = []
        self.report = report
        if path is not None and path.exists():
            saved = json.loads(path.read_text())
            if saved["params"] != params:
                raise SystemExit(
                    f"{path} is a run of {saved['params']}, not {params}: give another "
                    "--workdir, or remove that one to start again"
                )
            self.phases = saved["phases"]
            self.report = saved["report"]
        self.report.setdefault("build", {})
        self.report["build"]["runs"] = self.report["build"].get("runs", 0) + 1
        self.save()

    def done(self, phase: str) -> bool:
        """Whether ``phase`` finished in this run or an earlier one."""
        return phase in self.phases

    def finish(self, phase: str) -> None:
        """Mark ``phase`` done (its data is committed) and save."""
        self.phases.append(phase)
        self.save()

    def add_seconds(self, key: str, seconds: float) -> None:
        """Add a committed part's ``seconds`` to the build time ``key`` and save."""
        build = self.report["build"]
        build[key] = round(build.get(key, 0.0) + seconds, 1)
        self.save()

    def save(self) -> None:
        """Write the state (a new file renamed over the old: never half-written)."""
        if self.path is None:
            return
        data = {"params": self.params, "phases": self.phases, "report": self.report}
        part = self.path.with_name(self.path.name + ".part")
        part.unlink(missing_ok=True)
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "w") as out:
            out.write(json.dumps(data, indent=1, ensure_ascii=False) + "\n")
        os.replace(part, self.path)

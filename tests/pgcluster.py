"""A throwaway PostgreSQL cluster for the tests: initdb in a fresh temporary directory, a server
listening on a Unix socket only (no TCP port to collide with another run), trust auth for
everyone on that socket, durability switched off (a test cluster is never recovered), stopped
`-m immediate` and removed at the end.

As root (CI containers, this machine) initdb refuses to run, so the server runs as the system
user ``postgres`` (or a system user ``srm-pg`` made for it when there is none) through
``runuser``; the directory is chowned to that user. The socket directory is a short path under
the system temp dir: a socket path longer than ~107 bytes cannot be bound.
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

ADMIN = "srm_admin"
# Seconds pg_ctl waits for the server to start or stop; generous, the machine may be busy.
WAIT_S = 180

# A test process killed outright (a CI timeout, a crashed xdist worker) runs no teardown and no
# atexit: this watchdog, a separate process, stops and removes its cluster once it is gone, so
# no orphan server is left on a shared machine. It polls: it only cleans up, nothing waits on it.
_WATCHDOG = """
import os, shutil, subprocess, sys, time
owner, root, command = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
while True:
    try:
        os.kill(owner, 0)
    except ProcessLookupError:
        break
    time.sleep(2)
subprocess.run(command, capture_output=True, check=False)
shutil.rmtree(root, ignore_errors=True)
"""


class PgUnavailable(RuntimeError):
    """No PostgreSQL server binaries here, or the cluster could not be started."""


def find_bindir() -> Path | None:
    """The directory holding initdb and pg_ctl: the newest /usr/lib/postgresql/N/bin (Debian's
    layout), else the one on PATH; None when neither has them."""

    def version(path: str) -> tuple[int, ...]:
        found = re.search(r"/postgresql/([0-9.]+)/bin/", path)
        return tuple(int(p) for p in found.group(1).split(".") if p) if found else ()

    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version, reverse=True)
    for initdb in candidates:
        bindir = Path(initdb).parent
        if os.access(initdb, os.X_OK) and os.access(bindir / "pg_ctl", os.X_OK):
            return bindir
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(initdb).parent
    return None


def _server_user() -> str | None:
    """The system user the server runs as when we are root; None when we are not root (the
    server then runs as us)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "srm-pg"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "srm-pg"],
        check=True,
        capture_output=True,
    )
    return "srm-pg"


class PgCluster:
    """One running test cluster. Build it with ``PgCluster.start(base)``; ``base`` receives the
    server's log when the cluster stops (the cluster itself lives in a short temp path)."""

    def __init__(self, bindir: Path, root: Path, base: Path, user: str | None) -> None:
        self.bindir = bindir
        self.root = root
        self.base = base
        self.user = user
        self.data = root / "data"
        self.socket_dir = root
        self.log = root / "postgresql.log"
        self.admin_url = self.url("postgres")
        self._running = False
        self._watchdog: subprocess.Popen | None = None
        self.kept = False  # lives in a caller's directory: stop() leaves it there

    # -- life ----------------------------------------------------------------------------------

    @classmethod
    def start(cls, base: Path, root: Path | None = None) -> PgCluster:
        """initdb a new cluster and start it; raises PgUnavailable with the tool's own words
        when there are no binaries or the server does not come up.

        With ``root`` (a long benchmark that must survive being killed) the cluster lives
        there and outlives this process: a cluster already in ``root`` is started again
        (PostgreSQL recovers it from its WAL) instead of made anew, there is no watchdog and
        nothing is removed; ``stop()`` stops the server and leaves the directory."""
        bindir = find_bindir()
        if bindir is None:
            raise PgUnavailable(
                "no PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin "
                "or on PATH"
            )
        user = _server_user()
        if root is not None:
            return cls._start_kept(bindir, Path(root), Path(base), user)
        root = Path(tempfile.mkdtemp(prefix="srm-pg-"))
        if user is not None:
            shutil.chown(root, user=user)
        cluster = cls(bindir, root, Path(base), user)
        atexit.register(cluster.stop)
        cluster._watchdog = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _WATCHDOG,
                str(os.getpid()),
                str(root),
                *cluster._command("pg_ctl", "-D", str(cluster.data), "-m", "immediate", "stop"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C to the test run does not reach it
        )
        try:
            cluster._initdb()
            cluster._start_server()
        except BaseException:
            cluster.stop()
            raise
        return cluster

    @classmethod
    def _start_kept(cls, bindir: Path, root: Path, base: Path, user: str | None) -> PgCluster:
        root.mkdir(mode=0o700, exist_ok=True)
        if user is not None:
            shutil.chown(root, user=user)
        cluster = cls(bindir, root, base, user)
        cluster.kept = True
        if not (cluster.data / "PG_VERSION").exists():
            if cluster.data.exists():  # initdb itself was cut short: nothing in it yet
                shutil.rmtree(cluster.data)
            cluster._initdb()
        if cluster._server_up():  # the run that started it was killed, its server was not
            cluster._running = True
        else:
            cluster._start_server()
        return cluster

    def _server_up(self) -> bool:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        done = subprocess.run(
            self._command("pg_ctl", "-D", str(self.data), "status"),
            cwd=self.root,
            env=env,
            capture_output=True,
            check=False,
        )
        return done.returncode == 0

    def _initdb(self) -> None:
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            ADMIN,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",  # the cluster dies with the run: no need to flush initdb's files
        )

    def _start_server(self) -> None:
        # fsync off: a killed server still recovers from its WAL (the kernel has the pages);
        # only a crash of the machine itself could lose them, and a test cluster is not kept.
        options = (
            f"-k {self.root} -c listen_addresses='' -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=200"
        )
        self._running = True
        self._pg_ctl("-l", str(self.log), "-o", options, "start")

    def _pg_ctl(self, *args: str) -> None:
        """pg_ctl on this cluster, waiting up to WAIT_S for the server to start or stop."""
        self._run("pg_ctl", "-w", "-t", str(WAIT_S), "-D", str(self.data), *args)

    def stop(self) -> None:
        """Stop the server at once (nothing in it is kept), keep its log in ``base``, remove
        the directory. Safe to call twice (teardown, then atexit)."""
        if self._running:
            self._running = False
            try:
                self._pg_ctl("-m", "immediate", "stop")
            except PgUnavailable:
                pass  # already gone (a killed server): removing its directory is all that is left
        if self.kept:
            return
        if self.root.exists():
            if self.log.exists() and self.base.is_dir():
                shutil.copyfile(self.log, self.base / "postgresql.log")
            shutil.rmtree(self.root, ignore_errors=True)
        if self._watchdog is not None:
            self._watchdog.kill()  # our own child: nothing is left for it to clean
            self._watchdog.wait()
            self._watchdog = None

    def _command(self, tool: str, *args: str) -> list[str]:
        command = [str(self.bindir / tool), *args]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        return command

    def _run(self, tool: str, *args: str) -> None:
        command = self._command(tool, *args)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C.UTF-8"
        done = subprocess.run(
            command, cwd=self.root, env=env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise PgUnavailable(
                f"{tool} failed (exit {done.returncode}): {done.stderr.strip()}"
                + (f"\nserver log:\n{log}" if log else "")
            )

    # -- databases -----------------------------------------------------------------------------

    def url(self, dbname: str, user: str = ADMIN) -> str:
        """A libpq URL to ``dbname`` on this cluster as ``user`` over the socket."""
        return f"postgresql://{quote(user)}@/{quote(dbname)}?host={quote(str(self.socket_dir))}"

    def create_database(self, name: str) -> str:
        """Create database ``name`` owned by srm_admin; its URL."""
        self.admin_execute(f'CREATE DATABASE "{name}" OWNER {ADMIN}')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop database ``name``, ending any session still connected to it."""
        self.admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def admin_execute(self, sql: str) -> None:
        """Run one statement as the superuser in the ``postgres`` database, in autocommit
        (CREATE/DROP DATABASE cannot run inside a transaction)."""
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql)

"""Secrets and personal data: where the API key and a customer's values may and may not go.

Every check runs the real `srm` against a real sandbox over loopback and then reads the
bytes on disk (cache, WAL, exports) or what the process showed (output, tracebacks).
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from srm_tui.domain.lifecycle import pass_is_active, subscription_state
from srm_tui.storage import exports
from srm_tui.storage.cache import Cache
from tests.helpers import SandboxProcess, run_srm, srm_env

AS_OF = "2026-11-01T00:00:00Z"
NOW = int(datetime(2026, 11, 1, tzinfo=timezone.utc).timestamp())
EVERYONE = {"version": 1, "name": "everyone", "where": {"all": []}}
NOBODY = {"version": 1, "name": "nobody", "where": {"any": []}}


@pytest.fixture(scope="module")
def sandbox():
    sb = SandboxProcess("--customers", "120", "--seed", "21", "--as-of", AS_OF)
    yield sb
    sb.stop()


@pytest.fixture(scope="module")
def db(sandbox, tmp_path_factory):
    path = tmp_path_factory.mktemp("secrets") / "c.db"
    result = run_srm("sync", env=srm_env(sandbox, path))
    assert result.returncode == 0, result.stderr
    return path


def _mine(export, customer_id, entity):
    return [x for x in export[entity] if x["customerId"] == customer_id]


def _no_live_access(export, customer_id) -> bool:
    return not any(
        subscription_state(s["status"], s["inTrial"], s["dateTo"], NOW) != "churned"
        for s in _mine(export, customer_id, "subscriptions")
    ) and not any(
        pass_is_active(p["status"], p["expiresAt"], NOW)
        for p in _mine(export, customer_id, "passes")
    )


def test_anonymize_names_the_exports_that_still_hold_the_customer(sandbox, db, tmp_path):
    env = srm_env(sandbox, db, SRM_NOW=AS_OF, SRM_AGENT="anna")
    state = sandbox.export()
    customer = next(
        c
        for c in state["customers"]
        if c["email"] and c["lastName"] and _no_live_access(state, c["id"])
    )
    everyone, nobody = tmp_path / "everyone.json", tmp_path / "nobody.json"
    everyone.write_text(json.dumps(EVERYONE))
    nobody.write_text(json.dumps(NOBODY))
    made = {}
    for name, segment, fmt in (
        ("all.csv", everyone, "csv"),
        ("all.json", everyone, "json"),
        ("none.csv", nobody, "csv"),
        ("gone.csv", everyone, "csv"),
    ):
        out = tmp_path / "out" / name
        out.parent.mkdir(exist_ok=True)
        result = run_srm(
            "segment", "export", str(segment), "--format", fmt, "--out", str(out), env=env
        )
        assert result.returncode == 0, result.stderr
        assert out.stat().st_mode & 0o777 == 0o600, name
        made[name] = str(out.resolve())
    Path(made["gone.csv"]).unlink()  # an export the agent already deleted is not named

    cache = Cache(db)
    try:
        listed = {r.path: r for r in exports.recorded(cache)}
        assert set(made.values()) <= set(listed)
        assert listed[made["all.json"]].kind == "segment-json"
        assert listed[made["all.csv"]].segment == "everyone"
        holding = exports.files_holding(cache, [customer["email"]])
        assert sorted(holding) == sorted([made["all.csv"], made["all.json"]])
        assert exports.files_holding(cache, ["x", ""]) == []  # too short to mean anything
    finally:
        cache.close()

    result = run_srm("customer", "anonymize", str(customer["id"]), "--yes", "--json", env=env)
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["status"] == "applied"
    assert sorted(outcome["exports_holding_data"]) == sorted([made["all.csv"], made["all.json"]])
    assert made["all.csv"] in outcome["message"] and "still hold" in outcome["message"]
    # The files are the agent's: srm names them and leaves them as they were.
    assert customer["email"] in Path(made["all.csv"]).read_text(encoding="utf-8")


# -- the API key ------------------------------------------------------------------------------

KEY = "srm-secret-7c1e9a54d2b84f0f"


def _files_under(*roots: Path) -> list[Path]:
    return [p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()]


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == pid:
                out += [int(entry.name), *_children(int(entry.name))]
    return out


def test_the_api_key_never_reaches_a_file_output_or_process_title(tmp_path):
    """Sync, actions (direct, queued, pushed, refused), failures with --debug tracebacks,
    exports: afterwards no file srm wrote, no output and no process title holds the key."""
    import subprocess
    import time

    from tests.helpers import SRM

    sandbox = SandboxProcess("--customers", "40", "--seed", "3", "--as-of", AS_OF, "--api-key", KEY)
    db = tmp_path / "cache.db"
    config, data = tmp_path / "config", tmp_path / "data"
    env = srm_env(
        sandbox,
        db,
        SRM_API_KEY=KEY,
        SRM_NOW=AS_OF,
        SRM_AGENT="anna",
        SRM_CONFIG_DIR=str(config),
        SRM_DATA_DIR=str(data),
    )
    outputs: list[str] = []

    def srm(*args: str, **extra: str):
        result = run_srm(*args, env={**env, **extra})
        outputs.extend([result.stdout, result.stderr])
        return result

    try:
        assert srm("sync").returncode == 0
        state = sandbox.export()
        customer = state["customers"][2]["id"]
        assert srm("customer", "edit", str(customer), "--first-name", "Keyless").returncode == 0
        queued = srm("customer", "note", "add", str(customer), "offline", SRM_API_URL="")
        assert "queued" in queued.stdout
        assert srm("outbox", "push").returncode == 0
        assert srm("customer", "extend", "123456789", "--until", "2027-01-01").returncode != 0
        assert srm("--debug", "customer", "show", "1").returncode != 0
        (tmp_path / "all.json").write_text(json.dumps(EVERYONE))
        assert (
            srm(
                "segment",
                "export",
                str(tmp_path / "all.json"),
                "--format",
                "csv",
                "--out",
                str(tmp_path / "out.csv"),
            ).returncode
            == 0
        )
        # The key given as a flag: it must not stay in the process title (ps, /proc).
        proc = subprocess.Popen(
            [*SRM, "sync", "--full", "--api-key", KEY],
            env={**__import__("os").environ, **env, "SRM_PAGE_SIZE": "20"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started = time.monotonic()
        titles: list[tuple[float, bytes]] = []
        while proc.poll() is None and time.monotonic() < started + 10:
            for pid in [proc.pid, *_children(proc.pid)]:
                try:
                    titles.append(
                        (time.monotonic() - started, Path(f"/proc/{pid}/cmdline").read_bytes())
                    )
                except OSError:
                    pass
            time.sleep(0.01)
        out, err = proc.communicate(timeout=60)
        outputs += [out, err]
        assert proc.returncode == 0, err
        # The shell hands the flag to the new process, so it is there until srm's first lines
        # run (they move it to the environment and start again without it); once a title
        # without it was seen, no later title has it again (an order, not a time: the machine
        # may be slow).
        clean = [i for i, (_, title) in enumerate(titles) if KEY.encode() not in title]
        assert clean, "the sync ran too fast to be seen"
        assert not any(KEY.encode() in title for _, title in titles[clean[0] :])
        # A key the API refuses, with --debug: the message and the traceback name neither.
        refused = srm("--debug", "sync", SRM_API_KEY=KEY + "-old")
        assert refused.returncode == 1 and "Traceback" in refused.stderr
        assert "refused the key" in refused.stderr
    finally:
        sandbox.stop()
    for text in outputs:
        assert KEY not in text
    written = _files_under(tmp_path)
    assert db in written and (tmp_path / "out.csv") in written
    for path in written:
        assert KEY.encode() not in path.read_bytes(), path
    cache = Cache(db)
    try:
        for table in ("audit", "outbox", "meta", "sync_runs", "quarantine", "exports"):
            rows = cache.conn().execute(f"SELECT * FROM {table}").fetchall()
            assert KEY not in json.dumps([list(r) for r in rows], default=str)
    finally:
        cache.close()


async def test_the_console_crash_report_does_not_hold_the_api_key(tmp_path, monkeypatch):
    """A worker that fails deep inside an API call no longer closes the console (issue 12):
    it is shown as a notification and its traceback goes to a crash log in the data folder.
    Neither holds the key."""
    import os

    import httpx
    from textual import work

    from srm_tui.app import SrmApp
    from srm_tui.config import load_settings

    def broken(self, request):
        raise RuntimeError("the network card caught fire")

    monkeypatch.setattr(httpx.HTTPTransport, "handle_request", broken)
    settings = load_settings(
        db=str(tmp_path / "c.db"),
        api_url="http://127.0.0.1:9/3.1",
        api_key=KEY,
        agent="anna",
        role="agent",
    )

    class Crashing(SrmApp):
        @work(thread=True)
        def crash(self) -> None:
            with self.session.client() as client:
                client.request("GET", "/customers/1")

    app = Crashing(settings, Cache(tmp_path / "c.db"), sync_on_start=False)
    async with app.run_test() as pilot:
        app.crash()
        await pilot.pause(1)
        assert app.is_running
        shown = " ".join(n.message for n in app._notifications)
    assert "the network card caught fire" in shown and KEY not in shown
    data = Path(os.environ["SRM_DATA_DIR"])
    logs = list(data.glob("crash-*.log"))
    assert logs, "no crash log"
    report = "".join(log.read_text() for log in logs)
    assert "the network card caught fire" in report and "client.request" in report
    assert KEY not in report


def test_a_config_file_holding_the_key_must_be_private(tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    path = config / "config.toml"
    path.write_text(f'api_key = "{KEY}"\napi_url = "http://127.0.0.1:9/3.1"\n')
    env = {"SRM_CONFIG_DIR": str(config), "SRM_DB": str(tmp_path / "c.db")}
    Cache(tmp_path / "c.db").close()  # a cache path that does not exist is an error itself
    for mode in (0o644, 0o640, 0o604, 0o660):  # other users, or the group, could read it
        path.chmod(mode)
        refused = run_srm("search", "anna", env=env)
        assert refused.returncode == 2, (oct(mode), refused.stderr)
        assert f"chmod 600 {path}" in refused.stderr and KEY not in refused.stderr
    path.chmod(0o600)
    accepted = run_srm("search", "anna", env=env)
    assert accepted.returncode == 0 and KEY not in accepted.stderr + accepted.stdout


def test_cache_wal_and_exports_are_created_private(sandbox, tmp_path):
    import os

    os.umask(0o022)  # what a shared jump host gives new files by default
    db = tmp_path / "fresh" / "cache.db"
    db.parent.mkdir()  # srm creates the cache, never a folder it was not asked for
    env = srm_env(sandbox, db)
    assert run_srm("sync", env=env).returncode == 0
    # Another process keeps it open, so the write-ahead log and shared memory stay on disk.
    holder = Cache(db)
    try:
        holder.conn().execute("SELECT count(*) FROM customers").fetchone()
        holder.set_meta("probe", "1")
        for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
            mode = path.stat().st_mode
            assert path.exists() and mode & 0o077 == 0, (path, oct(mode))
    finally:
        holder.close()
    (tmp_path / "all.json").write_text(json.dumps(EVERYONE))
    for fmt in ("csv", "json"):
        out = tmp_path / f"m.{fmt}"
        assert (
            run_srm(
                "segment",
                "export",
                str(tmp_path / "all.json"),
                "--format",
                fmt,
                "--out",
                str(out),
                env=env,
            ).returncode
            == 0
        )
        assert out.stat().st_mode & 0o777 == 0o600


# -- the viewer role --------------------------------------------------------------------------


def _viewer_world(sandbox, db):
    state = sandbox.export()
    customer = next(c for c in state["customers"] if c["email"])
    sub = next(s for s in state["subscriptions"] if s["status"] == "active")
    txn = next(t for t in state["transactions"] if t["status"] == "captured")
    note = next(n for n in state["notes"] if n["deletedAt"] is None)
    email = state["emails"][0]
    details = state["payment_details"][0]
    return state, [
        ["customer", "edit", str(customer["id"]), "--first-name", "Viewer"],
        ["customer", "anonymize", str(customer["id"]), "--yes"],
        ["customer", "extend", str(sub["subscriptionId"]), "--until", "2030-01-01"],
        ["customer", "cancel", str(sub["subscriptionId"]), "--reason", "viewer"],
        ["customer", "refund", txn["transactionId"], "--reason", "viewer"],
        ["customer", "cancel-transaction", txn["transactionId"]],
        ["customer", "delete-payment-details", str(details["id"])],
        ["customer", "resend", str(email["id"])],
        ["customer", "note", "add", str(customer["id"]), "viewer note"],
        ["customer", "note", "edit", str(note["id"]), "viewer edit"],
        ["customer", "note", "delete", str(note["id"])],
    ]


def _outbox_count(db) -> int:
    cache = Cache(db)
    try:
        return cache.conn().execute("SELECT count(*) FROM outbox").fetchone()[0]
    finally:
        cache.close()


def test_a_viewer_changes_nothing_through_the_command_line(sandbox, db, tmp_path):
    """Every command that changes something, as the viewer: refused, naming the rule."""
    from click.testing import CliRunner

    from srm_tui.cli import main

    env = srm_env(sandbox, db, SRM_ROLE="viewer", SRM_AGENT="vera", SRM_NOW=AS_OF)
    state, commands = _viewer_world(sandbox, db)
    before = _outbox_count(db)
    segment = tmp_path / "s.json"
    segment.write_text(json.dumps(EVERYONE))
    commands += [
        ["outbox", "push"],
        ["outbox", "resolve", "1", "--discard"],
        ["segment", "save", str(segment)],
        ["segment", "delete", "everyone"],
        [
            "schedules",
            "add",
            "everyone",
            "--format",
            "csv",
            "--dir",
            str(tmp_path),
            "--every",
            "1h",
        ],
        ["schedules", "remove", "1"],
    ]
    runner = CliRunner()
    for args in commands:
        for extra in ({}, {"SRM_API_URL": ""}):  # online, and offline (it would queue)
            result = runner.invoke(main, args, env={**env, **extra}, prog_name="srm")
            assert result.exit_code == 1, (args, extra, result.output)
            assert "role.viewer" in result.output, (args, result.output)
    assert _outbox_count(db) == before
    after = sandbox.export()
    for entity in (
        "customers",
        "subscriptions",
        "transactions",
        "notes",
        "emails",
        "payment_details",
        "history",
    ):
        assert after[entity] == state[entity], entity


def test_an_outbox_entry_queued_by_a_viewer_is_refused_at_push(sandbox, db):
    """A cache carried over from elsewhere (or edited by hand) may hold a viewer's entry:
    whoever pushes, the API never sees it."""
    from srm_tui.actions import outbox
    from srm_tui.actions.service import ActionService
    from srm_tui.config import load_settings

    state = sandbox.export()
    customer = next(c for c in state["customers"] if c["email"])
    agent = load_settings(db=str(db), agent="anna", role="agent", now=AS_OF)
    service = ActionService(Cache(db), agent)
    preview = service.preview("note-add", customer_id=customer["id"], text="smuggled by vera")
    with service.cache.transaction() as tx:
        item_id = outbox.enqueue(
            tx, key="viewer-entry-1", preview=preview, agent="vera", role="viewer", now=NOW
        )
    service.close()
    service.cache.close()
    pushed = run_srm("outbox", "push", "--json", env=srm_env(sandbox, db, SRM_AGENT="anna"))
    summary = json.loads(pushed.stdout)
    assert item_id in summary["failed"] and item_id not in summary["sent"]
    assert "smuggled by vera" not in [n["text"] for n in sandbox.export()["notes"]]
    cache = Cache(db)
    try:
        row = (
            cache.conn()
            .execute("SELECT status, last_error FROM outbox WHERE id = ?", (item_id,))
            .fetchone()
        )
        assert row["status"] == "failed" and "viewer" in row["last_error"]
        audit = (
            cache.conn()
            .execute("SELECT outcome, detail FROM audit WHERE detail = 'role.viewer'")
            .fetchall()
        )
        assert audit and audit[-1]["outcome"] == "refused"
    finally:
        cache.close()


async def test_a_viewer_changes_nothing_through_the_console(sandbox, db):
    from tests.helpers import screen_text
    from tests.ui_keys import make_app, name, open_customer
    from tools.console_session import type_keys

    state = sandbox.export()
    customer = next(
        c
        for c in state["customers"]
        if c["email"] and any(n["customerId"] == c["id"] for n in state["notes"])
    )
    before = _outbox_count(db)
    app = make_app(db, sandbox.url, role="viewer", agent="vera")
    async with app.run_test(size=(120, 40)) as pilot:
        await open_customer(pilot, customer["id"])
        for tab in "123456":
            await pilot.press(tab)
            # Every action key: had any opened a dialog, the keys after it would be typed
            # into it and it would still be open.
            await type_keys(app, *"eAxcrXDRnEdC")
            await pilot.pause(0.1)
            assert name(app) == "CustomerScreen", (tab, name(app))
        assert "Add note" not in screen_text(app)  # no action offered in the footer
        # An action key is not silent: it says the role is read only.
        assert any("viewer role is read only" in n.message for n in app._notifications)
        await pilot.press("ctrl+r")  # a viewer may sync: it sends nothing
        await app.workers.wait_for_complete()
    assert _outbox_count(db) == before
    assert sandbox.export()["notes"] == state["notes"]

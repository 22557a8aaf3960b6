"""Bad input is exit 2 with the field, never an internal error (issue 13), and the CLI items
of issue 12: a closed pipe, --json errors, a cache path that does not exist. Text with
terminal controls is shown escaped; an unknown config key is named with the nearest one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from srm_tui.segments.textform import TextFormError, parse_tree
from srm_tui.storage.cache import Cache
from tests.helpers import SRM, run_srm

COND = json.dumps({"attr": "customer.country", "op": "eq", "value": "PL"})
HOSTILE_ID = 987654321


@pytest.fixture(scope="module")
def db(seeded_cache) -> Path:
    from srm_tui.sync.engine import SyncEngine

    path = seeded_cache(600, 2)
    cache = Cache(path)
    customer = {
        "id": HOSTILE_ID,
        "email": "csi@evil.example",
        "firstName": "A\u009b2JB",
        "lastName": "\u202eevil",
        "country": "PL",
        "currency": "PLN",
        "locale": "pl_PL",
        "regDate": "2024-01-01 00:00:00",
        "lastLoginDate": None,
        "lastUserIp": None,
        "externalId": None,
        "externalData": {},
        "capture": {},
    }
    SyncEngine(cache, client=None).store_bundle({"customers": [customer]})  # type: ignore
    cache.close()
    return path


def srm(db: Path, *args: str, **kw):
    return run_srm("--db", str(db), "--now", "2026-11-01T00:00:00Z", *args, **kw)


def _deep(n: int) -> str:
    return '{"version": 1, "name": "d", "where": ' + '{"all": [' * n + COND + "]}" * n + "}"


@pytest.mark.parametrize(
    "case,needle",
    [
        ("deep-5000", "nested more than 64 deep"),
        ("deep-400", "nested more than 64 deep"),
        ("big", "larger than 1 MB"),
        ("conditions", "at most 1,000"),
        ("values", "at most 10,000 in all"),
    ],
)
def test_segment_files_over_the_limits_are_exit_2(db, tmp_path, case, needle):
    file = tmp_path / "s.json"
    if case.startswith("deep"):
        file.write_text(_deep(int(case.split("-")[1])))
    elif case == "big":
        file.write_text(
            '{"version": 1, "name": "d", "where": {"any": [' + ", ".join([COND] * 30000) + "]}}"
        )
    elif case == "conditions":
        file.write_text(
            '{"version": 1, "name": "d", "where": {"any": [' + ", ".join([COND] * 1001) + "]}}"
        )
    else:
        file.write_text(
            json.dumps(
                {
                    "version": 1,
                    "name": "d",
                    "where": {
                        "all": [{"attr": "customer.country", "op": "in", "value": ["PL"] * 10001}]
                    },
                }
            )
        )
    for command in ("check", "count"):
        done = srm(db, "segment", command, str(file))
        assert done.returncode == 2, (command, done.stderr)
        assert done.stderr.startswith(f"srm: {file}: ") and needle in done.stderr, done.stderr
        assert "Error" not in done.stderr


def test_a_segment_just_inside_the_limits_is_valid(db, tmp_path):
    file = tmp_path / "s.json"
    file.write_text(_deep(60))
    done = srm(db, "segment", "count", str(file), "--json")
    assert done.returncode == 0, done.stderr
    assert "customers" in json.loads(done.stdout)


def test_the_text_form_refuses_deep_nesting_before_parsing():
    with pytest.raises(TextFormError, match="nested more than 64"):
        parse_tree("(" * 5000 + "customer.country = PL" + ")" * 5000)
    with pytest.raises(TextFormError, match="nested more than 64"):
        parse_tree("not " * 5000 + "customer.country = PL")
    assert parse_tree("(" * 10 + "customer.country = PL" + ")" * 10)


@pytest.mark.parametrize(
    "args,field",
    [
        (("customer", "show", "1" * 26), "ID: "),
        (("segment", "explain", "FILE", "9" * 26), "CUSTOMER_ID: "),
        (("customer", "note", "add", "1" * 26, "hi"), "CUSTOMER_ID: "),
        (("--api-url", "ftp://x", "search", "a"), "api_url: "),
        (("--api-url", "ftp://x", "sync"), "api_url: "),
        (("search", ""), "query: empty"),
        (("search", "   "), "query: empty"),
    ],
)
def test_ids_and_urls_out_of_range_are_exit_2(db, tmp_path, args, field):
    seg = tmp_path / "s.json"
    seg.write_text(_deep(1))
    done = srm(db, *[str(seg) if a == "FILE" else a for a in args])
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"srm: {field}"), done.stderr
    assert "Overflow" not in done.stderr and "internal" not in done.stderr


def test_invalid_utf8_on_a_notes_stdin_is_exit_2(db):
    done = subprocess.run(
        [*SRM, "--db", str(db), "customer", "note", "add", "100", "-"],
        input=b"\xff\xfeabc",
        capture_output=True,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.decode().startswith("srm: TEXT: standard input is not UTF-8")


def test_a_closed_pipe_ends_quietly(db):
    """`srm search Girard | head` printed "srm: BrokenPipeError". Here the reader is gone
    before srm writes a byte (its end of the pipe closed first), so every run meets the
    broken pipe, whatever the machine's speed: srm ends as a Unix filter does, by SIGPIPE,
    saying nothing."""
    import os

    for extra in ((), ("--json",)):
        read, write = os.pipe()
        os.close(read)
        try:
            done = subprocess.run(
                [*SRM, "--db", str(db), "search", "Girard", *extra],
                stdout=write,
                stderr=subprocess.PIPE,
                timeout=120,
            )
        finally:
            os.close(write)
        assert done.stderr.decode() == "", extra
        assert done.returncode in (-13, 141), (extra, done.returncode)


def test_sync_json_with_the_api_unreachable_prints_a_json_error(db, tmp_path):
    local = tmp_path / "c.db"
    local.write_bytes(db.read_bytes())
    done = srm(local, "sync", "--json", "--api-url", "http://127.0.0.1:9/3.1", "--api-key", "k")
    assert done.returncode == 3
    error = json.loads(done.stdout)["error"]
    assert error["exit"] == 3 and "unreachable" in error["message"]
    assert done.stderr.startswith("srm: API unreachable")


def test_a_cache_path_that_does_not_exist_is_exit_2_and_creates_nothing(tmp_path):
    missing = tmp_path / "nonexistent" / "x.db"
    for args in (("search", "a"), ("customer", "show", "1"), ("outbox", "list")):
        done = run_srm("--db", str(missing), *args)
        assert done.returncode == 2, done.stderr
        assert "no srm cache here" in done.stderr
    # sync creates a cache, but never the folder the user named
    done = run_srm(
        "--db", str(missing), "sync", "--api-url", "http://127.0.0.1:9/3.1", "--api-key", "k"
    )
    assert done.returncode == 2 and "does not exist" in done.stderr, done.stderr
    assert not (tmp_path / "nonexistent").exists()
    seeded = run_srm("sandbox", "seed-db", "--customers", "1", "--db", str(missing))
    assert seeded.returncode == 2 and not (tmp_path / "nonexistent").exists()
    report = Path(__file__).parents[1] / "data" / "churniq" / "transactions.csv"
    imported = run_srm("--db", str(missing), "import", str(report))
    assert imported.returncode == 2 and "does not exist" in imported.stderr, imported.stderr
    assert not (tmp_path / "nonexistent").exists()
    # in a folder that exists, import creates the cache it was asked for
    made = tmp_path / "new.db"
    assert run_srm("--db", str(made), "import", str(report)).returncode == 0
    assert made.exists()


def test_controls_and_bidi_overrides_are_escaped_in_text_and_json(db):
    for args in (
        ("customer", "show", str(HOSTILE_ID)),
        ("customer", "show", str(HOSTILE_ID), "--json"),
        ("search", "csi@evil.example", "--json"),
    ):
        done = srm(db, *args)
        assert done.returncode == 0, done.stderr
        assert "\u009b" not in done.stdout and "\u202e" not in done.stdout, args
        assert "\\u009b" in done.stdout and "\\u202e" in done.stdout, args
    shown = json.loads(srm(db, "customer", "show", str(HOSTILE_ID), "--json").stdout)
    assert "A\u009b2JB" in json.dumps(shown["customer"], ensure_ascii=False)  # value intact


def test_an_unknown_config_key_is_named_with_the_nearest_known_one(db, tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    (config / "config.toml").write_text('api_ulr = "https://x.example/3.1"\n')
    done = srm(db, "search", "a", env={"SRM_CONFIG_DIR": str(config)})
    assert done.returncode == 2
    assert "unknown setting 'api_ulr'" in done.stderr and "'api_url'" in done.stderr


def test_a_crash_is_one_line_non_zero_with_the_traceback_in_a_log(tmp_path):
    """An unforeseen failure (here: the console given a cache that is a folder) is a line
    naming a crash log, never a traceback on the terminal or exit 0."""
    from srm_tui.exits import report

    data = tmp_path / "data"
    code = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from srm_tui.exits import report; "
            "sys.exit(report(ZeroDivisionError('boom'), False))",
        ],
        capture_output=True,
        text=True,
        env={"SRM_DATA_DIR": str(data), "PATH": "/usr/bin"},
    )
    assert code.returncode == 1
    line = code.stderr.strip()
    assert line.count("\n") == 0 and "internal error: ZeroDivisionError: boom" in line
    log = Path(line.split("traceback in ")[1].rstrip(")"))
    assert log.parent == data and "ZeroDivisionError" in log.read_text()
    assert (log.stat().st_mode & 0o077) == 0
    assert callable(report)

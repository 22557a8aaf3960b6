"""Bad configuration and bad API data: one-line errors or quarantined records, no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from srm_tui.storage.cache import Cache
from srm_tui.storage.payload import decode_raw
from tests.helpers import SandboxProcess, free_port, run_srm, srm_env

GOOD_CUSTOMER = {
    "id": 123456789,
    "email": "ok@example.com",
    "regDate": "2024-01-01 00:00:00",
    "futureField": {"kept": True},
}
BAD_CUSTOMERS = [
    {"email": "noid@example.com"},  # missing required id
    {"id": "not-a-number", "email": "x@example.com"},  # wrong type
    {"id": 123456790, "regDate": "01/02/2024"},  # date in the wrong format
]
BAD_TXN = {
    "transactionId": "T123456789",
    "customerId": 123456789,
    "transactionDate": 1,
    "offerId": "S123456789_PL",
    "amount": "lots",
    "currency": "EUR",
    "status": "captured",
}


class HostileApi(BaseHTTPRequestHandler):
    """A deliberately broken API: HTML where JSON belongs, or records that do not validate."""

    mode = "records"

    def log_message(self, *args):  # keep test output clean
        pass

    def do_GET(self):
        url = urlparse(self.path)
        if self.mode == "html":
            body = b"<html><body>Bad gateway</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
        else:
            entity = url.path.rsplit("/", 1)[-1]
            since = int(parse_qs(url.query).get("since", ["0"])[0])
            items = []
            if since == 0 and entity == "customers":
                items = [GOOD_CUSTOMER, *BAD_CUSTOMERS]
            elif since == 0 and entity == "transactions":
                items = [BAD_TXN]
            body = json.dumps(
                {"items": items, "nextSince": since + len(items), "hasMore": False}
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("X-Total-Count", str(len(items)))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def hostile():
    def start(mode):
        handler = type("H", (HostileApi,), {"mode": mode})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}/3.1"

    servers: list = []
    yield start
    for s in servers:
        s.shutdown()


def _one_line_no_traceback(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = [line for line in stderr.strip().splitlines() if line.startswith("srm:")]
    assert len(lines) >= 1
    return lines[0]


def test_wrong_api_key(tmp_path):
    sb = SandboxProcess("--customers", "5")
    try:
        env = srm_env(sb, tmp_path / "c.db", SRM_API_KEY="wrong")
        result = run_srm("sync", env=env)
        assert result.returncode == 1
        line = _one_line_no_traceback(result.stderr)
        assert "refused the key" in line and "wrong" not in line
    finally:
        sb.stop()


def test_unreachable_url_exits_3(tmp_path):
    env = {
        "SRM_DB": str(tmp_path / "c.db"),
        "SRM_API_URL": f"http://127.0.0.1:{free_port()}/3.1",
        "SRM_API_KEY": "k",
        "SRM_TIMEOUT": "1",
    }
    result = run_srm("sync", env=env)
    assert result.returncode == 3
    assert "unreachable" in _one_line_no_traceback(result.stderr)


def test_non_json_body_is_one_line_and_kept(tmp_path, hostile):
    env = {"SRM_DB": str(tmp_path / "c.db"), "SRM_API_URL": hostile("html"), "SRM_API_KEY": "k"}
    result = run_srm("sync", env=env)
    assert result.returncode == 1
    assert "not valid JSON" in _one_line_no_traceback(result.stderr)
    conn = Cache(tmp_path / "c.db").conn()
    pages = conn.execute("SELECT reason, payload FROM quarantine WHERE source = 'page'").fetchall()
    assert pages and "Bad gateway" in pages[0]["payload"]


def test_malformed_records_are_quarantined_with_reason(tmp_path, hostile):
    db = tmp_path / "c.db"
    env = {"SRM_DB": str(db), "SRM_API_URL": hostile("records"), "SRM_API_KEY": "k"}
    result = run_srm("sync", "--json", env=env)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["customers"] == 1 and summary["quarantined"] == 4
    conn = Cache(db).conn()
    reasons = [r[0] for r in conn.execute("SELECT reason FROM quarantine ORDER BY id")]
    assert any(r.startswith("id: Field required") for r in reasons)
    assert any("id: Input should be a valid integer" in r for r in reasons)
    assert any(r.startswith("regDate") for r in reasons)
    assert any(r.startswith("amount") for r in reasons)
    # The unknown field is kept with the record.
    raw = decode_raw(conn.execute("SELECT raw FROM customers").fetchone()[0])
    assert raw["futureField"] == {"kept": True}


def test_bad_flag_values_exit_2(tmp_path):
    result = run_srm("sync", "--now", "yesterday-ish", env={"SRM_DB": str(tmp_path / "c.db")})
    assert result.returncode == 2
    assert "now" in _one_line_no_traceback(result.stderr)
    from srm_tui.storage.cache import Cache

    Cache(tmp_path / "c.db").close()  # a cache to search (a missing one is its own exit 2)
    result = run_srm("search", "txn:T12", env={"SRM_DB": str(tmp_path / "c.db")})
    assert result.returncode == 2 and "txn" in result.stderr


def test_config_file_with_key_readable_by_others_is_refused(tmp_path):
    cfg = tmp_path / "config"
    cfg.mkdir()
    (cfg / "config.toml").write_text('api_key = "secret-123"\napi_url = "http://127.0.0.1:1/3.1"\n')
    (cfg / "config.toml").chmod(0o644)
    result = run_srm("sync", env={"SRM_CONFIG_DIR": str(cfg), "SRM_DB": str(tmp_path / "c.db")})
    assert result.returncode == 2
    line = _one_line_no_traceback(result.stderr)
    assert "chmod 600" in line and "secret-123" not in result.stderr


def test_plain_srm_reports_config_faults_like_every_command(tmp_path):
    """Plain `srm` skips the command parser for speed, yet fails the same way: one line, exit 2."""
    cfg = tmp_path / "config"
    cfg.mkdir()
    (cfg / "config.toml").write_text('api_key = "secret-123"\napi_url = "http://127.0.0.1:1/3.1"\n')
    (cfg / "config.toml").chmod(0o644)
    result = run_srm(env={"SRM_CONFIG_DIR": str(cfg), "SRM_DB": str(tmp_path / "c.db")})
    assert result.returncode == 2
    line = _one_line_no_traceback(result.stderr)
    assert "chmod 600" in line and "secret-123" not in result.stderr
    (cfg / "config.toml").write_text('role = "superuser"\n')
    result = run_srm(env={"SRM_CONFIG_DIR": str(cfg), "SRM_DB": str(tmp_path / "c.db")})
    assert result.returncode == 2 and "role" in _one_line_no_traceback(result.stderr)


def test_plain_srm_does_not_load_the_command_parser():
    code = (
        "import sys, srm_tui.entry, srm_tui.launch, srm_tui.exits, srm_tui.app\n"
        "print('click' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr

"""The API profile: detection against both sandbox profiles over loopback HTTP, the cached
answer, `srm api check` (text, JSON, unreachable), and the console's status line and help."""

from __future__ import annotations

import json

import httpx
import pytest

from srm_tui.api import errors
from srm_tui.api import profile as api_profile
from srm_tui.api.client import ApiClient, RetryPolicy
from srm_tui.api.profile import FEATURES, SANDBOX, VENDOR, NotOffered, profile_for
from srm_tui.sandbox.runner import start_sandbox
from srm_tui.sandbox.state import SandboxState
from srm_tui.storage.cache import Cache
from tests.conftest import AS_OF
from tests.helpers import free_port, run_srm, screen_text

NOT_OFFERED_BY_VENDOR = {
    "refund",
    "cancel_transaction",
    "delete_payment_details",
    "resend_email",
    "emails",
    "transactions",
    "payment_details",
}


@pytest.fixture(scope="module")
def state():
    return SandboxState.generate(40, 11, AS_OF)


@pytest.fixture(scope="module")
def servers(state):
    """The same data behind both profiles: {"sandbox": running, "vendor": running}."""
    running = {name: start_sandbox(state, profile=name) for name in (SANDBOX, VENDOR)}
    yield running
    for server in running.values():
        server.stop()


def _calls(server) -> int:
    return httpx.get(server.url.rsplit("/3.1", 1)[0] + "/sandbox/stats").json()["calls"]


def _env(server, db, **extra: str) -> dict[str, str]:
    return {"SRM_API_URL": server.url, "SRM_API_KEY": "sandbox-key", "SRM_DB": str(db), **extra}


@pytest.mark.parametrize("name", [SANDBOX, VENDOR])
def test_detect_names_each_profile(servers, name):
    with ApiClient(servers[name].url, "sandbox-key") as client:
        assert api_profile.detect(client).name == name


def test_detect_unreachable_raises_the_clients_error():
    with (
        ApiClient(
            f"http://127.0.0.1:{free_port()}/3.1", "k", retry=RetryPolicy(attempts=1)
        ) as client,
        pytest.raises(errors.Unreachable),
    ):
        api_profile.detect(client)


def test_the_profile_is_remembered_per_url(servers, tmp_path):
    cache = Cache(tmp_path / "c.db")
    server = servers[SANDBOX]  # its probe answers through the counted API routes
    with ApiClient(server.url, "sandbox-key") as client:
        before = _calls(server)
        assert api_profile.resolve(cache.conn(), client).name == SANDBOX
        assert _calls(server) == before + 1
        assert api_profile.resolve(cache.conn(), client).name == SANDBOX
        assert _calls(server) == before + 1  # answered from the cache's meta table
        saved = json.loads(cache.get_meta("api_profile"))
        assert saved["profile"] == SANDBOX and saved["url"] == server.url
        assert api_profile.resolve(cache.conn(), client, refresh=True).name == SANDBOX
        assert _calls(server) == before + 2  # asked again when told to
    # Another URL is another API: detected again, not taken from the cache.
    assert api_profile.cached_profile(cache.conn(), servers[VENDOR].url) is None
    with ApiClient(servers[VENDOR].url, "sandbox-key") as client:
        assert api_profile.resolve(cache.conn(), client).name == VENDOR
    assert api_profile.cached_profile(cache.conn(), servers[VENDOR].url).name == VENDOR
    assert api_profile.cached_profile(cache.conn(), server.url) is None
    cache.close()


def test_feature_tables():
    vendor, sandbox = profile_for(VENDOR), profile_for(SANDBOX)
    assert tuple(vendor.features) == tuple(sandbox.features) == FEATURES
    assert {f.name for f in vendor.unavailable()} == NOT_OFFERED_BY_VENDOR
    assert sandbox.unavailable() == []
    assert vendor.feature("notes").local and vendor.offers("notes")
    assert "PATCH /customers/{id}" in vendor.feature("edit").reason
    with pytest.raises(NotOffered) as caught:
        vendor.require("refund")
    assert "not offered by this API" in str(caught.value)
    assert "Cleeng dashboard" in str(caught.value) and caught.value.feature.name == "refund"
    sandbox.require("refund")  # offered: no error
    with pytest.raises(ValueError):
        profile_for("other")


@pytest.mark.parametrize("name", [SANDBOX, VENDOR])
def test_api_check_json(servers, tmp_path, name):
    result = run_srm("api", "check", "--json", env=_env(servers[name], tmp_path / "none.db"))
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer == profile_for(name).as_json()
    assert set(answer) == {"profile", "features"} and answer["profile"] == name
    assert list(answer["features"]) == list(FEATURES)
    for feature in answer["features"].values():
        assert set(feature) == {"available", "reason"} and feature["reason"]
    offered = {n for n, f in answer["features"].items() if not f["available"]}
    assert offered == (NOT_OFFERED_BY_VENDOR if name == VENDOR else set())
    assert not (tmp_path / "none.db").exists()  # no cache is made just to remember it


def test_api_check_text_and_remembered(servers, tmp_path):
    db = tmp_path / "c.db"
    Cache(db).close()
    result = run_srm("api", "check", env=_env(servers[VENDOR], db))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("profile: vendor")
    assert "  GET /offers: answers" in lines and "  GET /customers?email=: answers" in lines
    refund = next(line for line in lines if line.strip().startswith("refund "))
    assert "not offered" in refund and "Cleeng dashboard" in refund
    edit = next(line for line in lines if line.strip().startswith("edit "))
    assert "available" in edit and "PATCH /customers/{id}" in edit
    notes = next(line for line in lines if line.strip().startswith("notes "))
    assert "srm's own store" in notes
    cache = Cache(db)
    assert json.loads(cache.get_meta("api_profile"))["profile"] == VENDOR
    cache.close()


def test_api_check_with_a_refused_key_exits_1(servers, tmp_path):
    result = run_srm(
        "api", "check", "--json", env=_env(servers[VENDOR], tmp_path / "c.db", SRM_API_KEY="wrong")
    )
    assert result.returncode == 1
    assert "refused the key" in result.stderr and "wrong" not in result.stderr


def test_api_check_unreachable_exits_3(tmp_path):
    result = run_srm(
        "api",
        "check",
        "--json",
        env={
            "SRM_API_URL": f"http://127.0.0.1:{free_port()}/3.1",
            "SRM_API_KEY": "k",
            "SRM_DB": str(tmp_path / "c.db"),
            "SRM_TIMEOUT": "1",
        },
    )
    assert result.returncode == 3, (result.returncode, result.stderr)
    assert "unreachable" in result.stderr + result.stdout
    assert '"profile"' not in result.stdout  # no profile claimed for an API never reached


async def test_console_status_and_help_show_the_vendor_profile(servers, state, tmp_path):
    from srm_tui.app import SrmApp
    from srm_tui.config import load_settings

    db = tmp_path / "c.db"
    cache = Cache(db)
    known = state.export()["customers"][0]["id"]
    with cache.transaction() as tx:  # one customer the cache knows of (as an import leaves)
        tx.execute(
            "INSERT INTO customer_fetch_state (customer_id, status, attempted_at) "
            "VALUES (?, 'pending', 0)",
            (known,),
        )
    settings = load_settings(
        db=str(db),
        api_url=servers[VENDOR].url,
        api_key="sandbox-key",
        agent="tester",
        now="2026-11-01T00:00:00Z",
    )
    app = SrmApp(settings, cache)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        app.refresh_status()
        await pilot.pause()
        assert "vendor API" in app.status_text, app.status_text
        assert "vendor API" in screen_text(app)
        await pilot.press("question_mark")
        await pilot.pause()
        shown = screen_text(app)
        assert "Not offered by this API (vendor API)" in shown and "Refund" in shown
        await pilot.press("o")  # the vendor's own ways, one key away
        await pilot.pause()
        shown = screen_text(app)
        assert "Refund" in shown and "Cleeng dashboard" in shown
        await pilot.press("escape")
        await pilot.pause()
        assert "Not offered by this API (vendor API)" in screen_text(app)
    cache.close()


async def test_console_help_lists_nothing_unavailable_in_the_sandbox_profile(servers, tmp_path):
    from srm_tui.app import SrmApp
    from srm_tui.config import load_settings

    db = tmp_path / "c.db"
    cache = Cache(db)
    settings = load_settings(
        db=str(db),
        api_url=servers[SANDBOX].url,
        api_key="sandbox-key",
        agent="tester",
        now="2026-11-01T00:00:00Z",
    )
    app = SrmApp(settings, cache)
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        app.refresh_status()
        await pilot.pause()
        assert "sandbox API" in app.status_text, app.status_text
        await pilot.press("question_mark")
        await pilot.pause()
        assert "Not offered by this API" not in screen_text(app)
    cache.close()

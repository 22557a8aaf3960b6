"""Settings (srm_tui.config): flag > SRM_* environment > config.toml > default, every value
checked the same way whatever its source, secrets never shown."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import pytest
from pydantic import SecretStr

from srm_tui.config import ConfigError, Settings, load_settings


@pytest.fixture
def config_file(tmp_path) -> Path:
    folder = Path(os.environ["SRM_CONFIG_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "config.toml"


def write(path: Path, text: str, mode: int = 0o600) -> None:
    path.write_text(text)
    path.chmod(mode)


def test_defaults(monkeypatch):
    monkeypatch.setenv("USER", "kim")
    settings = load_settings()
    assert settings.api_url is None and settings.db is None and settings.is_demo
    assert settings.key() is None and settings.api_key is None
    assert (settings.agent, settings.role, settings.currency) == ("kim", "agent", "EUR")
    assert (settings.timeout, settings.page_size, settings.keymap) == (10.0, 1000, {})
    assert settings.theme == "textual-dark"


def test_flag_beats_env_beats_file_beats_default(config_file, monkeypatch):
    write(config_file, 'role = "viewer"\ncurrency = "pln"\ntimeout = 3\ntheme = "nord"\n')
    assert load_settings().role == "viewer"
    assert load_settings().currency == "PLN"  # checked and normalised from any source
    monkeypatch.setenv("SRM_ROLE", "admin")
    monkeypatch.setenv("SRM_TIMEOUT", "4.5")
    settings = load_settings()
    assert (settings.role, settings.timeout, settings.theme) == ("admin", 4.5, "nord")
    settings = load_settings(role="owner", timeout=None)  # None: the flag was not given
    assert (settings.role, settings.timeout) == ("owner", 4.5)


def test_an_empty_variable_is_not_set(config_file, monkeypatch):
    write(config_file, 'db = "/tmp/from-file.db"\n')
    monkeypatch.setenv("SRM_DB", "")
    assert load_settings().db == Path("/tmp/from-file.db")


def test_values_are_typed(monkeypatch):
    monkeypatch.setenv("SRM_KEYMAP", '{"customers.search": "f3"}')
    settings = load_settings(now="2026-11-01", db="~/c.db", page_size="50")
    assert settings.now == datetime(2026, 11, 1, tzinfo=timezone.utc)
    assert settings.now_ts() == 1793491200
    assert settings.db == Path("~/c.db").expanduser()
    assert settings.page_size == 50
    assert settings.keymap == {"customers.search": "f3"}
    naive = load_settings(now=datetime(2026, 11, 1, 12))
    assert naive.now == datetime(2026, 11, 1, 12, tzinfo=timezone.utc)


def test_names_that_are_not_settings_are_ignored():
    settings = load_settings(debug=True, now_=None, role="viewer")
    assert settings.role == "viewer" and not hasattr(settings, "debug")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        ({"role": "superuser"}, "role: must be one of owner, admin, agent, viewer"),
        ({"api_url": "ftp://x.example/3.1"}, "api_url: must be an http:// or https:// URL"),
        ({"api_url": "https://"}, "api_url: must be an http:// or https:// URL with a host"),
        ({"now": "yesterday"}, "now: not an ISO 8601 instant: 'yesterday'"),
        ({"timeout": "0"}, "timeout: must be between 0.1 and 600"),
        ({"page_size": "ten"}, "page_size: must be a number, not 'ten'"),
        ({"currency": "EURO"}, "currency: must be an ISO 4217 currency code such as EUR"),
        ({"agent": ""}, "agent: must not be empty"),
        ({"keymap": "{nope"}, "keymap: must be a JSON object of binding id -> keys"),
        ({"keymap": {"a": 1}}, "keymap: must map binding ids to key strings"),
    ],
)
def test_a_bad_value_names_its_field(flags, message):
    with pytest.raises(ConfigError) as caught:
        load_settings(**flags)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_a_bad_value_from_env_or_file_names_its_field(config_file, monkeypatch):
    monkeypatch.setenv("SRM_KEYMAP", "[1, 2]")
    with pytest.raises(ConfigError, match=r"^keymap: must map binding ids to key strings"):
        load_settings()
    monkeypatch.delenv("SRM_KEYMAP")
    write(config_file, "db = 5\n")
    with pytest.raises(ConfigError, match=r"^db: must be text$"):
        load_settings()


def test_secrets_never_show(monkeypatch):
    monkeypatch.setenv("SRM_WEBHOOK_SECRET", "hook-secret-1")
    settings = load_settings(api_key="key-secret-1")
    assert isinstance(settings.api_key, SecretStr)
    assert settings.key() == "key-secret-1"
    assert settings.webhook_secret.get_secret_value() == "hook-secret-1"
    for shown in (repr(settings), str(settings), repr(settings.model_dump())):
        assert "key-secret-1" not in shown and "hook-secret-1" not in shown


def test_a_config_file_with_a_key_must_be_private(config_file):
    write(config_file, 'api_key = "file-key-1"\n', 0o640)
    with pytest.raises(ConfigError) as caught:
        load_settings(api_key="flag-key")  # checked even when a flag overrides the key
    assert f"chmod 600 {config_file}" in str(caught.value)
    assert "file-key-1" not in str(caught.value)
    config_file.chmod(0o600)
    assert load_settings().key() == "file-key-1"
    write(config_file, 'role = "viewer"\n', 0o644)  # no key: others may read it
    assert load_settings().role == "viewer"


def test_an_unknown_file_setting_is_named_with_the_nearest(config_file):
    write(config_file, 'api_ulr = "https://x.example/3.1"\n')
    with pytest.raises(ConfigError, match=r"unknown setting 'api_ulr'; did you mean 'api_url'\?"):
        load_settings()
    write(config_file, "role = \n")
    with pytest.raises(ConfigError, match=r"cannot read"):
        load_settings()


def test_model_copy_checks_each_replaced_value():
    settings = load_settings(api_url="https://x.example/3.1", role="agent")
    offline = settings.model_copy({"api_url": None})
    assert offline.api_url is None and offline.role == "agent" and settings.api_url
    demo = settings.model_copy(update={"api_key": "k-1", "db": "/tmp/d.db"})
    assert demo.key() == "k-1" and demo.db == Path("/tmp/d.db")
    with pytest.raises(ConfigError, match=r"^role: must be one of"):
        settings.model_copy({"role": "root"})


def test_settings_are_frozen_and_refuse_unknown_fields():
    settings = load_settings()
    with pytest.raises(ValueError):
        settings.role = "owner"
    with pytest.raises(ValueError):
        Settings(rol="owner")

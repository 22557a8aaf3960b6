"""--db / SRM_DB / config.toml's db take the team store's postgresql:// URL (issue 15): kept as
text (a path would fold its '//'), its password never in a repr, and a config file holding
one must be private, as for the API key. A file path is read as before."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from srm_tui import runtime
from srm_tui.config import ConfigError, load_settings

URL = "postgresql://alice:s3cret@db.example:5432/srm?sslmode=require"


def test_a_url_stays_a_url_and_a_path_a_path(monkeypatch):
    settings = load_settings(db=f"  {URL} ")
    assert settings.db == URL and runtime.is_team_store(settings)
    assert "s3cret" not in repr(settings) and "s3cret" not in str(settings)
    monkeypatch.setenv("SRM_DB", "postgres://bob@/srm?host=/run/pg")
    assert load_settings().db == "postgres://bob@/srm?host=/run/pg"
    monkeypatch.setenv("SRM_DB", "~/cache.db")
    path = load_settings().db
    assert isinstance(path, Path) and path == Path("~/cache.db").expanduser()
    assert not runtime.is_team_store(load_settings())
    with pytest.raises(ValueError):
        runtime.cache_path(load_settings(db=URL))  # the team store has no file


@pytest.mark.parametrize(
    "url,private",
    [
        (URL, True),
        ("postgresql://alice@/srm?host=/run/pg&password=s3cret", True),
        ("postgresql://alice@/srm?host=/run/pg", False),
    ],
)
def test_a_config_file_holding_a_store_password_must_be_0600(tmp_path, url, private):
    config = Path(os.environ["SRM_CONFIG_DIR"])
    config.mkdir(parents=True)
    path = config / "config.toml"
    path.write_text(f'db = "{url}"\n')
    path.chmod(0o644)
    if private:
        with pytest.raises(ConfigError, match="holds the store's password .* chmod 600"):
            load_settings()
        path.chmod(0o600)
    assert load_settings().db == url

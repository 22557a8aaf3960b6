"""Settings: command-line flag > environment (SRM_*) > config.toml > default."""

from __future__ import annotations

import os
import stat
import tomllib
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

APP_NAME = "srm"
DEFAULT_SANDBOX_KEY = "sandbox-key"


class ConfigError(Exception):
    """The configuration cannot be used; the message says how to fix it."""


def config_dir() -> Path:
    return Path(os.environ.get("SRM_CONFIG_DIR") or platformdirs.user_config_dir(APP_NAME))


def data_dir() -> Path:
    return Path(os.environ.get("SRM_DATA_DIR") or platformdirs.user_data_dir(APP_NAME))


def config_file() -> Path:
    return config_dir() / "config.toml"


def read_config_file(path: Path | None = None) -> dict[str, Any]:
    """The config file's settings; refuses a file with a key that others can read."""
    path = path or config_file()
    if not path.exists():
        return {}
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    if values.get("api_key") and stat.S_IMODE(path.stat().st_mode) & 0o077:
        raise ConfigError(
            f"{path} holds an API key and is readable by others; fix it with: chmod 600 {path}")
    return values


class TomlSource(PydanticBaseSettingsSource):
    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return read_config_file()


def parse_instant(value: str) -> datetime:
    """An ISO 8601 instant (a date alone is midnight UTC); naive means UTC."""
    text = value.strip().replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


class Settings(BaseSettings):
    """Everything srm can be told. Flags are passed as init values and win."""

    model_config = SettingsConfigDict(env_prefix="SRM_", extra="ignore")

    api_url: str | None = Field(None, description="API base including the version")
    api_key: SecretStr | None = Field(None, description="publisher token (X-Publisher-Token)")
    db: Path | None = Field(None, description="SQLite cache path")
    agent: str = Field(default_factory=lambda: os.environ.get("USER") or "agent",
                       description="the agent's name, for notes and the audit log")
    role: Literal["owner", "admin", "agent", "viewer"] = "agent"
    now: datetime | None = Field(None, description="fixed 'now' for rules and relative dates")
    timeout: float = Field(10.0, description="seconds to wait for one API answer")
    page_size: int = Field(1000, ge=1, le=1000, description="records per sync page")
    webhook_secret: SecretStr | None = Field(None, description="HMAC key for webhook deliveries")
    theme: str = "textual-dark"
    keymap: dict[str, str] = Field(default_factory=dict,
                                   description="binding id -> keys, e.g. {'search': 'ctrl+f'}")

    @field_validator("now", mode="before")
    @classmethod
    def _now(cls, v: Any) -> Any:
        if isinstance(v, str) and v.strip():
            return parse_instant(v)
        return v or None

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings],
                                   init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlSource(settings_cls))

    @property
    def is_demo(self) -> bool:
        return self.api_url is None and self.db is None

    def now_ts(self) -> int:
        return int((self.now or datetime.now(timezone.utc)).timestamp())

    def key(self) -> str | None:
        return self.api_key.get_secret_value() if self.api_key else None


def load_settings(**flags: Any) -> Settings:
    """Settings with the given flags on top (None means 'not given')."""
    given = {k: v for k, v in flags.items() if v is not None}
    return Settings(**given)

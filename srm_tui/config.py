"""Settings: command-line flag > environment (SRM_*) > config.toml > default.

A small typed tree with a validator per field, kept free of heavy imports: the console's
start-up time includes reading its settings, and it should open nearly as fast as a bare
Textual app.
"""

from __future__ import annotations

import dataclasses
import os
import stat
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

APP_NAME = "srm"
ENV_PREFIX = "SRM_"
DEFAULT_SANDBOX_KEY = "sandbox-key"
ROLES = ("owner", "admin", "agent", "viewer")


class ConfigError(Exception):
    """The configuration cannot be used; the message says which setting and how to fix it."""


class Secret:
    """A value that never shows itself in reprs, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _user_dir(kind: str) -> Path:
    import platformdirs  # only when no SRM_*_DIR override is given

    return Path(getattr(platformdirs, f"user_{kind}_dir")(APP_NAME))


def config_dir() -> Path:
    override = os.environ.get("SRM_CONFIG_DIR")
    return Path(override) if override else _user_dir("config")


def data_dir() -> Path:
    override = os.environ.get("SRM_DATA_DIR")
    return Path(override) if override else _user_dir("data")


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
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:  # a typo must not be a setting silently not applied
        import difflib

        key = unknown[0]
        near = difflib.get_close_matches(key, list(FIELDS), n=1, cutoff=0.5)
        hint = f"; did you mean {near[0]!r}?" if near else f"; known: {', '.join(FIELDS)}"
        raise ConfigError(f"{path}: unknown setting {key!r}{hint}")
    if values.get("api_key") and stat.S_IMODE(path.stat().st_mode) & 0o077:
        raise ConfigError(
            f"{path} holds an API key and is readable by others; fix it with: chmod 600 {path}"
        )
    return values


def parse_instant(value: str) -> datetime:
    """An ISO 8601 instant (a date alone is midnight UTC); naive means UTC."""
    text = value.strip().replace("Z", "+00:00")
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


# Field validators: raw value (flag, env text or TOML value) -> typed value, or ValueError.


def _text(v: Any) -> str | None:
    if v is None or v == "":
        return None
    if not isinstance(v, str):
        raise ValueError("must be text")
    return v


def _url(v: Any) -> str | None:
    """An http(s) URL with a host: srm speaks HTTP to the API, nothing else."""
    text = _text(v)
    if text is None:
        return None
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(text)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http:// or https:// URL with a host, not {text!r}")
    return text


def _secret(v: Any) -> Secret | None:
    if isinstance(v, Secret):
        return v
    text = _text(v)
    return Secret(text) if text else None


def _path(v: Any) -> Path | None:
    text = _text(str(v) if isinstance(v, Path) else v)
    return Path(text).expanduser() if text else None


def _role(v: Any) -> str:
    if v not in ROLES:
        raise ValueError(f"must be one of {', '.join(ROLES)}")
    return v


def _instant(v: Any) -> datetime | None:
    if v is None or v == "":
        return None
    if isinstance(v, datetime):
        return v if v.tzinfo else v.replace(tzinfo=timezone.utc)
    try:
        return parse_instant(str(v))
    except ValueError:
        raise ValueError(f"not an ISO 8601 instant: {v!r}") from None


def _number(kind: type, low: float, high: float) -> Callable[[Any], Any]:
    def check(v: Any) -> Any:
        try:
            value = kind(v)
        except (TypeError, ValueError):
            raise ValueError(f"must be a number, not {v!r}") from None
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}")
        return value

    return check


def _keymap(v: Any) -> dict[str, str]:
    if isinstance(v, str):
        import json

        try:
            v = json.loads(v)
        except ValueError:
            raise ValueError("must be a JSON object of binding id -> keys") from None
    if not isinstance(v, dict) or not all(
        isinstance(k, str) and isinstance(x, str) for k, x in v.items()
    ):
        raise ValueError("must map binding ids to key strings")
    return dict(v)


def _currency(v: Any) -> str:
    text = _text(v)
    if (
        not text
        or len(text.strip()) != 3
        or not text.strip().isalpha()
        or not text.strip().isascii()
    ):
        raise ValueError(f"must be an ISO 4217 currency code such as EUR, not {v!r}")
    return text.strip().upper()


def _nonempty(v: Any) -> str:
    text = _text(v)
    if not text:
        raise ValueError("must not be empty")
    return text


@dataclass(frozen=True)
class Settings:
    """Everything srm can be told. Each field's metadata holds its validator."""

    api_url: str | None = field(default=None, metadata={"check": _url})
    """API base including the version, e.g. https://api.sandbox.cleeng.com/3.1"""
    api_key: Secret | None = field(default=None, metadata={"check": _secret})
    """The publisher token, sent as X-Publisher-Token; never written anywhere."""
    db: Path | None = field(default=None, metadata={"check": _path})
    """The SQLite cache file."""
    agent: str = field(
        default_factory=lambda: os.environ.get("USER") or "agent", metadata={"check": _nonempty}
    )
    """The agent's name, shown as author of notes and in the audit log."""
    role: str = field(default="agent", metadata={"check": _role})
    """owner, admin, agent or viewer (read only)."""
    now: datetime | None = field(default=None, metadata={"check": _instant})
    """A fixed 'now' for lifecycle states and relative dates."""
    currency: str = field(default="EUR", metadata={"check": _currency})
    """Reporting currency (ISO 4217): money is totalled and compared in it across currencies."""
    timeout: float = field(default=10.0, metadata={"check": _number(float, 0.1, 600)})
    """Seconds to wait for one API answer."""
    page_size: int = field(default=1000, metadata={"check": _number(int, 1, 1000)})
    """Records per sync page."""
    webhook_secret: Secret | None = field(default=None, metadata={"check": _secret})
    """HMAC-SHA256 key that webhook deliveries are signed with."""
    webhook_signature_header: str = field(default="X-Signature", metadata={"check": _nonempty})
    """Header holding a delivery's signature (hex, or sha256=hex); the vendor's docs do not
    name it, so it is a setting. X-Srm-Signature (the sandbox's own) is always accepted."""
    webhook_delivery_id_header: str = field(default="X-Delivery-Id", metadata={"check": _nonempty})
    """Header holding the sender's delivery id, when it sends one (replays are ignored)."""
    webhook_max_body: int = field(default=1 << 20, metadata={"check": _number(int, 1024, 64 << 20)})
    """Largest delivery body accepted, in bytes (larger ones: 413, never read whole)."""
    webhook_max_depth: int = field(default=64, metadata={"check": _number(int, 2, 1000)})
    """Deepest JSON nesting accepted in a delivery (deeper: 400)."""
    webhook_header_timeout: float = field(
        default=10.0, metadata={"check": _number(float, 0.1, 600)}
    )
    """Seconds a connection has to send a request's headers."""
    webhook_body_timeout: float = field(default=30.0, metadata={"check": _number(float, 0.1, 600)})
    """Seconds a request has to send its body once its headers are in."""
    webhook_idle_timeout: float = field(default=5.0, metadata={"check": _number(float, 0.1, 600)})
    """Seconds an idle keep-alive connection stays open."""
    webhook_max_connections: int = field(default=100, metadata={"check": _number(int, 1, 100000)})
    """Connections the receiver holds at once; more are answered 503 and closed."""
    webhook_replay_window: int = field(
        default=86400, metadata={"check": _number(int, 0, 30 * 86400)}
    )
    """Seconds a delivery is remembered: the same one again is acknowledged, not applied."""
    theme: str = field(default="textual-dark", metadata={"check": _nonempty})
    """The console's colour theme."""
    keymap: dict[str, str] = field(default_factory=dict, metadata={"check": _keymap})
    """Binding id -> keys, e.g. {"customers.search": "f3"}."""

    @property
    def is_demo(self) -> bool:
        return self.api_url is None and self.db is None

    def now_ts(self) -> int:
        return int((self.now or datetime.now(timezone.utc)).timestamp())

    def key(self) -> str | None:
        return self.api_key.get_secret_value() if self.api_key else None

    def model_copy(self, update: dict[str, Any]) -> Settings:
        """A copy with some fields replaced (validated like any other source)."""
        return dataclasses.replace(self, **_validated(update))


FIELDS = {f.name: f for f in dataclasses.fields(Settings)}


def _validated(values: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, value in values.items():
        try:
            out[name] = FIELDS[name].metadata["check"](value)
        except ValueError as exc:
            raise ConfigError(f"{name}: {exc}") from None
    return out


def load_settings(**flags: Any) -> Settings:
    """Settings from flags (None means 'not given'), then SRM_* variables, then the file."""
    merged: dict[str, Any] = {}
    file_values = read_config_file()
    for name in FIELDS:
        if flags.get(name) is not None:
            merged[name] = flags[name]
        elif os.environ.get(ENV_PREFIX + name.upper()) not in (None, ""):
            merged[name] = os.environ[ENV_PREFIX + name.upper()]
        elif name in file_values:
            merged[name] = file_values[name]
    return Settings(**_validated(merged))

"""The vendor's JSON Web Key Set: where it lives, fetched once and cached for offline use."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from srm_tui.storage.cache import Cache

META_KEY = "jwks"
VENDOR_AUTH_HOSTS = {
    "api.sandbox.cleeng.com": "auth.api.sandbox.cleeng.com",
    "api.cleeng.com": "auth.api.cleeng.com",
}


def jwks_url(api_url: str) -> str:
    """The vendor's auth host for its APIs; a local sandbox serves its own key set."""
    parts = urlsplit(api_url)
    host = VENDOR_AUTH_HOSTS.get(parts.hostname or "")
    if host:
        return f"https://{host}/.well-known/jwks.json"
    return f"{parts.scheme}://{parts.netloc}/.well-known/jwks.json"


def cached(cache: Cache) -> tuple[dict[str, Any] | None, int | None]:
    raw = cache.get_meta(META_KEY)
    if not raw:
        return None, None
    data = json.loads(raw)
    return data.get("jwks"), data.get("fetched_at")


def refresh(cache: Cache, api_url: str, timeout: float = 5.0) -> dict[str, Any]:
    """Fetch the key set (no auth needed) and keep it in the cache."""
    response = httpx.get(jwks_url(api_url), timeout=timeout)
    response.raise_for_status()
    jwks = response.json()
    if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
        raise ValueError("the key set is not a JWKS document")
    cache.set_meta(META_KEY, json.dumps({"jwks": jwks, "fetched_at": int(time.time())}))
    return jwks


def key_set(cache: Cache, api_url: str | None) -> tuple[dict[str, Any] | None, str]:
    """The freshest key set we can have, and where it came from."""
    if api_url:
        try:
            return refresh(cache, api_url), "fetched now"
        except (httpx.HTTPError, ValueError):
            pass
    jwks, fetched_at = cached(cache)
    if jwks:
        age = time.strftime("%Y-%m-%d %H:%M", time.gmtime(fetched_at or 0))
        return jwks, f"cached {age} UTC (offline)"
    return None, "no key set: never fetched, and the API is out of reach"

"""Customer JWTs pasted from support tickets: decode, verify against a JWKS, read expiry.

Pure functions over the token and a key set; fetching the key set is the API client's job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

JWT_SHAPE = re.compile(r"^eyJ[\w-]*\.eyJ[\w-]*\.[\w-]*$")


def looks_like_jwt(text: str) -> bool:
    return bool(JWT_SHAPE.match(text.strip()))


@dataclass
class TokenInfo:
    claims: dict[str, Any]
    header: dict[str, Any]
    signature: str  # "valid", "invalid", "unverified (no key set cached)", "unknown key"
    problem: str | None
    expires_at: int | None
    now: int

    @property
    def customer_id(self) -> int | None:
        value = self.claims.get("customerId")
        try:
            return int(value) if value is not None else None
        except (TypeError, ValueError):
            return None

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at < self.now

    def expiry_text(self) -> str:
        if self.expires_at is None:
            return "no expiry"
        delta = self.expires_at - self.now
        minutes = abs(delta) // 60
        span = f"{minutes} min" if minutes < 120 else f"{minutes // 60} h"
        return f"expired {span} ago" if delta < 0 else f"expires in {span}"


class TokenError(ValueError):
    """Not a JWT at all (the message says why)."""


def inspect(token: str, jwks: dict[str, Any] | None, now: int) -> TokenInfo:
    """Decode a token and check its RS256 signature against the key set, if there is one."""
    import jwt

    token = token.strip()
    try:
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise TokenError(f"not a readable JWT: {exc}") from None
    exp = claims.get("exp")
    expires_at = int(exp) if isinstance(exp, (int, float)) else None
    signature, problem = "unverified (no key set cached)", None
    if jwks:
        key = next((k for k in jwks.get("keys", []) if k.get("kid") == header.get("kid")), None)
        if key is None and len(jwks.get("keys", [])) == 1 and not header.get("kid"):
            key = jwks["keys"][0]
        if key is None:
            signature, problem = "unknown key", f"no key {header.get('kid')!r} in the key set"
        else:
            try:
                jwt.decode(
                    token,
                    jwt.PyJWK(key).key,
                    algorithms=["RS256"],
                    options={"verify_exp": False, "verify_aud": False},
                )
                signature = "valid"
            except jwt.PyJWTError as exc:
                signature, problem = "invalid", str(exc)
    return TokenInfo(
        claims=claims,
        header=header,
        signature=signature,
        problem=problem,
        expires_at=expires_at,
        now=now,
    )

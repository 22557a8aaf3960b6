"""Customer JWTs as the vendor issues them (RS256, claims customerId, publisherId, email,
iat, exp), and the JSON Web Key Set that verifies them.

The key pair is made when the sandbox starts: a restart rotates it, as a real key rotation
would, and a token signed by an older key no longer verifies.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

PUBLISHER_ID = 558186818
DEFAULT_TTL = 15 * 60  # the vendor's current customer token lifetime


class TokenIssuer:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: Any = None
        self.kid = uuid.uuid4().hex[:16]

    def _private_key(self):
        with self._lock:
            if self._key is None:
                from cryptography.hazmat.primitives.asymmetric import rsa

                self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            return self._key

    def jwks(self) -> dict[str, Any]:
        import json

        from jwt.algorithms import RSAAlgorithm

        jwk = json.loads(RSAAlgorithm.to_jwk(self._private_key().public_key()))
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        return {"keys": [jwk]}

    def issue(
        self, customer_id: int, email: str | None, *, ttl: int = DEFAULT_TTL, now: int | None = None
    ) -> str:
        import jwt

        issued = int(time.time()) if now is None else now
        claims = {
            "customerId": customer_id,
            "publisherId": PUBLISHER_ID,
            "email": email,
            "iat": issued,
            "exp": issued + ttl,
        }
        return jwt.encode(claims, self._private_key(), algorithm="RS256", headers={"kid": self.kid})

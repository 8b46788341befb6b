"""Join tokens: HS256 JWTs bound to one session and one participant.

Verification pins the algorithm, requires every claim and the `comfort` audience, and maps each
failure to the contract's connect error codes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import jwt

from .errors import ConnectRefused

AUDIENCE = "comfort"
ALGORITHM = "HS256"
_REQUIRED = ["sub", "sid", "role", "aud", "iat", "exp"]


@dataclass(frozen=True, slots=True)
class JoinClaims:
    participant_id: str
    session_id: str
    role: str
    expires_at: int


class TokenIssuer:
    """Mints and verifies join tokens with the deployment's secret key."""

    def __init__(self, secret_key: str, ttl_seconds: int) -> None:
        self._key = secret_key
        self.ttl_seconds = ttl_seconds

    def mint(
        self, session_id: str, participant_id: str, role: str, now: float | None = None
    ) -> str:
        issued = int(now if now is not None else time.time())
        claims = {
            "sub": participant_id,
            "sid": session_id,
            "role": role,
            "aud": AUDIENCE,
            "iat": issued,
            "exp": issued + self.ttl_seconds,
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def verify(self, token: object) -> JoinClaims:
        """Check signature, algorithm, audience and lifetime.

        Raises:
            ConnectRefused: `token_expired` for an expired token, else `invalid_token`.
        """
        if not isinstance(token, str) or not token or len(token) > 4096:
            raise ConnectRefused("a join token is required", code="invalid_token")
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                options={"require": _REQUIRED},
                leeway=5,
            )
        except jwt.ExpiredSignatureError:
            raise ConnectRefused("the join token has expired", code="token_expired") from None
        except jwt.PyJWTError:
            raise ConnectRefused("the join token is not valid", code="invalid_token") from None
        sub, sid, role = claims.get("sub"), claims.get("sid"), claims.get("role")
        if not all(isinstance(v, str) and v for v in (sub, sid, role)):
            raise ConnectRefused("the join token is not valid", code="invalid_token")
        assert isinstance(sub, str) and isinstance(sid, str) and isinstance(role, str)
        return JoinClaims(sub, sid, role, int(claims["exp"]))

"""The error tree: every failure the service reports on the wire is a `ComfortError`.

    ComfortError (code, status)
    ├── Unauthorized            unauthorized (401)
    ├── InvalidBody             invalid_body (400)
    ├── NotFound                session_not_found / participant_not_found / not_found (404)
    ├── Conflict                conflict (409)
    ├── SessionEnded            session_ended (409)
    ├── TooLarge                too_large (413)
    ├── RateLimited             rate_limited (429)
    ├── InvalidSignature        invalid_signature (401)
    ├── ConnectRefused          invalid_token / token_expired / session_not_found / session_ended
    ├── SendError               invalid_payload / unknown_type / forbidden / not_found /
    │                           session_ended / rate_limited
    └── StoreUnavailable        internal (503): nothing was stored

HTTP handlers raise these and one middleware renders them; socket handlers raise them and one
function in `sockets.py` turns them into acks.
"""

from __future__ import annotations

from typing import Any, ClassVar


class ComfortError(Exception):
    """Base of every error the service reports to a caller."""

    code: ClassVar[str] = "internal"
    status: ClassVar[int] = 500

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code  # type: ignore[misc]

    def to_wire(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


class Unauthorized(ComfortError):
    code = "unauthorized"
    status = 401


class InvalidBody(ComfortError):
    code = "invalid_body"
    status = 400


class NotFound(ComfortError):
    code = "not_found"
    status = 404


class SessionNotFound(NotFound):
    code = "session_not_found"


class ParticipantNotFound(NotFound):
    code = "participant_not_found"


class Conflict(ComfortError):
    code = "conflict"
    status = 409


class SessionEnded(ComfortError):
    code = "session_ended"
    status = 409


class TooLarge(ComfortError):
    code = "too_large"
    status = 413


class RateLimited(ComfortError):
    code = "rate_limited"
    status = 429


class InvalidSignature(ComfortError):
    code = "invalid_signature"
    status = 401


class ConnectRefused(ComfortError):
    """A Socket.IO connection refused; `code` is one of the contract's connect_error codes."""

    code = "invalid_token"
    status = 401


class SendError(ComfortError):
    """A `send` that is answered with `{"ok": false}`; the code is set per instance."""

    code = "invalid_payload"
    status = 400


class StoreUnavailable(ComfortError):
    """The durable store could not be reached; nothing was stored."""

    code = "internal"
    status = 503

"""The error tree: every failure the service reports on the wire is a `ComfortError`.

    ComfortError (code, status)
    ├── Unauthorized            unauthorized / invalid_signature (401)
    ├── InvalidBody             invalid_body (400)
    ├── NotFound                session_not_found / participant_not_found / not_found (404)
    ├── Conflict                conflict (409)
    ├── SessionEnded            session_ended (409)
    ├── RequestTimeout          request_timeout (408)
    ├── TooLarge                too_large (413)
    ├── RateLimited             rate_limited (429)
    ├── QuotaExceeded           quota_exceeded (429)
    ├── ConnectRefused          invalid_token / token_expired / session_not_found / session_ended
    ├── SendError               invalid_payload / unknown_type / forbidden / not_found /
    │                           session_ended / rate_limited
    └── StoreUnavailable        internal (503): nothing was stored

HTTP handlers raise these and one middleware renders them (`http/middleware.py`); socket
handlers raise them and one function turns them into the socket's answers
(`realtime/sockets.py`, `socket_error`). A platform's refused signature is
`integrations.base.InvalidSignature` inside the adapter; the webhook route reports it as
`Unauthorized` with the code `invalid_signature`.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, ClassVar

from pydantic import ValidationError


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


class RequestTimeout(ComfortError):
    """The body did not arrive within `COMFORT_BODY_TIMEOUT_SECONDS` (an addition)."""

    code = "request_timeout"
    status = 408


class TooLarge(ComfortError):
    code = "too_large"
    status = 413


class RateLimited(ComfortError):
    code = "rate_limited"
    status = 429


class QuotaExceeded(ComfortError):
    """The tenant holds `COMFORT_MAX_SESSIONS_PER_TENANT` sessions not ended (an addition)."""

    code = "quota_exceeded"
    status = 429

    @classmethod
    def sessions(cls, limit: int) -> QuotaExceeded:
        return cls(f"this tenant already holds {limit} sessions not ended; end or erase one first")


class ConnectRefused(ComfortError):
    """A Socket.IO connection refused; `code` is one of the contract's connect_error codes."""

    code = "invalid_token"
    status = 401


class ServiceBusy(ConnectRefused):
    """A connection refused because the process has fallen behind (`looplag.LoopLag`): the
    client is told how long to wait before it tries again."""

    code = "busy"
    status = 503

    def __init__(self, retry_after_s: float) -> None:
        super().__init__(f"the service is busy; try again in {retry_after_s:g} s", code="busy")
        self.retry_after_s = retry_after_s


class SendError(ComfortError):
    """A `send` that is answered with `{"ok": false}`; the code is set per instance."""

    code = "invalid_payload"
    status = 400


class StoreUnavailable(ComfortError):
    """The durable store could not be reached; nothing was stored."""

    code = "internal"
    status = 503


def validation_message(
    exc: ValidationError, *, subject: str = "body", limit: int = 3, hide: Collection[str] = ()
) -> str:
    """What a pydantic validation failure says on the wire: `where: what` for the first `limit`
    errors, joined by "; ". `where` is the path into the input, without the parts in `hide` (a
    discriminated union's tags), or `subject` when nothing is left."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False)[:limit]:
        where = ".".join(str(p) for p in err["loc"] if p not in hide)
        parts.append(f"{where or subject}: {err['msg']}")
    return "; ".join(parts)

"""The seam between a video platform's webhooks and the session log.

A `PlatformAdapter` turns one raw, platform-signed HTTP request into normalised
`PlatformEvent`s: `verify` checks the signature exactly as the platform signs it, `parse`
reads the payload. Both are pure functions of the request and the tenant's keys for that
platform, so they are tested without a server. The helpers below are the pieces every
adapter shares: constant-time comparison, the 300 s timestamp window, JSON bodies.

What an adapter reads has passed the service's one decoding boundary (`service/http/decode.py`):
a `WebhookRequest` holds only header values readable as text (one with an undecodable byte, a
control character or a non-character is dropped, so a credential in it fails as a missing one
does: 401), and `json_object` decodes with its depth cap. The ids an adapter hands on are checked
against the text rules by the webhook route, which acknowledges and ignores an event that breaks
them (contract §9.5).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, Protocol, TypeVar

from multidict import CIMultiDict, CIMultiDictProxy
from pydantic import (
    BaseModel,
    BeforeValidator,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)

from service.http.decode import (
    MAX_JSON_DEPTH,
    UndecodableBody,
    decode_json,
    header_text,
    nests_deeper_than,
)

#: How far a platform's signed timestamp may be from our clock, either way.
TIMESTAMP_WINDOW_S = 300

_M = TypeVar("_M", bound=BaseModel)

# A timestamp with this many digits or more is in milliseconds (seconds reach 13 digits
# only in the year 33658).
_MS_DIGITS = 13


class InvalidSignature(Exception):
    """The request is not signed as the platform signs it (bad, missing or stale)."""


class InvalidPayload(Exception):
    """The request is correctly signed but its body is not what the platform sends."""


class PlatformEventKind(StrEnum):
    PARTICIPANT_JOINED = "participant_joined"
    PARTICIPANT_LEFT = "participant_left"
    SESSION_ENDED = "session_ended"


@dataclass(frozen=True)
class WebhookRequest:
    """One inbound webhook request, as received.

    `url` is the public URL the platform called: `COMFORT_PUBLIC_URL` + path (+ `?` query),
    with path and query exactly as received (Twilio signs it). `headers` is
    case-insensitive whatever mapping is passed in, and holds only the values that are readable
    text (`service.http.decode.header_text`): the others are dropped.
    """

    method: str
    url: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes
    received_at: float

    def __post_init__(self) -> None:
        readable = CIMultiDict(
            (name, value)
            for name, value in self.headers.items()  # a multidict's repeated names too
            if header_text(name) is not None and header_text(value) is not None
        )
        object.__setattr__(self, "headers", CIMultiDictProxy(readable))


@dataclass(frozen=True)
class Stay:
    """One stay of one connection in one room of a meeting, which a join begins and a leave ends.

    Only for platforms whose moves between a meeting's rooms (breakout rooms) arrive as a leave
    and a join that nothing in the payload ties together (self-hosted Jitsi's `event_sync`):
    `room` is "" for the main room or the breakout room's id, `connection` the platform's id
    of the connection (the same across a move), `began_at` the platform's time the stay began
    (seconds), carried by both its join and its leave. See `integrations/moves.py`.
    """

    room: str
    connection: str
    began_at: float | None


@dataclass(frozen=True)
class PlatformEvent:
    """A lifecycle event of a platform meeting, normalised.

    `meeting_key` is compared with the session's `external_id`, `participant_ref` with a
    participant's `platform_ref`; `delivery_key` identifies the delivery for deduplication.
    `host_hint` is the platform's own host/moderator flag, a hint only: roles come from
    the booking. `stay`, when set, says which stay a join begins or a leave ends, so that a
    leave which is half of a move between rooms can be told from a real one.
    """

    kind: PlatformEventKind
    meeting_key: str
    participant_ref: str | None
    delivery_key: str
    host_hint: bool | None = None
    stay: Stay | None = None


@dataclass(frozen=True)
class WebhookOutcome:
    """What a verified request means: events to apply, and optionally a JSON reply body."""

    events: tuple[PlatformEvent, ...] = ()
    reply: dict[str, str] | None = field(default=None)


class PlatformAdapter(Protocol):
    """One platform's server-side webhook adapter.

    `config` is the tenant's table for the platform (contract §1), e.g. `{"secret_token": …}`.
    """

    @property
    def name(self) -> str:
        """The platform's name in URLs, sessions and the tenants file."""

    @property
    def config_keys(self) -> tuple[str, ...]:
        """Keys the tenant must configure; without them the platform counts as unconfigured."""

    def verify(self, request: WebhookRequest, config: Mapping[str, str]) -> None:
        """Check the request's signature.

        Raises:
            InvalidSignature: bad, missing or stale signature.
        """

    def parse(self, request: WebhookRequest, config: Mapping[str, str]) -> WebhookOutcome:
        """Read a verified request into events (none for event types we do not follow).

        Raises:
            InvalidPayload: the body is not a payload of this platform.
        """


def secure_equal(given: str | bytes, expected: str | bytes) -> bool:
    """Constant-time comparison of a received credential with the expected one."""
    a = given.encode() if isinstance(given, str) else given
    b = expected.encode() if isinstance(expected, str) else expected
    return hmac.compare_digest(a, b)


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def body_sha256(body: bytes) -> str:
    """Hex SHA-256 of a raw body (also the fallback delivery key)."""
    return hashlib.sha256(body).hexdigest()


def timestamp_seconds(value: str | int | float) -> float:
    """Read a Unix timestamp that may be in seconds or, with 13+ digits, milliseconds.

    Raises:
        InvalidSignature: not a finite number.
    """
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise InvalidSignature("timestamp is not a number") from exc
    if not math.isfinite(number) or number < 0:
        raise InvalidSignature("timestamp is not a number")
    if len(str(int(number))) >= _MS_DIGITS:
        number /= 1000.0
    return number


def check_timestamp(value: str | int | float | None, now: float) -> None:
    """Require a signed timestamp within `TIMESTAMP_WINDOW_S` of `now`, either way.

    Raises:
        InvalidSignature: missing, malformed or outside the window.
    """
    if value is None or value == "":
        raise InvalidSignature("missing timestamp")
    if abs(now - timestamp_seconds(value)) > TIMESTAMP_WINDOW_S:
        raise InvalidSignature("stale timestamp")


def parse_signature_header(header: str) -> tuple[str | None, list[str]]:
    """Split a `t=…,v1=…[,v1=…]` header (JaaS, Whereby) into timestamp and v1 values.

    Other schemes (v0, …) are ignored, as both platforms ask, against downgrades.
    """
    timestamp: str | None = None
    signatures: list[str] = []
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if name == "t":
            timestamp = value.strip()
        elif name == "v1":
            signatures.append(value.strip())
    return timestamp, signatures


def json_object(body: bytes) -> dict[str, Any]:
    """Decode a JSON object body (`service.http.decode.decode_json`: nested at most 32 deep; a
    lone surrogate escape is read, as JavaScript wrote it, and refused later with its id).

    Raises:
        InvalidPayload: not UTF-8 JSON, nested too deep, or not an object.
    """
    try:
        data = decode_json(body, lone_surrogates=True)
    except UndecodableBody as exc:
        raise InvalidPayload(exc.problem.message) from None
    if not isinstance(data, dict):
        raise InvalidPayload("body is not a JSON object")
    return data


def bearer_token(request: WebhookRequest, *, allow_bare: bool = False) -> str | None:
    """The credential of `Authorization: Bearer <x>` (with `allow_bare`, also of a bare `<x>`)."""
    value = request.headers.get("Authorization")
    if not value:
        return None
    scheme, sep, rest = value.strip().partition(" ")
    if sep and scheme.lower() == "bearer":
        return rest.strip() or None
    return value.strip() if allow_bare and not sep else None


def validate_model(model: type[_M], data: object) -> _M:
    """Validate a decoded payload against its pydantic model.

    Raises:
        InvalidPayload: the payload does not have the model's shape.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        # The error text would quote payload values: keep only the locations.
        where = ", ".join(".".join(str(p) for p in err["loc"]) for err in exc.errors())
        raise InvalidPayload(f"unexpected payload shape at {where}") from None


def decimal_id(value: int | str) -> str:
    """A numeric platform id (Zoom's meeting id may arrive as a JSON number) as a decimal string."""
    return str(value) if isinstance(value, int) else value.strip()


def _identifier(value: object) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    if isinstance(value, str):
        return value.strip() or None
    return None


#: An identifier the vendor chose (a JWT's user id, say): a string, or a JSON number read as
#: its decimal string; anything else (an object, a boolean) is no identifier, never an error.
Identifier = Annotated[str | None, BeforeValidator(_identifier)]


def _or_none(value: object, handler: ValidatorFunctionWrapHandler) -> object:
    try:
        return handler(value)
    except ValidationError:
        return None


#: A number the platform may send, or something else in its place (read as absent).
OptionalNumber = Annotated[float | None, WrapValidator(_or_none)]
#: A string the platform may send, or something else in its place (read as absent).
OptionalText = Annotated[str | None, WrapValidator(_or_none)]


def _js_number(value: float) -> str:
    """A number as JavaScript's `JSON.stringify` writes it (shortest round trip, JS exponents)."""
    if not math.isfinite(value):
        return "null"
    if value == 0:
        return "0"
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    text = repr(value)
    if "e" not in text:
        return text.removesuffix(".0")
    mantissa, exponent = text.split("e")
    power = int(exponent)
    digits = mantissa.replace(".", "").replace("-", "").lstrip("0") or "0"
    sign = "-" if value < 0 else ""
    if -7 < power < 21:
        # JS writes these positionally: place the point by hand.
        point = power + 1
        if point <= 0:
            return f"{sign}0.{'0' * -point}{digits}"
        if point >= len(digits):
            return f"{sign}{digits}{'0' * (point - len(digits))}"
        return f"{sign}{digits[:point]}.{digits[point:]}"
    return f"{mantissa}e{'+' if power > 0 else '-'}{abs(power)}"


_JS_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}


def _js_string(text: str) -> str:
    out = ['"']
    for char in text:
        code = ord(char)
        if char in _JS_ESCAPES:
            out.append(_JS_ESCAPES[char])
        elif code < 0x20 or 0xD800 <= code <= 0xDFFF:
            out.append(f"\\u{code:04x}")  # control characters and lone surrogates
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _is_array_index(key: str) -> bool:
    return (
        key.isascii() and key.isdigit() and (key == "0" or key[0] != "0") and int(key) < 2**32 - 1
    )


def _js_value(value: object) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        # JavaScript numbers are doubles: an integer past 2**53 is written as its double is.
        return str(value) if abs(value) <= 2**53 else _js_number(float(value))
    if isinstance(value, float):
        return _js_number(value)
    if isinstance(value, str):
        return _js_string(value)
    if isinstance(value, list):
        return "[" + ",".join(_js_value(item) for item in value) + "]"
    if isinstance(value, dict):
        # A JS object lists its array-index keys first, in numeric order, then the others.
        indices = sorted((k for k in value if _is_array_index(k)), key=int)
        keys = indices + [k for k in value if not _is_array_index(k)]
        return "{" + ",".join(f"{_js_string(k)}:{_js_value(value[k])}" for k in keys) + "}"
    raise TypeError(type(value).__name__)


def json_stringify(body: bytes) -> bytes | None:
    """The body as `JSON.stringify(JSON.parse(body))` writes it, in UTF-8; None if not JSON.

    Zoom's and Whereby's own verification examples (zoom/webhook-sample `index.js`, Zoom's
    Rivet, Whereby's "Validating events") sign this re-serialisation rather than the raw
    bytes; the two are the same for the compact JSON both platforms send, and a request that
    passes their own verifiers must pass ours.
    """
    if nests_deeper_than(body, MAX_JSON_DEPTH):
        return None  # refused by `decode_json` anyway, and kept from the recursive decoder
    try:
        # Strict UTF-8: a body that is not (Node would read it with replacement characters)
        # is none the platforms send, and is verified over its raw bytes only.
        data = json.loads(body.decode("utf-8"))
        return _js_value(data).encode("utf-8", "surrogatepass")
    except (UnicodeDecodeError, ValueError, TypeError, RecursionError):
        return None

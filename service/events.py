"""The event vocabulary: what participants may send, what the system logs, and the stored Event.

Every event type's `data` has a pydantic model (`DATA_MODELS`). A send is checked in two steps
so each failure has its own wire code: the envelope (`id`, `type`, `data`), then the type's data
through one discriminated union (`SendPayload`). Past that edge the data travels typed:
`Event.body` is the model, parsed once from the stored JSON when first read (an event appended by
this process carries the model it was made from), while `Event.wire` stays the one encoding
that is stored and sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeGuard

import orjson
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError

from .errors import SendError, validation_message
from .text import PlainText


class Role(StrEnum):
    CLIENT = "client"
    THERAPIST = "therapist"
    SYSTEM = "system"


class Zone(StrEnum):
    TOO_MUCH = "too_much"
    OKAY = "okay"
    SHUT_DOWN = "shut_down"


class Exercise(StrEnum):
    BOX_BREATHING = "box_breathing"
    BREATHING_478 = "breathing_478"
    PACED_BREATHING = "paced_breathing"
    FIVE_SENSES = "five_senses"


CLIENT_TYPES = frozenset(
    {
        "pause",
        "resume",
        "keep_going",
        "slow_down",
        "zone",
        "grounding_started",
        "grounding_finished",
        "checkin_response",
        "retract",
        "help_now",
        "location_shared",
    }
)
THERAPIST_TYPES = frozenset({"acknowledge", "checkin_request", "suggest_grounding", "end_session"})
SYSTEM_TYPES = frozenset(
    {
        "participant_joined",
        "participant_left",
        "session_started",
        "session_ended",
        "checkin_expired",
        "cue",
    }
)
ALL_TYPES = CLIENT_TYPES | THERAPIST_TYPES | SYSTEM_TYPES
SIGNAL_TYPES = frozenset(
    {
        "pause",
        "resume",
        "keep_going",
        "slow_down",
        "zone",
        "grounding_started",
        "grounding_finished",
        "help_now",
    }
)
RETRACT_WINDOW_S = 30.0
PRESS_TYPES = frozenset(SIGNAL_TYPES | {"checkin_response"})
"""The client types that may say when they were pressed (`pressed_at`, an addition: see
docs/protocol.md): the signals and answers whose moment matters to the therapist. Not `retract`
(its 30 s window is counted on the service's clock) nor `location_shared` (it says where the
client is now)."""
PRESS_TIME_SKEW = timedelta(seconds=5)
"""How far a client's clock may be off before its `pressed_at` is no longer believed."""

ParticipantId = Annotated[str, Field(min_length=1, max_length=128)]
EventId = Annotated[str, Field(min_length=1, max_length=128)]
Seq = Annotated[int, Field(ge=1, le=2**53, strict=True)]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EmptyData(_Data):
    pass


EMPTY = EmptyData()
"""The data of every event that has none (a session start, an end request, …): one shared
instance, so the events a session keeps in memory hold no model of their own for it."""


def format_time(moment: datetime) -> str:
    """RFC 3339 UTC with milliseconds, e.g. `2026-11-25T21:55:00.123Z` (as every `at`)."""
    utc = moment.astimezone(UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="milliseconds") + "Z"


def read_press_time(value: object) -> str | None:
    """A client's `pressed_at` as the service keeps it, or None when it cannot be read.

    Any ISO 8601 date and time with a UTC offset is taken and written back as `format_time`
    does; anything else (not a string, no offset, not a date, out of range) is None: the value
    is dropped and the send goes on, never refused for it."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None or moment.utcoffset() is None:
            return None
        return format_time(moment)
    except (ValueError, OverflowError):
        return None


PressTime = Annotated[str | None, BeforeValidator(read_press_time)]


class _Press(_Data):
    """Data a client may date: `pressed_at`, when the press was made on the client's device
    (optional; an addition). Read leniently (`read_press_time`) and settled against the
    session's clock when stored (`settle_press_time`)."""

    pressed_at: PressTime = None


class PressData(_Press):
    """`pause`, `resume`, `keep_going`, `slow_down`, `help_now`: nothing but the press time."""


UNDATED_PRESS = PressData()
"""The data of a press that says nothing (`{}`): shared, as `EMPTY` is."""


class ZoneData(_Press):
    zone: Zone


class GroundingStartedData(_Press):
    exercise: Exercise


class GroundingFinishedData(_Press):
    exercise: Exercise
    completed: Annotated[bool, Field(strict=True)]
    duration_s: Annotated[float, Field(ge=0, le=86400, allow_inf_nan=False, strict=True)]


class CheckinResponseData(_Press):
    """`checkin_response` as a client sends it."""

    checkin_seq: Seq
    value: Annotated[int, Field(strict=True)] | Zone


class LoggedCheckinResponseData(CheckinResponseData):
    """`checkin_response` as logged: the service adds `"late": true` to an answer given after
    its request expired (contract §9.4); a client cannot send `late` itself."""

    late: Literal[True] | None = None


class LocationData(_Data):
    """`location_shared`: where the client is right now, in its own words (contract §9.2).

    The one free text of the log: never written to the service's own logs, cues, vendor
    webhooks or the FHIR export."""

    text: Annotated[PlainText, Field(min_length=1, max_length=200)]


class SeqData(_Data):
    seq: Seq


class CheckinRequestData(_Data):
    instrument: Literal["suds", "zone"]
    to: Annotated[list[ParticipantId], Field(min_length=1, max_length=64)] | None = None


class SuggestGroundingData(_Data):
    exercise: Exercise
    to: Annotated[list[ParticipantId], Field(min_length=1, max_length=64)] | None = None


# -- what the system logs ------------------------------------------------------------------


Via = Literal["widget", "platform"]
EndedBy = Literal["therapist", "vendor", "platform"]
Severity = Literal["urgent", "warn", "info"]


class ParticipantRef(_Data):
    id: str
    role: Role  # a therapist or a client


class PresenceData(_Data):
    """`participant_joined`, `participant_left`: who, and through the widget or the platform."""

    participant: ParticipantRef
    via: Via


class SessionEndedData(_Data):
    by: EndedBy


class CheckinExpiredData(_Data):
    checkin_seq: int


class CueData(_Data):
    """A pacing cue for the therapist (contract §5); never shown to a client."""

    rule: str
    severity: Severity
    client_id: str
    related_seq: list[int]
    message: str


EventData = _Data
"""The base of every event type's data model."""

DATA_MODELS: dict[str, type[_Data]] = {
    "pause": PressData,
    "resume": PressData,
    "keep_going": PressData,
    "slow_down": PressData,
    "zone": ZoneData,
    "grounding_started": GroundingStartedData,
    "grounding_finished": GroundingFinishedData,
    "checkin_response": LoggedCheckinResponseData,
    "retract": SeqData,
    "help_now": PressData,
    "location_shared": LocationData,
    "acknowledge": SeqData,
    "checkin_request": CheckinRequestData,
    "suggest_grounding": SuggestGroundingData,
    "end_session": EmptyData,
    "participant_joined": PresenceData,
    "participant_left": PresenceData,
    "session_started": EmptyData,
    "session_ended": SessionEndedData,
    "checkin_expired": CheckinExpiredData,
    "cue": CueData,
}

SEQ_FIELDS: dict[str, tuple[str, ...]] = {
    "acknowledge": ("seq",),
    "retract": ("seq",),
    "checkin_response": ("checkin_seq",),
    "checkin_expired": ("checkin_seq",),
}
"""The `data` fields that hold a seq, per type a client may see: a client reads and writes them
in its own numbering (contract §9.1). A cue's `related_seq` is absent: no client sees a cue."""


class _Send(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: EventId


class SendPause(_Send):
    type: Literal["pause"]
    data: PressData


class SendResume(_Send):
    type: Literal["resume"]
    data: PressData


class SendKeepGoing(_Send):
    type: Literal["keep_going"]
    data: PressData


class SendSlowDown(_Send):
    type: Literal["slow_down"]
    data: PressData


class SendZone(_Send):
    type: Literal["zone"]
    data: ZoneData


class SendGroundingStarted(_Send):
    type: Literal["grounding_started"]
    data: GroundingStartedData


class SendGroundingFinished(_Send):
    type: Literal["grounding_finished"]
    data: GroundingFinishedData


class SendCheckinResponse(_Send):
    type: Literal["checkin_response"]
    data: CheckinResponseData


class SendRetract(_Send):
    type: Literal["retract"]
    data: SeqData


class SendHelpNow(_Send):
    type: Literal["help_now"]
    data: PressData


class SendLocationShared(_Send):
    type: Literal["location_shared"]
    data: LocationData


class SendAcknowledge(_Send):
    type: Literal["acknowledge"]
    data: SeqData


class SendCheckinRequest(_Send):
    type: Literal["checkin_request"]
    data: CheckinRequestData


class SendSuggestGrounding(_Send):
    type: Literal["suggest_grounding"]
    data: SuggestGroundingData


class SendEndSession(_Send):
    type: Literal["end_session"]
    data: EmptyData


SendPayload = Annotated[
    SendPause
    | SendResume
    | SendKeepGoing
    | SendSlowDown
    | SendZone
    | SendGroundingStarted
    | SendGroundingFinished
    | SendCheckinResponse
    | SendRetract
    | SendHelpNow
    | SendLocationShared
    | SendAcknowledge
    | SendCheckinRequest
    | SendSuggestGrounding
    | SendEndSession,
    Field(discriminator="type"),
]
SENDABLE_TYPES = frozenset(CLIENT_TYPES | THERAPIST_TYPES)
_SEND_ADAPTER: TypeAdapter[Any] = TypeAdapter(SendPayload)


@dataclass(frozen=True, slots=True)
class Send:
    """A validated send: the sender's idempotency id, the type, and its typed data."""

    id: str
    type: str
    data: _Data


def is_event_id(value: object) -> TypeGuard[str]:
    """A send's `id`: 1-128 characters, none of them NUL (PostgreSQL text cannot hold it, and an
    append that fails takes the other appends of its commit down with it)."""
    return isinstance(value, str) and 1 <= len(value) <= 128 and "\x00" not in value


def parse_send(payload: object, role: Role) -> Send:
    """Validate a raw `send` payload from a participant of `role`.

    Raises:
        SendError: `invalid_payload`, `unknown_type` or `forbidden`, as the contract orders them.
    """
    if not isinstance(payload, dict):
        raise SendError("the payload must be an object", code="invalid_payload")
    extra = set(payload) - {"id", "type", "data"}
    if extra:
        raise SendError(
            f"unknown keys: {', '.join(sorted(map(str, extra)))}", code="invalid_payload"
        )
    event_id, event_type = payload.get("id"), payload.get("type")
    if not is_event_id(event_id):
        raise SendError("id: a string of 1-128 characters, without NUL", code="invalid_payload")
    if not isinstance(event_type, str):
        raise SendError("type: a string", code="invalid_payload")
    if event_type not in ALL_TYPES:
        raise SendError(f"unknown event type {event_type[:64]!r}", code="unknown_type")
    allowed = CLIENT_TYPES if role is Role.CLIENT else THERAPIST_TYPES
    if event_type not in allowed:
        raise SendError(f"a {role.value} may not send {event_type}", code="forbidden")
    data = payload.get("data")
    if data is None:
        data = {}
    try:
        model = _SEND_ADAPTER.validate_python({"id": event_id, "type": event_type, "data": data})
    except ValidationError as exc:
        message = validation_message(exc, subject="payload", limit=1, hide=SENDABLE_TYPES)
        raise SendError(message, code="invalid_payload") from None
    data = model.data
    if isinstance(data, EmptyData):
        data = EMPTY
    elif isinstance(data, PressData) and data.pressed_at is None:
        data = UNDATED_PRESS
    return Send(id=model.id, type=event_type, data=data)


def settle_press_time(body: EventData, *, received: datetime, earliest: datetime) -> EventData:
    """A client's press time as the service stores it: within the session's life, or dropped.

    A `pressed_at` later than `received` (when the service got the send) or earlier than
    `earliest` (when the session was created) is clamped to that bound when it is off by no
    more than `PRESS_TIME_SKEW` (clocks differ a little), and dropped beyond it (a clock that
    far off says nothing true). Returns `body` itself when nothing changes.
    """
    pressed = getattr(body, "pressed_at", None)
    if not isinstance(pressed, str):
        return body
    moment = datetime.fromisoformat(pressed)  # written by read_press_time
    if moment.tzinfo is None:
        return body.model_copy(update={"pressed_at": None})
    if earliest.tzinfo is None:
        earliest = earliest.replace(tzinfo=UTC)
    if earliest <= moment <= received:
        return body
    bound = received if moment > received else earliest
    kept = format_time(bound) if abs(moment - bound) <= PRESS_TIME_SKEW else None
    return body.model_copy(update={"pressed_at": kept})


@dataclass(frozen=True, slots=True)
class Actor:
    id: str
    role: Role


SYSTEM_ACTOR = Actor("system", Role.SYSTEM)


@dataclass(slots=True)
class Event:
    """One entry of a session's log, as stored and as sent on the wire.

    `wire` is the JSON encoding, made once and reused for every recipient and the store; `data`
    is its `data` object as JSON gives it, and `body` the same data typed (its `DATA_MODELS`
    model), parsed at most once.
    """

    seq: int
    id: str
    type: str
    at: str
    actor: Actor
    to: tuple[str, ...] | None
    data: dict[str, Any]
    _wire: bytes | None = field(default=None, repr=False)
    _body: EventData | None = field(default=None, repr=False)

    @property
    def body(self) -> EventData:
        """The event's data as its type's model (`isinstance` tells which)."""
        body = self._body
        if body is None:
            model = DATA_MODELS[self.type]
            if model is EmptyData:
                body = EMPTY
            elif model is PressData and not self.data:
                body = UNDATED_PRESS
            else:
                body = model.model_validate(self.data)
            self._body = body
        return body

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "id": self.id,
            "type": self.type,
            "at": self.at,
            "actor": {"id": self.actor.id, "role": self.actor.role.value},
            "to": list(self.to) if self.to is not None else None,
            "data": self.data,
        }

    @property
    def wire(self) -> bytes:
        if self._wire is None:
            self._wire = compact(orjson.dumps(self.as_dict()))
        return self._wire

    @classmethod
    def from_wire(cls, raw: bytes | str) -> Event:
        obj = orjson.loads(raw)
        actor = obj["actor"]
        to = obj["to"]
        return cls(
            seq=obj["seq"],
            id=obj["id"],
            type=obj["type"],
            at=obj["at"],
            actor=Actor(actor["id"], Role(actor["role"])),
            to=tuple(to) if to is not None else None,
            data=obj["data"],
            _wire=raw.encode() if isinstance(raw, str) else compact(raw),
        )


def compact(raw: bytes) -> bytes:
    """`raw` in an allocation of its own size, for bytes that are kept.

    orjson (3.13 at least) hands back its output in the buffer it wrote into, 4 KB or more
    whatever the length, and an event's wire is kept for as long as its session is loaded (the
    replay buffer holds 256 per session): 4 KB per event instead of about 200 B, the bulk of the
    service's memory under load (`bench/README.md`, the soak). A copy costs a memcpy of the
    event's length.
    """
    return bytes(memoryview(raw))


def visible_to_client(event: Event, client_id: str) -> bool:
    """May the client `client_id` see `event`? Cues and other clients' events: never."""
    kind, actor = event.type, event.actor
    if actor.role is Role.CLIENT:
        return actor.id == client_id
    if actor.role is Role.THERAPIST:
        return event.to is None or client_id in event.to
    if kind == "cue":
        return False
    if kind in ("participant_joined", "participant_left"):
        body = event.body
        assert isinstance(body, PresenceData)
        return body.participant.role is Role.THERAPIST or body.participant.id == client_id
    if kind in ("session_started", "session_ended"):
        return True
    return event.to is None or client_id in event.to

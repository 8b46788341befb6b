"""Self-hosted Jitsi: the `event_sync` Prosody component (jitsi-contrib/prosody-plugins).

The component POSTs to `{api_prefix}/events/room/created|room/destroyed|occupant/joined|
occupant/left` with the headers configured in `api_headers`; we require
`Authorization: Bearer <bearer_token>`. The path decides the event. The meeting is
`room_name`, the participant the `id` of the occupant's JWT user context.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

from integrations.base import (
    InvalidPayload,
    InvalidSignature,
    PlatformEvent,
    PlatformEventKind,
    WebhookOutcome,
    WebhookRequest,
    bearer_token,
    body_sha256,
    json_object,
    secure_equal,
    validate_model,
)

#: The event_sync sub-paths, and what each one means (None: acknowledged, nothing logged).
EVENT_PATHS: dict[str, PlatformEventKind | None] = {
    "events/room/created": None,
    "events/room/destroyed": PlatformEventKind.SESSION_ENDED,
    "events/occupant/joined": PlatformEventKind.PARTICIPANT_JOINED,
    "events/occupant/left": PlatformEventKind.PARTICIPANT_LEFT,
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class JitsiOccupant(_Model):
    occupant_jid: str | None = None
    id: str | None = None
    joined_at: int | None = None
    left_at: int | None = None


class JitsiEvent(_Model):
    event_name: str | None = None
    room_name: str
    room_jid: str | None = None
    is_breakout: bool | None = None
    breakout_room_id: str | None = None
    occupant: JitsiOccupant | None = None


def event_path(path: str) -> str | None:
    """The event_sync sub-path a request path ends with, if it is one of the four."""
    for suffix in EVENT_PATHS:
        if path.rstrip("/").endswith("/jitsi/" + suffix):
            return suffix
    return None


class JitsiAdapter:
    name = "jitsi"
    config_keys = ("bearer_token",)

    def verify(self, request: WebhookRequest, config: Mapping[str, str]) -> None:
        token = bearer_token(request)
        if not token:
            raise InvalidSignature("missing Authorization: Bearer token")
        if not secure_equal(token, config["bearer_token"]):
            raise InvalidSignature("bearer token mismatch")

    def parse(self, request: WebhookRequest, config: Mapping[str, str]) -> WebhookOutcome:
        suffix = event_path(request.path)
        if suffix is None:
            raise InvalidPayload("not an event_sync path")
        kind = EVENT_PATHS[suffix]
        if kind is None:
            return WebhookOutcome()
        event = validate_model(JitsiEvent, json_object(request.body))
        delivery_key = body_sha256(request.body)
        if kind is PlatformEventKind.SESSION_ENDED:
            # A breakout room emptying does not end the meeting.
            if event.is_breakout:
                return WebhookOutcome()
            return WebhookOutcome(
                events=(PlatformEvent(kind, event.room_name, None, delivery_key),)
            )
        if event.occupant is None or not event.occupant.id:
            return WebhookOutcome()
        return WebhookOutcome(
            events=(PlatformEvent(kind, event.room_name, event.occupant.id, delivery_key),)
        )


ADAPTER = JitsiAdapter()

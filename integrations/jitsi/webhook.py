"""Self-hosted Jitsi: the `event_sync` Prosody component (jitsi-contrib/prosody-plugins).

The component POSTs to `{api_prefix}/events/room/created|room/destroyed|occupant/joined|
occupant/left` with the headers configured in `api_headers`; we require
`Authorization: Bearer <bearer_token>`. The path decides the event. The meeting is
`room_name`, the participant the `id` of the occupant's JWT user context (a JSON number is
read as its decimal string: with `include_user_info = true` the whole user context is copied
as the vendor minted it).

Breakout rooms: event_sync names the main room in `room_name` for a breakout room's events
too, with `is_breakout` and `breakout_room_id`; a move is a leave from one room and a join to
the other with nothing tying them together, so every occupant event carries its `Stay`
(room, `occupant_jid`, `joined_at`) for `integrations.moves.MoveTracker`.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

from integrations.base import (
    Identifier,
    InvalidPayload,
    InvalidSignature,
    OptionalNumber,
    OptionalText,
    PlatformEvent,
    PlatformEventKind,
    Stay,
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
    """event_sync's occupant data; with `include_user_info` any JWT user-context field too."""

    occupant_jid: OptionalText = None
    id: Identifier = None
    joined_at: OptionalNumber = None
    left_at: OptionalNumber = None

    def stay(self, event: JitsiEvent) -> Stay | None:
        if not self.occupant_jid:
            return None
        room = (event.breakout_room_id or "") if event.is_breakout else ""
        return Stay(room=room, connection=self.occupant_jid, began_at=self.joined_at)


class JitsiEvent(_Model):
    event_name: OptionalText = None
    room_name: str
    room_jid: OptionalText = None
    is_breakout: bool | None = None
    breakout_room_id: OptionalText = None
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
            events=(
                PlatformEvent(
                    kind,
                    event.room_name,
                    event.occupant.id,
                    delivery_key,
                    stay=event.occupant.stay(event),
                ),
            )
        )


ADAPTER = JitsiAdapter()

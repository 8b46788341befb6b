"""JaaS (8x8 Jitsi as a Service) webhooks: `X-Jaas-Signature: t=…,v1=…`.

`v1` is the base64 HMAC-SHA256 of `{t}.{raw body}` keyed by the endpoint's secret; schemes
other than v1 are ignored. The meeting is the room part of `fqn` (`<AppID>/<room>`), the
participant the `id` from the JaaS JWT's user context (`data.id`).

Breakout rooms: a breakout room's events carry the main room's `fqn` with `isBreakout` and
`breakoutRoomId` (8x8's payload examples), and a move between rooms is a `PARTICIPANT_LEFT`
with `disconnectReason: "switch_room"` and a `PARTICIPANT_JOINED` in the other room. The
switch_room leave is no leave; the join is one for someone already present, which logs
nothing; so a move logs nothing, in whichever order the two arrive.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

from integrations.base import (
    Identifier,
    InvalidSignature,
    OptionalText,
    PlatformEvent,
    PlatformEventKind,
    WebhookOutcome,
    WebhookRequest,
    check_timestamp,
    hmac_sha256,
    json_object,
    parse_signature_header,
    secure_equal,
    validate_model,
)

_KINDS = {
    "PARTICIPANT_JOINED": PlatformEventKind.PARTICIPANT_JOINED,
    "PARTICIPANT_LEFT": PlatformEventKind.PARTICIPANT_LEFT,
    "ROOM_DESTROYED": PlatformEventKind.SESSION_ENDED,
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


#: The `disconnectReason` of a leave that is half of a move between the meeting's rooms.
SWITCH_ROOM = "switch_room"


class JaasData(_Model):
    id: Identifier = None
    moderator: bool | str | None = None
    isBreakout: bool | None = None
    breakoutRoomId: OptionalText = None
    disconnectReason: OptionalText = None
    conference: OptionalText = None


class JaasEvent(_Model):
    idempotencyKey: str
    customerId: str | None = None
    appId: str | None = None
    eventType: str
    sessionId: str | None = None
    timestamp: int | None = None
    fqn: str
    data: JaasData = JaasData()


def _flag(value: bool | str | None) -> bool | None:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return value


class JaasAdapter:
    name = "jaas"
    config_keys = ("secret",)

    def verify(self, request: WebhookRequest, config: Mapping[str, str]) -> None:
        header = request.headers.get("X-Jaas-Signature")
        if not header:
            raise InvalidSignature("missing X-Jaas-Signature")
        timestamp, signatures = parse_signature_header(header)
        if not timestamp or not signatures:
            raise InvalidSignature("X-Jaas-Signature lacks t= or v1=")
        check_timestamp(timestamp, request.received_at)
        message = timestamp.encode() + b"." + request.body
        expected = base64.b64encode(hmac_sha256(config["secret"].encode(), message)).decode()
        # Every candidate is compared, so timing does not tell which one matched.
        matches = [secure_equal(candidate, expected) for candidate in signatures]
        if not any(matches):
            raise InvalidSignature("signature mismatch")

    def parse(self, request: WebhookRequest, config: Mapping[str, str]) -> WebhookOutcome:
        data = json_object(request.body)
        event_type = data.get("eventType")
        kind = _KINDS.get(event_type) if isinstance(event_type, str) else None
        if kind is None:
            return WebhookOutcome()
        event = validate_model(JaasEvent, data)
        room = event.fqn.partition("/")[2] or event.fqn
        if kind is PlatformEventKind.SESSION_ENDED:
            # A breakout room closing does not end the meeting.
            if event.data.isBreakout:
                return WebhookOutcome()
            return WebhookOutcome(events=(PlatformEvent(kind, room, None, event.idempotencyKey),))
        if not event.data.id:
            return WebhookOutcome()
        if (
            kind is PlatformEventKind.PARTICIPANT_LEFT
            and event.data.disconnectReason == SWITCH_ROOM
        ):
            return WebhookOutcome()  # half of a move between rooms: the client is still here
        return WebhookOutcome(
            events=(
                PlatformEvent(
                    kind, room, event.data.id, event.idempotencyKey, _flag(event.data.moderator)
                ),
            )
        )


ADAPTER = JaasAdapter()

"""Whereby Embedded webhooks: `Whereby-Signature: t=…,v1=…`.

`v1` is the hex HMAC-SHA256 of `{t}.{body}` keyed by the webhook's secret, the body being the
raw body or, as Whereby's own example verifier hashes it, `JSON.stringify` of the parsed body
(the same bytes for the compact JSON Whereby sends). The meeting is `data.meetingId`, the
participant `data.externalId` (set on the room URL by the vendor).
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

from integrations.base import (
    InvalidSignature,
    PlatformEvent,
    PlatformEventKind,
    WebhookOutcome,
    WebhookRequest,
    check_timestamp,
    decimal_id,
    hmac_sha256,
    json_object,
    json_stringify,
    parse_signature_header,
    secure_equal,
    validate_model,
)

_KINDS = {
    "room.client.joined": PlatformEventKind.PARTICIPANT_JOINED,
    "room.client.left": PlatformEventKind.PARTICIPANT_LEFT,
    "room.session.ended": PlatformEventKind.SESSION_ENDED,
}

_HOST_ROLES = frozenset({"host", "owner"})


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class WherebyData(_Model):
    meetingId: int | str
    roomName: str | None = None
    roomSessionId: str | None = None
    externalId: str | None = None
    participantId: str | None = None
    roleName: str | None = None


class WherebyEvent(_Model):
    id: str
    apiVersion: str | None = None
    createdAt: str | None = None
    type: str
    data: WherebyData


class WherebyAdapter:
    name = "whereby"
    config_keys = ("secret",)

    def verify(self, request: WebhookRequest, config: Mapping[str, str]) -> None:
        header = request.headers.get("Whereby-Signature")
        if not header:
            raise InvalidSignature("missing Whereby-Signature")
        timestamp, signatures = parse_signature_header(header)
        if not timestamp or not signatures:
            raise InvalidSignature("Whereby-Signature lacks t= or v1=")
        check_timestamp(timestamp, request.received_at)
        key = config["secret"].encode()
        bodies = [request.body]
        stringified = json_stringify(request.body)
        if stringified is not None and stringified != request.body:
            bodies.append(stringified)
        expected = [hmac_sha256(key, timestamp.encode() + b"." + body).hex() for body in bodies]
        # Every pair is compared, so timing does not tell which one matched.
        matches = [secure_equal(c.lower(), e) for c in signatures for e in expected]
        if not any(matches):
            raise InvalidSignature("signature mismatch")

    def parse(self, request: WebhookRequest, config: Mapping[str, str]) -> WebhookOutcome:
        data = json_object(request.body)
        event_type = data.get("type")
        kind = _KINDS.get(event_type) if isinstance(event_type, str) else None
        if kind is None:
            return WebhookOutcome()
        event = validate_model(WherebyEvent, data)
        meeting_key = decimal_id(event.data.meetingId)
        if kind is PlatformEventKind.SESSION_ENDED:
            return WebhookOutcome(events=(PlatformEvent(kind, meeting_key, None, event.id),))
        if not event.data.externalId:
            return WebhookOutcome()
        host_hint = None if event.data.roleName is None else event.data.roleName in _HOST_ROLES
        return WebhookOutcome(
            events=(PlatformEvent(kind, meeting_key, event.data.externalId, event.id, host_hint),)
        )


ADAPTER = WherebyAdapter()

"""Zoom webhooks: `x-zm-signature` v0, `endpoint.url_validation`, meeting participant events.

Zoom signs `v0:{x-zm-request-timestamp}:{body}` with HMAC-SHA256 keyed by the app's secret
token and sends `v0=<hex>`. The body is the raw body, or what Zoom's own verifiers
(zoom/webhook-sample, Rivet) hash: `JSON.stringify` of the parsed body, the same bytes for
Zoom's compact JSON; deliveries are deduplicated by the hash of the latter. The URL
validation challenge is answered only for a correctly signed request whose `plainToken`
looks like one of Zoom's, so the endpoint never signs arbitrary strings for a caller.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

from integrations.base import (
    InvalidPayload,
    InvalidSignature,
    PlatformEvent,
    PlatformEventKind,
    WebhookOutcome,
    WebhookRequest,
    body_sha256,
    check_timestamp,
    decimal_id,
    hmac_sha256,
    json_object,
    json_stringify,
    secure_equal,
    validate_model,
)

PLAIN_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,64}")

_KINDS = {
    "meeting.participant_joined": PlatformEventKind.PARTICIPANT_JOINED,
    "meeting.participant_left": PlatformEventKind.PARTICIPANT_LEFT,
    "meeting.ended": PlatformEventKind.SESSION_ENDED,
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ZoomParticipant(_Model):
    customer_key: str | None = None
    id: str | None = None
    user_id: str | int | None = None


class ZoomMeeting(_Model):
    id: int | str
    uuid: str | None = None
    host_id: str | None = None
    participant: ZoomParticipant | None = None


class ZoomMeetingPayload(_Model):
    account_id: str | None = None
    object: ZoomMeeting


class ZoomMeetingEvent(_Model):
    event: str
    event_ts: int | None = None
    payload: ZoomMeetingPayload


class ZoomUrlValidationPayload(_Model):
    plainToken: str


class ZoomUrlValidation(_Model):
    event: str
    payload: ZoomUrlValidationPayload


class ZoomAdapter:
    name = "zoom"
    config_keys = ("secret_token",)

    def verify(self, request: WebhookRequest, config: Mapping[str, str]) -> None:
        signature = request.headers.get("x-zm-signature")
        timestamp = request.headers.get("x-zm-request-timestamp")
        if not signature or not timestamp:
            raise InvalidSignature("missing x-zm-signature or x-zm-request-timestamp")
        check_timestamp(timestamp, request.received_at)
        key = config["secret_token"].encode()
        bodies = [request.body]
        stringified = json_stringify(request.body)
        if stringified is not None and stringified != request.body:
            bodies.append(stringified)
        # Every candidate is compared, so timing does not tell which one matched.
        matches = [
            secure_equal(
                signature.strip(),
                "v0=" + hmac_sha256(key, b"v0:" + timestamp.encode() + b":" + body).hex(),
            )
            for body in bodies
        ]
        if not any(matches):
            raise InvalidSignature("signature mismatch")

    def parse(self, request: WebhookRequest, config: Mapping[str, str]) -> WebhookOutcome:
        data = json_object(request.body)
        event = data.get("event")
        if event == "endpoint.url_validation":
            plain = validate_model(ZoomUrlValidation, data).payload.plainToken
            if not PLAIN_TOKEN.fullmatch(plain):
                raise InvalidPayload("plainToken is not 1-64 characters of [A-Za-z0-9_-]")
            encrypted = hmac_sha256(config["secret_token"].encode(), plain.encode()).hex()
            return WebhookOutcome(reply={"plainToken": plain, "encryptedToken": encrypted})
        kind = _KINDS.get(event) if isinstance(event, str) else None
        if kind is None:
            return WebhookOutcome()
        meeting = validate_model(ZoomMeetingEvent, data).payload.object
        meeting_key = decimal_id(meeting.id)
        delivery_key = body_sha256(json_stringify(request.body) or request.body)
        if kind is PlatformEventKind.SESSION_ENDED:
            return WebhookOutcome(events=(PlatformEvent(kind, meeting_key, None, delivery_key),))
        participant = meeting.participant
        if participant is None or not participant.customer_key:
            return WebhookOutcome()
        host_hint = (
            participant.id == meeting.host_id
            if participant.id is not None and meeting.host_id is not None
            else None
        )
        return WebhookOutcome(
            events=(
                PlatformEvent(kind, meeting_key, participant.customer_key, delivery_key, host_hint),
            )
        )


ADAPTER = ZoomAdapter()

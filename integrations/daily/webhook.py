"""Daily webhooks: `X-Webhook-Signature` over `{X-Webhook-Timestamp}.{raw body}`.

Daily hands out the webhook's `hmac` secret base64-encoded; the signature is the base64
HMAC-SHA256 of the signed string keyed by the decoded secret. When a webhook is created
Daily first POSTs a probe (`{"test":"test"}`) and needs a 200; an unsigned JSON object whose
only key is `test` is accepted and changes nothing.
"""

from __future__ import annotations

import base64
import binascii
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
    hmac_sha256,
    json_object,
    secure_equal,
    validate_model,
)

_KINDS = {
    "participant.joined": PlatformEventKind.PARTICIPANT_JOINED,
    "participant.left": PlatformEventKind.PARTICIPANT_LEFT,
    "meeting.ended": PlatformEventKind.SESSION_ENDED,
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class DailyPayload(_Model):
    room: str
    user_id: str | None = None
    session_id: str | None = None
    owner: bool | None = None
    meeting_id: str | None = None


class DailyEvent(_Model):
    version: str | None = None
    type: str
    id: str | None = None
    event_ts: float | None = None
    payload: DailyPayload


def _is_probe(body: bytes) -> bool:
    try:
        data = json_object(body)
    except InvalidPayload:
        return False
    return list(data) == ["test"]


class DailyAdapter:
    name = "daily"
    config_keys = ("hmac",)

    def verify(self, request: WebhookRequest, config: Mapping[str, str]) -> None:
        signature = request.headers.get("X-Webhook-Signature")
        timestamp = request.headers.get("X-Webhook-Timestamp")
        if not signature and not timestamp and _is_probe(request.body):
            return
        if not signature or not timestamp:
            raise InvalidSignature("missing X-Webhook-Signature or X-Webhook-Timestamp")
        check_timestamp(timestamp, request.received_at)
        try:
            key = base64.b64decode(config["hmac"], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidSignature("the configured hmac secret is not base64") from exc
        message = timestamp.encode() + b"." + request.body
        expected = base64.b64encode(hmac_sha256(key, message)).decode()
        if not secure_equal(signature.strip(), expected):
            raise InvalidSignature("signature mismatch")

    def parse(self, request: WebhookRequest, config: Mapping[str, str]) -> WebhookOutcome:
        data = json_object(request.body)
        event_type = data.get("type")
        kind = _KINDS.get(event_type) if isinstance(event_type, str) else None
        if kind is None:
            return WebhookOutcome()
        event = validate_model(DailyEvent, data)
        delivery_key = event.id or body_sha256(request.body)
        payload = event.payload
        if kind is PlatformEventKind.SESSION_ENDED:
            return WebhookOutcome(events=(PlatformEvent(kind, payload.room, None, delivery_key),))
        if not payload.user_id:
            return WebhookOutcome()
        return WebhookOutcome(
            events=(
                PlatformEvent(kind, payload.room, payload.user_id, delivery_key, payload.owner),
            )
        )


ADAPTER = DailyAdapter()

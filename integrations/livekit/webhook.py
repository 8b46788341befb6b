"""LiveKit webhooks: a JWT in `Authorization`, signed HS256 with the API secret.

The token's issuer is the API key, its `nbf`/`exp` bound its lifetime (with LiveKit's own
60 s leeway), and its `sha256` claim is the base64 SHA-256 of the raw body: the same checks
as livekit-api's `WebhookReceiver`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping
from typing import Any

import jwt
from pydantic import BaseModel, ConfigDict

from integrations.base import (
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

#: Clock skew tolerated on `nbf`/`exp`, as LiveKit's TokenVerifier does.
LEEWAY_S = 60

_KINDS = {
    "participant_joined": PlatformEventKind.PARTICIPANT_JOINED,
    "participant_left": PlatformEventKind.PARTICIPANT_LEFT,
    "room_finished": PlatformEventKind.SESSION_ENDED,
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class LiveKitRoom(_Model):
    sid: str | None = None
    name: str


class LiveKitParticipant(_Model):
    sid: str | None = None
    identity: str | None = None


class LiveKitEvent(_Model):
    event: str
    id: str | None = None
    createdAt: int | str | None = None
    room: LiveKitRoom
    participant: LiveKitParticipant | None = None


def _number(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidSignature(f"token claim {name} is not a number")
    return float(value)


class LiveKitAdapter:
    name = "livekit"
    config_keys = ("api_key", "api_secret")

    def verify(self, request: WebhookRequest, config: Mapping[str, str]) -> None:
        token = bearer_token(request, allow_bare=True)
        if not token:
            raise InvalidSignature("missing Authorization token")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                config["api_secret"],
                algorithms=["HS256"],
                # Times are checked below against the request's arrival, not the wall clock.
                options={
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise InvalidSignature("token does not verify") from exc
        if not secure_equal(str(claims.get("iss", "")), config["api_key"]):
            raise InvalidSignature("token issuer is not the API key")
        now = request.received_at
        exp = _number(claims, "exp")
        if exp is None or now > exp + LEEWAY_S:
            raise InvalidSignature("token expired or without exp")
        nbf = _number(claims, "nbf")
        if nbf is not None and now < nbf - LEEWAY_S:
            raise InvalidSignature("token not yet valid")
        claimed = claims.get("sha256")
        if not isinstance(claimed, str) or not claimed:
            raise InvalidSignature("token has no sha256 claim")
        try:
            claimed_digest = base64.b64decode(claimed, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidSignature("sha256 claim is not base64") from exc
        if not secure_equal(claimed_digest, hashlib.sha256(request.body).digest()):
            raise InvalidSignature("body hash mismatch")

    def parse(self, request: WebhookRequest, config: Mapping[str, str]) -> WebhookOutcome:
        data = json_object(request.body)
        event_type = data.get("event")
        kind = _KINDS.get(event_type) if isinstance(event_type, str) else None
        if kind is None:
            return WebhookOutcome()
        event = validate_model(LiveKitEvent, data)
        delivery_key = event.id or body_sha256(request.body)
        if kind is PlatformEventKind.SESSION_ENDED:
            return WebhookOutcome(
                events=(PlatformEvent(kind, event.room.name, None, delivery_key),)
            )
        if event.participant is None or not event.participant.identity:
            return WebhookOutcome()
        return WebhookOutcome(
            events=(PlatformEvent(kind, event.room.name, event.participant.identity, delivery_key),)
        )


ADAPTER = LiveKitAdapter()

"""Vonage Video API session monitoring callbacks, signed (secure callbacks).

Vonage sends "a JWT in the Authorization header" (its secure-callbacks guide), signed HS256 with
the callback's signature secret; we take it bare or after `Bearer `; its `iat` must be within
300 s and its `payload_hash`, when present, is the hex SHA-256 of the raw body. The meeting is
the `sessionId`, the participant the connection `data` the vendor set when creating the client's
token. Vonage has no meeting-ended callback, so sessions on Vonage end through the REST API or
the therapist.
"""

from __future__ import annotations

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
    check_timestamp,
    json_object,
    secure_equal,
    validate_model,
)

_KINDS = {
    "connectionCreated": PlatformEventKind.PARTICIPANT_JOINED,
    "connectionDestroyed": PlatformEventKind.PARTICIPANT_LEFT,
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class VonageConnection(_Model):
    id: str | None = None
    createdAt: int | None = None
    data: str | None = None


class VonageSessionEvent(_Model):
    sessionId: str
    projectId: str | int | None = None
    event: str
    reason: str | None = None
    timestamp: int | None = None
    connection: VonageConnection | None = None


class VonageAdapter:
    name = "vonage"
    config_keys = ("signature_secret",)

    def verify(self, request: WebhookRequest, config: Mapping[str, str]) -> None:
        token = bearer_token(request, allow_bare=True)
        if not token:
            raise InvalidSignature("missing Authorization token")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                config["signature_secret"],
                algorithms=["HS256"],
                # iat is checked below against the request's arrival and our 300 s window.
                options={
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise InvalidSignature("token does not verify") from exc
        iat = claims.get("iat")
        if isinstance(iat, bool) or not isinstance(iat, int | float | str):
            raise InvalidSignature("token has no iat")
        check_timestamp(iat, request.received_at)
        exp = claims.get("exp")
        expired = isinstance(exp, int | float) and request.received_at > float(exp)
        if expired and not isinstance(exp, bool):
            raise InvalidSignature("token expired")
        payload_hash = claims.get("payload_hash")
        if payload_hash is not None and not (
            isinstance(payload_hash, str)
            and secure_equal(payload_hash.lower(), body_sha256(request.body))
        ):
            raise InvalidSignature("payload_hash mismatch")

    def parse(self, request: WebhookRequest, config: Mapping[str, str]) -> WebhookOutcome:
        data = json_object(request.body)
        event_type = data.get("event")
        kind = _KINDS.get(event_type) if isinstance(event_type, str) else None
        if kind is None:
            return WebhookOutcome()
        event = validate_model(VonageSessionEvent, data)
        if event.connection is None or not event.connection.data:
            return WebhookOutcome()
        return WebhookOutcome(
            events=(
                PlatformEvent(
                    kind, event.sessionId, event.connection.data, body_sha256(request.body)
                ),
            )
        )


ADAPTER = VonageAdapter()

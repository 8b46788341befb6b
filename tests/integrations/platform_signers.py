"""Test-side signers: each platform's webhook, built and signed as the platform does it.

Written from each platform's documentation, independently of `integrations/`; where the
platform publishes a Python library it signs (livekit-api, twilio) or checks the signer
(vonage-jwt). Used by the adapter unit tests and by the route and end-to-end tests.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import ClassVar, Literal
from urllib.parse import urlencode

import jwt
import vonage_jwt
from google.protobuf.json_format import MessageToJson
from livekit import api as livekit_api
from livekit.protocol import models as livekit_models
from livekit.protocol import webhook as livekit_webhook
from twilio.request_validator import RequestValidator

Action = Literal["join", "leave", "end"]


@dataclass
class Delivery:
    """One webhook delivery: where it goes (below /webhooks/{tenant}/), its headers, its body."""

    platform: str
    path: str  # "zoom", or "jitsi/events/occupant/joined"
    query: str
    headers: dict[str, str]
    body: bytes

    def with_header(self, name: str, value: str) -> Delivery:
        return Delivery(
            self.platform, self.path, self.query, {**self.headers, name: value}, self.body
        )

    def with_body(self, body: bytes) -> Delivery:
        return Delivery(self.platform, self.path, self.query, dict(self.headers), body)


def _now() -> int:
    return int(time.time())


def _hmac(key: bytes, message: bytes, digest: str = "sha256") -> bytes:
    return hmac.new(key, message, digest).digest()


@dataclass
class PlatformSigner:
    """Base: `build` makes a body for an action, `sign` adds the headers."""

    name: ClassVar[str]
    #: The header that carries the signature (what a tamper test corrupts).
    signature_header: ClassVar[str]
    #: Whether the platform signs a timestamp we must hold to 300 s.
    has_timestamp: ClassVar[bool] = True
    actions: ClassVar[tuple[Action, ...]] = ("join", "leave", "end")
    config: dict[str, str] = field(default_factory=dict)

    def build(
        self, action: Action, meeting: str, ref: str | None, delivery_id: str
    ) -> tuple[str, bytes]:
        raise NotImplementedError

    def sign(
        self, path: str, query: str, body: bytes, *, url: str, ts: int | str | None = None
    ) -> dict[str, str]:
        raise NotImplementedError

    def delivery(
        self,
        action: Action,
        meeting: str,
        ref: str | None = None,
        *,
        delivery_id: str | None = None,
        url_base: str = "http://127.0.0.1:8080/webhooks/acme",
        query: str = "",
        ts: int | str | None = None,
    ) -> Delivery:
        path, body = self.build(action, meeting, ref, delivery_id or uuid.uuid4().hex)
        url = f"{url_base}/{path}" + (f"?{query}" if query else "")
        return Delivery(self.name, path, query, self.sign(path, query, body, url=url, ts=ts), body)

    def tampered(self, delivery: Delivery) -> Delivery:
        """The same delivery with one character of its signature changed."""
        value = delivery.headers[self.signature_header]
        i = len(value) - 3
        flipped = "0" if value[i].lower() != "0" else "1"
        return delivery.with_header(self.signature_header, value[:i] + flipped + value[i + 1 :])


class ZoomSigner(PlatformSigner):
    name = "zoom"
    signature_header = "x-zm-signature"

    def __init__(self) -> None:
        super().__init__({"secret_token": "zoom-secret-" + uuid.uuid4().hex})

    def build(
        self, action: Action, meeting: str, ref: str | None, delivery_id: str
    ) -> tuple[str, bytes]:
        event = {
            "join": "meeting.participant_joined",
            "leave": "meeting.participant_left",
            "end": "meeting.ended",
        }[action]
        obj: dict[str, object] = {
            # Zoom sends the meeting id as a JSON number.
            "id": int(meeting) if meeting.isdigit() else meeting,
            "uuid": delivery_id,
            "host_id": "host-user-1",
            "topic": "Session",
            "type": 2,
        }
        if action != "end":
            participant: dict[str, object] = {
                "user_id": "16778240",
                "user_name": "Someone",
                "id": "participant-user-9",
                "participant_uuid": uuid.uuid4().hex,
                "join_time": "2024-01-01T10:00:00Z",
            }
            if ref is not None:
                participant["customer_key"] = ref
            obj["participant"] = participant
        body = {
            "event": event,
            "event_ts": _now() * 1000,
            "payload": {"account_id": "acc-1", "object": obj},
        }
        return "zoom", json.dumps(body).encode()

    def url_validation(self, plain_token: str) -> bytes:
        return json.dumps(
            {
                "payload": {"plainToken": plain_token},
                "event_ts": _now() * 1000,
                "event": "endpoint.url_validation",
            }
        ).encode()

    def sign(
        self, path: str, query: str, body: bytes, *, url: str, ts: int | str | None = None
    ) -> dict[str, str]:
        timestamp = str(_now() if ts is None else ts)
        message = f"v0:{timestamp}:".encode() + body
        digest = hmac.new(self.config["secret_token"].encode(), message, hashlib.sha256).hexdigest()
        return {
            "x-zm-request-timestamp": timestamp,
            "x-zm-signature": f"v0={digest}",
            "content-type": "application/json",
        }


class DailySigner(PlatformSigner):
    name = "daily"
    signature_header = "X-Webhook-Signature"

    def __init__(self) -> None:
        super().__init__(
            {"hmac": base64.b64encode(uuid.uuid4().bytes + uuid.uuid4().bytes).decode()}
        )

    def build(
        self, action: Action, meeting: str, ref: str | None, delivery_id: str
    ) -> tuple[str, bytes]:
        if action == "end":
            body: dict[str, object] = {
                "version": "1.0.0",
                "type": "meeting.ended",
                "id": delivery_id,
                "payload": {
                    "start_ts": _now() - 600,
                    "end_ts": _now(),
                    "meeting_id": uuid.uuid4().hex,
                    "room": meeting,
                },
                "event_ts": time.time(),
            }
        else:
            body = {
                "version": "1.0.0",
                "type": "participant.joined" if action == "join" else "participant.left",
                "id": delivery_id,
                "payload": {
                    "room": meeting,
                    "user_id": ref,
                    "user_name": "Someone",
                    "session_id": uuid.uuid4().hex,
                    "joined_at": _now(),
                    "owner": False,
                },
                "event_ts": time.time(),
            }
        return "daily", json.dumps(body).encode()

    def sign(
        self, path: str, query: str, body: bytes, *, url: str, ts: int | str | None = None
    ) -> dict[str, str]:
        timestamp = str(_now() if ts is None else ts)
        key = base64.b64decode(self.config["hmac"])
        signature = base64.b64encode(_hmac(key, timestamp.encode() + b"." + body)).decode()
        return {
            "X-Webhook-Signature": signature,
            "X-Webhook-Timestamp": timestamp,
            "content-type": "application/json",
        }


class JaasSigner(PlatformSigner):
    name = "jaas"
    signature_header = "X-Jaas-Signature"
    app_id = "vpaas-magic-cookie-0123456789abcdef"

    def __init__(self) -> None:
        super().__init__({"secret": "jaas-" + uuid.uuid4().hex})

    def build(
        self, action: Action, meeting: str, ref: str | None, delivery_id: str
    ) -> tuple[str, bytes]:
        event_type = {
            "join": "PARTICIPANT_JOINED",
            "leave": "PARTICIPANT_LEFT",
            "end": "ROOM_DESTROYED",
        }[action]
        data: dict[str, object]
        if action == "end":
            data = {"conference": f"{meeting}@conference.{self.app_id}.8x8.vc", "isBreakout": False}
        else:
            data = {
                "moderator": False,
                "name": "Someone",
                "group": "",
                "email": "",
                "id": ref,
                "participantJid": "abc@8x8.vc/xyz",
                "participantId": "4b1c2d3e",
                "avatar": "",
            }
        body = {
            "idempotencyKey": delivery_id,
            "customerId": "0123456789abcdef",
            "appId": self.app_id,
            "eventType": event_type,
            "sessionId": str(uuid.uuid4()),
            "timestamp": _now() * 1000,
            "fqn": f"{self.app_id}/{meeting}",
            "data": data,
        }
        return "jaas", json.dumps(body).encode()

    def sign(
        self, path: str, query: str, body: bytes, *, url: str, ts: int | str | None = None
    ) -> dict[str, str]:
        timestamp = str(_now() if ts is None else ts)
        signature = base64.b64encode(
            _hmac(self.config["secret"].encode(), timestamp.encode() + b"." + body)
        ).decode()
        return {
            "X-Jaas-Signature": f"t={timestamp},v1={signature}",
            "content-type": "application/json",
        }


class JitsiSigner(PlatformSigner):
    name = "jitsi"
    signature_header = "Authorization"
    has_timestamp = False

    def __init__(self) -> None:
        super().__init__({"bearer_token": "TOKEN-" + uuid.uuid4().hex})
        #: When each participant's current stay began: a leave carries its join's joined_at.
        self.joined_at: dict[str | None, int] = {}

    def build(
        self, action: Action, meeting: str, ref: str | None, delivery_id: str
    ) -> tuple[str, bytes]:
        base = {
            "room_name": meeting,
            "room_jid": f"{meeting}@conference.meet.example.com",
            "is_breakout": False,
        }
        if action == "end":
            body = {
                "event_name": "muc-room-destroyed",
                **base,
                "created_at": _now() - 600,
                "destroyed_at": _now(),
                "all_occupants": [],
            }
            return "jitsi/events/room/destroyed", json.dumps(body).encode()
        if action == "join":
            self.joined_at[ref] = _now()
        # One XMPP connection per participant: the same occupant_jid in its join and leave.
        connection = hashlib.sha256(f"{ref}".encode()).hexdigest()[:12]
        occupant: dict[str, object] = {
            "name": "Someone",
            "occupant_jid": f"{connection}@meet.example.com/abc",
            "joined_at": self.joined_at.get(ref, _now()),
        }
        if ref is not None:
            occupant["id"] = ref
        if action == "leave":
            occupant["left_at"] = _now()
        name = "muc-occupant-joined" if action == "join" else "muc-occupant-left"
        suffix = "joined" if action == "join" else "left"
        body = {"event_name": name, **base, "active_occupants_count": 2, "occupant": occupant}
        return f"jitsi/events/occupant/{suffix}", json.dumps(body).encode()

    def sign(
        self, path: str, query: str, body: bytes, *, url: str, ts: int | str | None = None
    ) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.config['bearer_token']}",
            "content-type": "application/json",
        }


class WherebySigner(PlatformSigner):
    name = "whereby"
    signature_header = "Whereby-Signature"

    def __init__(self) -> None:
        super().__init__({"secret": "whereby-" + uuid.uuid4().hex})

    def build(
        self, action: Action, meeting: str, ref: str | None, delivery_id: str
    ) -> tuple[str, bytes]:
        event_type = {
            "join": "room.client.joined",
            "leave": "room.client.left",
            "end": "room.session.ended",
        }[action]
        data: dict[str, object] = {
            "meetingId": meeting,
            "roomName": "/room-abc",
            "roomSessionId": str(uuid.uuid4()),
        }
        if action != "end":
            data.update(
                {
                    "participantId": uuid.uuid4().hex,
                    "roleName": "visitor",
                    "displayName": "Someone",
                    "numClients": 1,
                }
            )
            if ref is not None:
                data["externalId"] = ref
        body = {
            "id": delivery_id,
            "apiVersion": "1.0",
            "createdAt": "2024-01-01T10:00:00.000Z",
            "type": event_type,
            "data": data,
        }
        return "whereby", json.dumps(body).encode()

    def sign(
        self, path: str, query: str, body: bytes, *, url: str, ts: int | str | None = None
    ) -> dict[str, str]:
        timestamp = str(_now() if ts is None else ts)
        digest = hmac.new(
            self.config["secret"].encode(), timestamp.encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        return {
            "Whereby-Signature": f"t={timestamp},v1={digest}",
            "content-type": "application/json",
        }


class LiveKitSigner(PlatformSigner):
    """Signs with livekit-api's own AccessToken, as LiveKit's server signs webhooks."""

    name = "livekit"
    signature_header = "Authorization"
    has_timestamp = False  # nbf/exp instead: see the LiveKit tests

    def __init__(self) -> None:
        super().__init__(
            {"api_key": "APIkey" + uuid.uuid4().hex[:8], "api_secret": "secret-" + uuid.uuid4().hex}
        )

    def build(
        self, action: Action, meeting: str, ref: str | None, delivery_id: str
    ) -> tuple[str, bytes]:
        event = livekit_webhook.WebhookEvent(
            event={
                "join": "participant_joined",
                "leave": "participant_left",
                "end": "room_finished",
            }[action],
            room=livekit_models.Room(sid="RM_" + uuid.uuid4().hex[:10], name=meeting),
            id=delivery_id,
            created_at=_now(),
        )
        if action != "end":
            event.participant.CopyFrom(
                livekit_models.ParticipantInfo(
                    sid="PA_" + uuid.uuid4().hex[:10], identity=ref or "", name="Someone"
                )
            )
        return "livekit", MessageToJson(event).encode()

    def sign(
        self, path: str, query: str, body: bytes, *, url: str, ts: int | str | None = None
    ) -> dict[str, str]:
        return {"Authorization": self.token(body), "content-type": "application/webhook+json"}

    def token(
        self, body: bytes, *, ttl: timedelta = timedelta(minutes=5), secret: str | None = None
    ) -> str:
        digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
        token = livekit_api.AccessToken(self.config["api_key"], secret or self.config["api_secret"])
        return token.with_sha256(digest).with_ttl(ttl).to_jwt()


class TwilioSigner(PlatformSigner):
    """Signs with twilio's own RequestValidator over the public URL and the form params."""

    name = "twilio"
    signature_header = "X-Twilio-Signature"
    has_timestamp = False

    def __init__(self) -> None:
        super().__init__({"auth_token": uuid.uuid4().hex})
        self.sequence = 0

    def build(
        self, action: Action, meeting: str, ref: str | None, delivery_id: str
    ) -> tuple[str, bytes]:
        self.sequence += 1
        params = {
            "AccountSid": "AC" + "0" * 32,
            "RoomName": meeting,
            "RoomSid": "RM" + delivery_id[:32].ljust(32, "0"),
            "RoomStatus": "completed" if action == "end" else "in-progress",
            "RoomType": "group",
            "StatusCallbackEvent": {
                "join": "participant-connected",
                "leave": "participant-disconnected",
                "end": "room-ended",
            }[action],
            "Timestamp": "2024-01-01T10:00:00.000Z",
            "SequenceNumber": str(self.sequence),
        }
        if action != "end":
            params.update(
                {
                    "ParticipantSid": "PA" + "1" * 32,
                    "ParticipantStatus": "connected" if action == "join" else "disconnected",
                }
            )
            if ref is not None:
                params["ParticipantIdentity"] = ref
        return "twilio", urlencode(params).encode()

    def sign(
        self, path: str, query: str, body: bytes, *, url: str, ts: int | str | None = None
    ) -> dict[str, str]:
        from urllib.parse import parse_qsl

        params = dict(parse_qsl(body.decode(), keep_blank_values=True))
        signature = RequestValidator(self.config["auth_token"]).compute_signature(url, params)
        return {
            "X-Twilio-Signature": signature,
            "content-type": "application/x-www-form-urlencoded",
        }


class VonageSigner(PlatformSigner):
    """Signs a secure-callback JWT as Vonage does; vonage-jwt checks the signer."""

    name = "vonage"
    signature_header = "Authorization"
    actions = ("join", "leave")  # Vonage has no meeting-ended callback

    def __init__(self) -> None:
        super().__init__({"signature_secret": "vonage-" + uuid.uuid4().hex})

    def build(
        self, action: Action, meeting: str, ref: str | None, delivery_id: str
    ) -> tuple[str, bytes]:
        connection: dict[str, object] = {"id": delivery_id, "createdAt": _now() * 1000}
        if ref is not None:
            connection["data"] = ref
        body = {
            "sessionId": meeting,
            "projectId": "123456",
            "event": "connectionCreated" if action == "join" else "connectionDestroyed",
            "timestamp": _now() * 1000,
            "connection": connection,
        }
        if action == "leave":
            body["reason"] = "clientDisconnected"
        return "vonage", json.dumps(body).encode()

    def sign(
        self, path: str, query: str, body: bytes, *, url: str, ts: int | str | None = None
    ) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.token(body, iat=ts)}",
            "content-type": "application/json",
        }

    def token(
        self, body: bytes, *, iat: int | str | None = None, payload_hash: str | bool | None = True
    ) -> str:
        claims: dict[str, object] = {
            "iat": _now() if iat is None else int(iat),
            "jti": str(uuid.uuid4()),
            "iss": "Vonage",
            "api_key": "abcd1234",
            "application_id": str(uuid.uuid4()),
        }
        if payload_hash is True:
            claims["payload_hash"] = hashlib.sha256(body).hexdigest()
        elif isinstance(payload_hash, str):
            claims["payload_hash"] = payload_hash
        token = jwt.encode(claims, self.config["signature_secret"], algorithm="HS256")
        if int(claims["iat"]) <= _now():  # vonage-jwt refuses a future iat before the signature
            assert vonage_jwt.verify_signature(token, self.config["signature_secret"])
        return token

    def tampered(self, delivery: Delivery) -> Delivery:
        token = delivery.headers["Authorization"].removeprefix("Bearer ")
        head, payload, sig = token.split(".")
        bad = sig[:-3] + ("A" if sig[-3] != "A" else "B") + sig[-2:]
        return delivery.with_header("Authorization", f"Bearer {head}.{payload}.{bad}")


def _tamper_livekit(delivery: Delivery) -> Delivery:
    head, payload, sig = delivery.headers["Authorization"].split(".")
    bad = sig[:-3] + ("A" if sig[-3] != "A" else "B") + sig[-2:]
    return delivery.with_header("Authorization", f"{head}.{payload}.{bad}")


LiveKitSigner.tampered = lambda self, delivery: _tamper_livekit(delivery)  # type: ignore[method-assign]


SIGNERS: dict[str, type[PlatformSigner]] = {
    cls.name: cls
    for cls in (
        ZoomSigner,
        DailySigner,
        JaasSigner,
        JitsiSigner,
        WherebySigner,
        LiveKitSigner,
        TwilioSigner,
        VonageSigner,
    )
}

#: A meeting key each platform would plausibly send (Zoom's is numeric).
MEETINGS = {
    "zoom": "85123456789",
    "daily": "therapy-room-7",
    "jaas": "therapyroom7",
    "jitsi": "therapyroom7",
    "whereby": "73112345",
    "livekit": "room-7",
    "twilio": "room-7",
    "vonage": "2_MX4xMjM0NTZ-fg",
}

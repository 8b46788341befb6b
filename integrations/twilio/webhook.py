"""Twilio Video status callbacks: `X-Twilio-Signature` over the URL and sorted form params.

The signed string is the public URL Twilio called (`COMFORT_PUBLIC_URL` + path + query as
received) followed by every POST parameter, sorted by name, as name+value; the signature is its
base64 HMAC-SHA1 keyed by the account's auth token (HMAC-SHA256 when Twilio says so in
`X-Twilio-Webhooks-Signature-Settings`). Like Twilio's own RequestValidator, the URL is tried
without its port and with it (or with the scheme's default port). A JSON body is signed through
`bodySHA256` in the query instead of its parameters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlparse

from pydantic import BaseModel, ConfigDict, ValidationError

from integrations.base import (
    InvalidPayload,
    InvalidSignature,
    PlatformEvent,
    PlatformEventKind,
    WebhookOutcome,
    WebhookRequest,
    secure_equal,
)

_HASHES: dict[str, Callable[..., Any]] = {"HMAC_SHA1": hashlib.sha1, "HMAC_SHA256": hashlib.sha256}

_KINDS = {
    "participant-connected": PlatformEventKind.PARTICIPANT_JOINED,
    "participant-disconnected": PlatformEventKind.PARTICIPANT_LEFT,
    "room-ended": PlatformEventKind.SESSION_ENDED,
}


class TwilioRoomCallback(BaseModel):
    """The fields of a Twilio Video room status callback that we read."""

    model_config = ConfigDict(extra="ignore")

    StatusCallbackEvent: str
    RoomName: str
    RoomSid: str
    SequenceNumber: str | None = None
    ParticipantIdentity: str | None = None
    ParticipantSid: str | None = None


def _form(body: bytes) -> dict[str, list[str]]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidSignature("body is not UTF-8 form data") from exc
    return parse_qs(text, keep_blank_values=True)


def _algorithm(request: WebhookRequest) -> str:
    settings = request.headers.get("X-Twilio-Webhooks-Signature-Settings", "")
    for part in settings.split(","):
        name, sep, value = part.partition("=")
        if sep and name.strip() == "algorithm" and value.strip():
            return value.strip().upper()
    return "HMAC_SHA1"


def _url_variants(url: str) -> list[str]:
    """The URL without any port and with its port (or the scheme's default), as RequestValidator.

    twilio-python's `RequestValidator.validate` checks both, "since sig generation on back
    end is inconsistent": a request to `https://host:1234/x` may be signed over
    `https://host/x`, and one to `https://host/x` over `https://host:443/x`.
    """
    parts = urlparse(url)
    without_port = parts._replace(netloc=parts.netloc.rsplit(":", 1)[0]) if parts.port else parts
    if parts.port:
        with_port = parts
    else:
        default = 443 if parts.scheme == "https" else 80
        with_port = parts._replace(netloc=f"{parts.netloc}:{default}")
    return list(dict.fromkeys([url, without_port.geturl(), with_port.geturl()]))


def _signed_string(url: str, params: Mapping[str, list[str]]) -> str:
    pieces = [url]
    for name in sorted(params):
        for value in sorted(set(params[name])):
            pieces.append(name + value)
    return "".join(pieces)


class TwilioAdapter:
    name = "twilio"
    config_keys = ("auth_token",)

    def verify(self, request: WebhookRequest, config: Mapping[str, str]) -> None:
        signature = request.headers.get("X-Twilio-Signature")
        if not signature:
            raise InvalidSignature("missing X-Twilio-Signature")
        hash_function = _HASHES.get(_algorithm(request))
        if hash_function is None:
            raise InvalidSignature("unsupported signature algorithm")
        body_hash = parse_qs(request.query).get("bodySHA256")
        if body_hash:
            if not secure_equal(body_hash[0].lower(), hashlib.sha256(request.body).hexdigest()):
                raise InvalidSignature("bodySHA256 mismatch")
            params: dict[str, list[str]] = {}
        else:
            params = _form(request.body)
        key = config["auth_token"].encode()
        matches = []
        for url in _url_variants(request.url):
            mac = hmac.new(key, _signed_string(url, params).encode(), hash_function).digest()
            matches.append(secure_equal(signature.strip(), base64.b64encode(mac).decode()))
        if not any(matches):
            raise InvalidSignature("signature mismatch")

    def parse(self, request: WebhookRequest, config: Mapping[str, str]) -> WebhookOutcome:
        try:
            form = {name: values[0] for name, values in _form(request.body).items()}
        except InvalidSignature as exc:
            raise InvalidPayload("body is not form data") from exc
        kind = _KINDS.get(form.get("StatusCallbackEvent", ""))
        if kind is None:
            return WebhookOutcome()
        try:
            callback = TwilioRoomCallback.model_validate(form)
        except ValidationError:
            raise InvalidPayload("room status callback without RoomName or RoomSid") from None
        if callback.SequenceNumber is not None:
            delivery_key = f"{callback.RoomSid}:{callback.SequenceNumber}"
        else:
            delivery_key = hashlib.sha256(request.body).hexdigest()
        if kind is PlatformEventKind.SESSION_ENDED:
            return WebhookOutcome(
                events=(PlatformEvent(kind, callback.RoomName, None, delivery_key),)
            )
        if not callback.ParticipantIdentity:
            return WebhookOutcome()
        return WebhookOutcome(
            events=(
                PlatformEvent(kind, callback.RoomName, callback.ParticipantIdentity, delivery_key),
            )
        )


ADAPTER = TwilioAdapter()

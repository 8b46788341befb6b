"""Daily against its webhook pages (data/daily_webhook_events.json).

Sources: docs.daily.co/reference/rest-api/webhooks (the `hmac` secret is base64; signature and
timestamp in `X-Webhook-Signature` / `X-Webhook-Timestamp`; the creation probe) and the
participant.joined / participant.left / meeting.ended event pages, with daily-co/daily-ruby@287e077
(models generated from Daily's API description). The pages print no example bodies or signed
vectors: the bodies are BUILT FROM THEIR FIELD LISTS, and signed as the webhooks page describes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from published import load, receive, request

from integrations.base import InvalidSignature, PlatformEventKind

DATA = load("daily_webhook_events")
KEY = bytes(range(32))
CONFIG = {"hmac": base64.b64encode(KEY).decode()}


def signed(body: dict[str, object], ts: str | None = None) -> tuple[str, dict[str, str]]:
    raw = json.dumps(body, separators=(",", ":"))
    ts = ts or str(int(time.time()))
    mac = hmac.new(KEY, f"{ts}.{raw}".encode(), hashlib.sha256).digest()
    return raw, {
        "X-Webhook-Signature": base64.b64encode(mac).decode(),
        "X-Webhook-Timestamp": ts,
        "Content-Type": "application/json",
    }


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("joined", PlatformEventKind.PARTICIPANT_JOINED),
        ("left", PlatformEventKind.PARTICIPANT_LEFT),
        ("ended", PlatformEventKind.SESSION_ENDED),
    ],
)
def test_event_bodies_from_the_field_lists(name: str, kind: PlatformEventKind) -> None:
    raw, headers = signed(DATA[name])
    (event,) = receive("daily", request(raw, headers, received_at=time.time()), CONFIG).events
    assert (event.kind, event.meeting_key, event.delivery_key) == (
        kind,
        "therapy-room-7",
        DATA[name]["id"],
    )
    if kind is not PlatformEventKind.SESSION_ENDED:
        assert (event.participant_ref, event.host_hint) == ("c-ref", False)


def test_millisecond_timestamp_header_is_read_as_milliseconds() -> None:
    raw, headers = signed(DATA["joined"], ts=str(int(time.time() * 1000)))
    assert receive("daily", request(raw, headers, received_at=time.time()), CONFIG).events


def test_the_creation_probe_unsigned_is_acknowledged_and_nothing_else_is() -> None:
    probe = json.dumps(DATA["probe"])
    assert receive("daily", request(probe, {}, received_at=time.time()), CONFIG).events == ()
    raw, _ = signed(DATA["joined"])
    with pytest.raises(InvalidSignature):
        receive("daily", request(raw, {}, received_at=time.time()), CONFIG)

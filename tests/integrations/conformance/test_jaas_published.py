"""JaaS against 8x8's own published material (data/jaas_*.json).

Sources: 8x8Cloud/public-developer-docs@859e59a `docs/jaas/docs/webhooks-signatures.md`
(developer.8x8.com/jaas/docs/webhooks-signatures) and `docs/jaas/docs/webhooks-payload.md`
(developer.8x8.com/jaas/docs/webhooks-payload).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
from published import load, receive, request

from integrations.base import InvalidSignature, PlatformEventKind

EXAMPLE = load("jaas_signature_example")
PAYLOADS = load("jaas_payload_examples")["examples"]
CONFIG = {"secret": EXAMPLE["secret"]}
T = int(EXAMPLE["t"])


def signed(body: dict[str, Any] | str, t: int = T) -> tuple[str, dict[str, str]]:
    raw = body if isinstance(body, str) else json.dumps(body)
    mac = hmac.new(CONFIG["secret"].encode(), f"{t}.{raw}".encode(), hashlib.sha256).digest()
    return raw, {"X-Jaas-Signature": f"t={t},v1={base64.b64encode(mac).decode()}"}


def test_8x8_signature_example_verifies_and_maps() -> None:
    """webhooks-signatures.md: secret whsec_9635…, t=1632490060, the PARTICIPANT_JOINED body,
    expected v1 xlzqEojl…: accepted at t, and read as a join of `data.id` in room
    `sampleappromanticshiftsstripas` by a moderator."""
    req = request(EXAMPLE["body"], {"X-Jaas-Signature": EXAMPLE["header"]}, received_at=T + 2)
    (event,) = receive("jaas", req, CONFIG).events
    assert event.kind is PlatformEventKind.PARTICIPANT_JOINED
    assert event.meeting_key == "sampleappromanticshiftsstripas"
    assert event.participant_ref == "auth0|5f903d7a77f3b4006eb8e67d"
    assert event.host_hint is True
    assert event.delivery_key == "9e9e7420-562d-4659-8e22-44b9b22aaa49"


@pytest.mark.parametrize(
    ("header", "body", "received_at"),
    [
        (EXAMPLE["header"], EXAMPLE["body"], T + 301),  # stale
        (EXAMPLE["header"], EXAMPLE["body"] + " ", T),  # body changed
        (EXAMPLE["header"].replace("v1=", "v0="), EXAMPLE["body"], T),  # only v1 counts
        (EXAMPLE["header"].replace("t=1632490060", "t=1632490061"), EXAMPLE["body"], T),
    ],
)
def test_8x8_signature_example_altered_is_refused(header: str, body: str, received_at: int) -> None:
    """webhooks-signatures.md: compare every v1 signature, ignore other schemes, bound t."""
    with pytest.raises(InvalidSignature):
        receive(
            "jaas", request(body, {"X-Jaas-Signature": header}, received_at=received_at), CONFIG
        )


def test_8x8_signature_example_without_the_whsec_prefix_is_refused() -> None:
    """The secret is used as given, `whsec_` prefix and all (webhooks-signatures.md step 3)."""
    req = request(EXAMPLE["body"], {"X-Jaas-Signature": EXAMPLE["header"]}, received_at=T)
    with pytest.raises(InvalidSignature):
        receive("jaas", req, {"secret": CONFIG["secret"].removeprefix("whsec_")})


def test_payload_example_participant_joined_in_a_breakout_room() -> None:
    """webhooks-payload.md PARTICIPANT_JOINED: `isBreakout: true`, the main room's `fqn`
    (testroom2), `moderator` as the string "true": a join to testroom2's meeting."""
    raw, headers = signed(PAYLOADS["PARTICIPANT_JOINED"])
    (event,) = receive("jaas", request(raw, headers, received_at=T), CONFIG).events
    assert (event.kind, event.meeting_key, event.participant_ref, event.host_hint) == (
        PlatformEventKind.PARTICIPANT_JOINED,
        "testroom2",
        "uniqueUserIdentifier",
        True,
    )


def test_payload_example_participant_left_is_a_leave() -> None:
    """webhooks-payload.md PARTICIPANT_LEFT: `disconnectReason: "left"` in a breakout room."""
    raw, headers = signed(PAYLOADS["PARTICIPANT_LEFT"])
    (event,) = receive("jaas", request(raw, headers, received_at=T), CONFIG).events
    assert (event.kind, event.meeting_key, event.participant_ref) == (
        PlatformEventKind.PARTICIPANT_LEFT,
        "testroom2",
        "uniqueUserIdentifier",
    )


def test_payload_example_participant_left_with_switch_room_is_no_leave() -> None:
    """webhooks-payload.md documents `disconnectReason` "switch_room" "when a participant joins
    a breakout room from the main room or vice versa". Built from that field list: the page's
    PARTICIPANT_LEFT example with only `disconnectReason` changed."""
    body = json.loads(json.dumps(PAYLOADS["PARTICIPANT_LEFT"]))
    body["data"]["disconnectReason"] = "switch_room"
    raw, headers = signed(body)
    assert receive("jaas", request(raw, headers, received_at=T), CONFIG).events == ()


def test_payload_example_breakout_room_destroyed_ends_nothing() -> None:
    """webhooks-payload.md ROOM_DESTROYED with `isBreakout: true`."""
    raw, headers = signed(PAYLOADS["ROOM_DESTROYED"])
    assert receive("jaas", request(raw, headers, received_at=T), CONFIG).events == ()
    body = json.loads(json.dumps(PAYLOADS["ROOM_DESTROYED"]))
    body["data"]["isBreakout"] = False  # the main room: the meeting ends
    raw, headers = signed(body)
    (event,) = receive("jaas", request(raw, headers, received_at=T), CONFIG).events
    assert (event.kind, event.meeting_key) == (PlatformEventKind.SESSION_ENDED, "testroom2")


@pytest.mark.parametrize(
    "event_type",
    sorted(set(PAYLOADS) - {"PARTICIPANT_JOINED", "PARTICIPANT_LEFT", "ROOM_DESTROYED"}),
)
def test_every_other_payload_example_is_acknowledged_without_events(event_type: str) -> None:
    """Every other example on webhooks-payload.md verifies and changes nothing."""
    raw, headers = signed(PAYLOADS[event_type])
    assert receive("jaas", request(raw, headers, received_at=T), CONFIG).events == ()

"""Every platform adapter, on requests signed as each platform signs them (platform_signers.py).

The shared behaviour — signed join/leave/end become the right events, a tampered signature
or body is refused, a stale timestamp is refused, a repeated delivery keeps its key — runs
for each platform; platform quirks have their own test modules.
"""

from __future__ import annotations

import time

import pytest
from platform_signers import MEETINGS, SIGNERS, Delivery, PlatformSigner

from integrations import ADAPTERS
from integrations.base import (
    InvalidSignature,
    PlatformEvent,
    PlatformEventKind,
    WebhookOutcome,
    WebhookRequest,
)

PUBLIC = "http://127.0.0.1:8080"

KINDS = {
    "join": PlatformEventKind.PARTICIPANT_JOINED,
    "leave": PlatformEventKind.PARTICIPANT_LEFT,
    "end": PlatformEventKind.SESSION_ENDED,
}


def as_request(
    delivery: Delivery, *, received_at: float | None = None, tenant: str = "acme"
) -> WebhookRequest:
    path = f"/webhooks/{tenant}/{delivery.path}"
    url = PUBLIC + path + (f"?{delivery.query}" if delivery.query else "")
    return WebhookRequest(
        method="POST",
        url=url,
        path=path,
        query=delivery.query,
        headers=delivery.headers,
        body=delivery.body,
        received_at=time.time() if received_at is None else received_at,
    )


def receive(signer: PlatformSigner, delivery: Delivery, **kwargs: float) -> WebhookOutcome:
    adapter = ADAPTERS[signer.name]
    request = as_request(delivery, **kwargs)
    adapter.verify(request, signer.config)
    return adapter.parse(request, signer.config)


@pytest.fixture(params=sorted(SIGNERS))
def signer(request: pytest.FixtureRequest) -> PlatformSigner:
    return SIGNERS[request.param]()


def test_registry_covers_every_webhook_platform() -> None:
    assert sorted(ADAPTERS) == sorted(
        ["zoom", "daily", "jaas", "jitsi", "whereby", "livekit", "twilio", "vonage"]
    )
    for name, adapter in ADAPTERS.items():
        assert adapter.name == name
        assert adapter.config_keys


@pytest.mark.parametrize("action", ["join", "leave", "end"])
def test_signed_lifecycle_delivery_becomes_its_event(signer: PlatformSigner, action: str) -> None:
    if action not in signer.actions:
        pytest.skip(f"{signer.name} has no {action} webhook")
    meeting = MEETINGS[signer.name]
    delivery = signer.delivery(action, meeting, "client-ref-1")  # type: ignore[arg-type]
    outcome = receive(signer, delivery)
    assert outcome.reply is None
    assert len(outcome.events) == 1
    event = outcome.events[0]
    assert event.kind is KINDS[action]
    assert event.meeting_key == meeting
    assert event.participant_ref == (None if action == "end" else "client-ref-1")
    assert event.delivery_key


def test_tampered_signature_is_refused(signer: PlatformSigner) -> None:
    delivery = signer.delivery("join", MEETINGS[signer.name], "client-ref-1")
    with pytest.raises(InvalidSignature):
        receive(signer, signer.tampered(delivery))


def test_tampered_body_is_refused(signer: PlatformSigner) -> None:
    if signer.name == "jitsi":
        pytest.skip(
            "event_sync authenticates the caller with a bearer token; it does not sign bodies"
        )
    delivery = signer.delivery("join", MEETINGS[signer.name], "client-ref-1")
    forged = delivery.with_body(delivery.body.replace(b"client-ref-1", b"client-ref-2"))
    assert forged.body != delivery.body
    with pytest.raises(InvalidSignature):
        receive(signer, forged)


def test_missing_signature_is_refused(signer: PlatformSigner) -> None:
    delivery = signer.delivery("join", MEETINGS[signer.name], "client-ref-1")
    headers = {
        k: v for k, v in delivery.headers.items() if k.lower() != signer.signature_header.lower()
    }
    with pytest.raises(InvalidSignature):
        receive(
            signer,
            Delivery(delivery.platform, delivery.path, delivery.query, headers, delivery.body),
        )


def test_wrong_secret_is_refused(signer: PlatformSigner) -> None:
    delivery = signer.delivery("join", MEETINGS[signer.name], "client-ref-1")
    other = {key: value + "x" for key, value in signer.config.items()}
    if signer.name == "daily":
        other = {"hmac": "b3RoZXItc2VjcmV0LWJ5dGVz"}
    if signer.name == "livekit":
        other = {**signer.config, "api_secret": signer.config["api_secret"] + "x"}
    adapter = ADAPTERS[signer.name]
    with pytest.raises(InvalidSignature):
        adapter.verify(as_request(delivery), other)


@pytest.mark.parametrize("age", [301, -301, 3600])
def test_stale_or_future_timestamp_is_refused(signer: PlatformSigner, age: int) -> None:
    if not signer.has_timestamp:
        pytest.skip(f"{signer.name} signs no timestamp")
    delivery = signer.delivery(
        "join", MEETINGS[signer.name], "client-ref-1", ts=int(time.time()) - age
    )
    with pytest.raises(InvalidSignature):
        receive(signer, delivery)


def test_timestamp_just_inside_the_window_is_accepted(signer: PlatformSigner) -> None:
    if not signer.has_timestamp:
        pytest.skip(f"{signer.name} signs no timestamp")
    delivery = signer.delivery(
        "join", MEETINGS[signer.name], "client-ref-1", ts=int(time.time()) - 290
    )
    assert len(receive(signer, delivery).events) == 1


def test_millisecond_timestamps_are_read_as_milliseconds(signer: PlatformSigner) -> None:
    if not signer.has_timestamp:
        pytest.skip(f"{signer.name} signs no timestamp")
    now_ms = int(time.time() * 1000)
    fresh = signer.delivery("join", MEETINGS[signer.name], "client-ref-1", ts=now_ms - 5_000)
    assert len(receive(signer, fresh).events) == 1
    stale = signer.delivery("join", MEETINGS[signer.name], "client-ref-1", ts=now_ms - 301_000)
    with pytest.raises(InvalidSignature):
        receive(signer, stale)


def test_repeated_delivery_has_the_same_key_and_distinct_deliveries_do_not(
    signer: PlatformSigner,
) -> None:
    meeting = MEETINGS[signer.name]
    delivery = signer.delivery("join", meeting, "client-ref-1", delivery_id="delivery-1")
    first = receive(signer, delivery).events
    again = receive(signer, delivery).events
    assert first == again
    other = signer.delivery("leave", meeting, "client-ref-1", delivery_id="delivery-2")
    assert receive(signer, other).events[0].delivery_key != first[0].delivery_key


def test_participant_without_reference_yields_no_event(signer: PlatformSigner) -> None:
    if signer.name == "livekit":
        pytest.skip("a LiveKit participant always has an identity")
    delivery = signer.delivery("join", MEETINGS[signer.name], None)
    assert receive(signer, delivery).events == ()


def test_events_are_plain_values() -> None:
    event = PlatformEvent(PlatformEventKind.SESSION_ENDED, "m", None, "k")
    assert event.host_hint is None
    assert PlatformEventKind("participant_joined") is PlatformEventKind.PARTICIPANT_JOINED

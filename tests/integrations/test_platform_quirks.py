"""What is particular to each platform's webhooks, beyond the shared behaviour."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode

import jwt
import pytest
from livekit import api as livekit_api
from platform_signers import (
    DailySigner,
    Delivery,
    JaasSigner,
    JitsiSigner,
    LiveKitSigner,
    TwilioSigner,
    VonageSigner,
    WherebySigner,
    ZoomSigner,
)
from test_adapters import as_request, receive
from twilio.request_validator import RequestValidator

from integrations import ADAPTERS
from integrations.base import (
    InvalidPayload,
    InvalidSignature,
    PlatformEventKind,
    WebhookRequest,
    timestamp_seconds,
)

# --- Zoom -------------------------------------------------------------------------------


def zoom_validation(signer: ZoomSigner, plain_token: str) -> Delivery:
    body = signer.url_validation(plain_token)
    return Delivery("zoom", "zoom", "", signer.sign("zoom", "", body, url=""), body)


def test_zoom_url_validation_answers_with_the_hmac_of_the_plain_token() -> None:
    signer = ZoomSigner()
    outcome = receive(signer, zoom_validation(signer, "qgg8vlvZRS6UYooatFL8Aw"))
    expected = hmac.new(
        signer.config["secret_token"].encode(), b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256
    ).hexdigest()
    assert outcome.reply == {"plainToken": "qgg8vlvZRS6UYooatFL8Aw", "encryptedToken": expected}
    assert outcome.events == ()


@pytest.mark.parametrize(
    "plain_token", ["", "a" * 65, "has space", "dot.dot", "../etc", "ünïcode", "a\nb"]
)
def test_zoom_url_validation_refuses_tokens_zoom_would_not_send(plain_token: str) -> None:
    """Only Zoom-shaped challenges are answered: the endpoint is no signing oracle."""
    signer = ZoomSigner()
    with pytest.raises(InvalidPayload):
        receive(signer, zoom_validation(signer, plain_token))


def test_zoom_url_validation_with_a_64_character_token_is_answered() -> None:
    signer = ZoomSigner()
    token = "A-_9" * 16
    assert receive(signer, zoom_validation(signer, token)).reply is not None


def test_zoom_url_validation_unsigned_is_refused() -> None:
    signer = ZoomSigner()
    delivery = zoom_validation(signer, "abc")
    unsigned = Delivery("zoom", "zoom", "", {"content-type": "application/json"}, delivery.body)
    with pytest.raises(InvalidSignature):
        receive(signer, unsigned)
    with pytest.raises(InvalidSignature):
        receive(signer, signer.tampered(delivery))


def test_zoom_url_validation_with_a_non_string_token_is_refused() -> None:
    signer = ZoomSigner()
    body = json.dumps({"event": "endpoint.url_validation", "payload": {"plainToken": 12}}).encode()
    delivery = Delivery("zoom", "zoom", "", signer.sign("zoom", "", body, url=""), body)
    with pytest.raises(InvalidPayload):
        receive(signer, delivery)


@pytest.mark.parametrize("meeting_id", [85123456789, "85123456789", 98765432101234567890])
def test_zoom_meeting_id_is_compared_as_a_decimal_string(meeting_id: int | str) -> None:
    signer = ZoomSigner()
    body = json.dumps(
        {
            "event": "meeting.participant_joined",
            "event_ts": 1,
            "payload": {
                "account_id": "a",
                "object": {
                    "id": meeting_id,
                    "uuid": "u",
                    "host_id": "h",
                    "participant": {"customer_key": "c-1", "id": "h"},
                },
            },
        }
    ).encode()
    delivery = Delivery("zoom", "zoom", "", signer.sign("zoom", "", body, url=""), body)
    (event,) = receive(signer, delivery).events
    assert event.meeting_key == str(meeting_id)
    assert event.participant_ref == "c-1"
    assert event.host_hint is True  # participant.id == host_id: a hint only


def test_zoom_other_events_are_acknowledged_without_events() -> None:
    signer = ZoomSigner()
    body = json.dumps({"event": "meeting.started", "payload": {"object": {"id": 1}}}).encode()
    delivery = Delivery("zoom", "zoom", "", signer.sign("zoom", "", body, url=""), body)
    assert receive(signer, delivery).events == ()


def test_zoom_signed_but_malformed_participant_event_is_invalid_payload() -> None:
    signer = ZoomSigner()
    body = json.dumps({"event": "meeting.participant_joined", "payload": {}}).encode()
    delivery = Delivery("zoom", "zoom", "", signer.sign("zoom", "", body, url=""), body)
    with pytest.raises(InvalidPayload):
        receive(signer, delivery)


def test_zoom_non_json_body_is_invalid_payload() -> None:
    signer = ZoomSigner()
    body = b"\xff not json"
    delivery = Delivery("zoom", "zoom", "", signer.sign("zoom", "", body, url=""), body)
    with pytest.raises(InvalidPayload):
        receive(signer, delivery)


def test_timestamps_of_13_digits_are_milliseconds() -> None:
    assert timestamp_seconds("1700000000000") == 1_700_000_000
    assert timestamp_seconds("1700000000") == 1_700_000_000
    for bad in ("", "abc", "nan", "inf", "-5"):
        with pytest.raises(InvalidSignature):
            timestamp_seconds(bad)


# --- Daily ------------------------------------------------------------------------------


def test_daily_creation_probe_is_acknowledged_without_events() -> None:
    """Daily POSTs {"test":"test"} before creating a webhook and needs a 200."""
    signer = DailySigner()
    probe = Delivery("daily", "daily", "", {"content-type": "application/json"}, b'{"test":"test"}')
    assert receive(signer, probe).events == ()


def test_daily_anything_else_unsigned_is_refused() -> None:
    signer = DailySigner()
    body = b'{"test":"test","type":"meeting.ended","payload":{"room":"r"}}'
    with pytest.raises(InvalidSignature):
        receive(signer, Delivery("daily", "daily", "", {}, body))


def test_daily_owner_flag_is_only_a_hint() -> None:
    signer = DailySigner()
    delivery = signer.delivery("join", "room-1", "t-ref")
    body = json.loads(delivery.body)
    body["payload"]["owner"] = True
    raw = json.dumps(body).encode()
    signed = Delivery("daily", "daily", "", signer.sign("daily", "", raw, url=""), raw)
    (event,) = receive(signer, signed).events
    assert event.host_hint is True
    assert event.delivery_key == body["id"]


# --- JaaS -------------------------------------------------------------------------------


def test_jaas_meeting_key_is_the_room_after_the_app_id() -> None:
    signer = JaasSigner()
    (event,) = receive(signer, signer.delivery("join", "therapy-room", "c-ref")).events
    assert event.meeting_key == "therapy-room"
    assert event.host_hint is False


def test_jaas_any_v1_signature_may_match_and_other_schemes_are_ignored() -> None:
    signer = JaasSigner()
    delivery = signer.delivery("leave", "room", "c-ref")
    t, v1 = delivery.headers["X-Jaas-Signature"].split(",")
    rotated = delivery.with_header("X-Jaas-Signature", f"{t},v1=b2xkLXNpZw==,{v1}")
    assert len(receive(signer, rotated).events) == 1
    downgraded = delivery.with_header("X-Jaas-Signature", f"{t},{v1.replace('v1=', 'v0=')}")
    with pytest.raises(InvalidSignature):
        receive(signer, downgraded)


def test_jaas_breakout_room_destroyed_does_not_end_the_meeting() -> None:
    signer = JaasSigner()
    delivery = signer.delivery("end", "room", None)
    body = json.loads(delivery.body)
    body["data"]["isBreakout"] = True
    raw = json.dumps(body).encode()
    signed = Delivery("jaas", "jaas", "", signer.sign("jaas", "", raw, url=""), raw)
    assert receive(signer, signed).events == ()


def jaas_signed(signer: JaasSigner, body: dict[str, object]) -> Delivery:
    raw = json.dumps(body).encode()
    return Delivery("jaas", "jaas", "", signer.sign("jaas", "", raw, url=""), raw)


def test_jaas_switch_room_leave_is_no_leave_and_other_reasons_are() -> None:
    """8x8: `disconnectReason` is "switch_room" when a participant moves between the main
    room and a breakout room; "left", "kicked", "unknown" and "unrecoverable_error" are leaves."""
    signer = JaasSigner()
    body = json.loads(signer.delivery("leave", "room", "c-ref").body)
    body["data"].update(disconnectReason="switch_room", isBreakout=True, breakoutRoomId="b-1")
    assert receive(signer, jaas_signed(signer, body)).events == ()
    for reason in ("left", "kicked", "unknown", "unrecoverable_error", None):
        body["data"]["disconnectReason"] = reason
        body["idempotencyKey"] = f"k-{reason}"
        (event,) = receive(signer, jaas_signed(signer, body)).events
        assert event.kind is PlatformEventKind.PARTICIPANT_LEFT


def test_jaas_breakout_join_is_a_join_to_the_main_rooms_meeting() -> None:
    """A breakout room's events carry the main room's `fqn` (8x8's payload examples)."""
    signer = JaasSigner()
    body = json.loads(signer.delivery("join", "therapyroom7", "c-ref").body)
    body["data"].update(isBreakout=True, breakoutRoomId="e0f49fd5-c3dc-4f36-9612-8cdab4d8ccfd")
    (event,) = receive(signer, jaas_signed(signer, body)).events
    assert (event.kind, event.meeting_key, event.participant_ref) == (
        PlatformEventKind.PARTICIPANT_JOINED,
        "therapyroom7",
        "c-ref",
    )


def test_jaas_numeric_user_id_is_its_decimal_string() -> None:
    signer = JaasSigner()
    body = json.loads(signer.delivery("join", "room", "c-ref").body)
    body["data"]["id"] = 4242
    (event,) = receive(signer, jaas_signed(signer, body)).events
    assert event.participant_ref == "4242"


# --- Jitsi ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "kind"),
    [
        ("join", PlatformEventKind.PARTICIPANT_JOINED),
        ("leave", PlatformEventKind.PARTICIPANT_LEFT),
        ("end", PlatformEventKind.SESSION_ENDED),
    ],
)
def test_jitsi_the_path_decides_the_event(action: str, kind: PlatformEventKind) -> None:
    signer = JitsiSigner()
    joined = signer.delivery("join", "room", "c-ref")
    paths = {
        "join": "jitsi/events/occupant/joined",
        "leave": "jitsi/events/occupant/left",
        "end": "jitsi/events/room/destroyed",
    }
    # The same (joined) body posted to another path means that path's event.
    moved = Delivery("jitsi", paths[action], "", joined.headers, joined.body)
    (event,) = receive(signer, moved).events
    assert event.kind is kind


def test_jitsi_room_created_is_acknowledged_without_events() -> None:
    signer = JitsiSigner()
    body = json.dumps({"event_name": "muc-room-created", "room_name": "room"}).encode()
    delivery = Delivery(
        "jitsi", "jitsi/events/room/created", "", signer.sign("", "", body, url=""), body
    )
    assert receive(signer, delivery).events == ()


def test_jitsi_other_paths_are_not_event_sync() -> None:
    signer = JitsiSigner()
    joined = signer.delivery("join", "room", "c-ref")
    for path in ("jitsi", "jitsi/events", "jitsi/events/occupant/kicked"):
        with pytest.raises(InvalidPayload):
            receive(signer, Delivery("jitsi", path, "", joined.headers, joined.body))


@pytest.mark.parametrize(
    "header", ["TOKEN", "Basic {token}", "Bearer", "{token}", "Bearer x{token}"]
)
def test_jitsi_requires_exactly_the_bearer_token(header: str) -> None:
    signer = JitsiSigner()
    delivery = signer.delivery("join", "room", "c-ref")
    value = header.format(token=signer.config["bearer_token"])
    with pytest.raises(InvalidSignature):
        receive(signer, delivery.with_header("Authorization", value))


def test_jitsi_breakout_room_destroyed_does_not_end_the_meeting() -> None:
    signer = JitsiSigner()
    body = json.dumps({"room_name": "room", "is_breakout": True, "breakout_room_id": "b"}).encode()
    delivery = Delivery(
        "jitsi", "jitsi/events/room/destroyed", "", signer.sign("", "", body, url=""), body
    )
    assert receive(signer, delivery).events == ()


def jitsi_signed(signer: JitsiSigner, path: str, body: dict[str, object]) -> Delivery:
    raw = json.dumps(body).encode()
    return Delivery("jitsi", path, "", signer.sign("", "", raw, url=""), raw)


def test_jitsi_include_user_info_with_a_numeric_id_is_accepted() -> None:
    """event_sync with `include_user_info = true` copies the whole JWT user context into the
    occupant (mod_event_sync_component.lua, `on_occupant_joined`): the vendor's `id` may be a
    number, and any other field may be there, of any type."""
    signer = JitsiSigner()
    body = json.loads(signer.delivery("join", "room", "c-ref").body)
    body["occupant"].update(
        id=123456789,
        moderator=True,
        avatar=None,
        affiliation="owner",
        features={"recording": "true"},
        email=["not", "a", "string"],
        name={"first": "A"},
    )
    (event,) = receive(signer, jitsi_signed(signer, "jitsi/events/occupant/joined", body)).events
    assert event.participant_ref == "123456789"


@pytest.mark.parametrize("odd_id", [{"sub": "x"}, True, [1], 1.5, ""])
def test_jitsi_user_context_id_that_is_no_identifier_is_ignored_not_refused(odd_id: object) -> None:
    signer = JitsiSigner()
    body = json.loads(signer.delivery("join", "room", "c-ref").body)
    body["occupant"]["id"] = odd_id
    body["occupant"]["joined_at"] = "not a number"
    delivery = jitsi_signed(signer, "jitsi/events/occupant/joined", body)
    assert receive(signer, delivery).events == ()


def test_jitsi_occupant_events_carry_their_stay_breakout_rooms_by_their_id() -> None:
    signer = JitsiSigner()
    joined = json.loads(signer.delivery("join", "room", "c-ref").body)
    (main,) = receive(signer, jitsi_signed(signer, "jitsi/events/occupant/joined", joined)).events
    joined.update(is_breakout=True, breakout_room_id="b-1")
    joined["occupant"]["joined_at"] += 30
    (breakout,) = receive(
        signer, jitsi_signed(signer, "jitsi/events/occupant/joined", joined)
    ).events
    assert main.stay is not None and breakout.stay is not None
    assert (main.stay.room, breakout.stay.room) == ("", "b-1")
    assert main.stay.connection == breakout.stay.connection
    assert breakout.meeting_key == main.meeting_key == "room"
    assert breakout.stay.began_at == main.stay.began_at + 30  # type: ignore[operator]


# --- Whereby ----------------------------------------------------------------------------


def test_whereby_host_role_is_a_hint_and_numeric_meeting_ids_are_strings() -> None:
    signer = WherebySigner()
    delivery = signer.delivery("join", "73112345", "t-ref")
    body = json.loads(delivery.body)
    body["data"]["roleName"] = "host"
    body["data"]["meetingId"] = 73112345
    raw = json.dumps(body).encode()
    signed = Delivery("whereby", "whereby", "", signer.sign("", "", raw, url=""), raw)
    (event,) = receive(signer, signed).events
    assert (event.meeting_key, event.host_hint, event.delivery_key) == (
        "73112345",
        True,
        body["id"],
    )


# --- LiveKit ----------------------------------------------------------------------------


def test_livekit_own_receiver_accepts_what_the_signer_sends() -> None:
    """The test signer is checked against livekit-api's WebhookReceiver itself."""
    signer = LiveKitSigner()
    delivery = signer.delivery("join", "room-7", "c-ref")
    verifier = livekit_api.TokenVerifier(signer.config["api_key"], signer.config["api_secret"])
    event = livekit_api.WebhookReceiver(verifier).receive(
        delivery.body.decode(), delivery.headers["Authorization"]
    )
    assert event.participant.identity == "c-ref"
    (ours,) = receive(signer, delivery).events
    assert ours.delivery_key == event.id


def test_livekit_expired_token_is_refused() -> None:
    signer = LiveKitSigner()
    delivery = signer.delivery("join", "room-7", "c-ref")
    with pytest.raises(InvalidSignature):
        receive(signer, delivery, received_at=time.time() + 300 + 61)
    assert receive(signer, delivery, received_at=time.time() + 300 + 30).events


def test_livekit_token_not_yet_valid_is_refused() -> None:
    signer = LiveKitSigner()
    delivery = signer.delivery("join", "room-7", "c-ref")
    with pytest.raises(InvalidSignature):
        receive(signer, delivery, received_at=time.time() - 120)


def test_livekit_token_for_another_body_is_refused() -> None:
    signer = LiveKitSigner()
    delivery = signer.delivery("join", "room-7", "c-ref")
    other = signer.delivery("join", "room-7", "c-other")
    with pytest.raises(InvalidSignature):
        receive(signer, delivery.with_header("Authorization", other.headers["Authorization"]))


def test_livekit_token_without_body_hash_or_with_other_issuer_is_refused() -> None:
    signer = LiveKitSigner()
    delivery = signer.delivery("leave", "room-7", "c-ref")
    no_hash = livekit_api.AccessToken(
        signer.config["api_key"], signer.config["api_secret"]
    ).to_jwt()
    with pytest.raises(InvalidSignature):
        receive(signer, delivery.with_header("Authorization", no_hash))
    digest = base64.b64encode(hashlib.sha256(delivery.body).digest()).decode()
    other_issuer = (
        livekit_api.AccessToken("OtherKey", signer.config["api_secret"])
        .with_sha256(digest)
        .to_jwt()
    )
    with pytest.raises(InvalidSignature):
        receive(signer, delivery.with_header("Authorization", other_issuer))


def test_livekit_token_without_exp_is_refused() -> None:
    signer = LiveKitSigner()
    delivery = signer.delivery("leave", "room-7", "c-ref")
    digest = base64.b64encode(hashlib.sha256(delivery.body).digest()).decode()
    token = jwt.encode(
        {"iss": signer.config["api_key"], "sha256": digest}, signer.config["api_secret"], "HS256"
    )
    with pytest.raises(InvalidSignature):
        receive(signer, delivery.with_header("Authorization", token))


def test_livekit_token_signed_with_none_algorithm_is_refused() -> None:
    signer = LiveKitSigner()
    delivery = signer.delivery("leave", "room-7", "c-ref")
    digest = base64.b64encode(hashlib.sha256(delivery.body).digest()).decode()
    claims = {"iss": signer.config["api_key"], "sha256": digest, "exp": int(time.time()) + 60}
    token = jwt.encode(claims, None, algorithm="none")
    with pytest.raises(InvalidSignature):
        receive(signer, delivery.with_header("Authorization", token))


def test_livekit_accepts_a_bearer_prefix_too() -> None:
    signer = LiveKitSigner()
    delivery = signer.delivery("end", "room-7")
    bearer = delivery.with_header("Authorization", "Bearer " + delivery.headers["Authorization"])
    (event,) = receive(signer, bearer).events
    assert event.kind is PlatformEventKind.SESSION_ENDED


def test_livekit_long_ttl_token_is_still_bounded_by_exp() -> None:
    signer = LiveKitSigner()
    delivery = signer.delivery("join", "room-7", "c-ref")
    token = signer.token(delivery.body, ttl=timedelta(seconds=10))
    with pytest.raises(InvalidSignature):
        receive(
            signer,
            delivery.with_header("Authorization", token),
            received_at=time.time() + 10 + 61,
        )


# --- Twilio -----------------------------------------------------------------------------


def test_twilio_signature_covers_the_public_url_with_its_query() -> None:
    signer = TwilioSigner()
    delivery = signer.delivery("join", "room-7", "c-ref", query="tenantRef=a%2Fb&x=1")
    (event,) = receive(signer, delivery).events
    assert event.participant_ref == "c-ref"
    # Same body and signature, but the query we received differs: not what Twilio signed.
    moved = Delivery("twilio", "twilio", "x=1", delivery.headers, delivery.body)
    with pytest.raises(InvalidSignature):
        receive(signer, moved)


def test_twilio_signature_over_another_host_is_refused() -> None:
    signer = TwilioSigner()
    delivery = signer.delivery(
        "join", "room-7", "c-ref", url_base="https://evil.example.com/webhooks/acme"
    )
    with pytest.raises(InvalidSignature):
        receive(signer, delivery)


def test_twilio_default_port_is_accepted_with_or_without_it() -> None:
    signer = TwilioSigner()
    delivery = signer.delivery(
        "join", "room-7", "c-ref", url_base="https://comfort.example.com:443/webhooks/acme"
    )
    adapter = ADAPTERS["twilio"]
    request = as_request(delivery)
    request = type(request)(
        method="POST",
        url="https://comfort.example.com/webhooks/acme/twilio",
        path=request.path,
        query="",
        headers=request.headers,
        body=request.body,
        received_at=time.time(),
    )
    adapter.verify(request, signer.config)


def twilio_received_at(url: str, delivery: Delivery) -> WebhookRequest:
    """The delivery as received at `url` (what COMFORT_PUBLIC_URL + path would make)."""
    return WebhookRequest(
        "POST", url, "/webhooks/acme/twilio", "", delivery.headers, delivery.body, time.time()
    )


def test_twilio_signature_without_a_non_default_port_is_accepted() -> None:
    """twilio-python's RequestValidator removes any port (its test
    `test_validation_removes_port_on_https`): a request to https://host:8443/… may be signed
    over https://host/…; the URL as received, with its port, still verifies too."""
    signer = TwilioSigner()
    received_url = "https://comfort.example.com:8443/webhooks/acme/twilio"
    for signed_over in ("https://comfort.example.com", "https://comfort.example.com:8443"):
        delivery = signer.delivery(
            "join", "room-7", "c-ref", url_base=f"{signed_over}/webhooks/acme"
        )
        assert RequestValidator(signer.config["auth_token"]).validate(
            received_url,
            dict(parse_qsl(delivery.body.decode())),
            delivery.headers["X-Twilio-Signature"],
        )
        ADAPTERS["twilio"].verify(twilio_received_at(received_url, delivery), signer.config)
    other_port = signer.delivery(
        "join", "room-7", "c-ref", url_base="https://comfort.example.com:9999/webhooks/acme"
    )
    with pytest.raises(InvalidSignature):
        ADAPTERS["twilio"].verify(twilio_received_at(received_url, other_port), signer.config)


def test_twilio_sequence_number_and_room_sid_make_the_delivery_key() -> None:
    signer = TwilioSigner()
    delivery = signer.delivery("leave", "room-7", "c-ref", delivery_id="abc")
    (event,) = receive(signer, delivery).events
    assert event.delivery_key == f"RM{'abc'.ljust(32, '0')}:{signer.sequence}"


def test_twilio_added_parameter_is_refused() -> None:
    signer = TwilioSigner()
    delivery = signer.delivery("join", "room-7", "c-ref")
    with pytest.raises(InvalidSignature):
        receive(signer, delivery.with_body(delivery.body + b"&Extra=1"))


def test_twilio_hmac_sha256_signature_setting_is_honoured() -> None:
    signer = TwilioSigner()
    delivery = signer.delivery("join", "room-7", "c-ref")
    form = dict(parse_qsl(delivery.body.decode()))
    url = "http://127.0.0.1:8080/webhooks/acme/twilio"
    signature = RequestValidator(signer.config["auth_token"]).compute_signature(
        url, form, algorithm="HMAC_SHA256"
    )
    sha256 = delivery.with_header("X-Twilio-Signature", signature).with_header(
        "X-Twilio-Webhooks-Signature-Settings", "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"
    )
    assert receive(signer, sha256).events
    unknown = sha256.with_header("X-Twilio-Webhooks-Signature-Settings", "algorithm=HMAC_MD5")
    with pytest.raises(InvalidSignature):
        receive(signer, unknown)


def test_twilio_other_callbacks_are_acknowledged_without_events() -> None:
    signer = TwilioSigner()
    body = urlencode(
        {"StatusCallbackEvent": "track-added", "RoomName": "room-7", "RoomSid": "RM1"}
    ).encode()
    url = "http://127.0.0.1:8080/webhooks/acme/twilio"
    headers = signer.sign("twilio", "", body, url=url)
    assert receive(signer, Delivery("twilio", "twilio", "", headers, body)).events == ()


# --- Vonage -----------------------------------------------------------------------------


def vonage_with_token(signer: VonageSigner, delivery: Delivery, token: str) -> Delivery:
    return delivery.with_header("Authorization", f"Bearer {token}")


def test_vonage_payload_hash_must_match_the_body() -> None:
    signer = VonageSigner()
    delivery = signer.delivery("join", "2_MX4", "c-ref")
    wrong = signer.token(delivery.body, payload_hash=hashlib.sha256(b"other").hexdigest())
    with pytest.raises(InvalidSignature):
        receive(signer, vonage_with_token(signer, delivery, wrong))


def test_vonage_token_without_payload_hash_is_accepted() -> None:
    signer = VonageSigner()
    delivery = signer.delivery("leave", "2_MX4", "c-ref")
    token = signer.token(delivery.body, payload_hash=False)
    (event,) = receive(signer, vonage_with_token(signer, delivery, token)).events
    assert event.kind is PlatformEventKind.PARTICIPANT_LEFT


def test_vonage_token_without_iat_is_refused() -> None:
    signer = VonageSigner()
    delivery = signer.delivery("join", "2_MX4", "c-ref")
    claims = {"iss": "Vonage", "payload_hash": hashlib.sha256(delivery.body).hexdigest()}
    token = jwt.encode(claims, signer.config["signature_secret"], algorithm="HS256")
    with pytest.raises(InvalidSignature):
        receive(signer, vonage_with_token(signer, delivery, token))


def test_vonage_bare_token_is_accepted_as_well_as_bearer() -> None:
    """Vonage's secure-callbacks guide says only "a JWT in the Authorization header"."""
    signer = VonageSigner()
    delivery = signer.delivery("join", "2_MX4", "c-ref")
    bare = delivery.with_header("Authorization", signer.token(delivery.body))
    (event,) = receive(signer, bare).events
    assert event.participant_ref == "c-ref"
    (event,) = receive(signer, delivery).events  # Bearer <jwt> still works
    assert event.participant_ref == "c-ref"


@pytest.mark.parametrize("scheme", ["Basic", "Token", "Bearer  x"])
def test_vonage_token_under_another_scheme_is_refused(scheme: str) -> None:
    signer = VonageSigner()
    delivery = signer.delivery("join", "2_MX4", "c-ref")
    value = f"{scheme} {signer.token(delivery.body)}"
    with pytest.raises(InvalidSignature):
        receive(signer, delivery.with_header("Authorization", value))


def test_vonage_connection_data_is_the_participant_and_session_id_the_meeting() -> None:
    signer = VonageSigner()
    (event,) = receive(signer, signer.delivery("join", "2_MX4abc", "c-ref")).events
    assert (event.meeting_key, event.participant_ref) == ("2_MX4abc", "c-ref")


def test_vonage_stream_events_are_acknowledged_without_events() -> None:
    signer = VonageSigner()
    body = json.dumps({"sessionId": "2_MX4", "event": "streamCreated", "stream": {}}).encode()
    headers = signer.sign("vonage", "", body, url="")
    assert receive(signer, Delivery("vonage", "vonage", "", headers, body)).events == ()

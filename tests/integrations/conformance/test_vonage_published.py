"""Vonage against its session-monitoring examples (data/vonage_session_monitoring.json).

Sources: developer.vonage.com/en/video/guides/session-monitoring (the connectionCreated,
connectionDestroyed and streamCreated bodies, as in `_documentation/en/video/guides/
session-monitoring.md` of the developer-portal source) and /video/guides/secure-callbacks ("a
JWT token in the authorization header, which is signed with your signature secret"). The guides
give no signed example: each body is signed HS256 with `iat` and its `payload_hash`, and every
token is checked with vonage-jwt's `verify_signature` as well.
"""

from __future__ import annotations

import hashlib
import time

import jwt
import pytest
import vonage_jwt
from published import load, receive, request

from integrations.base import InvalidSignature, PlatformEventKind

DATA = load("vonage_session_monitoring")
EXAMPLES = DATA["examples"]
SECRET = "vonage-signature-secret-0123456789abcdef"
CONFIG = {"signature_secret": SECRET}


def token(body: str, **claims: object) -> str:
    payload = {
        "iat": int(time.time()),
        "jti": "b7a1",
        "iss": "Vonage",
        "payload_hash": hashlib.sha256(body.encode()).hexdigest(),
        **claims,
    }
    value = jwt.encode(payload, SECRET, algorithm="HS256")
    assert vonage_jwt.verify_signature(value, SECRET)
    return value


@pytest.mark.parametrize("scheme", ["", "Bearer "])
def test_connection_created_example_is_a_join_by_connection_data(scheme: str) -> None:
    """connectionCreated: the session is the meeting, the connection `data` (TOKENDATA) the
    participant; the JWT bare in Authorization or after `Bearer `."""
    body = EXAMPLES["connectionCreated"]
    headers = {"Authorization": scheme + token(body), "Content-Type": "application/json"}
    (event,) = receive("vonage", request(body, headers, received_at=time.time()), CONFIG).events
    assert (event.kind, event.meeting_key, event.participant_ref) == (
        PlatformEventKind.PARTICIPANT_JOINED,
        "2_MX4xMzExMjU3MX5-MTQ3MDI1NzY3OTkxOH45QXRr",
        "TOKENDATA",
    )


def test_connection_destroyed_example_without_data_is_acknowledged() -> None:
    """connectionDestroyed with empty `data`: no participant to match, nothing logged."""
    body = EXAMPLES["connectionDestroyed"]
    outcome = receive(
        "vonage", request(body, {"Authorization": token(body)}, received_at=time.time()), CONFIG
    )
    assert outcome.events == ()
    with_data = body.replace('"data": ""', '"data": "TOKENDATA"')
    (event,) = receive(
        "vonage",
        request(with_data, {"Authorization": token(with_data)}, received_at=time.time()),
        CONFIG,
    ).events
    assert event.kind is PlatformEventKind.PARTICIPANT_LEFT


def test_stream_created_example_is_acknowledged() -> None:
    body = EXAMPLES["streamCreated"]
    assert (
        receive(
            "vonage", request(body, {"Authorization": token(body)}, received_at=time.time()), CONFIG
        ).events
        == ()
    )


def test_a_token_for_another_body_or_secret_or_time_is_refused() -> None:
    body = EXAMPLES["connectionCreated"]
    other = EXAMPLES["connectionDestroyed"]
    for value in (
        token(other),
        jwt.encode(
            {"iat": int(time.time())}, "wrong-secret-0123456789abcdef0123", algorithm="HS256"
        ),
        token(body, iat=int(time.time()) - 301),
    ):
        with pytest.raises(InvalidSignature):
            receive(
                "vonage", request(body, {"Authorization": value}, received_at=time.time()), CONFIG
            )

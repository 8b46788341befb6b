"""Join tokens (contract §2, §4.4): every forgery is refused with the right connect error."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest
import socketio

from service.errors import ConnectRefused
from service.tokens import TokenIssuer
from tests.conftest import LiveServer
from tests.support import SECRET


def b64(obj: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def claims(sid: str, sub: str = "c-1", role: str = "client", **over):
    now = int(time.time())
    base = {"sub": sub, "sid": sid, "role": role, "aud": "comfort", "iat": now, "exp": now + 600}
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


async def refused_code(server: LiveServer, auth) -> str:
    client = socketio.AsyncClient(reconnection=False)
    seen = {}

    @client.on("connect_error")
    async def _err(data):
        seen["data"] = data

    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(server.url, auth=auth, transports=["websocket"], wait_timeout=5)
    await client.disconnect()
    data = seen["data"]
    assert set(data) >= {"code", "message"}
    return str(data["code"])


def forgeries(sid: str, other_sid: str):
    yield (
        "wrong key",
        jwt.encode(claims(sid), "not-the-key-" * 4, algorithm="HS256"),
        "invalid_token",
    )
    yield "alg none", f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims(sid))}.", "invalid_token"
    yield "HS512", jwt.encode(claims(sid), SECRET, algorithm="HS512"), "invalid_token"
    yield (
        "wrong audience",
        jwt.encode(claims(sid, aud="zoom"), SECRET, algorithm="HS256"),
        "invalid_token",
    )
    yield (
        "no audience",
        jwt.encode(claims(sid, aud=None), SECRET, algorithm="HS256"),
        "invalid_token",
    )
    yield "no exp", jwt.encode(claims(sid, exp=None), SECRET, algorithm="HS256"), "invalid_token"
    yield (
        "expired",
        jwt.encode(claims(sid, exp=int(time.time()) - 60), SECRET, algorithm="HS256"),
        "token_expired",
    )
    yield (
        "role lies",
        jwt.encode(claims(sid, role="therapist"), SECRET, algorithm="HS256"),
        "invalid_token",
    )
    yield (
        "unknown participant",
        jwt.encode(claims(sid, sub="c-9"), SECRET, algorithm="HS256"),
        "invalid_token",
    )
    yield (
        "no such session",
        jwt.encode(claims("ses_nope"), SECRET, algorithm="HS256"),
        "session_not_found",
    )
    yield (
        "tampered payload",
        _tamper(jwt.encode(claims(sid), SECRET, algorithm="HS256"), sid),
        "invalid_token",
    )
    yield "garbage", "not.a.jwt", "invalid_token"
    yield "number", 12345, "invalid_token"


def _tamper(token: str, sid: str) -> str:
    head, _, sig = token.split(".")
    return f"{head}.{b64(claims(sid, sub='t-1', role='therapist'))}.{sig}"


async def test_every_forgery_is_refused(live_server: LiveServer):
    created = await live_server.create_session()
    other = await live_server.create_session()
    sid, other_sid = created["session"]["id"], other["session"]["id"]
    for name, token, code in forgeries(sid, other_sid):
        assert await refused_code(live_server, {"token": token}) == code, name


@pytest.mark.parametrize("auth", [None, {}, {"token": ""}, {"tok": "x"}, "token-as-string", [1, 2]])
async def test_missing_or_malformed_auth_is_invalid_token(live_server: LiveServer, auth):
    assert await refused_code(live_server, auth) == "invalid_token"


async def test_a_token_binds_to_its_own_session_and_participant(live_server: LiveServer):
    a = await live_server.create_session()
    b = await live_server.create_session()
    peer = await live_server.join(b["tokens"]["c-1"])
    assert peer.welcome["session"]["id"] == b["session"]["id"]
    assert peer.welcome["participant"] == {"id": "c-1", "role": "client"}
    ack = await peer.send("pause")
    events_a = await live_server.api.events(a["session"]["id"])
    assert all(e["type"] != "pause" for e in events_a) and ack["ok"]


async def test_tokens_of_an_ended_or_erased_session_are_refused(live_server: LiveServer):
    created = await live_server.create_session()
    sid = created["session"]["id"]
    await live_server.api.call("POST", f"/api/v1/sessions/{sid}/end")
    assert await refused_code(live_server, {"token": created["tokens"]["c-1"]}) == "session_ended"
    await live_server.api.call("DELETE", f"/api/v1/sessions/{sid}")
    assert (
        await refused_code(live_server, {"token": created["tokens"]["c-1"]}) == "session_not_found"
    )


def test_issuer_round_trip_and_claims():
    issuer = TokenIssuer(SECRET, 60)
    token = issuer.mint("ses_1", "c-1", "client")
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "HS256"
    decoded = jwt.decode(token, SECRET, algorithms=["HS256"], audience="comfort")
    assert set(decoded) == {"sub", "sid", "role", "aud", "iat", "exp"}
    assert decoded["exp"] - decoded["iat"] == 60
    verified = issuer.verify(token)
    assert (verified.session_id, verified.participant_id, verified.role) == (
        "ses_1",
        "c-1",
        "client",
    )
    with pytest.raises(ConnectRefused):
        TokenIssuer("another-secret-key-0123456789abcdef", 60).verify(token)

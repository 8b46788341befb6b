"""Join-token forgeries beyond tests/service/test_tokens.py (contract §2, §4.4): algorithm
confusion (RS256/ES256/PS256 headers signed with the HS secret as if it were a public key),
`kid`/`jku`/`jwk`/`x5u` headers pointing at an attacker's key, `crit` extensions, tokens not yet
valid (`nbf`, `iat` in the future), claims of the wrong type, and tokens of an erased session.
Each is refused at connect with the contract's code, and nothing is admitted."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
import socketio
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.conftest import LiveServer, ServerFactory
from tests.support import SECRET

FORGED = {"count": 0}


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def claims(session_id: str, **over: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {"sub": "t-1", "sid": session_id, "role": "therapist", "aud": "comfort", "iat": now}
    base["exp"] = now + 600
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def hs_signed(header: dict[str, Any], payload: dict[str, Any], key: bytes) -> str:
    """A token with any header, signed HMAC-SHA256 with `key` (the confusion attack)."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def forgeries(sid: str) -> list[tuple[str, Any, str]]:
    secret = SECRET.encode()
    attacker_rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    attacker_ec = ec.generate_private_key(ec.SECP256R1())
    rsa_pub = attacker_rsa.public_key()
    numbers = rsa_pub.public_numbers()
    jwk = {
        "kty": "RSA",
        "n": b64(numbers.n.to_bytes(256, "big")),
        "e": b64(numbers.e.to_bytes(3, "big")),
    }
    rsa_pem = rsa_pub.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    now = int(time.time())
    out: list[tuple[str, Any, str]] = []
    for alg in ("RS256", "ES256", "PS256", "EdDSA", "HS384", "none"):
        out.append(
            (
                f"{alg} header, HS secret as key",
                hs_signed({"alg": alg}, claims(sid), secret),
                "invalid_token",
            )
        )
    out += [
        (
            "HS256 keyed with the attacker's RSA public key (PEM)",
            hs_signed({"alg": "HS256"}, claims(sid), rsa_pem),
            "invalid_token",
        ),
        (
            "RS256 by an attacker's RSA key",
            jwt.encode(claims(sid), attacker_rsa, algorithm="RS256"),
            "invalid_token",
        ),
        (
            "ES256 by an attacker's EC key",
            jwt.encode(claims(sid), attacker_ec, algorithm="ES256"),
            "invalid_token",
        ),
        (
            "RS256 with its public key embedded as jwk",
            jwt.encode(claims(sid), attacker_rsa, algorithm="RS256", headers={"jwk": jwk}),
            "invalid_token",
        ),
        (
            "jku pointing at an attacker's key set",
            jwt.encode(
                claims(sid),
                attacker_rsa,
                algorithm="RS256",
                headers={"jku": "https://evil.example/jwks.json"},
            ),
            "invalid_token",
        ),
        (
            "x5u pointing at an attacker's certificate",
            jwt.encode(
                claims(sid),
                attacker_rsa,
                algorithm="RS256",
                headers={"x5u": "https://evil.example/cert.pem"},
            ),
            "invalid_token",
        ),
        (
            "kid path traversal to an empty key",
            hs_signed({"alg": "HS256", "kid": "../../../../dev/null"}, claims(sid), b""),
            "invalid_token",
        ),
        (
            "kid SQL injection with a chosen key",
            hs_signed({"alg": "HS256", "kid": "x' UNION SELECT 'k'--"}, claims(sid), b"k"),
            "invalid_token",
        ),
        ("empty HMAC key", hs_signed({"alg": "HS256"}, claims(sid), b""), "invalid_token"),
        (
            "not yet valid: nbf in an hour",
            jwt.encode(claims(sid, nbf=now + 3600), SECRET, algorithm="HS256"),
            "invalid_token",
        ),
        (
            "issued in the future: iat in an hour",
            jwt.encode(claims(sid, iat=now + 3600, exp=now + 7200), SECRET, algorithm="HS256"),
            "invalid_token",
        ),
        (
            "sub as a list",
            jwt.encode(claims(sid, sub=["t-1"]), SECRET, algorithm="HS256"),
            "invalid_token",
        ),
        (
            "sid as a number",
            jwt.encode(claims(sid, sid=12345), SECRET, algorithm="HS256"),
            "invalid_token",
        ),
        (
            "aud as a list without comfort",
            jwt.encode(claims(sid, aud=["zoom", "daily"]), SECRET, algorithm="HS256"),
            "invalid_token",
        ),
        ("empty sub", jwt.encode(claims(sid, sub=""), SECRET, algorithm="HS256"), "invalid_token"),
        (
            "role system",
            jwt.encode(claims(sid, role="system"), SECRET, algorithm="HS256"),
            "invalid_token",
        ),
        (
            "a real token with its signature stripped",
            jwt.encode(claims(sid), SECRET, algorithm="HS256").rsplit(".", 1)[0] + ".",
            "invalid_token",
        ),
        (
            "a token of 5,000 characters",
            jwt.encode(claims(sid, pad="x" * 5000), SECRET, algorithm="HS256"),
            "invalid_token",
        ),
        (
            "a JWE-shaped token",
            "eyJhbGciOiJkaXIiLCJlbmMiOiJBMjU2R0NNIn0..aaaa.bbbb.cccc",
            "invalid_token",
        ),
    ]
    # A `crit` header the service does not understand: PyJWT rejects it (RFC 7515 §4.1.11).
    out.append(
        (
            "crit header with an unknown extension",
            jwt.encode(
                claims(sid), SECRET, algorithm="HS256", headers={"crit": ["exp-ext"], "exp-ext": 1}
            ),
            "invalid_token",
        )
    )
    return out


async def refused(server: LiveServer, token: Any) -> str | None:
    """The connect_error code, or None if the token was admitted."""
    client = socketio.AsyncClient(reconnection=False)
    seen: dict[str, Any] = {}

    @client.on("connect_error")
    async def _error(data: Any) -> None:
        seen["data"] = data

    try:
        await client.connect(
            server.url, auth={"token": token}, transports=["websocket"], wait_timeout=5
        )
    except socketio.exceptions.ConnectionError:
        return str(seen["data"]["code"])
    await client.disconnect()
    return None


async def test_forged_tokens_are_refused(live_server: LiveServer) -> None:
    created = await live_server.create_session()
    sid = created["session"]["id"]
    failures = []
    cases = forgeries(sid)
    for name, token, code in cases:
        got = await refused(live_server, token)
        if got != code:
            failures.append((name, got))
    FORGED["count"] += len(cases)
    assert not failures, failures
    # The genuine token still works: the refusals are not a broken service.
    assert await refused(live_server, created["tokens"]["t-1"]) is None
    print(f"\nforgeries refused: {len(cases)}")


async def test_tokens_minted_before_an_erasure_are_refused_afterwards(
    live_server: LiveServer,
) -> None:
    created = await live_server.create_session(clients=2)
    sid = created["session"]["id"]
    status, minted = await live_server.api.call(
        "POST", f"/api/v1/sessions/{sid}/tokens", {"participant_id": "c-2"}
    )
    assert status == 200
    peer = await live_server.join(created["tokens"]["c-1"])
    assert (await live_server.api.call("DELETE", f"/api/v1/sessions/{sid}"))[0] == 204
    await peer.wait_for(lambda: not peer.client.connected, timeout=5)
    tokens = [*created["tokens"].values(), minted["token"]]
    for token in tokens:
        assert await refused(live_server, token) == "session_not_found"
    # A fresh token for the erased session cannot be minted either.
    status, body = await live_server.api.call(
        "POST", f"/api/v1/sessions/{sid}/tokens", {"participant_id": "c-1"}
    )
    assert status == 404 and body["error"]["code"] == "session_not_found"


@pytest.mark.parametrize("skew", [-4, 0, 4])
async def test_a_token_within_the_five_second_leeway_is_admitted(
    live_server: LiveServer, skew: int
) -> None:
    """The small clock leeway (5 s) admits honest skew, not a token from the future."""
    created = await live_server.create_session()
    sid = created["session"]["id"]
    now = int(time.time())
    token = jwt.encode(claims(sid, iat=now + skew, nbf=now + skew), SECRET, algorithm="HS256")
    assert await refused(live_server, token) is None


async def test_forged_tokens_open_no_summary(server_factory: ServerFactory) -> None:
    """The summary route's token access (docs/protocol.md, "The summary") refuses every forgery
    with 401 `unauthorized`, and still opens with the genuine therapist token."""
    server = await server_factory(auth_failure_limit=10_000)
    created = await server.create_session()
    sid = created["session"]["id"]
    url = f"{server.url}/api/v1/sessions/{sid}/summary"
    assert server.api.http is not None
    failures = []
    for name, token, _ in forgeries(sid):
        if not isinstance(token, str):
            continue
        async with server.api.http.get(url, headers={"Authorization": f"Bearer {token}"}) as r:
            body = await r.json()
            if r.status != 401 or body["error"]["code"] != "unauthorized":
                failures.append((name, r.status, body))
    assert not failures, failures
    genuine = {"Authorization": f"Bearer {created['tokens']['t-1']}"}
    async with server.api.http.get(url, headers=genuine) as r:
        assert r.status == 200

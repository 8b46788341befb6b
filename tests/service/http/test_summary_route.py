"""GET /api/v1/sessions/{id}/summary: with the tenant's API key (contract §2), or with the
session's therapist's join token in `Authorization: Bearer` (an addition, docs/protocol.md):
all three formats; a client's token, another session's, an expired one, one in the URL, or one
whose session was erased is 401 in the contract's envelope; each read is audited, naming who
read; CORS lets an allowed origin send the header; the OpenAPI document says so."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import jwt

from service.appkeys import AUDIT, LIFECYCLE, STORE
from service.pseudonyms import Pseudonyms
from service.store.base import AuditQuery
from tests.conftest import LiveServer
from tests.service.pacing_helpers import PacingFactory
from tests.service.summary.support import play
from tests.support import OTHER_KEY, SECRET

pytest_plugins = ["tests.service.pacing_fixtures"]
ORIGIN = "https://vendor.example"


async def read(
    server: LiveServer, sid: str, credential: str | None, fmt: str = "json", **headers: str
) -> tuple[int, aiohttp.typedefs.LooseHeaders, Any]:
    if credential is not None:
        headers["Authorization"] = f"Bearer {credential}"
    query = "" if fmt == "json" else f"?format={fmt}"
    assert server.api.http is not None
    async with server.api.http.get(
        f"{server.url}/api/v1/sessions/{sid}/summary{query}", headers=headers
    ) as resp:
        body = await resp.json() if resp.content_type == "application/json" else await resp.read()
        return resp.status, resp.headers, body


def refused(status: int, body: Any) -> bool:
    return status == 401 and body["error"]["code"] == "unauthorized"


async def test_a_therapists_join_token_opens_all_three_formats(
    pacing_server: LiveServer,
) -> None:
    played = await play(pacing_server, end=False)
    created_tokens = await _tokens(pacing_server, played.sid)
    token = created_tokens["t-1"]
    status, _, by_token = await read(pacing_server, played.sid, token)
    assert status == 200
    status, _, by_key = await read(pacing_server, played.sid, pacing_server.api_key)
    assert by_token["cues"] == by_key["cues"] and by_token["counts"] == by_key["counts"]
    for cid, client in by_token["clients"].items():  # an open pause grows between two reads
        assert {**client, "paused_seconds": 0} == {**by_key["clients"][cid], "paused_seconds": 0}
    status, headers, fhir = await read(pacing_server, played.sid, token, "fhir")
    assert status == 200 and headers["Content-Type"].startswith("application/fhir+json")
    assert b'"resourceType":"Bundle"' in fhir
    status, headers, svg = await read(pacing_server, played.sid, token, "svg")
    assert status == 200 and svg.startswith(b"<svg")
    assert headers["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'"
    assert headers["Cache-Control"] == "no-store"
    status, _, body = await read(pacing_server, played.sid, token, "pdf")
    assert status == 400 and body["error"]["code"] == "invalid_body"
    # After the end too: the summary is final, and the token still opens it.
    await pacing_server.api.call("POST", f"/api/v1/sessions/{played.sid}/end")
    status, _, final = await read(pacing_server, played.sid, token)
    assert status == 200 and final["session"]["state"] == "ended"


async def test_a_clients_token_another_sessions_and_a_bad_one_are_refused(
    pacing_factory: PacingFactory,
) -> None:
    pacing_server = await pacing_factory(auth_failure_limit=1000)
    created = await pacing_server.create_session(clients=2)
    sid, tokens = created["session"]["id"], created["tokens"]
    other = await pacing_server.create_session()
    foreign = await pacing_server.api.call("POST", "/api/v1/sessions", _body(), key=OTHER_KEY)
    assert foreign[0] == 201
    now = int(time.time())
    expired = jwt.encode(
        {
            "sub": "t-1",
            "sid": sid,
            "role": "therapist",
            "aud": "comfort",
            "iat": now - 99,
            "exp": now - 60,
        },
        SECRET,
        algorithm="HS256",
    )
    forged = jwt.encode(
        {
            "sub": "t-1",
            "sid": sid,
            "role": "therapist",
            "aud": "comfort",
            "iat": now,
            "exp": now + 60,
        },
        "not-the-secret-key-of-this-service-0123456789",
        algorithm="HS256",
    )
    role_lie = pacing_server.app[LIFECYCLE].tokens.mint(sid, "c-1", "therapist")
    for credential in (
        tokens["c-1"],  # a client of this session
        tokens["c-2"],
        other["tokens"]["t-1"],  # a therapist of another session of the same tenant
        foreign[1]["tokens"]["t-1"],  # a therapist of another tenant's session
        expired,
        forged,
        role_lie,  # a client's id with the therapist's role claimed
        "a.b.c",
        None,
    ):
        for fmt in ("json", "fhir", "svg"):
            status, headers, body = await read(pacing_server, sid, credential, fmt)
            assert refused(status, body), (credential, fmt, status, body)
            assert headers["Content-Type"].startswith("application/json")
            if credential:
                assert credential not in str(body)
    # Never from the URL: a token in the query opens nothing.
    status, _, body = await read(pacing_server, sid, None, token=tokens["t-1"])
    assert refused(status, body)
    assert pacing_server.api.http is not None
    async with pacing_server.api.http.get(
        f"{pacing_server.url}/api/v1/sessions/{sid}/summary?token={tokens['t-1']}"
    ) as resp:
        assert resp.status == 401


async def test_a_token_opens_nothing_once_its_session_is_erased(
    pacing_server: LiveServer,
) -> None:
    created = await pacing_server.create_session()
    sid, token = created["session"]["id"], created["tokens"]["t-1"]
    assert (await read(pacing_server, sid, token))[0] == 200
    status, _ = await pacing_server.api.call("DELETE", f"/api/v1/sessions/{sid}")
    assert status == 204
    for fmt in ("json", "fhir", "svg"):
        status, _, body = await read(pacing_server, sid, token, fmt)
        assert refused(status, body), (fmt, body)
    status, _, body = await read(pacing_server, sid, pacing_server.api_key)
    assert status == 404 and body["error"]["code"] == "session_not_found"


async def test_each_read_is_audited_naming_the_therapist_or_the_tenant(
    pacing_server: LiveServer,
) -> None:
    created = await pacing_server.create_session()
    sid, tokens = created["session"]["id"], created["tokens"]
    await read(pacing_server, sid, tokens["t-1"], "fhir")
    await read(pacing_server, sid, pacing_server.api_key)
    await read(pacing_server, sid, tokens["c-1"])
    await pacing_server.app[AUDIT].flush(close_window=True)
    entries = await pacing_server.app[STORE].read_audit(AuditQuery(session_id=sid))
    seen = [(e.actor, e.action, e.outcome, e.tenant_id) for e in entries]
    route = "rest.GET /api/v1/sessions/{session_id}/summary"
    # The therapist is named by its pseudonym (service/pseudonyms.py), never its id.
    therapist, client = (
        "participant:" + Pseudonyms(SECRET).pseudonym(sid, p) for p in ("t-1", "c-1")
    )
    assert (therapist, "summary.read", "ok", "demo") in seen
    assert (therapist, route, "200", "demo") in seen
    assert ("tenant:demo", "summary.read", "ok", "demo") in seen
    # The client's token proved nothing here: its refusal is counted, with no session named.
    refusals = await pacing_server.app[STORE].read_audit(AuditQuery(action_prefix=route))
    assert [
        (e.actor, e.outcome, e.detail["count"]) for e in refusals if e.actor == "anonymous"
    ] == [("anonymous", "401", 1)]
    assert not any(e.actor == client for e in entries)
    read_by_token = next(e for e in entries if e.action == "summary.read" and e.actor == therapist)
    assert read_by_token.detail == {"format": "fhir"}
    assert all(token not in repr(entries) for token in tokens.values())


async def test_refused_tokens_count_toward_the_address_throttle(
    pacing_factory: PacingFactory,
) -> None:
    server = await pacing_factory(auth_failure_limit=3)
    created = await server.create_session()
    sid, tokens = created["session"]["id"], created["tokens"]
    for _ in range(3):
        assert (await read(server, sid, tokens["c-1"]))[0] == 401
    status, _, body = await read(server, sid, tokens["c-1"])
    assert status == 429 and body["error"]["code"] == "rate_limited"
    # A credential that opens the summary is never refused for other requests' failures
    # (contract §9.5): it is checked first, and only failures are throttled.
    assert (await read(server, sid, tokens["t-1"]))[0] == 200


async def test_an_allowed_origin_may_send_the_token_header(pacing_factory: PacingFactory) -> None:
    server = await pacing_factory(allowed_origins=[ORIGIN])
    created = await server.create_session()
    sid, token = created["session"]["id"], created["tokens"]["t-1"]
    url = f"{server.url}/api/v1/sessions/{sid}/summary"
    assert server.api.http is not None
    preflight = {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
    }
    async with server.api.http.options(url, headers=preflight) as resp:
        assert resp.status == 204
        assert resp.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert "GET" in resp.headers["Access-Control-Allow-Methods"]
        allowed = {
            h.strip().lower() for h in resp.headers["Access-Control-Allow-Headers"].split(",")
        }
        assert "authorization" in allowed
    status, headers, _ = await read(server, sid, token, Origin=ORIGIN)
    assert status == 200 and headers["Access-Control-Allow-Origin"] == ORIGIN
    evil = {**preflight, "Origin": "https://evil.example"}
    async with server.api.http.options(url, headers=evil) as resp:
        assert "Access-Control-Allow-Origin" not in resp.headers


async def test_the_summary_refuses_unknown_formats_other_tenants_and_missing_keys(
    pacing_server: LiveServer,
) -> None:
    created = await pacing_server.create_session()
    sid = created["session"]["id"]
    status, body = await pacing_server.api.call("GET", f"/api/v1/sessions/{sid}/summary?format=pdf")
    assert status == 400 and body["error"]["code"] == "invalid_body"
    status, body = await pacing_server.api.call(
        "GET", f"/api/v1/sessions/{sid}/summary", key=OTHER_KEY
    )
    assert status == 404 and body["error"]["code"] == "session_not_found"
    status, body = await pacing_server.api.call(
        "GET", f"/api/v1/sessions/{sid}/summary", key="not-a-key-at-all-0000"
    )
    assert status == 401


async def test_openapi_lists_the_summary_route_with_both_ways_in(
    pacing_server: LiveServer,
) -> None:
    status, doc = await pacing_server.api.call("GET", "/api/v1/openapi.json")
    assert status == 200
    op = doc["paths"]["/api/v1/sessions/{session_id}/summary"]["get"]
    assert any(p["name"] == "format" for p in op["parameters"])
    assert op["security"] == [{"tenantKey": []}, {"therapistJoinToken": []}]
    schemes = doc["components"]["securitySchemes"]
    assert schemes["therapistJoinToken"]["scheme"] == "bearer"
    assert schemes["therapistJoinToken"]["bearerFormat"] == "JWT"
    others = [
        o
        for path, ops in doc["paths"].items()
        for o in ops.values()
        if path.startswith("/api/v1/sessions") and "summary" not in path
    ]
    assert others and all(o["security"] == [{"tenantKey": []}] for o in others)
    answer = doc["components"]["schemas"]["ClientSummaryOut"]["properties"]
    assert {"pause_spans", "help_now"} <= set(answer)
    span = doc["components"]["schemas"]["PauseSpan"]["properties"]
    assert set(span) == {"seq", "from", "to", "pressed_at"}  # pressed_at: an offline press


async def _tokens(server: LiveServer, sid: str) -> dict[str, str]:
    tokens = {}
    for pid in ("t-1", "c-1"):
        status, body = await server.api.call(
            "POST", f"/api/v1/sessions/{sid}/tokens", {"participant_id": pid}
        )
        assert status == 200, body
        tokens[pid] = body["token"]
    return tokens


def _body() -> dict[str, Any]:
    from tests.support import session_body

    return session_body()

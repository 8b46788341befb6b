"""The REST API (contract §2, service/http/api.py and the lifecycle behind it): bodies, errors,
the session's lifecycle, and tenants."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from pathlib import Path

import aiohttp
import pytest

from service.http.api import ROUTES
from tests.conftest import LiveServer
from tests.service.pacing.support import STORES, fresh_postgres, serving
from tests.support import OTHER_KEY, raw_status_line, session_body


async def test_create_answers_session_and_a_token_per_participant(live_server: LiveServer):
    status, body = await live_server.api.call(
        "POST", "/api/v1/sessions", session_body(2, scheduled_minutes=30)
    )
    assert status == 201
    session = body["session"]
    assert set(session) == {
        "id",
        "platform",
        "external_id",
        "state",
        "created_at",
        "started_at",
        "ended_at",
        "scheduled_minutes",
        "participants",
        "head_seq",
        "epoch",
        "settings",  # an addition: {"safety": …} (docs/protocol.md)
    }
    assert session["settings"] == {"safety": None}  # the demo tenant has no plan; none invented
    assert (
        session["state"] == "open"
        and session["head_seq"] == 0
        and session["scheduled_minutes"] == 30
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", session["created_at"])
    assert set(body["tokens"]) == {"t-1", "c-1", "c-2"}
    assert {p["id"]: p["connected"] for p in session["participants"]} == {
        "t-1": False,
        "c-1": False,
        "c-2": False,
    }


def bad_bodies():
    good = session_body()
    yield {**good, "platform": "skype"}
    yield {**good, "participants": [{"id": "t-1", "role": "therapist"}]}
    yield {
        **good,
        "participants": [{"id": "t-1", "role": "therapist"}, {"id": "t-2", "role": "therapist"}],
    }
    yield {
        **good,
        "participants": [{"id": "a", "role": "therapist"}, {"id": "a", "role": "client"}],
    }
    yield {**good, "participants": [{"id": "", "role": "therapist"}, {"id": "c", "role": "client"}]}
    yield {
        **good,
        "participants": [{"id": "x" * 129, "role": "therapist"}, {"id": "c", "role": "client"}],
    }
    yield {**good, "participants": [{"id": "t", "role": "admin"}, {"id": "c", "role": "client"}]}
    yield {**good, "scheduled_minutes": "50"}
    yield {**good, "scheduled_minutes": 0}
    yield {**good, "settings": {"cues": {"no_such_rule": {}}}}
    yield {**good, "settings": {"cues": {"pause_unacknowledged": {"after_s": "soon"}}}}
    yield {**good, "settings": {"cues": {"pause_unacknowledged": {"unknown_key": 1}}}}
    yield {**good, "settings": {"cues": {"distress_high": {"enabled": "yes"}}}}
    yield {**good, "settings": {"other": 1}}
    yield {**good, "surprise": True}
    yield {k: v for k, v in good.items() if k != "external_id"}


@pytest.mark.parametrize("body", list(bad_bodies()))
async def test_invalid_bodies_are_400_invalid_body(live_server: LiveServer, body):
    status, answer = await live_server.api.call("POST", "/api/v1/sessions", body)
    assert status == 400, answer
    assert answer["error"]["code"] == "invalid_body" and answer["error"]["message"]


@pytest.mark.parametrize("raw", [b"{not json", b"[]", b"null", b"\xff\xfe", b'"text"'])
async def test_unparseable_bodies_are_400(live_server: LiveServer, raw):
    status, answer = await live_server.api.call("POST", "/api/v1/sessions", raw=raw)
    assert status == 400 and answer["error"]["code"] == "invalid_body"


async def test_oversize_body_is_413_too_large(live_server: LiveServer):
    status, answer = await live_server.api.call(
        "POST", "/api/v1/sessions", raw=b"{" + b" " * 400_000 + b"}"
    )
    assert status == 413 and answer["error"]["code"] == "too_large"


async def test_cue_settings_are_accepted_and_kept(live_server: LiveServer):
    body = session_body(
        settings={
            "cues": {"pause_unacknowledged": {"after_s": 5}, "repeated_pause": {"enabled": False}}
        }
    )
    status, answer = await live_server.api.call("POST", "/api/v1/sessions", body)
    assert status == 201, answer


async def test_second_open_session_for_the_same_meeting_is_conflict(live_server: LiveServer):
    body = session_body()
    assert (await live_server.api.call("POST", "/api/v1/sessions", body))[0] == 201
    status, answer = await live_server.api.call("POST", "/api/v1/sessions", body)
    assert status == 409 and answer["error"]["code"] == "conflict"
    # Another tenant may use the same meeting id; and after the end, so may we.
    assert (
        await live_server.api.call("POST", "/api/v1/sessions", body, key=live_server.other_key)
    )[0] == 201
    status, first = await live_server.api.call("GET", "/api/v1/sessions")
    assert status in (404, 405)


async def test_conflict_clears_once_the_session_ended(live_server: LiveServer):
    body = session_body()
    first = await live_server.api.create(**{k: v for k, v in body.items() if k != "participants"})
    sid = first["session"]["id"]
    assert (await live_server.api.call("POST", f"/api/v1/sessions/{sid}/end"))[0] == 200
    again = dict(body, external_id=first["session"]["external_id"])
    assert (await live_server.api.call("POST", "/api/v1/sessions", again))[0] == 201


async def test_tokens_events_end_and_delete(live_server: LiveServer):
    created = await live_server.create_session()
    sid = created["session"]["id"]
    status, token = await live_server.api.call(
        "POST", f"/api/v1/sessions/{sid}/tokens", {"participant_id": "c-1"}
    )
    assert status == 200 and token["token"].count(".") == 2
    status, err = await live_server.api.call(
        "POST", f"/api/v1/sessions/{sid}/tokens", {"participant_id": "zz"}
    )
    assert status == 404 and err["error"]["code"] == "participant_not_found"
    peer = await live_server.join(token["token"])
    assert peer.welcome["participant"]["id"] == "c-1"
    await peer.send("pause")
    status, log = await live_server.api.call(
        "GET", f"/api/v1/sessions/{sid}/events?after=0&limit=1"
    )
    assert status == 200 and len(log["events"]) == 1 and log["head_seq"] >= 2 and log["epoch"]
    for query in ("limit=0", "limit=1001", "limit=abc", "after=-1"):
        status, err = await live_server.api.call("GET", f"/api/v1/sessions/{sid}/events?{query}")
        assert status == 400 and err["error"]["code"] == "invalid_body", query
    status, ended = await live_server.api.call("POST", f"/api/v1/sessions/{sid}/end")
    assert status == 200 and ended["session"]["state"] == "ended" and ended["session"]["ended_at"]
    status, again = await live_server.api.call("POST", f"/api/v1/sessions/{sid}/end")
    assert status == 200 and again["session"]["head_seq"] == ended["session"]["head_seq"]
    status, err = await live_server.api.call(
        "POST", f"/api/v1/sessions/{sid}/tokens", {"participant_id": "c-1"}
    )
    assert status == 409 and err["error"]["code"] == "session_ended"
    events = await live_server.api.events(sid)
    assert [e["type"] for e in events].count("session_ended") == 1
    assert events[-1]["type"] == "session_ended" and events[-1]["data"] == {"by": "vendor"}
    assert (await live_server.api.call("DELETE", f"/api/v1/sessions/{sid}"))[0] == 204
    for method, path in (("GET", ""), ("GET", "/events"), ("POST", "/end"), ("DELETE", "")):
        status, err = await live_server.api.call(method, f"/api/v1/sessions/{sid}{path}")
        assert status == 404 and err["error"]["code"] == "session_not_found"


async def test_delete_disconnects_sockets(live_server: LiveServer):
    created = await live_server.create_session()
    peer = await live_server.join(created["tokens"]["c-1"])
    assert (await live_server.api.call("DELETE", f"/api/v1/sessions/{created['session']['id']}"))[
        0
    ] == 204
    await peer.wait_for(lambda: not peer.client.connected)


async def test_every_session_route_refuses_other_tenants_and_missing_keys(server_factory):
    """The route list comes from the application itself, so a new route is covered too."""
    live_server = await server_factory(auth_failure_limit=10_000)
    created = await live_server.create_session()
    sid = created["session"]["id"]
    routes = [
        (r.method, r.resource.canonical)
        for r in live_server.app.router.routes()
        if r.resource is not None
        and r.resource.canonical.startswith("/api/v1/sessions")
        and r.method != "HEAD"
    ]
    assert len(routes) >= 6
    bodies = {
        "/api/v1/sessions": session_body(),
        "/api/v1/sessions/{session_id}/tokens": {"participant_id": "c-1"},
    }
    for method, path in routes:
        url = _concrete(path, sid)
        for key in ("", "wrong-key-0123456789abcdef"):
            status, err = await live_server.api.call(method, url, bodies.get(path), key=key or " ")
            assert status == 401 and err["error"]["code"] == "unauthorized", (method, path)
        if "{session_id}" in path:
            status, err = await live_server.api.call(
                method, url, bodies.get(path), key=live_server.other_key
            )
            assert status == 404 and err["error"]["code"] == "session_not_found", (method, path)
    status, body = await live_server.api.call("GET", f"/api/v1/sessions/{sid}")
    assert status == 200 and body["session"]["state"] == "open"


def _concrete(path: str, sid: str) -> str:
    return path.replace("{session_id}", sid)


# -- contract §9.5: the one decoding boundary, the text rules, limits -------------------------

# A raw byte 0xFF, a control character (C0, tab and newline included, and C1), a non-character
# and a lone surrogate: each breaks §9.5's text rules.
UNUSABLE_TEXT = ["c-\x00", "c\t1", "c\n1", "c-\x85", "c-\ufffe", "c-\U0010ffff", "c-\ud83d"]


def with_client(field: str, value: str) -> dict[str, object]:
    body = session_body()
    if field == "external_id":
        body["external_id"] = value
    else:
        body["participants"][1][field] = value
    return body


@pytest.mark.parametrize("value", UNUSABLE_TEXT)
@pytest.mark.parametrize("field", ["id", "display_name", "platform_ref", "external_id"])
async def test_ids_and_names_breaking_the_text_rules_are_400(
    live_server: LiveServer, field: str, value: str
):
    status, answer = await live_server.api.call(
        "POST", "/api/v1/sessions", with_client(field, value)
    )
    assert status == 400 and answer["error"]["code"] == "invalid_body", answer
    # The message names the rule, never the value.
    assert value not in answer["error"]["message"]


@pytest.mark.parametrize("value", UNUSABLE_TEXT)
async def test_a_token_for_a_participant_id_breaking_the_text_rules_is_400(
    live_server: LiveServer, value: str
):
    created = await live_server.create_session()
    status, answer = await live_server.api.call(
        "POST", f"/api/v1/sessions/{created['session']['id']}/tokens", {"participant_id": value}
    )
    assert status == 400 and answer["error"]["code"] == "invalid_body", answer


async def test_text_within_the_rules_is_kept(live_server: LiveServer):
    body = with_client("display_name", "Zoë \u200b Ünïcode 😀 ﷽")
    body["participants"][1]["id"] = "c-ü😀"
    status, answer = await live_server.api.call("POST", "/api/v1/sessions", body)
    assert status == 201, answer
    assert {p["id"] for p in answer["session"]["participants"]} == {"t-1", "c-ü😀"}


@pytest.mark.parametrize(
    "raw",
    [
        b'{"platform": "generic", "external_id": "\\ud83d", "participants": []}',
        b'{"\\udc00": 1}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"settings": ' * 40 + b"{}" + b"}" * 40,
        b'{"a": "\xed\xa0\xbd"}',
        b"[1e400]",
    ],
)
async def test_bodies_the_decoding_boundary_refuses_are_400(live_server: LiveServer, raw: bytes):
    for path in ("/api/v1/sessions", "/api/v1/sessions/ses_none/tokens"):
        status, answer = await live_server.api.call("POST", path, raw=raw)
        assert status == 400 and answer["error"]["code"] == "invalid_body", (path, answer)


raw_status = raw_status_line


async def test_an_unreadable_authorization_header_is_a_wrong_key_on_every_route(
    server_factory,
):
    """A raw 0xFF byte in `Authorization` (aiohttp reads it as a lone surrogate) is 401 as a
    wrong key is, on every route, the summary's token access included; and it counts as one."""
    server = await server_factory(auth_failure_limit=10_000)
    created = await server.create_session()
    sid = created["session"]["id"]
    credentials = [server.api_key.encode(), created["tokens"]["t-1"].encode()]
    for route in ROUTES:
        for credential in credentials:
            head = f"{route.method} {_concrete(route.path, sid)} HTTP/1.1\r\n".encode()
            status = await raw_status(
                server.url,
                head + b"Host: t\r\nConnection: close\r\nContent-Length: 0\r\n"
                b"Authorization: Bearer " + credential + b"\xff\r\n\r\n",
            )
            assert status.startswith(b"HTTP/1.1 401"), (route.path, status)


async def test_the_unreadable_key_counts_against_the_guessing_throttle(server_factory):
    server = await server_factory(auth_failure_limit=2)
    request = (
        b"GET /api/v1/sessions/x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
        b"Authorization: Bearer \xff\xfe-0123456789\r\n\r\n"
    )
    statuses = [await raw_status(server.url, request) for _ in range(3)]
    assert [s[:12] for s in statuses] == [b"HTTP/1.1 401"] * 2 + [b"HTTP/1.1 429"]


async def test_a_body_that_trickles_in_is_answered_408_request_timeout(server_factory):
    """`COMFORT_BODY_TIMEOUT_SECONDS`: a body sent a byte at a time, that would take far longer
    than the deadline, is cut short with a structured 408."""
    server = await server_factory(body_timeout_seconds=0.5)
    body = json.dumps(session_body()).encode()
    host, port = server.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))

    async def trickle() -> None:
        for byte in body:
            writer.write(bytes([byte]))
            await writer.drain()
            await asyncio.sleep(0.2)

    writer.write(
        b"POST /api/v1/sessions HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + server.api_key.encode() + b"\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    sending = asyncio.create_task(trickle())
    try:
        status = await asyncio.wait_for(reader.readline(), 10)
        assert status.startswith(b"HTTP/1.1 408"), status
        headers = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        length = int(re.search(rb"Content-Length: (\d+)", headers, re.I)[1])  # type: ignore[index]
        answer = json.loads(await asyncio.wait_for(reader.readexactly(length), 10))
        assert answer["error"]["code"] == "request_timeout"
    finally:
        sending.cancel()
        writer.close()
    # Nothing was created, and the service answers the next caller at once.
    status, answer = await server.api.call("POST", "/api/v1/sessions", session_body())
    assert status == 201, answer


@pytest.fixture(params=STORES)
async def quota_server(request: pytest.FixtureRequest, tmp_path: Path):
    """A service holding at most 2 sessions not ended per tenant, on SQLite and on PostgreSQL."""
    async with contextlib.AsyncExitStack() as stack:
        settings: dict[str, object] = {"max_sessions_per_tenant": 2}
        if request.param == "postgresql":
            settings["database_url"] = await stack.enter_async_context(fresh_postgres())
        yield await stack.enter_async_context(serving(tmp_path, None, **settings))


async def test_a_tenant_past_its_session_quota_is_429_quota_exceeded(quota_server: LiveServer):
    api = quota_server.api
    first = await quota_server.create_session()
    await quota_server.create_session()
    status, answer = await api.call("POST", "/api/v1/sessions", session_body())
    assert status == 429 and answer["error"]["code"] == "quota_exceeded", answer
    # Another tenant has its own quota.
    status, _ = await api.call("POST", "/api/v1/sessions", session_body(), key=OTHER_KEY)
    assert status == 201
    # An ended session no longer counts; an erased one neither.
    await api.call("POST", f"/api/v1/sessions/{first['session']['id']}/end")
    third = await quota_server.create_session()
    assert (await api.call("POST", "/api/v1/sessions", session_body()))[0] == 429
    assert (await api.call("DELETE", f"/api/v1/sessions/{third['session']['id']}"))[0] == 204
    assert (await api.call("POST", "/api/v1/sessions", session_body()))[0] == 201


async def test_no_session_quota_with_zero(server_factory):
    server = await server_factory(max_sessions_per_tenant=0)
    for _ in range(3):
        await server.create_session()
    assert (await server.api.call("POST", "/api/v1/sessions", session_body()))[0] == 201


@pytest.mark.parametrize("coding", ["gzip", "deflate"])
async def test_a_body_not_in_the_content_encoding_it_names_is_400(live_server, coding):
    """Found by tests/fuzz: a body that says `Content-Encoding: gzip` and is not gzip was a 500;
    it is the client's error, answered `invalid_body` like any body that cannot be read (or
    refused 400 by aiohttp's parser itself, when it fails before the route runs)."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            live_server.url + "/api/v1/sessions",
            data=b'{"not": "compressed"}',
            headers={
                "Authorization": f"Bearer {live_server.api_key}",
                "Content-Encoding": coding,
                "Content-Type": "application/json",
            },
        ) as answer,
    ):
        assert answer.status == 400, await answer.text()
        if answer.content_type == "application/json":
            assert (await answer.json())["error"]["code"] == "invalid_body"

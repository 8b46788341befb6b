"""The OpenAPI document (service/http/openapi.py): served, and made from the routes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import jsonschema_rs

from service.http.api import ROUTES
from service.http.openapi import build_openapi, route_error_codes
from tests.conftest import LiveServer, ServerFactory
from tests.support import session_body


async def test_openapi_is_served_and_matches_the_routes(live_server: LiveServer):
    async with live_server.api.http.get(live_server.url + "/api/v1/openapi.json") as r:
        assert r.status == 200
        doc = await r.json()
    assert doc["openapi"].startswith("3.1")
    served = {
        (r.method.lower(), r.resource.canonical)
        for r in live_server.app.router.routes()
        if r.resource is not None
        and r.resource.canonical.startswith("/api/v1/sessions")
        and r.method != "HEAD"
    }
    documented = {
        (m, p) for p, ops in doc["paths"].items() if p.startswith("/api/v1/sessions") for m in ops
    }
    assert served == documented
    create = doc["paths"]["/api/v1/sessions"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    name = create["$ref"].rsplit("/", 1)[-1]
    schema = doc["components"]["schemas"][name]
    assert set(schema["required"]) == {"platform", "external_id", "participants"}
    assert schema["additionalProperties"] is False
    for route in ROUTES:
        op = doc["paths"][route.path][route.method.lower()]
        assert str(route.status) in op["responses"]
    assert build_openapi() == doc


# ---- complete enough to generate a client (issue 17) --------------------------------------

# aiohttp's canonical form of the one route the document spells out per module.
DOCUMENTED_AS = {
    "/integrations/{path}": {"/integrations/{platform}/sdk.js", "/integrations/sdk-contract.js"}
}
NOT_HTTP = ("/socket.io/",)  # the Socket.IO endpoint: docs/protocol.md, not OpenAPI


def test_every_route_the_service_serves_is_documented(live_server: LiveServer):
    doc = build_openapi()
    served: set[tuple[str, str]] = set()
    for route in live_server.app.router.routes():
        if route.resource is None or route.method in ("HEAD", "*"):
            continue
        path = route.resource.canonical
        if path.startswith(NOT_HTTP):
            continue
        for documented in DOCUMENTED_AS.get(path, {path}):
            served.add((route.method.lower(), documented))
    documented = {(m, p) for p, ops in doc["paths"].items() for m in ops}
    assert served == documented
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            assert op["operationId"] and op["summary"] and op["responses"], (method, path)
            assert "security" in op, (method, path)
            assert any(s.startswith("2") for s in op["responses"]), (method, path)


def _examples(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], Any]]:
    """Every example of the document with its schema: (where, schema, value)."""
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            bodies = [("request", op.get("requestBody", {}).get("content", {}))]
            bodies += [(s, r.get("content", {})) for s, r in op["responses"].items()]
            for where, content in bodies:
                for media, item in content.items():
                    label = f"{method.upper()} {path} {where} {media}"
                    if "example" in item:
                        yield label, item["schema"], item["example"]
                    for name, example in item.get("examples", {}).items():
                        yield f"{label} {name}", item["schema"], example["value"]


def test_every_example_matches_its_schema():
    doc = build_openapi()
    examples = list(_examples(doc))
    assert len(examples) > 40
    for where, schema, value in examples:
        validator = jsonschema_rs.validator_for(
            {**schema, "components": doc["components"]}, validate_formats=True
        )
        errors = [e.message for e in validator.iter_errors(value)]
        assert errors == [], (where, errors)


def test_each_rest_route_lists_its_error_codes_with_an_example_of_each():
    doc = build_openapi()
    for route in ROUTES:
        op = doc["paths"][route.path][route.method.lower()]
        for status, codes in route_error_codes(route).items():
            answer = op["responses"][str(status)]
            assert set(answer["content"]["application/json"]["examples"]) == set(codes)
            assert all(f"`{code}`" in answer["description"] for code in codes)


def documented_codes(method: str, path: str, status: int) -> set[str]:
    answer = build_openapi()["paths"][path][method.lower()]["responses"].get(str(status))
    assert answer is not None, f"{method} {path} answered {status}, which is not documented"
    return set(answer["content"]["application/json"]["examples"])


async def test_the_errors_the_service_answers_are_the_documented_ones(
    server_factory: ServerFactory,
):
    """Each REST route's error answers, provoked for real: the status and the code are among
    those the document lists for that route."""
    server = await server_factory()
    created = await server.create_session()
    sid = created["session"]["id"]
    session = "/api/v1/sessions/{session_id}"
    http, url = server.api.http, server.url
    key = {"Authorization": f"Bearer {server.api_key}"}
    body = session_body()
    cases: list[tuple[str, str, str, dict[str, Any], Any, str]] = [
        ("POST", "/api/v1/sessions", "/api/v1/sessions", key, {"platform": "x"}, "invalid_body"),
        ("POST", "/api/v1/sessions", "/api/v1/sessions", {}, body, "unauthorized"),
        ("POST", "/api/v1/sessions", "/api/v1/sessions", key, body, "conflict"),
        ("POST", "/api/v1/sessions", "/api/v1/sessions", key, "x" * 300_000, "too_large"),
        ("GET", session, f"/api/v1/sessions/{sid}x", key, None, "session_not_found"),
        (
            "GET",
            session + "/events",
            f"/api/v1/sessions/{sid}/events?limit=0",
            key,
            None,
            "invalid_body",
        ),
        (
            "GET",
            session + "/summary",
            f"/api/v1/sessions/{sid}/summary?format=pdf",
            key,
            None,
            "invalid_body",
        ),
        (
            "POST",
            session + "/tokens",
            f"/api/v1/sessions/{sid}/tokens",
            key,
            {"participant_id": "nobody"},
            "participant_not_found",
        ),
        ("POST", session + "/tokens", f"/api/v1/sessions/{sid}/tokens", key, {}, "invalid_body"),
        ("POST", session + "/end", f"/api/v1/sessions/{sid}x/end", key, None, "session_not_found"),
        ("DELETE", session, f"/api/v1/sessions/{sid}x", key, None, "session_not_found"),
    ]
    await server.create_session(external_id="dup")
    for method, path, target, headers, sent, code in cases:
        if code == "conflict":
            sent = {**session_body(), "external_id": "dup"}
        kwargs: dict[str, Any] = {"headers": {**headers}}
        if isinstance(sent, str):
            kwargs["data"] = sent
            kwargs["headers"]["Content-Type"] = "application/json"
        elif sent is not None:
            kwargs["json"] = sent
        async with http.request(method, url + target, **kwargs) as r:
            answered = (await r.json())["error"]["code"]
            assert answered == code, (method, target, answered)
            assert code in documented_codes(method, path, r.status), (method, path, r.status)
    # session_ended: a token for a session that has ended.
    await server.api.call("POST", f"/api/v1/sessions/{sid}/end")
    async with http.post(
        f"{url}/api/v1/sessions/{sid}/tokens", headers=key, json={"participant_id": "c-1"}
    ) as r:
        assert (await r.json())["error"]["code"] == "session_ended"
        assert "session_ended" in documented_codes("POST", session + "/tokens", r.status)
    # rate_limited: past ten wrong keys from one address, every route answers a wrong key 429
    # (a right one is never refused for other requests' failures, contract §9.5).
    for i in range(10):
        await server.api.call("GET", f"/api/v1/sessions/{sid}", key=f"wrong-{i:02d}-0123456789")
    wrong = {"Authorization": "Bearer wrong-final-0123456789"}
    for route in ROUTES:
        target = route.path.replace("{session_id}", sid)
        async with http.request(route.method, url + target, headers=wrong) as r:
            assert r.status == 429
            assert "rate_limited" in documented_codes(route.method, route.path, 429)


async def test_the_limits_answers_are_documented(server_factory: ServerFactory):
    """The additions of issue 13, provoked for real: `quota_exceeded` (429) creating a session,
    `request_timeout` (408) for a body that does not arrive (REST and webhook routes)."""
    server = await server_factory(max_sessions_per_tenant=1, body_timeout_seconds=0.2)
    await server.create_session()
    status, answer = await server.api.call("POST", "/api/v1/sessions", session_body())
    assert answer["error"]["code"] == "quota_exceeded"
    assert "quota_exceeded" in documented_codes("POST", "/api/v1/sessions", status)
    host, port = server.url.removeprefix("http://").split(":")
    for target, path in (
        ("/api/v1/sessions", "/api/v1/sessions"),
        ("/api/v1/sessions/ses_x/tokens", "/api/v1/sessions/{session_id}/tokens"),
    ):
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(
            f"POST {target} HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n"
            f"Authorization: Bearer {server.api_key}\r\n\r\n{{".encode()
        )
        try:
            status_line = await asyncio.wait_for(reader.readline(), 10)
            rest = await asyncio.wait_for(reader.readuntil(b"}}"), 10)
        finally:
            writer.close()
        assert b'"code":"request_timeout"' in rest
        assert "request_timeout" in documented_codes("POST", path, int(status_line.split()[1]))
    webhook = build_openapi()["paths"]["/webhooks/{tenant}/{platform}"]["post"]["responses"]
    assert "request_timeout" in webhook["408"]["content"]["application/json"]["examples"]

"""HTTP hardening (service/http/security.py): the API-key throttle, CORS, security headers."""

from __future__ import annotations

from tests.conftest import LiveServer
from tests.support import session_body


async def test_api_key_guessing_is_throttled_per_address(live_server: LiveServer):
    for i in range(10):
        status, err = await live_server.api.call(
            "GET", "/api/v1/sessions/x", key=f"guess-{i:02d}-0123456789abcdef"
        )
        assert status in (401, 404), err
    status, err = await live_server.api.call(
        "GET", "/api/v1/sessions/x", key="guess-final-0123456789abcdef"
    )
    assert status == 429 and err["error"]["code"] == "rate_limited"
    # The right key is never refused because of other requests' failures (contract §9.5), from
    # the same address too: it is checked first, and only failures are throttled.
    status, err = await live_server.api.call("POST", "/api/v1/sessions", session_body())
    assert status == 201, err


async def test_cors_answers_only_allowed_origins(server_factory):
    server = await server_factory(allowed_origins=["https://vendor.example"])
    http = server.api.http
    headers = {"Origin": "https://vendor.example", "Access-Control-Request-Method": "POST"}
    async with http.options(server.url + "/api/v1/sessions", headers=headers) as r:
        assert (
            r.status == 204 and r.headers["Access-Control-Allow-Origin"] == "https://vendor.example"
        )
    bad = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    async with http.options(server.url + "/api/v1/sessions", headers=bad) as r:
        assert "Access-Control-Allow-Origin" not in r.headers
    async with http.get(server.url + "/healthz", headers={"Origin": "https://evil.example"}) as r:
        assert "Access-Control-Allow-Origin" not in r.headers


async def test_error_answers_carry_the_same_cors_headers_as_successes(server_factory):
    """Contract §9.7: a browser page on an allowed origin can read why its call failed."""
    server = await server_factory(allowed_origins=["https://vendor.example"])
    http, url = server.api.http, server.url
    allowed = {"Origin": "https://vendor.example"}
    key = {"Authorization": f"Bearer {server.api_key}"}
    cases = [
        ("GET", "/api/v1/sessions/nope", key, 404, "session_not_found"),
        ("GET", "/api/v1/sessions/nope", {}, 401, "unauthorized"),
        ("POST", "/api/v1/sessions", key, 400, "invalid_body"),
        ("GET", "/api/v1/nothing", key, 404, "not_found"),
        ("PUT", "/api/v1/sessions", key, 405, "method_not_allowed"),
    ]
    for method, path, headers, status, code in cases:
        async with http.request(method, url + path, headers={**allowed, **headers}) as r:
            assert r.status == status, path
            assert (await r.json())["error"]["code"] == code
            assert r.headers["Access-Control-Allow-Origin"] == "https://vendor.example", path
            assert r.headers["Vary"] == "Origin"
        refused = {**headers, "Origin": "https://evil.example"}
        async with http.request(method, url + path, headers=refused) as r:
            assert r.status == status and "Access-Control-Allow-Origin" not in r.headers
    async with http.post(url + "/api/v1/sessions", headers={**allowed, **key}, json={}) as r:
        assert r.status == 400
        assert r.headers["Access-Control-Allow-Origin"] == "https://vendor.example"
    async with http.get(url + "/api/v1/openapi.json", headers=allowed) as r:
        assert r.headers["Access-Control-Allow-Origin"] == "https://vendor.example"


async def test_every_json_answer_carries_the_security_headers(live_server: LiveServer):
    http = live_server.api.http
    for path in (
        "/healthz",
        "/readyz",
        "/api/v1/openapi.json",
        "/api/v1/sessions/nope",
        "/nothing",
    ):
        async with http.get(live_server.url + path, headers={"X-Forwarded-Proto": "https"}) as r:
            assert r.headers["X-Content-Type-Options"] == "nosniff", path
            assert r.headers["Referrer-Policy"] == "no-referrer", path
            assert "Strict-Transport-Security" in r.headers, path
            if r.content_type == "application/json":
                assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"], path

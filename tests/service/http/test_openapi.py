"""The OpenAPI document (service/http/openapi.py): served, and made from the routes."""

from __future__ import annotations

from service.http.api import ROUTES
from service.http.openapi import build_openapi
from tests.conftest import LiveServer


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

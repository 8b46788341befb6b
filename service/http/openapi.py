"""The OpenAPI 3.1 document of the REST API, made from `api.ROUTES` and its pydantic models."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from .. import __version__
from ..views import ErrorResponse
from .api import ROUTES, Route
from .middleware import json_response

REF = "#/components/schemas/{model}"
ERROR_TEXT = {
    400: "invalid_body",
    401: "unauthorized",
    404: "session_not_found or participant_not_found (also for another tenant's session)",
    409: "conflict or session_ended",
    413: "too_large",
    429: "rate_limited",
}


def _models() -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = [ErrorResponse]
    for route in ROUTES:
        for model in (route.body, route.answer):
            if model is not None and model not in found:
                found.append(model)
    return found


def build_openapi() -> dict[str, Any]:
    models = _models()
    keys: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (m, "validation" if any(r.body is m for r in ROUTES) else "serialization") for m in models
    ]
    mapping, definitions = models_json_schema(keys, ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, mapping)
    paths["/healthz"] = {"get": _plain("Liveness")}
    paths["/readyz"] = {"get": _plain("Readiness: fails (503) when the store is unreachable")}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Session Comfort", "version": __version__},
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {
                "tenantKey": {"type": "http", "scheme": "bearer"},
                "therapistJoinToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "A therapist's join token for this very session (an "
                    "addition: docs/protocol.md); a client's token or another session's is 401.",
                },
            },
        },
    }


def _ref(mapping: dict[Any, Any], model: type[BaseModel], mode: str) -> dict[str, Any]:
    return dict(mapping[(model, mode)])


def _operation(route: Route, mapping: dict[Any, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": route.summary,
        "operationId": route.handler.__name__,
        "security": [{scheme: []} for scheme in route.security],
        "responses": {},
    }
    params = []
    if "{session_id}" in route.path:
        params.append(
            {"name": "session_id", "in": "path", "required": True, "schema": {"type": "string"}}
        )
    if route.query is not None:
        schema = route.query.model_json_schema()
        for name, prop in schema["properties"].items():
            params.append({"name": name, "in": "query", "required": False, "schema": prop})
    if params:
        op["parameters"] = params
    if route.body is not None:
        op["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(mapping, route.body, "validation")}},
        }
    if route.answer is not None:
        op["responses"][str(route.status)] = {
            "description": "OK",
            "content": {
                "application/json": {"schema": _ref(mapping, route.answer, "serialization")}
            },
        }
    else:
        op["responses"][str(route.status)] = {"description": "No content"}
    for status in route.errors:
        op["responses"][str(status)] = {
            "description": ERROR_TEXT[status],
            "content": {
                "application/json": {"schema": _ref(mapping, ErrorResponse, "serialization")}
            },
        }
    return op


def _plain(summary: str) -> dict[str, Any]:
    return {
        "summary": summary,
        "responses": {"200": {"description": "OK"}, "503": {"description": "Not ready"}},
    }


async def openapi_endpoint(request: web.Request) -> web.Response:
    """GET /api/v1/openapi.json: this document."""
    return json_response(build_openapi())

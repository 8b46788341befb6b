"""The OpenAPI 3.1 document of the service, complete enough to generate a client (issue 17).

The REST API (contract §2) is made from `api.ROUTES` and its pydantic models, with every error
code each route can answer (`ERROR_CODES`, `ROUTE_ERROR_CODES`) and examples; the other routes
(health, readiness, metrics, the platform webhooks, the widgets' modules and pages, the origin
check) are declared here. A test holds the document to the app's router, validates every example
against its schema, and generates a typed client from it (tests/service/http/test_openapi.py).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from .. import __version__
from ..api_models import Platform
from ..summary import SummaryQuery
from ..views import ErrorResponse
from .api import ROUTES, Route
from .middleware import json_response

REF = "#/components/schemas/{model}"
ERROR = {"$ref": REF.format(model="ErrorResponse")}

# Every error code by status (contract §2), as every REST route may answer it...
ERROR_CODES: dict[int, tuple[str, ...]] = {
    400: ("invalid_body",),
    401: ("unauthorized",),
    404: ("session_not_found",),
    408: ("request_timeout",),
    409: ("session_ended",),
    413: ("too_large",),
    429: ("rate_limited",),
    500: ("internal",),
    503: ("internal",),
}
# ...and where one route answers other codes for a status (by operationId).
ROUTE_ERROR_CODES: dict[str, dict[int, tuple[str, ...]]] = {
    "create_session": {409: ("conflict",), 429: ("rate_limited", "quota_exceeded")},
    "mint_token": {404: ("session_not_found", "participant_not_found")},
}
ERROR_MESSAGES = {
    "invalid_body": "participants: at least one therapist and one client are required",
    "unauthorized": "the API key is not valid",
    "session_not_found": "no such session",
    "participant_not_found": "no such participant in this session",
    "conflict": "a session with this platform and external_id is not ended yet",
    "session_ended": "the session has ended",
    "too_large": "the body is over 262144 bytes",
    "rate_limited": "too many failed API keys from this address; wait a minute",
    "quota_exceeded": "this tenant already holds 1000 sessions not ended; end or erase one first",
    "request_timeout": "the body did not arrive within 10 s",
    "internal": "the service failed; try again",
    "not_found": "no webhook endpoint here",
    "invalid_signature": "the signature does not match",
}
ERROR_WHEN = {
    400: "The body, a query parameter or a setting is not valid",
    401: "No API key, or not a valid one",
    404: "No such session (also another tenant's)",
    408: "The body did not arrive within COMFORT_BODY_TIMEOUT_SECONDS",
    409: "In conflict with the session's state",
    413: "The body is over 256 KiB",
    429: "Too many failed API keys from this address (or, creating a session, the tenant's "
    "quota of sessions not ended is reached)",
    500: "The service failed; nothing is half done: try again",
    503: "The store is unreachable; nothing was stored: try again",
}
# Statuses every REST route may answer besides its own (`Route.errors`).
ALWAYS = (401, 429, 500, 503)

SESSION_ID = "ses_3k7ZpQ2mV9xT"
EPOCH = "ep_5Yq2W"
TIME = "2026-05-04T14:00:00Z"
JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJjLTEifQ.c2lnbmF0dXJl"
SESSION_EXAMPLE: dict[str, Any] = {
    "id": SESSION_ID,
    "platform": "zoom",
    "external_id": "85746065432",
    "state": "live",
    "created_at": TIME,
    "started_at": "2026-05-04T14:01:12Z",
    "ended_at": None,
    "scheduled_minutes": 50,
    "participants": [
        {"id": "t-1", "role": "therapist", "display_name": "Dr Tessa", "connected": True},
        {"id": "c-1", "role": "client", "display_name": None, "connected": True},
    ],
    "head_seq": 3,
    "epoch": EPOCH,
    "settings": {
        "safety": {
            "ask_location": True,
            "resources": [
                {
                    "label": "988 Suicide & Crisis Lifeline",
                    "phone": "988",
                    "sms": "988",
                    "url": "https://988lifeline.org",
                }
            ],
        }
    },
}
EVENT_EXAMPLE: dict[str, Any] = {
    "seq": 3,
    "id": "0b6f4c2e-6f7d-4d0a-9a43-2c1d7e5f8a90",
    "type": "pause",
    "at": "2026-05-04T14:12:40Z",
    "actor": {"id": "c-1", "role": "client"},
    "to": None,
    "data": {},
}
EXAMPLES: dict[str, dict[str, Any]] = {
    "CreateSessionRequest": {
        "platform": "zoom",
        "external_id": "85746065432",
        "scheduled_minutes": 50,
        "participants": [
            {"id": "t-1", "role": "therapist", "display_name": "Dr Tessa", "platform_ref": "t-1"},
            {"id": "c-1", "role": "client", "platform_ref": "c-1"},
        ],
    },
    "CreateSessionResponse": {
        "session": {**SESSION_EXAMPLE, "state": "open", "started_at": None, "head_seq": 0},
        "tokens": {"t-1": JWT, "c-1": JWT},
    },
    "SessionEnvelope": {"session": SESSION_EXAMPLE},
    "MintTokenRequest": {"participant_id": "c-1"},
    "TokenResponse": {"token": JWT},
    "EventsResponse": {"events": [EVENT_EXAMPLE], "head_seq": 3, "epoch": EPOCH},
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
    paths.update(_operator_paths())
    paths.update(_webhook_paths())
    paths.update(_browser_paths())
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Session Comfort",
            "version": __version__,
            "description": "Discreet comfort signals for video therapy sessions. The REST API "
            "(`/api/v1`) takes `Authorization: Bearer <tenant api key>`; every error is "
            '`{"error": {"code", "message"}}` with the codes listed on each answer. The '
            "real-time side is Socket.IO at `/socket.io/` (docs/protocol.md).",
        },
        "tags": [
            {"name": "sessions", "description": "The vendor's REST API (contract §2)"},
            {"name": "operations", "description": "Liveness, readiness and metrics"},
            {"name": "webhooks", "description": "Platform webhooks (contract §6)"},
            {"name": "browser", "description": "The widgets' modules and pages (contract §7)"},
        ],
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {
                "tenantKey": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The tenant's API key (the tenants file, or the demo key)",
                },
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


def _json(schema: dict[str, Any], example: Any = None) -> dict[str, Any]:
    content: dict[str, Any] = {"schema": schema}
    if example is not None:
        content["example"] = example
    return {"application/json": content}


def error_answer(description: str, codes: tuple[str, ...]) -> dict[str, Any]:
    """An error answer listing its codes, with an example of each."""
    listed = ", ".join(f"`{c}`" for c in codes)
    return {
        "description": f"{description}: {listed}",
        "content": {
            "application/json": {
                "schema": ERROR,
                "examples": {
                    code: {"value": {"error": {"code": code, "message": ERROR_MESSAGES[code]}}}
                    for code in codes
                },
            }
        },
    }


def route_error_codes(route: Route) -> dict[int, tuple[str, ...]]:
    """Every error code a REST route answers, by status."""
    statuses = {*route.errors, *ALWAYS}
    if route.body is not None:
        statuses |= {400, 408, 413}
    specific = ROUTE_ERROR_CODES.get(route.handler.__name__, {})
    return {s: specific.get(s, ERROR_CODES[s]) for s in sorted(statuses)}


def _operation(route: Route, mapping: dict[Any, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": route.summary,
        "operationId": route.handler.__name__,
        "tags": ["sessions"],
        "security": [{scheme: []} for scheme in route.security],
        "responses": {},
    }
    params: list[dict[str, Any]] = []
    if "{session_id}" in route.path:
        params.append(
            {
                "name": "session_id",
                "in": "path",
                "required": True,
                "schema": {"type": "string"},
                "example": SESSION_ID,
            }
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
            "content": _json(
                _ref(mapping, route.body, "validation"), EXAMPLES.get(route.body.__name__)
            ),
        }
    if route.answer is not None:
        content = _json(
            _ref(mapping, route.answer, "serialization"), EXAMPLES.get(route.answer.__name__)
        )
        if route.query is SummaryQuery:
            content["application/fhir+json"] = {
                "schema": {"type": "object", "description": "?format=fhir: a FHIR R4 Bundle"}
            }
            content["image/svg+xml"] = {
                "schema": {"type": "string", "description": "?format=svg: a timeline chart"}
            }
        op["responses"][str(route.status)] = {"description": "OK", "content": content}
    else:
        op["responses"][str(route.status)] = {"description": "No content"}
    for status, codes in route_error_codes(route).items():
        op["responses"][str(status)] = error_answer(ERROR_WHEN[status], codes)
    return op


def _object(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties), **extra}


def _operator_paths() -> dict[str, Any]:
    ready = _object(
        {
            "status": {"enum": ["ready", "unavailable"]},
            "store": {"enum": ["ok", "unreachable"]},
            "redis": {"enum": ["ok", "unreachable", "unset"]},
            # Additions (docs/protocol.md, Busy): new connections refused while the loop lags.
            "busy": {"type": "boolean"},
            "loop_lag_ms": {"type": "number", "minimum": 0},
        }
    )
    return {
        "/healthz": {
            "get": {
                "summary": "Liveness: the process answers",
                "operationId": "healthz",
                "tags": ["operations"],
                "security": [],
                "responses": {
                    "200": {
                        "description": "Alive",
                        "content": _json(_object({"status": {"const": "ok"}}), {"status": "ok"}),
                    }
                },
            }
        },
        "/readyz": {
            "get": {
                "summary": "Readiness: fails while the store is unreachable (a Redis outage "
                "is reported, not failed)",
                "operationId": "readyz",
                "tags": ["operations"],
                "security": [],
                "responses": {
                    "200": {
                        "description": "Ready",
                        "content": _json(
                            ready,
                            {
                                "status": "ready",
                                "store": "ok",
                                "redis": "unset",
                                "busy": False,
                                "loop_lag_ms": 0.4,
                            },
                        ),
                    },
                    "503": {
                        "description": "Not ready: the store is unreachable",
                        "content": _json(
                            ready,
                            {
                                "status": "unavailable",
                                "store": "unreachable",
                                "redis": "ok",
                                "busy": False,
                                "loop_lag_ms": 0.4,
                            },
                        ),
                    },
                },
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics (not on this listener once "
                "COMFORT_METRICS_PORT is set: then 404 here)",
                "operationId": "metrics",
                "tags": ["operations"],
                "security": [],
                "responses": {
                    "200": {
                        "description": "Prometheus text format",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    },
                    "404": error_answer("Served on the metrics listener", ("not_found",)),
                },
            }
        },
        "/api/v1/openapi.json": {
            "get": {
                "summary": "This document",
                "operationId": "openapi",
                "tags": ["operations"],
                "security": [],
                "responses": {
                    "200": {"description": "OpenAPI 3.1", "content": _json({"type": "object"})}
                },
            }
        },
    }


def _webhook_paths() -> dict[str, Any]:
    platforms = [p for p in Platform.__args__ if p != "generic"]  # type: ignore[attr-defined]
    answer = {
        "description": "Verified (also when nothing matched); or Zoom's URL validation",
        "content": _json(
            {
                "oneOf": [
                    _object(
                        {
                            "ok": {"const": True},
                            "applied": {"type": "integer"},
                            "duplicate": {"type": "integer"},
                            "ignored": {"type": "integer"},
                        }
                    ),
                    _object(
                        {"plainToken": {"type": "string"}, "encryptedToken": {"type": "string"}}
                    ),
                ]
            },
            {"ok": True, "applied": 1, "duplicate": 0, "ignored": 0},
        ),
    }
    errors = {
        "400": error_answer("Correctly signed, but not that platform's payload", ("invalid_body",)),
        "401": error_answer("Bad, missing or stale signature", ("invalid_signature",)),
        "404": error_answer("Unknown tenant, or the platform is not set up", ("not_found",)),
        "408": error_answer(ERROR_WHEN[408], ("request_timeout",)),
        "413": error_answer("A body over 256 KiB", ("too_large",)),
        "500": error_answer(ERROR_WHEN[500], ("internal",)),
        "503": error_answer(ERROR_WHEN[503], ("internal",)),
    }
    body = {
        "required": True,
        "description": "The platform's own payload, as it signs it (docs/integrations/)",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
        },
    }
    tenant = {"name": "tenant", "in": "path", "required": True, "schema": {"type": "string"}}

    def operation(operation_id: str, summary: str, params: list[Any]) -> dict[str, Any]:
        return {
            "post": {
                "summary": summary,
                "operationId": operation_id,
                "tags": ["webhooks"],
                "security": [],
                "parameters": [tenant, *params],
                "requestBody": body,
                "responses": {"200": answer, **errors},
            }
        }

    return {
        "/webhooks/{tenant}/{platform}": operation(
            "platform_webhook",
            "A platform's meeting events, verified as the platform signs them",
            [
                {
                    "name": "platform",
                    "in": "path",
                    "required": True,
                    "schema": {"enum": platforms},
                }
            ],
        ),
        "/webhooks/{tenant}/jitsi/{event}": operation(
            "jitsi_event_sync",
            "Self-hosted Jitsi's event_sync component (its four event paths)",
            [{"name": "event", "in": "path", "required": True, "schema": {"type": "string"}}],
        ),
    }


def _browser_paths() -> dict[str, Any]:
    javascript = {"text/javascript": {"schema": {"type": "string"}}}
    html = {"text/html": {"schema": {"type": "string"}}}
    not_built = {
        "description": "Not built: run `make install`",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }

    def module(operation_id: str, summary: str, params: list[Any] | None = None) -> Any:
        op: dict[str, Any] = {
            "summary": summary + " (CORS: any origin)",
            "operationId": operation_id,
            "tags": ["browser"],
            "security": [],
            "responses": {
                "200": {"description": "An ES module", "content": javascript},
                "304": {"description": "Not modified (ETag)"},
                "404": error_answer("No such module", ("not_found",)),
                "503": not_built,
            },
        }
        if params:
            op["parameters"] = params
        return {"get": op}

    def page(operation_id: str, summary: str) -> Any:
        return {
            "get": {
                "summary": summary,
                "operationId": operation_id,
                "tags": ["browser"],
                "security": [],
                "parameters": [
                    {
                        "name": "token",
                        "in": "query",
                        "required": True,
                        "schema": {"type": "string"},
                    },
                    {
                        "name": "lang",
                        "in": "query",
                        "required": False,
                        "schema": {"enum": ["en", "es"]},
                    },
                ],
                "responses": {
                    "200": {"description": "The page", "content": html},
                    "400": {"description": "No token", "content": html},
                },
            }
        }

    platform = {
        "name": "platform",
        "in": "path",
        "required": True,
        "schema": {"enum": list(Platform.__args__)},  # type: ignore[attr-defined]
    }
    return {
        "/widgets/comfort.js": module(
            "widgets_bundle",
            "The widgets: <comfort-client>, <comfort-therapist>, <comfort-summary>",
        ),
        "/integrations/{platform}/sdk.js": module(
            "platform_adapter", "A platform's client adapter, self-contained", [platform]
        ),
        "/integrations/sdk-contract.js": module(
            "adapter_contract", "The adapter contract and createPrivacyController"
        ),
        "/widgets/origin": {
            "get": {
                "summary": "Whether the requesting page's origin may open a socket here (CORS: "
                "any origin; contract §9.7)",
                "operationId": "origin_check",
                "tags": ["browser"],
                "security": [],
                "responses": {
                    "200": {
                        "description": "The socket handshake's own verdict for this Origin",
                        "content": _json(
                            _object(
                                {
                                    "origin": {"type": ["string", "null"]},
                                    "allowed": {"type": "boolean"},
                                }
                            ),
                            {"origin": "https://vendor.example", "allowed": False},
                        ),
                    }
                },
            }
        },
        "/embed/client": page("embed_client", "The client widget as a whole page"),
        "/embed/therapist": page("embed_therapist", "The therapist panel as a whole page"),
        "/demo": {
            "get": {
                "summary": "Demo mode: a new session in the demo tenant, both widgets",
                "operationId": "demo",
                "tags": ["browser"],
                "security": [],
                "responses": {
                    "200": {"description": "The demo page", "content": html},
                    "404": error_answer("The demo is off", ("not_found",)),
                    "503": {"description": "No demo tenant", "content": html},
                },
            }
        },
    }


async def openapi_endpoint(request: web.Request) -> web.Response:
    """GET /api/v1/openapi.json: this document."""
    return json_response(build_openapi())

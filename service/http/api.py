"""REST handlers for vendors (contract §2).

Each route is declared once in `ROUTES` with its body and answer models; the router and the
OpenAPI document (`openapi.py`) are both made from that table, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import orjson
import structlog
from aiohttp import web
from pydantic import BaseModel, ValidationError

from ..api_models import CreateSessionRequest, EventsQuery, MintTokenRequest
from ..appkeys import LIFECYCLE, STORE, TENANT_ID, TENANTS, THROTTLE
from ..errors import InvalidBody, RateLimited, Unauthorized, validation_message
from ..realtime.hub import SessionRuntime
from ..summary import (
    FORMATS,
    SummaryQuery,
    SummaryResponse,
    digest_session,
    fhir_bundle,
    read_log,
    timeline_svg,
)
from ..tenants import Tenant
from ..views import (
    CreateSessionResponse,
    EventsResponse,
    SessionEnvelope,
    TokenResponse,
    session_view,
)
from .middleware import json_response

log = structlog.get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    summary: str
    status: int = 200
    body: type[BaseModel] | None = None
    answer: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    errors: tuple[int, ...] = (401, 404, 429)


async def read_body(request: web.Request, model: type[M]) -> M:
    """Parse and validate a JSON body. Raises `InvalidBody` with what is wrong."""
    raw = await request.read()
    try:
        data = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        raise InvalidBody("the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise InvalidBody("the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidBody(validation_message(exc)) from None


def tenant_of(request: web.Request) -> Tenant:
    """The tenant whose API key the request carries. Raises `Unauthorized`."""
    throttle = request.app[THROTTLE]
    address = request.remote or "unknown"
    if throttle.blocked(address):
        raise RateLimited("too many failed API keys from this address; wait a minute")
    header = request.headers.get("Authorization", "")
    scheme, _, key = header.partition(" ")
    tenant = (
        request.app[TENANTS].authenticate(key.strip())
        if scheme.lower() == "bearer" and key.strip()
        else None
    )
    if tenant is None:
        throttle.failed(address)
        if not key.strip():
            raise Unauthorized("send Authorization: Bearer <api key>")
        raise Unauthorized("the API key is not valid")
    request[TENANT_ID] = tenant.id
    return tenant


async def create_session(request: web.Request) -> web.Response:
    tenant = tenant_of(request)
    body = await read_body(request, CreateSessionRequest)
    try:
        session, tokens = await request.app[LIFECYCLE].create_session(tenant.id, body, tenant)
    except ValidationError as exc:  # cue settings over the tenant's defaults
        raise InvalidBody(validation_message(exc)) from None
    return json_response(CreateSessionResponse(session=session, tokens=tokens), status=201)


async def get_session(request: web.Request) -> web.Response:
    tenant = tenant_of(request)
    lifecycle, session_id = request.app[LIFECYCLE], request.match_info["session_id"]
    return _session(await lifecycle.runtime_for(tenant.id, session_id))


async def mint_token(request: web.Request) -> web.Response:
    tenant = tenant_of(request)
    body = await read_body(request, MintTokenRequest)
    token = await request.app[LIFECYCLE].mint_token(
        tenant.id, request.match_info["session_id"], body.participant_id
    )
    return json_response(TokenResponse(token=token))


async def list_events(request: web.Request) -> web.Response:
    tenant = tenant_of(request)
    try:
        query = EventsQuery.model_validate(dict(request.query))
    except ValidationError as exc:
        raise InvalidBody(validation_message(exc)) from None
    answer = await request.app[LIFECYCLE].read_events(
        tenant.id, request.match_info["session_id"], query.after, query.limit
    )
    return json_response(answer)


async def end_session(request: web.Request) -> web.Response:
    tenant = tenant_of(request)
    lifecycle, session_id = request.app[LIFECYCLE], request.match_info["session_id"]
    return _session(await lifecycle.end_session(tenant.id, session_id))


def _session(runtime: SessionRuntime) -> web.Response:
    return json_response(SessionEnvelope(session=session_view(runtime)))


async def delete_session(request: web.Request) -> web.Response:
    tenant = tenant_of(request)
    await request.app[LIFECYCLE].erase_session(tenant.id, request.match_info["session_id"])
    return web.Response(status=204)


async def get_summary(request: web.Request) -> web.Response:
    """GET /api/v1/sessions/{session_id}/summary[?format=json|fhir|svg]."""
    tenant = tenant_of(request)
    fmt = request.query.get("format", "json")
    if fmt not in FORMATS:
        raise InvalidBody("format: one of json, fhir, svg")
    runtime = await request.app[LIFECYCLE].runtime_for(tenant.id, request.match_info["session_id"])
    events = await read_log(request.app[STORE], runtime.id)
    now = datetime.now(UTC)
    digest = digest_session(session_view(runtime), runtime.record, events, now)
    headers = {"Cache-Control": "no-store"}
    if fmt == "fhir":
        return web.Response(
            body=orjson.dumps(fhir_bundle(digest, now)),
            content_type="application/fhir+json",
            headers=headers,
        )
    if fmt == "svg":
        return web.Response(
            text=timeline_svg(digest), content_type="image/svg+xml", headers=headers
        )
    return json_response(digest.as_out())


SESSION = "/api/v1/sessions/{session_id}"
ROUTES: tuple[Route, ...] = (
    Route(
        "POST",
        "/api/v1/sessions",
        create_session,
        "Create a session and its join tokens",
        status=201,
        body=CreateSessionRequest,
        answer=CreateSessionResponse,
        errors=(400, 401, 409, 413, 429),
    ),
    Route("GET", SESSION, get_session, "Read a session", answer=SessionEnvelope),
    Route(
        "POST",
        SESSION + "/tokens",
        mint_token,
        "Mint a join token for a participant",
        body=MintTokenRequest,
        answer=TokenResponse,
        errors=(400, 401, 404, 409, 429),
    ),
    Route(
        "GET",
        SESSION + "/events",
        list_events,
        "Read a session's log in seq order",
        answer=EventsResponse,
        query=EventsQuery,
        errors=(400, 401, 404, 429),
    ),
    Route(
        "GET",
        SESSION + "/summary",
        get_summary,
        "Read a session's summary: JSON, ?format=fhir (FHIR R4 Bundle) or ?format=svg",
        answer=SummaryResponse,
        query=SummaryQuery,
        errors=(400, 401, 404, 429),
    ),
    Route(
        "POST", SESSION + "/end", end_session, "End a session (idempotent)", answer=SessionEnvelope
    ),
    Route(
        "DELETE",
        SESSION,
        delete_session,
        "Erase a session, its log and pending deliveries",
        status=204,
    ),
)


def add_routes(app: web.Application, routes: tuple[Route, ...] = ROUTES) -> None:
    for route in routes:
        app.router.add_route(route.method, route.path, route.handler)

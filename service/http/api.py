"""REST handlers for vendors (contract §2).

Each route is declared once in `ROUTES` with its body and answer models; the router and the
OpenAPI document (`openapi.py`) are both made from that table, so they cannot disagree.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NoReturn, TypeVar

import orjson
import structlog
from aiohttp import web
from pydantic import BaseModel, ValidationError

from ..api_models import CreateSessionRequest, EventsQuery, MintTokenRequest
from ..appkeys import (
    AUDIT,
    LIFECYCLE,
    PARTICIPANT_ID,
    SETTINGS,
    STORE,
    TENANT_ID,
    TENANTS,
    THROTTLE,
)
from ..errors import ConnectRefused, InvalidBody, RateLimited, Unauthorized, validation_message
from ..events import Role
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
from .decode import UndecodableBody, decode_json, header_text, read_body
from .forwarded import client_address
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
    security: tuple[str, ...] = ("tenantKey",)  # the OpenAPI security schemes, any one of them


#: The largest REST body (the app's `client_max_size` too).
MAX_BODY_BYTES = 256 * 1024


async def read_json_body(request: web.Request, model: type[M]) -> M:
    """Read, decode and validate a JSON body (`http/decode.py`, the one decoding boundary).

    Raises:
        InvalidBody: not a JSON object, or not one `model` accepts (its text rules included).
        TooLarge, RequestTimeout: as `decode.read_body`.
    """
    timeout_s = request.app[SETTINGS].body_timeout_seconds
    raw = await read_body(request, limit=MAX_BODY_BYTES, timeout_s=timeout_s)
    try:
        data = decode_json(raw) if raw else None
    except UndecodableBody as exc:
        raise InvalidBody(exc.problem.message) from None
    if not isinstance(data, dict):
        raise InvalidBody("the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidBody(validation_message(exc)) from None


def bearer_credential(request: web.Request) -> str | None:
    """What follows `Bearer ` in `Authorization`: None when there is none; "" when the header
    cannot be read as text (`decode.header_text`), which no key or token matches."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    text = header_text(header)
    if text is None:
        return ""
    scheme, _, credential = text.partition(" ")
    return (credential.strip() or None) if scheme.lower() == "bearer" else None


def refuse_credential(
    request: web.Request,
    message: str,
    blocked: str = "too many refused credentials from this address; wait a minute",
) -> NoReturn:
    """Refuse a request whose credential did not open anything: 401, counted against its client
    address (`forwarded.client_address`), or 429 once that address has failed too often.
    Only failures are throttled: a valid credential is checked before this and never waits for
    other requests' failures (contract §9.5)."""
    throttle = request.app[THROTTLE]
    address = client_address(request) or "unknown"
    if throttle.blocked(address):
        raise RateLimited(blocked)
    throttle.failed(address)
    raise Unauthorized(message)


def tenant_of(request: web.Request) -> Tenant:
    """The tenant whose API key the request carries.

    Raises:
        Unauthorized: no key, or not a valid one.
        RateLimited: not a valid key, from an address that has sent too many.
    """
    key = bearer_credential(request)
    tenant = request.app[TENANTS].authenticate(key) if key else None
    if tenant is None:
        refuse_credential(
            request,
            "send Authorization: Bearer <api key>" if key is None else "the API key is not valid",
            blocked="too many failed API keys from this address; wait a minute",
        )
    request[TENANT_ID] = tenant.id
    return tenant


async def create_session(request: web.Request) -> web.Response:
    tenant = tenant_of(request)
    body = await read_json_body(request, CreateSessionRequest)
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
    body = await read_json_body(request, MintTokenRequest)
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
    """GET /api/v1/sessions/{session_id}/summary[?format=json|fhir|svg], with the tenant's API
    key or the session's therapist's join token (an addition: docs/protocol.md)."""
    runtime, actor = await summary_reader(request)
    fmt = request.query.get("format", "json")
    if fmt not in FORMATS:
        raise InvalidBody("format: one of json, fhir, svg")
    events = await read_log(request.app[STORE], runtime.id)
    now = datetime.now(UTC)
    digest = digest_session(session_view(runtime), runtime.record, events, now)
    request.app[AUDIT].record(
        actor,
        "summary.read",
        "ok",
        tenant_id=runtime.record.tenant_id,
        session_id=runtime.id,
        address=client_address(request),
        format=fmt,
    )
    headers = {"Cache-Control": "no-store"}
    if fmt == "fhir":
        return web.Response(
            body=orjson.dumps(fhir_bundle(digest, now)),
            content_type="application/fhir+json",
            headers=headers,
        )
    if fmt == "svg":
        # An SVG opened on its own is a document: it may run nothing and load nothing.
        headers["Content-Security-Policy"] = SVG_CSP
        return web.Response(
            text=timeline_svg(digest), content_type="image/svg+xml", headers=headers
        )
    return json_response(digest.as_out())


SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'"
_JWT_SHAPE = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


async def summary_reader(request: web.Request) -> tuple[SessionRuntime, str]:
    """The session whose summary the request may read, and who is reading it (as the audit
    names them): the tenant by its API key, or a therapist of this very session by a join token
    in `Authorization: Bearer` (never in the URL).

    Raises:
        Unauthorized: no credential, a bad key, or a token that is not a therapist's of this
            session (a client's, another session's, expired, or its session erased).
        RateLimited, SessionNotFound: as for every vendor call.
    """
    lifecycle, session_id = request.app[LIFECYCLE], request.match_info["session_id"]
    credential = bearer_credential(request)
    if (
        credential
        and _JWT_SHAPE.fullmatch(credential)
        and request.app[TENANTS].authenticate(credential) is None
    ):
        runtime, participant = await _therapist_of(request, credential, session_id)
        request[TENANT_ID], request[PARTICIPANT_ID] = runtime.record.tenant_id, participant
        return runtime, f"participant:{participant}"
    tenant = tenant_of(request)
    return await lifecycle.runtime_for(tenant.id, session_id), f"tenant:{tenant.id}"


async def _therapist_of(
    request: web.Request, token: str, session_id: str
) -> tuple[SessionRuntime, str]:
    lifecycle = request.app[LIFECYCLE]
    try:
        claims = lifecycle.tokens.verify(token)
    except ConnectRefused as exc:
        refuse_credential(request, exc.message)
    runtime = await lifecycle.hub.load(session_id) if claims.session_id == session_id else None
    participant = runtime.record.participant(claims.participant_id) if runtime else None
    if (
        runtime is None
        or participant is None
        or participant.role != Role.THERAPIST.value
        or claims.role != participant.role
    ):
        refuse_credential(request, "this join token does not open this session's summary")
    return runtime, participant.id


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
        security=("tenantKey", "therapistJoinToken"),
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

"""The HTTP side's two middlewares: every failure becomes the contract's error envelope (the only
place that builds one), and every vendor or platform call is counted and audited.

`create_app` puts `request_audit` outside `errors_middleware`, so the audit sees the status the
caller was answered, errors included.
"""

from __future__ import annotations

from typing import Any

import orjson
import structlog
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from pydantic import BaseModel

from ..appkeys import PARTICIPANT_ID, PLATFORM, TENANT_ID
from ..audit import AuditTrail, bounded_reason
from ..errors import ComfortError
from ..metrics import Metrics
from ..tenants import TenantRegistry
from ..views import ErrorDetail, ErrorResponse
from .forwarded import client_address

log = structlog.get_logger(__name__)

# aiohttp's own refusals (no route, wrong method, body over client_max_size) by status.
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}
_AUDITED = ("/api/v1/sessions", "/webhooks")


def json_response(payload: BaseModel | Any, status: int = 200) -> web.Response:
    """A JSON answer: one of the typed views (`views.py`), or plain JSON data."""
    body = payload.model_dump_json().encode() if isinstance(payload, BaseModel) else None
    return web.Response(
        body=body if body is not None else orjson.dumps(payload),
        status=status,
        content_type="application/json",
    )


def error_response(code: str, message: str, status: int) -> web.Response:
    """The contract's error envelope: `{"error": {"code": …, "message": …}}`."""
    envelope = ErrorResponse(error=ErrorDetail(code=code, message=message))
    return json_response(envelope, status=status)


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure becomes the contract's error envelope; the unexpected is logged with its
    traceback and answered `internal`."""
    try:
        return await handler(request)
    except ComfortError as exc:
        return error_response(exc.code, exc.message, exc.status)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, "invalid_body" if exc.status < 500 else "internal")
        return error_response(code, exc.reason, exc.status)
    except Exception:
        log.exception("request_failed", route=_route(request), method=request.method)
        return error_response("internal", "the service failed; try again", 500)


def request_audit(metrics: Metrics, audit: AuditTrail, tenants: TenantRegistry) -> Middleware:
    """Count every request by route and status; audit each vendor or platform call: who, which
    route and session, and the status it was answered. A caller that proved who it is (an API
    key, a join token, a platform's signature: `TENANT_ID` set) gets an entry of its own; one
    that did not is counted (`AuditTrail.refused`: per minute, route template, status and
    error code), so nothing it sends is recorded whole and a flood adds no rows."""

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        route = _route(request)
        audited = route.startswith(_AUDITED)
        label = route if audited or route.startswith("/api") else "other"
        metrics.http.labels(label, str(response.status)).inc()
        if not audited:
            return response
        action = f"rest.{_method(request)} {route}"
        tenant = request.get(TENANT_ID)
        if tenant is None:
            named = request.match_info.get("tenant")
            audit.refused(
                action,
                str(response.status),
                reason=_error_code(response),
                tenant_id=named if named and tenants.get(named) else None,
                address=client_address(request),
            )
            return response
        platform = request.get(PLATFORM)
        participant = request.get(PARTICIPANT_ID)
        actor = f"platform:{platform}" if platform else f"tenant:{tenant}"
        if participant:  # a join token, not the tenant's key, authorised it
            actor = f"participant:{participant}"
        audit.record(
            actor,
            action,
            str(response.status),
            tenant_id=tenant,
            session_id=request.match_info.get("session_id"),
            address=client_address(request),
        )
        return response

    return record


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _method(request: web.Request) -> str:
    return request.method if request.method in _METHODS else "OTHER"


def _error_code(response: web.StreamResponse) -> str:
    """The error code of an error envelope (`bounded_reason`), `none` for any other answer."""
    body = response.body if isinstance(response, web.Response) else None
    if response.status < 400 or not isinstance(body, bytes) or len(body) > 4096:
        return "none"
    try:
        error = orjson.loads(body).get("error")
    except (orjson.JSONDecodeError, AttributeError):
        return "other"
    return bounded_reason(error.get("code") if isinstance(error, dict) else None)


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource else "other"

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

from ..appkeys import PARTICIPANT_ID, TENANT_ID
from ..audit import AuditTrail
from ..errors import ComfortError
from ..metrics import Metrics
from ..tenants import TenantRegistry
from ..views import ErrorDetail, ErrorResponse

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
    route and session, and the status it was answered."""

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        route = _route(request)
        audited = route.startswith(_AUDITED)
        label = route if audited or route.startswith("/api") else "other"
        metrics.http.labels(label, str(response.status)).inc()
        if audited:
            tenant = request.get(TENANT_ID) or request.match_info.get("tenant")
            platform = request.match_info.get("platform")
            participant = request.get(PARTICIPANT_ID)
            actor = f"platform:{platform}" if platform else (f"tenant:{tenant}" if tenant else None)
            if participant:  # a join token, not the tenant's key, authorised it
                actor = f"participant:{participant}"
            audit.record(
                actor or "anonymous",
                f"rest.{request.method} {route}",
                str(response.status),
                tenant_id=tenant if tenant and tenants.get(tenant) else None,
                session_id=request.match_info.get("session_id"),
                address=request.remote,
            )
        return response

    return record


def _route(request: web.Request) -> str:
    resource = request.match_info.route.resource
    return resource.canonical if resource else "other"

"""`create_app(settings)`: routes, the Socket.IO server and the resources' start and stop.

Every resource opens and closes in one cleanup context; app state lives in typed `AppKey`s.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web

import integrations

from .api import TENANT_ID, add_routes, json_response
from .appkeys import AUDIT, ENGINE, METRICS, SETTINGS, SIO, STORE, TENANTS, THROTTLE
from .audit import AuditTrail
from .engine import SessionEngine
from .errors import ComfortError, StoreUnavailable
from .metrics import Metrics
from .openapi import build_openapi
from .security import AuthThrottle, cors_middleware, security_headers
from .settings import Settings
from .sockets import SocketHandlers, create_socket_server
from .store import store_for_url
from .tenants import TenantRegistry
from .tokens import TokenIssuer

__all__ = ["DEMO_KEY", "ENGINE", "METRICS", "SETTINGS", "SIO", "STORE", "TENANTS", "create_app"]

log = structlog.get_logger(__name__)

DEMO_KEY: web.AppKey[str | None] = web.AppKey("demo_key", str)
SOCKETS: web.AppKey[SocketHandlers] = web.AppKey("sockets", SocketHandlers)
MAX_BODY_BYTES = 256 * 1024

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


@web.middleware
async def errors_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Every failure becomes the contract's error envelope; the unexpected is logged."""
    route = (
        request.match_info.route.resource.canonical
        if request.match_info.route.resource
        else "other"
    )
    metrics = request.app[METRICS]
    try:
        response: web.StreamResponse = await handler(request)
    except ComfortError as exc:
        response = json_response(error_body(exc.code, exc.message), status=exc.status)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, "invalid_body" if exc.status < 500 else "internal")
        response = json_response(error_body(code, exc.reason), status=exc.status)
    except Exception:
        log.exception("request_failed", route=route, method=request.method)
        response = json_response(
            error_body("internal", "the service failed; try again"), status=500
        )
    audited = route.startswith(("/api/v1/sessions", "/webhooks"))
    metrics.http.labels(
        route if audited or route.startswith("/api") else "other", str(response.status)
    ).inc()
    if audited:
        _audit_request(request, route, response.status)
    return response


def _audit_request(request: web.Request, route: str, status: int) -> None:
    """One audit entry per vendor or platform call: who, which route and session, outcome."""
    tenant = request.get(TENANT_ID) or request.match_info.get("tenant")
    platform = request.match_info.get("platform")
    actor = f"platform:{platform}" if platform else (f"tenant:{tenant}" if tenant else "anonymous")
    request.app[AUDIT].record(
        actor,
        f"rest.{request.method} {route}",
        str(status),
        tenant_id=tenant if tenant and request.app[TENANTS].get(tenant) else None,
        session_id=request.match_info.get("session_id"),
        address=request.remote,
    )


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    metrics = request.app[METRICS]
    body: dict[str, Any] = {"status": "ready", "store": "ok", "redis": "unset"}
    try:
        await request.app[STORE].ping()
        metrics.store_up.set(1)
    except (StoreUnavailable, Exception):
        metrics.store_up.set(0)
        body.update(status="unavailable", store="unreachable")
        return json_response(body, status=503)
    redis_check = request.app[ENGINE].redis_check
    if redis_check is not None:
        body["redis"] = "ok" if await redis_check() else "unreachable"
    return json_response(body)


async def metrics_endpoint(request: web.Request) -> web.Response:
    engine = request.app[ENGINE]
    metrics = request.app[METRICS]
    metrics.sessions_loaded.set(len(engine.hub.runtimes))
    return web.Response(
        body=metrics.render(),
        content_type="text/plain",
        charset="utf-8",
        headers={"Cache-Control": "no-store"},
    )


INTEGRATIONS_DIR = Path(integrations.__file__).resolve().parent


async def integration_module(request: web.Request) -> web.StreamResponse:
    """The platforms' client adapters (`integrations/<platform>/sdk.js`) as ES modules."""
    relative = request.match_info["path"]
    target = (INTEGRATIONS_DIR / relative).resolve()
    if (
        not relative.endswith(".js")
        or not target.is_relative_to(INTEGRATIONS_DIR)
        or not target.is_file()
    ):
        raise web.HTTPNotFound(reason="no such module")
    return web.FileResponse(
        target,
        headers={"Content-Type": "text/javascript; charset=utf-8", "Cache-Control": "no-cache"},
    )


async def openapi_endpoint(request: web.Request) -> web.Response:
    return json_response(build_openapi())


def create_app(settings: Settings, tenants: TenantRegistry | None = None) -> web.Application:
    """Build the service: REST, Socket.IO, widgets and webhooks on one aiohttp app."""
    app = web.Application(
        middlewares=[errors_middleware, cors_middleware], client_max_size=MAX_BODY_BYTES
    )
    demo_key: str | None = None
    if tenants is None:
        if settings.tenants_file is not None:
            tenants = TenantRegistry.from_file(
                settings.tenants_file, allow_private_webhooks=settings.allow_private_webhooks
            )
        else:
            tenants, demo_key = TenantRegistry.demo()
    metrics = Metrics()
    app[SETTINGS] = settings
    app[TENANTS] = tenants
    app[METRICS] = metrics
    app[DEMO_KEY] = demo_key
    app[THROTTLE] = AuthThrottle(limit=settings.auth_failure_limit)
    store = store_for_url(settings.database_url)
    app[STORE] = store
    sio = create_socket_server(settings)
    app[SIO] = sio
    tokens = TokenIssuer(settings.resolved_secret_key(), settings.token_ttl_seconds)
    handlers: SocketHandlers | None = None

    def transport(eio_sid: str, packet: str) -> bool:
        assert handlers is not None
        return handlers.transport(eio_sid, packet)

    async def writable(eio_sid: str) -> bool:
        assert handlers is not None
        return await handlers.writable(eio_sid)

    engine = SessionEngine(
        store,
        tokens,
        metrics,
        transport,
        writable,
        send_rate=settings.send_rate,
        send_burst=settings.send_burst,
        presence_grace_seconds=settings.presence_grace_seconds,
        catchup_interval_seconds=settings.catchup_interval_seconds,
    )
    app[ENGINE] = engine
    audit = AuditTrail(store, settings.resolved_secret_key())
    app[AUDIT] = audit
    engine.audit = audit
    handlers = SocketHandlers(sio, engine, metrics, max_queue=settings.max_socket_queue)
    sio.attach(app, socketio_path="socket.io")

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics_endpoint)
    app.router.add_get("/api/v1/openapi.json", openapi_endpoint)
    app.router.add_get("/integrations/{path:.+}", integration_module)
    add_routes(app)
    for module, function in (
        ("service.web", "setup_web"),
        ("service.webhooks", "setup_webhooks"),
        ("service.pacing", "setup_pacing"),
    ):
        _optional_setup(app, module, function)
    app.on_response_prepare.append(security_headers)
    app[SOCKETS] = handlers
    app.on_shutdown.append(_drain_on_shutdown)
    app.cleanup_ctx.append(_run_store)
    app.cleanup_ctx.append(_run_audit)
    if settings.redis_url:
        app.cleanup_ctx.append(_run_cluster)
    app.cleanup_ctx.append(_run_engine)
    return app


def _optional_setup(app: web.Application, module: str, function: str) -> None:
    """Mount a part of the service that lives in its own module (widgets, webhooks)."""
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        return
    setup = getattr(mod, function, None)
    if setup is None:
        log.warning("optional_part_incomplete", module=module)
        return
    setup(app)


async def _drain_on_shutdown(app: web.Application) -> None:
    """SIGTERM: the listener is already closed; sockets are told to reconnect elsewhere,
    without their departures being logged (the grace rule decides if they do not return).
    In-flight appends finish when the engine stops, in cleanup."""
    app[ENGINE].stopping = True
    await app[SOCKETS].drain()


async def _run_store(app: web.Application) -> AsyncIterator[None]:
    store = app[STORE]
    started = time.perf_counter()
    await store.open()
    log.info(
        "store_opened",
        dialect=getattr(store, "dialect", "?"),
        seconds=round(time.perf_counter() - started, 3),
    )
    app[METRICS].store_up.set(1)
    yield
    await store.close()


async def _run_cluster(app: web.Application) -> AsyncIterator[None]:
    """Join the Redis-backed deployment: shared presence, fan-out, erase broadcasts."""
    from .cluster import Cluster

    settings, engine = app[SETTINGS], app[ENGINE]
    assert settings.redis_url is not None
    cluster = Cluster(
        settings.redis_url,
        app[METRICS],
        deliver=engine.hub.publish,
        catch_up=engine.catch_up_all,
        on_erased=engine.forget_erased,
        on_departed=engine.departed,
        grace_seconds=settings.presence_grace_seconds,
    )
    engine.presence = cluster.presence
    engine.batch_listeners.append(cluster.publish)
    engine.erase_listeners.append(cluster.broadcast_erase)
    engine.redis_check = cluster.ping
    await cluster.start()
    log.info("cluster_joined", process_id=cluster.process_id)
    yield
    await cluster.stop()


async def _run_audit(app: web.Application) -> AsyncIterator[None]:
    await app[AUDIT].start()
    yield
    await app[AUDIT].stop()


async def _run_engine(app: web.Application) -> AsyncIterator[None]:
    engine = app[ENGINE]
    await engine.start()
    yield
    await engine.stop()

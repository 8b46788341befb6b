"""`create_app(settings)`: the wiring diagram of the service.

Every part is built in `create_app`, from the parts above it, and given what it needs through
its constructor; nothing is wired by assignment afterwards. Where the runtime graph loops back
(the log's commits reach the hub, the hub's applied events reach pacing, which appends to the
log; the cluster's departures reach presence), the producer owns a `Feed` and the consumer,
built later, is given the producer and subscribes (`service/feed.py`). Every part with work of
its own starts and stops in one cleanup context, in the order it is built; app state lives in
typed `AppKey`s (`service/appkeys.py`).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol

import structlog
from aiohttp import web

from .appkeys import (
    AUDIT,
    CLIENT_ADDRESSES,
    CLUSTER,
    DEMO_KEY,
    ENGINE,
    HUB,
    LIFECYCLE,
    LOOP_LAG,
    METRICS,
    OUTBOX,
    PACING,
    PRESENCE,
    SENDS,
    SETTINGS,
    SIO,
    SOCKETS,
    STORE,
    TENANTS,
    THROTTLE,
    WRITER,
)
from .audit import AuditTrail
from .engine import SessionEngine
from .http.api import MAX_BODY_BYTES, add_routes
from .http.forwarded import ClientAddresses
from .http.health import HEALTH_ROUTES, METRICS_ROUTE, MetricsListener
from .http.middleware import errors_middleware, request_audit
from .http.openapi import openapi_endpoint
from .http.security import AuthThrottle, cors_middleware, security_headers
from .http.web import setup_web
from .http.webhooks import WebhookContext, webhook_routes
from .lifecycle import SessionLifecycle
from .log import SessionLog
from .looplag import LoopLag
from .metrics import GcPauses, Metrics
from .outbox import OutboxSender
from .pacing import PacingEngine, PacingOptions, process_owner
from .realtime.boundary import (
    SOCKETIO_PATH,
    PendingSockets,
    create_socket_server,
    refuse_websocket_compression,
)
from .realtime.cluster import Cluster
from .realtime.hub import Hub
from .realtime.presence import LocalPresence, PresenceKeeper
from .realtime.sends import SendPipeline
from .realtime.sockets import SocketHandlers
from .realtime.transport import SocketWriter, TransportPatches
from .settings import Settings
from .store import store_for_url
from .store.base import Store
from .tenants import TenantRegistry
from .tokens import TokenIssuer
from .views import ClientNumbering

__all__ = [
    "AUDIT",
    "DEMO_KEY",
    "ENGINE",
    "HUB",
    "LIFECYCLE",
    "MAX_BODY_BYTES",
    "METRICS",
    "PACING",
    "SETTINGS",
    "SIO",
    "SOCKETS",
    "STORE",
    "TENANTS",
    "WRITER",
    "create_app",
]

log = structlog.get_logger(__name__)


def create_app(
    settings: Settings,
    tenants: TenantRegistry | None = None,
    *,
    pacing_options: PacingOptions | None = None,
) -> web.Application:
    """Build the service: REST, Socket.IO, widgets and webhooks on one aiohttp app.

    Args:
        tenants: the tenants; read from `settings.tenants_file`, or the demo tenant, when None.
        pacing_options: the pacing engine's intervals (tests shorten them).

    A client's signal: `SocketHandlers` → `SendPipeline` → `SessionEngine` → `SessionLog` →
    the store; then `log.committed` → `Hub` → `SocketWriter` → the therapist's socket (and
    `Cluster` → the other processes); `hub.applied` → `PresenceKeeper`, `SocketHandlers` (the
    end) and `PacingEngine`, which appends cues through the engine.
    """
    tenants, demo_key = _tenants(settings, tenants)
    secret = settings.resolved_secret_key()
    options = pacing_options or PacingOptions()

    # What every part stands on.
    metrics = Metrics()
    store = store_for_url(settings.database_url)
    audit = AuditTrail(store, secret)
    tokens = TokenIssuer(secret, settings.token_ttl_seconds)

    # The way out to the sockets, and the log that feeds it.
    patches = TransportPatches(enabled=settings.transport_patches)
    sio = create_socket_server(settings, patches)
    writer = SocketWriter(sio, patches, metrics, max_queue=settings.max_socket_queue)
    session_log = SessionLog(store, metrics)
    hub = Hub(store, writer, metrics, session_log.committed, ClientNumbering(secret))
    engine = SessionEngine(
        store, session_log, hub, metrics, catchup_interval_seconds=settings.catchup_interval_seconds
    )
    cluster = (
        Cluster(
            settings.redis_url,
            metrics,
            session_log.committed,
            hub,
            engine,
            grace_seconds=settings.presence_grace_seconds,
        )
        if settings.redis_url
        else None
    )

    # The live side: who is here, what they send, and the Socket.IO protocol over both.
    presence = PresenceKeeper(
        engine,
        hub,
        store,
        metrics,
        cluster.presence if cluster else LocalPresence(),
        departures=cluster.departed if cluster else None,
        grace_seconds=settings.presence_grace_seconds,
    )
    sends = SendPipeline(engine, hub, store, rate=settings.send_rate, burst=settings.send_burst)
    pending = PendingSockets(
        sio,
        patches,
        writer.drop,
        deadline_s=settings.connect_deadline_seconds,
        total=settings.max_pending_sockets,
        per_address=settings.max_pending_sockets_per_address,
    )
    lag = LoopLag(
        metrics,
        busy_after_s=settings.busy_lag_ms / 1000 if settings.busy_lag_ms else None,
    )
    sockets = SocketHandlers(
        sio,
        writer,
        tokens,
        hub,
        presence,
        sends,
        audit,
        metrics,
        pending,
        lag,
        max_per_participant=settings.max_sockets_per_participant,
    )

    # Vendors and platforms: the sessions' lifecycle, pacing and the vendor outbox.
    lifecycle = SessionLifecycle(
        store,
        engine,
        hub,
        presence,
        tokens,
        audit,
        erasures=cluster,
        max_sessions_per_tenant=settings.max_sessions_per_tenant,
    )
    outbox = OutboxSender(
        store,
        tenants.get,
        process_owner(),
        policy=options.retry,
        scan_interval_s=options.outbox_scan_s,
        lease_s=options.outbox_lease_s,
        timeout_s=options.outbox_timeout_s,
        targets=tenants.webhook_targets,
    )
    pacing = PacingEngine(engine, hub, store, tenants, outbox, options, metrics.registry)

    # The HTTP side: middlewares outermost first, then the routes.
    app = web.Application(
        middlewares=[
            request_audit(metrics, audit, tenants),
            # Outside the errors middleware, so error answers get the same CORS headers.
            cors_middleware({*settings.allowed_origins, settings.effective_public_url}),
            errors_middleware,
            refuse_websocket_compression,
        ],
        client_max_size=MAX_BODY_BYTES,
    )
    app[SETTINGS], app[TENANTS], app[DEMO_KEY] = settings, tenants, demo_key
    app[METRICS], app[STORE], app[AUDIT] = metrics, store, audit
    app[THROTTLE] = AuthThrottle(limit=settings.auth_failure_limit)
    app[CLIENT_ADDRESSES] = ClientAddresses(settings.trusted_proxies)
    app[SIO], app[WRITER], app[HUB], app[ENGINE], app[CLUSTER] = sio, writer, hub, engine, cluster
    app[PRESENCE], app[SENDS], app[SOCKETS] = presence, sends, sockets
    app[LIFECYCLE], app[OUTBOX], app[PACING] = lifecycle, outbox, pacing
    app[LOOP_LAG] = lag
    sio.attach(app, socketio_path=SOCKETIO_PATH)
    app.router.add_routes(HEALTH_ROUTES)
    metrics_listener = None
    if settings.metrics_port is None:
        app.router.add_routes([METRICS_ROUTE])
    else:  # contract §9.5: a listener of its own; the public one answers 404
        metrics_listener = MetricsListener(
            metrics,
            lambda: len(hub.runtimes),
            settings.effective_metrics_host,
            settings.metrics_port,
        )
    app.router.add_get("/api/v1/openapi.json", openapi_endpoint)
    add_routes(app)
    webhooks = WebhookContext(
        tenants,
        lifecycle,
        settings.effective_public_url.rstrip("/"),
        body_timeout_s=settings.body_timeout_seconds,
    )
    app.router.add_routes(webhook_routes(webhooks))
    setup_web(app)
    app.on_response_prepare.append(security_headers)

    # Start in the order built; stop in reverse. At shutdown, before the cleanup: pacing stops
    # firing, and the sockets are told to reconnect elsewhere.
    shutdown = _ShutdownLog()
    app.on_shutdown.append(_stop_before_cleanup(shutdown, pacing.stop, sockets.drain))
    app.cleanup_ctx.append(_opened(store, metrics, shutdown))
    for part in (GcPauses(metrics), lag, audit, cluster, engine, presence, pending, pacing):
        if part is not None:
            app.cleanup_ctx.append(_running(part))
    if metrics_listener is not None:
        app.cleanup_ctx.append(metrics_listener.running)
    return app


def _tenants(
    settings: Settings, tenants: TenantRegistry | None
) -> tuple[TenantRegistry, str | None]:
    """The given tenants, the tenants file's, or the demo tenant with its fresh key."""
    if tenants is not None:
        return tenants, None
    if settings.tenants_file is not None:
        registry = TenantRegistry.from_file(
            settings.tenants_file, allow_private_webhooks=settings.allow_private_webhooks
        )
        return registry, None
    return TenantRegistry.demo()


class Running(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...


CleanupContext = Callable[[web.Application], AsyncIterator[None]]


class _ShutdownLog:
    """`shutdown_started` when the shutdown begins (the listener is closed), and
    `shutdown_complete` once the store, the last part, has closed."""

    def __init__(self) -> None:
        self.started: float | None = None

    def start(self, app: web.Application) -> None:
        self.started = time.perf_counter()
        log.info("shutdown_started", sockets=len(app[SOCKETS].connections))

    def complete(self) -> None:
        if self.started is not None:
            seconds = round(time.perf_counter() - self.started, 3)
            log.info("shutdown_complete", seconds=seconds)


def _opened(store: Store, metrics: Metrics, shutdown: _ShutdownLog) -> CleanupContext:
    async def opened(app: web.Application) -> AsyncIterator[None]:
        started = time.perf_counter()
        await store.open()
        seconds = round(time.perf_counter() - started, 3)
        log.info("store_opened", dialect=store.dialect, seconds=seconds)
        metrics.store_up.set(1)
        yield
        await store.close()
        shutdown.complete()

    return opened


def _running(part: Running) -> CleanupContext:
    async def running(app: web.Application) -> AsyncIterator[None]:
        await part.start()
        yield
        await part.stop()

    return running


def _stop_before_cleanup(
    shutdown: _ShutdownLog, *steps: Callable[[], Awaitable[None]]
) -> Callable[[web.Application], Awaitable[None]]:
    async def stop(app: web.Application) -> None:
        shutdown.start(app)
        for step in steps:
            await step()

    return stop

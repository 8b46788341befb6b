"""Typed application keys: the app's state, one part each (aiohttp `AppKey`), and the request's
(`RequestKey`). `create_app` sets every one; HTTP handlers read the parts they need from here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    import socketio

    from .audit import AuditTrail
    from .engine import SessionEngine
    from .http.forwarded import ClientAddresses
    from .http.security import AuthThrottle
    from .lifecycle import SessionLifecycle
    from .looplag import LoopLag
    from .metrics import Metrics
    from .outbox import OutboxSender
    from .pacing.engine import PacingEngine
    from .realtime.cluster import Cluster
    from .realtime.hub import Hub
    from .realtime.presence import PresenceKeeper
    from .realtime.sends import SendPipeline
    from .realtime.sockets import SocketHandlers
    from .realtime.transport import SocketWriter
    from .settings import Settings
    from .store.base import Store
    from .tenants import TenantRegistry

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
TENANTS: web.AppKey[TenantRegistry] = web.AppKey("tenants")
DEMO_KEY: web.AppKey[str | None] = web.AppKey("demo_key")
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
STORE: web.AppKey[Store] = web.AppKey("store")
AUDIT: web.AppKey[AuditTrail] = web.AppKey("audit")
THROTTLE: web.AppKey[AuthThrottle] = web.AppKey("auth_throttle")
CLIENT_ADDRESSES: web.AppKey[ClientAddresses] = web.AppKey("client_addresses")
SIO: web.AppKey[socketio.AsyncServer] = web.AppKey("sio")
WRITER: web.AppKey[SocketWriter] = web.AppKey("socket_writer")
HUB: web.AppKey[Hub] = web.AppKey("hub")
ENGINE: web.AppKey[SessionEngine] = web.AppKey("engine")
CLUSTER: web.AppKey[Cluster | None] = web.AppKey("cluster")
PRESENCE: web.AppKey[PresenceKeeper] = web.AppKey("presence")
SENDS: web.AppKey[SendPipeline] = web.AppKey("sends")
LIFECYCLE: web.AppKey[SessionLifecycle] = web.AppKey("lifecycle")
SOCKETS: web.AppKey[SocketHandlers] = web.AppKey("sockets")
OUTBOX: web.AppKey[OutboxSender] = web.AppKey("outbox")
PACING: web.AppKey[PacingEngine] = web.AppKey("pacing")
LOOP_LAG: web.AppKey[LoopLag] = web.AppKey("loop_lag")

TENANT_ID: web.RequestKey[str] = web.RequestKey("tenant_id", str)
"""The tenant whose API key the request carried (set by `http.api.tenant_of`), whose session a
join token opened (`http.api.summary_reader`), or whose platform signed a webhook
(`http.webhooks`); read by the audit, which counts the requests without one as refusals."""
PLATFORM: web.RequestKey[str] = web.RequestKey("platform", str)
"""The platform whose signature a webhook carried (`http.webhooks`); the audit's actor."""
PARTICIPANT_ID: web.RequestKey[str] = web.RequestKey("participant_id", str)
"""The participant whose join token authorised the request (the summary route's token access,
`http.api.summary_reader`); the audit names the caller `participant:<id>`."""

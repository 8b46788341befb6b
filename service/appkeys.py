"""Typed application keys: the app's state, one resource each (aiohttp `AppKey`), and the
request's (`RequestKey`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    import socketio

    from .audit import AuditTrail
    from .engine import SessionEngine
    from .http.security import AuthThrottle
    from .metrics import Metrics
    from .settings import Settings
    from .store.base import Store
    from .tenants import TenantRegistry

SETTINGS: web.AppKey[Settings] = web.AppKey("settings")
TENANTS: web.AppKey[TenantRegistry] = web.AppKey("tenants")
STORE: web.AppKey[Store] = web.AppKey("store")
ENGINE: web.AppKey[SessionEngine] = web.AppKey("engine")
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")
SIO: web.AppKey[socketio.AsyncServer] = web.AppKey("sio")
THROTTLE: web.AppKey[AuthThrottle] = web.AppKey("auth_throttle")
AUDIT: web.AppKey[AuditTrail] = web.AppKey("audit")

TENANT_ID: web.RequestKey[str] = web.RequestKey("tenant_id", str)
"""The tenant whose API key the request carried (set by `http.api.tenant_of`, read by the audit)."""

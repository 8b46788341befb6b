"""What operators and their orchestrators ask: liveness, readiness and the Prometheus metrics."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..appkeys import CLUSTER, HUB, METRICS, STORE
from .middleware import json_response


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process answers."""
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: 503 while the store is unreachable; says whether Redis answers, when set."""
    metrics = request.app[METRICS]
    body: dict[str, Any] = {"status": "ready", "store": "ok", "redis": "unset"}
    try:
        await request.app[STORE].ping()
        metrics.store_up.set(1)
    except Exception:
        metrics.store_up.set(0)
        body.update(status="unavailable", store="unreachable")
        return json_response(body, status=503)
    cluster = request.app[CLUSTER]
    if cluster is not None:
        body["redis"] = "ok" if await cluster.ping() else "unreachable"
    return json_response(body)


async def metrics_endpoint(request: web.Request) -> web.Response:
    """The process's Prometheus metrics, as text."""
    metrics = request.app[METRICS]
    metrics.sessions_loaded.set(len(request.app[HUB].runtimes))
    return web.Response(
        body=metrics.render(),
        content_type="text/plain",
        charset="utf-8",
        headers={"Cache-Control": "no-store"},
    )


HEALTH_ROUTES = (
    web.get("/healthz", healthz),
    web.get("/readyz", readyz),
    web.get("/metrics", metrics_endpoint),
)

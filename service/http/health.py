"""What operators and their orchestrators ask: liveness, readiness and the Prometheus metrics.

`/metrics` is on the public listener unless `COMFORT_METRICS_PORT` is set; then it is served by
a listener of its own (`MetricsListener`, bound to `COMFORT_METRICS_HOST`, default
`COMFORT_HOST`) and the public one answers 404 there (contract §9.5): what clients press moves
the counters at once, so they are for the operator's network only."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import structlog
from aiohttp import web

from ..appkeys import CLUSTER, HUB, LOOP_LAG, METRICS, STORE
from ..metrics import Metrics
from .middleware import json_response

log = structlog.get_logger(__name__)


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the process answers."""
    return json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: 503 while the store is unreachable; says whether Redis answers, when set, and
    (an addition) whether the process is busy: refusing new connections while its loop lags.
    Busy does not fail readiness: every process of a deployment under the same load would leave
    the pool at once, and the connections each holds are still served."""
    metrics = request.app[METRICS]
    lag = request.app[LOOP_LAG]
    body: dict[str, Any] = {
        "status": "ready",
        "store": "ok",
        "redis": "unset",
        "busy": lag.busy,
        "loop_lag_ms": round(lag.lag_s * 1000, 1),
    }
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


def render_metrics(metrics: Metrics, sessions_loaded: int) -> web.Response:
    """The process's Prometheus metrics, as text."""
    metrics.sessions_loaded.set(sessions_loaded)
    return web.Response(
        body=metrics.render(),
        content_type="text/plain",
        charset="utf-8",
        headers={"Cache-Control": "no-store"},
    )


async def metrics_endpoint(request: web.Request) -> web.Response:
    """`/metrics` on the public listener (when `COMFORT_METRICS_PORT` is unset)."""
    return render_metrics(request.app[METRICS], len(request.app[HUB].runtimes))


HEALTH_ROUTES = (
    web.get("/healthz", healthz),
    web.get("/readyz", readyz),
)
METRICS_ROUTE = web.get("/metrics", metrics_endpoint)


class MetricsListener:
    """`/metrics` alone, on a listener of its own; started and stopped with the service (a
    cleanup context of the public app, so `comfort serve` and the tests' servers both have it).

    Args:
        sessions_loaded: how many sessions this process holds, read at each scrape.
    """

    def __init__(
        self, metrics: Metrics, sessions_loaded: Callable[[], int], host: str, port: int
    ) -> None:
        self.host, self.port = host, port

        async def scrape(_: web.Request) -> web.Response:
            return render_metrics(metrics, sessions_loaded())

        self.app = web.Application()
        self.app.router.add_get("/metrics", scrape)

    async def running(self, _: web.Application) -> AsyncIterator[None]:
        runner = web.AppRunner(self.app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
            log.info("metrics_listening", host=self.host, port=self.port)
            yield
        finally:
            await runner.cleanup()

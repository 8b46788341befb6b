"""Prometheus metrics of one service process, on a registry of its own (one per app)."""

from __future__ import annotations

import contextlib
import gc
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    """The counters and gauges served at `/metrics`."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.connections = Gauge(
            "comfort_connections", "Open Socket.IO connections", ["role"], registry=r
        )
        self.connects = Counter(
            "comfort_connects_total", "Connection attempts by outcome", ["outcome"], registry=r
        )
        self.sends = Counter(
            "comfort_sends_total",
            "Sends by event type and outcome",
            ["type", "outcome"],
            registry=r,
        )
        self.append_seconds = Histogram(
            "comfort_store_append_seconds",
            "Time to commit one append batch",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=r,
        )
        self.append_batch_size = Histogram(
            "comfort_store_append_batch_events",
            "Events per append batch",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
            registry=r,
        )
        self.delivered = Counter(
            "comfort_events_delivered_total", "Events sent to sockets", registry=r
        )
        self.http = Counter(
            "comfort_http_requests_total",
            "REST requests by route and status",
            ["route", "status"],
            registry=r,
        )
        self.slow_sockets = Counter(
            "comfort_slow_sockets_closed_total", "Sockets closed for reading too slowly", registry=r
        )
        self.store_up = Gauge("comfort_store_up", "1 when the store answers", registry=r)
        self.redis_up = Gauge("comfort_redis_up", "1 when Redis answers (0 when unset)", registry=r)
        self.sessions_loaded = Gauge(
            "comfort_sessions_loaded", "Sessions held in memory", registry=r
        )
        self.gc_pause = Histogram(
            "comfort_gc_pause_seconds",
            "Pauses of Python's garbage collector (the event loop stands still meanwhile)",
            ["generation"],
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=r,
        )

        self.loop_lag = Histogram(
            "comfort_event_loop_lag_seconds",
            "How late a timer due every 100 ms ran (the loop's lag; see service/looplag.py)",
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=r,
        )
        self.busy = Gauge(
            "comfort_busy",
            "1 while the loop lags so far behind that new connections are refused (`busy`)",
            registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)


class GcPauses:
    """Times each run of Python's garbage collector into `comfort_gc_pause_seconds`.

    A full (generation 2) collection walks every object the process holds and stops the event
    loop meanwhile: with a few thousand loaded sessions that is hundreds of milliseconds, and it
    shows in every latency tail (`bench/README.md`, the soak). This makes it visible in
    production. Started and stopped with the app (`gc.callbacks` is process-wide).
    """

    def __init__(self, metrics: Metrics) -> None:
        self._histogram = metrics.gc_pause
        self._started: float | None = None

    async def start(self) -> None:
        gc.callbacks.append(self._observe)

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._observe)

    def _observe(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif self._started is not None:
            pause = time.perf_counter() - self._started
            self._histogram.labels(str(info["generation"])).observe(pause)
            self._started = None

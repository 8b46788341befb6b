"""The socket scenarios: latency under load, idle capacity and the reconnect storm.

Each drives one running target through its public interfaces with generator workers and returns
plain figures; `bench.run` runs them against the service and the baselines alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from . import generator, profile
from .procstat import CpuMeter, GroupMeter, group_rss_kb, rss_kb
from .targets import SERVICE, Pair, Target


class System(Protocol):
    """What the latency scenario drives: one process (`Target`) or a deployment of two
    (`bench.scaleout.Deployment`)."""

    kind: str
    pinned: bool

    @property
    def therapist_url(self) -> str: ...

    @property
    def client_url(self) -> str: ...

    @property
    def rss_fresh_kb(self) -> int: ...

    async def ensure_sessions(self, count: int) -> list[Pair]: ...

    def cpu_groups(self) -> dict[str, Callable[[], list[int]]]: ...

    def server_pids(self) -> list[int]: ...

    def log_errors(self) -> int: ...


@dataclass(frozen=True)
class LatencySpec:
    sessions: int
    interval_s: float = 2.0
    warmup_s: float = 3.0
    measure_s: float = 12.0
    sessions_per_worker: int = 1000
    # how long after the window a signal may still arrive before it counts as lost
    grace_s: float = 3.0


def percentile(values: list[float], q: float) -> float | None:
    """The `q`-th percentile (nearest rank) of `values`, or None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[rank - 1]


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


async def _sample(meters: list[GroupMeter], every: float = 1.0) -> None:
    """Keep asking the meters' groups for their processes (database backends come and go)."""
    while True:
        await asyncio.sleep(every)
        for meter in meters:
            meter.sample()


async def latency(
    target: System, spec: LatencySpec, profile_dir: Path | None = None
) -> dict[str, Any]:
    """Every client sends a signal every `interval_s`; send -> therapist-receive and ack times.

    Therapists connect to `target.therapist_url` and clients to `target.client_url` (the same
    process, or two processes of a deployment). CPU of every process group of the target and of
    the generator over the window; the servers' RSS at its end. With `profile_dir`, py-spy records
    the service's processes over the window.
    """
    pairs = await target.ensure_sessions(spec.sessions)
    log_errors_before = target.log_errors()
    workers = await generator.spawn(
        target.therapist_url,
        pairs,
        max(1, math.ceil(spec.sessions / spec.sessions_per_worker)),
        "latency",
        pin=target.pinned,
        urlT=target.therapist_url,
        urlC=target.client_url,
        intervalMs=spec.interval_s * 1000,
        warmupMs=spec.warmup_s * 1000,
        measureMs=spec.measure_s * 1000,
        graceMs=spec.grace_s * 1000,
        connectWidth=50,
        hardLimitMs=(spec.warmup_s + spec.measure_s + 240) * 1000,
    )
    try:
        connected = await generator.connect_all(workers, timeout=180)
        await asyncio.sleep(1.0)  # let the joins' presence events settle
        start_at = time.time() * 1000 + 500
        for worker in workers:
            worker.command(cmd="start", at=start_at)
        await asyncio.sleep(max(0.0, (start_at / 1000 + spec.warmup_s) - time.time()))
        meters = {name: GroupMeter(find) for name, find in target.cpu_groups().items()}
        generator_cpu = CpuMeter([w.pid for w in workers])
        sampler = asyncio.create_task(_sample(list(meters.values())))
        profiling = None
        if profile_dir is not None and target.kind == SERVICE:
            label = f"{'pinned' if target.pinned else 'unpinned'}-{spec.sessions}"
            profiling = asyncio.create_task(
                profile.record(target.server_pids(), spec.measure_s, profile_dir, label)
            )
        await asyncio.sleep(spec.measure_s)
        sampler.cancel()
        cpu = {name: meter.percent() for name, meter in meters.items()}
        generator_percent = generator_cpu.percent()
        rss_load = group_rss_kb(target.server_pids())
        results = await asyncio.gather(*(w.result(timeout=60) for w in workers))
        profiles = await profiling if profiling is not None else []
    finally:
        await generator.close_all(workers)
    receive = [v for r in results for v in r["receive_ms"]]
    acks = [v for r in results for v in r["ack_ms"]]
    errors: dict[str, int] = {}
    for r in results:
        for code, count in r.get("errors", {}).items():
            errors[code] = errors.get(code, 0) + count
    sent = sum(r["sent"] for r in results)
    sockets = connected["sockets"]
    return {
        "sessions": spec.sessions,
        "pinned": target.pinned,
        "p50_ms": _ms(percentile(receive, 50)),
        "p95_ms": _ms(percentile(receive, 95)),
        "p99_ms": _ms(percentile(receive, 99)),
        "max_ms": _ms(max(receive) if receive else None),
        "ack_p50_ms": _ms(percentile(acks, 50)),
        "ack_p95_ms": _ms(percentile(acks, 95)),
        "ack_p99_ms": _ms(percentile(acks, 99)),
        "sent": sent,
        "received": len(receive),
        "lost": sum(r["lost"] for r in results),
        "lost_grace_s": spec.grace_s,
        "duplicates": sum(r.get("duplicates", 0) for r in results),
        "sends_per_s": round(sent / spec.measure_s, 1),
        "errors": errors,
        # error lines the servers logged meanwhile (python relay: `Cannot publish… giving up`)
        "server_log_errors": target.log_errors() - log_errors_before,
        "server_cpu": round(sum(v for k, v in cpu.items() if k.startswith("server")), 1),
        "deployment_cpu": round(sum(cpu.values()), 1),
        "cpu": cpu,
        "generator_cpu": generator_percent,
        # RSS under load: the servers' at the end of the window, and per connected socket (growth
        # from the fresh processes, as capacity's KB per socket, and the whole RSS)
        "rss_load_mb": round(rss_load / 1024, 1),
        "kb_per_socket_load": round((rss_load - target.rss_fresh_kb) / max(1, sockets), 1),
        "rss_kb_per_socket_total": round(rss_load / max(1, sockets), 1),
        "profiles": [str(path) for path in profiles],
        "generator_loop_p99_ms": round(max(r["loop_delay_p99_ms"] for r in results), 2),
        "connect_seconds": round(connected["seconds"], 2),
        "connect_failed": connected["failed"],
    }


async def capacity(
    target: Target, sessions: int, idle_s: float, workers: int = 4
) -> dict[str, Any]:
    """Connect `sessions` idle sessions (two sockets each) to a fresh target; memory and CPU."""
    await asyncio.sleep(1.0)
    rss_start = rss_kb(target.pid)
    started = time.monotonic()
    pairs = await target.ensure_sessions(sessions)
    create_s = time.monotonic() - started
    rss_created = rss_kb(target.pid)
    spawned = await generator.spawn(
        target.url,
        pairs,
        workers,
        "idle",
        pin=target.pinned,
        connectWidth=100,
        holdMs=(idle_s + 600) * 1000,
        hardLimitMs=(idle_s + 900) * 1000,
    )
    try:
        connected = await generator.connect_all(spawned, timeout=600)
        await asyncio.sleep(5.0)  # presence events, first pings
        idle_cpu = CpuMeter([target.pid])
        generator_cpu = CpuMeter([w.pid for w in spawned])
        await asyncio.sleep(idle_s)
        rss_connected = rss_kb(target.pid)
        cpu = idle_cpu.percent(), generator_cpu.percent()
        alive = target.proc.poll() is None
    finally:
        for worker in spawned:
            with contextlib.suppress(Exception):
                worker.command(cmd="stop")
        await generator.close_all(spawned)
    sockets = connected["sockets"]
    connected_sessions = sockets // 2
    return {
        "sessions": connected_sessions,
        "sockets": sockets,
        "connect_failed": connected["failed"],
        "connect_errors": connected["errors"],
        "connect_seconds": round(connected["seconds"], 1),
        "create_seconds": round(create_s, 1) if target.kind == SERVICE else None,
        "rss_start_mb": round(rss_start / 1024, 1),
        "rss_mb": round(rss_connected / 1024, 1),
        "kb_per_session": round((rss_connected - rss_start) / max(1, connected_sessions), 1),
        "kb_per_socket": round((rss_connected - rss_created) / max(1, sockets), 1),
        "idle_server_cpu": cpu[0],
        "idle_generator_cpu": cpu[1],
        "server_alive": alive,
    }


async def storm(
    target: Target, sessions: int, signals: int = 20, spacing_ms: float = 100.0
) -> dict[str, Any]:
    """Therapists drop at once, clients send `signals` each, therapists come back with last seq."""
    pairs = await target.ensure_sessions(sessions)
    (worker,) = await generator.spawn(
        target.url,
        pairs,
        1,
        "storm",
        pin=target.pinned,
        connectWidth=50,
        signals=signals,
        signalSpacingMs=spacing_ms,
        # A bare relay keeps no log, so nothing it could replay is worth waiting for.
        stormTimeoutMs=30000 if target.kind == SERVICE else 3000,
        hardLimitMs=400000,
    )
    try:
        await generator.connect_all([worker], timeout=180)
        await asyncio.sleep(1.0)
        server_cpu = CpuMeter([target.pid])
        worker.command(cmd="storm")
        result = await worker.result(timeout=240)
        cpu = server_cpu.percent()
    finally:
        await generator.close_all([worker])
    return {
        "reconnects": result["reconnects"],
        "seconds": None if result["seconds"] is None else round(result["seconds"], 2),
        "reconnect_s": round(result["reconnect_s"], 2),
        "gaps": result["gaps"],
        "duplicates": result["duplicates"],
        "completed": result["completed"],
        "timed_out": result["timed_out"],
        "signals_acked": result["signals_acked"],
        "send_phase_s": round(result["send_phase_s"], 2),
        "errors": result["errors"],
        "server_cpu": cpu,
    }

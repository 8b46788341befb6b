"""The soak: many sessions for many minutes with a realistic mix (bench/node/soak.js says what
each session does), against one service process or the scaled-out deployment.

Per minute: the servers' RSS (sampled at the minute's end), their CPU over the minute, and the
p50/p95/p99 of send -> therapist receive and of the acks, for the signals sent in that minute. The
targets (issue 18): RSS at minute 10 within 10 % of minute 2, and a steady p99.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from . import generator, profile, report, scaleout, targets
from .procstat import GroupMeter, group_rss_kb, rss_parts_kb
from .scenarios import System, percentile

SESSIONS_PER_WORKER = 1000
MIX = {
    "intervalMs": 2000,
    "lifeMinS": 240,
    "lifeMaxS": 1200,
    "reconnectMinS": 120,
    "reconnectMaxS": 300,
    "checkinEveryS": 180,
    "ackPauseShare": 0.6,
    "answerShare": 0.85,
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _ms(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


async def soak(
    system: System,
    sessions: int,
    minutes: float,
    mix: dict[str, float] | None = None,
    profile_dir: Path | None = None,
) -> dict[str, Any]:
    """Run the mix on `system` for `minutes`; figures per minute and totals. With
    `profile_dir`, py-spy records the service's processes over minute 2."""
    mix = {**MIX, **(mix or {})}
    workdir = Path(tempfile.mkdtemp(prefix="comfort-bench-soak-"))
    duration_s = minutes * 60
    count = max(1, math.ceil(sessions / SESSIONS_PER_WORKER))
    share = -(-sessions // count)
    workers = []
    for n in range(count):
        config = {
            "mode": "soak",
            "apiUrl": system.therapist_url,
            "apiKey": targets.API_KEY,
            "urlT": system.therapist_url,
            "urlC": system.client_url,
            "sessions": min(share, sessions - n * share),
            "durationMs": duration_s * 1000,
            "hardLimitMs": (duration_s + 900) * 1000,
            **mix,
        }
        workers.append(await generator.start_worker("soak.js", config, workdir, n, system.pinned))
    try:
        connected = await generator.connect_all(workers, timeout=600)
        log(f"soak: {connected['sockets']} sockets connected in {connected['seconds']:.1f} s")
        start_at = time.time() + 1.0
        for worker in workers:
            worker.command(cmd="start", at=start_at * 1000)
        per_minute: list[dict[str, Any]] = []
        rss_start = group_rss_kb(system.server_pids())
        profiles: list[Path] = []
        for minute in range(1, math.ceil(minutes) + 1):
            meters = {name: GroupMeter(find) for name, find in system.cpu_groups().items()}
            end = start_at + min(minute * 60, duration_s)
            profiling = None
            if profile_dir is not None and minute == 2:
                profiling = asyncio.create_task(
                    profile.record(
                        system.server_pids(), end - time.time() - 1, profile_dir, "soak-minute-2"
                    )
                )
            while (left := end - time.time()) > 0:
                await asyncio.sleep(min(left, 5.0))
                for meter in meters.values():
                    meter.sample()
            cpu = {name: meter.percent() for name, meter in meters.items()}
            if profiling is not None:
                profiles += await profiling
            rss = {str(pid): group_rss_kb([pid]) for pid in system.server_pids()}
            parts = {"anon": 0, "file": 0, "shmem": 0}
            for pid in system.server_pids():
                with contextlib.suppress(OSError):
                    for key, kb in rss_parts_kb(pid).items():
                        parts[key] += kb
            row = {
                "minute": minute,
                "rss_mb": round(sum(rss.values()) / 1024, 1),
                "rss_anon_mb": round(parts["anon"] / 1024, 1),
                "rss_file_mb": round((parts["file"] + parts["shmem"]) / 1024, 1),
                "rss_mb_by_process": {pid: round(kb / 1024, 1) for pid, kb in rss.items()},
                "server_cpu": round(sum(v for k, v in cpu.items() if k.startswith("server")), 1),
                "cpu": cpu,
            }
            per_minute.append(row)
            log(
                f"soak minute {minute}: RSS {row['rss_mb']} MB (anonymous {row['rss_anon_mb']}, "
                f"files {row['rss_file_mb']}), server CPU {row['server_cpu']}%"
            )
        results = await asyncio.gather(
            *(w.result(timeout=120) for w in workers), return_exceptions=False
        )
    finally:
        for worker in workers:
            with contextlib.suppress(Exception):
                worker.command(cmd="stop")
        await generator.close_all(workers)
    figures = summarise(per_minute, results, rss_start, connected, sessions, minutes)
    figures["mix"] = mix
    figures["profiles"] = [str(path) for path in profiles]
    return figures


def summarise(
    per_minute: list[dict[str, Any]],
    results: list[dict[str, Any]],
    rss_start_kb: int,
    connected: dict[str, Any],
    sessions: int,
    minutes: float,
) -> dict[str, Any]:
    counts: dict[str, int] = {}
    cues: dict[str, int] = {}
    errors: dict[str, int] = {}
    for r in results:
        for into, key in ((counts, "counts"), (cues, "cues"), (errors, "errors")):
            for name, value in r.get(key, {}).items():
                into[name] = into.get(name, 0) + value
    for row in per_minute:
        k = row["minute"] - 1
        receive = [
            v for r in results for v in (r["minutes"][k : k + 1] or [{}])[0].get("receive", [])
        ]
        acks = [v for r in results for v in (r["minutes"][k : k + 1] or [{}])[0].get("ack", [])]
        row.update(
            signals=len(receive),
            p50_ms=_ms(percentile(receive, 50)),
            p95_ms=_ms(percentile(receive, 95)),
            p99_ms=_ms(percentile(receive, 99)),
            max_ms=_ms(max(receive) if receive else None),
            ack_p50_ms=_ms(percentile(acks, 50)),
            ack_p99_ms=_ms(percentile(acks, 99)),
        )
    by_minute = {row["minute"]: row for row in per_minute}
    m2, last = by_minute.get(2), per_minute[-1] if per_minute else None
    steady = [row["p99_ms"] for row in per_minute if row["minute"] >= 2 and row["p99_ms"]]
    return {
        "sessions": sessions,
        "minutes": minutes,
        "connected_sockets": connected["sockets"],
        "connect_seconds": round(connected["seconds"], 1),
        "rss_start_mb": round(rss_start_kb / 1024, 1),
        "per_minute": per_minute,
        "rss_ratio_last_to_minute_2": (
            round(last["rss_mb"] / m2["rss_mb"], 3) if m2 and last and m2["rss_mb"] else None
        ),
        "p99_max_to_median": (
            round(max(steady) / statistics.median(steady), 2) if len(steady) >= 2 else None
        ),
        "counts": counts,
        "cues": cues,
        "errors": errors,
        "generator_loop_p99_ms": round(max(r.get("loop_delay_p99_ms", 0) for r in results), 2),
        # traces of the first traced sessions with a gap, a loss or a duplicate (details.json;
        # each generator keeps `anomaliesPerKind` of each kind, 5 unless the mix says)
        "anomalies": [a for r in results for a in r.get("anomalies", [])],
    }


async def run(
    sessions: int, minutes: float, env: dict[str, str], args: argparse.Namespace
) -> dict[str, Any]:
    """The soak on the service: one process (SQLite) or the deployment (`--soak-on scaleout`)."""
    pin = args.pinning == "pinned"
    mix = {key: float(value) for key, value in (item.split("=", 1) for item in args.soak_mix)}
    profile_dir = report.RESULTS if args.profile else None
    if args.soak_on == "scaleout":
        async with scaleout.deployment(
            targets.SERVICE, env, pin=pin, redis_url=args.redis_url
        ) as system:
            figures = await soak(system, sessions, minutes, mix, profile_dir)
    else:
        target = targets.start(targets.SERVICE, env, pin=pin)
        try:
            await target.wait_ready()
            figures = await soak(target, sessions, minutes, mix, profile_dir)
        finally:
            target.stop()
    figures.update(deployment=args.soak_on, pinned=pin)
    return figures

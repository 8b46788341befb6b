"""`python -m bench.run --quick | --full`: every scenario against the service and the baselines.

Writes bench/results/latest.json (the issues' shape), details.json (every figure), latest.md
(the README tables) and the plots (latency.png, soak.png). Figures only: nothing here passes or
fails on a time; the targets are reported as ratios (`targets` in latest.json).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import generator, report, scaleout, scenarios, soak, targets
from .procstat import GENERATOR_CPUS, SERVER_CPUS, raise_nofile
from .targets import KINDS, SERVICE

SCENARIOS = ("latency", "storm", "capacity", "append", "scaleout", "soak")


@dataclass(frozen=True)
class Plan:
    sizes: tuple[int, ...]
    warmup_s: float
    measure_s: float
    capacity_sessions: int
    idle_s: float
    storm_sessions: int
    append_s: float
    unpinned_sizes: tuple[int, ...]
    scaleout_sizes: tuple[int, ...]
    soak_sessions: int
    soak_minutes: float


QUICK = Plan(
    sizes=(100, 1000),
    warmup_s=2,
    measure_s=8,
    capacity_sessions=2000,
    idle_s=5,
    storm_sessions=1000,
    append_s=3,
    unpinned_sizes=(1000,),
    scaleout_sizes=(1000, 2000),
    soak_sessions=2000,
    soak_minutes=10,
)
FULL = Plan(
    sizes=(100, 500, 1000, 2000),
    warmup_s=5,
    measure_s=30,
    capacity_sessions=10000,
    idle_s=30,
    storm_sessions=1000,
    append_s=10,
    unpinned_sizes=(1000, 2000),
    scaleout_sizes=(1000, 2000),
    soak_sessions=2000,
    soak_minutes=10,
)


def _tree() -> dict[str, Any]:
    """Which service code ran: the commit, and whether `service/` had uncommitted changes."""
    root = os.environ.get("BENCH_SERVICE_ROOT", str(targets.ROOT))
    # The tree that runs (BENCH_SERVICE_ROOT's own checkout or worktree), not this orchestrator's.
    git = ["git", "-C", root]
    head = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run([*git, "status", "--porcelain", "--", "service"], capture_output=True)
    known = head.returncode == 0
    return {
        "root": root,
        "commit": head.stdout.strip() if known else None,
        "service_dirty": bool(dirty.stdout.strip()) if known else None,
    }


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _log_latency(label: str, row: dict[str, Any]) -> None:
    log(
        f"{label} {row['sessions']}: p50 {row['p50_ms']} p99 {row['p99_ms']} ms, ack p99 "
        f"{row['ack_p99_ms']} ms, lost {row['lost']}, dup {row['duplicates']}, server log errors "
        f"{row['server_log_errors']}, server "
        f"{row['server_cpu']}% (all {row['deployment_cpu']}%) generator {row['generator_cpu']}%, "
        f"{row['kb_per_socket_load']} KB/socket under load"
    )


async def _latency_rows(
    system: scenarios.System, sizes: tuple[int, ...], plan: Plan, args: argparse.Namespace
) -> list[dict[str, Any]]:
    rows = []
    label = f"{system.kind} {'pinned' if system.pinned else 'unpinned'}"
    # Scaled out, a signal the fan-out drops is caught up from the store: the contract allows 10 s.
    grace_s = 10.0 if isinstance(system, scaleout.Deployment) else 3.0
    for size in sizes:
        spec = scenarios.LatencySpec(
            size, warmup_s=plan.warmup_s, measure_s=plan.measure_s, grace_s=grace_s
        )
        profile_dir = report.RESULTS if args.profile else None
        row = await scenarios.latency(system, spec, profile_dir)
        rows.append(row)
        _log_latency(label, row)
    return rows


async def run_target(
    kind: str,
    plan: Plan,
    env: dict[str, str],
    details: dict[str, Any],
    only: set[str],
    args: argparse.Namespace,
) -> None:
    """Latency at every size, then the storm, on one process; capacity on a fresh one; latency
    unpinned on another fresh one."""
    if only & {"latency", "storm"}:
        target = targets.start(kind, env, pin=True)
        try:
            await target.wait_ready()
            if "latency" in only and args.pinning in ("pinned", "both"):
                rows = await _latency_rows(target, plan.sizes, plan, args)
                details["latency"].setdefault(kind, []).extend(rows)
            if "storm" in only:
                storm = await scenarios.storm(target, plan.storm_sessions)
                details["storm"][kind] = storm
                log(
                    f"{kind} storm: {storm['seconds']} s, gaps {storm['gaps']}, "
                    f"duplicates {storm['duplicates']}"
                )
        finally:
            target.stop()
    if "capacity" in only:
        target = targets.start(kind, env)
        try:
            await target.wait_ready()
            cap = await scenarios.capacity(target, plan.capacity_sessions, plan.idle_s)
            details["capacity"][kind] = cap
            log(
                f"{kind} capacity: {cap['sessions']} sessions, {cap['kb_per_session']} KB/session,"
                f" {cap['kb_per_socket']} KB/socket, idle CPU {cap['idle_server_cpu']}%"
            )
        finally:
            target.stop()
    if "latency" in only and args.pinning in ("unpinned", "both"):
        target = targets.start(kind, env, pin=False)
        try:
            await target.wait_ready()
            rows = await _latency_rows(target, plan.unpinned_sizes, plan, args)
            details["latency_unpinned"].setdefault(kind, []).extend(rows)
        finally:
            target.stop()


async def run_scaleout(
    kind: str, plan: Plan, env: dict[str, str], details: dict[str, Any], args: argparse.Namespace
) -> None:
    """Two processes of `kind` on Redis (and PostgreSQL), pinned and/or not, at every size."""
    pinnings = {"pinned": (True,), "unpinned": (False,), "both": (True, False)}[args.pinning]
    for pin in pinnings:
        async with scaleout.deployment(kind, env, pin=pin, redis_url=args.redis_url) as system:
            rows = await _latency_rows(system, plan.scaleout_sizes, plan, args)
        for row in rows:
            details["scaleout"].append({"server": kind, **row})


async def run_append(plan: Plan, details: dict[str, Any]) -> None:
    """Both stores, in a process of its own that imports the service from the tree under test."""
    env = {**os.environ, "PYTHONPATH": str(targets.ROOT)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.append",
        str(plan.append_s),
        cwd=os.environ.get("BENCH_SERVICE_ROOT", str(targets.ROOT)),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=600)
    lines = out.decode().strip().splitlines()
    try:
        figures: dict[str, Any] = json.loads(lines[-1])
    except (IndexError, ValueError):
        figures = {
            name: {"skipped": f"the append run failed (exit {proc.returncode})"}
            for name in ("sqlite", "postgres")
        }
    for name, store in figures.items():
        if "skipped" not in store:
            store["per_s"] = store["500_sessions_concurrent"]
        details["append"][name] = store
        log(f"append {name}: {store}")


async def main_async(args: argparse.Namespace) -> int:
    if args.results_dir:
        report.RESULTS = Path(args.results_dir).resolve()
    plan = FULL if args.full else QUICK
    if args.sizes:
        plan = Plan(**{**plan.__dict__, "sizes": tuple(args.sizes)})
    if args.capacity_sessions:
        plan = Plan(**{**plan.__dict__, "capacity_sessions": args.capacity_sessions})
    for option, key in (
        ("unpinned_sizes", "unpinned_sizes"),
        ("scaleout_sizes", "scaleout_sizes"),
        ("soak_sessions", "soak_sessions"),
        ("soak_minutes", "soak_minutes"),
        ("measure_s", "measure_s"),
    ):
        value = getattr(args, option)
        if value:
            plan = Plan(
                **{**plan.__dict__, key: tuple(value) if isinstance(value, list) else value}
            )
    default_only = SCENARIOS if args.full else ("latency", "storm", "capacity", "append")
    only = set(args.only or default_only)
    kinds = args.targets or list(KINDS)
    env = dict(item.split("=", 1) for item in args.service_env)
    raise_nofile(65536)
    generator.ensure_node_modules()
    started = time.monotonic()
    details: dict[str, Any] = {
        "mode": "full" if args.full else "quick",
        "command": "python -m bench.run " + " ".join(sys.argv[1:]),
        "machine": report.machine(),
        "service_tree": _tree(),
        "pinning": {
            "server": sorted(SERVER_CPUS),
            "generator": sorted(GENERATOR_CPUS),
            "runs": args.pinning,
        },
        "service_env": env,
        "plan": plan.__dict__,
        "latency": {},
        "latency_unpinned": {},
        "capacity": {},
        "storm": {},
        "append": {},
        "scaleout": [],
        "soak": {},
    }
    for kind in kinds:
        if not only & {"latency", "storm", "capacity"}:
            break
        log(f"== {kind}")
        try:
            await run_target(kind, plan, env, details, only, args)
        except Exception as exc:  # one server failing must not lose the others' figures
            log(f"{kind} failed: {type(exc).__name__}: {exc}")
            details.setdefault("failures", {})[kind] = f"{type(exc).__name__}: {exc}"
        report.checkpoint(details)
    if "append" in only:
        await run_append(plan, details)
    if "scaleout" in only:
        for kind in kinds:
            log(f"== {kind} scale-out")
            try:
                await run_scaleout(kind, plan, env, details, args)
            except Exception as exc:
                log(f"{kind} scale-out failed: {type(exc).__name__}: {exc}")
                details.setdefault("failures", {})[f"{kind}_scaleout"] = (
                    f"{type(exc).__name__}: {exc}"
                )
            report.checkpoint(details)
    if "soak" in only:
        log(f"== soak: {plan.soak_sessions} sessions, {plan.soak_minutes} min ({args.soak_on})")
        try:
            details["soak"] = await soak.run(plan.soak_sessions, plan.soak_minutes, env, args)
        except Exception as exc:
            log(f"soak failed: {type(exc).__name__}: {exc}")
            details.setdefault("failures", {})["soak"] = f"{type(exc).__name__}: {exc}"
        report.checkpoint(details)
    details["elapsed_s"] = round(time.monotonic() - started, 1)
    details["finished_at"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    details["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    if SERVICE not in details["latency"]:
        details["latency"][SERVICE] = []
    details["summary"] = report.latest(details)
    for note in report.write(details, update_readme=args.readme):
        log(note)
    log(f"done in {details['elapsed_s']} s: {report.RESULTS / 'latest.json'}")
    print(report.markdown(details))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="small sizes, short windows (default)")
    size.add_argument("--full", action="store_true", help="100/500/1000/2000 sessions, 10k idle")
    parser.add_argument("--sizes", type=int, nargs="+", help="latency sizes instead of the plan's")
    parser.add_argument("--capacity-sessions", type=int, help="idle sessions for capacity")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=SCENARIOS,
        help="scenarios (default: all with --full; without scaleout and soak otherwise)",
    )
    parser.add_argument(
        "--pinning",
        choices=("pinned", "unpinned", "both"),
        default="both",
        help="latency and scale-out runs pinned (server and generator on a core each), unpinned "
        "(sharing every core, as on a real host) or both (default)",
    )
    parser.add_argument("--unpinned-sizes", type=int, nargs="+", help="unpinned latency sizes")
    parser.add_argument("--scaleout-sizes", type=int, nargs="+", help="scale-out sizes")
    parser.add_argument("--measure-s", type=float, help="latency window (s) instead of the plan's")
    parser.add_argument(
        "--redis-url",
        help="scale-out: an existing Redis instead of a redis-server of the run's own",
    )
    parser.add_argument("--soak-sessions", type=int, help="soak sessions (default 2000)")
    parser.add_argument("--soak-minutes", type=float, help="soak length (default 10)")
    parser.add_argument(
        "--soak-on",
        choices=("single", "scaleout"),
        default="single",
        help="the soak against one service process (default) or the scaled-out deployment",
    )
    parser.add_argument(
        "--soak-mix",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="change the soak's mix (bench/soak.py MIX), e.g. lifeMinS=20 reconnectMinS=10 for a "
        "short smoke run",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="py-spy every service process over each latency window (profile-*.txt)",
    )
    parser.add_argument("--targets", nargs="+", choices=KINDS, help="servers (default: all)")
    parser.add_argument(
        "--service-env",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the service (e.g. COMFORT_LOG_LEVEL=warning)",
    )
    parser.add_argument(
        "--readme", action="store_true", help="also replace the table in bench/README.md"
    )
    parser.add_argument(
        "--results-dir", help="write the results here instead of bench/results (experiments)"
    )
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(main_async(args))
    return 130


if __name__ == "__main__":
    sys.exit(main())

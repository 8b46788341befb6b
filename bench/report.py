"""Writing results: `latest.json` (the issue's exact shape), the detailed figures, the latency
plot and the Markdown table that bench/README.md carries."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

from .targets import NODE_RELAY, PY_RELAY, SERVICE

RESULTS = Path(__file__).resolve().parent / "results"
README = Path(__file__).resolve().parent / "README.md"
TABLE_START = "<!-- results:start -->"
TABLE_END = "<!-- results:end -->"
LABELS = {
    SERVICE: "Session Comfort",
    PY_RELAY: "bare python-socketio relay",
    NODE_RELAY: "bare Node socket.io relay",
}


def machine() -> dict[str, Any]:
    """What the figures ran on."""
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next(
                (line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), ""
            )
        with open("/proc/meminfo") as f:
            mem_kb = int(f.readline().split()[1])
    except (OSError, StopIteration, ValueError):
        mem_kb = 0
    try:
        node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    except OSError:
        node = None
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "node": node,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def _ratio(ours: float | None, base: float | None) -> float | None:
    if ours is None or not base:
        return None
    return round(ours / base, 2)


def latest(details: dict[str, Any]) -> dict[str, Any]:
    """The issue's `latest.json`, exactly: the service against the bare python-socketio relay."""
    ours = details["latency"][SERVICE]
    base = {row["sessions"]: row for row in details["latency"].get(PY_RELAY, [])}
    rows = []
    for row in ours:
        b = base.get(row["sessions"], {})
        rows.append(
            {
                "sessions": row["sessions"],
                "p50_ms": row["p50_ms"],
                "p95_ms": row["p95_ms"],
                "p99_ms": row["p99_ms"],
                "ack_p50_ms": row["ack_p50_ms"],
                "baseline_p50_ms": b.get("p50_ms"),
                "baseline_p99_ms": b.get("p99_ms"),
                "ratio_p50": _ratio(row["p50_ms"], b.get("p50_ms")),
                "ratio_p99": _ratio(row["p99_ms"], b.get("p99_ms")),
                "server_cpu": row["server_cpu"],
                "generator_cpu": row["generator_cpu"],
            }
        )
    capacity = details["capacity"].get(SERVICE, {})
    storm = details["storm"].get(SERVICE, {})
    append = details["append"]
    return {
        "latency": rows,
        "capacity": {
            "sessions": capacity.get("sessions"),
            "kb_per_session": capacity.get("kb_per_session"),
        },
        "storm": {
            "reconnects": storm.get("reconnects"),
            "seconds": storm.get("seconds"),
            "gaps": storm.get("gaps"),
            "duplicates": storm.get("duplicates"),
        },
        "append": {
            "sqlite_per_s": append.get("sqlite", {}).get("per_s"),
            "postgres_per_s": append.get("postgres", {}).get("per_s"),
        },
    }


def plot(details: dict[str, Any], path: Path) -> str | None:
    """Latency percentiles against sessions, ours and the baselines; None when drawn."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed: no plot (pip install matplotlib)"
    fig, ax = plt.subplots(figsize=(8, 5), dpi=110)
    colours = {SERVICE: "#1f6f8b", PY_RELAY: "#d1495b", NODE_RELAY: "#66a182"}
    for kind, rows in details["latency"].items():
        rows = [r for r in rows if r["p50_ms"] is not None]
        if not rows:
            continue
        xs = [r["sessions"] for r in rows]
        for key, style in (("p50_ms", "-o"), ("p95_ms", ":^"), ("p99_ms", "--s")):
            ax.plot(
                xs,
                [r[key] for r in rows],
                style,
                color=colours.get(kind, "grey"),
                label=f"{LABELS.get(kind, kind)} {key[:3]}",
                markersize=4,
            )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("concurrent sessions (1 therapist + 1 client; a signal every 2 s per client)")
    ax.set_ylabel("send -> therapist receive (ms)")
    ax.axhline(50, color="black", linewidth=0.6, alpha=0.5)
    ax.text(ax.get_xlim()[0], 52, " p99 target 50 ms", fontsize=7, alpha=0.7)
    ax.set_title(f"Signal latency under load ({details['mode']} run)")
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=7, ncol=3, loc="upper left")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return None


def _f(value: Any, suffix: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:g}{suffix}"
    return f"{value}{suffix}"


def markdown(details: dict[str, Any]) -> str:
    """The results table for bench/README.md."""
    m = details["machine"]
    tree = details.get("service_tree") or {"commit": "?", "service_dirty": False, "root": "."}
    out = [
        f"Run: `{details['command']}` ({details['mode']}), {details['finished_at']}, "
        f"{details['elapsed_s']:.0f} s. Service: commit {tree['commit']}"
        f"{' with uncommitted changes' if tree['service_dirty'] else ''}"
        f" from `{tree['root']}`.",
        f"Machine: {m['cpus']} x {m['cpu_model']}, {m['memory_gib']} GiB, Linux {m['kernel']}, "
        f"Python {m['python']}, Node {m['node']}; load average at start "
        f"{', '.join(str(x) for x in m['load_average_at_start'])}. Server pinned to CPU "
        f"{details['pinning']['server']}, generator to CPU {details['pinning']['generator']}.",
        "",
        "**Latency under load** (send → therapist receive, from the sender's timestamp; "
        "CPU in % of one core):",
        "",
        "| sessions | server | p50 ms | p95 ms | p99 ms | max ms | ack p50 ms | sends/s "
        "| lost | server CPU | generator CPU |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    sizes = sorted({r["sessions"] for rows in details["latency"].values() for r in rows})
    for size in sizes:
        for kind, rows in details["latency"].items():
            for r in rows:
                if r["sessions"] != size:
                    continue
                out.append(
                    f"| {size} | {LABELS.get(kind, kind)} | {_f(r['p50_ms'])} | "
                    f"{_f(r['p95_ms'])} | {_f(r['p99_ms'])} | {_f(r['max_ms'])} | "
                    f"{_f(r['ack_p50_ms'])} | {_f(r['sends_per_s'])} | {r['lost']} | "
                    f"{_f(r['server_cpu'], '%')} | {_f(r['generator_cpu'], '%')} |"
                )
    ratios = details["summary"]["latency"]
    out += [
        "",
        "Ours / bare python-socketio relay: "
        + "; ".join(
            f"{r['sessions']} sessions p50 x{_f(r['ratio_p50'])}, p99 x{_f(r['ratio_p99'])}"
            for r in ratios
        )
        + ".",
        "",
        "**Capacity** (idle sessions of two sockets, one process; RSS growth from the fresh "
        "process; idle CPU includes Engine.IO pings every 25 s):",
        "",
        "| server | sessions held | sockets | KB / session | KB / socket (connect only) "
        "| RSS MB | idle server CPU | connect s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for kind, c in details["capacity"].items():
        out.append(
            f"| {LABELS.get(kind, kind)} | {c['sessions']} | {c['sockets']} | "
            f"{_f(c['kb_per_session'])} | {_f(c['kb_per_socket'])} | {_f(c['rss_mb'])} | "
            f"{_f(c['idle_server_cpu'], '%')} | {_f(c['connect_seconds'])} |"
        )
    out += [
        "",
        "**Reconnect storm** (therapists drop at once, each client sends 20 signals, therapists "
        "reconnect with their last seq):",
        "",
        "| server | reconnects | all reconnected s | all replayed s | gaps | duplicates "
        "| signals acked | send phase s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for kind, s in details["storm"].items():
        out.append(
            f"| {LABELS.get(kind, kind)} | {s['reconnects']} | {_f(s['reconnect_s'])} | "
            f"{_f(s['seconds'], '') if s['seconds'] is not None else 'never (no log)'} | "
            f"{s['gaps']} | {s['duplicates']} | {s['signals_acked']} | {_f(s['send_phase_s'])} |"
        )
    out += [
        "",
        "**Durable appends** (the service's `SessionLog` group commit on each store; every append "
        "awaits its own commit):",
        "",
        "| store | one session, 1 in flight | one session, 64 in flight | 500 sessions, 1 each |",
        "| --- | ---: | ---: | ---: |",
    ]
    for store, a in details["append"].items():
        if "skipped" in a:
            out.append(f"| {store} | skipped: {a['skipped']} | | |")
            continue
        out.append(
            f"| {store} | {_f(a['single_session_sequential'])}/s | "
            f"{_f(a['single_session_64_in_flight'])}/s | {_f(a['500_sessions_concurrent'])}/s |"
        )
    return "\n".join(out) + "\n"


def checkpoint(details: dict[str, Any]) -> None:
    """Keep what a run has measured so far (`results/partial.json`), in case a later step fails."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "partial.json").write_text(json.dumps(details, indent=2) + "\n")


def write(details: dict[str, Any], update_readme: bool) -> list[str]:
    """Write every result file; returns notes for the console."""
    notes: list[str] = []
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(details["summary"], indent=2) + "\n")
    (RESULTS / "details.json").write_text(json.dumps(details, indent=2) + "\n")
    (RESULTS / "partial.json").unlink(missing_ok=True)
    table = markdown(details)
    (RESULTS / "latest.md").write_text(table)
    note = plot(details, RESULTS / "latency.png")
    if note:
        notes.append(note)
    if update_readme and README.exists():
        text = README.read_text()
        if TABLE_START in text and TABLE_END in text:
            head, rest = text.split(TABLE_START, 1)
            _, tail = rest.split(TABLE_END, 1)
            README.write_text(f"{head}{TABLE_START}\n{table}{TABLE_END}{tail}")
            notes.append("bench/README.md table updated")
    return notes

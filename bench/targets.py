"""The servers under test: the service (`comfort serve`), the bare python-socketio relay and the
bare Node socket.io relay. Each runs as its own process, pinned to the server's cores unless the
run is unpinned (server and generator then share every core, as on a real host).

A `Target` is one process; `bench.scaleout.Deployment` is two of them sharing Redis (and, for the
service, PostgreSQL). Both offer what the scenarios use: `therapist_url` and `client_url`,
`ensure_sessions`, `pinned`, and `cpu_groups()` (the processes whose CPU a row reports)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from .procstat import SERVER_CPUS, pinned, rss_kb

ROOT = Path(__file__).resolve().parent.parent
NODE_DIR = Path(__file__).resolve().parent / "node"
API_KEY = "bench-api-key-0123456789abcdef"
SECRET = "bench-secret-key-0123456789abcdef0123456789abcdef"
SERVER_NOFILE = 65536

SERVICE = "service"
PY_RELAY = "python_relay"
NODE_RELAY = "node_relay"
KINDS = (SERVICE, PY_RELAY, NODE_RELAY)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Pair:
    """One session's join tokens (for the relays, `room|participant|role`)."""

    therapist: str
    client: str


@dataclass
class Target:
    """One running server under test."""

    kind: str
    proc: subprocess.Popen[bytes]
    port: int
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    pairs: list[Pair] = field(default_factory=list)
    pinned: bool = True
    rss_fresh_kb: int = 0  # RSS once ready, before any session or socket

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def therapist_url(self) -> str:
        return self.url

    @property
    def client_url(self) -> str:
        return self.url

    def cpu_groups(self) -> dict[str, Callable[[], list[int]]]:
        """The processes whose CPU a scenario reports, by name (asked again during the window);
        the groups named `server…` are the servers' own processes."""
        return {"server": lambda: [self.pid]}

    def server_pids(self) -> list[int]:
        return [self.pid]

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_errors(self) -> int:
        """Error lines in the server's log so far (the service's JSON `error` records, a relay's
        `giving up` or a traceback): a scenario reports how many its window added."""
        path = self.workdir / "server.log"
        if not path.exists():
            return 0
        marks = ('"level":"error"', '"level": "error"', "giving up", "Traceback")
        with path.open(errors="replace") as f:
            return sum(1 for line in f if any(mark in line for mark in marks))

    def log_tail(self, chars: int = 2000) -> str:
        path = self.workdir / "server.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    async def wait_ready(self, timeout: float = 30.0) -> None:
        path = "/readyz" if self.kind == SERVICE else "/healthz"
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.kind} exited:\n{self.log_tail()}")
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with http.get(self.url + path) as resp:
                        if resp.status == 200:
                            self.rss_fresh_kb = rss_kb(self.pid)
                            return
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.kind} did not become ready:\n{self.log_tail()}")

    async def ensure_sessions(self, count: int) -> list[Pair]:
        """At least `count` sessions (one therapist, one client), created through the REST API."""
        if len(self.pairs) < count:
            if self.kind == SERVICE:
                self.pairs += await create_sessions(self.url, count - len(self.pairs))
            else:
                self.pairs += [
                    Pair(f"s{i}|t-1|therapist", f"s{i}|c-1|client")
                    for i in range(len(self.pairs), count)
                ]
        return self.pairs[:count]

    def stop(self) -> None:
        """SIGTERM, then SIGKILL after 20 s. Never raises: a server slow to go (a process in
        the kernel, closing a large store) must not lose the figures already measured."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                try:
                    self.proc.wait(120)
                except subprocess.TimeoutExpired:
                    print(f"bench: {self.kind} (pid {self.proc.pid}) outlived SIGKILL", flush=True)


async def create_sessions(base: str, count: int, width: int = 16) -> list[Pair]:
    """Create `count` sessions via `POST /api/v1/sessions`, `width` requests at a time."""
    headers = {"Authorization": f"Bearer {API_KEY}"}
    pairs: list[Pair | None] = [None] * count
    next_index = 0

    async def worker(http: aiohttp.ClientSession) -> None:
        nonlocal next_index
        while next_index < count:
            i = next_index
            next_index += 1
            body = {
                "platform": "generic",
                "external_id": f"bench-{uuid.uuid4().hex}",
                "participants": [
                    {"id": "t-1", "role": "therapist"},
                    {"id": "c-1", "role": "client"},
                ],
            }
            for attempt in range(5):
                async with http.post(base + "/api/v1/sessions", json=body, headers=headers) as resp:
                    answer: Any = await resp.json(content_type=None)
                    if resp.status == 201:
                        tokens = answer["tokens"]
                        pairs[i] = Pair(tokens["t-1"], tokens["c-1"])
                        break
                await asyncio.sleep(0.2 * (attempt + 1))
            else:
                raise RuntimeError(f"session create failed: {resp.status} {answer}")

    connector = aiohttp.TCPConnector(limit=width)
    async with aiohttp.ClientSession(connector=connector) as http:
        await asyncio.gather(*(worker(http) for _ in range(width)))
    return [p for p in pairs if p is not None]


def start(
    kind: str,
    service_env: dict[str, str] | None = None,
    *,
    pin: bool = True,
    redis_url: str | None = None,
    database_url: str | None = None,
    name: str = "",
) -> Target:
    """Start a fresh server of `kind` on a free port, pinned to the server's cores if `pin`.

    `redis_url` makes it one process of a deployment (the service's `COMFORT_REDIS_URL`, the
    relays' Redis adapters); `database_url` is the service's store (default: a fresh SQLite file).
    """
    workdir = Path(tempfile.mkdtemp(prefix=f"comfort-bench-{kind}{name}-"))
    port = free_port()
    env = dict(os.environ)
    if kind == SERVICE:
        tenants = workdir / "tenants.toml"
        tenants.write_text(f'[tenants.bench]\napi_key = "{API_KEY}"\n')
        env.update(
            COMFORT_HOST="127.0.0.1",
            COMFORT_PORT=str(port),
            COMFORT_DATA_DIR=str(workdir),
            COMFORT_DATABASE_URL=database_url or f"sqlite:///{workdir}/comfort.db",
            COMFORT_SECRET_KEY=SECRET,
            COMFORT_TENANTS_FILE=str(tenants),
            COMFORT_LOG_FORMAT="json",
            # One tenant holds every benchmark session (up to 10,000): no quota.
            COMFORT_MAX_SESSIONS_PER_TENANT="0",
        )
        if redis_url:
            env["COMFORT_REDIS_URL"] = redis_url
        env.update(service_env or {})
        argv = [sys.executable, "-m", "service", "serve"]
    elif kind == PY_RELAY:
        argv = [sys.executable, "-m", "bench.baseline_relay", "--port", str(port)]
        if (service_env or {}).get("BENCH_RELAY_TUNED"):
            argv.append("--tuned")
        if redis_url:
            argv += ["--redis-url", redis_url]
    elif kind == NODE_RELAY:
        argv = ["node", str(NODE_DIR / "relay.js"), "--port", str(port)]
        if redis_url:
            argv += ["--redis-url", redis_url]
    else:
        raise ValueError(kind)
    # BENCH_SERVICE_ROOT runs the service from another checkout (before/after comparisons).
    cwd = Path(os.environ.get("BENCH_SERVICE_ROOT", ROOT)) if kind == SERVICE else ROOT
    log = (workdir / "server.log").open("ab")
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=env,
        stdout=log,
        stderr=log,
        stdin=subprocess.DEVNULL,
        preexec_fn=pinned(SERVER_CPUS if pin else set(), SERVER_NOFILE),
    )
    comfort_env = {k: v for k, v in env.items() if "COMFORT" in k}
    return Target(kind, proc, port, workdir, env=comfort_env, pinned=pin)

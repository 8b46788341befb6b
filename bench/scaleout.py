"""The scaled-out deployment: two server processes sharing Redis (and, for the service,
PostgreSQL), therapists connected to one and clients to the other, so every signal crosses
processes.

- **Redis**: a `redis-server` of this run's own on a free port (no persistence), so the fan-out
  channels carry only this run's traffic and its CPU is only this run's; `--redis-url` uses an
  existing one instead (its CPU is then read from the process listening on that port).
- **PostgreSQL**: the local server (127.0.0.1:5432), in a database made for the run
  (`comfort_bench_<hex>`, dropped after, as `bench/append.py` does). Its backends for that database
  are found by their process titles and measured; the server's own processes (postmaster, WAL
  writer, checkpointer…) are measured apart, since other databases share them.
- **The servers**: the service (`COMFORT_REDIS_URL`, a `postgresql://` store, one shared
  `COMFORT_SECRET_KEY`), the bare python-socketio relay with `AsyncRedisManager`, or the bare Node
  socket.io relay with `@socket.io/redis-adapter`.

Pinned, the two servers and the run's Redis share the server's core and the generator has the
other; PostgreSQL is the machine's and is never pinned.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from .procstat import SERVER_CPUS, all_pids, pinned, postgres_pids
from .targets import SERVICE, Pair, Target, create_sessions, free_port, start

POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


class RedisServer:
    """This run's own `redis-server`, or an existing one named by URL."""

    def __init__(self, url: str | None = None, pin: bool = True) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        if url:
            self.url = url
            self.pid = _listening_pid(urlsplit(url).port or 6379)
            return
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("the scale-out scenario needs redis-server on PATH (or --redis-url)")
        port = free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="comfort-bench-redis-"))
        argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(self.workdir)]  # fmt: skip
        self.proc = subprocess.Popen(
            argv,
            stdout=(self.workdir / "redis.log").open("ab"),
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=pinned(SERVER_CPUS if pin else set(), 65536),
        )
        self.pid = self.proc.pid
        self.url = f"redis://127.0.0.1:{port}/0"

    async def wait_ready(self, timeout: float = 10.0) -> None:
        parts = urlsplit(self.url)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 6379)
                writer.write(b"PING\r\n")
                answer = await asyncio.wait_for(reader.readline(), 2)
                writer.close()
                if answer.startswith(b"+PONG"):
                    return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"Redis at {self.url} did not answer")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def _listening_pid(port: int) -> int | None:
    """The process with a socket listening on 127.0.0.1/0.0.0.0:`port` (needs root for others')."""
    inodes: set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(table) as f:
            for line in list(f)[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(fields[9])
    for pid in all_pids():
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    link = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if link.startswith("socket:[") and link[8:-1] in inodes:
                        return pid
    return None


class PostgresDatabase:
    """A database made for the run on the local PostgreSQL server, dropped by `drop()`."""

    def __init__(self, admin_url: str = POSTGRES_URL) -> None:
        self.admin_url = admin_url
        self.name = f"comfort_bench_{secrets.token_hex(4)}"
        parts = urlsplit(admin_url)
        self.url = urlunsplit(parts._replace(path=f"/{self.name}", query=""))

    async def create(self) -> None:
        import asyncpg

        admin = await asyncpg.connect(self.admin_url, timeout=5)
        try:
            await admin.execute(f'CREATE DATABASE "{self.name}"')
        finally:
            await admin.close()

    async def drop(self) -> None:
        import asyncpg

        with contextlib.suppress(Exception):
            admin = await asyncpg.connect(self.admin_url, timeout=5)
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            finally:
                await admin.close()

    def backends(self) -> list[int]:
        return postgres_pids(self.name)[0]

    @staticmethod
    def server() -> list[int]:
        return postgres_pids("")[1]


class Deployment:
    """Two processes of `kind` as one deployment: therapists on `a`, clients on `b`."""

    def __init__(
        self,
        kind: str,
        redis: RedisServer,
        database: PostgresDatabase | None,
        a: Target,
        b: Target,
    ) -> None:
        self.kind = kind
        self.redis = redis
        self.database = database
        self.a = a
        self.b = b
        self.pinned = a.pinned
        self.pairs: list[Pair] = []

    @property
    def therapist_url(self) -> str:
        return self.a.url

    @property
    def client_url(self) -> str:
        return self.b.url

    @property
    def rss_fresh_kb(self) -> int:
        return self.a.rss_fresh_kb + self.b.rss_fresh_kb

    async def ensure_sessions(self, count: int) -> list[Pair]:
        """Sessions made through the REST API of the therapists' process (the store is shared)."""
        if len(self.pairs) < count:
            if self.kind == SERVICE:
                self.pairs += await create_sessions(self.a.url, count - len(self.pairs))
            else:
                self.pairs = await self.a.ensure_sessions(count)
        return self.pairs[:count]

    def server_pids(self) -> list[int]:
        return [self.a.pid, self.b.pid]

    def log_errors(self) -> int:
        return self.a.log_errors() + self.b.log_errors()

    def cpu_groups(self) -> dict[str, Callable[[], list[int]]]:
        groups: dict[str, Callable[[], list[int]]] = {
            "server_therapists": lambda: [self.a.pid],
            "server_clients": lambda: [self.b.pid],
        }
        if self.redis.pid is not None:
            pid = self.redis.pid
            groups["redis"] = lambda: [pid]
        if self.database is not None:
            groups["postgres_backends"] = self.database.backends
            groups["postgres_server"] = PostgresDatabase.server
        return groups

    def stop(self) -> None:
        for target in (self.a, self.b):
            target.stop()


@contextlib.asynccontextmanager
async def deployment(
    kind: str,
    service_env: dict[str, str],
    *,
    pin: bool,
    redis_url: str | None = None,
    postgres_url: str = POSTGRES_URL,
) -> AsyncIterator[Deployment]:
    """Start Redis (unless given), the database (the service) and both processes; tear down."""
    redis = RedisServer(redis_url, pin=pin)
    database = PostgresDatabase(postgres_url) if kind == SERVICE else None
    targets: list[Target] = []
    try:
        await redis.wait_ready()
        if database is not None:
            await database.create()
        for name in ("-a", "-b"):
            target = start(
                kind,
                service_env,
                pin=pin,
                redis_url=redis.url,
                database_url=database.url if database else None,
                name=name,
            )
            targets.append(target)
            # one at a time: the first applies the store's migrations
            await target.wait_ready(timeout=60)
        yield Deployment(kind, redis, database, targets[0], targets[1])
    finally:
        for target in targets:
            target.stop()
        if database is not None:
            await database.drop()
        redis.stop()

"""Shared fixtures: a real service on a real port, REST and Socket.IO peers against it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web

from service.app import create_app
from service.settings import Settings
from service.tenants import Tenant, TenantRegistry, hash_key
from tests.support import API_KEY, OTHER_KEY, SECRET, Api, Peer


@dataclass
class LiveServer:
    url: str
    app: web.Application
    api: Api
    api_key: str = API_KEY
    other_key: str = OTHER_KEY
    peers: list[Peer] = field(default_factory=list)

    async def create_session(self, clients: int = 1, **overrides: Any) -> dict[str, Any]:
        return await self.api.create(clients, **overrides)

    def peer(self, token: str) -> Peer:
        peer = Peer(self.url, token)
        self.peers.append(peer)
        return peer

    async def join(self, token: str, last_seq: int = 0, **kwargs: Any) -> Peer:
        return await self.peer(token).connect(last_seq, **kwargs)

    async def start_session(
        self, clients: int = 1, **overrides: Any
    ) -> tuple[dict[str, Any], Peer, list[Peer]]:
        """A session (`create_session`) with its therapist t-1 and then its clients c-1…
        connected, once it has started: (the created session, the therapist, the clients)."""
        created = await self.create_session(clients, **overrides)
        therapist = await self.join(created["tokens"]["t-1"])
        peers = [await self.join(created["tokens"][f"c-{i}"]) for i in range(1, clients + 1)]
        await therapist.wait_type("session_started")
        return created, therapist, peers


def default_tenants() -> TenantRegistry:
    return TenantRegistry(
        [
            Tenant(id="demo", api_key_sha256=hash_key(API_KEY)),
            Tenant(id="other", api_key_sha256=hash_key(OTHER_KEY)),
        ]
    )


async def start_server(
    tmp_path: Path, tenants: TenantRegistry | None = None, **settings: Any
) -> tuple[web.AppRunner, str, web.Application]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = Settings(
        **{
            "host": "127.0.0.1",
            "port": port,
            "database_url": f"sqlite:///{tmp_path}/comfort.db",
            "data_dir": tmp_path,
            "secret_key": SECRET,
            # The tests' clients run on the server's own loop, so its lag is theirs too: a
            # test that loads it must not meet `busy` by chance (tests/service/realtime/test_busy.py
            # turns it on).
            "busy_lag_ms": 0,
            **settings,
        }
    )
    app = create_app(config, tenants or default_tenants())
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    return runner, f"http://127.0.0.1:{port}", app


ServerFactory = Callable[..., Awaitable[LiveServer]]


@pytest.fixture
async def server_factory(tmp_path: Path) -> AsyncIterator[ServerFactory]:
    """Start live servers with settings of the test's choosing; all are stopped afterwards."""
    runners: list[tuple[web.AppRunner, LiveServer]] = []
    http = aiohttp.ClientSession()

    async def factory(**settings: Any) -> LiveServer:
        runner, url, app = await start_server(tmp_path, **settings)
        server = LiveServer(url=url, app=app, api=Api(url, http=http))
        runners.append((runner, server))
        return server

    yield factory
    for runner, server in runners:
        for peer in server.peers:
            await asyncio.wait_for(peer.close(), 10)
        # A stop that hangs is a defect (a task that swallowed its cancellation): fail loudly.
        await asyncio.wait_for(runner.cleanup(), 30)
    await http.close()


@pytest.fixture
async def live_server(server_factory: ServerFactory) -> LiveServer:
    """A real service on a real port (in this process) with tenants `demo` and `other`."""
    return await server_factory()


POSTGRES_ADMIN = os.environ.get(
    "COMFORT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
STORES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@contextlib.asynccontextmanager
async def fresh_postgres(prefix: str = "comfort_test") -> AsyncIterator[str]:
    """The URL of a new PostgreSQL database for one test, dropped after it (skipped when the
    server does not answer; failed in CI, where it must)."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    try:
        admin = await asyncpg.connect(POSTGRES_ADMIN, timeout=3)
    except (OSError, asyncpg.PostgresError) as exc:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL not reachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable: {type(exc).__name__}")
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield f"{POSTGRES_ADMIN.rsplit('/', 1)[0]}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(params=STORES)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A `COMFORT_DATABASE_URL` for an empty store: a SQLite file, then a PostgreSQL database
    made for this test (`fresh_postgres`)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/comfort.db"
        return
    async with fresh_postgres("comfort_any") as url:
        yield url


@pytest.fixture
async def any_store(server_factory: ServerFactory, database_url: str) -> LiveServer:
    """A live service on SQLite, then on PostgreSQL (the pacing suite has its own, with fast
    pacing)."""
    return await server_factory(database_url=database_url)

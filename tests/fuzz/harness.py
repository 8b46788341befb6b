"""A real service and its clients on a background event loop, so that plain (synchronous)
hypothesis tests can drive them: `loop.run(coro)` runs a coroutine there and returns its result.

One service per test module keeps thousands of cases cheap; each case still goes through the
real HTTP, Engine.IO and Socket.IO stacks.
"""

from __future__ import annotations

import asyncio
import gc
import threading
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

from service.tenants import TenantRegistry
from tests.conftest import start_server
from tests.support import Api, Peer, session_body

T = TypeVar("T")

#: Send errors the contract lists (§3); `internal` is not expected with a healthy store.
SEND_CODES = frozenset(
    {
        "invalid_payload",
        "unknown_type",
        "forbidden",
        "not_found",
        "session_ended",
        "rate_limited",
    }
)
#: REST error codes and the statuses they come with (§2).
REST_CODES = {
    "unauthorized": 401,
    "invalid_body": 400,
    "session_not_found": 404,
    "participant_not_found": 404,
    "not_found": 404,
    "conflict": 409,
    "session_ended": 409,
    "too_large": 413,
    "request_timeout": 408,
    "rate_limited": 429,
    "quota_exceeded": 429,
    "invalid_signature": 401,
    "method_not_allowed": 405,
}


class BackgroundLoop:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@dataclass
class Room:
    """One session with a therapist and `clients` clients connected."""

    session: dict[str, Any]
    therapist: Peer
    clients: list[Peer]

    @property
    def id(self) -> str:
        return str(self.session["session"]["id"])

    @property
    def peers(self) -> list[Peer]:
        return [self.therapist, *self.clients]


@dataclass
class FuzzService:
    loop: BackgroundLoop
    url: str
    runner: web.AppRunner
    http: aiohttp.ClientSession
    api: Api
    app: web.Application
    peers: list[Peer] = field(default_factory=list)
    gc_threshold: tuple[int, int, int] = (700, 10, 10)

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return self.loop.run(coro, timeout)

    async def open_room(self, clients: int = 1) -> Room:
        created = await self.api.create(clients, external_id=f"fuzz-{uuid.uuid4().hex[:10]}")
        therapist = await self.join(created["tokens"]["t-1"])
        joined = [await self.join(created["tokens"][f"c-{i}"]) for i in range(1, clients + 1)]
        return Room(created, therapist, joined)

    async def join(self, token: str, last_seq: int = 0) -> Peer:
        peer = Peer(self.url, token)
        self.peers.append(peer)
        return await peer.connect(last_seq)

    async def healthy(self) -> bool:
        async with self.http.get(self.url + "/healthz") as resp:
            return resp.status == 200


def start_fuzz_service(
    data_dir: Path, tenants: TenantRegistry | None = None, **settings: Any
) -> FuzzService:
    loop = BackgroundLoop()
    # No send rate and no session quota: the fuzzers send and create by the thousand.
    settings = {
        "send_rate": 1_000_000.0,
        "send_burst": 1_000_000,
        "max_sessions_per_tenant": 0,
        **settings,
    }

    async def start() -> FuzzService:
        runner, url, app = await start_server(data_dir, tenants, **settings)
        http = aiohttp.ClientSession()
        return FuzzService(loop, url, runner, http, Api(url, http=http), app, gc_threshold=before)

    # The collector's thresholds `comfort serve` sets (service/__main__.py), restored at the
    # stop: the service is fuzzed as it runs. (With the default ones, a collection lands far
    # more often at whatever depth a request's handling has reached; test_http_edges.py holds
    # the service to never reaching the interpreter's limit, deterministically.)
    before = gc.get_threshold()
    gc.set_threshold(50_000, 20, 100)
    try:
        return loop.run(start())
    except BaseException:
        gc.set_threshold(*before)
        raise


def stop_fuzz_service(service: FuzzService) -> None:
    async def stop() -> None:
        for peer in service.peers:
            await asyncio.wait_for(peer.close(), 10)
        await service.http.close()
        await asyncio.wait_for(service.runner.cleanup(), 30)

    try:
        service.call(stop())
    finally:
        service.loop.close()
        gc.set_threshold(*service.gc_threshold)


__all__ = ["REST_CODES", "SEND_CODES", "FuzzService", "Room", "session_body"]

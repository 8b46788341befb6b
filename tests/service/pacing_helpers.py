"""Helpers for the pacing tests: a live service whose pacing engine scans quickly."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from service.app import create_app
from service.appkeys import PACING
from service.outbox import RetryPolicy
from service.pacing import PacingEngine, PacingOptions
from service.settings import Settings
from service.tenants import TenantRegistry
from tests.conftest import LiveServer, default_tenants
from tests.support import SECRET, Peer

FAST = PacingOptions(
    timer_scan_s=0.2,
    timer_lease_s=2.0,
    flush_s=0.2,
    backlog_scan_s=0.5,
    outbox_scan_s=0.2,
    outbox_timeout_s=3.0,
    retry=RetryPolicy(first_retry_s=0.3, max_interval_s=2.0, window_s=60.0),
)


async def start_pacing_server(
    tmp_path: Path,
    tenants: TenantRegistry | None = None,
    options: PacingOptions = FAST,
    **settings: Any,
) -> tuple[web.AppRunner, str, web.Application]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    settings.setdefault("database_url", f"sqlite:///{tmp_path}/comfort.db")
    config = Settings(
        host="127.0.0.1",
        port=port,
        data_dir=tmp_path,
        secret_key=SECRET,
        **settings,
    )
    app = create_app(config, tenants or default_tenants(), pacing_options=options)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    return runner, f"http://127.0.0.1:{port}", app


PacingFactory = Callable[..., Awaitable[LiveServer]]


def pacing_of(server: LiveServer) -> PacingEngine:
    return server.app[PACING]


async def live_pair(
    server: LiveServer, cues: dict[str, Any] | None = None, clients: int = 1, **body: Any
) -> tuple[str, Peer, list[Peer]]:
    """A live session: therapist t-1 and clients c-1… connected. Returns (id, t, clients)."""
    created, therapist, peers = await server.start_session(
        clients, settings={"cues": cues or {}}, **body
    )
    return created["session"]["id"], therapist, peers


def cues_of(peer: Peer, rule: str | None = None) -> list[dict[str, Any]]:
    return [e for e in peer.of_type("cue") if rule is None or e["data"]["rule"] == rule]


async def quiet_for(seconds: float) -> None:
    """Let time pass for a rule that must stay quiet (a timer that should not fire)."""
    await asyncio.sleep(seconds)


def elapsed_since(started: float) -> float:
    return time.monotonic() - started

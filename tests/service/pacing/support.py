"""Helpers of the pacing suite: a log written by hand and folded by the pure `PacingState`, and
live services with fast pacing on either store, with a vendor's receiver."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from service.events import SYSTEM_ACTOR, Actor, Event, Role
from service.pacing.state import Cue, PacingState, Timer
from service.tenants import TenantRegistry
from tests.conftest import LiveServer
from tests.conftest import fresh_postgres as conftest_fresh_postgres
from tests.service.outbox_helpers import Receiver
from tests.service.pacing_helpers import start_pacing_server
from tests.support import Api

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
THERAPIST = Actor("t-1", Role.THERAPIST)


def client(cid: str = "c-1") -> Actor:
    return Actor(cid, Role.CLIENT)


def presence(kind: str, cid: str = "c-1", via: str = "widget") -> tuple[str, Actor, dict[str, Any]]:
    return kind, SYSTEM_ACTOR, {"participant": {"id": cid, "role": "client"}, "via": via}


@dataclass
class Folded:
    """A `PacingState` fed events one at a time at chosen moments; remembers every timer."""

    state: PacingState
    timers: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, cues: dict[str, Any] | None = None, clients: tuple[str, ...] = ("c-1",)) -> Folded:
        state = PacingState.from_settings("ses_x", {"cues": cues or {}}, clients, 50)
        return cls(state)

    def add(
        self,
        at_s: float,
        kind: str,
        actor: Actor,
        data: dict[str, Any] | None = None,
        event_id: str | None = None,
    ) -> int:
        """Fold one event `at_s` seconds after T0; returns its seq."""
        seq = self.state.head + 1
        at = (T0 + timedelta(seconds=at_s)).isoformat().replace("+00:00", "Z")
        event = Event(seq, event_id or f"e{seq}", kind, at, actor, None, data or {})
        timer: Timer
        for timer in self.state.apply(event):
            self.timers[timer.key] = timer.due_at - T0.timestamp()
        return seq

    def due(self, at_s: float) -> list[Cue]:
        """The cues the timers due by `at_s` log, in deadline order (each logged as it fires)."""
        fired = []
        for key, due in sorted(self.timers.items(), key=lambda item: item[1]):
            if due > at_s:
                continue
            del self.timers[key]
            cue = self.state.cue_for(key, T0.timestamp() + at_s)
            if cue is not None:
                fired.append(cue)
                self.add(at_s, "cue", SYSTEM_ACTOR, cue.as_data().model_dump(), cue.event_id)
        return fired


# -- live services ---------------------------------------------------------------------------


def fresh_postgres() -> contextlib.AbstractAsyncContextManager[str]:
    """A new PostgreSQL database for one test (dropped after); skips when none answers."""
    return conftest_fresh_postgres("comfort_safety")


@contextlib.asynccontextmanager
async def serving(
    tmp_path: Path, tenants: TenantRegistry | None = None, **settings: Any
) -> AsyncIterator[LiveServer]:
    """A live service with fast pacing, stopped (its peers first) on the way out."""
    runner, url, app = await start_pacing_server(tmp_path, tenants, **settings)
    async with aiohttp.ClientSession() as http:
        server = LiveServer(url=url, app=app, api=Api(url, http=http))
        try:
            yield server
        finally:
            for peer in server.peers:
                await peer.close()
            await runner.cleanup()


STORES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@contextlib.asynccontextmanager
async def on_store(
    store: str, tmp_path: Path, tenants: TenantRegistry | None = None
) -> AsyncIterator[LiveServer]:
    """`serving` on SQLite, or on a fresh PostgreSQL database."""
    async with contextlib.AsyncExitStack() as stack:
        settings: dict[str, Any] = {}
        if store == "postgresql":
            settings["database_url"] = await stack.enter_async_context(fresh_postgres())
        yield await stack.enter_async_context(serving(tmp_path, tenants, **settings))


@contextlib.asynccontextmanager
async def receiving(target: Receiver) -> AsyncIterator[str]:
    """A vendor's webhook endpoint on a real port, recording into `target`; yields its URL."""
    app = web.Application()
    app.router.add_post("/hooks/comfort", target.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/hooks/comfort"
    finally:
        await runner.cleanup()

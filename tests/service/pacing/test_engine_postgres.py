"""Two service processes on one PostgreSQL store: each timed cue fires once per deployment.

Both processes see the session (the therapist is connected to both), both derive
and save the same timers, both scan for due timers; the store's claim lets one fire each.
Skipped when the local PostgreSQL does not answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from service.appkeys import PACING
from tests.conftest import LiveServer
from tests.service.pacing.support import fresh_postgres
from tests.service.pacing_helpers import cues_of, start_pacing_server
from tests.support import Api

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    async with fresh_postgres() as url:
        yield url


async def test_two_processes_fire_each_timed_cue_once(tmp_path: Path, database_url: str) -> None:
    import aiohttp

    runners: list[web.AppRunner] = []
    servers: list[LiveServer] = []
    async with aiohttp.ClientSession() as http:
        try:
            for index in range(2):
                folder = tmp_path / f"p{index}"
                folder.mkdir()
                runner, url, app = await start_pacing_server(
                    folder, database_url=database_url, catchup_interval_seconds=0.3
                )
                runners.append(runner)
                servers.append(LiveServer(url=url, app=app, api=Api(url, http=http)))
            first, second = servers
            sessions = []
            for _ in range(5):
                created = await first.create_session(
                    settings={"cues": {"pause_unacknowledged": {"after_s": 1.0}}}
                )
                here = await first.join(created["tokens"]["t-1"])
                client = await first.join(created["tokens"]["c-1"])
                await here.wait_type("session_started", timeout=10)
                # The same therapist on the other process: it folds the log there too.
                therapist = await second.join(created["tokens"]["t-1"])
                await client.send("pause")
                sessions.append((created["session"]["id"], therapist))
            for _, therapist in sessions:
                await therapist.wait_for(lambda t=therapist: len(cues_of(t)) == 1, timeout=10)
            await asyncio.sleep(2.0)  # time for a second firing, if there were one
            fired = [server.app[PACING].timers_fired._value.get() for server in servers]
            print(f"\ntimers fired per process: {fired}")
            for sid, therapist in sessions:
                for server in servers:  # both processes folded the pause and saved its timer
                    state = server.app[PACING].sessions[sid].state
                    assert state is not None and any(t.pauses for t in state.clients.values()), sid
                events = await first.api.events(sid)
                assert len([e for e in events if e["type"] == "cue"]) == 1, sid
                assert len(cues_of(therapist)) == 1
        finally:
            for server in servers:
                for peer in server.peers:
                    await peer.close()
            for runner in runners:
                await runner.cleanup()

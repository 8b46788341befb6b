"""Presence (service/realtime/presence.py): joins and leaves logged once per participant, the
session started the first time a therapist and a client are both here, and participants of a
process that died logged as left after the grace. Runs with the transport patches on and off
(conftest.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import LiveServer
from tests.support import Api, Peer, ServiceProcess, joined


async def test_presence_join_leave_and_session_start(live_server: LiveServer):
    created = await live_server.create_session()
    therapist = await live_server.join(created["tokens"]["t-1"])
    client = await live_server.join(created["tokens"]["c-1"])
    second = await live_server.join(created["tokens"]["c-1"])
    await therapist.wait_type("session_started")
    joins = [
        e
        for e in therapist.of_type("participant_joined")
        if e["data"]["participant"]["id"] == "c-1"
    ]
    assert len(joins) == 1 and joins[0]["data"]["via"] == "widget"
    await second.close()
    await asyncio.sleep(0.3)
    assert not therapist.of_type("participant_left")
    await client.close()
    left = (await therapist.wait_type("participant_left"))[0]
    assert left["data"] == {"participant": {"id": "c-1", "role": "client"}, "via": "widget"}
    status, body = await live_server.api.call("GET", f"/api/v1/sessions/{created['session']['id']}")
    assert body["session"]["state"] == "live" and body["session"]["started_at"]
    conn = {p["id"]: p["connected"] for p in body["session"]["participants"]}
    assert conn == {"t-1": True, "c-1": False}
    assert len(therapist.of_type("session_started")) == 1


@pytest.mark.slow  # spawns service processes
async def test_participants_of_a_dead_process_are_logged_left_after_the_grace(tmp_path: Path):
    env = {"COMFORT_PRESENCE_GRACE_SECONDS": "1.5"}
    service = await ServiceProcess(tmp_path, env=env).start()
    try:
        async with aiohttp.ClientSession() as http:
            api = Api(service.url, http=http)
            created = await api.create()
            sid = created["session"]["id"]
            therapist, (client,) = await joined(service.url, created)
            service.kill()
            await therapist.close()
            await client.close()
            await service.start()
            # The therapist comes back within the grace; the client does not.
            back = await Peer(service.url, created["tokens"]["t-1"]).connect(last_seq=0)
            await back.wait_type("participant_left", timeout=10)
            left = [e["data"]["participant"]["id"] for e in back.of_type("participant_left")]
            assert left == ["c-1"]
            events = await api.events(sid)
            joins = [
                e
                for e in events
                if e["type"] == "participant_joined" and e["data"]["participant"]["id"] == "t-1"
            ]
            assert len(joins) == 1, "a reconnect within the grace is no new join"
            await back.close()
    finally:
        service.kill()

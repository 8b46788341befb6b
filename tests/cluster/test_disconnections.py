"""Contract §9.3 across processes: a client's return through another `comfort serve` process
(PostgreSQL and Redis) cancels `disconnected_in_distress`; a client that stays away gets one
urgent cue, fired by one process. The timers are in the store, claimed once per deployment, and
the process that fires reads the log up to then, so a return logged elsewhere is seen."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from yarl import URL

from tests.cluster.conftest import Deployment
from tests.support import Api, Peer, ServiceProcess, numbered_apart, stored_seq, tenants_toml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integrations"))
from platform_signers import DailySigner

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

GRACE = 3.0
SETTINGS = {
    "cues": {
        "pause_unacknowledged": {"enabled": False},
        "disconnected_in_distress": {"grace_s": GRACE},
    }
}
AFTER_GRACE = GRACE + 4.0  # the grace, a timer scan (1 s), and the fan-out's catch-up (2 s)


def urgent(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == "cue" and e["data"]["severity"] == "urgent"]


def client_presence(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        (e["type"], e["data"]["via"])
        for e in events
        if e["type"].startswith("participant_") and e["data"]["participant"]["id"] == "c-1"
    ]


@pytest.mark.parametrize("away_s", [0.0, 0.5])
async def test_a_reload_onto_another_process_while_paused_raises_nothing(
    deployment: Deployment, away_s: float
) -> None:
    a, b = await deployment(2)
    async with aiohttp.ClientSession() as http:
        api = Api(a.url, http=http)
        created = await api.create(settings=SETTINGS)
        sid = created["session"]["id"]
        therapist = await Peer(a.url, created["tokens"]["t-1"]).connect()
        client = await Peer(a.url, created["tokens"]["c-1"]).connect()
        await therapist.wait_type("session_started", timeout=10)
        assert (await client.send("pause"))["ok"]
        await client.close()
        await asyncio.sleep(away_s)
        back = await Peer(b.url, created["tokens"]["c-1"]).connect()
        assert back.welcome is not None
        await asyncio.sleep(AFTER_GRACE)
        events = await api.events(sid)
        assert urgent(events) == [], events
        assert client_presence(events)[-1] == ("participant_joined", "widget")
        status, body = await api.call("GET", f"/api/v1/sessions/{sid}")
        assert status == 200
        connected = {p["id"]: p["connected"] for p in body["session"]["participants"]}
        assert connected["c-1"] is True
        for peer in (therapist, back):
            await peer.close()


async def test_a_client_that_stays_away_gets_one_urgent_cue_from_one_process(
    deployment: Deployment,
) -> None:
    a, b = await deployment(2)
    async with aiohttp.ClientSession() as http:
        api = Api(a.url, http=http)
        created = await api.create(clients=2, settings=SETTINGS)
        sid = created["session"]["id"]
        await numbered_apart(a.url, created["tokens"]["c-2"])  # c-1's numbers are its own
        # The therapist is on both processes: both fold the log and save the timer.
        on_a = await Peer(a.url, created["tokens"]["t-1"]).connect()
        on_b = await Peer(b.url, created["tokens"]["t-1"]).connect()
        client = await Peer(b.url, created["tokens"]["c-1"]).connect()
        await on_a.wait_type("session_started", timeout=10)
        pause = await client.send("pause", id="the-pause")
        await client.close()
        left = time.monotonic()
        for therapist in (on_a, on_b):
            await therapist.wait_for(
                lambda t=therapist: any(
                    e["data"]["severity"] == "urgent" for e in t.of_type("cue")
                ),
                timeout=GRACE + 12,
            )
        assert time.monotonic() - left >= GRACE - 0.2
        await asyncio.sleep(2.0)  # time for a second firing, if there were one
        events = await api.events(sid)
        (cue,) = urgent(events)
        assert cue["data"]["rule"] == "disconnected_in_distress"
        assert cue["data"]["related_seq"] == [stored_seq(events, "the-pause")] != [pause["seq"]]
        for peer in (on_a, on_b):
            assert len(urgent(peer.events)) == 1
            await peer.close()


@pytest.mark.parametrize("away_s", [0.0, 0.3])
async def test_a_platform_leave_on_one_process_and_rejoin_on_another_raises_nothing(
    deployment: Deployment, tmp_path: Path, away_s: float
) -> None:
    daily = DailySigner()
    tenants = tenants_toml(
        tmp_path / "platform-tenants.toml",
        f'[tenants.demo.integrations.daily]\nhmac = "{daily.config["hmac"]}"\n',
    )
    a, b = await deployment(2, COMFORT_TENANTS_FILE=str(tenants))
    async with aiohttp.ClientSession() as http:
        api = Api(a.url, http=http)
        room = "room-distress-1"
        created = await api.create(
            platform="daily",
            external_id=room,
            participants=[
                {"id": "t-1", "role": "therapist", "platform_ref": "t-ref"},
                {"id": "c-1", "role": "client", "platform_ref": "c-ref"},
            ],
            settings=SETTINGS,
        )
        sid = created["session"]["id"]
        therapist = await Peer(a.url, created["tokens"]["t-1"]).connect()
        client = await Peer(b.url, created["tokens"]["c-1"]).connect()
        await therapist.wait_type("session_started", timeout=10)

        async def platform(process: ServiceProcess, action: str) -> None:
            delivery = daily.delivery(action, room, "c-ref")  # type: ignore[arg-type]
            url = URL(f"{process.url}/webhooks/demo/{delivery.path}", encoded=True)
            async with http.post(url, data=delivery.body, headers=delivery.headers) as resp:
                assert resp.status == 200, await resp.text()

        await platform(a, "join")
        assert (await client.send("pause"))["ok"]
        await platform(a, "leave")
        await asyncio.sleep(away_s)
        await platform(b, "join")  # back, through the other process
        await asyncio.sleep(AFTER_GRACE)
        events = await api.events(sid)
        assert urgent(events) == [], events
        assert [p for p in client_presence(events) if p[1] == "platform"] == [
            ("participant_joined", "platform"),
            ("participant_left", "platform"),
            ("participant_joined", "platform"),
        ]
        for peer in (therapist, client):
            await peer.close()

"""Guarantee 1 (contract §4): an acknowledged send survives SIGKILL right after its ack; and
participants of a process that died are logged as left after the grace period."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from tests.support import Api, Peer, ServiceProcess

pytestmark = pytest.mark.slow


async def test_acked_sends_survive_sigkill_right_after_the_ack(tmp_path: Path):
    service = await ServiceProcess(tmp_path).start()
    try:
        async with aiohttp.ClientSession() as http:
            api = Api(service.url, http=http)
            created = await api.create()
            sid = created["session"]["id"]
            client = await Peer(service.url, created["tokens"]["c-1"]).connect()
            acks = await asyncio.gather(
                *(client.send("keep_going", id=f"k-{i}") for i in range(12))
            )
            last = await client.send("pause", id="the-pause")
            service.kill()  # SIGKILL the moment the ack is in
            assert all(a["ok"] for a in acks) and last["ok"]
            await client.close()
            await service.start()
            events = await api.events(sid)
            by_id = {e["id"]: e["seq"] for e in events}
            assert by_id["the-pause"] == last["seq"]
            for i, ack in enumerate(acks):
                assert by_id[f"k-{i}"] == ack["seq"]
            assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
            # The same ids sent again after the restart are recognised.
            again = await Peer(service.url, created["tokens"]["c-1"]).connect()
            dup = await again.send("pause", id="the-pause")
            assert dup == {"ok": True, "seq": last["seq"], "duplicate": True}
            await again.close()
    finally:
        service.kill()


async def test_participants_of_a_dead_process_are_logged_left_after_the_grace(tmp_path: Path):
    env = {"COMFORT_PRESENCE_GRACE_SECONDS": "1.5"}
    service = await ServiceProcess(tmp_path, env=env).start()
    try:
        async with aiohttp.ClientSession() as http:
            api = Api(service.url, http=http)
            created = await api.create()
            sid = created["session"]["id"]
            therapist = await Peer(service.url, created["tokens"]["t-1"]).connect()
            client = await Peer(service.url, created["tokens"]["c-1"]).connect()
            await therapist.wait_type("session_started")
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


async def test_sigterm_finishes_in_flight_appends(tmp_path: Path):
    service = await ServiceProcess(tmp_path).start()
    try:
        async with aiohttp.ClientSession() as http:
            api = Api(service.url, http=http)
            created = await api.create()
            client = await Peer(service.url, created["tokens"]["c-1"]).connect()
            acks = await asyncio.gather(
                *(client.send("keep_going") for _ in range(10)), return_exceptions=True
            )
            service.terminate()
            await client.close()
            await service.start()
            stored = {e["seq"] for e in await api.events(created["session"]["id"])}
            for ack in acks:
                if isinstance(ack, dict) and ack.get("ok"):
                    assert ack["seq"] in stored
    finally:
        service.kill()


@pytest.mark.skipif(__import__("shutil").which("node") is None, reason="node is not installed")
async def test_sigterm_tells_sockets_to_reconnect_rather_than_ending_them(tmp_path: Path):
    """socket.io clients reconnect after a transport close, never after 'io server disconnect'."""
    service = await ServiceProcess(tmp_path).start()
    try:
        async with aiohttp.ClientSession() as http:
            created = await Api(service.url, http=http).create()
        script = Path(__file__).resolve().parents[1] / "js" / "drain_reason.cjs"
        proc = await asyncio.create_subprocess_exec(
            "node",
            str(script),
            service.url,
            created["tokens"]["c-1"],
            stdout=asyncio.subprocess.PIPE,
        )
        assert proc.stdout is not None
        assert (await asyncio.wait_for(proc.stdout.readline(), 10)).strip() == b"welcome"
        service.terminate()
        out = (await asyncio.wait_for(proc.stdout.readline(), 15)).decode().strip()
        assert out == "reason:transport close"
        await proc.wait()
        # And no departure was logged for the client: the grace rule decides later.
        await service.start()
        async with aiohttp.ClientSession() as http:
            events = await Api(service.url, http=http).events(created["session"]["id"])
        assert not [e for e in events if e["type"] == "participant_left"]
    finally:
        service.kill()

"""Guarantee 1 (contract §4): an acknowledged send survives SIGKILL right after its ack, and
SIGTERM finishes the appends in flight. (A dead process's participants logged as left: in
tests/service/realtime/test_presence.py; SIGTERM's sockets: realtime/test_sockets.py.)"""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest

from tests.support import Api, Peer, ServiceProcess, numbered_apart, own_positions, stored_seq

pytestmark = pytest.mark.slow


async def test_acked_sends_survive_sigkill_right_after_the_ack(tmp_path: Path):
    service = await ServiceProcess(tmp_path).start()
    try:
        async with aiohttp.ClientSession() as http:
            api = Api(service.url, http=http)
            created = await api.create(clients=2)
            sid = created["session"]["id"]
            await numbered_apart(service.url, created["tokens"]["c-2"])
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
            # Each ack named the event's position in c-1's own numbering (contract §9.1).
            by_id = own_positions(events, "c-1")
            assert by_id["the-pause"] == last["seq"] != stored_seq(events, "the-pause")
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


async def test_sigterm_finishes_in_flight_appends(tmp_path: Path):
    service = await ServiceProcess(tmp_path).start()
    try:
        async with aiohttp.ClientSession() as http:
            api = Api(service.url, http=http)
            created = await api.create(clients=2)
            await numbered_apart(service.url, created["tokens"]["c-2"])
            client = await Peer(service.url, created["tokens"]["c-1"]).connect()
            acks = await asyncio.gather(
                *(client.send("keep_going", id=f"k-{i}") for i in range(10)),
                return_exceptions=True,
            )
            service.terminate()
            await client.close()
            await service.start()
            stored = own_positions(await api.events(created["session"]["id"]), "c-1")
            for i, ack in enumerate(acks):
                if isinstance(ack, dict) and ack.get("ok"):
                    assert stored[f"k-{i}"] == ack["seq"]
    finally:
        service.kill()

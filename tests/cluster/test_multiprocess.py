"""Contract §4.2-4.3 with several service processes on PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import subprocess
import time

import aiohttp
import pytest

from tests.cluster.conftest import Deployment, restart_redis
from tests.support import (
    Api,
    Peer,
    assert_seen_as,
    expected_view,
    numbered_apart,
    session_seq,
    stored_seq,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


async def _session(api: Api, **overrides):
    return await api.create(**overrides)


def arrived(therapist: Peer, event_id: str) -> bool:
    return any(e["id"] == event_id for e in therapist.events)


async def test_client_on_one_process_therapist_on_another(deployment: Deployment):
    a, b = await deployment(2)
    async with aiohttp.ClientSession() as http:
        created = await _session(Api(a.url, http=http), clients=2)
        await numbered_apart(b.url, created["tokens"]["c-2"])  # c-1's numbers are its own
        therapist = await Peer(b.url, created["tokens"]["t-1"]).connect()
        client = await Peer(a.url, created["tokens"]["c-1"]).connect()
        await therapist.wait_type("session_started", timeout=10)
        kinds = ("pause", "slow_down", "keep_going", "resume")
        acks = [await client.send(kind, id=f"a-{kind}") for kind in kinds]
        last = await session_seq(therapist, client, acks[-1]["seq"])
        got = [e for e in therapist.events if e["actor"]["id"] == "c-1"]
        assert [e["id"] for e in got] == [f"a-{kind}" for kind in kinds] and got[-1]["seq"] == last
        assert therapist.seqs == sorted(set(therapist.seqs))
        assert [e["seq"] for e in got] != [x["seq"] for x in acks]
        ack = await therapist.send("acknowledge", {"seq": got[0]["seq"]})
        assert ack["ok"]
        (seen,) = await client.wait_type("acknowledge", timeout=5)
        assert seen["data"] == {"seq": acks[0]["seq"]}
        # An id is recognised by every process.
        other = await Peer(b.url, created["tokens"]["c-1"]).connect()
        dup = await other.send("pause", id="shared-id")
        again = await client.send("pause", id="shared-id")
        assert again == {"ok": True, "seq": dup["seq"], "duplicate": True}
        for p in (therapist, client, other):
            await p.close()


async def test_killed_process_participants_reconnect_elsewhere_with_nothing_lost(
    deployment: Deployment,
):
    a, b = await deployment(2)
    async with aiohttp.ClientSession() as http:
        api = Api(b.url, http=http)
        created = await _session(api)
        therapist = await Peer(a.url, created["tokens"]["t-1"]).connect()
        client = await Peer(b.url, created["tokens"]["c-1"]).connect()
        await therapist.wait_type("session_started", timeout=10)
        last = therapist.seqs[-1]
        a.kill()
        await therapist.close()
        for kind in ("pause", "slow_down"):
            assert (await client.send(kind))["ok"]
        assert (await client.send("zone", {"zone": "too_much"}, id="the-last"))["ok"]
        back = await Peer(b.url, created["tokens"]["t-1"]).connect(
            last_seq=last, epoch=created["session"]["epoch"]
        )
        await back.wait_for(lambda: any(e["id"] == "the-last" for e in back.events), timeout=5)
        assert back.seqs == list(range(last + 1, back.seqs[-1] + 1))
        events = await api.events(created["session"]["id"])
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        # The therapist came back within the grace: no departure is logged for them.
        await asyncio.sleep(5)
        lefts = [
            e for e in await api.events(created["session"]["id"]) if e["type"] == "participant_left"
        ]
        assert all(e["data"]["participant"]["id"] != "t-1" for e in lefts)
        await back.close()
        await client.close()


async def test_a_dead_process_participants_are_logged_left_after_the_grace(deployment: Deployment):
    a, b = await deployment(2)
    async with aiohttp.ClientSession() as http:
        api = Api(b.url, http=http)
        created = await _session(api)
        therapist = await Peer(b.url, created["tokens"]["t-1"]).connect()
        client = await Peer(a.url, created["tokens"]["c-1"]).connect()
        await therapist.wait_type("session_started", timeout=10)
        a.kill()
        await client.close()
        # Heartbeat TTL (10 s) plus the 3 s grace, noticed by b's reaper (every 5 s): about 15 s.
        left = await therapist.wait_type("participant_left", timeout=30)
        assert [e["data"]["participant"]["id"] for e in left] == ["c-1"]
        await therapist.close()


async def test_events_still_arrive_when_redis_restarts(deployment: Deployment):
    a, b = await deployment(2, COMFORT_CATCHUP_INTERVAL_SECONDS="1")
    try:
        async with aiohttp.ClientSession() as http:
            created = await _session(Api(a.url, http=http))
            therapist = await Peer(b.url, created["tokens"]["t-1"]).connect()
            client = await Peer(a.url, created["tokens"]["c-1"]).connect()
            await therapist.wait_type("session_started", timeout=10)
            subprocess.run(
                ["redis-cli", "-h", "127.0.0.1", "-p", "6379", "shutdown", "nosave"],
                check=False,
                capture_output=True,
            )
            stored_at = {}
            for kind in ("pause", "slow_down", "keep_going"):
                ack = await client.send(kind, id=kind)
                assert ack["ok"], ack
                stored_at[kind] = time.monotonic()
            async with http.get(a.url + "/readyz") as r:
                body = await r.json()
                assert r.status == 200 and body["redis"] == "unreachable"
            await therapist.wait_for(lambda: arrived(therapist, "keep_going"), timeout=10)
            assert therapist.seqs == sorted(set(therapist.seqs))
            assert time.monotonic() - stored_at["keep_going"] <= 10
            restart_redis()
            await asyncio.sleep(1.5)
            ack = await client.send("resume", id="resume")
            assert ack["ok"], ack
            await therapist.wait_for(lambda: arrived(therapist, "resume"), timeout=10)
            await therapist.close()
            await client.close()
    finally:
        restart_redis()


async def test_a_timed_cue_fires_once_with_two_processes(deployment: Deployment):
    a, b = await deployment(2)
    async with aiohttp.ClientSession() as http:
        api = Api(a.url, http=http)
        created = await _session(
            api, clients=2, settings={"cues": {"pause_unacknowledged": {"after_s": 1}}}
        )
        await numbered_apart(a.url, created["tokens"]["c-2"])  # c-1's numbers are its own
        therapist = await Peer(b.url, created["tokens"]["t-1"]).connect()
        client = await Peer(a.url, created["tokens"]["c-1"]).connect()
        watcher = await Peer(a.url, created["tokens"]["t-1"]).connect()
        pause = await client.send("pause", id="the-pause")
        await therapist.wait_for(
            lambda: any(
                e["type"] == "cue" and e["data"]["rule"] == "pause_unacknowledged"
                for e in therapist.events
            ),
            timeout=12,
        )
        await asyncio.sleep(3)
        events = await api.events(created["session"]["id"])
        cues = [
            e for e in events if e["type"] == "cue" and e["data"]["rule"] == "pause_unacknowledged"
        ]
        assert len(cues) == 1
        assert cues[0]["data"]["related_seq"] == [stored_seq(events, "the-pause")] != [pause["seq"]]
        assert not client.of_type("cue")
        for p in (therapist, client, watcher):
            await p.close()


async def test_the_session_starts_when_the_pair_meets_across_processes(deployment: Deployment):
    """Therapist on one process, client on another: the second process to see both joins logs
    the start (once), even when the fan-out is off and the join arrives by the head check."""
    a, b = await deployment(2, COMFORT_REDIS_URL="", COMFORT_CATCHUP_INTERVAL_SECONDS="0.5")
    async with aiohttp.ClientSession() as http:
        api = Api(a.url, http=http)
        created = await _session(api)
        therapist = await Peer(b.url, created["tokens"]["t-1"]).connect()
        client = await Peer(a.url, created["tokens"]["c-1"]).connect()
        await therapist.wait_type("session_started", timeout=10)
        await asyncio.sleep(1.5)
        events = await api.events(created["session"]["id"])
        assert [e["type"] for e in events].count("session_started") == 1
        await therapist.close()
        await client.close()


async def test_a_client_keeps_its_own_numbering_across_processes(deployment: Deployment):
    """Contract §9.1 with §4.2: c-2 reads its own positions on process A while c-1 signals on B,
    reconnects to B with the position it last saw and gets exactly what followed, and a resend on
    B answers the position A gave; the same events keep the same ids on both."""
    a, b = await deployment(2)
    async with aiohttp.ClientSession() as http:
        api = Api(a.url, http=http)
        created = await _session(api, clients=2)
        sid = created["session"]["id"]
        therapist = await Peer(a.url, created["tokens"]["t-1"]).connect()
        c1 = await Peer(b.url, created["tokens"]["c-1"]).connect()
        c2 = await Peer(a.url, created["tokens"]["c-2"]).connect()
        await therapist.wait_type("session_started", timeout=10)
        first = await c2.send("zone", {"zone": "okay"}, id="c2-first")
        for _ in range(3):
            assert (await c1.send("pause"))["ok"]
        second = await c2.send("keep_going")
        assert second["seq"] == first["seq"] + 1, "c-1's pauses on B do not show in c-2's numbers"
        await therapist.send("checkin_request", {"instrument": "suds"})
        await c2.wait_type("checkin_request", timeout=10)
        last = c2.seqs[-1]
        assert c2.seqs == list(range(1, last + 1))
        seen = list(c2.events)
        await c2.close()
        await c1.send("slow_down")
        await therapist.send("suggest_grounding", {"exercise": "five_senses", "to": ["c-2"]})
        back = await Peer(b.url, created["tokens"]["c-2"]).connect(
            last_seq=last, epoch=created["session"]["epoch"]
        )
        await back.wait_type("suggest_grounding", timeout=10)
        received = list(back.events)  # before the log is read: each of these is in it
        log = await api.events(sid)
        expected = expected_view(log, "c-2")
        seqs = [e["seq"] for e in received]
        assert seqs[0] == last + 1 and seqs == list(range(last + 1, seqs[-1] + 1))
        for got in received:
            assert_seen_as(got, expected[got["seq"] - 1], "c-2")
        again = await back.send("zone", {"zone": "okay"}, id="c2-first")
        assert again == {"ok": True, "seq": first["seq"], "duplicate": True}
        # From 0 on B: the events A gave, with the same positions and ids.
        full = await Peer(b.url, created["tokens"]["c-2"]).connect()
        await full.wait_for(lambda: len(full.events) >= last, timeout=10)
        assert full.events[:last] == seen
        for p in (therapist, c1, back, full):
            await p.close()

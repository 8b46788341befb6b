"""The Socket.IO protocol (contract §3) against a real server with real clients: the welcome,
what a connection may carry, the end of a session (service/realtime/sockets.py). Runs with the
transport patches on and off (conftest.py)."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import aiohttp
import pytest
import socketio

from service.app import SIO
from tests.conftest import LiveServer, ServerFactory
from tests.fuzz.rawsocket import RawSocket
from tests.support import Api, ServiceProcess, session_seq


async def test_pause_reaches_therapist_and_is_acknowledged(live_server: LiveServer) -> None:
    created = await live_server.create_session()
    sid = created["session"]["id"]
    therapist = await live_server.join(created["tokens"]["t-1"])
    client = await live_server.join(created["tokens"]["c-1"])
    await therapist.wait_type("session_started")
    ack = await client.send("pause", id="the-pause")
    assert ack["ok"] is True and ack["duplicate"] is False
    pause = (await therapist.wait_type("pause"))[0]
    assert pause["id"] == "the-pause" and pause["actor"] == {"id": "c-1", "role": "client"}
    # The therapist names it by the session's seq; the client's ack, by its own (§9.1).
    ack2 = await therapist.send("acknowledge", {"seq": pause["seq"]})
    assert ack2["ok"], ack2
    got = (await client.wait_type("acknowledge"))[0]
    assert got["to"] == ["c-1"]
    events = await live_server.api.events(sid)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert therapist.seqs == sorted(set(therapist.seqs))


async def test_welcome_carries_session_participant_epoch_head_and_state(live_server: LiveServer):
    created = await live_server.create_session(clients=2)
    therapist = await live_server.join(created["tokens"]["t-1"])
    welcome = therapist.welcome
    assert welcome is not None
    assert welcome["participant"] == {"id": "t-1", "role": "therapist"}
    assert welcome["epoch"] == created["session"]["epoch"]
    assert welcome["head_seq"] == 0
    assert set(welcome["state"]["clients"]) == {"c-1", "c-2"}
    assert set(welcome["state"]["clients"]["c-1"]) == {
        "connected",
        "paused",
        "pace",
        "zone",
        "last_suds",
        "grounding",
        "open_checkins",
        "unacknowledged",
    }
    client = await live_server.join(created["tokens"]["c-1"])
    cw = client.welcome
    assert cw is not None
    assert {p["id"] for p in cw["session"]["participants"]} == {"t-1", "c-1"}
    assert set(cw["state"]["clients"]) == {"c-1"}


async def test_state_in_welcome_follows_the_log(live_server: LiveServer):
    created, therapist, (client, _) = await live_server.start_session(clients=2)
    pause = await client.send("pause")
    slow = await client.send("slow_down")
    zone = await client.send("zone", {"zone": "too_much"})
    # The therapist names the pause by the session's seq, which differs from c-1's position.
    pause_seq = await session_seq(therapist, client, pause["seq"])
    assert pause_seq != pause["seq"]
    await therapist.send("acknowledge", {"seq": pause_seq})
    await client.wait_type("acknowledge")
    again = await live_server.join(created["tokens"]["c-1"])
    state = again.welcome["state"]["clients"]["c-1"]
    assert state["paused"] is True and state["pace"] == "slow_down" and state["zone"] == "too_much"
    assert state["connected"] is True
    assert state["unacknowledged"] == [slow["seq"], zone["seq"]]  # c-1's positions
    seen = (await live_server.join(created["tokens"]["t-1"])).welcome["state"]["clients"]["c-1"]
    assert seen["unacknowledged"] == [
        await session_seq(therapist, client, slow["seq"]),
        await session_seq(therapist, client, zone["seq"]),
    ]


async def test_bad_last_seq_or_other_epoch_replays_from_the_start(live_server: LiveServer):
    created, therapist, (client,) = await live_server.start_session()
    await client.send("pause")
    for auth in (
        {"last_seq": -3},
        {"last_seq": "7"},
        {"last_seq": 10_000},
        {"last_seq": 2, "epoch": "not-the-epoch"},
    ):
        peer = live_server.peer(created["tokens"]["t-1"])
        peer.welcomed.clear()
        await peer.client.connect(
            live_server.url,
            auth={"token": created["tokens"]["t-1"], **auth},
            transports=["websocket"],
        )
        await asyncio.wait_for(peer.welcomed.wait(), 5)
        await peer.wait_type("pause")
        assert peer.seqs[0] == 1, auth
        await peer.close()


async def test_a_participant_may_send_as_soon_as_it_is_connected(live_server: LiveServer):
    created = await live_server.create_session()
    therapist = await live_server.join(created["tokens"]["t-1"])
    client = live_server.peer(created["tokens"]["c-1"])
    await client.connect(wait=False)
    ack = await client.send("pause", id=str(uuid.uuid4()))
    assert ack["ok"]
    await therapist.wait_type("pause")
    await client.wait_type("pause")


async def test_an_oversize_frame_closes_only_that_connection(live_server: LiveServer):
    created, therapist, (client,) = await live_server.start_session()
    second = await live_server.join(created["tokens"]["c-1"])
    big = {"id": "big", "type": "pause", "data": {"x": "y" * 70_000}}
    await second.client.emit("send", big)  # never answered: its connection is closed
    await second.wait_for(lambda: not second.client.connected)
    assert client.client.connected and therapist.client.connected
    ack = await client.send("slow_down")
    assert ack["ok"]
    await therapist.wait_type("slow_down")


async def test_ending_sends_session_ended_then_disconnects_and_refuses(live_server: LiveServer):
    created, therapist, (client,) = await live_server.start_session()
    ack = await therapist.send("end_session")
    assert ack["ok"]
    ended = (await client.wait_type("session_ended"))[0]
    assert ended["data"] == {"by": "therapist"}
    await asyncio.sleep(0.5)
    assert not client.client.connected and not therapist.client.connected
    late = live_server.peer(created["tokens"]["c-1"])
    with pytest.raises(socketio.exceptions.ConnectionError):
        await late.connect()
    assert late.connect_error["code"] == "session_ended"


@pytest.mark.skipif(__import__("shutil").which("node") is None, reason="node is not installed")
@pytest.mark.slow  # spawns service processes
async def test_sigterm_tells_sockets_to_reconnect_rather_than_ending_them(tmp_path: Path):
    """socket.io clients reconnect after a transport close, never after 'io server disconnect'."""
    service = await ServiceProcess(tmp_path).start()
    try:
        async with aiohttp.ClientSession() as http:
            created = await Api(service.url, http=http).create()
        script = Path(__file__).resolve().parents[2] / "js" / "drain_reason.cjs"
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


async def test_a_participant_holds_at_most_max_connections_and_one_closed_frees_a_slot(
    server_factory: ServerFactory,
) -> None:
    """Contract §9.5: `COMFORT_MAX_SOCKETS_PER_PARTICIPANT` connections per participant on one
    process; one more is refused `too_many_connections`; others are not affected."""
    server = await server_factory(max_sockets_per_participant=3)
    created = await server.create_session(clients=2)
    held = [await server.join(created["tokens"]["c-1"]) for _ in range(3)]
    fourth = server.peer(created["tokens"]["c-1"])
    with pytest.raises(socketio.exceptions.ConnectionError):
        await fourth.connect()
    assert fourth.connect_error["code"] == "too_many_connections", fourth.connect_error
    assert isinstance(fourth.connect_error["message"], str)
    # Another participant, and the same one in another session, are counted apart.
    assert (await server.join(created["tokens"]["c-2"])).welcome is not None
    other = await server.create_session()
    assert (await server.join(other["tokens"]["c-1"])).welcome is not None
    await held[0].close()
    for _ in range(50):  # the server sees the disconnect a moment later
        again = server.peer(created["tokens"]["c-1"])
        try:
            await again.connect()
            break
        except socketio.exceptions.ConnectionError:
            await asyncio.sleep(0.05)
    assert again.welcome is not None, "a closed connection frees its slot"


async def test_a_connection_that_misses_its_ping_frees_its_slot(
    server_factory: ServerFactory,
) -> None:
    server = await server_factory(max_sockets_per_participant=2)
    # Short heartbeats for this test only (python-engineio reads them per socket as it opens).
    server.app[SIO].eio.ping_interval, server.app[SIO].eio.ping_timeout = 0.3, 0.3
    created = await server.create_session()
    token = created["tokens"]["c-1"]
    async with aiohttp.ClientSession() as http:
        silent = [await RawSocket.open(http, server.url, token) for _ in range(2)]  # never pong
        refused = server.peer(token)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await refused.connect()
        assert refused.connect_error["code"] == "too_many_connections"
        await asyncio.sleep(1.5)  # past a ping and its timeout: both are closed as gone
        assert (await server.join(token)).welcome is not None
        for raw in silent:
            await raw.close()

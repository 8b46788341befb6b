"""Guarantee 5 at the transport (contract §3, §4.5): raw Engine.IO / Socket.IO abuse over a real
websocket. Binary frames, invalid UTF-8, JSON nested 10,000 deep, numbers no codec can hold,
garbage packet types, and frames over the size limit: the service stays up, a well-behaved
participant of the same session notices nothing, a structured `send` still gets a structured
ack, and only a frame over the limit closes its own connection."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType

from tests.conftest import LiveServer
from tests.fuzz.rawsocket import RawSocket
from tests.support import Api, Peer, ServiceProcess

pytestmark = pytest.mark.timeout(60)

SEND_CODES = {"invalid_payload", "unknown_type", "forbidden", "not_found", "rate_limited"}


class Scene:
    def __init__(self, server: LiveServer, http: aiohttp.ClientSession, created: dict[str, Any]):
        self.server, self.http, self.created = server, http, created
        self.therapist: Peer
        self.bystander: Peer

    async def raw(self) -> RawSocket:
        return await RawSocket.open(self.http, self.server.url, self.created["tokens"]["c-1"])

    async def others_unaffected(self, tag: str) -> None:
        """The other client still sends, the therapist still receives, the service is up."""
        ack = await self.bystander.send("keep_going", id=f"bystander-{tag}")
        assert ack["ok"], ack
        # By id: the bystander's ack is in its own numbering, the therapist's the session's.
        await self.therapist.wait_for(
            lambda: any(e["id"] == f"bystander-{tag}" for e in self.therapist.events), timeout=5
        )
        async with self.http.get(self.server.url + "/healthz") as resp:
            assert resp.status == 200


@pytest.fixture
async def scene(server_factory: Any) -> AsyncIterator[Scene]:
    server: LiveServer = await server_factory(send_rate=1000.0, send_burst=1000)
    created = await server.create_session(clients=2)
    async with aiohttp.ClientSession() as http:
        scene = Scene(server, http, created)
        scene.therapist = await server.join(created["tokens"]["t-1"])
        scene.bystander = await server.join(created["tokens"]["c-2"])
        yield scene


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


# Each: a frame that is not a valid Socket.IO packet, or a valid packet with hostile JSON.
TEXT_ABUSE = {
    "nested 10,000 arrays in data": '421["send",{"id":"n1","type":"pause","data":'
    + deep(10_000)
    + "}]",
    "nested 10,000 objects": '421["send",' + '{"a":' * 10_000 + "1" + "}" * 10_000 + "]",
    "nested 10,000 as the whole packet": "42" + deep(10_000),
    "number too big for a double": '421["send",{"id":"b1","type":"retract","data":{"seq":1e400}}]',
    "integer over 64 bits": '421["send",{"id":"b2","type":"retract","data":{"seq":'
    + "9" * 40
    + "}}]",
    "NaN literal": '421["send",{"id":"b3","type":"grounding_finished","data":{"duration_s":NaN}}]',
    "truncated JSON": '421["send",{"id":"t1","type":"pau',
    "unknown engine.io type": "9hello",
    "unknown socket.io type": "49[]",
    "binary event without attachments": '451-["send",{"_placeholder":true,"num":0}]',
    "connect again": '40{"token":"x"}',
    "disconnect packet to an unknown namespace": "41/nowhere,",
    "event to an unknown namespace": '42/admin,1["send",{}]',
    "event name not a string": '421[{"a":1},{}]',
    "empty event": "42[]",
    "ack for nothing": "43999[{}]",
    "upgrade probe mid-session": "5",
    "noop packet": "6",
    "lone digit": "4",
    "NUL bytes": "42\x00\x00\x00",
    "lone surrogate escape": '421["send",{"id":"\\ud800","type":"pause"}]',
}


@pytest.mark.parametrize("name", sorted(TEXT_ABUSE))
async def test_hostile_text_frames_leave_everyone_else_untouched(scene: Scene, name: str) -> None:
    raw = await scene.raw()
    await raw.ws.send_str(TEXT_ABUSE[name])
    await asyncio.sleep(0.2)
    alive = await raw.alive()
    if alive:
        # A packet that was a `send` with an ack id was answered in structure, or not at all.
        for text in raw.texts:
            if text.startswith("431["):
                ack = json.loads(text[3:])[0]
                assert ack["ok"] is True or ack["error"]["code"] in SEND_CODES, ack
    await scene.others_unaffected(name)
    await raw.close()


async def test_a_send_with_an_out_of_range_number_gets_a_structured_error(scene: Scene) -> None:
    """2**70 decodes (as a float) and is refused as the wrong type, not dropped."""
    raw = await scene.raw()
    await raw.ws.send_str(
        '421["send",{"id":"big","type":"retract","data":{"seq":' + str(2**70) + "}}]"
    )
    ack = await raw.ack(1)
    assert ack["ok"] is False and ack["error"]["code"] in SEND_CODES, ack
    assert await raw.alive()
    await raw.close()


@pytest.mark.parametrize(
    "frame",
    [b"\x00\x01\x02garbage", b"\xff" * 100, b"4" + b"\x80" * 10, bytes(range(256))],
    ids=["garbage", "0xff", "packet-prefix", "all-bytes"],
)
async def test_binary_frames_leave_everyone_else_untouched(scene: Scene, frame: bytes) -> None:
    raw = await scene.raw()
    await raw.ws.send_bytes(frame)
    await asyncio.sleep(0.2)
    await raw.alive()
    await scene.others_unaffected("binary")
    await raw.close()


async def test_invalid_utf8_in_a_text_frame_closes_only_that_connection(scene: Scene) -> None:
    raw = await scene.raw()
    await raw.ws.send_frame(b'421["send",{"id":"\xc3\x28","type":"pause"}]', WSMsgType.TEXT)
    assert not await raw.alive(), "a text frame that is not UTF-8 is a protocol error (1007)"
    await scene.others_unaffected("utf8")
    events = await scene.server.api.events(scene.created["session"]["id"])
    assert all(e["type"] != "pause" for e in events)
    await raw.close()


@pytest.mark.parametrize("size", [65_537, 70_000, 1_000_000])
async def test_a_frame_over_the_limit_closes_only_its_connection(scene: Scene, size: int) -> None:
    raw = await scene.raw()
    other_raw = await scene.raw()  # the same participant on a second connection
    filler = "x" * size
    with contextlib.suppress(ConnectionResetError, aiohttp.ClientError):
        await raw.ws.send_str(
            '421["send",{"id":"big","type":"pause","data":{"f":"' + filler + '"}}]'
        )
    assert not await raw.alive(), "an oversize frame must close its connection"
    assert await other_raw.alive(9001), "…and only that one"
    await scene.others_unaffected(f"big-{size}")
    await other_raw.close()


async def test_a_frame_just_under_the_limit_gets_a_structured_error(scene: Scene) -> None:
    raw = await scene.raw()
    head, tail = '421["send",{"id":"u","type":"pause","data":{"f":"', '"}}]'
    await raw.ws.send_str(head + "x" * (65_536 - len(head) - len(tail) - 8) + tail)
    ack = await raw.ack(1)
    assert ack["ok"] is False and ack["error"]["code"] == "invalid_payload", ack
    assert await raw.alive()
    await raw.close()


async def test_an_unauthenticated_raw_socket_cannot_send(scene: Scene) -> None:
    raw = await RawSocket.open(scene.http, scene.server.url, token=None)
    await raw.ws.send_str('421["send",{"id":"anon","type":"pause"}]')
    await asyncio.sleep(0.3)
    events = await scene.server.api.events(scene.created["session"]["id"])
    assert all(e["id"] != "anon" for e in events)
    await scene.others_unaffected("anon")
    await raw.close()


# Frames python-engineio cannot decode (empty, or not starting with a packet-type digit): the
# service refuses them as a read error (service/realtime/sockets.py `_CheckedWebSocket`), so the
# connection ends like any other disconnect. Run against a `comfort serve` process.
UNDECODABLE = {"empty text frame": "", "letter packet type": "hello", "space": " 42[]"}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(UNDECODABLE))
async def test_an_undecodable_frame_ends_that_connection_like_any_disconnect(
    tmp_path: Any, name: str
) -> None:
    service = await ServiceProcess(tmp_path).start()
    try:
        async with aiohttp.ClientSession() as http:
            api = Api(service.url, http=http)
            created = await api.create()
            therapist = await Peer(service.url, created["tokens"]["t-1"]).connect()
            raw = await RawSocket.open(http, service.url, created["tokens"]["c-1"])
            await therapist.wait_type("participant_joined", 2)
            await raw.ws.send_str(UNDECODABLE[name])
            await asyncio.sleep(0.3)
            await raw.close()
            # The client is gone: like any disconnect, its departure is logged at once.
            await therapist.wait_type("participant_left", timeout=3)
            _, body = await api.call("GET", f"/api/v1/sessions/{created['session']['id']}")
            connected = {p["id"]: p["connected"] for p in body["session"]["participants"]}
            assert connected["c-1"] is False
            await therapist.close()
    finally:
        service.kill()

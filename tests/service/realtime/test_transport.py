"""The transport (service/realtime/transport.py): packets written straight to idle websockets and
in order; and each patch falling back to the stock path on any failure, once and said once, with
every event still arriving in order. (The handshake's compression and origins: test_boundary.py.)

A failure is provoked by breaking, inside the test, the very library call a patch depends on, as
an upgrade of python-engineio or aiohttp that reshaped it would: those tests run with the patches
on only; the others with the patches on and off (conftest.py).
"""

from __future__ import annotations

import asyncio
import sys
import types
import weakref

import pytest
from aiohttp._websocket.writer import WebSocketWriter
from engineio import packet as eio_packet
from structlog.testing import capture_logs

from service.app import WRITER
from service.realtime import transport
from service.realtime.boundary import create_socket_server
from service.realtime.transport import TransportPatches
from service.settings import Settings
from tests.conftest import LiveServer, ServerFactory


async def _sends_arrive_in_order(server: LiveServer, count: int = 20) -> None:
    _, therapist, (client,) = await server.start_session()
    for n in range(count):
        assert (await client.send("keep_going", id=f"go-{n}"))["ok"]
    got = await therapist.wait_type("keep_going", count=count)
    assert [e["id"] for e in got] == [f"go-{n}" for n in range(count)]
    seqs = [e["seq"] for e in therapist.events]
    assert seqs == sorted(set(seqs)), "in seq order, none twice"


ONLY_PATCHED = pytest.mark.parametrize("transport_patches", [True], ids=["patched"])


def _failures(logs: list[dict]) -> list[dict]:
    return [entry for entry in logs if entry["event"] == "transport_patch_failed"]


@ONLY_PATCHED
async def test_a_direct_write_that_raises_falls_back_to_the_queue_once(
    server_factory: ServerFactory, monkeypatch: pytest.MonkeyPatch
):
    """Not only a missing attribute: any exception from aiohttp's frame writer switches direct
    writes off for the process, logged once, and every event is queued instead."""
    server = await server_factory(send_rate=1000.0, send_burst=1000)
    stock = WebSocketWriter._write_websocket_frame

    def reshaped(self, message, opcode, rsv):
        # Broken as seen from the direct write only: aiohttp's own sends keep working.
        if sys._getframe(1).f_code.co_name == "write_now":
            raise RuntimeError("the frame writer changed")
        return stock(self, message, opcode, rsv)

    monkeypatch.setattr(WebSocketWriter, "_write_websocket_frame", reshaped)
    writer = server.app[WRITER]
    with capture_logs() as logs:
        await _sends_arrive_in_order(server)
    assert writer.patches.direct_write is False
    assert writer.direct_writes == 0
    failures = _failures(logs)
    assert [(f["patch"], f["error"]) for f in failures] == [("direct_write", "RuntimeError")]


@ONLY_PATCHED
async def test_a_queue_write_that_raises_falls_back_to_engineio_send(
    server_factory: ServerFactory, monkeypatch: pytest.MonkeyPatch
):
    """The queue patch failing (a reshaped Packet): packets go through python-engineio's public
    `AsyncServer.send`, in order."""
    server = await server_factory(send_rate=1000.0, send_burst=1000)
    writer = server.app[WRITER]
    writer.patches.direct_write = False  # so that every packet takes the queue path
    monkeypatch.setattr(
        transport,
        "eio_packet",
        types.SimpleNamespace(MESSAGE=eio_packet.MESSAGE, Packet=_raises(TypeError)),
    )
    with capture_logs() as logs:
        await _sends_arrive_in_order(server)
    assert writer.patches.queue is False
    assert [f["patch"] for f in _failures(logs)] == ["queue"]


@ONLY_PATCHED
async def test_a_poll_that_raises_falls_back_to_engineio_poll(
    server_factory: ServerFactory, monkeypatch: pytest.MonkeyPatch
):
    """The replaced poll failing: the socket's writer uses python-engineio's own poll, and
    nothing is written directly (the writer's idleness is no longer known)."""
    server = await server_factory(send_rate=1000.0, send_burst=1000)
    monkeypatch.setattr(transport, "_heartbeat_s", _raises(LookupError))
    writer = server.app[WRITER]
    with capture_logs() as logs:
        await _sends_arrive_in_order(server)
    assert writer.patches.poll is False
    assert [f["patch"] for f in _failures(logs)] == ["poll"]


def test_installing_on_a_server_of_another_shape_falls_back_to_the_stock_websocket():
    """A python-engineio whose server keeps no `_async` table: the patch is off, said once."""
    patches = TransportPatches()
    reshaped = types.SimpleNamespace(eio=object())
    with capture_logs() as logs:
        patches.install(reshaped)  # type: ignore[arg-type]
        patches.install(reshaped)  # type: ignore[arg-type]
    assert patches.websocket is False
    assert [f["patch"] for f in _failures(logs)] == ["websocket"]


def test_connection_handlers_of_another_shape_switch_the_pending_limits_off():
    """A python-engineio whose server keeps no `handlers` table: no limits on sockets that have
    not connected (patch `pending`), said once; the server is otherwise untouched."""
    patches = TransportPatches()
    reshaped = types.SimpleNamespace(eio=object())
    with capture_logs() as logs:
        assert transport.engineio_connection_handlers(reshaped, patches) is None  # type: ignore[arg-type]
        assert transport.engineio_connection_handlers(reshaped, patches) is None  # type: ignore[arg-type]
    assert patches.pending is False
    assert [f["patch"] for f in _failures(logs)] == ["pending"]


def test_a_socket_without_the_served_flag_counts_as_served():
    """`engineio_serving` reads `AsyncSocket.connected`; a python-engineio without it leaves the
    pending limits as they were before the flag was read (every socket counted once it waits)."""
    served = types.SimpleNamespace(connected=True)
    handshaking = types.SimpleNamespace(connected=False)
    reshaped = types.SimpleNamespace()
    sio = types.SimpleNamespace(
        eio=types.SimpleNamespace(sockets={"a": served, "b": handshaking, "c": reshaped})
    )
    serving = [transport.engineio_serving(sio, sid) for sid in ("a", "b", "c", "gone")]  # type: ignore[arg-type]
    assert serving == [True, False, True, None]


def test_switched_off_the_stock_websocket_class_is_left_in_place():
    stock = create_socket_server(Settings(), TransportPatches(enabled=False))
    patched = create_socket_server(Settings(), TransportPatches())
    assert stock.eio._async["websocket"] is transport.engineio_aiohttp.WebSocket
    assert issubclass(patched.eio._async["websocket"], transport.CheckedWebSocket)


def _raises(kind: type[Exception]):
    def fail(*args, **kwargs):
        raise kind("reshaped by an upgrade")

    return fail


async def test_live_events_are_written_straight_to_idle_websockets_in_order(
    server_factory, transport_patches
):
    """A delivered event goes onto an idle websocket at once (aiohttp's frame writer), not
    through python-engineio's writer task; an upgrade of either library that breaks this
    falls back to queueing and shows here as no direct writes. With the patches off, every
    event is queued, in the same order."""
    server = await server_factory(send_rate=1000.0, send_burst=1000)
    writer = server.app[WRITER]
    before = writer.direct_writes
    created, therapist, (client,) = await server.start_session()
    for n in range(30):
        assert (await client.send("keep_going", id=f"go-{n}"))["ok"]
    got = await therapist.wait_type("keep_going", count=30)
    assert [e["id"] for e in got] == [f"go-{n}" for n in range(30)]
    seqs = [e["seq"] for e in therapist.events]
    assert seqs == sorted(set(seqs)), "in seq order, none twice"
    if transport_patches:
        assert writer.direct_writes - before >= 30
    else:
        assert writer.direct_writes == before == 0


async def test_an_upgraded_polling_connection_gets_every_event_in_order(server_factory):
    """Polling first, then the upgrade to a websocket (the browsers' default): packets queued
    for polling and written directly after the upgrade keep their order."""
    server = await server_factory(send_rate=1000.0, send_burst=1000)
    created = await server.create_session()
    therapist = server.peer(created["tokens"]["t-1"])
    await therapist.connect(transports=["polling", "websocket"])
    client = await server.join(created["tokens"]["c-1"])
    for n in range(40):
        assert (await client.send("keep_going", id=f"up-{n}"))["ok"]
    got = await therapist.wait_type("keep_going", count=40)
    assert [e["id"] for e in got] == [f"up-{n}" for n in range(40)]
    seqs = [e["seq"] for e in therapist.events]
    assert seqs == sorted(set(seqs))


async def test_a_closed_connection_is_freed_when_it_ends(server_factory, transport_patches):
    """Nothing of a closed socket keeps its connection (request, websocket, buffers) alive: the
    patches' references from the socket to its websocket are dropped when the connection ends.
    Kept, they made a reference cycle that only a full collection freed, and the socket's ping
    task held it a ping interval more; the soak grew by ~40 KB per reconnect (issue 18). No
    `gc.collect()` here: reference counting alone must free it."""
    server = await server_factory()
    created, _, (client,) = await server.start_session()
    sio = server.app[WRITER].sio
    eio_sid = sio.manager.eio_sid_from_sid(client.client.get_sid("/"), "/")
    socket = sio.eio.sockets[eio_sid]
    websocket = weakref.ref(socket.comfort_websocket) if transport_patches else None
    request = (
        weakref.ref(socket.comfort_websocket.environ["aiohttp.request"]) if websocket else None
    )
    del socket
    await client.close()
    for _ in range(100):
        if eio_sid not in sio.eio.sockets and (request is None or request() is None):
            break
        await asyncio.sleep(0.05)
    assert eio_sid not in sio.eio.sockets
    if transport_patches:
        assert request is not None and request() is None, "the closed connection is still held"
        # The wrapper itself may outlive it (python-engineio's closures), holding nothing.
        wrapper = websocket()
        assert wrapper is None or (wrapper.environ is None and wrapper._sock is None)

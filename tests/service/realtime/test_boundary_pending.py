"""Sockets that open but never send Socket.IO's CONNECT (service/realtime/boundary.py
`PendingSockets`, contract §9.5 limits, issue 13 finding 8): each is closed at the CONNECT
deadline; while too many wait, from one address or in all, new ones are refused at the handshake
(`too_many_connections`); clients from elsewhere, and clients that CONNECT at once, are not held
up. With the transport patches off these limits are off (python-engineio's own behaviour), so
every test here runs patched only."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import socketio

from service.realtime.boundary import PendingSockets
from service.realtime.presence import PresenceKeeper
from tests.conftest import LiveServer, ServerFactory
from tests.fuzz.rawsocket import RawSocket

HANDSHAKE = "/socket.io/?EIO=4&transport=websocket"


@pytest.fixture(params=[True], ids=["patched"])
def transport_patches(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


@pytest.fixture
async def from_elsewhere() -> AsyncIterator[aiohttp.ClientSession]:
    """A client with another address (127.0.0.2: all of 127/8 is loopback on Linux)."""
    connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
    async with aiohttp.ClientSession(connector=connector) as http:
        yield http


@pytest.fixture
def quick_sweeps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sweeps every 0.1 s (the service: 0.5 s), and a socket counts as held open once it has
    waited 0.3 s (the service: 1 s), so that tests wait less for what they show."""
    monkeypatch.setattr(PendingSockets, "SWEEP_S", 0.1)
    monkeypatch.setattr(PendingSockets, "STALE_S", 0.3)


async def opened(http: aiohttp.ClientSession, url: str, count: int) -> list[RawSocket]:
    """`count` websockets that open (Engine.IO) and never send CONNECT."""
    return [await RawSocket.open(http, url, None) for _ in range(count)]


async def handshake_status(http: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    """Open one more, as a websocket: 101 once upgraded, else the refusal's status, and the body
    python-engineio answers a polling handshake with then (the same hook refuses both)."""
    try:
        ws = await http.ws_connect(url + HANDSHAKE)
    except aiohttp.WSServerHandshakeError as refused:
        async with http.get(url + "/socket.io/?EIO=4&transport=polling") as polling:
            return refused.status, f"{polling.status} {await polling.text()}"
    await ws.close()
    return 101, ""


async def test_a_socket_that_never_connects_is_closed_at_the_deadline(
    server_factory: ServerFactory, quick_sweeps: None
) -> None:
    server: LiveServer = await server_factory(connect_deadline_seconds=1.0)
    async with aiohttp.ClientSession() as http:
        idle = (await opened(http, server.url, 1))[0]
        started = time.monotonic()
        with pytest.raises(ConnectionResetError):
            while True:  # answers pings; never connects
                await idle.next_text(timeout=5)
        waited = time.monotonic() - started
        assert 0.9 <= waited < 3.0, waited
        assert "1" in idle.texts, "the Engine.IO close packet came first"
        # A socket that connects in time is not touched by the deadline.
        created = await server.create_session()
        peer = await server.join(created["tokens"]["c-1"])
        await asyncio.sleep(1.3)  # past its deadline and a sweep
        assert peer.client.connected and (await peer.send("keep_going"))["ok"]


async def test_one_address_holding_sockets_open_is_refused_and_others_are_not(
    server_factory: ServerFactory, from_elsewhere: aiohttp.ClientSession, quick_sweeps: None
) -> None:
    """Issue 13: 400 websockets that never sent CONNECT were kept. Here: 30 from one address,
    at most 5 may wait there; the next is refused, a client from elsewhere connects, and once
    the deadline has closed them the address may open again."""
    server: LiveServer = await server_factory(
        connect_deadline_seconds=2.0, max_pending_sockets_per_address=5
    )
    created = await server.create_session()
    async with aiohttp.ClientSession() as http:
        held = await opened(http, server.url, 30)
        await asyncio.sleep(0.5)  # held open past STALE_S and a sweep, not connecting
        status, body = await handshake_status(http, server.url)
        assert status == 401 and "too_many_connections" in body, (status, body)
        # Someone else is not held up by them.
        other = await RawSocket.open(from_elsewhere, server.url, created["tokens"]["c-1"])
        assert await other.alive()
        # The deadline closes them all; the address may open sockets again.
        closed = await asyncio.gather(*(_closed_soon(raw) for raw in held))
        assert all(closed), closed
        assert (await handshake_status(http, server.url))[0] == 101
        for raw in (*held, other):
            await raw.close()


async def test_a_burst_that_connects_at_once_is_not_refused(
    server_factory: ServerFactory,
) -> None:
    """A reconnect storm through one proxy: many sockets from one address, each sending CONNECT
    right away, are never refused by the per-address limit."""
    server: LiveServer = await server_factory(max_pending_sockets_per_address=2)
    created = await server.create_session(clients=2)
    peers = await asyncio.gather(
        *(server.join(created["tokens"][name]) for name in ("t-1", "c-1", "c-2") for _ in range(4))
    )
    assert all(peer.welcome is not None for peer in peers)


async def test_sockets_a_busy_service_is_still_admitting_are_not_held_open(
    server_factory: ServerFactory, quick_sweeps: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 18's soak: at saturation, admitting a CONNECT took longer than `STALE_S`, so a
    reconnect storm from one address (a proxy, the load generator) counted as sockets held open
    and the next handshakes were refused, one reconnect in six. A socket whose CONNECT came is
    being answered, however long that takes: it does not count against its address, nor is it
    closed at the deadline."""
    server: LiveServer = await server_factory(
        connect_deadline_seconds=1.0, max_pending_sockets_per_address=2
    )
    created = await server.create_session(clients=2)
    admit = PresenceKeeper.admit

    async def slow_admit(self: PresenceKeeper, claims: Any) -> Any:
        await asyncio.sleep(1.5)  # past STALE_S, sweeps and the CONNECT deadline
        return await admit(self, claims)

    monkeypatch.setattr(PresenceKeeper, "admit", slow_admit)
    async with aiohttp.ClientSession() as http:
        names = [name for name in ("t-1", "c-1", "c-2") for _ in range(2)]
        raws = await opened(http, server.url, len(names))
        for raw, name in zip(raws, names, strict=True):
            await raw.ws.send_str('40{"token":"' + created["tokens"][name] + '"}')
        await asyncio.sleep(0.6)  # being admitted, past STALE_S and a sweep
        assert (await handshake_status(http, server.url))[0] == 101
        for raw in raws:  # each admitted in the end, none closed at the deadline
            assert (await raw.next_text(timeout=5)).startswith("40{")
            assert await raw.alive()
        for raw in raws:
            await raw.close()


async def test_when_connects_come_late_a_socket_may_wait_longer_before_it_counts_as_held(
    server_factory: ServerFactory, quick_sweeps: None
) -> None:
    """A busy service reads CONNECTs late (issue 18's soak, at saturation: a second and more),
    so "held open" follows how long sockets take now: four times the median wait of the last
    ones whose CONNECT came. Here every client waits 0.5 s before its CONNECT (as a service
    that slow would read it): past `STALE_S` (0.3 s here), but none is held open."""
    server: LiveServer = await server_factory(
        connect_deadline_seconds=5.0, max_pending_sockets_per_address=2
    )
    created = await server.create_session(clients=2)
    names = [name for name in ("t-1", "c-1", "c-2") for _ in range(2)]
    async with aiohttp.ClientSession() as http:

        async def connect_late(raws: list[RawSocket], after: float) -> None:
            await asyncio.sleep(after)
            for raw, name in zip(raws, names, strict=True):
                await raw.ws.send_str('40{"token":"' + created["tokens"][name] + '"}')
            for raw in raws:
                assert (await raw.next_text()).startswith("40{")

        first = await opened(http, server.url, len(names))
        await connect_late(first, 0.5)  # what "late" is now: 0.5 s
        await asyncio.sleep(0.2)  # a sweep: they counted as held open until it, as nothing was late
        second = await opened(http, server.url, len(names))
        await asyncio.sleep(0.6)  # past STALE_S and a sweep, inside four times the median
        assert (await handshake_status(http, server.url))[0] == 101
        await connect_late(second, 0.0)  # after 0.6 s
        # A socket that never sends CONNECT still counts as held, once it has waited that long.
        held = await opened(http, server.url, 3)
        await asyncio.sleep(3.0)  # four times the median wait (~0.55 s), and a sweep
        status, body = await handshake_status(http, server.url)
        assert status == 401 and "too_many_connections" in body, (status, body)
        for raw in (*first, *second, *held):
            await raw.close()


async def test_a_handshake_its_client_left_before_the_answer_is_not_held_open(
    server_factory: ServerFactory, quick_sweeps: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 18's soak: a saturated service answered some handshakes after their client had
    gone ("Cannot write to closing transport"); python-engineio then keeps the socket without a
    disconnect event, and it counted as held open against its address until the deadline. Only
    a socket whose handshake was answered can be held open by its client."""
    answer = socketio.AsyncServer._handle_eio_connect

    async def slow_answer(self: socketio.AsyncServer, eio_sid: str, environ: Any) -> Any:
        await asyncio.sleep(0.5)  # a busy service
        return await answer(self, eio_sid, environ)

    monkeypatch.setattr(socketio.AsyncServer, "_handle_eio_connect", slow_answer)
    server: LiveServer = await server_factory(
        connect_deadline_seconds=5.0, max_pending_sockets_per_address=2
    )
    async with aiohttp.ClientSession() as http:
        for _ in range(5):  # each client leaves before its handshake is answered
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(http.ws_connect(server.url + HANDSHAKE), 0.1)
        await asyncio.sleep(0.8)  # answered (to nobody), past STALE_S and sweeps
        assert (await handshake_status(http, server.url))[0] == 101


async def test_a_socket_whose_connect_was_refused_waits_again(
    server_factory: ServerFactory, quick_sweeps: None
) -> None:
    """A refused CONNECT leaves its socket open (a client may try again on it): it counts as
    waiting from when it opened, and the deadline closes it."""
    server: LiveServer = await server_factory(connect_deadline_seconds=1.0)
    async with aiohttp.ClientSession() as http:
        raw = (await opened(http, server.url, 1))[0]
        await raw.ws.send_str('40{"token":"forged"}')
        assert (await raw.next_text()).startswith("44{")  # CONNECT_ERROR
        assert await _closed_soon(raw)


async def test_no_more_than_the_total_may_wait_at_once(
    server_factory: ServerFactory, from_elsewhere: aiohttp.ClientSession
) -> None:
    server: LiveServer = await server_factory(max_pending_sockets=8, connect_deadline_seconds=2.0)
    async with aiohttp.ClientSession() as http:
        held = await opened(http, server.url, 4) + await opened(from_elsewhere, server.url, 4)
        status, body = await handshake_status(from_elsewhere, server.url)
        assert status == 401 and "too_many_connections" in body, (status, body)
        # Connected sockets do not count: one that connects frees its place.
        created = await server.create_session()
        await held[0].ws.send_str('40{"token":"' + created["tokens"]["c-1"] + '"}')
        assert (await held[0].next_text()).startswith("40{")
        assert (await handshake_status(from_elsewhere, server.url))[0] == 101
        for raw in held:
            await raw.close()


async def _closed_soon(raw: RawSocket) -> bool:
    """True once the service closes `raw` (within 3 s of its last packet); False if it does not."""
    if raw.ws.closed:
        return True
    try:
        while True:
            await raw.next_text(timeout=3)
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


async def test_behind_a_trusted_proxy_the_limit_keys_on_the_address_it_names(
    server_factory: ServerFactory, quick_sweeps: None
) -> None:
    """Through a proxy of COMFORT_TRUSTED_PROXIES every socket comes from the proxy's address:
    the per-address limit counts the client's (`X-Forwarded-For`, as the HTTP edges read it),
    so one client holding sockets open does not refuse everyone else behind the same proxy."""
    server: LiveServer = await server_factory(
        connect_deadline_seconds=2.0,
        max_pending_sockets_per_address=5,
        trusted_proxies=["127.0.0.1/32"],
    )
    holder = aiohttp.ClientSession(headers={"X-Forwarded-For": "203.0.113.7"})
    neighbour = aiohttp.ClientSession(headers={"X-Forwarded-For": "203.0.113.8"})
    async with holder, neighbour:
        held = await opened(holder, server.url, 12)
        await asyncio.sleep(0.5)  # held open past STALE_S and a sweep, not connecting
        status, body = await handshake_status(holder, server.url)
        assert status == 401 and "too_many_connections" in body, (status, body)
        assert (await handshake_status(neighbour, server.url))[0] == 101
        for raw in held:
            await raw.close()

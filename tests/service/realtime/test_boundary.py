"""The socket server's handshake (service/realtime/boundary.py): per-message compression is
refused, and origins are held to the allowed ones. Runs with the transport patches on and off
(conftest.py). Its packet decoding and its limits on sockets that have not connected are in
test_boundary_decoding.py and test_boundary_pending.py."""

from __future__ import annotations

import pytest
import socketio

from tests.conftest import LiveServer


async def test_websockets_refuse_per_message_compression(live_server: LiveServer):
    """Deflate state costs ~100 KB a socket; the service never negotiates it."""
    url = live_server.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    async with live_server.api.http.ws_connect(url, compress=15) as ws:
        assert ws.compress == 0
        opening = await ws.receive_str()
        assert opening.startswith("0{")


async def test_socket_handshake_refuses_origins_not_allowed(server_factory):

    server = await server_factory(allowed_origins=["https://vendor.example"])
    created = await server.create_session()
    good = socketio.AsyncClient(reconnection=False)
    await good.connect(
        server.url,
        auth={"token": created["tokens"]["c-1"]},
        transports=["websocket"],
        headers={"Origin": "https://vendor.example"},
    )
    assert good.connected
    await good.disconnect()
    bad = socketio.AsyncClient(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await bad.connect(
            server.url,
            auth={"token": created["tokens"]["c-1"]},
            transports=["websocket"],
            headers={"Origin": "https://evil.example"},
        )

"""Issue 13, from outside: hostile or clumsy input at every edge gets an answer, limits hold, and
nothing is exposed (contract §9.1, §9.5, §4). Written before the fixes, each as an
`xfail(strict=True)` whose mark was removed once its fix landed. Only the HTTP and Socket.IO
surfaces are used, no internal names.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import stat
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio
from aiohttp import web

from service.tenants import Tenant, TenantRegistry, hash_key
from tests.conftest import LiveServer, ServerFactory, start_server
from tests.fuzz.rawsocket import RawSocket
from tests.support import API_KEY, OTHER_KEY, Api, Peer, ServiceProcess, raw_status_line

JITSI_TOKEN = "jitsi-bearer-token-0123456789"
# python-socketio's client writes JSON with ensure_ascii: a lone surrogate goes out as the
# escape "\ud83d", which is what a browser's JSON.stringify("\ud83d") sends too. Sent raw:
# python-socketio's packet codec is process-wide, and the service's (orjson) refuses to encode it.
LONE_SURROGATE = "\ud83d"


raw_http = raw_status_line


@pytest.fixture
async def jitsi_server(tmp_path: Path) -> AsyncIterator[LiveServer]:
    """A service whose `demo` tenant has a self-hosted Jitsi integration (bearer token)."""
    tenants = TenantRegistry(
        [
            Tenant(
                id="demo",
                api_key_sha256=hash_key(API_KEY),
                integrations={"jitsi": {"bearer_token": JITSI_TOKEN}},
            ),
            Tenant(id="other", api_key_sha256=hash_key(OTHER_KEY)),
        ]
    )
    runner, url, app = await start_server(tmp_path, tenants)
    async with aiohttp.ClientSession() as http:
        yield LiveServer(url=url, app=app, api=Api(url, http=http))
    await runner.cleanup()


async def room_destroyed(server: LiveServer, body: bytes) -> int:
    """POST a self-hosted Jitsi `room/destroyed` event, authenticated; the answer's status."""
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{server.url}/webhooks/demo/jitsi/events/room/destroyed",
            data=body,
            headers={"Authorization": f"Bearer {JITSI_TOKEN}", "Content-Type": "application/json"},
        ) as resp,
    ):
        return resp.status


# -- socket packets: one decoding boundary (§9.5) --------------------------------------------


@pytest.mark.parametrize("where", ["id", "data"])
async def test_a_send_with_a_lone_surrogate_is_answered_invalid_payload(
    live_server: LiveServer, where: str
) -> None:
    created = await live_server.create_session()
    async with aiohttp.ClientSession() as http:
        raw = await RawSocket.open(http, live_server.url, created["tokens"]["c-1"])
        try:
            payload: dict[str, Any] = {"id": "s-1", "type": "zone", "data": {"zone": "okay"}}
            if where == "id":
                payload["id"] = LONE_SURROGATE
            else:
                payload["data"] = {"zone": LONE_SURROGATE}
            answer = await raw.send(1, payload)
            assert answer["ok"] is False and answer["error"]["code"] == "invalid_payload"
            assert await raw.alive(), "the connection stays up"
        finally:
            await raw.close()


async def test_a_connect_whose_auth_holds_a_lone_surrogate_is_refused_invalid_token(
    live_server: LiveServer,
) -> None:
    async with aiohttp.ClientSession() as http:
        raw = await RawSocket.open(http, live_server.url, None)
        try:
            await raw.ws.send_str("40" + json.dumps({"token": LONE_SURROGATE, "last_seq": 0}))
            refused = await raw.next_text()
            assert refused.startswith("44"), refused
            assert json.loads(refused[2:])["code"] == "invalid_token"
        finally:
            await raw.close()


# -- REST and webhook bodies and headers: one decoding boundary (§9.5) -----------------------


async def test_a_raw_ff_byte_in_authorization_is_401_not_500(live_server: LiveServer) -> None:
    status = await raw_http(
        live_server.url,
        b"GET /api/v1/sessions/x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
        b"Authorization: Bearer " + API_KEY.encode() + b"\xff\r\n\r\n",
    )
    assert status.startswith(b"HTTP/1.1 401"), status


async def test_deeply_nested_json_in_a_signed_webhook_is_a_4xx(jitsi_server: LiveServer) -> None:
    status = await room_destroyed(jitsi_server, b"[" * 100_000 + b"]" * 100_000)
    assert 400 <= status < 500, status


async def test_a_lone_surrogate_room_name_in_a_signed_webhook_is_acknowledged(
    jitsi_server: LiveServer,
) -> None:
    """§9.5: such a value arriving in a platform webhook is acknowledged (2xx) and ignored."""
    body = json.dumps({"room_name": LONE_SURROGATE, "is_breakout": False}).encode()
    status = await room_destroyed(jitsi_server, body)
    assert 200 <= status < 300, status


# -- limits and exposure (§9.5) ---------------------------------------------------------------


async def test_metrics_leave_the_public_listener_for_their_own_port(
    server_factory: ServerFactory,
) -> None:
    from tests.support import free_port

    metrics_port = free_port()
    server = await server_factory(metrics_port=metrics_port)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/metrics") as public:
            assert public.status == 404
        async with http.get(f"http://127.0.0.1:{metrics_port}/metrics") as metrics:
            assert metrics.status == 200 and "comfort_" in await metrics.text()


async def test_behind_a_trusted_proxy_guessing_locks_out_only_the_guesser(
    server_factory: ServerFactory,
) -> None:
    server = await server_factory(trusted_proxies=["127.0.0.1/32"], auth_failure_limit=3)
    guesser, other = {"X-Forwarded-For": "203.0.113.9"}, {"X-Forwarded-For": "198.51.100.7"}
    async with aiohttp.ClientSession() as http:

        async def get(key: str, headers: dict[str, str]) -> int:
            async with http.get(
                f"{server.url}/api/v1/sessions/ses_none",
                headers={"Authorization": f"Bearer {key}", **headers},
            ) as resp:
                return resp.status

        statuses = [await get(f"wrong-key-{i:04d}-0123456789", guesser) for i in range(6)]
        assert statuses[-1] == 429
        assert await get("wrong-key-else-0123456789", other) == 401, "another client"
        # A valid key is never refused because of other requests' failures.
        assert await get(API_KEY, guesser) == 404
        assert await get(API_KEY, other) == 404


async def test_a_sixth_socket_of_one_participant_is_refused_too_many_connections(
    live_server: LiveServer,
) -> None:
    created = await live_server.create_session()
    token = created["tokens"]["c-1"]
    for _ in range(5):
        await live_server.join(token)
    sixth = live_server.peer(token)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await sixth.connect()
    assert sixth.connect_error is not None
    assert sixth.connect_error["code"] == "too_many_connections"


async def test_the_sqlite_database_is_created_readable_by_the_service_alone(
    tmp_path: Path,
) -> None:
    previous = os.umask(0o022)
    try:
        runner, _, _ = await start_server(tmp_path)
        await runner.cleanup()
    finally:
        os.umask(previous)
    for path in tmp_path.glob("comfort.db*"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


# -- a client's own numbering (§9.1) ----------------------------------------------------------


async def test_a_couples_client_sees_its_own_gap_free_numbering(live_server: LiveServer) -> None:
    created = await live_server.create_session(clients=2)
    therapist = await live_server.join(created["tokens"]["t-1"])
    first = await live_server.join(created["tokens"]["c-1"])
    second = await live_server.join(created["tokens"]["c-2"])
    acks = [(await second.send("zone", {"zone": "okay"}))["seq"]]
    for _ in range(3):
        await first.send("pause")
    await therapist.wait_type("pause", 3)
    acks.append((await second.send("zone", {"zone": "okay"}))["seq"])
    acks.append((await second.send("zone", {"zone": "too_much"}))["seq"])
    # Its own stream: consecutive positions, whatever c-1 did in between.
    assert acks == list(range(acks[0], acks[0] + 3)), acks
    assert second.seqs == sorted(second.seqs)
    assert second.seqs == list(range(second.seqs[0], second.seqs[0] + len(second.seqs)))


# -- SIGTERM ----------------------------------------------------------------------------------


@pytest.mark.slow
async def test_sigterm_ends_the_service_within_10_s_with_sockets_connected(
    tmp_path: Path,
) -> None:
    service = await ServiceProcess(tmp_path).start()
    peers: list[Peer] = []
    try:
        async with aiohttp.ClientSession() as http:
            created = await Api(service.url, http=http).create(clients=2)
        for name in ("t-1", "c-1", "c-2"):
            # Like a browser, python-socketio's client (reconnection off, Peer's default) waits
            # for the server to close the websocket. (Replacing `peer.client` here would drop the
            # handlers Peer registered, and the welcome would never be seen.)
            peers.append(await Peer(service.url, created["tokens"][name]).connect())
        assert service.proc is not None
        started = time.monotonic()
        service.proc.send_signal(signal.SIGTERM)
        while service.proc.poll() is None and time.monotonic() - started < 10:
            await asyncio.sleep(0.1)
        assert service.proc.poll() is not None, "still running 10 s after SIGTERM"
    finally:
        service.kill()
        for peer in peers:
            await peer.close()


def test_raw_http_reads_a_status_line() -> None:
    """The helper above can say "answered": against a plain aiohttp app it reads 200."""

    async def main() -> bytes:
        app = web.Application()

        async def hello(_: web.Request) -> web.Response:
            return web.Response(text="x")

        app.router.add_get("/", hello)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        try:
            return await raw_http(f"http://127.0.0.1:{port}", b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        finally:
            await runner.cleanup()

    assert asyncio.run(main()).startswith(b"HTTP/1.1 200")

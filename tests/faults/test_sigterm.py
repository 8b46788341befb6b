"""SIGTERM ends `comfort serve` within 10 s with its log flushed (issue 13, finding 12), also with
sockets connected that wait for the server to close them, as browsers and socket.io clients do:
after the issue's load (100 sessions, 0.5 signals a second each, for 5 s), and with idle sockets
(raw websockets that answer pings and never close on their own, Socket.IO connected or not)."""

from __future__ import annotations

import asyncio
import json
import signal
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.fuzz.rawsocket import RawSocket
from tests.support import Api, Peer, ServiceProcess

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

DEADLINE_S = 10.0


def log_lines(service: ServiceProcess) -> list[dict[str, Any]]:
    lines = []
    for line in service.logs().splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            lines.append({"event": None, "raw": line})
    return lines


async def terminated_within(service: ServiceProcess, seconds: float) -> float:
    """Send SIGTERM; how long the process took to exit (it is killed after `seconds`)."""
    assert service.proc is not None
    started = time.monotonic()
    service.proc.send_signal(signal.SIGTERM)
    while service.proc.poll() is None and time.monotonic() - started < seconds:
        await asyncio.sleep(0.05)
    took = time.monotonic() - started
    assert service.proc.poll() is not None, f"still running {seconds} s after SIGTERM"
    return took


def assert_logged_shutdown(service: ServiceProcess) -> None:
    lines = log_lines(service)
    events = [line.get("event") for line in lines]
    assert "shutdown_started" in events and "shutdown_complete" in events, events[-10:]
    assert events.index("shutdown_started") < events.index("shutdown_complete")
    assert not [line for line in lines if "Traceback" in str(line)], "no traceback at shutdown"


async def test_sigterm_after_the_issue_s_load_exits_within_10_s(tmp_path: Path) -> None:
    service = await ServiceProcess(tmp_path).start()
    peers: list[Peer] = []
    try:
        async with aiohttp.ClientSession() as http:
            api = Api(service.url, http=http)
            sessions = [await api.create() for _ in range(100)]
        pairs = []
        for created in sessions:
            pair = []
            for name in ("t-1", "c-1"):
                # Like a browser, python-socketio's client waits for the server to close the
                # websocket after the Engine.IO close packet (reconnection off: it stays away).
                pair.append(await Peer(service.url, created["tokens"][name]).connect())
            peers += pair
            pairs.append(pair)

        async def signals(client: Peer) -> None:  # 0.5 a second for 5 s
            for n in range(3):
                await client.send("keep_going" if n % 2 else "slow_down")
                await asyncio.sleep(2.0)

        await asyncio.gather(*(signals(client) for _, client in pairs))
        took = await terminated_within(service, DEADLINE_S)
        print(f"\nSIGTERM after load: exited in {took:.2f} s")
        assert_logged_shutdown(service)
    finally:
        service.kill()
        await asyncio.gather(*(peer.close() for peer in peers))


@pytest.mark.parametrize("patches", ["true", "false"], ids=["patched", "unpatched"])
async def test_sigterm_with_idle_sockets_that_never_close_exits_within_10_s(
    tmp_path: Path, patches: str
) -> None:
    """Raw websockets that answer every ping and never close: Socket.IO connected ones, and ones
    that never sent CONNECT. The service closes them; it does not wait for them. With the
    transport patches off (python-engineio's own poll never closes them), aiohttp's shutdown
    timeout ends them, still inside the deadline."""
    env = {"COMFORT_TRANSPORT_PATCHES": patches}
    service = await ServiceProcess(tmp_path, env=env).start()
    raws: list[RawSocket] = []
    try:
        async with aiohttp.ClientSession() as http:
            created = await Api(service.url, http=http).create(clients=2)
            for name in ("t-1", "c-1", "c-2"):
                raws.append(await RawSocket.open(http, service.url, created["tokens"][name]))
            for _ in range(3):
                raws.append(await RawSocket.open(http, service.url, None))
            keep_answering = [asyncio.create_task(_answer_pings(raw)) for raw in raws]
            took = await terminated_within(service, DEADLINE_S)
            print(f"\nSIGTERM with idle sockets: exited in {took:.2f} s")
            for task in keep_answering:
                task.cancel()
            assert_logged_shutdown(service)
            closed = [raw.ws.closed for raw in raws]
            assert all(closed), "the service closed every websocket itself"
    finally:
        service.kill()
        for raw in raws:
            await raw.close()


async def _answer_pings(raw: RawSocket) -> None:
    while True:
        try:
            await raw.next_text(timeout=60)
        except (ConnectionResetError, TimeoutError):
            return

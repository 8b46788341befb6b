"""Fixtures for the vendor outbox tests (loaded with `pytest_plugins`): the `receiver`, a real
aiohttp server on loopback standing for a vendor's webhook endpoint."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from tests.service.outbox_helpers import Receiver


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    target = Receiver()
    app = web.Application()
    app.router.add_post("/hooks/comfort", target.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    target.url = f"http://127.0.0.1:{sock.getsockname()[1]}/hooks/comfort"
    yield target
    await runner.cleanup()

"""Fixtures for the pacing tests (loaded with `pytest_plugins`): live servers with pacing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from service.tenants import TenantRegistry
from tests.conftest import LiveServer
from tests.service.pacing_helpers import PacingFactory, start_pacing_server
from tests.support import Api


@pytest.fixture
async def pacing_factory(tmp_path: Path) -> AsyncIterator[PacingFactory]:
    """Start live servers (with pacing) of the test's choosing; all stop afterwards."""
    runners: list[tuple[web.AppRunner, LiveServer]] = []
    http = aiohttp.ClientSession()

    async def factory(tenants: TenantRegistry | None = None, **settings: Any) -> LiveServer:
        runner, url, app = await start_pacing_server(tmp_path, tenants, **settings)
        server = LiveServer(url=url, app=app, api=Api(url, http=http))
        runners.append((runner, server))
        return server

    yield factory
    for runner, server in runners:
        for peer in server.peers:
            await peer.close()
        await runner.cleanup()
    await http.close()


@pytest.fixture
async def pacing_server(pacing_factory: PacingFactory) -> LiveServer:
    return await pacing_factory()

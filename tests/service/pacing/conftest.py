"""Fixtures of the pacing suite."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import LiveServer
from tests.service.pacing.support import STORES, on_store


@pytest.fixture(params=STORES)
async def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LiveServer]:
    """A live service with fast pacing on SQLite, then on PostgreSQL."""
    async with on_store(request.param, tmp_path) as server:
        yield server

"""Fixtures for deployments of several real `comfort serve` processes on PostgreSQL and Redis."""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as redis

from tests.support import ServiceProcess

PG_ADMIN = os.environ.get("COMFORT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("COMFORT_TEST_REDIS", "redis://127.0.0.1:6379/0")
REDIS_START = [
    "redis-server",
    "--daemonize",
    "yes",
    "--bind",
    "127.0.0.1",
    "--port",
    "6379",
    "--save",
    "",
    "--appendonly",
    "no",
]


async def _reachable() -> str | None:
    try:
        conn = await asyncpg.connect(PG_ADMIN, timeout=3)
        await conn.close()
    except Exception as exc:
        return f"PostgreSQL at {PG_ADMIN} is not reachable: {exc}"
    client = redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except Exception as exc:
        return f"Redis at {REDIS_URL} is not reachable: {exc}"
    finally:
        await client.aclose()
    return None


@pytest.fixture
async def pg_database() -> AsyncIterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards."""
    problem = await _reachable()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    name = f"comfort_mp_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(PG_ADMIN)
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    admin = await asyncpg.connect(PG_ADMIN)
    with contextlib.suppress(Exception):
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    await admin.close()


Deployment = Callable[..., Awaitable[list[ServiceProcess]]]


@pytest.fixture
async def deployment(tmp_path: Path, pg_database: str) -> AsyncIterator[Deployment]:
    """Start N service processes sharing one PostgreSQL database and Redis."""
    started: list[ServiceProcess] = []

    async def start(count: int = 2, **env: str) -> list[ServiceProcess]:
        shared = {
            "COMFORT_DATABASE_URL": pg_database,
            "COMFORT_REDIS_URL": REDIS_URL,
            "COMFORT_PRESENCE_GRACE_SECONDS": "3",
            **env,
        }
        for i in range(count):
            proc = ServiceProcess(tmp_path / f"p{i}", env=shared)
            started.append(proc)
            await proc.start()
        return started[-count:]

    yield start
    for proc in started:
        proc.kill()


def restart_redis() -> None:
    subprocess.run(REDIS_START, check=False, capture_output=True)

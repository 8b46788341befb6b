"""The reaper's reading of presence (`RedisPresence.dead_holdings`) on a real Redis: holdings of
lapsed processes found across more sessions than one pipeline reads, live ones never, and a
session with nobody left unlisted unless a connection was counted meanwhile."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis

from service.realtime.cluster import (
    PRESENCE_SESSIONS,
    REAP_BATCH,
    RedisPresence,
    _presence_key,
    _proc_key,
)
from tests.cluster.conftest import REDIS_URL, _reachable

DB = 11  # a database of its own: other suites use these key names in database 0


@pytest.fixture
async def client() -> AsyncIterator[redis.Redis]:
    problem = await _reachable()
    if problem:
        pytest.fail(problem)
    connection = redis.from_url(REDIS_URL, db=DB)
    await connection.flushdb()
    try:
        yield connection
    finally:
        await connection.flushdb()
        await connection.aclose()


async def test_dead_holdings_across_batches(client: redis.Redis) -> None:
    live, dead = RedisPresence(client, "live"), RedisPresence(client, "dead")
    await client.set(_proc_key("live"), "1", ex=60)  # "dead" has no heartbeat
    sessions = [f"ses_{i:04d}" for i in range(REAP_BATCH * 2 + 7)]
    for i, session_id in enumerate(sessions):
        await live.add(session_id, "t-1")
        if i % 3 == 0:
            await dead.add(session_id, "c-1")
    found = await live.dead_holdings()
    assert sorted(found) == [(s, "c-1", "dead") for i, s in enumerate(sessions) if i % 3 == 0]


async def test_an_empty_session_is_unlisted_unless_counted_again(client: redis.Redis) -> None:
    presence = RedisPresence(client, "live")
    await client.set(_proc_key("live"), "1", ex=60)
    await presence.add("ses_gone", "c-1")
    await presence.remove("ses_gone", "c-1")
    await client.sadd(PRESENCE_SESSIONS, "ses_back")  # listed, its hash not written yet
    assert await presence.dead_holdings() == []
    assert await client.smembers(PRESENCE_SESSIONS) == set()
    # The script keeps a session whose hash exists when it runs (a connection counted since).
    await client.sadd(PRESENCE_SESSIONS, "ses_busy")
    await client.hincrby(_presence_key("ses_busy"), "c-1\x1flive", 1)
    assert await presence.dead_holdings() == []
    assert await client.smembers(PRESENCE_SESSIONS) == {b"ses_busy"}

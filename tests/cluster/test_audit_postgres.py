"""The audit trail on PostgreSQL: written by a real process, append-only in the schema."""

from __future__ import annotations

import asyncio

import aiohttp
import asyncpg
import pytest

from service.store.base import AuditQuery
from service.store.postgres import PostgresStore
from tests.cluster.conftest import Deployment
from tests.support import Api, Peer

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


async def test_audit_trail_on_postgres(deployment: Deployment, pg_database: str):
    (proc,) = await deployment(1)
    async with aiohttp.ClientSession() as http:
        created = await Api(proc.url, http=http).create()
        peer = await Peer(proc.url, created["tokens"]["c-1"]).connect()
        await peer.close()
    await asyncio.sleep(1.0)  # the trail is written in batches every 0.25 s
    store = PostgresStore(pg_database)
    await store.open()
    try:
        entries = await store.read_audit(AuditQuery(session_id=created["session"]["id"]))
    finally:
        await store.close()
    actions = {e.action for e in entries}
    assert {"token.mint", "socket.connect", "socket.disconnect"} <= actions
    conn = await asyncpg.connect(pg_database)
    try:
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await conn.execute("UPDATE audit_log SET outcome = 'forged'")
        with pytest.raises(asyncpg.RaiseError, match="append-only"):
            await conn.execute("DELETE FROM audit_log")
    finally:
        await conn.close()

"""A store call cancelled half-way (a task stopped at shutdown, a timeout) must leave the store
usable: the next write works. (It once did not: aiosqlite ran each statement in its own thread, so
a BEGIN whose awaiting coroutine was cancelled still ran there. The store now runs a transaction
whole in one call.)"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from service.store.sqlite import SQLiteStore

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    store = SQLiteStore(tmp_path / "comfort.db")
    await store.open()
    yield store
    await store.close()


async def test_a_write_cancelled_at_begin_leaves_the_store_writable(store: SQLiteStore) -> None:
    task = asyncio.create_task(store.erase_session("ses_none"))
    await asyncio.sleep(0)  # the task now waits for its BEGIN IMMEDIATE
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await store.erase_session("ses_none")  # raises StoreUnavailable while the bug stands
    await store.ping()


async def test_a_write_cancelled_inside_its_transaction_leaves_the_store_writable(
    store: SQLiteStore,
) -> None:
    for _ in range(5):
        task = asyncio.create_task(store.erase_session("ses_none"))
        for _ in range(3):  # past BEGIN, into the statements
            await asyncio.sleep(0.001)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await store.erase_session("ses_none")
    await store.ping()

"""The session log's order of things: commit, hand the events to their recipients, flush, ack.

Recipients see an event once it survives the process; its sender is acknowledged once it also
survives the machine. Run on the real SQLite store, with its flush held at a gate."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from service.errors import StoreUnavailable
from service.events import Event
from service.log import SessionLog
from service.metrics import Metrics
from service.store.base import AppendOutcome, SessionRecord
from service.store.sqlite import SQLiteStore
from tests.store.support import new_session, send

pytestmark = pytest.mark.timeout(30)


class GatedStore(SQLiteStore):
    """SQLite whose `flush` waits at a gate, and can be made to fail."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.gate = asyncio.Event()
        self.flushes = 0
        self.fail_next = False

    async def flush(self) -> None:
        await self.gate.wait()
        self.flushes += 1
        if self.fail_next:
            self.fail_next = False
            raise StoreUnavailable("the disk went away")
        await super().flush()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[GatedStore]:
    store = GatedStore(tmp_path / "comfort.db")
    await store.open()
    store.gate.set()
    yield store
    store.gate.set()
    await store.close()


@pytest.fixture
async def record(store: GatedStore) -> SessionRecord:
    record = new_session()
    await store.create_session(record)
    return record


@pytest.fixture
async def delivered() -> list[Event]:
    return []


@pytest.fixture
async def log(store: GatedStore, delivered: list[Event]) -> AsyncIterator[SessionLog]:
    log = SessionLog(store, Metrics())
    log.committed.subscribe(lambda stored: delivered.extend(event for _, event in stored))
    await log.start()
    yield log
    store.gate.set()
    await log.stop()


async def until(condition: object, seconds: float = 5.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.001)


async def test_recipients_get_the_event_at_the_commit_and_the_ack_waits_for_the_flush(
    store: GatedStore, log: SessionLog, record: SessionRecord, delivered: list[Event]
) -> None:
    store.gate.clear()
    ack = asyncio.create_task(log.append(send(record.id, "evt-1")))
    await until(lambda: delivered)
    assert [e.id for e in delivered] == ["evt-1"]
    await asyncio.sleep(0.05)
    assert not ack.done(), "no ack before the flush"
    store.gate.set()
    result = await ack
    assert (result.outcome, result.seq) == (AppendOutcome.STORED, 1)


async def test_commits_go_on_while_a_flush_is_in_flight_and_one_flush_covers_them(
    store: GatedStore, log: SessionLog, record: SessionRecord, delivered: list[Event]
) -> None:
    store.gate.clear()
    store.flushes = 0
    first = asyncio.create_task(log.append(send(record.id, "evt-1")))
    await until(lambda: len(delivered) == 1)
    later = [asyncio.create_task(log.append(send(record.id, f"evt-{n}"))) for n in range(2, 6)]
    await until(lambda: len(delivered) == 5)
    assert [e.seq for e in delivered] == [1, 2, 3, 4, 5]
    assert not first.done() and not any(task.done() for task in later)
    store.gate.set()
    results = await asyncio.gather(first, *later)
    assert [r.seq for r in results] == [1, 2, 3, 4, 5]
    assert store.flushes <= 2, "the flush after the first covers every commit made meanwhile"


async def test_a_failed_flush_fails_the_ack_and_the_resend_answers_the_seq_given(
    store: GatedStore, log: SessionLog, record: SessionRecord
) -> None:
    store.fail_next = True
    with pytest.raises(StoreUnavailable):
        await log.append(send(record.id, "evt-1"))
    again = await log.append(send(record.id, "evt-1"))
    assert (again.outcome, again.seq) == (AppendOutcome.DUPLICATE, 1)
    assert [e.seq for e in await store.read_events(record.id, 0, 10)] == [1]


async def test_a_duplicate_waits_for_the_flush_too(
    store: GatedStore, log: SessionLog, record: SessionRecord, delivered: list[Event]
) -> None:
    """The event a duplicate answers may be in a commit not yet flushed."""
    store.gate.clear()
    first = asyncio.create_task(log.append(send(record.id, "evt-1")))
    await until(lambda: delivered)
    resend = asyncio.create_task(log.append(send(record.id, "evt-1")))
    await asyncio.sleep(0.05)
    assert not first.done() and not resend.done()
    store.gate.set()
    assert (await resend).outcome is AppendOutcome.DUPLICATE
    assert (await first).seq == 1


async def test_stop_releases_every_committed_ack_before_it_returns(
    store: GatedStore, log: SessionLog, record: SessionRecord, delivered: list[Event]
) -> None:
    store.gate.clear()
    acks = [asyncio.create_task(log.append(send(record.id, f"evt-{n}"))) for n in range(3)]
    await until(lambda: len(delivered) == 3)
    stopping = asyncio.create_task(log.stop())
    await asyncio.sleep(0.05)
    assert not stopping.done()
    store.gate.set()
    await stopping
    assert all(task.done() and task.result().outcome is AppendOutcome.STORED for task in acks)
    with pytest.raises(StoreUnavailable):
        await log.append(send(record.id, "late"))

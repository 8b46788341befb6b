"""Appending to session logs with group commit.

Every append waits for its own durable commit, but appends that arrive while a commit is in
flight are written together in the next one: one transaction per batch, not per send. After each
commit the stored events are announced on `committed` in seq order (the hub delivers them, the
cluster publishes them); the acks are released once the store has been flushed (on SQLite, the WAL
fsync) past that commit. Recipients see an event once
it survives the process; its sender is told once it also survives the machine.

Commits and flushes overlap: while one flush runs, the writer goes on committing, and the next
flush covers every commit made meanwhile.

A store whose commit never waits on the network (`commits_in_place`: SQLite, where a transaction
is microseconds on the loop) is committed by the appending coroutine itself when the log is idle,
sparing the event a pass of the loop before its commit. At most one such commit is made per pass
of the loop; appends that arrive after it in the same pass wait for the writer task, which
commits them together, so a burst still costs one transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

import structlog

from .errors import StoreUnavailable
from .events import Event
from .feed import Feed
from .metrics import Metrics
from .store.base import AppendRequest, AppendResult, SessionLogStore

log = structlog.get_logger(__name__)

MAX_BATCH = 512

Pending = list[tuple[AppendRequest, asyncio.Future[AppendResult]]]


@dataclass(slots=True)
class _Committed:
    batch: Pending
    results: list[AppendResult]
    started: float


class SessionLog:
    """The single writer of this process: batches appends and commits them in order."""

    def __init__(self, store: SessionLogStore, metrics: Metrics) -> None:
        self.store = store
        self.metrics = metrics
        self.committed: Feed[[list[tuple[str, Event]]]] = Feed("log.committed")
        """The (session id, event) pairs each commit stored, in seq order, before the flush."""
        self._pending: Pending = []
        self._wake = asyncio.Event()
        self._committed: list[_Committed] = []
        self._flush_wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._closing = False
        self._writer_done = False
        self._committing = False  # a commit (the writer's or an appender's) is under way
        self._in_place = store.commits_in_place
        self._in_place_ready = True  # no in-place commit yet in this pass of the loop
        self.batches = 0
        self.appended = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._write_loop(), name="session-log-writer")
        self._flusher = asyncio.create_task(self._flush_loop(), name="session-log-flusher")

    async def stop(self) -> None:
        """Finish what is in flight (commits and their flush), then stop taking appends."""
        self._closing = True
        self._wake.set()
        for task in (self._task, self._flusher):
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._flusher = None

    async def append(self, request: AppendRequest) -> AppendResult:
        """Append one event; returns once it is durably stored (or found to be a duplicate).

        Raises:
            StoreUnavailable: the store could not commit (nothing of this request was stored),
                or could not flush (it was stored and may be lost; a resend answers its seq).
        """
        if self._closing:
            raise StoreUnavailable("the service is shutting down; send again")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[AppendResult] = loop.create_future()
        self._pending.append((request, future))
        if self._in_place and self._in_place_ready and not self._committing:
            self._in_place_ready = False
            loop.call_soon(self._ready_in_place)
            await self._commit_in_place()
        else:
            self._wake.set()
        return await future

    def _ready_in_place(self) -> None:
        self._in_place_ready = True

    async def _commit_in_place(self) -> None:
        batch = self._pending[:MAX_BATCH]
        del self._pending[:MAX_BATCH]
        self._committing = True
        try:
            await self._commit(batch)
        except BaseException:
            # Cancelled while the store waited (a lock held by another process): nothing of the
            # batch was committed; its senders are told to send again.
            _fail(batch, StoreUnavailable("the service could not store the event; send again"))
            raise
        finally:
            self._committing = False
            if self._pending or self._closing:
                self._wake.set()

    async def _write_loop(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._pending and not self._committing:
                    batch = self._pending[:MAX_BATCH]
                    del self._pending[:MAX_BATCH]
                    self._committing = True
                    try:
                        await self._commit(batch)
                    finally:
                        self._committing = False
                if self._closing and not self._committing:
                    return  # (an in-place commit under way wakes the writer when it is done)
        finally:
            self._writer_done = True
            self._flush_wake.set()

    async def _commit(self, batch: Pending) -> None:
        started = time.perf_counter()
        try:
            results = await self.store.append_batch([request for request, _ in batch])
        except Exception as exc:
            error = (
                exc
                if isinstance(exc, StoreUnavailable)
                else StoreUnavailable("the service could not store the event")
            )
            log.error(
                "append_failed",
                batch=len(batch),
                error=type(exc).__name__,
                reason=str(exc)[:200] if isinstance(exc, StoreUnavailable) else None,
                exc_info=not isinstance(exc, StoreUnavailable),
            )
            _fail(batch, error)
            return
        self.batches += 1
        stored = [
            (request.session_id, result.event)
            for (request, _), result in zip(batch, results, strict=True)
            if result.event is not None
        ]
        self.appended += len(stored)
        if stored:
            # Never raises (a failing subscriber is logged): fan-out must never cost an ack; the
            # events are stored and will be caught up.
            self.committed.emit(stored)
        # Duplicates too wait for the flush: the event they answer may be in this one.
        self._committed.append(_Committed(batch, results, started))
        self._flush_wake.set()

    async def _flush_loop(self) -> None:
        while True:
            await self._flush_wake.wait()
            self._flush_wake.clear()
            while self._committed:
                ready, self._committed = self._committed, []
                await self._release(ready)
            if self._writer_done and not self._committed:
                return

    async def _release(self, ready: list[_Committed]) -> None:
        try:
            await self.store.flush()
        except Exception as exc:
            # Committed but perhaps not on disk: no ack says stored. The sender sends again
            # with the same id and is answered the seq it was given (a duplicate).
            log.error("append_flush_failed", batches=len(ready), error=type(exc).__name__)
            for committed in ready:
                _fail(committed.batch, StoreUnavailable("the service could not store the event"))
            return
        now = time.perf_counter()
        for committed in ready:
            self.metrics.append_batch_size.observe(len(committed.batch))
            self.metrics.append_seconds.observe(now - committed.started)
            for (_, future), result in zip(committed.batch, committed.results, strict=True):
                if not future.done():
                    future.set_result(result)


def _fail(batch: Pending, error: StoreUnavailable) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(error)

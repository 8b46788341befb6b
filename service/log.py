"""Appending to session logs with group commit.

Every append waits for its own durable commit, but appends that arrive while a commit is in
flight are written together in the next one: one transaction per batch, not per send. After each
commit the stored events are handed to `on_stored` in seq order, before any ack is released.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

import structlog

from .errors import StoreUnavailable
from .events import Event
from .store.base import AppendRequest, AppendResult, Store

log = structlog.get_logger(__name__)

MAX_BATCH = 512


class SessionLog:
    """The single writer of this process: batches appends and commits them in order."""

    def __init__(
        self,
        store: Store,
        on_stored: Callable[[list[tuple[str, Event]]], None],
        on_commit: Callable[[int, float], None] | None = None,
    ) -> None:
        self.store = store
        self._on_stored = on_stored
        self._on_commit = on_commit  # (batch size, seconds) of each commit, for the metrics
        self._pending: list[tuple[AppendRequest, asyncio.Future[AppendResult]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.batches = 0
        self.appended = 0

    async def start(self) -> None:
        self._task = asyncio.create_task(self._write_loop(), name="session-log-writer")

    async def stop(self) -> None:
        """Finish what is in flight, then stop taking appends."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    async def append(self, request: AppendRequest) -> AppendResult:
        """Append one event; returns once it is durably stored (or found to be a duplicate).

        Raises:
            StoreUnavailable: the store could not commit; nothing of this request was stored.
        """
        if self._closing:
            raise StoreUnavailable("the service is shutting down; send again")
        future: asyncio.Future[AppendResult] = asyncio.get_running_loop().create_future()
        self._pending.append((request, future))
        self._wake.set()
        return await future

    async def _write_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch = self._pending[:MAX_BATCH]
                del self._pending[:MAX_BATCH]
                await self._commit(batch)
            if self._closing:
                return

    async def _commit(
        self, batch: list[tuple[AppendRequest, asyncio.Future[AppendResult]]]
    ) -> None:
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
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        self.batches += 1
        if self._on_commit is not None:
            self._on_commit(len(batch), time.perf_counter() - started)
        stored = [
            (request.session_id, result.event)
            for (request, _), result in zip(batch, results, strict=True)
            if result.event is not None
        ]
        self.appended += len(stored)
        if stored:
            try:
                self._on_stored(stored)
            except Exception:
                # Fan-out must never cost an ack: the events are stored and will be caught up.
                log.exception("fanout_failed", events=len(stored))
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)

"""The session engine: the writer core every part appends through.

`SessionEngine` appends participants' and system events to the durable log (`log.SessionLog`),
waits until what this process stored for a session is applied here (`settled`), ends a session
once, and catches up the sessions this process serves with what the store holds (a fan-out lost
between processes, a session erased elsewhere). A client's `pressed_at` is settled here, where
the session's creation is known (`events.settle_press_time`). The rules of a send are in
`realtime/sends.py` and `session.py`; presence in `realtime/presence.py`; the vendors' lifecycle
in `lifecycle.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import secrets
from datetime import UTC, datetime

import structlog

from .errors import StoreUnavailable
from .events import SYSTEM_ACTOR, EndedBy, EventData, Role, SessionEndedData, settle_press_time
from .log import SessionLog
from .metrics import Metrics
from .realtime.hub import Hub, SessionRuntime
from .store.base import AppendOutcome, AppendRequest, AppendResult, SessionLogStore

log = structlog.get_logger(__name__)

IDLE_EVICT_SECONDS = 300.0
ENDED_EVICT_SECONDS = 30.0  # an ended session is rarely needed again: its memory goes sooner
CATCH_UP_CHUNK = 500  # sessions whose heads are read in one query


class SessionEngine:
    """Appends to the log, and keeps this process's loaded sessions level with the store."""

    def __init__(
        self,
        store: SessionLogStore,
        log: SessionLog,
        hub: Hub,
        metrics: Metrics,
        *,
        catchup_interval_seconds: float = 2.0,
    ) -> None:
        self.store = store
        self.log = log
        self.hub = hub
        self.metrics = metrics
        self.catchup_interval_seconds = catchup_interval_seconds
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        await self.log.start()
        self._task = asyncio.create_task(self._housekeeping(), name="engine-housekeeping")

    async def stop(self) -> None:
        """Stop catching up, then finish the appends in flight (commits and their flush)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        await self.log.stop()

    # -- appends -----------------------------------------------------------------------------

    async def append(self, runtime: SessionRuntime, request: AppendRequest) -> AppendResult:
        """Every append of this process goes through here; each stored event is logged once, at
        debug level: the session log is the record, and at the default level the service's own
        log does not mirror every client's signals (counts are in the metrics).

        Raises:
            StoreUnavailable: the store could not commit or flush (a resend answers its seq).
        """
        if request.actor.role is Role.CLIENT:
            request = _with_settled_press_time(runtime, request)
        result = await self.log.append(request)
        if result.outcome is AppendOutcome.STORED:
            log.debug(
                "event_stored",
                session_id=runtime.id,
                seq=result.seq,
                type=request.type,
                actor=request.actor.id,
            )
        return result

    async def append_system(
        self,
        runtime: SessionRuntime,
        kind: str,
        body: EventData,
        *,
        event_id: str | None = None,
        to: tuple[str, ...] | None = None,
    ) -> AppendResult:
        """Log a system event of type `kind` with its typed data; a deterministic `event_id`
        makes it happen once per deployment."""
        request = AppendRequest(
            session_id=runtime.id,
            actor=SYSTEM_ACTOR,
            type=kind,
            event_id=event_id or f"{kind}:{secrets.token_hex(8)}",
            data=body.model_dump(mode="json", exclude_none=True),
            to=to,
            body=body,
        )
        return await self.append(runtime, request)

    async def settled(self, runtime: SessionRuntime) -> None:
        """Wait until this process has applied everything it has stored for the session."""
        async with runtime.lock:
            pass
        while runtime._inbox:
            await asyncio.sleep(0)
            async with runtime.lock:
                pass

    async def end_session(self, runtime: SessionRuntime, by: EndedBy) -> None:
        """Log `session_ended` once (its fixed id makes it once per deployment) and wait until it
        is applied here; sockets get it, then are disconnected (`realtime/sockets.py`)."""
        if runtime.ended:
            return
        ended = SessionEndedData(by=by)
        await self.append_system(runtime, "session_ended", ended, event_id="session_ended")
        await self.settled(runtime)

    # -- catching up -------------------------------------------------------------------------

    async def _housekeeping(self) -> None:
        """Catch up sessions whose live fan-out lost events; evict idle ones."""
        while True:
            await asyncio.sleep(self.catchup_interval_seconds)
            try:
                await self.catch_up_all()
                self.hub.evict_idle(IDLE_EVICT_SECONDS, ENDED_EVICT_SECONDS)
                self.metrics.sessions_loaded.set(len(self.hub.runtimes))
            except StoreUnavailable:
                pass
            except Exception:
                log.exception("housekeeping_failed")

    async def caught_up(self, runtime: SessionRuntime) -> None:
        """Wait until the session's state here includes what the store holds now (what other
        processes stored too), for a decision that must not rest on a stale view."""
        head = (await self.store.head_seqs([runtime.id])).get(runtime.id)
        if head is not None and head > runtime.head:
            await self.hub.catch_up(runtime, head)
        await self.settled(runtime)

    async def catch_up_all(self) -> None:
        """Deliver what the store holds beyond what this process has seen; drop sessions that
        were erased elsewhere."""
        served = [sid for sid, rt in self.hub.runtimes.items() if rt.connections]
        for start in range(0, len(served), CATCH_UP_CHUNK):
            chunk = served[start : start + CATCH_UP_CHUNK]
            heads = await self.store.head_seqs(chunk)
            for session_id in chunk:
                runtime = self.hub.runtimes.get(session_id)
                if runtime is None:
                    continue
                head = heads.get(session_id)
                if head is None:
                    await self.hub.drop(session_id)
                elif head > runtime.head:
                    await self.hub.catch_up(runtime, head)


def _with_settled_press_time(runtime: SessionRuntime, request: AppendRequest) -> AppendRequest:
    """The request with its `pressed_at` clamped to the session's life or dropped (a bad press
    time never refuses a send: docs/protocol.md)."""
    body = request.body
    if body is None or getattr(body, "pressed_at", None) is None:
        return request
    settled = settle_press_time(
        body, received=datetime.now(UTC), earliest=runtime.record.created_at
    )
    if settled is body:
        return request
    data = settled.model_dump(mode="json", exclude_none=True)
    return dataclasses.replace(request, data=data, body=settled)

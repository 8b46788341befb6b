"""Presence: who is here, and what their coming and going logs.

`PresenceKeeper` admits a verified join token, counts each admitted socket, logs
`participant_joined` on a participant's first connection and `participant_left` on its last,
starts the session the first time a therapist and a client are both here, and logs as left the
participants who vanished with a process (after a restart, or a process of the cluster dying).

The counts are a `Presence`: `LocalPresence` serves one process (the embedded default);
`RedisPresence` (in `cluster.py`) shares the counts of every process of a deployment, with
process heartbeats, so a participant is gone only when no live process holds one of its
connections.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

import structlog

from ..aio import BackgroundTasks
from ..engine import SessionEngine
from ..errors import ConnectRefused, StoreUnavailable
from ..events import EMPTY, Event, ParticipantRef, PresenceData, Role, Via
from ..feed import Feed
from ..metrics import Metrics
from ..store.base import AppendResult, SessionLogStore, SessionStateName
from ..tokens import JoinClaims
from .hub import Connection, Hub, SessionRuntime

log = structlog.get_logger(__name__)

JOIN_RETRY_FIRST_S = 1.0
JOIN_RETRY_MAX_S = 30.0
"""A join the store could not log is tried again after 1 s, then twice as long each time, at
most every 30 s, while its socket stays (`PresenceKeeper.connected`)."""


class Presence(Protocol):
    """Connection counts per (session, participant)."""

    def here(self, session_id: str, participant_id: str) -> bool:
        """Does this process hold a connection of the participant?"""

    async def add(self, session_id: str, participant_id: str) -> None: ...

    async def remove(self, session_id: str, participant_id: str) -> int:
        """Drop one connection; answer how many the whole deployment still holds."""

    async def connected_anywhere(self, session_id: str, participant_id: str) -> bool: ...

    def forget_session(self, session_id: str) -> None: ...

    async def drop(self, session_id: str, participant_id: str, process_id: str) -> None:
        """Forget a dead process's holding of the participant (a deployment's counts only)."""


class LocalPresence:
    """Presence for a single-process deployment."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, str], int] = {}

    def here(self, session_id: str, participant_id: str) -> bool:
        return self._counts.get((session_id, participant_id), 0) > 0

    async def add(self, session_id: str, participant_id: str) -> None:
        key = (session_id, participant_id)
        self._counts[key] = self._counts.get(key, 0) + 1

    async def remove(self, session_id: str, participant_id: str) -> int:
        key = (session_id, participant_id)
        remaining = self._counts.get(key, 1) - 1
        if remaining > 0:
            self._counts[key] = remaining
        else:
            self._counts.pop(key, None)
        return max(remaining, 0)

    async def connected_anywhere(self, session_id: str, participant_id: str) -> bool:
        return self.here(session_id, participant_id)

    def forget_session(self, session_id: str) -> None:
        for key in [k for k in self._counts if k[0] == session_id]:
            del self._counts[key]

    async def drop(self, session_id: str, participant_id: str, process_id: str) -> None:
        """One process holds nothing for another."""


class PresenceKeeper:
    """Admits sockets and logs what their coming and going means for the session.

    Args:
        counts: the connection counts (`LocalPresence`, or the cluster's `RedisPresence`).
        departures: the cluster's feed of participants whose every connection was held by
            processes that died (None in a single process).
        grace_seconds: how long a participant the log shows connected when this process starts
            has to come back before it is logged as left.
    """

    def __init__(
        self,
        engine: SessionEngine,
        hub: Hub,
        store: SessionLogStore,
        metrics: Metrics,
        counts: Presence,
        *,
        departures: Feed[[str, str, str]] | None = None,
        grace_seconds: float = 30.0,
    ) -> None:
        self.engine = engine
        self.hub = hub
        self.store = store
        self.metrics = metrics
        self.counts = counts
        self.grace_seconds = grace_seconds
        # While the process drains, sockets closing are not departures: the grace rule decides.
        self.draining = False
        self._reaper: asyncio.Task[None] | None = None
        self._tasks = BackgroundTasks("presence_task")
        hub.applied.subscribe(self._after_applied)
        hub.dropped.subscribe(counts.forget_session)
        if departures is not None:
            departures.subscribe(self._departure)

    async def start(self) -> None:
        self._reaper = asyncio.create_task(self._reap_after_restart(), name="presence-reaper")

    async def stop(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reaper
            self._reaper = None
        await self._tasks.cancel()

    # -- sockets -----------------------------------------------------------------------------

    async def admit(self, claims: JoinClaims) -> tuple[SessionRuntime, Role]:
        """Check that a verified token may join now.

        Raises:
            ConnectRefused: `session_not_found`, `invalid_token` or `session_ended`.
        """
        runtime = await self.hub.load(claims.session_id)
        if runtime is None:
            raise ConnectRefused("no such session", code="session_not_found")
        participant = runtime.record.participant(claims.participant_id)
        if participant is None or participant.role != claims.role:
            raise ConnectRefused("the join token is not valid", code="invalid_token")
        if runtime.ended:
            raise ConnectRefused("the session has ended", code="session_ended")
        return runtime, Role(participant.role)

    async def connected(self, runtime: SessionRuntime, conn: Connection) -> None:
        """Presence after a socket is admitted and live: the first connection logs
        `participant_joined`, and the first time a therapist and a client are both here the
        session starts. A join the store cannot log now is tried again while the socket stays:
        otherwise the log would show the participant away while they are here (no start, and
        no departure when they go)."""
        self.hub.register(runtime, conn)
        conn.counted = True
        await self.counts.add(runtime.id, conn.participant_id)
        self.metrics.connections.labels(conn.role.value).inc()
        try:
            await self._announce(runtime, conn)
        except StoreUnavailable:
            log.warning(
                "presence_join_not_logged",
                session_id=runtime.id,
                participant_id=conn.participant_id,
            )
            self._tasks.spawn(self._announce_until_logged(runtime, conn))

    async def _announce(self, runtime: SessionRuntime, conn: Connection) -> None:
        await self.engine.settled(runtime)
        if not runtime.state.connected.get(conn.participant_id):
            await self.log_presence(runtime, conn.participant_id, "widget", joined=True)
        if runtime.record.state is SessionStateName.OPEN and self._both_present(runtime):
            await self._start(runtime)

    async def _announce_until_logged(self, runtime: SessionRuntime, conn: Connection) -> None:
        delay = JOIN_RETRY_FIRST_S
        while True:
            await asyncio.sleep(delay)
            if not conn.counted or runtime.ended or self.draining:
                return  # the socket went (and logged no departure: see `disconnected`)
            try:
                await self._announce(runtime, conn)
            except StoreUnavailable:
                delay = min(delay * 2, JOIN_RETRY_MAX_S)
            else:
                log.info(
                    "presence_join_logged_late",
                    session_id=runtime.id,
                    participant_id=conn.participant_id,
                )
                return

    async def disconnected(self, conn: Connection) -> None:
        """A counted socket closed: the participant's last connection anywhere logs
        `participant_left` (not while the process drains, nor after the end)."""
        runtime = self.hub.unregister(conn)
        conn.counted = False
        self.metrics.connections.labels(conn.role.value).dec()
        remaining = await self.counts.remove(conn.session_id, conn.participant_id)
        if remaining > 0:
            return
        if runtime is None or runtime.ended or self.draining:
            return
        with contextlib.suppress(StoreUnavailable):
            await self.log_presence(runtime, conn.participant_id, "widget", joined=False)

    # -- the log -----------------------------------------------------------------------------

    async def log_presence(
        self,
        runtime: SessionRuntime,
        participant_id: str,
        via: Via,
        *,
        joined: bool,
        event_id: str | None = None,
    ) -> AppendResult | None:
        """Log `participant_joined` or `participant_left` for a participant of the session, by
        widget or platform; None for someone who is not a participant, or when the log already
        shows them so (a leave for a join that was never logged, say: the store could not)."""
        participant = runtime.record.participant(participant_id)
        if participant is None:
            return None
        await self.engine.settled(runtime)
        shown = runtime.state.connected if via == "widget" else runtime.state.on_platform
        if bool(shown.get(participant_id)) == joined:
            return None
        # Deterministic ids make a join or leave happen once even when two processes race.
        count = runtime.state.joins.get(f"{via}:{participant_id}", 0)
        kind = "participant_joined" if joined else "participant_left"
        event_id = event_id or f"{kind}:{via}:{participant_id}:{count + 1 if joined else count}"
        who = ParticipantRef(id=participant_id, role=Role(participant.role))
        body = PresenceData(participant=who, via=via)
        return await self.engine.append_system(runtime, kind, body, event_id=event_id)

    def _both_present(self, runtime: SessionRuntime) -> bool:
        """Does the log show a therapist and a client connected?

        The log's view, not this process's counts: a socket is counted before its
        `participant_joined` is stored, and a start decided in between is logged before that
        join, or without it if the process dies first; then the log shows a client who never
        joined, and the reaper of another process never logs them as left. Each join, once
        applied, asks again (`_after_applied`)."""
        connected = runtime.state.connected
        return any(connected.get(t) for t in runtime.state.therapist_ids) and any(
            connected.get(c) for c in runtime.state.client_ids
        )

    async def _start(self, runtime: SessionRuntime) -> None:
        # Its fixed id and the store's open-only rule make the start happen once.
        kind = "session_started"
        await self.engine.append_system(runtime, kind, EMPTY, event_id=kind)

    def _after_applied(self, runtime: SessionRuntime, event: Event) -> None:
        if event.type == "participant_left":
            body = event.body
            assert isinstance(body, PresenceData)
            if body.via == "widget" and self.counts.here(runtime.id, body.participant.id):
                # Back already: a socket of theirs came here before this leave (another
                # process's, or this one's a moment earlier) reached the state, so its
                # connect saw them present and logged no return. Log it now, or the log would
                # show them gone and a disconnection in distress would fire (contract §9.3).
                self._tasks.spawn(self._returned(runtime, body.participant.id))
        elif (
            event.type == "participant_joined"
            and runtime.record.state is SessionStateName.OPEN
            and self._both_present(runtime)
        ):
            # A join (this process's, or one another process logged) may complete the pair:
            # start the session here too (its fixed id and the store's open-only rule keep it
            # to one start).
            self._tasks.spawn(self._start_quietly(runtime))

    async def _returned(self, runtime: SessionRuntime, participant_id: str) -> None:
        await self.engine.settled(runtime)
        if (
            runtime.ended
            or self.draining
            or runtime.state.connected.get(participant_id)
            or not self.counts.here(runtime.id, participant_id)
        ):
            return
        with contextlib.suppress(StoreUnavailable):
            await self.log_presence(runtime, participant_id, "widget", joined=True)

    async def _start_quietly(self, runtime: SessionRuntime) -> None:
        with contextlib.suppress(StoreUnavailable):
            await self._start(runtime)

    # -- departures --------------------------------------------------------------------------

    def _departure(self, session_id: str, participant_id: str, process_id: str) -> None:
        self._tasks.spawn(self._depart(session_id, participant_id, process_id))

    async def _depart(self, session_id: str, participant_id: str, process_id: str) -> None:
        """The dead process's holding is dropped only once the leave is stored (or not owed): a
        leave the store cannot log now keeps it, and the reaper announces it again."""
        if await self.departed(session_id, participant_id):
            await self.counts.drop(session_id, participant_id, process_id)

    async def departed(self, session_id: str, participant_id: str) -> bool:
        """A participant whose connections were all held by processes that died is gone.
        False when the store could not log it (it is announced again).

        Decided on the session caught up with the store: the join may have come from the dead
        process, and its fan-out may not have reached this one (Redis pub/sub is at most once;
        the periodic catch-up may not have run yet)."""
        try:
            runtime = await self.hub.load(session_id)
            if runtime is None:
                return True
            await self.engine.caught_up(runtime)
            if runtime.ended or not runtime.state.connected.get(participant_id):
                return True
            await self.log_presence(runtime, participant_id, "widget", joined=False)
        except StoreUnavailable:
            log.warning(
                "presence_departure_not_logged",
                session_id=session_id,
                participant_id=participant_id,
            )
            return False
        return True

    async def _reap_after_restart(self) -> None:
        """Participants the log shows connected when this process started, who do not come
        back within the grace period, are logged as left (their process stopped or died)."""
        try:
            records = await self.store.list_sessions(("open", "live"))
        except StoreUnavailable:
            return
        suspects: list[tuple[str, str]] = []
        for record in records:
            runtime = await self.hub.load(record.id)
            if runtime is None:
                continue
            suspects += [(record.id, pid) for pid, on in runtime.state.connected.items() if on]
        if not suspects:
            return
        await asyncio.sleep(self.grace_seconds)
        for session_id, participant_id in suspects:
            if await self.counts.connected_anywhere(session_id, participant_id):
                continue
            runtime = await self.hub.load(session_id)
            if runtime is None or not runtime.state.connected.get(participant_id):
                continue
            with contextlib.suppress(StoreUnavailable):
                await self.log_presence(runtime, participant_id, "widget", joined=False)

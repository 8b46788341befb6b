"""The sessions this process serves: their folded state, their sockets, and in-order delivery.

Each loaded session has a `SessionRuntime`. Stored events reach it through `Hub.publish` (the
hub subscribes to the session log's `committed` feed; the cluster hands it other processes'
events); a per-session pump applies them to the state and sends each to the live sockets allowed
to see it, strictly in seq order, through the `PacketWriter`. A gap in the seqs is filled from
the store first, so no socket ever skips an event. A socket that connects is replayed what it
missed under the same lock, then joins the live set: nothing stored meanwhile is skipped or sent
twice. A therapist's packet is encoded once per event and shared; a client's is its own (its own
numbering, contract §9.1: `views.ClientNumbering`). After each event is applied, `applied`
announces it (presence, the socket protocol, pacing); `dropped` announces a session erased here or
elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from ..events import Event, Role
from ..feed import Feed
from ..metrics import Metrics
from ..session import SessionState, parse_time
from ..store.base import SessionLogStore, SessionRecord, SessionStateName

if TYPE_CHECKING:
    from ..views import ClientNumbering

RECENT_EVENTS = 64
"""Events a loaded session keeps for replay, with their idempotency keys; older ones are read
from the store. A short buffer keeps a session's memory flat as its log grows (issue 18's soak);
a reconnect after a short drop replays from memory."""
READ_PAGE = 1000
REPLAY_PAGE = 200


class PacketWriter(Protocol):
    """How packets reach sockets (`realtime.transport.SocketWriter`)."""

    def send_packet(self, eio_sid: str, packet: str) -> bool:
        """Send one encoded Socket.IO packet to one Engine.IO socket, without waiting; False if
        the socket is gone (or was closed for falling too far behind)."""

    async def writable(self, eio_sid: str) -> bool:
        """Wait until a socket has room for a page of replay; False if it stopped reading."""

    async def close(self, sid: str) -> None:
        """Close one Socket.IO connection for good."""


def event_packet(event: Event) -> str:
    """The Socket.IO EVENT packet for `event` as stored, encoded once and shared by every
    therapist."""
    return '2["event",' + event.wire.decode() + "]"


@dataclass(eq=False, slots=True)
class Connection:
    """One socket of one participant."""

    sid: str
    eio_sid: str
    session_id: str
    participant_id: str
    role: Role
    cursor: int = 0  # every seq up to here has been sent or skipped as invisible
    live: bool = False
    counted: bool = False  # presence counted this socket (see PresenceKeeper.connected)
    connected_at: float = field(default_factory=time.monotonic)


class SessionRuntime:
    """One loaded session: record, folded state, idempotency keys and local connections."""

    def __init__(self, record: SessionRecord, events: list[Event]) -> None:
        self.record = record
        participants = record.participants
        self.state = SessionState(
            client_ids=tuple(p.id for p in participants if p.role == Role.CLIENT.value),
            therapist_ids=tuple(p.id for p in participants if p.role == Role.THERAPIST.value),
        )
        self.head = 0
        # The idempotency keys of the events in `recent`; older ones are found by the store.
        self.ids: dict[tuple[str, str], int] = {}
        self.recent: deque[Event] = deque()
        self.connections: dict[str, Connection] = {}
        self.lock = asyncio.Lock()
        self.send_lock = asyncio.Lock()
        self.sends_in_flight = 0  # sends of this process not yet answered (SendPipeline.send)
        self.sends_answered = asyncio.Event()
        self._inbox: list[Event] = []
        self._pump: asyncio.Task[None] | None = None
        self.idle_since = time.monotonic()
        for event in events:
            self._apply(event)

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def ended(self) -> bool:
        return self.record.state is SessionStateName.ENDED

    def _apply(self, event: Event) -> None:
        self.state.apply(event)
        self.head = event.seq
        recent = self.recent
        if len(recent) == RECENT_EVENTS:
            oldest = recent.popleft()
            self.ids.pop((oldest.actor.id, oldest.id), None)
        self.ids[(event.actor.id, event.id)] = event.seq
        recent.append(event)
        record = self.record
        record.head_seq = event.seq
        if event.type == "session_started" and record.state is SessionStateName.OPEN:
            record.state = SessionStateName.LIVE
            record.started_at = parse_time(event.at)
        elif event.type == "session_ended":
            record.state = SessionStateName.ENDED
            record.ended_at = parse_time(event.at)


class Hub:
    """Loaded sessions of this process and the delivery of their events.

    Args:
        committed: the session log's feed of what each commit stored; the hub publishes it.
    """

    def __init__(
        self,
        store: SessionLogStore,
        writer: PacketWriter,
        metrics: Metrics,
        committed: Feed[[list[tuple[str, Event]]]],
        numbering: ClientNumbering,
    ) -> None:
        self.store = store
        self.writer = writer
        self.numbering = numbering
        self._send_packet = writer.send_packet
        self._delivered = metrics.delivered.inc
        self.runtimes: dict[str, SessionRuntime] = {}
        self._loading: dict[str, asyncio.Future[SessionRuntime | None]] = {}
        self.erased: set[str] = set()  # erased sessions are never loaded again
        self.applied: Feed[[SessionRuntime, Event]] = Feed("hub.applied")
        """Each event, once applied to its loaded session and sent to its live sockets."""
        self.dropped: Feed[[str]] = Feed("hub.dropped")
        """Each session dropped because it was erased (here or by another process)."""
        committed.subscribe(self.publish)

    # -- loading -----------------------------------------------------------------------------

    async def load(self, session_id: str) -> SessionRuntime | None:
        """The session's runtime, reading its log once if it is not loaded (single flight)."""
        runtime = self.runtimes.get(session_id)
        if runtime is not None:
            return runtime
        if session_id in self.erased:
            return None
        pending = self._loading.get(session_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[SessionRuntime | None] = asyncio.get_running_loop().create_future()
        self._loading[session_id] = future
        try:
            runtime = await self._read_runtime(session_id)
            if session_id in self.erased:
                runtime = None
            if runtime is not None:
                self.runtimes[session_id] = runtime
            future.set_result(runtime)
            return runtime
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved for waiters that went away
            raise
        finally:
            del self._loading[session_id]

    async def _read_runtime(self, session_id: str) -> SessionRuntime | None:
        record = await self.store.get_session(session_id)
        if record is None:
            return None
        events: list[Event] = []
        while True:
            page = await self.store.read_events(
                session_id, events[-1].seq if events else 0, READ_PAGE
            )
            events.extend(page)
            if len(page) < READ_PAGE:
                break
        return SessionRuntime(record, events)

    def forget(self, session_id: str) -> SessionRuntime | None:
        runtime = self.runtimes.pop(session_id, None)
        if runtime is not None and runtime._pump is not None:
            runtime._pump.cancel()
        return runtime

    async def drop(self, session_id: str) -> None:
        """An erased session (here or elsewhere): never loaded again, forgotten, announced on
        `dropped`, and its sockets closed for good."""
        self.erased.add(session_id)
        runtime = self.forget(session_id)
        self.dropped.emit(session_id)
        if runtime is not None:
            await self.close_connections(runtime)

    async def close_connections(self, runtime: SessionRuntime) -> None:
        """Close every socket of the session here, for good (it ended or was erased)."""
        for conn in list(runtime.connections.values()):
            with contextlib.suppress(Exception):
                await self.writer.close(conn.sid)

    def evict_idle(self, idle_seconds: float, ended_seconds: float) -> int:
        """Drop runtimes with no socket for `idle_seconds` (an ended session's: for
        `ended_seconds`, as it is rarely needed again); they are reloaded when needed."""
        now = time.monotonic()
        stale = [
            sid
            for sid, rt in self.runtimes.items()
            if not rt.connections
            and not rt._inbox
            and now - rt.idle_since > (ended_seconds if rt.ended else idle_seconds)
        ]
        for sid in stale:
            self.forget(sid)
        return len(stale)

    # -- delivery ----------------------------------------------------------------------------

    def publish(self, stored: list[tuple[str, Event]]) -> None:
        """Hand stored events (with their session ids) to loaded sessions; never blocks."""
        for session_id, event in stored:
            runtime = self.runtimes.get(session_id)
            if runtime is not None:
                self._publish_one(runtime, event)

    def _publish_one(self, runtime: SessionRuntime, event: Event) -> None:
        if not runtime._inbox and not runtime.lock.locked() and event.seq == runtime.head + 1:
            # The common case: the next event, nobody delivering or replaying. It goes out
            # right here, with no task to wait for (`_deliver_in_order` never waits).
            self._deliver_in_order(runtime, event)
            return
        runtime._inbox.append(event)
        if runtime._pump is None or runtime._pump.done():
            runtime._pump = asyncio.create_task(self._pump(runtime))

    async def _pump(self, runtime: SessionRuntime) -> None:
        async with runtime.lock:
            while runtime._inbox:
                events = sorted(runtime._inbox, key=lambda e: e.seq)
                runtime._inbox.clear()
                for event in events:
                    await self._deliver(runtime, event)

    async def catch_up(self, runtime: SessionRuntime, store_head: int) -> None:
        """Deliver what the store holds beyond what this process has seen (a lost fan-out)."""
        if store_head <= runtime.head:
            return
        async with runtime.lock:
            await self._fill_gap(runtime, store_head + 1)

    async def _fill_gap(self, runtime: SessionRuntime, before_seq: int) -> None:
        while runtime.head + 1 < before_seq:
            missing = await self.store.read_events(
                runtime.id, runtime.head, min(READ_PAGE, before_seq - runtime.head - 1)
            )
            if not missing:
                return
            for event in missing:
                self._deliver_in_order(runtime, event)

    async def _deliver(self, runtime: SessionRuntime, event: Event) -> None:
        if event.seq <= runtime.head:
            return
        if event.seq > runtime.head + 1:
            await self._fill_gap(runtime, event.seq)
        self._deliver_in_order(runtime, event)

    def _deliver_in_order(self, runtime: SessionRuntime, event: Event) -> None:
        if event.seq != runtime.head + 1:
            return
        runtime._apply(event)
        seq = event.seq
        packet: str | None = None  # the therapists'
        own: dict[str, str | None] = {}  # each client's, None if it may not see the event
        for conn in list(runtime.connections.values()):
            if not conn.live or seq <= conn.cursor:
                continue
            conn.cursor = seq
            if conn.role is Role.THERAPIST:
                packet = packet or event_packet(event)
                sent = self._send_packet(conn.eio_sid, packet)
            else:
                client = conn.participant_id
                if client in own:
                    client_packet = own[client]
                else:
                    client_packet = own[client] = self._client_packet(runtime, client, event)
                sent = client_packet is not None and self._send_packet(conn.eio_sid, client_packet)
            if sent:
                self._delivered()
        self.applied.emit(runtime, event)

    def _client_packet(self, runtime: SessionRuntime, client_id: str, event: Event) -> str | None:
        """The client's packet of an applied event; None if it may not see it."""
        stream = runtime.state.streams.get(client_id)
        position = stream.position(event.seq) if stream is not None else None
        if position is None:
            return None
        return self.numbering.event_packet(runtime, client_id, event, position)

    # -- connections -------------------------------------------------------------------------

    async def attach(
        self,
        runtime: SessionRuntime,
        conn: Connection,
        last_seq: int,
        welcome: Callable[[SessionRuntime], Awaitable[None]],
    ) -> None:
        """Send the welcome, replay what `conn` missed after `last_seq`, then make it live.

        A long replay is sent outside the session's lock, a page at a time, waiting for the
        socket to drain between pages (others in the session are not held up, and the socket's
        bounded queue is never overrun by its own replay); the last stretch and the switch to
        live happen under the lock, so nothing stored meanwhile is skipped or doubled.
        """
        async with runtime.lock:
            await welcome(runtime)
            conn.cursor = last_seq
        while runtime.head - conn.cursor > RECENT_EVENTS:
            page = await self.store.read_events(runtime.id, conn.cursor, REPLAY_PAGE)
            if not page:
                break
            if not await self._send_page(runtime, conn, page):
                return  # the socket stopped reading; it is being closed and will come back
        async with runtime.lock:
            await self._replay(runtime, conn)
            conn.live = True

    async def _send_page(
        self, runtime: SessionRuntime, conn: Connection, page: list[Event]
    ) -> bool:
        for event in page:
            if event.seq <= conn.cursor:
                continue
            if event.seq > runtime.head:
                break  # not applied here yet (a client's position is not known): sent live
            if conn.role is Role.THERAPIST:
                packet: str | None = event_packet(event)
            else:
                packet = self._client_packet(runtime, conn.participant_id, event)
            if packet is not None:
                if not await self.writer.writable(conn.eio_sid):
                    return False
                self._send_packet(conn.eio_sid, packet)
            conn.cursor = event.seq
        return True

    async def _replay(self, runtime: SessionRuntime, conn: Connection) -> None:
        while conn.cursor < runtime.head:
            oldest_cached = runtime.recent[0].seq if runtime.recent else runtime.head + 1
            if conn.cursor + 1 >= oldest_cached:
                page = [e for e in runtime.recent if conn.cursor < e.seq <= runtime.head]
            else:
                page = await self.store.read_events(
                    runtime.id, conn.cursor, min(REPLAY_PAGE, oldest_cached - conn.cursor - 1)
                )
                if not page:
                    break
            if not await self._send_page(runtime, conn, page):
                break
        conn.cursor = runtime.head

    def register(self, runtime: SessionRuntime, conn: Connection) -> None:
        runtime.connections[conn.sid] = conn

    def unregister(self, conn: Connection) -> SessionRuntime | None:
        runtime = self.runtimes.get(conn.session_id)
        if runtime is not None:
            runtime.connections.pop(conn.sid, None)
            if not runtime.connections:
                runtime.idle_since = time.monotonic()
        return runtime

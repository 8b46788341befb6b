"""The session engine: what the REST API, the sockets and the platform webhooks ask of a session.

It owns the writer (`SessionLog`), the loaded sessions (`Hub`) and presence, and turns each
request into appends to the durable log. Handlers stay thin; the rules of the contract live here
and in `session.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import structlog

from .aio import wait_event
from .api_models import CreateSessionRequest
from .cues import resolve_cues
from .errors import (
    ConnectRefused,
    ParticipantNotFound,
    SendError,
    SessionEnded,
    SessionNotFound,
    StoreUnavailable,
)
from .events import SYSTEM_ACTOR, Actor, Event, Role, parse_send
from .log import SessionLog
from .metrics import Metrics
from .realtime.hub import Connection, Hub, SessionRuntime, Transport, Writable
from .realtime.presence import LocalPresence, Presence
from .store.base import (
    AppendOutcome,
    AppendRequest,
    AppendResult,
    ParticipantRecord,
    SessionRecord,
    SessionStateName,
    Store,
    rfc3339,
    utc_now,
)
from .tenants import Tenant
from .tokens import JoinClaims, TokenIssuer

if TYPE_CHECKING:
    from integrations.base import PlatformEvent

    from .audit import AuditTrail

log = structlog.get_logger(__name__)

STATEFUL_SENDS = frozenset({"acknowledge", "retract", "checkin_response"})
IDLE_EVICT_SECONDS = 300.0
SEND_ANSWER_WAIT_S = 5.0  # how long closing an ended session's sockets waits for sends' acks


class TokenBucket:
    """Per-participant send allowance: `rate` a second, bursts of `burst`."""

    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.stamp = float(burst), time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def new_session_id() -> str:
    return "ses_" + secrets.token_urlsafe(16)


class SessionEngine:
    """One process's view of every session it serves."""

    def __init__(
        self,
        store: Store,
        tokens: TokenIssuer,
        metrics: Metrics,
        transport: Transport,
        writable: Writable | None = None,
        *,
        send_rate: float = 10.0,
        send_burst: int = 20,
        presence_grace_seconds: float = 30.0,
        catchup_interval_seconds: float = 2.0,
    ) -> None:
        self.store = store
        self.tokens = tokens
        self.metrics = metrics
        self.hub = Hub(store, transport, writable) if writable else Hub(store, transport)
        self.hub.on_delivered = metrics.delivered.inc
        self.log = SessionLog(store, self._on_stored, self._observe_commit)
        self.send_rate, self.send_burst = send_rate, send_burst
        self.presence_grace_seconds = presence_grace_seconds
        self.catchup_interval_seconds = catchup_interval_seconds
        self.presence: Presence = LocalPresence()
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._tasks: list[asyncio.Task[None]] = []
        # While stopping, sockets closing are not departures: the grace rule decides later.
        self.stopping = False
        # Set by the socket layer: closes one socket (after what was queued to it is sent).
        self.close_socket: Callable[[str], Awaitable[None]] | None = None
        # Called for every stored event after this process's commit (pacing, vendor webhooks).
        self.stored_listeners: list[Callable[[str, Event], None]] = []
        # Called once per commit with all its stored events (the cross-process fan-out).
        self.batch_listeners: list[Callable[[list[tuple[str, Event]]], None]] = []
        # The audit trail (set by the app): token mints, connections, erasures.
        self.audit: AuditTrail | None = None
        # Set in a Redis deployment: answers whether Redis is reachable (for /readyz).
        self.redis_check: Callable[[], Awaitable[bool]] | None = None
        # Called after a session is erased here (to tell the other processes).
        self.erase_listeners: list[Callable[[str], Awaitable[None]]] = []
        self.hub.observers.append(self._after_delivery)

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        await self.log.start()
        self._tasks.append(asyncio.create_task(self._housekeeping(), name="engine-housekeeping"))
        self._tasks.append(asyncio.create_task(self._reap_after_restart(), name="presence-reaper"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        await self.log.stop()

    def _on_stored(self, stored: list[tuple[str, Event]]) -> None:
        self.hub.publish(stored)
        for batch_listener in self.batch_listeners:
            batch_listener(stored)
        for session_id, event in stored:
            for listener in self.stored_listeners:
                listener(session_id, event)

    async def _housekeeping(self) -> None:
        """Catch up sessions whose live fan-out lost events; evict idle ones."""
        while True:
            await asyncio.sleep(self.catchup_interval_seconds)
            try:
                await self.catch_up_all()
                self.hub.evict_idle(IDLE_EVICT_SECONDS)
                self.metrics.sessions_loaded.set(len(self.hub.runtimes))
            except StoreUnavailable:
                pass
            except Exception:
                log.exception("housekeeping_failed")

    async def catch_up_all(self) -> None:
        """Deliver what the store holds beyond what this process has seen; drop sessions that
        were erased elsewhere."""
        served = [sid for sid, rt in self.hub.runtimes.items() if rt.connections]
        for start in range(0, len(served), 500):
            chunk = served[start : start + 500]
            heads = await self.store.head_seqs(chunk)
            for session_id in chunk:
                runtime = self.hub.runtimes.get(session_id)
                if runtime is None:
                    continue
                head = heads.get(session_id)
                if head is None:
                    await self.forget_erased(session_id)
                elif head > runtime.head:
                    await self.hub.catch_up(runtime, head)

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
        await asyncio.sleep(self.presence_grace_seconds)
        for session_id, participant_id in suspects:
            if await self.presence.connected_anywhere(session_id, participant_id):
                continue
            runtime = await self.hub.load(session_id)
            if runtime is None or not runtime.state.connected.get(participant_id):
                continue
            with contextlib.suppress(StoreUnavailable):
                await self._log_presence(runtime, participant_id, "widget", joined=False)

    # -- sessions (REST) ---------------------------------------------------------------------

    async def create_session(
        self, tenant_id: str, body: CreateSessionRequest, tenant: Tenant | None = None
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Create a session and a join token for each participant.

        Raises:
            Conflict: a not-ended session of this tenant has the same platform and external_id.
            InvalidBody: the cue settings do not validate over the tenant's defaults.
        """
        cues = resolve_cues(
            tenant.cues if tenant else {}, body.settings.cues.model_dump(exclude_unset=True)
        )
        record = SessionRecord(
            id=new_session_id(),
            tenant_id=tenant_id,
            platform=body.platform,
            external_id=body.external_id,
            state=SessionStateName.OPEN,
            created_at=utc_now(),
            scheduled_minutes=body.scheduled_minutes,
            participants=tuple(
                ParticipantRecord(p.id, p.role, p.display_name, p.platform_ref)
                for p in body.participants
            ),
            settings={"cues": cues.model_dump()},
            epoch=secrets.token_hex(8),
        )
        await self.store.create_session(record)
        tokens = {p.id: self.tokens.mint(record.id, p.id, p.role) for p in record.participants}
        self._audit(
            f"tenant:{tenant_id}", "token.mint", tenant_id, record.id, participants=len(tokens)
        )
        log.info(
            "session_created",
            session_id=record.id,
            tenant=tenant_id,
            platform=record.platform,
            participants=len(record.participants),
        )
        runtime = await self.hub.load(record.id)
        assert runtime is not None
        return self.session_view(runtime), tokens

    async def runtime_for(self, tenant_id: str, session_id: str) -> SessionRuntime:
        """The tenant's session, loaded. Raises `SessionNotFound` for another tenant's."""
        runtime = await self.hub.load(session_id)
        if runtime is None or runtime.record.tenant_id != tenant_id:
            raise SessionNotFound("no such session")
        return runtime

    def session_view(
        self, runtime: SessionRuntime, for_client: str | None = None
    ) -> dict[str, Any]:
        """The contract's `Session`; a client sees only the therapists and itself."""
        record = runtime.record
        participants = [
            {
                "id": p.id,
                "role": p.role,
                "display_name": p.display_name,
                "connected": bool(runtime.state.connected.get(p.id)),
            }
            for p in record.participants
            if for_client is None or p.role == Role.THERAPIST.value or p.id == for_client
        ]
        return {
            "id": record.id,
            "platform": record.platform,
            "external_id": record.external_id,
            "state": record.state.value,
            "created_at": rfc3339(record.created_at),
            "started_at": rfc3339(record.started_at) if record.started_at else None,
            "ended_at": rfc3339(record.ended_at) if record.ended_at else None,
            "scheduled_minutes": record.scheduled_minutes,
            "participants": participants,
            "head_seq": runtime.head,
            "epoch": record.epoch,
        }

    async def mint_token(self, tenant_id: str, session_id: str, participant_id: str) -> str:
        runtime = await self.runtime_for(tenant_id, session_id)
        participant = runtime.record.participant(participant_id)
        if participant is None:
            raise ParticipantNotFound("no such participant in this session")
        if runtime.ended:
            raise SessionEnded("the session has ended")
        log.info("token_minted", session_id=session_id, participant_id=participant_id)
        self._audit(
            f"tenant:{tenant_id}",
            "token.mint",
            tenant_id,
            session_id,
            participant_id=participant_id,
        )
        return self.tokens.mint(session_id, participant_id, participant.role)

    async def end_session(self, runtime: SessionRuntime, by: str) -> None:
        """Log `session_ended` once; sockets get it, then are disconnected."""
        if runtime.ended:
            return
        await self.append_system(runtime, "session_ended", {"by": by}, event_id="session_ended")
        await self._settled(runtime)

    async def erase_session(self, tenant_id: str, session_id: str) -> None:
        """Erase a session everywhere: store first, then this process's memory and sockets."""
        runtime = await self.runtime_for(tenant_id, session_id)
        self.hub.erased.add(session_id)  # nothing may load it again while it is erased
        await self.store.erase_session(session_id)
        self._audit(f"tenant:{tenant_id}", "session.erase", tenant_id, session_id)
        self.hub.forget(session_id)
        self.presence.forget_session(session_id)
        for key in [k for k in self._buckets if k[0] == session_id]:
            del self._buckets[key]
        await self._close_connections(runtime)
        for listener in self.erase_listeners:
            await listener(session_id)
        log.info("session_erased", session_id=session_id)

    def _audit(
        self, actor: str, action: str, tenant_id: str | None, session_id: str | None, **detail: Any
    ) -> None:
        if self.audit is not None:
            self.audit.record(
                actor, action, "ok", tenant_id=tenant_id, session_id=session_id, **detail
            )

    async def forget_erased(self, session_id: str) -> None:
        """Another process erased this session: drop it and its sockets here."""
        self.hub.erased.add(session_id)
        runtime = self.hub.forget(session_id)
        self.presence.forget_session(session_id)
        if runtime is not None:
            await self._close_connections(runtime)

    async def _close_connections(self, runtime: SessionRuntime) -> None:
        for conn in list(runtime.connections.values()):
            if self.close_socket is not None:
                with contextlib.suppress(Exception):
                    await self.close_socket(conn.sid)

    async def departed(self, session_id: str, participant_id: str) -> None:
        """A participant whose connections were all held by processes that died is gone."""
        runtime = await self.hub.load(session_id)
        if runtime is None or runtime.ended or not runtime.state.connected.get(participant_id):
            return
        with contextlib.suppress(StoreUnavailable):
            await self._log_presence(runtime, participant_id, "widget", joined=False)

    async def _settled(self, runtime: SessionRuntime) -> None:
        """Wait until this process has delivered everything it has stored for the session."""
        async with runtime.lock:
            pass
        while runtime._inbox:
            await asyncio.sleep(0)
            async with runtime.lock:
                pass

    # -- appends -----------------------------------------------------------------------------

    def _observe_commit(self, size: int, seconds: float) -> None:
        self.metrics.append_batch_size.observe(size)
        self.metrics.append_seconds.observe(seconds)

    async def append(self, runtime: SessionRuntime, request: AppendRequest) -> AppendResult:
        """Every append of this process goes through here; each stored event is logged once, at
        debug level: the session log is the record, and at the default level the service's own
        log does not mirror every client's signals (counts are in the metrics)."""
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
        data: dict[str, Any],
        *,
        event_id: str | None = None,
        to: tuple[str, ...] | None = None,
    ) -> AppendResult:
        """Log a system event; a deterministic `event_id` makes it happen once per deployment."""
        request = AppendRequest(
            session_id=runtime.id,
            actor=SYSTEM_ACTOR,
            type=kind,
            event_id=event_id or f"{kind}:{secrets.token_hex(8)}",
            data=data,
            to=to,
        )
        return await self.append(runtime, request)

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

    def welcome(self, runtime: SessionRuntime, conn: Connection) -> dict[str, Any]:
        client = conn.participant_id if conn.role is Role.CLIENT else None
        return {
            "session": self.session_view(runtime, for_client=client),
            "participant": {"id": conn.participant_id, "role": conn.role.value},
            "epoch": runtime.record.epoch,
            "head_seq": runtime.head,
            "state": runtime.state.wire_state(client),
        }

    async def connected(self, runtime: SessionRuntime, conn: Connection) -> None:
        """Presence after a socket is admitted: the first connection logs `participant_joined`,
        and the first time a therapist and a client are both here the session starts."""
        self.hub.register(runtime, conn)
        conn.counted = True
        await self.presence.add(runtime.id, conn.participant_id)
        self.metrics.connections.labels(conn.role.value).inc()
        await self._settled(runtime)
        if not runtime.state.connected.get(conn.participant_id):
            await self._log_presence(runtime, conn.participant_id, "widget", joined=True)
        if runtime.record.state is SessionStateName.OPEN and self._both_present(runtime):
            await self.append_system(runtime, "session_started", {}, event_id="session_started")

    def _both_present(self, runtime: SessionRuntime) -> bool:
        def here(pid: str) -> bool:
            return self.presence.here(runtime.id, pid) or bool(runtime.state.connected.get(pid))

        return any(here(t) for t in runtime.state.therapist_ids) and any(
            here(c) for c in runtime.state.client_ids
        )

    async def disconnected(self, conn: Connection) -> None:
        runtime = self.hub.unregister(conn)
        self.metrics.connections.labels(conn.role.value).dec()
        remaining = await self.presence.remove(conn.session_id, conn.participant_id)
        if remaining > 0:
            return
        if runtime is None or runtime.ended or self.stopping:
            return
        with contextlib.suppress(StoreUnavailable):
            await self._log_presence(runtime, conn.participant_id, "widget", joined=False)

    async def _log_presence(
        self,
        runtime: SessionRuntime,
        participant_id: str,
        via: str,
        *,
        joined: bool,
        event_id: str | None = None,
    ) -> AppendResult | None:
        participant = runtime.record.participant(participant_id)
        if participant is None:
            return None
        await self._settled(runtime)
        # Deterministic ids make a join or leave happen once even when two processes race.
        count = runtime.state.joins.get(f"{via}:{participant_id}", 0)
        kind = "participant_joined" if joined else "participant_left"
        event_id = event_id or f"{kind}:{via}:{participant_id}:{count + 1 if joined else count}"
        return await self.append_system(
            runtime,
            kind,
            {"participant": {"id": participant_id, "role": participant.role}, "via": via},
            event_id=event_id,
        )

    async def send(self, conn: Connection, payload: object) -> dict[str, Any]:
        """Handle one `send` and return its ack.

        Raises:
            SendError: the send was refused (nothing stored).
            StoreUnavailable: the store could not commit (nothing stored; send again).
        """
        runtime = self.hub.runtimes.get(conn.session_id) or await self.hub.load(conn.session_id)
        if runtime is None:
            raise SendError("the session no longer exists", code="not_found")
        runtime.sends_in_flight += 1
        try:
            return await self._send(runtime, conn, payload)
        finally:
            # The socket layer queues the ack as soon as this returns, without waiting, so
            # whoever waits on `sends_answered` acts after the ack is on its way.
            runtime.sends_in_flight -= 1
            if not runtime.sends_in_flight:
                runtime.sends_answered.set()

    async def _send(
        self, runtime: SessionRuntime, conn: Connection, payload: object
    ) -> dict[str, Any]:
        event_id = payload.get("id") if isinstance(payload, dict) else None
        if isinstance(event_id, str) and 1 <= len(event_id) <= 128:
            first = runtime.ids.get((conn.participant_id, event_id))
            if first is not None:
                return {"ok": True, "seq": first, "duplicate": True}
        try:
            return await self._send_new(runtime, conn, payload)
        except SendError:
            # A resend of an id stored by another process answers the first seq, not an error.
            if isinstance(event_id, str) and 1 <= len(event_id) <= 128:
                first = await self.store.find_duplicate(runtime.id, conn.participant_id, event_id)
                if first is not None:
                    return {"ok": True, "seq": first, "duplicate": True}
            raise

    async def _send_new(
        self, runtime: SessionRuntime, conn: Connection, payload: object
    ) -> dict[str, Any]:
        send = parse_send(payload, conn.role)
        bucket_key = (runtime.id, conn.participant_id)
        bucket = self._buckets.get(bucket_key)
        if bucket is None:
            bucket = self._buckets[bucket_key] = TokenBucket(self.send_rate, self.send_burst)
        if not bucket.take():
            raise SendError("sending too fast; wait a moment", code="rate_limited")
        if runtime.ended:
            raise SendError("the session has ended", code="session_ended")
        if send.type in STATEFUL_SENDS:
            async with runtime.send_lock:
                runtime.state.check_send(conn.participant_id, conn.role, send, datetime.now(UTC))
                result = await self._append_send(runtime, conn, send)
                await self._settled(runtime)
        else:
            runtime.state.check_send(conn.participant_id, conn.role, send, datetime.now(UTC))
            result = await self._append_send(runtime, conn, send)
        if send.type == "end_session" and result.outcome is AppendOutcome.STORED:
            await self.end_session(runtime, by="therapist")
        return {
            "ok": True,
            "seq": result.seq,
            "duplicate": result.outcome is AppendOutcome.DUPLICATE,
        }

    async def _append_send(
        self, runtime: SessionRuntime, conn: Connection, send: Any
    ) -> AppendResult:
        data = send.data.model_dump(mode="json", exclude_none=True)
        to: tuple[str, ...] | None = None
        if conn.role is Role.THERAPIST:
            if send.type == "acknowledge":
                to = (runtime.state.signals[send.data.seq].client_id,)
            elif data.get("to"):
                to = tuple(data["to"])
        request = AppendRequest(
            session_id=runtime.id,
            actor=Actor(conn.participant_id, conn.role),
            type=send.type,
            event_id=send.id,
            data=data,
            to=to,
        )
        result = await self.append(runtime, request)
        if result.outcome is AppendOutcome.ENDED:
            raise SendError("the session has ended", code="session_ended")
        if result.outcome is AppendOutcome.MISSING:
            raise SendError("the session no longer exists", code="not_found")
        return result

    def _after_delivery(self, runtime: SessionRuntime, event: Event) -> None:
        if event.type == "session_ended":
            asyncio.get_running_loop().create_task(self._close_all(runtime))
        elif (
            event.type == "participant_joined"
            and runtime.record.state is SessionStateName.OPEN
            and self._both_present(runtime)
        ):
            # A join logged by another process may complete the pair: start the session here
            # too (its fixed id and the store's open-only rule keep it to one start).
            task = asyncio.get_running_loop().create_task(self._start_session(runtime))
            task.add_done_callback(lambda t: t.cancelled() or t.exception())

    async def _start_session(self, runtime: SessionRuntime) -> None:
        with contextlib.suppress(StoreUnavailable):
            await self.append_system(runtime, "session_started", {}, event_id="session_started")

    async def _close_all(self, runtime: SessionRuntime) -> None:
        # The send that ended the session (and any other in flight) is answered first: its ack
        # would be lost on a socket closed before it.
        while runtime.sends_in_flight:
            runtime.sends_answered.clear()
            if not await wait_event(runtime.sends_answered, SEND_ANSWER_WAIT_S):
                break
        await self._close_connections(runtime)

    # -- REST reads --------------------------------------------------------------------------

    async def events(
        self, tenant_id: str, session_id: str, after: int, limit: int
    ) -> dict[str, Any]:
        runtime = await self.runtime_for(tenant_id, session_id)
        events = await self.store.read_events(session_id, after, limit)
        return {
            "events": [e.as_dict() for e in events],
            "head_seq": runtime.head,
            "epoch": runtime.record.epoch,
        }

    # -- platforms ---------------------------------------------------------------------------

    async def apply_platform_event(
        self, tenant_id: str, platform: str, event: PlatformEvent
    ) -> str:
        """Log a platform's join, leave or end for the tenant's matching session.

        The delivery is recorded only after it has been applied, and the event it logs has an id
        derived from the delivery, so a delivery is applied once even when the process dies
        half-way or the platform repeats it.

        Returns "applied", "duplicate" or "ignored" (no matching session or participant, or
        nothing to change).
        """
        record = await self.store.find_session(tenant_id, platform, event.meeting_key)
        if record is None:
            return "ignored"
        kind = str(event.kind)
        digest = hashlib.sha256(f"{platform}:{event.delivery_key}".encode()).hexdigest()[:40]
        event_id = "session_ended" if kind == "session_ended" else f"{kind}:platform:{digest}"
        if (
            kind != "session_ended"
            and await self.store.find_duplicate(record.id, SYSTEM_ACTOR.id, event_id) is not None
        ):
            return "duplicate"
        outcome = await self._apply_platform(record.id, kind, event, event_id)
        first = await self.store.claim_webhook_delivery(
            tenant_id, platform, event.delivery_key, record.id
        )
        return outcome if first or outcome == "applied" else "duplicate"

    async def _apply_platform(
        self, session_id: str, kind: str, event: PlatformEvent, event_id: str
    ) -> str:
        runtime = await self.hub.load(session_id)
        if runtime is None or runtime.ended:
            return "ignored"
        if kind == "session_ended":
            await self.end_session(runtime, by="platform")
            return "applied"
        participant = next(
            (
                p
                for p in runtime.record.participants
                if p.platform_ref and p.platform_ref == event.participant_ref
            ),
            None,
        )
        if participant is None:
            return "ignored"
        joined = kind == "participant_joined"
        await self._settled(runtime)
        if bool(runtime.state.on_platform.get(participant.id)) == joined:
            return "ignored"
        result = await self._log_presence(
            runtime, participant.id, "platform", joined=joined, event_id=event_id
        )
        return "applied" if result and result.outcome is AppendOutcome.STORED else "duplicate"

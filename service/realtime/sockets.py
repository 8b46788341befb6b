"""Socket.IO handlers: connect (token, welcome, replay), `send` with its ack, disconnect.

Every error the sockets answer (a refused connect, a refused send, an unknown event, a send
without a connection) is made in one place, `socket_error`; anything unexpected is answered
`internal` and logged with its traceback.
"""

from __future__ import annotations

from typing import Any

import socketio
import structlog

from ..aio import BackgroundTasks, wait_event
from ..audit import AuditTrail
from ..errors import ComfortError, ConnectRefused, SendError, ServiceBusy, StoreUnavailable
from ..events import SENDABLE_TYPES, Event
from ..looplag import LoopLag
from ..metrics import Metrics
from ..tokens import TokenIssuer
from ..views import ClientNumbering, ErrorAck, ErrorDetail, welcome_view
from .boundary import PendingSockets, RefusedPacket, socket_address
from .hub import Connection, Hub, SessionRuntime
from .presence import PresenceKeeper
from .sends import SendPipeline
from .transport import SocketWriter

log = structlog.get_logger(__name__)

SEND_ANSWER_WAIT_S = 5.0  # how long closing an ended session's sockets waits for sends' acks


def _last_seq(auth: dict[str, Any]) -> int:
    value = auth.get("last_seq", 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return 0
    return value


class SocketHandlers:
    """The contract's Socket.IO protocol (§3): admits sockets, sends each its welcome and what
    it missed, answers `send`s, and closes a session's sockets once it has ended."""

    def __init__(
        self,
        sio: socketio.AsyncServer,
        writer: SocketWriter,
        tokens: TokenIssuer,
        hub: Hub,
        presence: PresenceKeeper,
        sends: SendPipeline,
        audit: AuditTrail,
        metrics: Metrics,
        pending: PendingSockets,
        lag: LoopLag,
        *,
        max_per_participant: int = 5,
    ) -> None:
        self.sio = sio
        self.writer = writer
        self.tokens = tokens
        self.hub = hub
        self.presence = presence
        self.sends = sends
        self.audit = audit
        self.metrics = metrics
        self.pending = pending
        self.lag = lag
        self.max_per_participant = max_per_participant
        self.connections: dict[str, Connection] = {}
        self._held: dict[tuple[str, str], int] = {}  # (session, participant) -> connections
        self._addresses: dict[str, str | None] = {}
        self._tasks = BackgroundTasks("socket_task")
        sio.on("connect", self.on_connect)
        sio.on("disconnect", self.on_disconnect)
        sio.on("send", self.on_send)
        sio.on("*", self.on_unknown)
        hub.applied.subscribe(self._close_when_ended)

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        address = socket_address(environ)
        eio_sid = self.sio.manager.eio_sid_from_sid(sid, "/")
        self.pending.connect_received(eio_sid)
        try:
            conn = await self._admit(sid, eio_sid, auth)
        except Exception as exc:
            self.pending.refused(eio_sid)
            error = socket_error(exc, sending=False)
            self.metrics.connects.labels(error.code).inc()
            if not isinstance(exc, ServiceBusy):  # (counted by LoopLag, logged once it ends)
                log.info("connect_refused", code=error.code)
            # Refused before anyone was admitted: counted, never a row per attempt.
            self.audit.refused("socket.connect", error.code, reason=error.code, address=address)
            refused = socketio.exceptions.ConnectionRefusedError(error.message)
            detail: dict[str, Any] = error.model_dump()
            if isinstance(exc, ServiceBusy):  # an addition: docs/protocol.md
                detail["retry_after_s"] = exc.retry_after_s
            refused.error_args = {**detail, "data": detail}  # contract §3: connect_error
            raise refused from None
        self._addresses[sid] = address
        self._audit_socket(conn, "socket.connect")

    def _audit_socket(self, conn: Connection, action: str) -> None:
        runtime = self.hub.runtimes.get(conn.session_id)
        self.audit.record(
            f"participant:{conn.participant_id}",
            action,
            "ok",
            tenant_id=runtime.record.tenant_id if runtime else None,
            session_id=conn.session_id,
            address=self._addresses.get(conn.sid),
            role=conn.role.value,
        )

    async def _admit(self, sid: str, eio_sid: str, auth: Any) -> Connection:
        if self.lag.busy:  # refused before anything costly: the token, the store, the replay
            raise ServiceBusy(self.lag.refuse())
        if not isinstance(auth, dict):
            raise ConnectRefused("auth with a join token is required", code="invalid_token")
        claims = self.tokens.verify(auth.get("token"))
        try:
            runtime, role = await self.presence.admit(claims)
        except StoreUnavailable:
            raise ConnectRefused(
                "the service cannot reach its store; try again", code="internal"
            ) from None
        held = (runtime.id, claims.participant_id)
        if self._held.get(held, 0) >= self.max_per_participant:
            raise ConnectRefused(
                f"at most {self.max_per_participant} connections per participant",
                code="too_many_connections",
            )
        self._held[held] = self._held.get(held, 0) + 1
        self.pending.connected(eio_sid)
        conn = Connection(sid, eio_sid, runtime.id, claims.participant_id, role)
        epoch = auth.get("epoch")
        last_seq = 0
        if epoch is None or epoch == runtime.record.epoch:
            last_seq = ClientNumbering.last_seq(runtime, conn, _last_seq(auth))
        self.connections[sid] = conn
        self.metrics.connects.labels("ok").inc()
        log.info(
            "socket_connected",
            session_id=runtime.id,
            participant_id=conn.participant_id,
            role=role.value,
            last_seq=last_seq,
        )
        # The welcome must follow the CONNECT packet, which is sent when this handler returns.
        self._tasks.spawn(self._start(conn, last_seq))
        return conn

    async def _start(self, conn: Connection, last_seq: int) -> None:
        hub = self.hub
        runtime = hub.runtimes.get(conn.session_id) or await hub.load(conn.session_id)
        if runtime is None or conn.sid not in self.connections:
            return
        hub.register(runtime, conn)

        async def send_welcome(rt: SessionRuntime) -> None:
            welcome = welcome_view(rt, conn).model_dump(mode="json")
            await self.sio.emit("welcome", welcome, to=conn.sid)

        await hub.attach(runtime, conn, last_seq, send_welcome)
        if conn.sid in self.connections:
            await self.presence.connected(runtime, conn)
        else:
            hub.unregister(conn)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        conn = self.connections.pop(sid, None)
        if conn is None:
            return
        held = (conn.session_id, conn.participant_id)
        if self._held.get(held, 0) > 1:
            self._held[held] -= 1
        else:
            self._held.pop(held, None)
        log.info(
            "socket_disconnected", session_id=conn.session_id, participant_id=conn.participant_id
        )
        self._audit_socket(conn, "socket.disconnect")
        self._addresses.pop(sid, None)
        if conn.counted:
            await self.presence.disconnected(conn)
        else:
            self.hub.unregister(conn)

    async def on_send(self, sid: str, *args: Any) -> dict[str, Any]:
        conn = self.connections.get(sid)
        payload = args[0] if args else None
        kind = payload.get("type") if isinstance(payload, dict) else None
        label = kind if isinstance(kind, str) and len(kind) <= 32 else "invalid"
        if conn is None:
            log.warning("send_without_connection", known=self.sio.manager.is_connected(sid, "/"))
            return error_ack(SendError("not connected", code="forbidden"))
        try:
            ack = await self.sends.send(conn, payload)
        except Exception as exc:
            error = socket_error(exc, conn.session_id)
            outcome = error.code
            answer = ErrorAck(error=error).model_dump()
        else:
            outcome = "duplicate" if ack.duplicate else "ok"
            answer = ack.model_dump()
        self.metrics.sends.labels(label if label in SENDABLE_TYPES else "other", outcome).inc()
        return answer

    async def on_unknown(self, event: object, sid: str, *args: Any) -> dict[str, Any]:
        """Any event but `send`, and every packet the decoding boundary refused
        (`boundary.CheckedPacket`): answered when its ack id could be read, otherwise its
        connection is closed (contract §9.5: nothing goes unanswered)."""
        if not isinstance(event, RefusedPacket):
            return error_ack(SendError("unknown socket event; use send", code="unknown_type"))
        conn = self.connections.get(sid)
        code = event.error.code
        self.metrics.sends.labels("other", code).inc()
        log.info(
            "socket_packet_refused",
            session_id=conn.session_id if conn else None,
            code=code,
            answered=event.answerable,
        )
        if not event.answerable:
            eio_sid = self.sio.manager.eio_sid_from_sid(sid, "/")
            if eio_sid is not None:
                self.writer.drop(eio_sid)
        return error_ack(event.error)

    async def drain(self) -> None:
        """SIGTERM: every socket is told to reconnect elsewhere, without its departure being
        logged (the grace rule decides if it does not come back)."""
        self.presence.draining = True
        await self.writer.drain()

    # -- the end of a session ----------------------------------------------------------------

    def _close_when_ended(self, runtime: SessionRuntime, event: Event) -> None:
        if event.type == "session_ended":
            self._tasks.spawn(self._close_ended(runtime))

    async def _close_ended(self, runtime: SessionRuntime) -> None:
        # The send that ended the session (and any other in flight) is answered first: its ack
        # would be lost on a socket closed before it.
        while runtime.sends_in_flight:
            runtime.sends_answered.clear()
            if not await wait_event(runtime.sends_answered, SEND_ANSWER_WAIT_S):
                break
        await self.hub.close_connections(runtime)


NOT_STORED = "the service could not store the event; send again with the same id"
FAILED = "the service failed; try again"


def socket_error(
    exc: BaseException, session_id: str | None = None, *, sending: bool = True
) -> ErrorDetail:
    """The contract's `{code, message}` for any failure on a socket: the one place they are made.

    A `ComfortError` says its own code; the store being unreachable during a send is `internal`
    (nothing was stored: send again with the same id); anything else is `internal` too, logged
    with its traceback.
    """
    if isinstance(exc, StoreUnavailable) and sending:
        log.warning("send_not_stored", session_id=session_id, reason="store_unavailable")
        return ErrorDetail(code="internal", message=NOT_STORED)
    if isinstance(exc, ComfortError):
        return ErrorDetail(code=exc.code, message=exc.message)
    log.error("send_failed" if sending else "connect_failed", session_id=session_id, exc_info=exc)
    return ErrorDetail(code="internal", message=NOT_STORED if sending else FAILED)


def error_ack(exc: BaseException, session_id: str | None = None) -> dict[str, Any]:
    """An ack that refuses: `{"ok": false, "error": {code, message}}`."""
    return ErrorAck(error=socket_error(exc, session_id)).model_dump()

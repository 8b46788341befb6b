"""Socket.IO handlers: connect (token, welcome, replay), `send` with its ack, disconnect.

Every error the sockets answer (a refused connect, a refused send, an unknown event, a send
without a connection) is made in one place, `socket_error`; anything unexpected is answered
`internal` and logged with its traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from typing import Any

import orjson
import socketio
import structlog
from aiohttp import WSMsgType
from aiohttp.web import WebSocketResponse
from engineio import exceptions as eio_exceptions
from engineio import packet as eio_packet
from engineio.async_drivers import aiohttp as engineio_aiohttp

from ..engine import SessionEngine
from ..errors import ComfortError, ConnectRefused, SendError, StoreUnavailable
from ..events import SENDABLE_TYPES
from ..metrics import Metrics
from ..settings import Settings
from ..tokens import JoinClaims
from .hub import Connection

log = structlog.get_logger(__name__)


class _OrjsonCodec:
    """The JSON codec python-socketio uses for packets: orjson, compact, strict UTF-8."""

    @staticmethod
    def dumps(obj: Any, **_: Any) -> str:
        return orjson.dumps(obj).decode()

    @staticmethod
    def loads(raw: str | bytes, **_: Any) -> Any:
        return orjson.loads(raw)


class _CheckedWebSocket(engineio_aiohttp.WebSocket):  # type: ignore[misc]
    """Changes to python-engineio's aiohttp websocket wrapper:

    - it ignores `websocket_compression=False`: per-message deflate keeps ~100 KB of zlib state
      per socket for a few hundred bytes saved, so the response refuses it;
    - it decodes a frame outside its error handling, so an empty text frame, or one not
      starting with a packet-type digit, kills the socket's receive loop without closing it (a
      zombie participant): such a frame is refused here as a read error, and Engine.IO closes
      the connection properly;
    - the socket's writer task waits for packets without a task of its own (`_poll`), and a
      packet for a socket whose writer is idle is written at once (`write_now`) rather than
      queued for that task: a delivered event no longer waits for two or three passes of a
      busy loop (bench/README.md).
    """

    async def __call__(self, environ: dict[str, Any]) -> Any:
        request = environ["aiohttp.request"]
        self._sock = WebSocketResponse(
            max_msg_size=self.server.max_http_buffer_size, compress=False
        )
        await self._sock.prepare(request)
        self.environ = environ
        socket = self.handler.__self__  # the Engine.IO socket this websocket serves
        socket.poll = functools.partial(_poll, socket)
        socket.comfort_websocket = self
        await self.handler(self)
        return self._sock

    async def wait(self) -> Any:
        data = await super().wait()
        if isinstance(data, str) and (not data or not data[0].isdigit()):
            raise OSError("undecodable Engine.IO frame")
        return data

    def write_now(self, text: str) -> bool:
        """Write one text frame right away if the connection takes it without buffering;
        False (nothing written) otherwise, and the caller queues it. Uses aiohttp's own frame
        writer, as `send_str` does short of its flow-control wait."""
        global _direct_writes_work
        if not _direct_writes_work:
            return False
        try:
            writer = self._sock._writer
            if writer is None:
                return False
            transport = writer.transport
            if writer._closing or transport.is_closing() or transport.get_write_buffer_size():
                return False
            writer._write_websocket_frame(text.encode(), WSMsgType.TEXT, 0)
        except AttributeError:
            _direct_writes_work = False  # an aiohttp whose internals moved: queue everything
            log.warning("socket_direct_write_unavailable")
            return False
        return True


_direct_writes_work = True


async def _poll(socket: Any) -> list[Any]:
    """python-engineio's `AsyncSocket.poll` without `asyncio.wait_for` (on Python 3.11 a task per
    wait, so every packet cost the writer an extra pass of the loop). While it waits for the
    first packet, `socket.comfort_idle` says the writer holds nothing: a packet written directly
    then cannot overtake one already taken from the queue."""
    try:
        socket.comfort_idle = True
        try:
            async with asyncio.timeout(socket.server.ping_interval + socket.server.ping_timeout):
                packets = [await socket.queue.get()]
        finally:
            socket.comfort_idle = False
        socket.queue.task_done()
    except (TimeoutError, asyncio.CancelledError):
        raise eio_exceptions.QueueEmpty() from None
    if packets == [None]:
        return []
    while True:
        try:
            pkt = socket.queue.get_nowait()
            socket.queue.task_done()
            if pkt is None:
                socket.queue.put_nowait(None)
                break
            packets.append(pkt)
        except asyncio.QueueEmpty:
            break
    return packets


def write_now(socket: Any, packet: str) -> bool:
    """Write a Socket.IO packet to an Engine.IO socket at once, if its websocket writer is idle
    and nothing is queued before it (order is kept); False if it must be queued instead."""
    ws = getattr(socket, "comfort_websocket", None)
    return (
        ws is not None
        and socket.upgraded
        and getattr(socket, "comfort_idle", False)
        and socket.queue.empty()
        and ws.write_now("4" + packet)  # "4": an Engine.IO MESSAGE
    )


def create_socket_server(settings: Settings) -> socketio.AsyncServer:
    origins: list[str] | None = None
    if settings.allowed_origins:
        origins = [*settings.allowed_origins, settings.effective_public_url]
    server = socketio.AsyncServer(
        async_mode="aiohttp",
        cors_allowed_origins=origins,
        max_http_buffer_size=settings.max_frame_bytes,
        json=_OrjsonCodec,
        logger=False,
        engineio_logger=False,
        # Per-message compression costs ~64 KB per socket for a few hundred bytes saved.
        http_compression=False,
        websocket_compression=False,
        ping_interval=25,
        ping_timeout=20,
        # A socket's events are handled in its own receive loop, in order, not in a task
        # each: one pass of the loop fewer per send. Its next frame is read once this one is
        # answered (commit and fsync, a millisecond or two; Engine.IO pings allow 20 s).
        async_handlers=False,
    )
    server.eio._async = {**server.eio._async, "websocket": _CheckedWebSocket}
    return server


def _last_seq(auth: dict[str, Any]) -> int:
    value = auth.get("last_seq", 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return 0
    return value


class SocketHandlers:
    """Binds the contract's Socket.IO protocol to a `SessionEngine`."""

    def __init__(
        self,
        sio: socketio.AsyncServer,
        engine: SessionEngine,
        metrics: Metrics,
        max_queue: int = 1000,
    ) -> None:
        self.sio = sio
        self.max_queue = max_queue
        self.direct_writes = 0  # packets written without the socket's writer task
        self._dropping: set[str] = set()
        self._addresses: dict[str, str | None] = {}
        self.engine = engine
        self.metrics = metrics
        self.connections: dict[str, Connection] = {}
        self._pending: dict[str, tuple[JoinClaims, dict[str, Any]]] = {}
        sio.on("connect", self.on_connect)
        sio.on("disconnect", self.on_disconnect)
        sio.on("send", self.on_send)
        sio.on("*", self.on_unknown)
        engine.close_socket = self.close

    def transport(self, eio_sid: str, packet: str) -> bool:
        """Queue one packet for one socket, without waiting (the hub delivers a stored event
        to every recipient in one go). A socket whose reader has fallen `max_queue` packets
        behind is closed at the transport: its client reconnects with its last seq and is
        replayed what it missed, and nobody else waits for it.

        A packet for an idle websocket is written at once (`write_now`); otherwise it is
        queued, as python-engineio's `send` does short of its ping-timeout check, which the
        socket's own ping loop makes as well; the queue is unbounded, so `put_nowait` never
        refuses."""
        socket = self.sio.eio.sockets.get(eio_sid)
        if socket is None or socket.closed:
            return False
        if socket.queue.qsize() >= self.max_queue:
            self._close_slow(eio_sid, socket.queue.qsize())
            return False
        if write_now(socket, packet):
            self.direct_writes += 1
        else:
            socket.queue.put_nowait(eio_packet.Packet(eio_packet.MESSAGE, data=packet))
        return True

    def _close_slow(self, eio_sid: str, queued: int) -> None:
        if eio_sid in self._dropping:
            return
        self._dropping.add(eio_sid)
        self.metrics.slow_sockets.inc()
        log.warning("slow_socket_closed", queued=queued)
        task = asyncio.get_running_loop().create_task(self._drop(eio_sid))
        task.add_done_callback(_log_failure)

    async def writable(self, eio_sid: str, patience_s: float = 10.0) -> bool:
        """Wait until the socket's queue has room for a page of replay (half the bound).
        A socket that does not drain within `patience_s` is closed as too slow."""
        deadline = asyncio.get_running_loop().time() + patience_s
        while True:
            socket = self.sio.eio.sockets.get(eio_sid)
            if socket is None or socket.closed:
                return False
            if socket.queue.qsize() <= self.max_queue // 2:
                return True
            if asyncio.get_running_loop().time() > deadline:
                self._close_slow(eio_sid, socket.queue.qsize())
                return False
            await asyncio.sleep(0.01)

    async def _drop(self, eio_sid: str) -> None:
        try:
            await self.sio.eio.disconnect(eio_sid)
        finally:
            self._dropping.discard(eio_sid)

    async def close(self, sid: str) -> None:
        """Close one socket for good (the session ended or was erased): no reconnect wanted."""
        await self.sio.disconnect(sid)

    async def drain(self) -> None:
        """On shutdown: close every socket at the transport level, which socket.io clients
        answer by reconnecting (behind a load balancer: to another process)."""
        sockets = list(self.sio.eio.sockets)
        for eio_sid in sockets:
            with contextlib.suppress(Exception):
                await self.sio.eio.disconnect(eio_sid)
        if sockets:
            log.info("sockets_drained", count=len(sockets))

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        request = environ.get("aiohttp.request")
        address = getattr(request, "remote", None) or environ.get("REMOTE_ADDR")
        try:
            conn = await self._admit(sid, auth)
        except Exception as exc:
            error = socket_error(exc, sending=False)
            self.metrics.connects.labels(error["code"]).inc()
            log.info("connect_refused", code=error["code"])
            if self.engine.audit is not None:
                self.engine.audit.record(
                    "anonymous", "socket.connect", error["code"], address=address
                )
            refused = socketio.exceptions.ConnectionRefusedError(error["message"])
            refused.error_args = {"message": error["message"], "code": error["code"], "data": error}
            raise refused from None

        self._addresses[sid] = address
        self._audit_socket(conn, "socket.connect")

    def _audit_socket(self, conn: Connection, action: str) -> None:
        audit = self.engine.audit
        if audit is None:
            return
        runtime = self.engine.hub.runtimes.get(conn.session_id)
        audit.record(
            f"participant:{conn.participant_id}",
            action,
            "ok",
            tenant_id=runtime.record.tenant_id if runtime else None,
            session_id=conn.session_id,
            address=self._addresses.get(conn.sid),
            role=conn.role.value,
        )

    async def _admit(self, sid: str, auth: Any) -> Connection:
        if not isinstance(auth, dict):
            raise ConnectRefused("auth with a join token is required", code="invalid_token")
        claims = self.engine.tokens.verify(auth.get("token"))
        try:
            runtime, role = await self.engine.admit(claims)
        except StoreUnavailable:
            raise ConnectRefused(
                "the service cannot reach its store; try again", code="internal"
            ) from None
        epoch = auth.get("epoch")
        last_seq = _last_seq(auth)
        if (epoch is not None and epoch != runtime.record.epoch) or last_seq > runtime.head:
            last_seq = 0
        eio_sid = self.sio.manager.eio_sid_from_sid(sid, "/")
        conn = Connection(sid, eio_sid, runtime.id, claims.participant_id, role)
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
        task = asyncio.get_running_loop().create_task(self._start(conn, last_seq))
        task.add_done_callback(_log_failure)
        return conn

    async def _start(self, conn: Connection, last_seq: int) -> None:
        runtime = self.engine.hub.runtimes.get(conn.session_id) or await self.engine.hub.load(
            conn.session_id
        )
        if runtime is None or conn.sid not in self.connections:
            return
        self.engine.hub.register(runtime, conn)

        async def send_welcome(rt: Any) -> None:
            await self.sio.emit("welcome", self.engine.welcome(rt, conn), to=conn.sid)

        await self.engine.hub.attach(runtime, conn, last_seq, send_welcome)
        if conn.sid in self.connections:
            await self.engine.connected(runtime, conn)
        else:
            self.engine.hub.unregister(conn)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        conn = self.connections.pop(sid, None)
        if conn is None:
            return
        log.info(
            "socket_disconnected", session_id=conn.session_id, participant_id=conn.participant_id
        )
        self._audit_socket(conn, "socket.disconnect")
        self._addresses.pop(sid, None)
        if conn.counted:
            await self.engine.disconnected(conn)
        else:
            self.engine.hub.unregister(conn)

    async def on_send(self, sid: str, *args: Any) -> dict[str, Any]:
        conn = self.connections.get(sid)
        payload = args[0] if args else None
        kind = payload.get("type") if isinstance(payload, dict) else None
        label = kind if isinstance(kind, str) and len(kind) <= 32 else "invalid"
        if conn is None:
            log.warning("send_without_connection", known=self.sio.manager.is_connected(sid, "/"))
            return error_ack(SendError("not connected", code="forbidden"))
        try:
            ack = await self.engine.send(conn, payload)
        except Exception as exc:
            ack = error_ack(exc, conn.session_id)
        outcome = (
            "duplicate" if ack.get("duplicate") else ("ok" if ack["ok"] else ack["error"]["code"])
        )
        self.metrics.sends.labels(label if label in SENDABLE_TYPES else "other", outcome).inc()
        return ack

    async def on_unknown(self, event: str, sid: str, *args: Any) -> dict[str, Any]:
        return error_ack(SendError("unknown socket event; use send", code="unknown_type"))


NOT_STORED = "the service could not store the event; send again with the same id"
FAILED = "the service failed; try again"


def socket_error(
    exc: BaseException, session_id: str | None = None, *, sending: bool = True
) -> dict[str, str]:
    """The contract's `{code, message}` for any failure on a socket: the one place they are made.

    A `ComfortError` says its own code; the store being unreachable during a send is `internal`
    (nothing was stored: send again with the same id); anything else is `internal` too, logged
    with its traceback.
    """
    if isinstance(exc, StoreUnavailable) and sending:
        log.warning("send_not_stored", session_id=session_id, reason="store_unavailable")
        return {"code": "internal", "message": NOT_STORED}
    if isinstance(exc, ComfortError):
        return exc.to_wire()
    log.error("send_failed" if sending else "connect_failed", session_id=session_id, exc_info=exc)
    return {"code": "internal", "message": NOT_STORED if sending else FAILED}


def error_ack(exc: BaseException, session_id: str | None = None) -> dict[str, Any]:
    """An ack that refuses: `{"ok": false, "error": {code, message}}`."""
    return {"ok": False, "error": socket_error(exc, session_id)}


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error(
            "socket_start_failed", error=type(task.exception()).__name__, exc_info=task.exception()
        )

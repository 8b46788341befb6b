"""The socket boundary (contract §9.5): what the Socket.IO server lets in, before any handler.

Every Socket.IO packet is decoded in one place, `CheckedPacket`, given to python-socketio through
its public `serializer` option (a `Packet` subclass with its own `decode`, as its docstring
allows). It never raises: what cannot be decoded reaches the handlers as a `RefusedPacket`,
answered or closed (`SocketHandlers.on_unknown`), never a traceback. Sockets that open but do not
send CONNECT are limited and timed out (`PendingSockets`); a websocket's per-message deflate
offer is dropped before the handshake (`refuse_websocket_compression`: ~100 KB of zlib state per
socket for a few hundred bytes saved, and python-engineio's aiohttp driver accepts it whatever
its options say). `create_socket_server` builds the server with all of it.

Only public APIs of python-socketio, python-engineio and aiohttp are used here; the private
parts the service touches are all in `transport.py` (`PendingSockets` gets python-socketio's own
connection handlers from `transport.engineio_connection_handlers`, and the server's patches are
installed by `TransportPatches.install`).
"""

from __future__ import annotations

import asyncio
import re
import statistics
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
import socketio
import structlog
from aiohttp import hdrs, web

from ..aio import stop_task
from ..appkeys import CLIENT_ADDRESSES
from ..errors import SendError
from ..http.forwarded import client_address
from ..settings import Settings
from .transport import TransportPatches, engineio_connection_handlers, engineio_serving

log = structlog.get_logger(__name__)

SOCKETIO_PATH = "socket.io"


class _OrjsonCodec:
    """The JSON codec of Socket.IO packets: orjson, compact, strict UTF-8 (a lone surrogate, in
    or out, is an error), nesting at most 1,024 deep."""

    @staticmethod
    def dumps(obj: Any, **_: Any) -> str:
        return orjson.dumps(obj).decode()

    @staticmethod
    def loads(raw: str | bytes, **_: Any) -> Any:
        return orjson.loads(raw)


@dataclass(frozen=True, slots=True)
class RefusedPacket:
    """A Socket.IO packet the service will not take, as its handlers receive it: in place of an
    EVENT's name (python-socketio hands it to the catch-all handler, `SocketHandlers.on_unknown`)
    or of a CONNECT's `auth`. `answerable`: its ack id could be read, so it is answered with
    `error`; otherwise its connection is closed."""

    error: SendError
    answerable: bool


# Socket.IO v5, "Packet encoding" (github.com/socketio/socket.io-protocol, README):
# <type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]
# An attachment count only after a BINARY type (5, 6): in `2<digits>-…` the digits are the ack id.
_HEADER = re.compile(r"([0-6])(?:(?<=[56])([0-9]+)-)?(?:(/[^,]*)(?:,|$))?([0-9]*)")
_ACK_ID_DIGITS = 15  # below 2**53: what a JavaScript client can count to
_RESERVED = frozenset({"connect", "disconnect"})  # python-socketio's own handlers, not events


class CheckedPacket(socketio.packet.Packet):  # type: ignore[misc]
    """python-socketio's packet with a decoder that never raises: the one decoding boundary of
    socket packets (contract §9.5). A packet that cannot be decoded (not JSON, a lone surrogate
    escape, nesting over 1,024, an unknown packet type, binary data, an EVENT that is not a list
    naming an event) becomes a `RefusedPacket`. What decodes is judged by the handlers (a NUL
    in a send's id, say, is `events.parse_send`'s to refuse).

    Public python-socketio API: `AsyncServer(serializer=<a Packet subclass with its own decode>)`
    (its docstring); the codec is this class's own (`json`), so no other python-socketio
    instance of the process is affected. Binary attachments, which this protocol never uses,
    are ignored when they arrive alone.
    """

    json = _OrjsonCodec
    uses_binary_events = False
    packet_type: int
    namespace: str | None
    id: int | None
    data: Any

    def decode(self, encoded_packet: Any) -> int:
        self.namespace = self.data = self.id = None
        if isinstance(encoded_packet, bytes | bytearray):
            # An attachment with no binary packet before it: nothing to answer, so ignored
            # (an ACK for no callback is dropped by python-socketio).
            self.packet_type, self.data = socketio.packet.ACK, []
            return 0
        header = _HEADER.match(encoded_packet) if isinstance(encoded_packet, str) else None
        if header is None:
            return self._refuse("not a Socket.IO packet", answerable=False)
        kind, _, namespace, ack_id = header.groups()
        self.packet_type = int(kind)
        if namespace:
            self.namespace = namespace.partition("?")[0]
        if ack_id:
            if len(ack_id) > _ACK_ID_DIGITS:
                return self._refuse("the ack id is too long", answerable=False)
            self.id = int(ack_id)
        if self.packet_type == socketio.packet.EVENT and self.namespace not in (None, "/"):
            # Never joined (only "/" is served): python-socketio would drop it unanswered, so
            # it is refused in "/", where the connection lives.
            self.namespace = None
            return self._refuse("only the namespace / is served", answerable=self.id is not None)
        text = encoded_packet[header.end() :]
        try:
            data = self._payload(text) if text else None
        except ValueError as exc:
            return self._refuse(str(exc), answerable=self.id is not None)
        if self.packet_type in (socketio.packet.BINARY_EVENT, socketio.packet.BINARY_ACK):
            return self._refuse("binary data is not accepted", answerable=self.id is not None)
        if self.packet_type == socketio.packet.CONNECT_ERROR:
            return self._refuse("a client does not send connect_error", answerable=False)
        if self.packet_type == socketio.packet.EVENT:
            if not isinstance(data, list) or not data:
                return self._refuse("an event is a list: [name, …]", answerable=self.id is not None)
            if not isinstance(data[0], str) or data[0] in _RESERVED:
                error = SendError("unknown socket event; use send", code="unknown_type")
                self.data = [RefusedPacket(error, answerable=self.id is not None)]
                return 0
        self.data = data
        return 0

    @staticmethod
    def _payload(text: str) -> Any:
        """The JSON payload; ValueError if it cannot be decoded."""
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            raise ValueError("the packet is not valid JSON (UTF-8, at most 1,024 deep)") from None

    def _refuse(self, why: str, *, answerable: bool) -> int:
        error = SendError(f"undecodable packet: {why}")
        if self.packet_type == socketio.packet.CONNECT:
            self.id, self.data = None, RefusedPacket(error, False)  # auth: invalid_token
            return 0
        self.packet_type = socketio.packet.EVENT
        self.data = [RefusedPacket(error, answerable)]
        if not answerable:
            self.id = None
        return 0


def create_socket_server(settings: Settings, patches: TransportPatches) -> socketio.AsyncServer:
    """The Socket.IO server, with `patches` installed (when they are on)."""
    origins: list[str] | None = None
    if settings.allowed_origins:
        origins = [*settings.allowed_origins, settings.effective_public_url]
    server = socketio.AsyncServer(
        async_mode="aiohttp",
        cors_allowed_origins=origins,
        max_http_buffer_size=settings.max_frame_bytes,
        serializer=CheckedPacket,
        logger=False,
        engineio_logger=False,
        http_compression=False,
        ping_interval=25,
        ping_timeout=20,
        # A socket's events are handled in its own receive loop, in order, not in a task
        # each: one pass of the loop fewer per send. Its next frame is read once this one is
        # answered (commit and fsync, a millisecond or two; Engine.IO pings allow 20 s).
        async_handlers=False,
    )
    patches.install(server)
    return server


@web.middleware
async def refuse_websocket_compression(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Drop a websocket's per-message deflate offer before python-engineio's driver answers it."""
    if hdrs.SEC_WEBSOCKET_EXTENSIONS in request.headers and request.path.startswith(
        f"/{SOCKETIO_PATH}/"
    ):
        headers = request.headers.copy()
        del headers[hdrs.SEC_WEBSOCKET_EXTENSIONS]
        request = request.clone(headers=headers)
    return await handler(request)


# -- sockets that have not connected yet (contract §9.5 limits) -------------------------------


def socket_address(environ: dict[str, Any]) -> str | None:
    """The client address of a socket's opening request: behind a proxy of
    `COMFORT_TRUSTED_PROXIES`, the address it names (`http.forwarded.client_address`, as every
    HTTP edge reads it), so one address's held sockets are not everyone's behind the proxy."""
    request = environ.get("aiohttp.request")
    if isinstance(request, web.Request) and CLIENT_ADDRESSES in request.app:
        return client_address(request)
    return getattr(request, "remote", None) or environ.get("REMOTE_ADDR")


class PendingSockets:
    """Engine.IO connections that have not (successfully) sent Socket.IO's CONNECT: each is
    closed `deadline_s` after it opened, and a new one is refused at the handshake (HTTP 401,
    `too_many_connections`) while `total` wait, or while `per_address` from its address have
    waited over `STALE_S` since the service answered its handshake (clients send CONNECT at
    once; only a socket held open waits that long, so a reconnect storm through one proxy is
    not refused). A busy service answers handshakes and reads CONNECTs late, so a socket counts
    only once its handshake is answered (a handshake whose client left before the answer is
    never served: it is closed at the deadline), and "that long" is also at least `SLOW_FACTOR`
    times the median wait of the last sockets whose CONNECT came (at saturation, a second is an
    ordinary wait). A socket whose CONNECT has come and is being answered is not held open,
    however long a busy service takes to admit it: it is neither counted against its address
    nor closed at the deadline (`answering`).

    It follows python-engineio's public `connect` and `disconnect` events (`AsyncServer.on`; a
    connect handler returning something other than None or True refuses), wrapping the ones
    python-socketio registered there (`transport.engineio_connection_handlers`, patch
    `pending`). When those cannot be read, the limits are off and `transport_patch_failed`
    says so.
    """

    STALE_S = 1.0
    SLOW_FACTOR = 4.0
    SWEEP_S = 0.5

    def __init__(
        self,
        sio: socketio.AsyncServer,
        patches: TransportPatches,
        close: Callable[[str], None],
        *,
        deadline_s: float = 10.0,
        total: int = 1000,
        per_address: int = 20,
    ) -> None:
        self.sio = sio
        self.patches = patches
        self.close = close
        self.deadline_s, self.total, self.per_address = deadline_s, total, per_address
        self.opened: dict[str, tuple[float, str | None]] = {}  # eio sid -> (when, address)
        self.answering: set[str] = set()  # of `opened`: their CONNECT is being answered
        self.waits: deque[float] = deque(maxlen=64)  # open -> CONNECT, of the last sockets
        self._serving: dict[str, float] = {}  # of `opened`: since when (a sweep) it is served
        self._stale: dict[str | None, int] = {}  # per address, as of the last sweep
        self._sweeper: asyncio.Task[None] | None = None
        self._install()

    def _install(self) -> None:
        handlers = engineio_connection_handlers(self.sio, self.patches)
        if handlers is None:
            return
        on_connect, on_disconnect = handlers

        async def connect(eio_sid: str, environ: dict[str, Any]) -> Any:
            refused = self.refuse(socket_address(environ))
            if refused is not None:
                return refused
            self.opened[eio_sid] = (asyncio.get_running_loop().time(), socket_address(environ))
            return await on_connect(eio_sid, environ)

        async def disconnect(eio_sid: str, reason: Any = None) -> Any:
            self._forget(eio_sid)
            return await on_disconnect(eio_sid, reason)

        self.sio.eio.on("connect", connect)
        self.sio.eio.on("disconnect", disconnect)

    def refuse(self, address: str | None) -> dict[str, str] | None:
        """Why a new connection from `address` is refused now; None if it is not."""
        if len(self.opened) >= self.total or self._stale.get(address, 0) >= self.per_address:
            log.warning("socket_refused_at_handshake", pending=len(self.opened))
            return {
                "code": "too_many_connections",
                "message": "too many connections are waiting to connect; try again shortly",
            }
        return None

    def connect_received(self, eio_sid: str) -> None:
        """Its CONNECT came and is being answered: until the answer it is not held open."""
        opened = self.opened.get(eio_sid)
        if opened is not None and eio_sid not in self.answering:
            self.answering.add(eio_sid)
            self.waits.append(asyncio.get_running_loop().time() - opened[0])

    def refused(self, eio_sid: str) -> None:
        """Its CONNECT was refused: it waits again, since it opened (the deadline closes it
        unless another CONNECT is accepted)."""
        self.answering.discard(eio_sid)

    def connected(self, eio_sid: str) -> None:
        """Its CONNECT was accepted: it no longer waits."""
        self._forget(eio_sid)

    def _forget(self, eio_sid: str) -> None:
        self.opened.pop(eio_sid, None)
        self.answering.discard(eio_sid)
        self._serving.pop(eio_sid, None)

    def held_after(self) -> float:
        """How long a socket may wait for its CONNECT before it counts as held open."""
        if not self.waits:
            return self.STALE_S
        return max(self.STALE_S, self.SLOW_FACTOR * statistics.median(self.waits))

    async def start(self) -> None:
        if self.patches.pending:
            self._sweeper = asyncio.create_task(self._sweep(), name="pending-sockets")

    async def stop(self) -> None:
        await stop_task(self._sweeper)
        self._sweeper = None

    async def _sweep(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.SWEEP_S)
            now = loop.time()
            held_after = self.held_after()
            stale: dict[str | None, int] = {}
            for eio_sid, (opened, address) in list(self.opened.items()):
                if eio_sid in self.answering:
                    continue
                waited = now - opened
                serving = engineio_serving(self.sio, eio_sid)
                if serving is None:  # gone without a disconnect event
                    self._forget(eio_sid)
                elif waited > self.deadline_s:
                    log.info("socket_closed_before_connect", waited_s=round(waited, 1))
                    self._forget(eio_sid)
                    self.close(eio_sid)
                elif serving and now - self._serving.setdefault(eio_sid, now) > held_after:
                    stale[address] = stale.get(address, 0) + 1
            self._stale = stale

"""The transport: how a packet reaches a socket, and every private part of python-engineio and
aiohttp this service touches, all in this one module.

Tested with python-engineio 4.15, python-socketio 5.18 and aiohttp 3.14, the minor versions
pinned in pyproject.toml. Upgrading one of them means reading this docstring and running
tests/service/realtime/test_transport.py and test_sockets.py (which runs the whole socket suite
with the patches on and off).

The patches, and why (bench/README.md, "Round 2", has the measurements):

python-engineio
- `AsyncServer._async["websocket"]`, the class its aiohttp driver wraps each websocket in, is
  replaced by `CheckedWebSocket`, a subclass of the driver's `WebSocket`. The driver decodes a
  frame outside its error handling, so an empty text frame, or one not starting with a
  packet-type digit, kills the socket's receive loop without closing the socket (a zombie
  participant): `CheckedWebSocket.wait` refuses such a frame as a read error, and Engine.IO
  closes the connection properly.
- `WebSocket.handler.__self__`: the `AsyncSocket` a websocket serves (the handler is its bound
  `_websocket_handler`), found in `CheckedWebSocket.__init__` to patch it:
- `AsyncSocket.poll` is replaced on that socket by `_poll`: the same wait without
  `asyncio.wait_for` (on Python 3.11 a task per wait, so every packet cost the socket's writer
  an extra pass of the loop); and once the socket is closed and its close packet out, it answers
  at once, so the writer closes the websocket instead of waiting a heartbeat for the client to
  (clients wait for the server: SIGTERM and every close waited on each of them).
- Two attributes are added to the `AsyncSocket`: `comfort_idle` (set by `_poll` while the writer
  waits for its first packet: it holds nothing, so a packet written directly cannot overtake one
  it took from the queue) and `comfort_websocket` (the `CheckedWebSocket` serving it). The
  websocket holds its socket (the driver's `handler` is the socket's bound method), so these,
  and the patched `poll`, would make a reference cycle that only a full collection frees, and a
  closed socket's ping task holds the socket for a ping interval more: a closed connection's
  whole graph (request, buffers, transport; ~40 KB) outlived it, the soak's growth (issue 18).
  `CheckedWebSocket.__call__` removes them from the socket when the connection's handler ends.
- `AsyncSocket.queue` is written directly (`put_nowait` of an Engine.IO MESSAGE `Packet`), as
  `AsyncSocket.send` does short of its ping-timeout check (the socket's own ping loop makes
  it): the hub hands a stored event to every recipient in one go, without waiting.
- `WebSocket._sock`: the driver's `aiohttp.web.WebSocketResponse`, for the direct write below.
- `AsyncServer.handlers` (what its public `on` writes): python-socketio's `connect` and
  `disconnect` handlers are read there (`engineio_connection_handlers`, patch `pending`) and
  wrapped by `boundary.PendingSockets`, to limit and time out the sockets that have not sent
  Socket.IO's CONNECT (contract §9.5).

aiohttp
- `WebSocketResponse._writer` and, on that `WebSocketWriter`, `_closing`, `transport` and
  `_write_websocket_frame`: a packet for a websocket whose writer is idle (and whose transport
  buffers nothing) is written at once with aiohttp's own frame writer, as `send_str` does short
  of its flow-control wait, instead of waiting in the queue for the writer task (two or three
  passes of a busy loop).

Read in every mode (public names, undocumented): `AsyncServer.sockets`, and on an `AsyncSocket`
`closed`, `upgraded` and `queue.qsize()`/`queue.empty()`, for the bound on a slow reader, and
`connected` (`engineio_serving`: whether its handshake has been answered), for the sockets that
have not sent CONNECT.

The fallback: any exception from a patched call, of any kind (an upgrade that renames or
reshapes what is patched), switches that patch off for the rest of the process, logs
`transport_patch_failed` once, and the stock path is taken: python-engineio's own websocket
class and poll, and its public `AsyncServer.send`. The state lives on the app's
`TransportPatches`, never in a module global. `TransportPatches(enabled=False)`
(`COMFORT_TRANSPORT_PATCHES=false`) starts with every patch off: no private name is touched.
Off, a delivered event waits for the socket's writer task (more latency under load), each packet
costs a task, an undecodable websocket frame leaves a zombie socket until its ping times out,
a closed websocket waits for its client to close it (at shutdown, aiohttp's timeout ends it), and
sockets that never send CONNECT are neither limited nor timed out (python-engineio's own
behaviour: they last while they answer pings).

Not patches, and so not here: the decoding boundary of Socket.IO packets (contract §9.5),
the limits on sockets that have not connected, and the refusal of per-message deflate, all
through public APIs, are in `boundary.py`, which also builds the Socket.IO server.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

import socketio
import structlog
from aiohttp import WSMsgType
from engineio import exceptions as eio_exceptions
from engineio import packet as eio_packet
from engineio.async_drivers import aiohttp as engineio_aiohttp

from ..aio import BackgroundTasks
from ..metrics import Metrics

log = structlog.get_logger(__name__)

DRAIN_S = 2.0  # how long closing every socket at shutdown may take
PATCHES = ("websocket", "poll", "queue", "direct_write", "pending")


class TransportPatches:
    """Which patches are in use; each is switched off for good at its first failure.

    Args:
        enabled: False starts with every patch off (`COMFORT_TRANSPORT_PATCHES=false`).
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.websocket = self.poll = self.queue = self.direct_write = self.pending = enabled

    def fail(self, patch: str, exc: BaseException) -> None:
        """Switch `patch` off, and say so the first time."""
        if getattr(self, patch):
            setattr(self, patch, False)
            log.warning(
                "transport_patch_failed", patch=patch, error=type(exc).__name__, exc_info=exc
            )

    def install(self, server: socketio.AsyncServer) -> None:
        """Make python-engineio wrap this server's websockets in `CheckedWebSocket`."""
        if not self.websocket:
            return
        websocket = type("CheckedWebSocket", (CheckedWebSocket,), {"patches": self})
        try:
            server.eio._async = {**server.eio._async, "websocket": websocket}
        except Exception as exc:
            self.fail("websocket", exc)


class CheckedWebSocket(engineio_aiohttp.WebSocket):  # type: ignore[misc]
    """python-engineio's aiohttp websocket wrapper, refusing undecodable frames, with its
    socket's poll replaced and a direct write (see the module docstring)."""

    patches: TransportPatches

    def __init__(self, handler: Callable[..., Awaitable[Any]], server: Any) -> None:
        super().__init__(handler, server)
        self._patched: Any = None  # the AsyncSocket patched, until the connection ends
        if not self.patches.poll:
            return
        try:
            socket = handler.__self__  # type: ignore[attr-defined]
            socket.poll = functools.partial(_poll, self.patches, weakref.ref(socket))
            socket.comfort_websocket = self
            self._patched = socket
        except Exception as exc:
            self.patches.fail("poll", exc)

    async def __call__(self, environ: dict[str, Any]) -> Any:
        try:
            return await super().__call__(environ)
        finally:
            self._release()

    def _release(self) -> None:
        """The connection is over: nothing of the socket may keep it (see the docstring), nor
        this wrapper, which python-engineio's handler closures outlive (cells of finished tasks):
        its request and aiohttp's response are let go."""
        self.environ = None
        self._sock = None
        socket, self._patched = self._patched, None
        if socket is None:
            return
        socket.__dict__.pop("comfort_websocket", None)
        socket.__dict__.pop("poll", None)  # the class's own poll again

    async def wait(self) -> Any:
        data = await super().wait()
        if isinstance(data, str) and (not data or not data[0].isdigit()):
            raise OSError("undecodable Engine.IO frame")
        return data

    def write_now(self, text: str) -> bool:
        """Write one text frame right away if the connection takes it without buffering;
        False (nothing written) otherwise, and the caller queues it."""
        patches = self.patches
        if not patches.direct_write:
            return False
        sock = self._sock
        if sock is None:  # the connection is over (`_release`)
            return False
        try:
            writer = sock._writer
            if writer is None:
                return False
            transport = writer.transport
            if writer._closing or transport.is_closing() or transport.get_write_buffer_size():
                return False
            writer._write_websocket_frame(text.encode(), WSMsgType.TEXT, 0)
        except ConnectionError:
            return False  # this connection is closing: not the patch failing
        except Exception as exc:
            patches.fail("direct_write", exc)
            return False
        return True


async def _poll(patches: TransportPatches, socket_ref: weakref.ref[Any]) -> list[Any]:
    """`AsyncSocket.poll` without `asyncio.wait_for`; `socket.comfort_idle` is True while it
    waits for the first packet. The socket is held weakly: the patch makes no cycle."""
    socket = socket_ref()
    if socket is None:
        return []
    if not patches.poll:
        return await type(socket).poll(socket)  # type: ignore[no-any-return]
    if socket.closed and socket.queue.empty():
        # The close packet is out and nothing can follow: the writer closes the websocket now.
        # python-engineio's poll would wait a heartbeat for a packet, and clients wait for the
        # server to close (issue 13, finding 12: SIGTERM held ~45 s per idle socket).
        return []
    try:
        socket.comfort_idle = True
        try:
            async with asyncio.timeout(_heartbeat_s(socket)):
                packets = [await socket.queue.get()]
        finally:
            socket.comfort_idle = False
        socket.queue.task_done()
    except (TimeoutError, asyncio.CancelledError):
        raise eio_exceptions.QueueEmpty() from None
    except Exception as exc:
        patches.fail("poll", exc)
        return await type(socket).poll(socket)  # type: ignore[no-any-return]
    if packets == [None]:
        return []
    try:
        while True:
            pkt = socket.queue.get_nowait()
            socket.queue.task_done()
            if pkt is None:
                socket.queue.put_nowait(None)
                break
            packets.append(pkt)
    except asyncio.QueueEmpty:
        pass
    except Exception as exc:
        patches.fail("poll", exc)
    return packets


def _heartbeat_s(socket: Any) -> float:
    """How long python-engineio's poll waits for a packet: a ping interval and its timeout."""
    return float(socket.server.ping_interval + socket.server.ping_timeout)


EngineIOHandler = Callable[..., Awaitable[Any]]


def engineio_connection_handlers(
    sio: socketio.AsyncServer, patches: TransportPatches
) -> tuple[EngineIOHandler, EngineIOHandler] | None:
    """Patch `pending`: python-socketio's own Engine.IO `connect` and `disconnect` handlers,
    read from `AsyncServer.handlers` (the attribute its public `on` writes; undocumented), for
    `boundary.PendingSockets` to wrap. None when the patch is off, and None with the patch
    switched off (said once) when they cannot be read."""
    if not patches.pending:
        return None
    try:
        handlers = sio.eio.handlers
        return handlers["connect"], handlers["disconnect"]
    except Exception as exc:
        patches.fail("pending", exc)
        return None


def engineio_serving(sio: socketio.AsyncServer, eio_sid: str) -> bool | None:
    """Whether python-engineio serves the socket yet: its handshake answered and its OPEN
    packet on the way (`AsyncSocket.connected`, set when a websocket's handler starts, at once
    for polling). None if the socket is gone; True when the flag cannot be read."""
    socket = sio.eio.sockets.get(eio_sid)
    if socket is None:
        return None
    return bool(getattr(socket, "connected", True))


class SocketWriter:
    """Puts packets on sockets: the hub's way out, and how a socket is closed.

    Built from the Socket.IO server before the hub, the engine and the handlers, which are given
    it. A socket whose reader has fallen `max_queue` packets behind is closed here: its client
    reconnects with its last seq and is replayed what it missed, and nobody else waits for it.
    """

    def __init__(
        self,
        sio: socketio.AsyncServer,
        patches: TransportPatches,
        metrics: Metrics,
        max_queue: int = 1000,
    ) -> None:
        self.sio = sio
        self.patches = patches
        self.metrics = metrics
        self.max_queue = max_queue
        self.direct_writes = 0  # packets written without the socket's writer task
        self._dropping: set[str] = set()
        self._sending: dict[str, int] = {}  # packets handed to tasks, not queued yet (stock path)
        self._tasks = BackgroundTasks("socket_write")

    def send_packet(self, eio_sid: str, packet: str) -> bool:
        """Send one encoded Socket.IO packet to one socket, without waiting: at once to an idle
        websocket, else queued in order. False if the socket is gone or was closed as slow."""
        socket = self.sio.eio.sockets.get(eio_sid)
        if socket is None or socket.closed:
            return False
        queued = socket.queue.qsize() + self._sending.get(eio_sid, 0)
        if queued >= self.max_queue:
            self._close_slow(eio_sid, queued)
            return False
        if self._write_now(socket, packet):
            self.direct_writes += 1
            return True
        if self.patches.queue:
            try:
                socket.queue.put_nowait(eio_packet.Packet(eio_packet.MESSAGE, data=packet))
                return True
            except Exception as exc:
                self.patches.fail("queue", exc)
        self._sending[eio_sid] = self._sending.get(eio_sid, 0) + 1
        self._tasks.spawn(self._send_stock(eio_sid, packet))
        return True

    @staticmethod
    def _write_now(socket: Any, packet: str) -> bool:
        # Only onto an upgraded websocket whose writer is idle, with nothing queued before it.
        ws = getattr(socket, "comfort_websocket", None)
        return (
            ws is not None
            and socket.upgraded
            and getattr(socket, "comfort_idle", False)
            and socket.queue.empty()
            and ws.write_now("4" + packet)  # "4": an Engine.IO MESSAGE
        )

    async def _send_stock(self, eio_sid: str, packet: str) -> None:
        try:
            await self.sio.eio.send(eio_sid, packet)
        finally:
            left = self._sending.get(eio_sid, 1) - 1
            if left > 0:
                self._sending[eio_sid] = left
            else:
                self._sending.pop(eio_sid, None)

    async def writable(self, eio_sid: str, patience_s: float = 10.0) -> bool:
        """Wait until the socket has room for a page of replay (half the bound). A socket that
        does not drain within `patience_s` is closed as too slow; False if it is gone."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + patience_s
        while True:
            socket = self.sio.eio.sockets.get(eio_sid)
            if socket is None or socket.closed:
                return False
            queued = socket.queue.qsize() + self._sending.get(eio_sid, 0)
            if queued <= self.max_queue // 2:
                return True
            if loop.time() > deadline:
                self._close_slow(eio_sid, queued)
                return False
            await asyncio.sleep(0.01)

    async def close(self, sid: str) -> None:
        """Close one Socket.IO connection for good (its session ended or was erased)."""
        await self.sio.disconnect(sid)

    async def drain(self, patience_s: float = DRAIN_S) -> None:
        """On shutdown: close every socket at the transport level, all at once and for at most
        `patience_s`, which socket.io clients answer by reconnecting (behind a load balancer:
        to another process). Each websocket is closed by the service (`_poll`), not left for
        its client to close; with the patches off, aiohttp's shutdown timeout ends them."""
        sockets = list(self.sio.eio.sockets)

        async def close(eio_sid: str) -> None:
            with contextlib.suppress(Exception):
                await self.sio.eio.disconnect(eio_sid)

        try:
            async with asyncio.timeout(patience_s):
                await asyncio.gather(*(close(eio_sid) for eio_sid in sockets))
        except TimeoutError:
            log.warning("sockets_drain_timed_out", seconds=patience_s)
        if sockets:
            log.info("sockets_drained", count=len(sockets))

    def drop(self, eio_sid: str) -> None:
        """Close one connection at the transport level, without waiting (its client may come
        back and replay what it missed)."""
        if eio_sid in self._dropping:
            return
        self._dropping.add(eio_sid)
        self._tasks.spawn(self._drop(eio_sid))

    def _close_slow(self, eio_sid: str, queued: int) -> None:
        if eio_sid in self._dropping:
            return
        self.metrics.slow_sockets.inc()
        log.warning("slow_socket_closed", queued=queued)
        self.drop(eio_sid)

    async def _drop(self, eio_sid: str) -> None:
        try:
            await self.sio.eio.disconnect(eio_sid)
        finally:
            self._dropping.discard(eio_sid)

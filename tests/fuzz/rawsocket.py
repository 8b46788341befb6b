"""A raw Engine.IO v4 / Socket.IO v5 client over aiohttp's websocket, for frames no well-behaved
client library would send."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from typing import Any

import aiohttp


class RawSocket:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.texts: list[str] = []
        self.closed_with: int | None = None

    @classmethod
    async def open(cls, http: aiohttp.ClientSession, url: str, token: str | None) -> RawSocket:
        ws = await http.ws_connect(url + "/socket.io/?EIO=4&transport=websocket", max_msg_size=0)
        raw = cls(ws)
        opened = await raw.next_text()
        assert opened.startswith("0{"), opened
        if token is not None:
            await ws.send_str("40" + json.dumps({"token": token}))
            connected = await raw.next_text()
            assert connected.startswith("40{"), connected
        return raw

    async def next_text(self, timeout: float = 5) -> str:
        while True:
            msg = await asyncio.wait_for(self.ws.receive(), timeout)
            if msg.type is aiohttp.WSMsgType.TEXT:
                if msg.data == "2":  # Engine.IO ping
                    await self.ws.send_str("3")
                    continue
                self.texts.append(msg.data)
                return str(msg.data)
            if msg.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSED,
                aiohttp.WSMsgType.ERROR,
            ):
                self.closed_with = self.ws.close_code
                raise ConnectionResetError(f"closed: {msg.type} {self.ws.close_code}")

    async def ack(self, ack_id: int, timeout: float = 5) -> Any:
        """Wait for the ack packet `43[<namespace>,]<ack_id>[…]` and return its single argument."""
        packet = re.compile(rf"43(?:/[^,]*,)?{ack_id}(?=\[)")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            text = await self.next_text(max(0.0, deadline - loop.time()))
            found = packet.match(text)
            if found:
                return json.loads(text[found.end() :])[0]

    async def closed(self, timeout: float = 5) -> bool:
        """Whether the service closes this connection within `timeout`: its Engine.IO close
        packet (`1`) or the websocket's end, whatever arrives before."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while (await self.next_text(max(0.0, deadline - loop.time()))) != "1":
                pass
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False
        return True

    async def send(self, ack_id: int, payload: Any) -> Any:
        await self.ws.send_str(f"42{ack_id}" + json.dumps(["send", payload]))
        return await self.ack(ack_id)

    async def alive(self, ack_id: int = 9000) -> bool:
        """Whether the connection still answers a valid send (an ack of any kind)."""
        try:
            ack = await self.send(ack_id, {"id": f"alive-{ack_id}", "type": "keep_going"})
        except (TimeoutError, ConnectionResetError, aiohttp.ClientError):
            return False
        return isinstance(ack, dict) and "ok" in ack

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.ws.close()

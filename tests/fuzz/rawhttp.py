"""A raw HTTP/1.1 client over a TCP stream, for requests no HTTP library lets through: header
values of any byte (0xFF in `Authorization`, say), request targets with raw bytes, repeated
headers. One request per connection (`Connection: close`); the answer is read to the end."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass
class RawAnswer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name.lower()), None)

    @property
    def refused_by_the_parser(self) -> bool:
        """A 400 from the HTTP parser, before any route: it carries none of the headers the
        service puts on every answer of its own."""
        return self.status == 400 and self.header("x-content-type-options") is None

    def json(self) -> Any:
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass
class RawRequest:
    method: bytes
    target: bytes
    headers: list[tuple[bytes, bytes]]
    body: bytes = b""

    def encode(self, host: bytes) -> bytes:
        names = {name.lower() for name, _ in self.headers}
        head = [self.method + b" " + self.target + b" HTTP/1.1"]
        if b"host" not in names:
            head.append(b"Host: " + host)
        head += [name + b": " + value for name, value in self.headers]
        if self.body or self.method in (b"POST", b"PUT", b"PATCH"):
            head.append(b"Content-Length: " + str(len(self.body)).encode())
        head.append(b"Connection: close")
        return b"\r\n".join(head) + b"\r\n\r\n" + self.body


def _dechunk(body: bytes) -> bytes:
    out = bytearray()
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2 :]
    return bytes(out)


def parse_answer(raw: bytes) -> RawAnswer:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    version, status, *_ = status_line.split(" ", 2)
    assert version.startswith("HTTP/1."), status_line
    headers = [
        (name.strip().lower(), value.strip())
        for name, _, value in (line.partition(":") for line in lines)
    ]
    if any(k == "transfer-encoding" and "chunked" in v.lower() for k, v in headers):
        body = _dechunk(body)
    return RawAnswer(int(status), headers, body)


async def send(url: str, request: RawRequest, timeout: float = 30) -> RawAnswer:
    """Send `request` to the server of `url` on a connection of its own; its answer."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    raw = bytearray()

    async def read_all() -> None:
        while chunk := await reader.read(65_536):
            raw.extend(chunk)

    try:
        # A server that refuses a request early may close before it is all written, and reset
        # the connection after its answer: what was read is the answer.
        with contextlib.suppress(ConnectionError):
            writer.write(request.encode(parts.netloc.encode()))
            await writer.drain()
        with contextlib.suppress(ConnectionError):
            await asyncio.wait_for(read_all(), timeout)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
    assert raw, "the connection closed without an answer"
    return parse_answer(bytes(raw))

"""Test support: a real service (in-process or as a `comfort serve` process) and real
Socket.IO peers that record what they receive."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import socketio

API_KEY = "test-key-demo-0123456789abcdef"
OTHER_KEY = "test-key-other-0123456789abcdef"
SECRET = "test-secret-key-that-is-long-enough-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tenants_toml(path: Path, extra: str = "") -> Path:
    demo = f'[tenants.demo]\napi_key = "{API_KEY}"\n'
    other = f'[tenants.other]\napi_key = "{OTHER_KEY}"\n'
    path.write_text(f"{demo}\n{other}{extra}")
    return path


def session_body(clients: int = 1, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "platform": "generic",
        "external_id": f"room-{uuid.uuid4().hex[:10]}",
        "participants": [{"id": "t-1", "role": "therapist", "display_name": "Dr Tessa Example"}]
        + [
            {"id": f"c-{i}", "role": "client", "display_name": f"Clara Client{i}"}
            for i in range(1, clients + 1)
        ],
    }
    body.update(overrides)
    return body


@dataclass
class Api:
    """REST calls against a running service."""

    base: str
    key: str = API_KEY
    http: aiohttp.ClientSession | None = None

    async def call(
        self,
        method: str,
        path: str,
        json: Any = None,
        key: str | None = None,
        raw: bytes | None = None,
    ) -> tuple[int, Any]:
        assert self.http is not None
        headers = {"Authorization": f"Bearer {key or self.key}"}
        kwargs: dict[str, Any] = {"headers": headers}
        if raw is not None:
            kwargs["data"] = raw
        elif json is not None:
            kwargs["json"] = json
        async with self.http.request(method, self.base + path, **kwargs) as resp:
            text = await resp.text()
            try:
                body = await resp.json(content_type=None) if text else None
            except ValueError:
                body = text
            return resp.status, body

    async def create(self, clients: int = 1, **overrides: Any) -> dict[str, Any]:
        status, body = await self.call(
            "POST", "/api/v1/sessions", session_body(clients, **overrides)
        )
        assert status == 201, body
        return dict(body)

    async def events(self, session_id: str, after: int = 0) -> list[dict[str, Any]]:
        status, body = await self.call(
            "GET", f"/api/v1/sessions/{session_id}/events?after={after}&limit=1000"
        )
        assert status == 200, body
        return list(body["events"])


@dataclass
class Peer:
    """A real `socketio.AsyncClient` that records its welcome and the events it receives."""

    url: str
    token: str
    client: socketio.AsyncClient = field(
        default_factory=lambda: socketio.AsyncClient(reconnection=False)
    )
    welcome: dict[str, Any] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    connect_error: Any = None
    welcomed: asyncio.Event = field(default_factory=asyncio.Event)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        @self.client.on("welcome")
        async def _welcome(data: dict[str, Any]) -> None:
            self.welcome = data
            self.welcomed.set()

        @self.client.on("event")
        async def _event(data: dict[str, Any]) -> None:
            self.events.append(data)
            self.changed.set()

        @self.client.on("connect_error")
        async def _error(data: Any) -> None:
            self.connect_error = data

        @self.client.on("disconnect")
        async def _disconnected(*_: Any) -> None:
            self.changed.set()  # `wait_for` a closed connection without waiting out its timeout

    async def connect(
        self,
        last_seq: int = 0,
        epoch: str | None = None,
        wait: bool = True,
        transports: list[str] | None = None,
    ) -> Peer:
        auth: dict[str, Any] = {"token": self.token, "last_seq": last_seq}
        if epoch is not None:
            auth["epoch"] = epoch
        self.welcomed.clear()
        # Generous: a refusal arrives at once either way, and on a loaded CI machine a service
        # whose store is failing (tests/faults) may take seconds to admit.
        await self.client.connect(
            self.url, auth=auth, transports=transports or ["websocket"], wait_timeout=15
        )
        if wait:
            await asyncio.wait_for(self.welcomed.wait(), 15)
        return self

    async def send(
        self, kind: str, data: dict[str, Any] | None = None, id: str | None = None, raw: Any = None
    ) -> dict[str, Any]:
        payload = (
            raw
            if raw is not None
            else {"id": id or uuid.uuid4().hex, "type": kind, "data": data or {}}
        )
        return dict(await self.client.call("send", payload, timeout=10))

    @property
    def seqs(self) -> list[int]:
        return [e["seq"] for e in self.events]

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["type"] == kind]

    async def wait_for(self, predicate: Any, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"timed out; events: {[(e['seq'], e['type']) for e in self.events]}"
                )
            self.changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.changed.wait(), remaining)

    async def wait_type(
        self, kind: str, count: int = 1, timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        await self.wait_for(lambda: len(self.of_type(kind)) >= count, timeout)
        return self.of_type(kind)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.client.disconnect()


async def joined(url: str, created: dict[str, Any], clients: int = 1) -> tuple[Peer, list[Peer]]:
    """The session's therapist t-1 and then its clients c-1… connected to the service at `url`
    (a `ServiceProcess`), once the session has started."""
    therapist = await Peer(url, created["tokens"]["t-1"]).connect()
    peers = [await Peer(url, created["tokens"][f"c-{i}"]).connect() for i in range(1, clients + 1)]
    await therapist.wait_type("session_started")
    return therapist, peers


def visible_to(event: dict[str, Any], client: str) -> bool:
    """Contract §3, "who sees what", written from the contract, independently of the service."""
    if event["type"] == "cue":
        return False
    if event["actor"]["id"] == client:
        return True
    if event["actor"]["role"] == "client":
        return False
    if event["type"] in ("participant_joined", "participant_left"):
        who = event["data"]["participant"]
        return bool(who["id"] == client or who["role"] == "therapist")
    return event["to"] is None or client in event["to"]


def own_stream(log: list[dict[str, Any]], client: str) -> list[dict[str, Any]]:
    """The session's events a client sees, in order: position p is the p-th (contract §9.1)."""
    return [event for event in log if visible_to(event, client)]


# Contract §9.1: the numbers inside data that a client reads and writes in its own numbering.
SEQ_FIELDS = {
    "acknowledge": "seq",
    "retract": "seq",
    "checkin_response": "checkin_seq",
    "checkin_expired": "checkin_seq",
}
OPAQUE_ID = re.compile(r"ev_[0-9a-f]{24}")


def expected_view(log: list[dict[str, Any]], client: str) -> list[dict[str, Any]]:
    """The client's events as contract §9.1 says it sees them, from the session's log: its
    positions for `seq` and the seqs in `data` (ids as stored: `assert_seen_as` compares them),
    and (docs/protocol.md, an addition) a `to` and `data.to` that name only itself."""
    stream = own_stream(log, client)
    position = {event["seq"]: p for p, event in enumerate(stream, 1)}
    view = []
    for p, event in enumerate(stream, 1):
        data = dict(event["data"])
        field = SEQ_FIELDS.get(event["type"])
        if field is not None:
            data[field] = position[data[field]]
        if data.get("to") is not None:
            data["to"] = [client]
        to = None if event["to"] is None else [client]
        view.append({**event, "seq": p, "to": to, "data": data})
    return view


def own_positions(log: list[dict[str, Any]], client: str) -> dict[str, int]:
    """The client's position (contract §9.1) of each event it sent, by the id it sent it with:
    what its acks say, computed from the session's log."""
    return {e["id"]: e["seq"] for e in expected_view(log, client) if e["actor"]["id"] == client}


def stored_seq(log: list[dict[str, Any]], event_id: str, sender: str = "c-1") -> int:
    """The session seq of the event `sender` sent with `event_id`, from the session's log (as
    REST, therapists, cues and vendors name it)."""
    return int(next(e["seq"] for e in log if e["id"] == event_id and e["actor"]["id"] == sender))


async def numbered_apart(url: str, other_client_token: str) -> None:
    """Another client of the session connects and leaves: events the first client may not see,
    so from here on its positions and the session's seqs differ (contract §9.1), and a test
    that takes one for the other fails instead of passing by coincidence."""
    other = await Peer(url, other_client_token).connect()
    await other.close()


def assert_seen_as(got: dict[str, Any], want: dict[str, Any], client: str) -> None:
    """A client received `want` (an entry of `expected_view`): every field as §9.1 says, its own
    events under the ids it sent, any other under an opaque id that is not the stored one."""
    if want["actor"]["id"] == client:
        assert got["id"] == want["id"], (client, got, want)
    else:
        assert OPAQUE_ID.fullmatch(got["id"]) and got["id"] != want["id"], (client, got)
    assert {**got, "id": None} == {**want, "id": None}, (client, got, want)


async def session_seq(therapist: Peer, client: Peer, position: int) -> int:
    """The session seq of the event a client sent and knows at `position` of its own numbering
    (contract §9.1), as the therapist sees it: matched by the event's id, which a client sees
    only for the events it sent."""
    await client.wait_for(lambda: position in client.seqs)
    event_id = next(e["id"] for e in client.events if e["seq"] == position)
    await therapist.wait_for(lambda: any(e["id"] == event_id for e in therapist.events))
    return int(next(e["seq"] for e in therapist.events if e["id"] == event_id))


async def next_position(client: Peer, kind: str, send: Any) -> int:
    """Await `send` (a therapist's send of `kind` addressed to the client), then the client's
    position of it: the next event of that type the client receives."""
    seen = len(client.of_type(kind))
    ack = await send
    assert ack["ok"], ack
    return int((await client.wait_type(kind, seen + 1))[seen]["seq"])


class ServiceProcess:
    """`comfort serve` as a real process, for kill and restart tests."""

    def __init__(
        self, data_dir: Path, port: int | None = None, env: dict[str, str] | None = None
    ) -> None:
        self.data_dir = data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.env = {
            **os.environ,
            "COMFORT_PORT": str(self.port),
            "COMFORT_HOST": "127.0.0.1",
            "COMFORT_DATA_DIR": str(data_dir),
            "COMFORT_DATABASE_URL": f"sqlite:///{data_dir}/comfort.db",
            "COMFORT_SECRET_KEY": SECRET,
            "COMFORT_TENANTS_FILE": str(tenants_toml(data_dir / "tenants.toml")),
            "COMFORT_LOG_FORMAT": "json",
            **(env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / f"service-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, timeout: float = 20.0, ready_path: str = "/readyz") -> ServiceProcess:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "service", "serve"], env=self.env, stdout=log, stderr=log
        )
        deadline = time.monotonic() + timeout
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"service exited: {self.log_path.read_text()[-2000:]}")
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with http.get(self.url + ready_path) as resp:
                        if resp.status == 200:
                            return self
                await asyncio.sleep(0.1)
        raise RuntimeError("service did not become ready")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def terminate(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def logs(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""


async def raw_status_line(url: str, request: bytes) -> bytes:
    """Send `request`, raw bytes, to the server of `url`; its answer's status line."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.readline(), 10)
    finally:
        writer.close()

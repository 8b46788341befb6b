"""Fault-test support: a client that resends every unacknowledged send with the same id."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from typing import Any

import socketio

from tests.support import Api

SEND_KINDS = ["keep_going", "slow_down", "resume", "grounding_started"]
FAST = {"COMFORT_SEND_RATE": "100000", "COMFORT_SEND_BURST": "100000"}


def payload(event_id: str, rng: random.Random) -> dict[str, Any]:
    kind = rng.choice(SEND_KINDS)
    data: dict[str, Any] = {"exercise": "box_breathing"} if kind == "grounding_started" else {}
    return {"id": event_id, "type": kind, "data": data}


class ResendingClient:
    """A widget-like sender: every press stays in the outbox until the service acks it, and is
    resent with the same id (and the same body) after any failure or reconnect."""

    def __init__(self, url: str, token: str, rng: random.Random) -> None:
        self.url, self.token, self.rng = url, token, rng
        self.outbox: dict[str, dict[str, Any]] = {}
        self.acked: dict[str, int] = {}
        self.duplicate_acks: list[tuple[str, int]] = []
        self.client: socketio.AsyncClient | None = None
        self.failures = 0
        self.internal = 0

    def press(self) -> None:
        event_id = uuid.uuid4().hex
        self.outbox[event_id] = payload(event_id, self.rng)

    async def ensure_connected(self, deadline: float) -> None:
        while self.client is None or not self.client.connected:
            if time.monotonic() > deadline:
                raise AssertionError("could not reconnect to the restarted service")
            if self.client is not None:
                with contextlib.suppress(Exception):
                    await self.client.disconnect()
            client = socketio.AsyncClient(reconnection=False)
            try:
                await client.connect(
                    self.url,
                    auth={"token": self.token, "last_seq": 0},
                    transports=["websocket"],
                    wait_timeout=2,
                )
                self.client = client
            except Exception:
                with contextlib.suppress(Exception):
                    await client.disconnect()
                await asyncio.sleep(0.1)

    async def send_one(self, event_id: str) -> None:
        assert self.client is not None
        try:
            ack = await self.client.call("send", self.outbox[event_id], timeout=2)
        except Exception:
            self.failures += 1
            return
        if not ack.get("ok"):
            # `internal` means "nothing stored, send again"; anything else is a defect here.
            assert ack["error"]["code"] == "internal", ack
            self.internal += 1
            return
        seq = int(ack["seq"])
        if event_id in self.acked:
            assert self.acked[event_id] == seq, (event_id, self.acked[event_id], ack)
        if ack["duplicate"]:
            self.duplicate_acks.append((event_id, seq))
        self.acked[event_id] = seq

    async def flush(self, deadline: float, width: int = 6) -> None:
        """Send the unacked part of the outbox, a few at a time (several in flight at a kill)."""
        unacked = [i for i in self.outbox if i not in self.acked]
        for start in range(0, len(unacked), width):
            await self.ensure_connected(deadline)
            await asyncio.gather(*(self.send_one(i) for i in unacked[start : start + width]))

    async def drain(self, deadline: float) -> None:
        """Resend until every press is acked (or the deadline passes)."""
        while set(self.outbox) - set(self.acked) and time.monotonic() < deadline:
            await self.flush(deadline)
            if set(self.outbox) - set(self.acked):
                await asyncio.sleep(0.2)

    async def resend_some_acked(self, count: int) -> None:
        """Resend already-acked ids: each must be answered with its first seq, duplicate."""
        if not self.acked or self.client is None or not self.client.connected:
            return
        for event_id in self.rng.sample(sorted(self.acked), min(count, len(self.acked))):
            await self.send_one(event_id)

    async def close(self) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.disconnect()


async def all_events(api: Api, session_id: str) -> list[dict[str, Any]]:
    """The whole log, page by page (the REST limit is 1000)."""
    events: list[dict[str, Any]] = []
    while True:
        page = await api.events(session_id, after=events[-1]["seq"] if events else 0)
        events += page
        if len(page) < 1000:
            return events

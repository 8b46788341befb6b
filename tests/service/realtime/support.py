"""Helpers of the socket suite."""

from __future__ import annotations

from typing import Any

from tests.conftest import LiveServer
from tests.support import Peer


async def started(
    server: LiveServer, clients: int = 1, **overrides: Any
) -> tuple[dict[str, Any], Peer, list[Peer]]:
    """A session with its therapist and `clients` clients connected, once it has started."""
    created = await server.create_session(clients, **overrides)
    therapist = await server.join(created["tokens"]["t-1"])
    peers = [await server.join(created["tokens"][f"c-{i}"]) for i in range(1, clients + 1)]
    await therapist.wait_type("session_started")
    return created, therapist, peers

"""Guarantee 5 over a real socket: random garbage gets structured errors, the connection and the
service stay up, and nothing of it is stored."""

from __future__ import annotations

import random
import string

from tests.conftest import LiveServer

CODES = {"invalid_payload", "unknown_type", "forbidden", "not_found", "rate_limited"}
TYPES = [
    "pause",
    "zone",
    "retract",
    "checkin_response",
    "grounding_finished",
    "acknowledge",
    "cue",
    "x",
]


def garbage(rng: random.Random, depth: int = 0):
    pick = rng.randrange(9 if depth < 3 else 5)
    if pick == 0:
        return None
    if pick == 1:
        return rng.choice([True, False, 0, -1, 2**63, 1.5, float("1e308")])
    if pick == 2:
        return "".join(
            rng.choice(string.printable + "\u00e9\u2603\U0001f600")
            for _ in range(rng.randrange(40))
        )
    if pick == 3:
        return rng.randrange(-5, 50)
    if pick == 4:
        return rng.choice(TYPES)
    if pick in (5, 6):
        return [garbage(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = ["id", "type", "data", "zone", "seq", "value", "checkin_seq", "to", "exercise", "x"]
    return {rng.choice(keys): garbage(rng, depth + 1) for _ in range(rng.randrange(5))}


async def test_random_garbage_is_refused_structurally(server_factory):
    server: LiveServer = await server_factory(send_rate=1000.0, send_burst=1000)
    created = await server.create_session()
    therapist = await server.join(created["tokens"]["t-1"])
    client = await server.join(created["tokens"]["c-1"])
    rng = random.Random(20261125)
    accepted = 0
    for i in range(300):
        payload = garbage(rng)
        if isinstance(payload, dict) and rng.random() < 0.5:
            payload.setdefault("id", f"g-{i}")
            payload.setdefault("type", rng.choice(TYPES))
        peer = client if i % 2 else therapist
        ack = await peer.send("", raw=payload if payload is not None else {"id": None})
        if ack["ok"]:
            accepted += 1
            continue
        assert ack["error"]["code"] in CODES, (payload, ack)
        assert isinstance(ack["error"]["message"], str)
    assert client.client.connected and therapist.client.connected
    ok = await client.send("pause")
    assert ok["ok"]
    await therapist.wait_type("pause")
    events = await server.api.events(created["session"]["id"])
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    stored_sends = [e for e in events if e["actor"]["role"] != "system"]
    assert len(stored_sends) == accepted + 1

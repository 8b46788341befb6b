"""Floods and slow readers (contract §3, §4.5): hundreds of connections, bursts of sends past the
rate limit, and a participant whose socket never reads. Nobody else is slowed: the others'
events still arrive promptly, and the slow socket is cut off and replays when it returns."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import socket
import time
from typing import Any

import pytest

from tests.conftest import LiveServer
from tests.support import Peer

pytestmark = pytest.mark.timeout(90)


async def test_three_hundred_connections_all_get_their_events(server_factory: Any) -> None:
    # One participant's 300 connections: an operator may allow that many (contract §9.5's
    # default, 5, refuses the sixth: tests/edges).
    server: LiveServer = await server_factory(max_sockets_per_participant=300)
    created = await server.create_session()
    therapist = await server.join(created["tokens"]["t-1"])
    started = time.monotonic()
    crowd = await asyncio.gather(
        *(server.peer(created["tokens"]["c-1"]).connect() for _ in range(300))
    )
    connect_seconds = time.monotonic() - started
    assert all(p.welcome is not None for p in crowd)
    ack = await therapist.send("checkin_request", {"instrument": "suds"})
    assert ack["ok"], ack
    deadline = time.monotonic() + 10
    for peer in crowd:  # each reads it at its own position (contract §9.1)
        await peer.wait_type("checkin_request", timeout=deadline - time.monotonic())
    fanout_seconds = time.monotonic() - started - connect_seconds
    async with server.api.http.get(server.url + "/healthz") as resp:  # type: ignore[union-attr]
        assert resp.status == 200
    await asyncio.gather(*(p.close() for p in crowd))
    print(
        f"\nflood: 300 sockets connected in {connect_seconds:.2f}s, fan-out {fanout_seconds:.2f}s"
    )


async def test_a_send_flood_is_rate_limited_for_its_sender_only(server_factory: Any) -> None:
    server: LiveServer = await server_factory()  # the contract's limits: 10/s, bursts of 20
    created = await server.create_session(clients=2)
    therapist = await server.join(created["tokens"]["t-1"])
    flooder = await server.join(created["tokens"]["c-1"])
    calm = await server.join(created["tokens"]["c-2"])
    acks = await asyncio.gather(*(flooder.send("keep_going") for _ in range(500)))
    codes = [a["error"]["code"] for a in acks if not a["ok"]]
    stored = [a for a in acks if a["ok"]]
    assert 20 <= len(stored) <= 40, len(stored)
    assert set(codes) == {"rate_limited"}
    assert flooder.client.connected
    started = time.monotonic()
    ack = await calm.send("pause", id="calm-pause")
    assert ack["ok"], "another participant is not limited by the flood"
    # Matched by id: the client's ack is in its own numbering, the therapist's in the session's.
    await therapist.wait_for(
        lambda: any(e["id"] == "calm-pause" for e in therapist.events), timeout=2
    )
    assert time.monotonic() - started < 2


class NeverReads:
    """A websocket client that completes the handshake, joins, then never reads again, with a
    tiny receive buffer so that the service's writes back up."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    @classmethod
    async def join(cls, url: str, token: str) -> NeverReads:
        host, port = url.removeprefix("http://").split(":")
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        await loop.sock_connect(sock, (host, int(port)))
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        )
        await loop.sock_sendall(sock, request.encode())
        received = b""
        while b"0{" not in received:  # the response headers, then the Engine.IO open packet
            received += await loop.sock_recv(sock, 4096)
        await loop.sock_sendall(sock, cls.frame("40" + json.dumps({"token": token})))
        return cls(sock)

    @staticmethod
    def frame(text: str) -> bytes:
        payload = text.encode()
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        length = len(payload)
        if length < 126:
            head = bytes([0x81, 0x80 | length])
        else:
            head = bytes([0x81, 0x80 | 126]) + length.to_bytes(2, "big")
        return head + mask + masked

    def close(self) -> None:
        self.sock.close()


LONG_IDS = [f"c-{i:02d}-" + "x" * 122 for i in range(62)]  # 128 characters each


def has(peer: Peer, kind: str, who: str) -> bool:
    return any(e["type"] == kind and e["data"]["participant"]["id"] == who for e in peer.events)


async def test_a_reader_that_never_reads_slows_nobody_and_is_cut_off_then_replays(
    server_factory: Any,
) -> None:
    server: LiveServer = await server_factory(
        send_rate=100_000.0, send_burst=100_000, max_socket_queue=50
    )
    participants = [{"id": "t-1", "role": "therapist"}, {"id": "t-2", "role": "therapist"}]
    participants += [{"id": cid, "role": "client"} for cid in LONG_IDS]
    created = await server.create_session(participants=participants)
    sid = created["session"]["id"]
    therapist = await server.join(created["tokens"]["t-1"])
    reader = await server.join(created["tokens"]["t-2"])  # a second, well-behaved socket
    slow = await NeverReads.join(server.url, created["tokens"]["t-2"])
    try:
        # Each event names 62 clients of 128 characters: ~9 KB a packet, so the slow socket's
        # kernel buffers fill after a few hundred and its queue grows.
        worst, head, cut_at = 0.0, 0, None
        for burst in range(30):
            sent = time.monotonic()
            acks = await asyncio.gather(
                *(
                    therapist.send("suggest_grounding", {"exercise": "five_senses", "to": LONG_IDS})
                    for _ in range(40)
                )
            )
            assert all(a["ok"] for a in acks), acks[0]
            head = max(a["seq"] for a in acks)
            for peer in (therapist, reader):
                try:
                    await peer.wait_for(lambda p=peer, h=head: h in p.seqs, timeout=5)
                except AssertionError:
                    raise AssertionError(f"burst {burst} did not reach a reading socket") from None
            worst = max(worst, time.monotonic() - sent)
            if _slow_sockets(server) > 0 and cut_at is None:
                cut_at = burst
            if cut_at is not None and burst >= cut_at + 2:
                break
        assert cut_at is not None, "the socket that never reads was never cut off"
        assert worst < 2.0, f"a burst took {worst:.2f}s to reach the reading sockets"
    finally:
        slow.close()

    # Its participant still holds a reading socket, so no departure; the session shows it here.
    assert not has(therapist, "participant_left", "t-2")
    # Back with last_seq 0, the cut-off socket's owner is replayed everything, in order. Like the
    # widget, this client reconnects with the last seq it holds if a connection drops, and drops
    # seqs it already has.
    seen: list[int] = []
    for _ in range(20):
        back = await server.join(created["tokens"]["t-2"], last_seq=seen[-1] if seen else 0)
        with contextlib.suppress(AssertionError):
            await back.wait_for(lambda b=back: head in b.seqs or not b.client.connected, 10)
        await back.close()
        fresh = [q for q in back.seqs if not seen or q > seen[-1]]
        assert fresh == sorted(set(fresh)), "out of order on one connection"
        seen += fresh
        if head in seen:
            break
    assert seen[:head] == list(range(1, head + 1))
    _, body = await server.api.call("GET", f"/api/v1/sessions/{sid}")
    assert body["session"]["head_seq"] >= head
    print(f"\nslow reader: cut off after burst {cut_at}; others' worst burst {worst:.3f}s")


def _slow_sockets(server: LiveServer) -> float:
    """Sockets the service has cut off for falling behind (its Prometheus counter)."""
    from service.app import METRICS

    metric = server.app[METRICS].slow_sockets
    return float(metric._value.get())


async def test_a_long_replay_on_reconnect_is_not_cut_off(server_factory: Any) -> None:
    """A participant that missed 3,000 events is replayed them on one connection: the replay is
    paced by the socket's drain, not cut off by the slow-reader bound."""
    server: LiveServer = await server_factory(send_rate=100_000.0, send_burst=100_000)
    created = await server.create_session()
    client = await server.join(created["tokens"]["c-1"])
    for _ in range(30):
        acks = await asyncio.gather(*(client.send("keep_going") for _ in range(100)))
        assert all(a["ok"] for a in acks)
    # The session's head (the client's acks are positions in its own numbering, contract §9.1).
    _, body = await server.api.call("GET", f"/api/v1/sessions/{created['session']['id']}")
    head = body["session"]["head_seq"]
    assert head >= 3000
    therapist = await server.join(created["tokens"]["t-1"], last_seq=0)
    with contextlib.suppress(AssertionError):
        await therapist.wait_for(lambda: head in therapist.seqs, timeout=15)
    assert therapist.client.connected, "cut off during its own replay"
    assert therapist.seqs[:head] == list(range(1, head + 1))

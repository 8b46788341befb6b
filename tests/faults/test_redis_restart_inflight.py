"""Contract §4.3 with sends in flight: Redis is shut down and started again while a client on
one process keeps sending; the therapist on the other process gets every acked event, in order,
within 10 s of its ack, and no ack is lost."""

from __future__ import annotations

import asyncio
import random
import subprocess
import time
from pathlib import Path

import aiohttp
import pytest

from tests.cluster.conftest import (  # noqa: F401 (fixtures)
    Deployment,
    deployment,
    pg_database,
    restart_redis,
)
from tests.faults.resending import FAST, ResendingClient
from tests.support import Api, Peer, numbered_apart

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis, pytest.mark.timeout(90)]


def stop_redis() -> None:
    subprocess.run(
        ["redis-cli", "-h", "127.0.0.1", "-p", "6379", "shutdown", "nosave"],
        check=False,
        capture_output=True,
    )


async def test_sends_in_flight_across_a_redis_restart_all_arrive_in_order(
    deployment: Deployment,  # noqa: F811
    tmp_path: Path,
) -> None:
    a, b = await deployment(2, COMFORT_CATCHUP_INTERVAL_SECONDS="1", **FAST)
    rng = random.Random(6379)
    try:
        async with aiohttp.ClientSession() as http:
            created = await Api(a.url, http=http).create(clients=2)
            # c-1's acks name its own positions, which differ from the therapist's seqs (§9.1):
            # events are followed by their ids.
            await numbered_apart(a.url, created["tokens"]["c-2"])
            therapist = await Peer(b.url, created["tokens"]["t-1"]).connect()
            sender = ResendingClient(a.url, created["tokens"]["c-1"], rng)
            acked_at: dict[str, float] = {}
            stop = asyncio.Event()

            async def keep_pressing() -> None:
                deadline = time.monotonic() + 60
                while not stop.is_set():
                    for _ in range(3):
                        sender.press()
                    before = dict(sender.acked)
                    await sender.flush(deadline, width=3)
                    now = time.monotonic()
                    for event_id in sender.acked:
                        if event_id not in before:
                            acked_at.setdefault(event_id, now)
                    await asyncio.sleep(0.02)

            async def outage() -> None:
                await asyncio.sleep(0.5)
                stop_redis()
                await asyncio.sleep(2.5)
                restart_redis()
                await asyncio.sleep(2.5)
                stop.set()

            arrived_at: dict[str, float] = {}

            async def watch_arrivals() -> None:
                while True:
                    now = time.monotonic()
                    for event in therapist.events:
                        arrived_at.setdefault(event["id"], now)
                    await asyncio.sleep(0.05)

            watcher = asyncio.create_task(watch_arrivals())
            await asyncio.gather(keep_pressing(), outage())
            assert set(sender.acked) == set(sender.outbox)
            await therapist.wait_for(
                lambda: set(sender.acked) <= {e["id"] for e in therapist.events}, timeout=12
            )
            seen = therapist.seqs
            assert seen == sorted(set(seen)), "out of order or twice on one connection"
            await asyncio.sleep(0.1)
            watcher.cancel()
            delays = [arrived_at[event_id] - at for event_id, at in acked_at.items()]
            assert max(delays) <= 10, f"an event took {max(delays):.1f} s to arrive"
            await therapist.close()
            await sender.close()
            print(
                f"\nredis restart in flight: sends={len(sender.acked)} "
                f"internal={sender.internal} max_delay={max(delays):.2f}s"
            )
    finally:
        restart_redis()

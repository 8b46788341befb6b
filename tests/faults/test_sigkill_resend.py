"""Guarantee 1 under repeated crashes: a client that resends every unacknowledged send with the
same id, while `comfort serve` (SQLite) is SIGKILLed at random moments, ends with every acked
send stored exactly once, at the position its ack named (the client's own numbering, contract
§9.1), and a gap-free log."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import aiohttp
import pytest

from tests.faults.resending import FAST, ResendingClient, all_events
from tests.support import Api, ServiceProcess, numbered_apart, own_positions

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

KILLS = 8


async def test_acked_sends_are_stored_once_across_random_sigkills(tmp_path: Path) -> None:
    rng = random.Random(8_2026)
    service = await ServiceProcess(tmp_path, env=FAST).start()
    kills = 0
    try:
        async with aiohttp.ClientSession() as http:
            api = Api(service.url, http=http)
            created = await api.create(clients=2)
            sid = created["session"]["id"]
            await numbered_apart(service.url, created["tokens"]["c-2"])
            sender = ResendingClient(service.url, created["tokens"]["c-1"], rng)
            stop_sending = asyncio.Event()

            async def keep_pressing() -> None:
                deadline = time.monotonic() + 90
                while not stop_sending.is_set():
                    for _ in range(rng.randrange(3, 9)):
                        sender.press()
                    await sender.flush(deadline)
                    await sender.resend_some_acked(2)

            async def killer() -> None:
                nonlocal kills
                for _ in range(KILLS):
                    # Let some sends through, then kill at a random moment of the stream.
                    await asyncio.sleep(rng.uniform(0.15, 0.9))
                    service.kill()
                    kills += 1
                    await asyncio.sleep(rng.uniform(0.0, 0.2))
                    await service.start()
                stop_sending.set()

            await asyncio.gather(keep_pressing(), killer())
            # Everything still in the outbox goes through once the service stays up.
            await sender.drain(time.monotonic() + 20)
            assert set(sender.acked) == set(sender.outbox)
            await sender.close()

            events = await all_events(api, sid)
            seqs = [e["seq"] for e in events]
            assert seqs == list(range(1, len(events) + 1)), "the log has a gap or a repeat"
            mine = [e for e in events if e["actor"]["id"] == "c-1"]
            stored_ids = [e["id"] for e in mine]
            assert len(stored_ids) == len(set(stored_ids)), "an id was stored twice"
            by_id = {e["id"]: e for e in mine}
            positions = own_positions(events, "c-1")  # what acks name (contract §9.1)
            for event_id, position in sender.acked.items():
                assert positions[event_id] == position != by_id[event_id]["seq"], event_id
                assert by_id[event_id]["type"] == sender.outbox[event_id]["type"]
            assert set(by_id) == set(sender.acked), "something was stored that was never acked"
            assert kills >= KILLS
            assert sender.duplicate_acks, "resends of acked ids were answered as duplicates"
            print(
                f"\nsigkill: kills={kills} sends={len(sender.acked)} "
                f"failed_calls={sender.failures} internal={sender.internal} "
                f"duplicate_acks={len(sender.duplicate_acks)} log={len(events)}"
            )
    finally:
        service.kill()

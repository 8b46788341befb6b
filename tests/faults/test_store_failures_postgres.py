"""PostgreSQL connections terminated under a running service (`pg_terminate_backend`) while a
client keeps sending: a send that fails is answered `internal` (never acked), later sends go
through without a restart, and nothing acked is lost or stored twice."""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import aiohttp
import asyncpg
import pytest

from tests.cluster.conftest import PG_ADMIN, pg_database  # noqa: F401 (fixture)
from tests.faults.resending import FAST, ResendingClient, all_events
from tests.support import Api, Peer, ServiceProcess, numbered_apart, own_positions

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(90)]

TERMINATIONS = 6


async def terminate_backends(database: str) -> int:
    admin = await asyncpg.connect(PG_ADMIN)
    try:
        rows = await admin.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            database,
        )
        return len(rows)
    finally:
        await admin.close()


async def test_terminated_connections_fail_sends_with_internal_and_heal_without_restart(
    tmp_path: Path,
    pg_database: str,  # noqa: F811
) -> None:
    database = pg_database.rsplit("/", 1)[1]
    rng = random.Random(5432)
    env = {**FAST, "COMFORT_DATABASE_URL": pg_database}
    service = await ServiceProcess(tmp_path, env=env).start()
    terminated = 0
    try:
        async with aiohttp.ClientSession() as http:
            api = Api(service.url, http=http)
            created = await api.create(clients=2)
            sid = created["session"]["id"]
            await numbered_apart(service.url, created["tokens"]["c-2"])
            sender = ResendingClient(service.url, created["tokens"]["c-1"], rng)
            done = asyncio.Event()

            async def keep_pressing() -> None:
                deadline = time.monotonic() + 60
                while not done.is_set():
                    for _ in range(rng.randrange(4, 10)):
                        sender.press()
                    await sender.flush(deadline)

            async def terminator() -> None:
                nonlocal terminated
                for _ in range(TERMINATIONS):
                    await asyncio.sleep(rng.uniform(0.2, 0.8))
                    terminated += await terminate_backends(database)
                await asyncio.sleep(0.5)
                done.set()

            await asyncio.gather(keep_pressing(), terminator())
            await sender.drain(time.monotonic() + 20)
            assert set(sender.acked) == set(sender.outbox), "some sends never got through"
            assert sender.internal > 0, "no send failed: the terminations hit nothing"
            # The same process serves on: no restart happened.
            assert service.proc is not None and service.proc.poll() is None
            status, body = await api.call("GET", "/readyz")
            assert status == 200, body
            await sender.close()

            events = await all_events(api, sid)
            assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
            mine = own_positions(events, "c-1")  # what acks name (contract §9.1)
            assert len(mine) == len([e for e in events if e["actor"]["id"] == "c-1"])
            assert mine == sender.acked
            print(
                f"\npg_terminate_backend: rounds={TERMINATIONS} backends={terminated} "
                f"sends={len(sender.acked)} internal={sender.internal} "
                f"transport_failures={sender.failures}"
            )
    finally:
        service.kill()


async def test_a_send_whose_id_holds_nul_is_refused_before_it_can_fail_a_shared_commit(
    tmp_path: Path,
    pg_database: str,  # noqa: F811
) -> None:
    """PostgreSQL text cannot hold NUL: such an id reaching the store failed the whole commit,
    other sessions' sends in it included, and its resend did it again. It is `invalid_payload`
    (service/events.py `is_event_id`), and the sends beside it are stored."""
    service = ServiceProcess(tmp_path, env={**FAST, "COMFORT_DATABASE_URL": pg_database})
    await service.start()
    peers: list[Peer] = []
    try:
        async with aiohttp.ClientSession() as http:
            api = Api(service.url, http=http)
            first, second = await api.create(), await api.create()
            bad = await Peer(service.url, first["tokens"]["c-1"]).connect()
            good = await Peer(service.url, second["tokens"]["c-1"]).connect()
            peers += [bad, good]
            for _ in range(3):
                refused, stored = await asyncio.gather(
                    bad.send("pause", id="nul\x00id"), good.send("keep_going")
                )
                assert refused["ok"] is False, refused
                assert refused["error"]["code"] == "invalid_payload", refused
                assert stored["ok"] is True, stored
            assert (await bad.send("pause", id="clean"))["ok"]
    finally:
        for peer in peers:
            await peer.close()
        service.kill()

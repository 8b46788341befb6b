"""Durable appends per second through `append_batch`, on SQLite and PostgreSQL.

Not a test (it gates nothing): `python -m bench.append_contention [--seconds 3]` prints a table.
Every append is acknowledged only after its commit, as in the service:

- `serial`: one sender, one event per batch: the commit latency bound.
- `group 1 session` / `group 100 sessions`: 100 senders, each waiting for its ack before the next
  send, through the service's `SessionLog` (group commit: appends that arrive during a commit go
  into the next one), into one session or one session each.
- PostgreSQL `2 procs`: the same 100 sessions written by two stores with a `SessionLog` each (two
  pools, as two service processes would), contending for the same rows.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import tempfile
import time
from pathlib import Path

import asyncpg

from service.log import SessionLog
from service.metrics import Metrics
from service.store.base import Store
from service.store.postgres import PostgresStore
from service.store.sqlite import SQLiteStore
from tests.store.conftest import ADMIN_URL, with_database
from tests.store.support import new_session, send


async def _sessions(store: Store, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        record = new_session()
        await store.create_session(record)
        ids.append(record.id)
    return ids


async def serial(store: Store, seconds: float) -> float:
    [sid] = await _sessions(store, 1)
    done, deadline = 0, time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        await store.append_batch([send(sid)])
        done += 1
    return done / (time.perf_counter() - started)


async def grouped(stores: list[Store], sessions: int, senders: int, seconds: float) -> float:
    ids = await _sessions(stores[0], sessions)
    logs = [SessionLog(store, Metrics()) for store in stores]
    for log in logs:
        await log.start()
    count = 0
    deadline = time.perf_counter() + seconds

    async def sender(n: int) -> None:
        nonlocal count
        log, sid = logs[n % len(logs)], ids[n % len(ids)]
        while time.perf_counter() < deadline:
            await log.append(send(sid))
            count += 1

    started = time.perf_counter()
    await asyncio.gather(*(sender(n) for n in range(senders)))
    elapsed = time.perf_counter() - started
    for log in logs:
        await log.stop()
    return count / elapsed


async def run(seconds: float) -> None:
    rows: list[tuple[str, str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:

        def opened() -> SQLiteStore:
            return SQLiteStore(Path(tmp) / f"{secrets.token_hex(4)}.db")

        for name, scenario in (
            ("serial", lambda s: serial(s[0], seconds)),
            ("group 1 session", lambda s: grouped(s, 1, 100, seconds)),
            ("group 100 sessions", lambda s: grouped(s, 100, 100, seconds)),
        ):
            store = opened()
            await store.open()
            rows.append(("sqlite", name, await scenario([store])))
            await store.close()

    database = f"comfort_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(ADMIN_URL)
    await admin.execute(f'CREATE DATABASE "{database}"')
    try:
        url = with_database(ADMIN_URL, database)
        for name, procs, scenario in (
            ("serial", 1, lambda s: serial(s[0], seconds)),
            ("group 1 session", 1, lambda s: grouped(s, 1, 100, seconds)),
            ("group 100 sessions", 1, lambda s: grouped(s, 100, 100, seconds)),
            ("group 100 sessions, 2 procs", 2, lambda s: grouped(s, 100, 100, seconds)),
        ):
            stores = [PostgresStore(url) for _ in range(procs)]
            for pg in stores:
                await pg.open()
            rows.append(("postgres", name, await scenario(stores)))
            for pg in stores:
                await pg.close()
    finally:
        await admin.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
        await admin.close()

    print(f"{'store':<10} {'scenario':<30} {'appends/s':>10}")
    for store_name, name, rate in rows:
        print(f"{store_name:<10} {name:<30} {rate:>10.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    asyncio.run(run(args.seconds))


if __name__ == "__main__":
    main()

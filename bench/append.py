"""Durable appends per second: the service's own writer (`SessionLog`, group commit) over each
store, in this process, with every append awaiting its own durable commit.

Three shapes: one session with one append in flight at a time (commit latency bound), one session
with many in flight, and many sessions with one in flight each (what a busy process sees).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from service.events import Actor, Role
from service.log import SessionLog
from service.metrics import Metrics
from service.store import store_for_url
from service.store.base import (
    AppendRequest,
    ParticipantRecord,
    SessionRecord,
    SessionStateName,
    Store,
    utc_now,
)

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def _record(tag: str, n: int) -> SessionRecord:
    return SessionRecord(
        id=f"ses_bench_{tag}_{n}_{secrets.token_hex(4)}",
        tenant_id="bench",
        platform="generic",
        external_id=f"bench-{tag}-{n}-{secrets.token_hex(6)}",
        state=SessionStateName.OPEN,
        created_at=utc_now(),
        scheduled_minutes=50,
        participants=(ParticipantRecord("t-1", "therapist"), ParticipantRecord("c-1", "client")),
        settings={"cues": {}},
        epoch=secrets.token_hex(8),
    )


async def _drive(log: SessionLog, session_ids: list[str], per_session: int, seconds: float) -> int:
    """`per_session` appenders on each session for `seconds`; how many events were stored."""
    actor = Actor("c-1", Role.CLIENT)
    stop_at = time.perf_counter() + seconds
    stored = 0

    async def appender(session_id: str, lane: int) -> None:
        nonlocal stored
        n = 0
        while time.perf_counter() < stop_at:
            request = AppendRequest(
                session_id=session_id,
                actor=actor,
                type="keep_going",
                event_id=f"a-{lane}-{n}",
                data={},
            )
            result = await log.append(request)
            stored += result.event is not None
            n += 1

    await asyncio.gather(
        *(appender(sid, lane) for sid in session_ids for lane in range(per_session))
    )
    return stored


async def measure(store: Store, seconds: float, many: int = 500) -> dict[str, float]:
    """Appends per second for the three shapes, on an opened `store`."""
    log = SessionLog(store, Metrics())
    await log.start()
    try:
        tag = secrets.token_hex(3)
        records = [_record(tag, n) for n in range(many + 1)]
        for record in records:
            await store.create_session(record)
        figures: dict[str, float] = {}
        for name, ids, lanes in (
            ("single_session_sequential", [records[0].id], 1),
            ("single_session_64_in_flight", [records[0].id], 64),
            (f"{many}_sessions_concurrent", [r.id for r in records[1:]], 1),
        ):
            started = time.perf_counter()
            batches = log.batches
            stored = await _drive(log, ids, lanes, seconds)
            elapsed = time.perf_counter() - started
            figures[name] = round(stored / elapsed, 1)
            figures[name + "_events_per_commit"] = round(stored / max(1, log.batches - batches), 1)
        return figures
    finally:
        await log.stop()


async def sqlite(seconds: float) -> dict[str, Any]:
    """The SQLite store (WAL, synchronous=FULL) in a fresh file on this machine's disk."""
    workdir = Path(tempfile.mkdtemp(prefix="comfort-bench-append-"))
    store = store_for_url(f"sqlite:///{workdir}/comfort.db")
    await store.open()
    try:
        return await measure(store, seconds)
    finally:
        await store.close()


async def postgres(seconds: float, admin_url: str = POSTGRES_URL) -> dict[str, Any]:
    """The PostgreSQL store, when `service/store/postgres.py` exists and the server answers.

    Runs in a database made for this run (`comfort_bench_<hex>`), dropped at the end.
    """
    try:
        import asyncpg

        from service.store.postgres import PostgresStore  # noqa: F401
    except ImportError as exc:
        return {"skipped": f"no PostgreSQL store in the service yet ({exc.name})"}
    name = f"comfort_bench_{secrets.token_hex(4)}"
    try:
        admin = await asyncpg.connect(admin_url, timeout=5)
    except Exception as exc:
        return {"skipped": f"PostgreSQL at 127.0.0.1:5432 unusable: {type(exc).__name__}: {exc}"}
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        parts = urlsplit(admin_url)
        store = store_for_url(urlunsplit(parts._replace(path=f"/{name}", query="")))
        await asyncio.wait_for(store.open(), 15)
        try:
            return await measure(store, seconds)
        finally:
            with contextlib.suppress(Exception):
                await store.close()
    finally:
        with contextlib.suppress(Exception):
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> None:
    """`python -m bench.append SECONDS`: both stores' figures as one JSON line."""
    import json
    import sys

    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 3.0

    async def both() -> dict[str, Any]:
        figures: dict[str, Any] = {}
        for name, measure in (("sqlite", sqlite), ("postgres", postgres)):
            try:
                figures[name] = await measure(seconds)
            except Exception as exc:
                figures[name] = {"skipped": f"failed: {type(exc).__name__}: {exc}"}
        return figures

    print(json.dumps(asyncio.run(both())))


if __name__ == "__main__":
    main()

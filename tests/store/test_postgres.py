"""What only the PostgreSQL store must do: stay correct with several processes writing at once,
migrate once when they start together, and survive its server going away and coming back."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import asyncpg
import pytest
import structlog
import structlog.testing

from service.errors import StoreUnavailable
from service.events import Actor, Role
from service.store.base import AppendOutcome, AppendResult
from service.store.migrations import load_migrations
from service.store.postgres import PostgresStore
from tests.store.conftest import PostgresServer
from tests.store.support import CLIENT, new_session, send

pytestmark = pytest.mark.postgres
T = TypeVar("T")

PgFactory = Callable[..., Awaitable[PostgresStore]]


@pytest.fixture
async def pg_store_factory(
    postgres_server: PostgresServer, pg_schema: str
) -> AsyncIterator[PgFactory]:
    """Open PostgresStores on one fresh schema; each has its own pool, as a process would."""
    opened: list[PostgresStore] = []

    async def factory(url: str | None = None, **options: object) -> PostgresStore:
        store = PostgresStore(url or postgres_server.schema_url(pg_schema), **options)  # type: ignore[arg-type]
        await store.open()
        opened.append(store)
        return store

    yield factory
    for store in opened:
        await store.close()


# -- several processes -----------------------------------------------------------------------


async def test_two_processes_appending_to_one_session_keep_its_log_gap_free_and_unique(
    pg_store_factory: PgFactory,
) -> None:
    """Two stores (two pools, as two service processes) append to the same session at once,
    including the same idempotency keys raced through both: every key is stored once, the
    loser of each race is answered DUPLICATE with the winner's seq, and seqs are 1..N."""
    first = await pg_store_factory(max_size=4)
    second = await pg_store_factory(max_size=4)
    record = new_session()
    await first.create_session(record)
    actors = [Actor(f"c-{n}", Role.CLIENT) for n in range(4)]
    raced = [f"raced-{n}" for n in range(40)]

    async def writer(store: PostgresStore, name: str) -> list[tuple[str, str, AppendResult]]:
        answers = []
        for n in range(40):
            actor = actors[n % len(actors)]
            batch = [
                send(record.id, f"{name}-{n}", actor=actor),
                send(record.id, raced[n], actor=CLIENT),
                send(record.id, f"{name}-{n}-b", actor=actor),
            ]
            results = await store.append_batch(batch)
            answers += [
                (r.actor.id, r.event_id, res) for r, res in zip(batch, results, strict=True)
            ]
        return answers

    tasks = [
        writer(store, f"{name}{k}")
        for (name, store), k in itertools.product((("a", first), ("b", second)), range(3))
    ]
    answers = [a for part in await asyncio.gather(*tasks) for a in part]

    log = await first.read_events(record.id, 0, 10_000)
    assert [e.seq for e in log] == list(range(1, len(log) + 1))
    keys = [(e.actor.id, e.id) for e in log]
    assert len(keys) == len(set(keys))
    assert {key[1] for key in keys} == {event_id for _, event_id, _ in answers}
    seq_of = {(e.actor.id, e.id): e.seq for e in log}
    stored = [a for a in answers if a[2].outcome is AppendOutcome.STORED]
    duplicates = [a for a in answers if a[2].outcome is AppendOutcome.DUPLICATE]
    assert len(stored) == len(log)
    assert all(seq_of[(actor, event_id)] == res.seq for actor, event_id, res in stored)
    assert all(seq_of[(actor, event_id)] == res.seq for actor, event_id, res in duplicates)
    assert {event_id for _, event_id, _ in duplicates} == set(raced)
    assert len(duplicates) == 6 * 40 - len(raced)  # six writers sent each raced key
    assert (await second.head_seqs([record.id]))[record.id] == len(log)


async def test_batches_locking_the_same_sessions_in_opposite_orders_never_deadlock(
    pg_store_factory: PgFactory,
) -> None:
    first = await pg_store_factory()
    second = await pg_store_factory()
    a, b = new_session(), new_session()
    await first.create_session(a)
    await first.create_session(b)

    async def writer(store: PostgresStore, order: tuple[str, str]) -> None:
        for _ in range(50):
            results = await store.append_batch([send(order[0]), send(order[1])])
            assert [r.outcome for r in results] == [AppendOutcome.STORED] * 2

    await asyncio.wait_for(
        asyncio.gather(writer(first, (a.id, b.id)), writer(second, (b.id, a.id))), timeout=60
    )

    for session_id in (a.id, b.id):
        assert [e.seq for e in await first.read_events(session_id, 0, 1000)] == list(range(1, 101))


async def test_processes_starting_together_migrate_the_schema_once(
    postgres_server: PostgresServer, pg_schema: str
) -> None:
    stores = [PostgresStore(postgres_server.schema_url(pg_schema)) for _ in range(5)]
    try:
        await asyncio.gather(*(store.open() for store in stores))
        rows = await stores[0].pool.fetch("SELECT version FROM schema_migrations ORDER BY 1")
        assert [r[0] for r in rows] == [m.version for m in load_migrations("postgres")]
    finally:
        for store in stores:
            await store.close()


async def test_an_erase_waits_for_an_append_in_flight_and_later_appends_find_it_missing(
    pg_store_factory: PgFactory,
) -> None:
    first = await pg_store_factory()
    second = await pg_store_factory()
    record = new_session()
    await first.create_session(record)
    await first.append_batch([send(record.id)])

    appends = [first.append_batch([send(record.id)]) for _ in range(20)]
    outcome = await asyncio.gather(second.erase_session(record.id), *appends)

    assert outcome[0] is True
    assert await first.read_events(record.id, 0, 100) == []
    assert [r.outcome for r in await second.append_batch([send(record.id)])] == [
        AppendOutcome.MISSING
    ]


async def test_erase_sessions_erases_many_at_once_and_names_those_that_existed(
    pg_store_factory: PgFactory,
) -> None:
    store = await pg_store_factory()
    records = [new_session() for _ in range(4)]
    for record in records:
        await store.create_session(record)
        await store.append_batch([send(record.id), send(record.id)])
    doomed = [records[2].id, "ses_unknown", records[0].id, records[2].id]

    erased = await store.erase_sessions(doomed)

    assert erased == [records[2].id, records[0].id]
    assert await store.head_seqs([r.id for r in records]) == {
        records[1].id: 2,
        records[3].id: 2,
    }
    assert await store.read_events(records[0].id, 0, 10) == []
    assert await store.erase_sessions([]) == []


async def test_concurrent_erases_all_finish_and_leave_no_dead_tuples(
    pg_store_factory: PgFactory, postgres_server: PostgresServer
) -> None:
    """Erases that arrive together share VACUUMs; each returns only once its rows are gone
    from the pages, dead tuples included."""
    if "pageinspect" not in postgres_server.extensions:
        pytest.skip("pageinspect is not available to look at the tuples left behind")
    store = await pg_store_factory()
    kept, *records = [new_session() for _ in range(7)]
    for record in (kept, *records):
        await store.create_session(record)
        await store.append_batch([send(record.id) for _ in range(5)])

    assert await asyncio.gather(*(store.erase_session(r.id) for r in records)) == [True] * 6

    tuples = await store.pool.fetchval(
        "SELECT count(*) FROM generate_series(0, pg_relation_size('events') / 8192 - 1) AS b, "
        "public.heap_page_items(public.get_raw_page('events', b::int)) WHERE t_data IS NOT NULL"
    )
    assert tuples == 5  # the kept session's events, and no dead tuple


async def test_the_pool_size_can_be_set_in_the_database_url(
    postgres_server: PostgresServer, pg_schema: str
) -> None:
    store = PostgresStore(
        postgres_server.schema_url(pg_schema) + "&pool_min_size=2&pool_max_size=3"
    )
    assert (store.min_size, store.max_size) == (2, 3)
    assert "pool_" not in store.database_url and "search_path" in store.database_url
    await store.open()
    try:
        assert store.pool.get_min_size() == 2 and store.pool.get_max_size() == 3
    finally:
        await store.close()


async def test_with_erase_vacuum_full_no_byte_of_an_erased_session_is_left_in_the_files(
    pg_store_factory: PgFactory, postgres_server: PostgresServer, pg_schema: str
) -> None:
    """`erase_vacuum=full` rewrites the tables: after a checkpoint, the relation files on disk
    (heap, indexes, TOAST) hold nothing of the erased session. (The default, plain VACUUM,
    leaves no tuple or index entry, but freed page space keeps old bytes until reused.)"""
    store = await pg_store_factory(postgres_server.schema_url(pg_schema) + "&erase_vacuum=full")
    kept = new_session(client_name="Kept Person")
    erased = new_session(client_name="Fully Erased Displayname")
    for record in (kept, erased):
        await store.create_session(record)
    for n in range(20):
        await store.append_batch([send(erased.id, f"evt-full-erase-{n}"), send(kept.id)])
    await store.claim_webhook_delivery("acme", "zoom", "dlv-full-erase", erased.id)
    marks = (b"Fully Erased Displayname", b"evt-full-erase-", b"dlv-full-erase")
    admin = await asyncpg.connect(postgres_server.url)
    try:
        before = await _relation_file_bytes(admin, pg_schema)
        assert all(mark in before for mark in marks)

        assert await store.erase_session(erased.id) is True

        after = await _relation_file_bytes(admin, pg_schema)
        assert [mark for mark in marks if mark in after] == []
        assert b"Kept Person" in after
    finally:
        await admin.close()


# -- durability settings ---------------------------------------------------------------------


async def test_commits_are_synchronous_even_when_the_server_default_is_not(
    pg_store_factory: PgFactory,
) -> None:
    store = await pg_store_factory(server_settings={"synchronous_commit": "off"}, min_size=2)

    async with store.pool.acquire() as conn:
        assert await conn.fetchval("SHOW synchronous_commit") == "on"


async def test_a_connection_given_back_is_not_reset_and_the_migration_lock_is_not_kept(
    pg_store_factory: PgFactory, postgres_server: PostgresServer
) -> None:
    """asyncpg's default reset (`SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *;
    RESET ALL;`) is a round trip on every release; the store's pool skips it (issue 18, round
    seven), so the backend's last statement is the store's own, and the session-level lock
    migrations take is on a connection of its own, closed once they are done."""
    name = f"comfort-test-{secrets.token_hex(4)}"
    store = await pg_store_factory(server_settings={"application_name": name}, min_size=1)
    marker = f"SELECT 1 AS released_{secrets.token_hex(4)}"
    async with store._connection() as conn:  # the store's own way to a pooled connection
        await conn.fetchval(marker)
    admin = await asyncpg.connect(postgres_server.url)
    try:
        last = await admin.fetch(
            "SELECT query FROM pg_stat_activity WHERE application_name = $1", name
        )
        held = await admin.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
        )
    finally:
        await admin.close()
    assert marker in [row["query"] for row in last]
    assert not any("RESET ALL" in row["query"] for row in last)
    assert held == 0


async def test_a_transaction_left_open_is_rolled_back_when_its_connection_is_given_back(
    pg_store_factory: PgFactory,
) -> None:
    """Without the reset query, asyncpg's own release still ends an open transaction."""
    store = await pg_store_factory(min_size=1, max_size=1)
    record = new_session()
    await store.create_session(record)
    async with store.pool.acquire() as conn:
        await conn.execute("BEGIN")
        await conn.execute("UPDATE sessions SET head_seq = 99 WHERE id = $1", record.id)

    assert (await store.head_seqs([record.id]))[record.id] == 0
    results = await store.append_batch([send(record.id, "after")])
    assert [(r.outcome, r.seq) for r in results] == [(AppendOutcome.STORED, 1)]


async def test_a_resent_id_found_by_the_unique_index_is_answered_without_a_retry_warning(
    pg_store_factory: PgFactory,
) -> None:
    """The first attempt plans without reading the stored ids; a resend the index refuses is
    planned again against them: answered as a duplicate, and not logged as a conflict."""
    store = await pg_store_factory()
    record = new_session()
    await store.create_session(record)
    await store.append_batch([send(record.id, "a")])

    with structlog.testing.capture_logs() as logs:
        results = await store.append_batch([send(record.id, "b"), send(record.id, "a")])

    assert [(r.outcome, r.seq) for r in results] == [
        (AppendOutcome.STORED, 2),
        (AppendOutcome.DUPLICATE, 1),
    ]
    assert [e for e in logs if e["event"] == "append_retried"] == []


# -- outages ---------------------------------------------------------------------------------


async def test_a_terminated_backend_fails_the_call_in_flight_and_the_pool_recovers(
    pg_store_factory: PgFactory, postgres_server: PostgresServer
) -> None:
    """`pg_terminate_backend` while an append waits on a row lock: that append raises
    StoreUnavailable and stores nothing; the next calls work without reopening the store."""
    name = f"comfort-test-{secrets.token_hex(4)}"
    store = await pg_store_factory(server_settings={"application_name": name}, min_size=2)
    record = new_session()
    await store.create_session(record)
    admin = await asyncpg.connect(postgres_server.url)
    try:
        blocker = admin.transaction()
        await blocker.start()
        schema = await store.pool.fetchval("SELECT current_schema()")
        await admin.execute(f"SELECT 1 FROM {schema}.sessions WHERE id = $1 FOR UPDATE", record.id)
        stuck = asyncio.create_task(store.append_batch([send(record.id, "lost")]))
        await _until(
            admin,
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1 "
            "AND wait_event_type = 'Lock'",
            name,
        )
        await admin.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            name,
        )
        with pytest.raises(StoreUnavailable):
            await asyncio.wait_for(stuck, timeout=10)
        await blocker.rollback()
    finally:
        await admin.close()

    results = await _eventually(lambda: store.append_batch([send(record.id, "kept")]))
    assert [(r.outcome, r.seq) for r in results] == [(AppendOutcome.STORED, 1)]
    assert await store.find_duplicate(record.id, CLIENT.id, "lost") is None


async def test_terminated_idle_connections_are_replaced_without_reopening_the_store(
    pg_store_factory: PgFactory, postgres_server: PostgresServer
) -> None:
    name = f"comfort-test-{secrets.token_hex(4)}"
    store = await pg_store_factory(server_settings={"application_name": name}, min_size=3)
    record = new_session()
    await store.create_session(record)
    admin = await asyncpg.connect(postgres_server.url)
    try:
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = $1",
            name,
        )
    finally:
        await admin.close()
    assert killed >= 1

    # At most one call may fail (with StoreUnavailable, never a driver error) before the pool
    # has replaced every stale connection.
    failures = 0
    for _ in range(5):
        try:
            await store.get_session(record.id)
        except StoreUnavailable:
            failures += 1
    assert failures <= 1
    assert await store.get_session(record.id) is not None


async def test_a_server_outage_is_store_unavailable_and_the_store_recovers_when_it_returns(
    pg_store_factory: PgFactory, postgres_server: PostgresServer, pg_schema: str
) -> None:
    """The server disappears (a proxy in front of it drops every connection and refuses new
    ones): calls fail fast with StoreUnavailable; when it is back, the same store works."""
    async with _Proxy("127.0.0.1", 5432) as proxy:
        url = postgres_server.schema_url(pg_schema).replace(
            "127.0.0.1:5432", f"127.0.0.1:{proxy.port}"
        )
        store = await pg_store_factory(url, connect_timeout=2.0)
        record = new_session()
        await store.create_session(record)

        await proxy.stop()
        loop = asyncio.get_running_loop()
        for _ in range(3):
            started = loop.time()
            with pytest.raises(StoreUnavailable):
                await store.append_batch([send(record.id, "while-down")])
            with pytest.raises(StoreUnavailable):
                await store.ping()
            assert loop.time() - started < 5

        await proxy.start()
        results = await _eventually(lambda: store.append_batch([send(record.id, "while-down")]))
        assert [(r.outcome, r.seq) for r in results] == [(AppendOutcome.STORED, 1)]


async def test_an_unreachable_server_at_start_is_store_unavailable() -> None:
    store = PostgresStore("postgresql://postgres@127.0.0.1:1/test", connect_timeout=2.0)
    with pytest.raises(StoreUnavailable):
        await store.open()
    with pytest.raises(StoreUnavailable):
        await store.ping()


# -- helpers ---------------------------------------------------------------------------------


async def _until(conn: asyncpg.Connection, sql: str, *args: object) -> None:
    for _ in range(200):
        if await conn.fetchval(sql, *args):
            return
        await asyncio.sleep(0.025)
    raise AssertionError(f"never true: {sql}")


async def _eventually(call: Callable[[], Awaitable[T]]) -> T:
    for _ in range(50):
        try:
            return await call()
        except StoreUnavailable:
            await asyncio.sleep(0.1)
    return await call()


async def _relation_file_bytes(conn: asyncpg.Connection, schema: str) -> bytes:
    """The on-disk files of every relation of the schema (and their TOAST), after a
    checkpoint has written the shared buffers out. Skips when they cannot be read here."""
    await conn.execute("CHECKPOINT")
    data_directory = Path(await conn.fetchval("SHOW data_directory"))
    paths = await conn.fetch(
        "SELECT pg_relation_filepath(c.oid) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1 OR c.oid IN (SELECT reltoastrelid FROM pg_class t "
        "JOIN pg_namespace tn ON tn.oid = t.relnamespace WHERE tn.nspname = $1) "
        "OR c.oid IN (SELECT i.indexrelid FROM pg_index i JOIN pg_class t "
        "ON t.oid = i.indrelid JOIN pg_class o ON o.reltoastrelid = t.oid "
        "JOIN pg_namespace tn ON tn.oid = o.relnamespace WHERE tn.nspname = $1)",
        schema,
    )
    found = bytearray()
    try:
        for (relative,) in paths:
            if relative is None:
                continue
            base = data_directory / relative
            for segment in [base, *base.parent.glob(base.name + ".[0-9]*")]:
                if segment.exists():
                    found += segment.read_bytes()
    except PermissionError:
        pytest.skip("the PostgreSQL data directory is not readable by the tests")
    return bytes(found)


class _Proxy:
    """A TCP proxy to the server that can be taken down (dropping every connection) and up."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def __aenter__(self) -> _Proxy:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.CancelledError):
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        sink.transport.abort()
        self._writers.discard(sink)

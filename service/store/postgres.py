"""The shared store of a deployment: PostgreSQL through an asyncpg connection pool.

Several service processes append to the same sessions at once. Each batch locks its sessions'
rows (in id order, so two batches never deadlock), then reads the idempotency keys, which under
READ COMMITTED include whatever the previous lock holder committed, plans with `plan_batch`,
and writes events and heads in one statement: one transaction, one commit per batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg
import orjson
import structlog

from ..errors import Conflict, QuotaExceeded, StoreUnavailable
from ..events import Event
from .base import (
    SESSION_TABLES,
    AppendRequest,
    AppendResult,
    AuditEntry,
    AuditQuery,
    OutboxClaim,
    PacingBacklog,
    PacingProgress,
    SessionRecord,
    SessionStateName,
    TimerSpec,
    utc_now,
)
from .batch import IdempotencyKey, SessionHead, plan_batch
from .codec import participants_json, session_from_row
from .migrations import load_migrations

log = structlog.get_logger(__name__)

AUDIT_DELETE_BATCH = 5000  # audit entries `comfort purge` deletes per transaction

# The pg_advisory_lock key held while migrating (any constant no other application uses).
MIGRATION_LOCK_KEY = 0x5C0FF0C0_4D16_0001
# With a tenant's hashtext, the pg_advisory_xact_lock held while a session is created under a
# quota (`create_session`'s `max_active`): creates of one tenant count and insert one at a time.
QUOTA_LOCK_CLASS = 0x5C0F0002
# Errors that mean the server or the connection is gone (or refusing work): the call fails with
# StoreUnavailable and the pool replaces its connections, so the next call reconnects.
_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, terminated backend
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections, disk full
    asyncpg.exceptions.ReadOnlySQLTransactionError,  # connected to a standby after a failover
)
# Conflicts a concurrent writer can cause; the whole batch is planned again. With the session
# rows locked first they should not happen; retrying keeps a racing duplicate from raising.
_RETRY_ERRORS = (
    asyncpg.UniqueViolationError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.SerializationError,
)
_ATTEMPTS = 3
# Query parameters of COMFORT_DATABASE_URL for the store itself, not for the connection.
_STORE_OPTIONS = ("pool_min_size", "pool_max_size", "erase_vacuum")
# How an erase vacuums: "plain" removes every tuple and index entry of the session and keeps the
# tables available; "full" rewrites the tables into new files (ACCESS EXCLUSIVE: every append
# waits for the rewrite), so no byte of the session is left in any data file.
_ERASE_VACUUM = {"plain": "VACUUM (INDEX_CLEANUP ON)", "full": "VACUUM (FULL)"}

# FOR NO KEY UPDATE: appenders exclude each other (and an erase's DELETE), but not
# `save_pacing`, which only needs the row to stay (FOR KEY SHARE).
_LOCK_SESSIONS = (
    "SELECT id, state, head_seq FROM sessions WHERE id = ANY($1::text[]) "
    "ORDER BY id FOR NO KEY UPDATE"
)
_STORED_KEYS = (
    "SELECT e.session_id, e.actor_id, e.event_id, e.seq "
    "FROM unnest($1::text[], $2::text[], $3::text[]) AS k(session_id, actor_id, event_id) "
    "JOIN events AS e ON e.session_id = k.session_id AND e.actor_id = k.actor_id "
    "AND e.event_id = k.event_id"
)
_WRITE_BATCH = (
    "WITH inserted AS ("
    " INSERT INTO events (session_id, seq, actor_id, event_id, type, body)"
    " SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[],"
    " $6::bytea[]) RETURNING 1"
    ") "
    "UPDATE sessions AS s SET head_seq = h.head_seq, state = h.state, "
    "started_at = COALESCE(s.started_at, h.started_at), "
    "ended_at = COALESCE(s.ended_at, h.ended_at) "
    "FROM unnest($7::text[], $8::bigint[], $9::text[], $10::timestamptz[], $11::timestamptz[])"
    " AS h(id, head_seq, state, started_at, ended_at) "
    "WHERE s.id = h.id"
)


def _idempotency_conflict(exc: BaseException) -> bool:
    """The events' unique index on (session, actor, id) refused an insert: a resent id."""
    return (
        isinstance(exc, asyncpg.UniqueViolationError)
        and getattr(exc, "constraint_name", None) == "events_idempotency"
    )


async def _released(conn: asyncpg.Connection) -> None:
    """What the pool does to a connection given back, after asyncpg's own `_reset` (which
    rolls back a transaction left open and drops listeners): nothing more.

    asyncpg's default sends `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET
    ALL;`, a round trip to the server on every use of a connection: a sixth of an append's
    (issue 18, round seven in `bench/README.md`). This store leaves none of that state on a
    pooled connection: no session-level lock (the migration lock is taken on a connection of
    its own), no cursor outside a transaction, no LISTEN, no SET (settings are the connection's
    startup parameters, `server_settings`)."""


def millis(moment: datetime) -> datetime:
    """`moment` in UTC cut to milliseconds: what SQLite's RFC 3339 text keeps of it."""
    utc = moment.astimezone(UTC)
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000)


def _maybe_millis(moment: datetime | None) -> datetime | None:
    return millis(moment) if moment is not None else None


class PostgresStore:
    """`Store` on PostgreSQL; shared by every process of a deployment.

    Args:
        database_url: `postgresql://user@host:port/db`. `pool_min_size` and `pool_max_size` in
            its query set the pool's bounds (default 1 and 10), `erase_vacuum=full` makes
            erasure rewrite the tables (see `_ERASE_VACUUM`); other query parameters (for
            example `?search_path=…` or `?sslmode=require`) go to asyncpg, which passes those
            it does not know to the server as settings.
        min_size, max_size: the pool's bounds, when the URL does not set them.
        connect_timeout: seconds to wait for a new connection before the call fails.
        server_settings: more settings for every connection.
    """

    dialect = "postgres"
    commits_in_place = False  # a commit is a round trip to the server

    def __init__(
        self,
        database_url: str,
        *,
        min_size: int = 1,
        max_size: int = 10,
        connect_timeout: float = 5.0,
        server_settings: dict[str, str] | None = None,
    ) -> None:
        parts = urlsplit(database_url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        options = dict(query)
        self.database_url = urlunsplit(
            parts._replace(query=urlencode([(k, v) for k, v in query if k not in _STORE_OPTIONS]))
        )
        self.erase_vacuum = options.get("erase_vacuum", "plain")
        if self.erase_vacuum not in _ERASE_VACUUM:
            raise ValueError("erase_vacuum in COMFORT_DATABASE_URL must be plain or full")
        self.min_size = int(options.get("pool_min_size", min_size))
        self.max_size = int(options.get("pool_max_size", max_size))
        self.connect_timeout = connect_timeout
        self.server_settings = dict(server_settings or {})
        if "application_name" not in options:
            self.server_settings.setdefault("application_name", "comfort")
        self._pool: asyncpg.Pool | None = None
        self._vacuum_lock = asyncio.Lock()
        self._vacuums_started = 0

    # -- lifecycle ---------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect the pool and apply pending migrations.

        Raises:
            StoreUnavailable: the server cannot be reached.
        """
        self._pool = await self._create_pool()
        async with self._connection() as conn:
            fsync, commit = await conn.fetchrow(
                "SELECT current_setting('fsync'), current_setting('synchronous_commit')"
            )
        if commit == "off":
            # An acknowledged send must survive a crash (contract §4.1): never commit
            # asynchronously, whatever the server's or the URL's default. A startup
            # parameter of every connection, which nothing here SETs otherwise.
            log.warning("store_synchronous_commit_forced", dialect=self.dialect)
            self.server_settings["synchronous_commit"] = "on"
            await self._pool.close()
            self._pool = await self._create_pool()
        if fsync != "on":
            log.warning("store_not_durable", dialect=self.dialect, fsync=fsync)
        # On a connection of its own, closed after: the migration lock is session-level, and
        # pooled connections are not reset between uses (`_released`).
        try:
            conn = await asyncpg.connect(
                self.database_url,
                timeout=self.connect_timeout,
                server_settings=self.server_settings,
            )
        except _CONNECTION_ERRORS as exc:
            raise StoreUnavailable(f"the store cannot be reached: {type(exc).__name__}") from exc
        try:
            await self._migrate(conn)
        finally:
            await conn.close()

    async def _create_pool(self) -> asyncpg.Pool:
        try:
            return await asyncpg.create_pool(
                self.database_url,
                min_size=self.min_size,
                max_size=self.max_size,
                timeout=self.connect_timeout,
                server_settings=self.server_settings,
                reset=_released,
            )
        except _CONNECTION_ERRORS as exc:
            raise StoreUnavailable(f"the store cannot be reached: {type(exc).__name__}") from exc

    async def _migrate(self, conn: asyncpg.Connection) -> None:
        # Several processes may start at once: one migrates, the others wait and then find
        # every version applied. The session-level lock outlives the per-migration commits.
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
        try:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                "name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
            )
            applied = {row[0] for row in await conn.fetch("SELECT version FROM schema_migrations")}
            for migration in load_migrations(self.dialect):
                if migration.version in applied:
                    continue
                async with conn.transaction():
                    await conn.execute(migration.sql)
                    await conn.execute(
                        "INSERT INTO schema_migrations VALUES ($1, $2, $3)",
                        migration.version,
                        migration.name,
                        millis(utc_now()),
                    )
                log.info("store_migrated", dialect=self.dialect, version=migration.version)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), timeout=10)
            except Exception:
                pool.terminate()

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise StoreUnavailable("the store is not open")
        return self._pool

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection; driver failures leave as `StoreUnavailable`."""
        pool = self.pool
        try:
            conn = await pool.acquire(timeout=self.connect_timeout)
        except TimeoutError as exc:
            # Every connection busy (or a new one not answering): not a sign the pooled ones
            # are dead, so they are kept.
            log.warning("store_unavailable", dialect=self.dialect, error="acquire_timeout")
            raise StoreUnavailable("the store did not answer in time") from exc
        except _CONNECTION_ERRORS as exc:
            log.warning("store_unavailable", dialect=self.dialect, error=type(exc).__name__)
            raise StoreUnavailable(f"the store is unavailable: {type(exc).__name__}") from exc
        try:
            yield conn
        except _CONNECTION_ERRORS as exc:
            # Connections opened before the failure are likely dead too (a server restart,
            # pg_terminate_backend): replace them all rather than fail once per connection.
            await pool.expire_connections()
            log.warning("store_unavailable", dialect=self.dialect, error=type(exc).__name__)
            raise StoreUnavailable(f"the store is unavailable: {type(exc).__name__}") from exc
        except asyncpg.InternalClientError as exc:
            # The driver lost track of the connection's protocol state (seen after
            # pg_terminate_backend: "cannot switch to state …; another operation is in
            # progress"): that connection can never be used again, and its siblings were likely
            # cut off the same way.
            conn.terminate()
            await pool.expire_connections()
            log.warning("store_unavailable", dialect=self.dialect, error=type(exc).__name__)
            raise StoreUnavailable(f"the store is unavailable: {type(exc).__name__}") from exc
        except asyncpg.PostgresError as exc:
            if isinstance(exc, _RETRY_ERRORS):
                raise  # the caller's to handle: a conflict or a retry
            log.error("store_failed", dialect=self.dialect, error=type(exc).__name__, exc_info=True)
            raise StoreUnavailable(f"the store failed: {type(exc).__name__}") from exc
        finally:
            with contextlib.suppress(Exception):  # a broken connection is dropped by the pool
                await pool.release(conn)

    async def ping(self) -> None:
        async with self._connection() as conn:
            await conn.fetchval("SELECT 1")

    # -- sessions ----------------------------------------------------------------------------

    async def create_session(self, record: SessionRecord, *, max_active: int = 0) -> None:
        try:
            async with self._connection() as conn, conn.transaction():
                if max_active:
                    await conn.execute(
                        "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                        QUOTA_LOCK_CLASS,
                        record.tenant_id,
                    )
                    active = await conn.fetchval(
                        "SELECT count(*) FROM sessions WHERE tenant_id = $1 AND state <> 'ended'",
                        record.tenant_id,
                    )
                    if active >= max_active:
                        raise QuotaExceeded.sessions(max_active)
                await conn.execute(
                    "INSERT INTO sessions (id, tenant_id, platform, external_id, state, "
                    "created_at, started_at, ended_at, scheduled_minutes, participants, "
                    "settings, epoch, head_seq) "
                    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0)",
                    record.id,
                    record.tenant_id,
                    record.platform,
                    record.external_id,
                    record.state.value,
                    millis(record.created_at),
                    _maybe_millis(record.started_at),
                    _maybe_millis(record.ended_at),
                    record.scheduled_minutes,
                    participants_json(record),
                    orjson.dumps(record.settings).decode(),
                    record.epoch,
                )
        except asyncpg.UniqueViolationError:
            raise Conflict(
                "a session with this platform and external_id is not ended yet"
            ) from None

    async def get_session(self, session_id: str) -> SessionRecord | None:
        row = await self._fetchrow("SELECT * FROM sessions WHERE id = $1", session_id)
        return session_from_row(row) if row is not None else None

    async def find_session(
        self, tenant_id: str, platform: str, external_id: str
    ) -> SessionRecord | None:
        row = await self._fetchrow(
            "SELECT * FROM sessions WHERE tenant_id = $1 AND platform = $2 "
            "AND external_id = $3 AND state <> 'ended'",
            tenant_id,
            platform,
            external_id,
        )
        return session_from_row(row) if row is not None else None

    async def list_sessions(self, states: tuple[str, ...]) -> list[SessionRecord]:
        rows = await self._fetch(
            "SELECT * FROM sessions WHERE state = ANY($1::text[]) ORDER BY created_at, id",
            list(states),
        )
        return [session_from_row(row) for row in rows]

    async def _fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        async with self._connection() as conn:
            return list(await conn.fetch(sql, *args))

    async def _fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        async with self._connection() as conn:
            row: asyncpg.Record | None = await conn.fetchrow(sql, *args)
            return row

    # -- the log -----------------------------------------------------------------------------

    async def flush(self) -> None:
        return None  # a commit returns after its WAL is flushed (synchronous_commit is on)

    async def append_batch(self, requests: list[AppendRequest]) -> list[AppendResult]:
        """One transaction; returns once committed (synchronous_commit is on).

        Resent ids are rare here (the engine answers most from memory), so the first attempt
        lets the unique index find them instead of reading every id first (a round trip saved
        on every batch); if it does, the batch is planned again, in a new transaction, against
        the ids stored, as on SQLite.
        """
        if not requests:
            return []
        optimistic = True
        attempt = 1
        while True:
            try:
                async with self._connection() as conn, conn.transaction():
                    return await self._append_locked(conn, requests, optimistic=optimistic)
            except _RETRY_ERRORS as exc:
                if optimistic and _idempotency_conflict(exc):
                    optimistic = False  # (not an attempt: a resent id, planned again)
                    continue
                if attempt == _ATTEMPTS:
                    raise StoreUnavailable("the store could not order the batch") from exc
                log.warning("append_retried", attempt=attempt, error=type(exc).__name__)
                attempt += 1

    async def _append_locked(
        self, conn: asyncpg.Connection, requests: list[AppendRequest], *, optimistic: bool
    ) -> list[AppendResult]:
        session_ids = sorted({r.session_id for r in requests})
        # The row locks serialize every writer of these sessions, across processes; the keys
        # are read only afterwards, so they include what the previous holder committed.
        locked = await conn.fetch(_LOCK_SESSIONS, session_ids)

        def heads_now() -> dict[str, SessionHead]:
            return {
                row["id"]: SessionHead(SessionStateName(row["state"]), row["head_seq"])
                for row in locked
            }

        heads = heads_now()
        now = utc_now()
        plan = plan_batch(requests, heads, {}, now) if optimistic else None
        if plan is None or not plan.stores_all:
            heads = heads_now()
            live = [r for r in requests if r.session_id in heads]
            stored: dict[IdempotencyKey, int] = {}
            if live:
                rows = await conn.fetch(
                    _STORED_KEYS,
                    [r.session_id for r in live],
                    [r.actor.id for r in live],
                    [r.event_id for r in live],
                )
                stored = {(row[0], row[1], row[2]): row[3] for row in rows}
            plan = plan_batch(requests, heads, stored, now)
        if not plan.inserts:
            return plan.results
        before = {row["id"]: row["head_seq"] for row in locked}
        written = [
            (req.session_id, res.event)
            for req, res in zip(requests, plan.results, strict=True)
            if res.event is not None
        ]
        moved = {sid: head for sid, head in heads.items() if head.head_seq != before[sid]}
        await conn.execute(
            _WRITE_BATCH,
            [sid for sid, _ in written],
            [ev.seq for _, ev in written],
            [ev.actor.id for _, ev in written],
            [ev.id for _, ev in written],
            [ev.type for _, ev in written],
            [ev.wire for _, ev in written],
            list(moved),
            [h.head_seq for h in moved.values()],
            [h.state.value for h in moved.values()],
            [_maybe_millis(h.started_at) for h in moved.values()],
            [_maybe_millis(h.ended_at) for h in moved.values()],
        )
        return plan.results

    async def read_events(self, session_id: str, after_seq: int, limit: int) -> list[Event]:
        rows = await self._fetch(
            "SELECT body FROM events WHERE session_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            session_id,
            after_seq,
            limit,
        )
        return [Event.from_wire(row[0]) for row in rows]

    async def find_duplicate(self, session_id: str, actor_id: str, event_id: str) -> int | None:
        row = await self._fetchrow(
            "SELECT seq FROM events WHERE session_id = $1 AND actor_id = $2 AND event_id = $3",
            session_id,
            actor_id,
            event_id,
        )
        return int(row[0]) if row is not None else None

    async def head_seqs(self, session_ids: list[str]) -> dict[str, int]:
        if not session_ids:
            return {}
        rows = await self._fetch(
            "SELECT id, head_seq FROM sessions WHERE id = ANY($1::text[])", list(session_ids)
        )
        return {row[0]: row[1] for row in rows}

    # -- erasure and deliveries --------------------------------------------------------------

    async def erase_session(self, session_id: str) -> bool:
        return bool(await self.erase_sessions([session_id]))

    async def erase_sessions(self, session_ids: list[str]) -> list[str]:
        """Erase several sessions in one transaction, then vacuum once.

        Returns the ids that existed (each once, in the order given).

        A purge of many sessions should use this: each VACUUM reads every index of the tables
        whole, so one per session would cost the purge that much per session.
        """
        if not session_ids:
            return []
        ids = sorted(set(session_ids))
        async with self._connection() as conn, conn.transaction():
            # The sessions rows first: they are what appenders lock, so an append in flight
            # finishes before the log is deleted and a later one finds the session missing.
            gone = await conn.fetch(
                "DELETE FROM sessions WHERE id IN "
                "(SELECT id FROM sessions WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE) "
                "RETURNING id",
                ids,
            )
            for table in SESSION_TABLES:
                await conn.execute(f"DELETE FROM {table} WHERE session_id = ANY($1::text[])", ids)
        await self._vacuum_after_erase()
        found = {row[0] for row in gone}
        return [sid for sid in dict.fromkeys(session_ids) if sid in found]

    async def _vacuum_after_erase(self) -> None:
        """Remove the dead tuples (and their index entries) an erase left behind.

        Erases that come together share one VACUUM: whoever waits for the lock while another
        VACUUM starts after its delete committed is served by that one. INDEX_CLEANUP ON: by
        default VACUUM may skip the indexes when few tuples died, which would leave the erased
        event ids readable in `events_idempotency`. VACUUM cannot remove tuples that an older
        snapshot still sees (a long transaction elsewhere); autovacuum removes them later.
        """
        wanted = self._vacuums_started + 1
        async with self._vacuum_lock:
            if self._vacuums_started >= wanted:
                return  # one started after our commit and, as we hold the lock, has finished
            self._vacuums_started += 1
            started = time.perf_counter()
            tables = ", ".join(("sessions", *SESSION_TABLES))
            try:
                async with self._connection() as conn:
                    await conn.execute(f"{_ERASE_VACUUM[self.erase_vacuum]} {tables}")
            except (StoreUnavailable, asyncpg.PostgresError) as exc:
                # The rows are deleted and committed; autovacuum will reclaim them later.
                log.warning("erase_vacuum_failed", error=type(exc).__name__)
                return
            log.info("erase_vacuumed", seconds=round(time.perf_counter() - started, 3))

    async def claim_webhook_delivery(
        self, tenant_id: str, platform: str, delivery_key: str, session_id: str | None
    ) -> bool:
        async with self._connection() as conn:
            status: str = await conn.execute(
                "INSERT INTO webhook_deliveries VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                tenant_id,
                platform,
                delivery_key,
                session_id,
                millis(utc_now()),
            )
        return status == "INSERT 0 1"

    # -- pacing: timers, vendor outbox, pacing cursor (service/pacing, service/outbox.py) ----
    # Each call is one short transaction on a pooled connection; none takes the row lock that
    # appends hold, so pacing never waits behind the log, nor the log behind pacing.

    async def save_pacing(self, progress: list[PacingProgress]) -> None:
        if not progress:
            return
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                async with self._connection() as conn, conn.transaction():
                    await self._save_pacing(conn, progress)
                return
            except _RETRY_ERRORS as exc:
                if attempt == _ATTEMPTS:
                    raise StoreUnavailable("the store could not save pacing progress") from exc
                log.warning("save_pacing_retried", attempt=attempt, error=type(exc).__name__)

    async def _save_pacing(self, conn: asyncpg.Connection, progress: list[PacingProgress]) -> None:
        # FOR KEY SHARE keeps an erase (DELETE) of these sessions from committing in between:
        # rows written here for a session being erased are deleted by that erase, never left.
        existing = {
            row[0]
            for row in await conn.fetch(
                "SELECT id FROM sessions WHERE id = ANY($1::text[]) ORDER BY id FOR KEY SHARE",
                sorted({p.session_id for p in progress}),
            )
        }
        entries = [p for p in progress if p.session_id in existing]
        if not entries:
            return
        # First occurrence wins, as "insert unless it exists" applied in order would have it;
        # sorted so two processes saving the same rows insert them in the same order.
        all_timers = [t for p in entries for t in p.timers]
        all_deliveries = [d for p in entries for d in p.deliveries]
        timers = sorted(
            {(t.session_id, t.key): t for t in reversed(all_timers)}.values(),
            key=lambda t: (t.session_id, t.key),
        )
        deliveries = sorted(
            {d.id: d for d in reversed(all_deliveries)}.values(), key=lambda d: d.id
        )
        cursors: dict[str, int] = {}
        for p in entries:
            cursors[p.session_id] = max(cursors.get(p.session_id, 0), p.upto_seq)
        if timers:
            await conn.execute(
                "INSERT INTO timers (session_id, key, due_at) "
                "SELECT * FROM unnest($1::text[], $2::text[], $3::float8[]) "
                "ON CONFLICT DO NOTHING",
                [t.session_id for t in timers],
                [t.key for t in timers],
                [t.due_at for t in timers],
            )
        if deliveries:
            await conn.execute(
                "INSERT INTO vendor_outbox (id, session_id, tenant_id, kind, body, created_at, "
                "expires_at, next_attempt_at) "
                "SELECT i, s, t, k, b, c, e, c FROM unnest($1::text[], $2::text[], $3::text[], "
                "$4::text[], $5::bytea[], $6::float8[], $7::float8[]) AS d(i, s, t, k, b, c, e) "
                "ON CONFLICT DO NOTHING",
                [d.id for d in deliveries],
                [d.session_id for d in deliveries],
                [d.tenant_id for d in deliveries],
                [d.kind for d in deliveries],
                [d.body for d in deliveries],
                [d.created_at for d in deliveries],
                [d.expires_at for d in deliveries],
            )
        ordered = sorted(cursors.items())
        await conn.execute(
            "INSERT INTO pacing_cursors (session_id, seq) "
            "SELECT * FROM unnest($1::text[], $2::bigint[]) "
            "ON CONFLICT (session_id) DO UPDATE "
            "SET seq = GREATEST(pacing_cursors.seq, excluded.seq)",
            [sid for sid, _ in ordered],
            [seq for _, seq in ordered],
        )

    async def pacing_backlog(self, limit: int) -> list[PacingBacklog]:
        rows = await self._fetch(
            "SELECT s.id, COALESCE(c.seq, 0), s.head_seq FROM sessions AS s "
            "LEFT JOIN pacing_cursors AS c ON c.session_id = s.id "
            "WHERE s.head_seq > COALESCE(c.seq, 0) ORDER BY s.created_at, s.id LIMIT $1",
            limit,
        )
        return [PacingBacklog(row[0], int(row[1]), int(row[2])) for row in rows]

    async def claim_due_timers(
        self, owner: str, now: float, lease_s: float, limit: int
    ) -> list[TimerSpec]:
        rows = await self._fetch(
            "UPDATE timers SET claimed_by = $1, claimed_until = $2 "
            "WHERE (session_id, key) IN (SELECT session_id, key FROM timers "
            "WHERE NOT done AND due_at <= $3 AND (claimed_until IS NULL OR claimed_until < $3) "
            "ORDER BY due_at LIMIT $4 FOR UPDATE SKIP LOCKED) "
            "RETURNING session_id, key, due_at",
            owner,
            now + lease_s,
            now,
            limit,
        )
        return sorted((TimerSpec(r[0], r[1], float(r[2])) for r in rows), key=lambda t: t.due_at)

    async def finish_timers(self, timers: list[tuple[str, str]]) -> None:
        if not timers:
            return
        done = sorted(set(timers))
        async with self._connection() as conn:
            await conn.execute(
                "UPDATE timers AS t SET done = TRUE, claimed_by = NULL, claimed_until = NULL "
                "FROM unnest($1::text[], $2::text[]) AS f(session_id, key) "
                "WHERE t.session_id = f.session_id AND t.key = f.key",
                [sid for sid, _ in done],
                [key for _, key in done],
            )

    async def claim_deliveries(
        self, owner: str, now: float, lease_s: float, limit: int
    ) -> list[OutboxClaim]:
        rows = await self._fetch(
            "UPDATE vendor_outbox SET claimed_by = $1, claimed_until = $2 "
            "WHERE id IN (SELECT id FROM vendor_outbox WHERE state = 'pending' "
            "AND next_attempt_at <= $3 AND (claimed_until IS NULL OR claimed_until < $3) "
            "ORDER BY next_attempt_at LIMIT $4 FOR UPDATE SKIP LOCKED) "
            "RETURNING id, session_id, tenant_id, kind, body, created_at, expires_at, attempts, "
            "next_attempt_at",
            owner,
            now + lease_s,
            now,
            limit,
        )
        return [
            OutboxClaim(r[0], r[1], r[2], r[3], bytes(r[4]), float(r[5]), float(r[6]), int(r[7]))
            for r in sorted(rows, key=lambda r: r[8])
        ]

    async def settle_delivery(
        self,
        delivery_id: str,
        owner: str,
        *,
        outcome: str,
        status: int | None,
        next_attempt_at: float | None,
    ) -> None:
        if outcome not in ("delivered", "failed", "retry"):
            raise ValueError(f"unknown delivery outcome {outcome!r}")
        now = time.time()
        async with self._connection() as conn:
            if outcome == "retry":
                await conn.execute(
                    "UPDATE vendor_outbox SET attempts = attempts + 1, last_status = $1, "
                    "next_attempt_at = $2, claimed_by = NULL, claimed_until = NULL "
                    "WHERE id = $3 AND claimed_by = $4",
                    status,
                    next_attempt_at if next_attempt_at is not None else now,
                    delivery_id,
                    owner,
                )
            else:
                await conn.execute(
                    "UPDATE vendor_outbox SET attempts = attempts + 1, last_status = $1, "
                    "state = $2, finished_at = $3, claimed_by = NULL, claimed_until = NULL "
                    "WHERE id = $4 AND claimed_by = $5",
                    status,
                    outcome,
                    now,
                    delivery_id,
                    owner,
                )

    async def pending_deliveries(self, session_id: str) -> int:
        row = await self._fetchrow(
            "SELECT count(*) FROM vendor_outbox WHERE session_id = $1 AND state = 'pending'",
            session_id,
        )
        return int(row[0]) if row is not None else 0

    async def release_pacing(self) -> None:
        """Nothing to release: pacing calls borrow pooled connections like every other call."""

    # -- audit trail (service/audit.py) ------------------------------------------------------

    async def append_audit(self, entries: list[AuditEntry]) -> None:
        async with self._connection() as conn:
            await conn.executemany(
                "INSERT INTO audit_log (at, actor, tenant_id, session_id, action, outcome, "
                "address_hash, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                [
                    (
                        e.at,
                        e.actor,
                        e.tenant_id,
                        e.session_id,
                        e.action,
                        e.outcome,
                        e.address_hash,
                        orjson.dumps(e.detail).decode(),
                    )
                    for e in entries
                ],
            )

    async def read_audit(self, query: AuditQuery) -> list[AuditEntry]:
        clauses, params = query.where("$")
        rows = await self._fetch(
            "SELECT at, actor, tenant_id, session_id, action, outcome, address_hash, detail "
            f"FROM audit_log {clauses} ORDER BY id LIMIT ${len(params) + 1}",
            *params,
            query.limit,
        )
        return [AuditEntry.from_row(row) for row in rows]

    async def expired_audit(
        self, before: str, after_id: int, limit: int
    ) -> list[tuple[int, AuditEntry]]:
        rows = await self._fetch(
            "SELECT at, actor, tenant_id, session_id, action, outcome, address_hash, detail, id "
            "FROM audit_log WHERE at < $1 AND id > $2 ORDER BY id LIMIT $3",
            before,
            after_id,
            limit,
        )
        return [(int(row[8]), AuditEntry.from_row(row)) for row in rows]

    async def count_expired_audit(self, before: str) -> int:
        row = await self._fetchrow("SELECT count(*) FROM audit_log WHERE at < $1", before)
        return int(row[0]) if row is not None else 0

    async def delete_expired_audit(self, before: str, through_id: int) -> int:
        deleted = 0
        while True:  # a transaction per batch, each short
            async with self._connection() as conn, conn.transaction():
                await conn.execute(
                    "UPDATE audit_log_horizon SET horizon = $1 WHERE horizon < $1", before
                )
                status: str = await conn.execute(
                    "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log "
                    "WHERE at < $1 AND id <= $2 ORDER BY id LIMIT $3)",
                    before,
                    through_id,
                    AUDIT_DELETE_BATCH,
                )
            count = int(status.rpartition(" ")[2])
            deleted += count
            if count < AUDIT_DELETE_BATCH:
                return deleted

"""The embedded default store: SQLite through aiosqlite, WAL mode, `secure_delete` on.

One writer connection takes every append batch (one transaction, one commit); a second
connection serves reads so replays do not wait behind commits. Durability: `synchronous=FULL`.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite
import orjson
import structlog

from ..errors import Conflict, StoreUnavailable
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
    rfc3339,
    utc_now,
)
from .batch import IdempotencyKey, SessionHead, plan_batch
from .codec import participants_json, session_from_row
from .migrations import load_migrations

log = structlog.get_logger(__name__)

_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA secure_delete=ON",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
)


def sqlite_path(database_url: str) -> Path:
    """`sqlite:///PATH`: the path as written after the three slashes."""
    if not database_url.startswith("sqlite:///"):
        raise ValueError(f"not a sqlite URL: {database_url.split(':', 1)[0]}://…")
    return Path(database_url.removeprefix("sqlite:///"))


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class SQLiteStore:
    """`Store` on one SQLite file; for one service process."""

    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        # One transaction at a time on the writer connection, whichever coroutine asks.
        self._write_lock = asyncio.Lock()
        self._writer_broken = False

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._writer = await self._connect()
            await self._migrate(self._writer)
            self._reader = await self._connect()
        except BaseException:
            await self.close()
            raise

    async def _connect(self) -> aiosqlite.Connection:
        try:
            conn = await aiosqlite.connect(self.path, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"the store cannot open: {exc}") from exc
        conn.row_factory = sqlite3.Row
        try:
            for pragma in _PRAGMAS:
                await conn.execute(pragma)
        except sqlite3.Error as exc:
            # Close it: an open aiosqlite connection is a thread that keeps the process alive.
            with contextlib.suppress(Exception):
                await conn.close()
            raise StoreUnavailable(f"the store cannot open: {exc}") from exc
        return conn

    async def _migrate(self, conn: aiosqlite.Connection) -> None:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        applied = {
            row[0] for row in await conn.execute_fetchall("SELECT version FROM schema_migrations")
        }
        for migration in load_migrations(self.dialect):
            if migration.version in applied:
                continue
            await conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _statements(migration.sql):
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                    (migration.version, migration.name, rfc3339(utc_now())),
                )
                await conn.execute("COMMIT")
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            log.info("store_migrated", dialect=self.dialect, version=migration.version)

    async def close(self) -> None:
        for conn in (self._reader, self._writer):
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.close()
        self._reader = self._writer = None

    @property
    def writer(self) -> aiosqlite.Connection:
        if self._writer is None:
            raise StoreUnavailable("the store is not open")
        return self._writer

    @property
    def reader(self) -> aiosqlite.Connection:
        if self._reader is None:
            raise StoreUnavailable("the store is not open")
        return self._reader

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._write_lock, self._begin() as conn:
            yield conn

    async def _reopen_writer(self) -> None:
        """A write failed at the file level (read-only or full file system, I/O error): the
        connections keep that state (SQLite shares one open file per process), so the next write
        reopens both; the old reader is closed once the new one is in place."""
        broken, self._writer = self._writer, None
        old_reader = self._reader
        for conn in (broken, old_reader):
            if conn is not None:
                with contextlib.suppress(Exception):
                    await conn.close()
        self._reader = None
        self._writer = await self._connect()
        self._reader = await self._connect()

    @contextlib.asynccontextmanager
    async def _begin(self) -> AsyncIterator[aiosqlite.Connection]:
        if self._writer_broken:
            await self._reopen_writer()
            self._writer_broken = False
        conn = self.writer
        try:
            await conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            self._writer_broken = _file_level(exc)
            raise StoreUnavailable(f"the store cannot write: {exc}") from exc
        except BaseException:
            # Cancelled while aiosqlite's thread still runs the BEGIN: the ROLLBACK queues behind
            # it, so the connection is not left inside a transaction.
            with contextlib.suppress(Exception):
                await asyncio.shield(conn.execute("ROLLBACK"))
            raise
        try:
            yield conn
            await conn.execute("COMMIT")
        except BaseException as exc:
            with contextlib.suppress(Exception):
                await conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                self._writer_broken = _file_level(exc)
                raise StoreUnavailable(f"the store cannot write: {exc}") from exc
            raise

    async def ping(self) -> None:
        """Ready means able to write: take the write lock and give it back."""
        try:
            await self.reader.execute_fetchall("SELECT 1")
        except sqlite3.Error as exc:
            raise StoreUnavailable(str(exc)) from exc
        async with self._transaction() as conn:
            await conn.execute("DELETE FROM sessions WHERE id = ''")

    async def create_session(self, record: SessionRecord) -> None:
        try:
            async with self._transaction() as conn:
                await conn.execute(
                    "INSERT INTO sessions (id, tenant_id, platform, external_id, state, "
                    "created_at, scheduled_minutes, participants, settings, epoch, head_seq) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
                    (
                        record.id,
                        record.tenant_id,
                        record.platform,
                        record.external_id,
                        record.state.value,
                        rfc3339(record.created_at),
                        record.scheduled_minutes,
                        participants_json(record),
                        orjson.dumps(record.settings).decode(),
                        record.epoch,
                    ),
                )
        except StoreUnavailable as exc:
            if isinstance(exc.__cause__, sqlite3.IntegrityError):
                raise Conflict(
                    "a session with this platform and external_id is not ended yet"
                ) from None
            raise

    async def get_session(self, session_id: str) -> SessionRecord | None:
        rows = await self._read("SELECT * FROM sessions WHERE id = ?", (session_id,))
        return session_from_row(rows[0], _parse_time) if rows else None

    async def find_session(
        self, tenant_id: str, platform: str, external_id: str
    ) -> SessionRecord | None:
        rows = await self._read(
            "SELECT * FROM sessions WHERE tenant_id = ? AND platform = ? AND external_id = ? "
            "AND state != 'ended'",
            (tenant_id, platform, external_id),
        )
        return session_from_row(rows[0], _parse_time) if rows else None

    async def list_sessions(self, states: tuple[str, ...]) -> list[SessionRecord]:
        marks = ",".join("?" * len(states))
        rows = await self._read(f"SELECT * FROM sessions WHERE state IN ({marks})", states)
        return [session_from_row(row, _parse_time) for row in rows]

    async def _read(self, sql: str, params: tuple[Any, ...]) -> list[sqlite3.Row]:
        try:
            return list(await self.reader.execute_fetchall(sql, params))
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"the store cannot read: {exc}") from exc

    async def append_batch(self, requests: list[AppendRequest]) -> list[AppendResult]:
        session_ids = sorted({r.session_id for r in requests})
        async with self._transaction() as conn:
            marks = ",".join("?" * len(session_ids))
            heads = {
                row["id"]: SessionHead(SessionStateName(row["state"]), row["head_seq"])
                for row in await conn.execute_fetchall(
                    f"SELECT id, state, head_seq FROM sessions WHERE id IN ({marks})",
                    session_ids,
                )
            }
            keys = [(r.session_id, r.actor.id, r.event_id) for r in requests]
            stored: dict[IdempotencyKey, int] = {}
            for chunk_start in range(0, len(keys), 300):
                chunk = keys[chunk_start : chunk_start + 300]
                triples = ",".join(["(?,?,?)"] * len(chunk))
                rows = await conn.execute_fetchall(
                    "SELECT session_id, actor_id, event_id, seq FROM events "
                    f"WHERE (session_id, actor_id, event_id) IN (VALUES {triples})",
                    [part for key in chunk for part in key],
                )
                stored.update({(r[0], r[1], r[2]): r[3] for r in rows})
            plan = plan_batch(requests, heads, stored, utc_now())
            if plan.inserts:
                await conn.executemany(
                    "INSERT INTO events (session_id, seq, actor_id, event_id, type, body) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        (req.session_id, ev.seq, ev.actor.id, ev.id, ev.type, ev.wire)
                        for req, ev in _pair(requests, plan.results)
                    ],
                )
                await conn.executemany(
                    "UPDATE sessions SET head_seq = ?, state = ?, "
                    "started_at = COALESCE(started_at, ?), ended_at = COALESCE(ended_at, ?) "
                    "WHERE id = ?",
                    [
                        (
                            h.head_seq,
                            h.state.value,
                            rfc3339(h.started_at) if h.started_at else None,
                            rfc3339(h.ended_at) if h.ended_at else None,
                            sid,
                        )
                        for sid, h in heads.items()
                    ],
                )
        return plan.results

    async def read_events(self, session_id: str, after_seq: int, limit: int) -> list[Event]:
        rows = await self._read(
            "SELECT body FROM events WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (session_id, after_seq, limit),
        )
        return [Event.from_wire(row[0]) for row in rows]

    async def find_duplicate(self, session_id: str, actor_id: str, event_id: str) -> int | None:
        rows = await self._read(
            "SELECT seq FROM events WHERE session_id = ? AND actor_id = ? AND event_id = ?",
            (session_id, actor_id, event_id),
        )
        return int(rows[0][0]) if rows else None

    async def head_seqs(self, session_ids: list[str]) -> dict[str, int]:
        if not session_ids:
            return {}
        marks = ",".join("?" * len(session_ids))
        rows = await self._read(
            f"SELECT id, head_seq FROM sessions WHERE id IN ({marks})", tuple(session_ids)
        )
        return {row[0]: row[1] for row in rows}

    async def erase_session(self, session_id: str) -> bool:
        async with self._transaction() as conn:
            cursor = await conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
            found = cursor.rowcount > 0
            for table in SESSION_TABLES:
                await conn.execute(f"DELETE FROM {table} WHERE session_id = ?", (session_id,))
        # secure_delete zeroes what the DELETE freed, but b-tree rebalancing can leave stale
        # copies of cells in pages' unallocated space: VACUUM rebuilds every page, and
        # truncating the WAL then drops the frames that held the old pages.
        async with self._write_lock:
            try:
                await self.writer.execute("VACUUM")
            except sqlite3.Error as exc:
                log.warning("erase_vacuum_failed", error=type(exc).__name__)
            with contextlib.suppress(sqlite3.Error):
                await self.writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return found

    async def claim_webhook_delivery(
        self, tenant_id: str, platform: str, delivery_key: str, session_id: str | None
    ) -> bool:
        async with self._transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO webhook_deliveries VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (tenant_id, platform, delivery_key, session_id, rfc3339(utc_now())),
            )
            return cursor.rowcount > 0

    # -- pacing: timers, vendor outbox, pacing cursor (service/pacing, service/outbox.py) ----
    # Writes share the writer connection and its lock with the append path (one short
    # transaction each, queued fairly behind and before append batches); reads use the reader.

    @contextlib.asynccontextmanager
    async def _pacing_transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._transaction() as conn:
            yield conn

    async def save_pacing(self, progress: list[PacingProgress]) -> None:
        if not progress:
            return
        async with self._pacing_transaction() as conn:
            ids = sorted({p.session_id for p in progress})
            marks = ",".join("?" * len(ids))
            rows = await conn.execute_fetchall(
                f"SELECT id FROM sessions WHERE id IN ({marks})", ids
            )
            existing = {row[0] for row in rows}
            for entry in progress:
                if entry.session_id not in existing:
                    continue
                if entry.timers:
                    await conn.executemany(
                        "INSERT INTO timers (session_id, key, due_at) VALUES (?, ?, ?) "
                        "ON CONFLICT DO NOTHING",
                        [(t.session_id, t.key, t.due_at) for t in entry.timers],
                    )
                if entry.deliveries:
                    await conn.executemany(
                        "INSERT INTO vendor_outbox (id, session_id, tenant_id, kind, body, "
                        "created_at, expires_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                        "ON CONFLICT DO NOTHING",
                        [
                            (
                                d.id,
                                d.session_id,
                                d.tenant_id,
                                d.kind,
                                d.body,
                                d.created_at,
                                d.expires_at,
                                d.created_at,
                            )
                            for d in entry.deliveries
                        ],
                    )
                await conn.execute(
                    "INSERT INTO pacing_cursors (session_id, seq) VALUES (?, ?) "
                    "ON CONFLICT (session_id) DO UPDATE SET seq = MAX(seq, excluded.seq)",
                    (entry.session_id, entry.upto_seq),
                )

    async def pacing_backlog(self, limit: int) -> list[PacingBacklog]:
        rows = await self._read(
            "SELECT s.id, COALESCE(c.seq, 0), s.head_seq FROM sessions s "
            "LEFT JOIN pacing_cursors c ON c.session_id = s.id "
            "WHERE s.head_seq > COALESCE(c.seq, 0) ORDER BY s.created_at LIMIT ?",
            (limit,),
        )
        return [PacingBacklog(row[0], int(row[1]), int(row[2])) for row in rows]

    async def claim_due_timers(
        self, owner: str, now: float, lease_s: float, limit: int
    ) -> list[TimerSpec]:
        async with self._pacing_transaction() as conn:
            rows = await conn.execute_fetchall(
                "UPDATE timers SET claimed_by = ?, claimed_until = ? "
                "WHERE (session_id, key) IN (SELECT session_id, key FROM timers "
                "WHERE done = 0 AND due_at <= ? AND (claimed_until IS NULL OR claimed_until < ?) "
                "ORDER BY due_at LIMIT ?) RETURNING session_id, key, due_at",
                (owner, now + lease_s, now, now, limit),
            )
        return sorted((TimerSpec(r[0], r[1], float(r[2])) for r in rows), key=lambda t: t.due_at)

    async def finish_timers(self, timers: list[tuple[str, str]]) -> None:
        if not timers:
            return
        async with self._pacing_transaction() as conn:
            await conn.executemany(
                "UPDATE timers SET done = 1, claimed_by = NULL, claimed_until = NULL "
                "WHERE session_id = ? AND key = ?",
                timers,
            )

    async def claim_deliveries(
        self, owner: str, now: float, lease_s: float, limit: int
    ) -> list[OutboxClaim]:
        async with self._pacing_transaction() as conn:
            rows = await conn.execute_fetchall(
                "UPDATE vendor_outbox SET claimed_by = ?, claimed_until = ? "
                "WHERE id IN (SELECT id FROM vendor_outbox WHERE state = 'pending' "
                "AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until < ?) "
                "ORDER BY next_attempt_at LIMIT ?) RETURNING id, session_id, tenant_id, kind, "
                "body, created_at, expires_at, attempts, next_attempt_at",
                (owner, now + lease_s, now, now, limit),
            )
        rows = sorted(rows, key=lambda r: r[8])
        return [
            OutboxClaim(r[0], r[1], r[2], r[3], bytes(r[4]), float(r[5]), float(r[6]), int(r[7]))
            for r in rows
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
        async with self._pacing_transaction() as conn:
            if outcome == "retry":
                await conn.execute(
                    "UPDATE vendor_outbox SET attempts = attempts + 1, last_status = ?, "
                    "next_attempt_at = ?, claimed_by = NULL, claimed_until = NULL "
                    "WHERE id = ? AND claimed_by = ?",
                    (
                        status,
                        next_attempt_at if next_attempt_at is not None else now,
                        delivery_id,
                        owner,
                    ),
                )
            else:
                await conn.execute(
                    "UPDATE vendor_outbox SET attempts = attempts + 1, last_status = ?, "
                    "state = ?, finished_at = ?, claimed_by = NULL, claimed_until = NULL "
                    "WHERE id = ? AND claimed_by = ?",
                    (status, outcome, now, delivery_id, owner),
                )

    async def pending_deliveries(self, session_id: str) -> int:
        rows = await self._read(
            "SELECT COUNT(*) FROM vendor_outbox WHERE session_id = ? AND state = 'pending'",
            (session_id,),
        )
        return int(rows[0][0])

    async def release_pacing(self) -> None:
        return None  # nothing of its own to release: the store's connections serve pacing

    # -- audit trail (service/audit.py) ------------------------------------------------------

    async def append_audit(self, entries: list[AuditEntry]) -> None:
        async with self._transaction() as conn:
            await conn.executemany(
                "INSERT INTO audit_log (at, actor, tenant_id, session_id, action, outcome, "
                "address_hash, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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
        clauses, params = query.where("?")
        rows = await self._read(
            "SELECT at, actor, tenant_id, session_id, action, outcome, address_hash, detail "
            f"FROM audit_log {clauses} ORDER BY id LIMIT ?",
            (*params, query.limit),
        )
        return [AuditEntry.from_row(row) for row in rows]


def _file_level(exc: sqlite3.Error) -> bool:
    """Errors that mean the file cannot be written (as opposed to a constraint or busy)."""
    text = str(exc).lower()
    return any(
        word in text for word in ("readonly", "read-only", "disk", "i/o", "full", "unable to open")
    )


def _pair(
    requests: list[AppendRequest], results: list[AppendResult]
) -> list[tuple[AppendRequest, Event]]:
    return [(req, res.event) for req, res in zip(requests, results, strict=True) if res.event]


def _statements(sql: str) -> list[str]:
    """Split a migration into statements: at a line ending with `;`, except inside a
    `CREATE TRIGGER … BEGIN … END;` block, which ends at its `END;`."""
    statements: list[str] = []
    lines: list[str] = []
    for line in sql.splitlines():
        stripped = line.strip()
        if not lines and (not stripped or stripped.startswith("--")):
            continue
        lines.append(line)
        in_trigger = lines[0].strip().upper().startswith("CREATE TRIGGER")
        if (in_trigger and stripped.upper() == "END;") or (
            not in_trigger and stripped.endswith(";")
        ):
            statements.append("\n".join(lines).strip().removesuffix(";"))
            lines = []
    if lines:
        statements.append("\n".join(lines).strip())
    return statements

"""The embedded default store: SQLite in WAL mode, `secure_delete` on.

Two connections (`SQLiteConnection`): the writer runs every write transaction whole (BEGIN to
COMMIT in one call, so a caller that is cancelled never leaves one open), on the event loop; the
reader serves reads on a thread of its own, so replays do not wait behind commits. Each also has
a thread for what may take long (the writer's: migrations, VACUUM).

Durability: the connection commits with `synchronous=NORMAL` and the store then fsyncs the WAL
itself, which is what `synchronous=FULL` does at every commit, split in two. A committed
transaction is in the WAL file, so it survives the process (SIGKILL); once `flush()` (or a
durable write) returns it also survives the machine. Appends use the split: the session log hands
a batch to its recipients right after the commit and releases the acks after the flush.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import sqlite3
import stat
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

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
    rfc3339,
    utc_now,
)
from .batch import IdempotencyKey, SessionHead, plan_batch
from .codec import participants_json, session_from_row
from .migrations import Migration, load_migrations

log = structlog.get_logger(__name__)

AUDIT_DELETE_BATCH = 5000  # audit entries `comfort purge` deletes per transaction

T = TypeVar("T")

_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",  # the store fsyncs the WAL itself: see the module docstring
    "PRAGMA secure_delete=ON",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
)

BUSY_SECONDS = 5.0
"""How long a write retries while another process holds the file's write lock."""

CHECKPOINT_INTERVAL_S = 1.0
"""A flush starts a checkpoint if none ran for this long."""


def keep_private(path: Path) -> None:
    """Make the database file, and its `-wal` and `-shm`, readable and writable by the service's
    user alone (0600): a new file is created so before SQLite opens it (SQLite gives its WAL and
    shared-memory files the database file's mode), and an existing one that grants anything to
    group or others is tightened, with a warning (`store_permissions_tightened`). A file the
    service may not chmod (another owner, a read-only volume) is left as it is, with a warning;
    SQLite then says whether it can open it at all.
    """
    with contextlib.suppress(OSError):  # exists already, or cannot be created: SQLite says
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            mode = stat.S_IMODE(file.stat().st_mode)
            if mode & 0o077:
                file.chmod(mode & 0o700)
                log.warning(
                    "store_permissions_tightened",
                    file=file.name,
                    was=f"{mode:04o}",
                    now=f"{mode & 0o700:04o}",
                )
        except FileNotFoundError:
            continue
        except OSError as exc:
            log.warning("store_permissions_unchanged", file=file.name, error=type(exc).__name__)


def _writer_pragmas(conn: sqlite3.Connection) -> None:
    # The writer runs on the loop: it must never sleep inside SQLite (`_write` retries instead)
    # nor checkpoint inside a commit (`flush` starts checkpoints on the reader's thread).
    conn.execute("PRAGMA busy_timeout=0")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    # The writer's cache holds what its transactions touch (the log's tail, its indexes, the
    # session heads); 64 MiB filled over a soak's first minutes and showed as the process
    # growing (issue 18). No memory map: every page of the database the writer reads through
    # one stays in the process's resident set, which would grow with the file up to the map's
    # size (it was 256 MiB). A page missing from the cache is a pread() from the kernel's page
    # cache instead (a scratch measurement per append showed no difference; `bench/README.md`,
    # round five).
    conn.execute("PRAGMA cache_size=-8192")  # KiB
    conn.execute("PRAGMA mmap_size=0")


def sqlite_path(database_url: str) -> Path:
    """`sqlite:///PATH`: the path as written after the three slashes."""
    if not database_url.startswith("sqlite:///"):
        raise ValueError(f"not a sqlite URL: {database_url.split(':', 1)[0]}://…")
    return Path(database_url.removeprefix("sqlite:///"))


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class SQLiteConnection:
    """One `sqlite3` connection with a thread of its own.

    `call(fn)` runs `fn(connection)` on that thread, whole: if its caller is cancelled before the
    thread takes it, it never runs; once taken, it runs to its end. Calls run one at a time, in
    the order they were made. `fn` must not return a cursor: one freed later, on another
    thread, races the connection's own thread (a reader whose PRAGMA cursor escaped stopped
    seeing new commits). `now(fn)` runs `fn` right here, for short work; the owner makes
    sure no `call` is in flight meanwhile.
    """

    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"sqlite-{name}")
        self._conn: sqlite3.Connection | None = None
        self._closed = False

    async def open(self) -> None:
        def connect(_: None) -> None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            try:
                conn.row_factory = sqlite3.Row
                for pragma in _PRAGMAS:
                    conn.execute(pragma)
            except BaseException:
                conn.close()
                raise
            self._conn = conn

        try:
            await self._run(connect, None)
        except sqlite3.Error as exc:
            await self.close()
            raise StoreUnavailable(f"the store cannot open: {exc}") from exc

    @property
    def connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreUnavailable("the store is not open")
        return self._conn

    async def call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return await self._run(fn, self.connection)

    def now(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return fn(self.connection)

    async def _run(self, fn: Callable[[Any], T], arg: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, arg)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True

        def close(_: None) -> None:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

        try:
            await self._run(close, None)
        except Exception as exc:
            log.warning("store_close_failed", error=type(exc).__name__)
        finally:
            self._executor.shutdown(wait=False)


class _WalSync:
    """fsyncs the WAL file: what `synchronous=FULL` does at each commit in WAL mode.

    fsync applies to the file, whichever descriptor wrote it. The descriptor is reopened when the
    WAL it points at was deleted (SQLite deletes the WAL when its last connection closes). Runs
    on the store's sync thread only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def __call__(self) -> None:
        if self._fd is not None and os.fstat(self._fd).st_nlink == 0:
            self.close()
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                return  # no WAL: nothing was written since the last checkpoint removed it
        os.fdatasync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class SQLiteStore:
    """`Store` on one SQLite file; for one service process.

    Writes run on the event loop's thread, a whole transaction at a time under `_write_lock`:
    with `synchronous=NORMAL` a commit is a write into the WAL (microseconds), and a hop to
    another thread costs far more than that while the loop is busy (the thread waits for the
    GIL). What can take long runs on threads: the WAL fsync (`flush`, on a thread of its own),
    checkpoints (once a second at most, on the reader's), VACUUM, and every read. The writer
    never waits on a lock inside SQLite (busy_timeout 0): when another process holds the
    file's write lock, `_write` retries without blocking the loop.
    """

    dialect = "sqlite"
    commits_in_place = True  # a commit never waits on the network (SessionLog commits in place)

    def __init__(self, path: Path) -> None:
        self.path = path
        self._writer: SQLiteConnection | None = None
        self._reader: SQLiteConnection | None = None
        self._write_lock = asyncio.Lock()
        self._writer_broken = False
        self.wal_path = Path(f"{path}-wal")
        self._wal_sync = _WalSync(self.wal_path)
        self._sync_thread: ThreadPoolExecutor | None = None
        self._checkpoint: asyncio.Task[None] | None = None
        self._checkpointed_at = time.monotonic()

    async def open(self) -> None:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        keep_private(self.path)
        self._sync_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-sync")
        try:
            self._writer = await self._open_writer()
            self._reader = await self._connect("reader")
        except BaseException:
            await self.close()
            raise

    async def _connect(self, name: str) -> SQLiteConnection:
        conn = SQLiteConnection(self.path, name)
        await conn.open()
        return conn

    async def _open_writer(self) -> SQLiteConnection:
        writer = await self._connect("writer")
        try:
            await writer.call(self._migrate)
            writer.now(_writer_pragmas)
            await self._on_sync_thread(self._wal_sync)
        except BaseException:
            await writer.close()
            raise
        return writer

    def _migrate(self, conn: sqlite3.Connection) -> None:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        applied = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
        for migration in load_migrations(self.dialect):
            if migration.version in applied:
                continue
            _in_transaction(conn, functools.partial(_apply_migration, migration=migration))
            log.info("store_migrated", dialect=self.dialect, version=migration.version)

    async def close(self) -> None:
        if self._checkpoint is not None:
            self._checkpoint.cancel()
            with contextlib.suppress(BaseException):
                await self._checkpoint
            self._checkpoint = None
        for conn in (self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._reader = self._writer = None
        if self._sync_thread is not None:
            await self._on_sync_thread(self._wal_sync.close)
            self._sync_thread.shutdown(wait=False)
            self._sync_thread = None

    async def _on_sync_thread(self, fn: Callable[[], T]) -> T:
        if self._sync_thread is None:
            raise StoreUnavailable("the store is not open")
        return await asyncio.get_running_loop().run_in_executor(self._sync_thread, fn)

    @property
    def writer(self) -> SQLiteConnection:
        if self._writer is None:
            raise StoreUnavailable("the store is not open")
        return self._writer

    @property
    def reader(self) -> SQLiteConnection:
        if self._reader is None:
            raise StoreUnavailable("the store is not open")
        return self._reader

    async def _write(self, fn: Callable[[sqlite3.Connection], T], *, durable: bool = True) -> T:
        """Run `fn` in one transaction; with `durable`, also `flush` before returning (without
        it, the commit survives the process and `flush` does the rest).

        Raises:
            StoreUnavailable: SQLite refused, or the file stayed locked by another process for
                `BUSY_SECONDS` (nothing of `fn` was kept); other errors of `fn` propagate,
                likewise rolled back.
        """
        async with self._write_lock:
            if self._writer_broken:
                await self._reopen_writer()
                self._writer_broken = False
            transaction = functools.partial(_in_transaction, fn=fn)
            delay, deadline = 0.001, time.monotonic() + BUSY_SECONDS
            while True:
                try:
                    result = self.writer.now(transaction)
                    break
                except sqlite3.Error as exc:
                    if _busy(exc) and time.monotonic() < deadline:
                        await asyncio.sleep(delay)
                        delay = min(delay * 2, 0.05)
                        continue
                    self._writer_broken = _file_level(exc)
                    raise StoreUnavailable(f"the store cannot write: {exc}") from exc
        if durable:
            await self.flush()
        return result

    async def flush(self) -> None:
        """fsync the WAL: every commit so far survives a power loss once this returns."""
        if self._writer is None:
            raise StoreUnavailable("the store is not open")
        if self._writer_broken:
            # After a failed fsync the kernel may have dropped WAL pages that a later fsync on
            # the same file would not report again, and SQLite's recovery stops at the first
            # missing frame: nothing more is acked until a write has reopened the store.
            raise StoreUnavailable("the store cannot sync until it is reopened")
        try:
            await self._on_sync_thread(self._wal_sync)
        except OSError as exc:
            self._writer_broken = True  # reopened before the next write
            raise StoreUnavailable(f"the store cannot sync: {exc}") from exc
        # Not the WAL's size: a WAL that starts over after a checkpoint keeps its size, and a
        # size rule then checkpointed without pause. Once a second while there are writes.
        now = time.monotonic()
        if now - self._checkpointed_at >= CHECKPOINT_INTERVAL_S and (
            self._checkpoint is None or self._checkpoint.done()
        ):
            self._checkpointed_at = now
            self._checkpoint = asyncio.create_task(self._checkpoint_wal(), name="sqlite-checkpoint")

    async def _checkpoint_wal(self) -> None:
        """Copy the WAL into the database on the reader's thread (the writer's automatic
        checkpoint is off: it would run inside a commit, on the loop). PASSIVE never waits for
        readers or the writer.

        Known issue (`bench/README.md`, issue 18 round five): SQLite starts the WAL over only
        when the writer begins a transaction with everything copied, and under a load that
        commits while every checkpoint copies it never does, though each checkpoint keeps up:
        the WAL grows (17 MB a second at the soak's saturation). Three ways of starting it over
        (a RESTART checkpoint at 16 MiB, and at 256 MiB in round six; copying the last pages
        with the writer held back) each tipped that soak into a collapse, the writer's hold
        growing as the disk slowed; none is here until that is understood.
        """
        try:
            # fetchall: a statement left with a row to read keeps the reader's snapshot open
            await self.reader.call(
                lambda conn: conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            )
        except (sqlite3.Error, StoreUnavailable) as exc:
            log.warning("store_checkpoint_failed", error=type(exc).__name__)

    async def _reopen_writer(self) -> None:
        """A write failed at the file level (read-only or full file system, I/O error): the
        connections keep that state (SQLite shares one open file per process), so the next write
        reopens both; the old reader is closed once the new one is in place."""
        broken, self._writer = self._writer, None
        old_reader, self._reader = self._reader, None
        for conn in (broken, old_reader):
            if conn is not None:
                await conn.close()
        await self._on_sync_thread(self._wal_sync.close)
        self._writer = await self._open_writer()
        self._reader = await self._connect("reader")

    async def _read(self, sql: str, params: tuple[Any, ...] | list[Any]) -> list[sqlite3.Row]:
        try:
            return await self.reader.call(lambda conn: conn.execute(sql, params).fetchall())
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"the store cannot read: {exc}") from exc

    async def ping(self) -> None:
        """Ready means able to write: take the write lock and give it back."""
        await self._read("SELECT 1", ())
        await self._write(_statement("DELETE FROM sessions WHERE id = ''"))

    async def create_session(self, record: SessionRecord, *, max_active: int = 0) -> None:
        params = (
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
        )
        insert = _statement(
            "INSERT INTO sessions (id, tenant_id, platform, external_id, state, "
            "created_at, scheduled_minutes, participants, settings, epoch, head_seq) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
            params,
        )

        def create(conn: sqlite3.Connection) -> None:
            # In the insert's transaction (the file's write lock held): exact across processes.
            if max_active and _active_sessions(conn, record.tenant_id) >= max_active:
                raise QuotaExceeded.sessions(max_active)
            insert(conn)

        try:
            await self._write(create)
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

    async def append_batch(self, requests: list[AppendRequest]) -> list[AppendResult]:
        """One transaction; returns once committed (see `flush` for the fsync).

        Resent ids are rare here (the engine answers most from memory), so the first attempt
        lets the unique index find them instead of reading every id first; if it does, the
        batch is planned again, in a new transaction, against the ids it stored.
        """
        try:
            return await self._write(lambda conn: _append(conn, requests, None), durable=False)
        except _PlanAgain:
            return await self._write(
                lambda conn: _append(conn, requests, _stored_ids(conn, requests)), durable=False
            )

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
        def erase(conn: sqlite3.Connection) -> bool:
            found = conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,)).rowcount > 0
            for table in SESSION_TABLES:
                conn.execute(f"DELETE FROM {table} WHERE session_id = ?", (session_id,))
            return found

        def scrub(conn: sqlite3.Connection) -> None:
            conn.execute(f"PRAGMA busy_timeout={int(BUSY_SECONDS * 1000)}")  # on its own thread
            # secure_delete zeroes what the DELETE freed, but b-tree rebalancing can leave stale
            # copies of cells in pages' unallocated space: VACUUM rebuilds every page, and
            # truncating the WAL then drops the frames that held the old pages (the checkpoint
            # fsyncs the WAL and the database).
            try:
                conn.execute("VACUUM")
            except sqlite3.Error as exc:
                log.warning("erase_vacuum_failed", error=type(exc).__name__)
            try:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.Error as exc:
                log.warning("erase_checkpoint_failed", error=type(exc).__name__)
            conn.execute("PRAGMA busy_timeout=0")

        found = await self._write(erase)
        async with self._write_lock:
            await self.writer.call(scrub)
        return found

    async def claim_webhook_delivery(
        self, tenant_id: str, platform: str, delivery_key: str, session_id: str | None
    ) -> bool:
        row = (tenant_id, platform, delivery_key, session_id, rfc3339(utc_now()))
        return await self._write(
            lambda conn: (
                conn.execute(
                    "INSERT INTO webhook_deliveries VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    row,
                ).rowcount
                > 0
            )
        )

    # -- pacing: timers, vendor outbox, pacing cursor (service/pacing, service/outbox.py) ----
    # Writes share the writer connection and its lock with the append path (one short
    # transaction each, queued fairly behind and before append batches); reads use the reader.

    async def save_pacing(self, progress: list[PacingProgress]) -> None:
        if not progress:
            return

        def save(conn: sqlite3.Connection) -> None:
            ids = sorted({p.session_id for p in progress})
            marks = ",".join("?" * len(ids))
            existing = {
                row[0]
                for row in conn.execute(f"SELECT id FROM sessions WHERE id IN ({marks})", ids)
            }
            for entry in progress:
                if entry.session_id not in existing:
                    continue
                if entry.timers:
                    conn.executemany(
                        "INSERT INTO timers (session_id, key, due_at) VALUES (?, ?, ?) "
                        "ON CONFLICT DO NOTHING",
                        [(t.session_id, t.key, t.due_at) for t in entry.timers],
                    )
                if entry.deliveries:
                    conn.executemany(
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
                conn.execute(
                    "INSERT INTO pacing_cursors (session_id, seq) VALUES (?, ?) "
                    "ON CONFLICT (session_id) DO UPDATE SET seq = MAX(seq, excluded.seq)",
                    (entry.session_id, entry.upto_seq),
                )

        await self._write(save)

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
        rows = await self._write(
            lambda conn: conn.execute(
                "UPDATE timers SET claimed_by = ?, claimed_until = ? "
                "WHERE (session_id, key) IN (SELECT session_id, key FROM timers "
                "WHERE done = 0 AND due_at <= ? AND (claimed_until IS NULL OR claimed_until < ?) "
                "ORDER BY due_at LIMIT ?) RETURNING session_id, key, due_at",
                (owner, now + lease_s, now, now, limit),
            ).fetchall()
        )
        return sorted((TimerSpec(r[0], r[1], float(r[2])) for r in rows), key=lambda t: t.due_at)

    async def finish_timers(self, timers: list[tuple[str, str]]) -> None:
        if not timers:
            return
        await self._write(
            _statement(
                "UPDATE timers SET done = 1, claimed_by = NULL, claimed_until = NULL "
                "WHERE session_id = ? AND key = ?",
                timers,
                many=True,
            )
        )

    async def claim_deliveries(
        self, owner: str, now: float, lease_s: float, limit: int
    ) -> list[OutboxClaim]:
        rows = await self._write(
            lambda conn: conn.execute(
                "UPDATE vendor_outbox SET claimed_by = ?, claimed_until = ? "
                "WHERE id IN (SELECT id FROM vendor_outbox WHERE state = 'pending' "
                "AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until < ?) "
                "ORDER BY next_attempt_at LIMIT ?) RETURNING id, session_id, tenant_id, kind, "
                "body, created_at, expires_at, attempts, next_attempt_at",
                (owner, now + lease_s, now, now, limit),
            ).fetchall()
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
        if outcome == "retry":
            sql = (
                "UPDATE vendor_outbox SET attempts = attempts + 1, last_status = ?, "
                "next_attempt_at = ?, claimed_by = NULL, claimed_until = NULL "
                "WHERE id = ? AND claimed_by = ?"
            )
            params: tuple[Any, ...] = (
                status,
                next_attempt_at if next_attempt_at is not None else now,
                delivery_id,
                owner,
            )
        else:
            sql = (
                "UPDATE vendor_outbox SET attempts = attempts + 1, last_status = ?, "
                "state = ?, finished_at = ?, claimed_by = NULL, claimed_until = NULL "
                "WHERE id = ? AND claimed_by = ?"
            )
            params = (status, outcome, now, delivery_id, owner)
        await self._write(_statement(sql, params))

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
        rows = [
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
        ]
        await self._write(
            _statement(
                "INSERT INTO audit_log (at, actor, tenant_id, session_id, action, outcome, "
                "address_hash, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
                many=True,
            )
        )

    async def read_audit(self, query: AuditQuery) -> list[AuditEntry]:
        clauses, params = query.where("?")
        rows = await self._read(
            "SELECT at, actor, tenant_id, session_id, action, outcome, address_hash, detail "
            f"FROM audit_log {clauses} ORDER BY id LIMIT ?",
            (*params, query.limit),
        )
        return [AuditEntry.from_row(row) for row in rows]

    async def expired_audit(
        self, before: str, after_id: int, limit: int
    ) -> list[tuple[int, AuditEntry]]:
        rows = await self._read(
            "SELECT at, actor, tenant_id, session_id, action, outcome, address_hash, detail, id "
            "FROM audit_log WHERE at < ? AND id > ? ORDER BY id LIMIT ?",
            (before, after_id, limit),
        )
        return [(int(row[8]), AuditEntry.from_row(row)) for row in rows]

    async def count_expired_audit(self, before: str) -> int:
        rows = await self._read("SELECT COUNT(*) FROM audit_log WHERE at < ?", (before,))
        return int(rows[0][0])

    async def delete_expired_audit(self, before: str, through_id: int) -> int:
        def delete_some(conn: sqlite3.Connection) -> int:
            conn.execute(
                "UPDATE audit_log_horizon SET horizon = ? WHERE horizon < ?", (before, before)
            )
            return conn.execute(
                "DELETE FROM audit_log WHERE id IN (SELECT id FROM audit_log "
                "WHERE at < ? AND id <= ? ORDER BY id LIMIT ?)",
                (before, through_id, AUDIT_DELETE_BATCH),
            ).rowcount

        deleted = 0
        while True:  # a transaction per batch: the service's writes go on in between
            count = await self._write(delete_some)
            deleted += count
            if count < AUDIT_DELETE_BATCH:
                return deleted


def _statement(
    sql: str, params: Any = (), *, many: bool = False
) -> Callable[[sqlite3.Connection], None]:
    """A write of one statement, for `_write`: run and closed where it runs, never handed back
    (a cursor freed later on another thread races that thread's use of the connection)."""

    def run(conn: sqlite3.Connection) -> None:
        cursor = conn.executemany(sql, params) if many else conn.execute(sql, params)
        cursor.close()

    return run


def _active_sessions(conn: sqlite3.Connection, tenant_id: str) -> int:
    cursor = conn.execute(
        "SELECT count(*) FROM sessions WHERE tenant_id = ? AND state != 'ended'", (tenant_id,)
    )
    try:
        return int(cursor.fetchone()[0])
    finally:
        cursor.close()


def _in_transaction(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T]) -> T:
    """BEGIN IMMEDIATE, `fn`, COMMIT; ROLLBACK if anything fails (in the connection's thread)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error as exc:
                log.warning("store_rollback_failed", error=type(exc).__name__)
        raise
    return result


def _apply_migration(conn: sqlite3.Connection, migration: Migration) -> None:
    for statement in _statements(migration.sql):
        conn.execute(statement)
    conn.execute(
        "INSERT INTO schema_migrations VALUES (?, ?, ?)",
        (migration.version, migration.name, rfc3339(utc_now())),
    )


class _PlanAgain(Exception):
    """Planned without reading the stored ids, the batch met one (the unique index said so) or
    refused a request (a resent id is answered as a duplicate before any refusal)."""


def _stored_ids(
    conn: sqlite3.Connection, requests: list[AppendRequest]
) -> dict[IdempotencyKey, int]:
    keys = [(r.session_id, r.actor.id, r.event_id) for r in requests]
    stored: dict[IdempotencyKey, int] = {}
    for chunk_start in range(0, len(keys), 300):
        chunk = keys[chunk_start : chunk_start + 300]
        triples = ",".join(["(?,?,?)"] * len(chunk))
        rows = conn.execute(
            "SELECT session_id, actor_id, event_id, seq FROM events "
            f"WHERE (session_id, actor_id, event_id) IN (VALUES {triples})",
            [part for key in chunk for part in key],
        )
        stored.update({(r[0], r[1], r[2]): r[3] for r in rows})
    return stored


def _append(
    conn: sqlite3.Connection,
    requests: list[AppendRequest],
    stored: dict[IdempotencyKey, int] | None,
) -> list[AppendResult]:
    """The append batch: heads read, the batch planned, events and heads written. With `stored`
    None, ids are taken as new: a stored one, or a refusal, raises `_PlanAgain` (rolled back)."""
    session_ids = sorted({r.session_id for r in requests})
    marks = ",".join("?" * len(session_ids))
    heads = {
        row["id"]: SessionHead(SessionStateName(row["state"]), row["head_seq"])
        for row in conn.execute(
            f"SELECT id, state, head_seq FROM sessions WHERE id IN ({marks})", session_ids
        )
    }
    plan = plan_batch(requests, heads, stored or {}, utc_now())
    if stored is None and not plan.stores_all:
        raise _PlanAgain
    if plan.inserts:
        try:
            conn.executemany(
                "INSERT INTO events (session_id, seq, actor_id, event_id, type, body) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (req.session_id, ev.seq, ev.actor.id, ev.id, ev.type, ev.wire)
                    for req, ev in _pair(requests, plan.results)
                ],
            )
        except sqlite3.IntegrityError as exc:
            if stored is None and "events.event_id" in str(exc):
                raise _PlanAgain from exc
            raise
        # Only the head moves on most batches; the state (in the partial unique index's WHERE)
        # is written only when it changed, so the index is not rewritten at every append.
        conn.executemany(
            "UPDATE sessions SET head_seq = ? WHERE id = ?",
            [(h.head_seq, sid) for sid, h in heads.items() if not h.changed],
        )
        conn.executemany(
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
                if h.changed
            ],
        )
    return plan.results


def _busy(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF  # the primary code of an extended one
    return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


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

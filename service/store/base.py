"""The store's Protocols: the durable session log and what must survive a restart.

One narrow Protocol per job (the session log, webhook dedupe, pacing timers, the vendor outbox,
the audit trail), each consumer typed against the one it uses, and `Store`, all of them together.
Implementations: `sqlite.SQLiteStore` (the embedded default) and `postgres.PostgresStore`.
Every implementation assigns `seq` atomically at append, gap-free per session, and enforces the
idempotency key (session, sender, id) so a resent `id` is stored once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from ..events import Actor, Event, EventData

# Tables that hold rows of one session besides `sessions` (keyed by `session_id`): erasing a
# session clears every one of them. A migration that adds such a table adds its name here.
SESSION_TABLES: tuple[str, ...] = (
    "events",
    "webhook_deliveries",
    # service/pacing: timers, vendor outbox, pacing cursor (migration 0002_pacing)
    "timers",
    "vendor_outbox",
    "pacing_cursors",
)


def utc_now() -> datetime:
    return datetime.now(UTC)


def rfc3339(moment: datetime) -> str:
    """RFC 3339 UTC with milliseconds, e.g. `2026-11-25T21:55:00.123Z`."""
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


class SessionStateName(StrEnum):
    OPEN = "open"
    LIVE = "live"
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class ParticipantRecord:
    id: str
    role: str
    display_name: str | None = None
    platform_ref: str | None = None
    subject: str | None = None  # a client's FHIR subject reference, for the summary's export


@dataclass(slots=True)
class SessionRecord:
    """A session's row: who takes part, its lifecycle and where its log stands."""

    id: str
    tenant_id: str
    platform: str
    external_id: str
    state: SessionStateName
    created_at: datetime
    scheduled_minutes: int
    participants: tuple[ParticipantRecord, ...]
    settings: dict[str, Any]
    epoch: str
    head_seq: int = 0
    started_at: datetime | None = None
    ended_at: datetime | None = None

    def participant(self, participant_id: str) -> ParticipantRecord | None:
        for p in self.participants:
            if p.id == participant_id:
                return p
        return None


class AppendOutcome(StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    ENDED = "ended"  # the session has ended: nothing stored
    MISSING = "missing"  # the session does not exist (erased)
    SKIPPED = "skipped"  # a lifecycle event that no longer applies (a second session_started)


@dataclass(frozen=True, slots=True)
class AppendRequest:
    """One event to append; `event_id` is the sender's idempotency id. `data` is the JSON of
    `body`, the typed data it was made from (the stored event carries it, so nothing reads the
    JSON back on this process's side; None when only the JSON is at hand)."""

    session_id: str
    actor: Actor
    type: str
    event_id: str
    data: dict[str, Any]
    to: tuple[str, ...] | None = None
    body: EventData | None = None


@dataclass(frozen=True, slots=True)
class AppendResult:
    outcome: AppendOutcome
    event: Event | None = None
    seq: int | None = None  # the stored seq, or the first seq of a duplicate


# -- pacing and the vendor outbox (service/pacing, service/outbox.py) ------------------------
# Times here are Unix seconds (float, UTC): deadlines are compared, never shown.


@dataclass(frozen=True, slots=True)
class TimerSpec:
    """One deadline of a session's pacing rules; `key` is unique within the session."""

    session_id: str
    key: str
    due_at: float


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One delivery to a tenant's webhook: `body` is sent byte for byte on every attempt."""

    id: str
    session_id: str
    tenant_id: str
    kind: str  # "cue.urgent" | "session.ended"
    body: bytes
    created_at: float
    expires_at: float  # no attempt is made after this


@dataclass(frozen=True, slots=True)
class OutboxClaim:
    """A pending delivery claimed for one attempt; `attempts` counts the attempts made before."""

    id: str
    session_id: str
    tenant_id: str
    kind: str
    body: bytes
    created_at: float
    expires_at: float
    attempts: int


@dataclass(frozen=True, slots=True)
class PacingProgress:
    """What the pacing engine derived from a session's log up to and including `upto_seq`."""

    session_id: str
    upto_seq: int
    timers: tuple[TimerSpec, ...] = ()
    deliveries: tuple[OutboxItem, ...] = ()


@dataclass(frozen=True, slots=True)
class PacingBacklog:
    """A session whose log holds events the pacing engine has not recorded progress for."""

    session_id: str
    cursor_seq: int
    head_seq: int


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of the audit trail: ids and enums only, never clinical content or names."""

    at: str
    actor: str  # "tenant:<id>", "participant:<id>", "platform:<name>", "operator", "system"
    action: str  # "rest.POST /api/v1/sessions", "socket.connect", "token.mint", "session.erase", …
    outcome: str  # "ok", an HTTP status, or an error code
    tenant_id: str | None = None
    session_id: str | None = None
    address_hash: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The entry as one JSON object: how `comfort audit` prints it and `comfort purge`
        archives it."""
        return {
            "at": self.at,
            "actor": self.actor,
            "action": self.action,
            "outcome": self.outcome,
            "tenant_id": self.tenant_id,
            "session_id": self.session_id,
            "address_hash": self.address_hash,
            "detail": self.detail,
        }

    @classmethod
    def from_row(cls, row: Any) -> AuditEntry:
        import orjson

        return cls(
            at=row[0],
            actor=row[1],
            tenant_id=row[2],
            session_id=row[3],
            action=row[4],
            outcome=row[5],
            address_hash=row[6],
            detail=orjson.loads(row[7]),
        )


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters for reading the audit trail; every given filter must match."""

    tenant_id: str | None = None
    session_id: str | None = None
    action_prefix: str | None = None
    since: str | None = None  # RFC 3339; entries at or after
    limit: int = 1000

    def where(self, mark: str) -> tuple[str, list[Any]]:
        """A WHERE clause with placeholders made by `mark` ("?" or "$"), and its values."""
        clauses: list[str] = []
        params: list[Any] = []

        def add(sql: str, value: Any) -> None:
            params.append(value)
            placeholder = "?" if mark == "?" else f"${len(params)}"
            clauses.append(sql.replace("%s", placeholder))

        if self.tenant_id is not None:
            add("tenant_id = %s", self.tenant_id)
        if self.session_id is not None:
            add("session_id = %s", self.session_id)
        if self.action_prefix is not None:
            escaped = self.action_prefix.translate({92: r"\\", 37: r"\%", 95: r"\_"})
            add(r"action LIKE %s ESCAPE '\'", escaped + "%")  # SQLite has no default escape
        if self.since is not None:
            add("at >= %s", self.since)
        return ("WHERE " + " AND ".join(clauses) if clauses else ""), params


# -- the narrow Protocols: each consumer is typed against the one it uses ------------------


class EventReader(Protocol):
    """Reads a session's log."""

    async def read_events(self, session_id: str, after_seq: int, limit: int) -> list[Event]:
        """Events with `seq > after_seq`, oldest first, at most `limit`."""


class SessionLogStore(EventReader, Protocol):
    """The sessions and their logs (`log.SessionLog`, `engine`, `realtime.hub`, `lifecycle`)."""

    commits_in_place: bool
    """True when a commit never waits on the network (SQLite: a transaction is microseconds on
    the loop), so the session log may commit in the appending coroutine itself."""

    async def create_session(self, record: SessionRecord, *, max_active: int = 0) -> None:
        """Insert a new session.

        Args:
            max_active: the most sessions not ended its tenant may hold, this one included
                (0: no limit); checked in the insert's own transaction, so concurrent creates,
                from any process, never exceed it.

        Raises:
            Conflict: a second not-ended (tenant, platform, external_id).
            QuotaExceeded: the tenant already holds `max_active` sessions not ended.
        """

    async def get_session(self, session_id: str) -> SessionRecord | None: ...

    async def find_session(
        self, tenant_id: str, platform: str, external_id: str
    ) -> SessionRecord | None:
        """The tenant's not-ended session with that platform meeting key."""

    async def list_sessions(self, states: tuple[str, ...]) -> list[SessionRecord]:
        """The sessions in any of `states` (in no particular order)."""

    async def append_batch(self, requests: list[AppendRequest]) -> list[AppendResult]:
        """Append events in one transaction, in order; each result matches its request.

        Returns once committed: readable, and surviving the service process (SIGKILL). Every
        other write of a store returns only once it also survives the machine; for appends
        that is `flush`, so the session log can hand events on before it pays for the fsync.
        """

    async def flush(self) -> None:
        """Every append committed so far survives a power loss once this returns (a no-op
        where the commit itself waits for that, as PostgreSQL's does)."""

    async def find_duplicate(self, session_id: str, actor_id: str, event_id: str) -> int | None:
        """The seq stored under this idempotency key, if any."""

    async def head_seqs(self, session_ids: list[str]) -> dict[str, int]:
        """The current head of each existing session."""

    async def erase_session(self, session_id: str) -> bool:
        """Erase the session, its log and everything kept for it, leaving nothing readable."""


class WebhookDedupeStore(Protocol):
    """Platform deliveries already applied (`lifecycle`, for the webhook route)."""

    async def claim_webhook_delivery(
        self, tenant_id: str, platform: str, delivery_key: str, session_id: str | None
    ) -> bool:
        """Record a platform delivery; False when it was seen before."""


class PacingStore(EventReader, Protocol):
    """Pacing timers and the pacing cursor (`pacing.engine`).

    Tables `timers`, `vendor_outbox`, `pacing_cursors` (migration 0002_pacing), all keyed by
    `session_id` and listed in SESSION_TABLES. Every method runs in its own short transaction
    (never interleaved with another transaction on a shared connection: SQLite runs them on the
    writer connection under its write lock) and makes `append_batch` wait at most that.
    """

    async def save_pacing(self, progress: list[PacingProgress]) -> None:
        """Record pacing progress for several sessions in ONE transaction.

        For each entry whose session still exists (rows for an erased or unknown session are
        skipped, never inserted): insert each timer unless a row with the same
        (session_id, key) exists, whatever its state (a timer is scheduled once: an existing
        row keeps its due_at, claim and done flag); insert each delivery unless a row with the
        same id exists (attempts 0, next attempt at created_at, state pending); set the
        session's cursor to max(current cursor, upto_seq). Entries for the same session may
        repeat; applying them in order is correct.
        """

    async def pacing_backlog(self, limit: int) -> list[PacingBacklog]:
        """Sessions (any state, ended included) whose head_seq is above their pacing cursor
        (a missing cursor counts as 0), at most `limit`, oldest created first."""

    async def claim_due_timers(
        self, owner: str, now: float, lease_s: float, limit: int
    ) -> list[TimerSpec]:
        """Claim up to `limit` timers that are due and free, atomically, and return them.

        A timer is due and free when done is false, due_at <= now, and it is unclaimed or its
        claim has lapsed (claimed_until < now). Claiming sets claimed_by = owner and
        claimed_until = now + lease_s in the same statement that selects, so two processes
        calling at once never get the same timer while its lease runs (PostgreSQL:
        `UPDATE … WHERE (session_id, key) IN (SELECT … FOR UPDATE SKIP LOCKED LIMIT n)
        RETURNING …`). Earliest due_at first. A claim that lapses (its owner died or failed)
        makes the timer claimable again: firing is idempotent by event id.
        """

    async def finish_timers(self, timers: list[tuple[str, str]]) -> None:
        """Mark these (session_id, key) timers done, whoever holds their claim; done timers
        are never claimed again and are kept (so scheduling them again changes nothing) until
        their session is erased. Unknown keys are ignored."""

    async def release_pacing(self) -> None:
        """Release what these methods opened (SQLite: their own connection). Called when the
        pacing engine stops, before `close`; the methods reopen it if called again."""


class OutboxStore(Protocol):
    """The vendor outbox (`outbox.OutboxSender`); rows are saved with pacing progress."""

    async def claim_deliveries(
        self, owner: str, now: float, lease_s: float, limit: int
    ) -> list[OutboxClaim]:
        """Claim up to `limit` pending deliveries whose next_attempt_at <= now and whose claim
        is free or lapsed, exactly as `claim_due_timers` claims timers (one owner at a time,
        atomically, SKIP LOCKED on PostgreSQL); earliest next_attempt_at first."""

    async def settle_delivery(
        self,
        delivery_id: str,
        owner: str,
        *,
        outcome: str,
        status: int | None,
        next_attempt_at: float | None,
    ) -> None:
        """Record one attempt of a delivery this `owner` has claimed (no-op if the claim
        passed to another owner meanwhile, or the row is gone).

        outcome "delivered" or "failed" (final): state = outcome, finished_at = now.
        outcome "retry": state stays pending, next_attempt_at as given.
        In every case attempts += 1, last_status = status (HTTP status, None when no answer),
        and the claim is released (claimed_by, claimed_until = NULL).
        """

    async def pending_deliveries(self, session_id: str) -> int:
        """How many deliveries of the session are still pending (for tests and metrics)."""


class AuditStore(Protocol):
    """The audit trail (`audit.AuditTrail`, `comfort audit`, `comfort purge`)."""

    async def append_audit(self, entries: list[AuditEntry]) -> None:
        """Append entries to the audit trail in one transaction. The trail is append-only
        (the schema refuses UPDATE and DELETE) and is not a per-session table: erasing a
        session keeps the record of who touched it and that it was erased."""

    async def read_audit(self, query: AuditQuery) -> list[AuditEntry]:
        """Entries matching `query`, oldest first, at most `query.limit`. The limit is the last
        placeholder after the filter values."""

    async def expired_audit(
        self, before: str, after_id: int, limit: int
    ) -> list[tuple[int, AuditEntry]]:
        """Entries dated before `before` (RFC 3339) with a row id above `after_id`, by id, at
        most `limit`, each with its id: what `comfort purge` archives, page by page."""

    async def count_expired_audit(self, before: str) -> int:
        """How many entries are dated before `before`."""

    async def delete_expired_audit(self, before: str, through_id: int) -> int:
        """Delete the entries dated before `before` whose id is at most `through_id` (those
        archived), in transactions of a few thousand, each first raising the trail's horizon
        to `before`; returns how many went. The schema refuses to delete an entry at or after
        the horizon, and to move the horizon back or into the last day."""


class Store(SessionLogStore, WebhookDedupeStore, PacingStore, OutboxStore, AuditStore, Protocol):
    """The durable store behind one deployment: every narrow Protocol above, opened and closed
    with the app. `sqlite.SQLiteStore` and `postgres.PostgresStore` implement it."""

    dialect: str
    """"sqlite" or "postgres", for the logs."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise when the store cannot be reached."""
